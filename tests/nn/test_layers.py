"""Layer constructors, shape inference and reference behaviour (beyond the conformance battery)."""

import pytest
import torch
import torch.nn.functional as F

from axon import nn as ann
from axon.errors import AxonError


def test_even_kernel_is_an_error_that_says_why():
    with pytest.raises(ValueError, match=r"kernel_size must be odd, got 4: a same-size output needs a centre pixel"):
        ann.Conv(3, 8, 4)
    with pytest.raises(ValueError, match="odd"):
        ann.LocallyConnected2d(3, 8, (3, 2), (5, 5))


@pytest.mark.parametrize("make, message", [
    (lambda: ann.Conv(0, 8, 3), "in_bands must be an integer >= 1, got 0"),
    (lambda: ann.Conv(3, 8, 3, stride=0), "stride"),
    (lambda: ann.Conv(3, 8, 3, bias="yes"), "bias must be true or false"),
    (lambda: ann.Dense(4, -1), "out_features"),
    (lambda: ann.Dropout(1.0), r"p must be a probability in \[0, 1\), got 1.0"),
    (lambda: ann.Activation("swishy"), "kind must be one of"),
    (lambda: ann.Subsample(3, mode="median"), "mode must be one of"),
    (lambda: ann.Subsample(2, padding=2), "padding must be at most half"),
    (lambda: ann.BatchNorm(3, momentum=2.0), "momentum"),
    (lambda: ann.LocalResponseNorm(0), "size"),
    (lambda: ann.Inception(8, 1, 1, 1, 1, 1, 0), "bands_pool_proj"),
    (lambda: ann.LocallyConnected2d(2, 2, 3, (4, 4, 4)), "input_size"),
    (lambda: ann.Conv(3, 8, 3, name="bad name"), "not a valid name"),
])
def test_bad_constructor_arguments_name_the_field_and_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_conv_keeps_height_and_width_and_matches_conv2d():
    torch.manual_seed(0)
    conv = ann.Conv(3, 5, 5)
    x = torch.randn(2, 3, 9, 7)
    out = conv(x)
    assert out.shape == (2, 5, 9, 7)
    assert torch.allclose(out, F.conv2d(x, conv.weight, conv.bias, padding=2), atol=1e-6)
    assert conv.infer_shape((3, 9, 7)) == (5, 9, 7)
    assert ann.Conv(3, 5, 3, stride=2).infer_shape((3, 9, 7)) == (5, 5, 4)
    assert conv.multiply_adds((3, 9, 7)) == 5 * 9 * 7 * 3 * 5 * 5


def test_conv_wrong_bands_is_a_shape_error_naming_layer_got_and_expected():
    x = ann.Input((4, 8, 8), name="image")
    with pytest.raises(ann.ShapeError, match=r"Conv 'c1': got input shape \(4, 8, 8\), expected \(3, height, width\)"):
        ann.Conv(3, 8, 3, name="c1")(x)


def test_locally_connected_parameter_count_and_tied_equivalence():
    torch.manual_seed(0)
    local = ann.LocallyConnected2d(3, 4, 3, (6, 5))
    assert local.weight.numel() + local.bias.numel() == 6 * 5 * 4 * (3 * 3 * 3 + 1)
    conv = ann.Conv(3, 4, 3)
    tied = ann.LocallyConnected2d.from_conv(conv, (6, 5))
    x = torch.randn(4, 3, 6, 5)
    assert torch.allclose(tied(x), conv(x), atol=1e-5)
    # untied: each location has its own kernel, so changing one location changes one output pixel only
    with torch.no_grad():
        tied.weight[7].add_(1.0)
    diff = (tied(x) - conv(x)).abs().sum(dim=(0, 1)).flatten()
    assert diff[7] > 1 and torch.count_nonzero(diff > 1e-3) == 1


def test_locally_connected_rejects_other_input_sizes():
    local = ann.LocallyConnected2d(2, 2, 3, (4, 4), name="lc")
    with pytest.raises(ann.ShapeError, match=r"LocallyConnected2d 'lc': got input shape \(2, 5, 5\)"):
        local(torch.randn(1, 2, 5, 5))
    with pytest.raises(ann.ShapeError, match="lc"):
        local(ann.Input((2, 5, 5)))
    with pytest.raises(ValueError, match="kernel shape"):
        local.tie_(torch.randn(2, 2, 5, 5))


def test_concat_spatial_mismatch_names_both_shapes():
    a, b = ann.Input((2, 4, 4), name="a"), ann.Input((3, 5, 4), name="b")
    with pytest.raises(ann.ShapeError, match=r"cannot concatenate shapes \(2, 4, 4\) and \(3, 5, 4\)"):
        ann.Concat(name="join")(a, b)
    with pytest.raises(ann.ShapeError, match=r"\(1, 2, 4, 4\) and \(1, 3, 5, 4\)"):
        ann.Concat()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 5, 4))


@pytest.mark.parametrize("size", range(3, 20))
@pytest.mark.parametrize("kernel, stride, padding, ceil", [(3, 2, 0, True), (3, 2, 1, False), (2, 2, 0, True),
                                                          (3, 1, 1, False), (5, 3, 0, True)])
def test_subsample_inferred_size_matches_torch(size, kernel, stride, padding, ceil):
    layer = ann.Subsample(kernel, stride, padding=padding, ceil_mode=ceil)
    if size + 2 * padding < kernel:
        return
    out = layer(torch.zeros(1, 1, size, size + 1))
    assert layer.infer_shape((1, size, size + 1)) == tuple(out.shape[1:])


def test_subsample_too_small_input_is_a_shape_error():
    with pytest.raises(ann.ShapeError, match=r"Subsample 'p': got input shape \(3, 2, 2\)"):
        ann.Subsample(3, name="p")(ann.Input((3, 2, 2)))


def test_inception_output_bands_and_multiply_adds():
    block = ann.Inception(192, 64, 96, 128, 16, 32, 32)
    assert block.infer_shape((192, 28, 28)) == (256, 28, 28)
    assert block(torch.randn(1, 192, 6, 6)).shape == (1, 256, 6, 6)
    weights = 192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32
    assert block.multiply_adds((192, 28, 28)) == 28 * 28 * weights


def test_dense_needs_flat_input_and_batchnorm_takes_images_or_features():
    with pytest.raises(ann.ShapeError, match=r"Dense 'fc': got input shape \(4, 2, 2\), expected \(16,\) \(flatten"):
        ann.Dense(16, 3, name="fc")(ann.Input((4, 2, 2)))
    assert ann.BatchNorm(4).infer_shape((4,)) == (4,)
    assert ann.BatchNorm(4).infer_shape((4, 3, 3)) == (4, 3, 3)
    with pytest.raises(ann.ShapeError, match="BatchNorm"):
        ann.BatchNorm(4)(ann.Input((5, 3, 3)))


def test_local_response_norm_matches_torch():
    torch.manual_seed(0)
    x = torch.randn(2, 9, 4, 4)
    for size in (1, 2, 5):
        ours = ann.LocalResponseNorm(size, alpha=0.3, beta=0.6, k=2.0)(x)
        assert torch.allclose(ours, F.local_response_norm(x, size, 0.3, 0.6, 2.0), atol=1e-6)


def test_shape_errors_are_axon_errors():
    assert issubclass(ann.ShapeError, AxonError) and issubclass(ann.GraphError, ValueError)
