import pytest
import torch

from axon.classic.logic import GATES, SigmoidNetwork, binary_inputs, format_truth_table, gate, sigmoid_neuron
from axon.errors import AxonError

pytestmark = pytest.mark.usefixtures("single_thread")

TRUTH = {
    "AND": [0, 0, 0, 1],
    "OR": [0, 1, 1, 1],
    "NOT": [1, 0],
    "(NOT a) AND (NOT b)": [1, 0, 0, 0],
    "XNOR": [1, 0, 0, 1],
}


@pytest.mark.parametrize("name", list(TRUTH))
def test_gates_compute_their_truth_tables(name):
    network = gate(name)
    outputs = network(binary_inputs(network.n_inputs))[:, 0]
    assert torch.round(outputs).tolist() == TRUTH[name]
    # the seed's weights saturate the sigmoid: every output within 1e-4 of 0 or 1
    assert torch.all(torch.minimum(outputs, 1 - outputs) < 1e-4)


def test_seed_weights_and_xnor_hidden_layer():
    assert GATES["AND"].thetas[0].tolist() == [[-30.0, 20.0, 20.0]]
    assert GATES["OR"].thetas[0].tolist() == [[-10.0, 20.0, 20.0]]
    assert GATES["NOT"].thetas[0].tolist() == [[10.0, -20.0]]
    xnor = GATES["XNOR"]
    hidden = torch.sigmoid(xnor.pre_activations(binary_inputs(2))[0])
    assert torch.round(hidden).tolist() == [[0, 1], [0, 0], [0, 0], [1, 0]]  # seed 002's a_1^(2), a_2^(2)


def test_sigmoid_neuron_matches_formula():
    x = torch.tensor([[0.5, -1.0], [2.0, 3.0]], dtype=torch.float64)
    theta = torch.tensor([0.1, 0.7, -0.2], dtype=torch.float64)
    expected = 1 / (1 + torch.exp(-(0.1 + 0.7 * x[:, 0] - 0.2 * x[:, 1])))
    assert torch.allclose(sigmoid_neuron(x, theta), expected)


def test_truth_table_text_lists_every_row():
    text = format_truth_table("XNOR")
    assert "a_1^(2)" in text and "a_2^(2)" in text
    rows = text.splitlines()[3:]
    assert len(rows) == 4
    assert [row.strip()[-1] for row in rows] == ["1", "0", "0", "1"]


def test_bad_shapes_are_named():
    with pytest.raises(AxonError, match="theta: expected 3 weights"):
        sigmoid_neuron(torch.zeros(2, 2), torch.zeros(2))
    with pytest.raises(AxonError, match=r"thetas\[1\]: expected 3 columns"):
        SigmoidNetwork([[[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]], [[0.0, 1.0]]])
    with pytest.raises(AxonError, match=r"inputs: expected shape \(n_samples, 2\)"):
        GATES["AND"](torch.zeros(4, 3))
    with pytest.raises(AxonError, match="unknown gate 'NAND'"):
        gate("NAND")
