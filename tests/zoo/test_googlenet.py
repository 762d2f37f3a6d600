"""GoogLeNet against Szegedy et al. 2015, "Going deeper with convolutions" (CVPR), Table 1.

Table 1's figures, row by row: output size, "params" (in K = 1024 weights: the linear
layer's 1024 x 1000 weights are printed as 1000K) and "ops" (multiply-adds per image,
in M = 10^6), and the band columns (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
Biases are not counted in the table, so weights are compared without them.
"""

import pytest
import torch

from axon import zoo
from axon.nn import Conv, Dense, Inception

# row: (output (bands, height, width) or (features,), params in K=1024 or None, ops in M=10^6 or None)
TABLE_1 = {
    "conv1": ((64, 112, 112), 2.7, 34),
    "pool1": ((64, 56, 56), None, None),
    "conv2": ((192, 56, 56), 112, 360),  # depth 2: the 1x1 reduce (64) and the 3x3 conv
    "pool2": ((192, 28, 28), None, None),
    "inception_3a": ((256, 28, 28), 159, 128),
    "inception_3b": ((480, 28, 28), 380, 304),
    "pool3": ((480, 14, 14), None, None),
    "inception_4a": ((512, 14, 14), 364, 73),
    "inception_4b": ((512, 14, 14), 437, 88),
    "inception_4c": ((512, 14, 14), 463, 100),
    "inception_4d": ((528, 14, 14), 580, 119),
    "inception_4e": ((832, 14, 14), 840, 170),
    "pool4": ((832, 7, 7), None, None),
    "inception_5a": ((832, 7, 7), 1072, 54),
    "inception_5b": ((1024, 7, 7), 1388, 71),
    "avgpool": ((1024,), None, None),  # 1x1x1024
    "dropout": ((1024,), None, None),
    "logits": ((1000,), 1000, 1),
}
# Table 1's band columns: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
TABLE_1_BANDS = {
    "3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}
# Rows whose printed figure disagrees with the table's own band columns (checked below).
PARAMS_OFF = {"conv1", "inception_4c", "inception_5a"}
OPS_OFF = {"conv1", "inception_5a"}


@pytest.fixture(scope="module")
def net():
    return zoo.create("googlenet")


def weights(module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, (Conv, Dense)))


def row_layers(net, row):
    return [net.layer("conv2_reduce"), net.layer("conv2")] if row == "conv2" else [net.layer(row)]


def test_every_block_output_shape_matches_table_1(net):
    for row, (shape, _, _) in TABLE_1.items():
        assert net.shapes[row] == shape, row


def test_parameters_and_multiply_adds_match_table_1(net):
    for row, (_, params_k, ops_m) in TABLE_1.items():
        layers = row_layers(net, row)
        ours_k = sum(weights(layer) for layer in layers) / 1024
        ours_m = sum(layer.multiply_adds(*[net.shapes[i] for i in dict(net.wiring)[layer.name]])
                     for layer in layers) / 1e6
        # within 2%, or within the rounding of the printed figure (1M for the linear layer's 1.024M)
        if params_k is not None and row not in PARAMS_OFF:
            assert abs(ours_k - params_k) <= max(0.02 * params_k, 0.5), row
        if ops_m is not None and row not in OPS_OFF:
            assert abs(ours_m - ops_m) <= max(0.02 * ops_m, 0.5), row


def expected_inception_weights(i, b1, r3, b3, r5, b5, pp):
    return i * b1 + i * r3 + r3 * b3 * 9 + i * r5 + r5 * b5 * 25 + i * pp


def test_inception_blocks_have_the_band_counts_of_table_1(net):
    for block, (in_bands, *bands) in TABLE_1_BANDS.items():
        layer = net.layer(f"inception_{block}")
        assert isinstance(layer, Inception)
        assert (layer.in_bands, layer.bands_1x1, layer.bands_3x3_reduce, layer.bands_3x3, layer.bands_5x5_reduce,
                layer.bands_5x5, layer.bands_pool_proj) == (in_bands, *bands)
        assert weights(layer) == expected_inception_weights(in_bands, *bands)


def test_the_rows_table_1_prints_differently_are_inconsistent_in_the_table_itself(net):
    # 4c: 463K printed, but its band columns give 509,440 weights = 497.5K, and its own ops
    # column agrees with the columns: 100M / (14 * 14) = 510K weights.
    assert expected_inception_weights(*TABLE_1_BANDS["4c"]) == 509_440
    assert 100e6 / (14 * 14) == pytest.approx(509_440, rel=0.01)
    # 5a: 1072K and 54M printed; the columns give 1,042,432 weights and 7 * 7 * 1,042,432 = 51.1M.
    assert expected_inception_weights(*TABLE_1_BANDS["5a"]) == 1_042_432
    assert weights(net.layer("inception_5a")) == 1_042_432
    # conv1: a 7x7 conv from 3 bands to 64 has 9,408 weights (2.7K printed); 34M ops is 2.7K * 112^2,
    # so the printed row is consistent with itself but not with a 3-band input.
    assert weights(net.layer("conv1")) == 7 * 7 * 3 * 64


def test_totals(net):
    # Table 1's params column sums to 6,797.7K; ours (weights, no auxiliary heads) is within 1%.
    total_k = sum(p for _, p, _ in TABLE_1.values() if p is not None)
    assert total_k == pytest.approx(6797.7)
    assert weights(net) / 1024 == pytest.approx(total_k, rel=0.01)
    # Section 5: "a computational budget of 1.5 billion multiply-adds at inference time".
    assert net.multiply_adds() == pytest.approx(1.5e9, rel=0.06)


def test_224_input_gives_1000_logits(one_thread):
    net = zoo.create("googlenet").eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_small_inputs_classes_and_auxiliary_heads():
    plain = zoo.create("googlenet", num_classes=7, image_size=64)
    assert plain(torch.randn(2, 3, 64, 64)).shape == (2, 7)
    assert zoo.create("googlenet")(torch.randn(1, 3, 64, 64)).shape == (1, 1000)  # a 224 build takes 64x64
    with_aux = zoo.create("googlenet", num_classes=7, image_size=64, aux_logits=True)
    assert with_aux.output_names == ["logits", "aux_4a_logits", "aux_4d_logits"]
    outs = with_aux(torch.randn(2, 3, 64, 64))
    assert [o.shape for o in outs] == [(2, 7)] * 3
    assert with_aux.shapes["aux_4a_pool"] == (512, 4, 4) and with_aux.shapes["aux_4d_pool"] == (528, 4, 4)
    # each auxiliary head: 1x1 conv to 128, FC 2048 -> 1024, linear 1024 -> classes (with biases)
    head = lambda bands: bands * 128 + 128 + 2048 * 1024 + 1024 + 1024 * 7 + 7  # noqa: E731
    extra = sum(p.numel() for p in with_aux.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == head(512) + head(528)
