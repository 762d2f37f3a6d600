import pytest
import torch

from axon import zoo
from axon.data.shapes import CLASSES, class_counts, load_shapes_splits, make_shapes
from axon.nn import ShapeError


def test_format_and_balance():
    data = make_shapes(200, seed=0)
    images, labels = data.tensors
    assert images.shape == (200, 3, 32, 32) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    assert torch.equal(torch.bincount(labels, minlength=10), torch.full((10,), 20))
    assert len(CLASSES) == 10 and CLASSES[0] == "circle filled" and CLASSES[9] == "bar outline"
    assert make_shapes(10, size=16).tensors[0].shape == (10, 3, 16, 16)


def test_seeded():
    a, b, c = make_shapes(50, seed=4), make_shapes(50, seed=4), make_shapes(50, seed=5)
    assert torch.equal(a.tensors[0], b.tensors[0]) and torch.equal(a.tensors[1], b.tensors[1])
    assert not torch.equal(a.tensors[0], c.tensors[0])


def test_imbalanced_training_split():
    counts = class_counts(1000, imbalance=10.0)
    assert int(counts.sum()) == 1000
    assert torch.all(counts[:-1] >= counts[1:])  # decaying from class 0
    assert abs(float(counts[0] / counts[-1]) - 10.0) < 0.5
    splits = load_shapes_splits(train=300, val=100, test=100, imbalance=5.0)
    train_counts = torch.bincount(splits.train.tensors[1], minlength=10)
    assert train_counts[0] > 3 * train_counts[9]
    assert torch.equal(torch.bincount(splits.val.tensors[1], minlength=10), torch.full((10,), 10))
    assert not torch.equal(splits.val.tensors[0], splits.test.tensors[0])
    assert splits.classes == CLASSES
    with pytest.raises(ValueError, match="imbalance"):
        class_counts(100, imbalance=0.5)
    with pytest.raises(ValueError, match="leave a class empty"):
        class_counts(12, imbalance=50.0)


def test_outlines_cover_less_than_filled_shapes():
    """Outline classes change fewer pixels away from the background than filled ones."""
    images, labels = make_shapes(400, seed=1).tensors
    # Per image: pixels far from the image's median colour (the background) are the shape.
    median = images.flatten(2).median(dim=2).values[:, :, None, None]
    covered = ((images - median).abs().amax(1) > 0.3).float().mean((1, 2))
    filled, outline = covered[labels % 2 == 0].mean(), covered[labels % 2 == 1].mean()
    assert filled > 1.5 * outline


def test_not_solvable_by_pixel_templates():
    """Random position, colour and rotation defeat a nearest-centroid classifier on raw
    pixels (it stays near chance), so a model must learn invariances."""
    train, test = make_shapes(1000, seed=2), make_shapes(300, seed=3)
    x, y = train.tensors[0].flatten(1), train.tensors[1]
    centroids = torch.stack([x[y == k].mean(0) for k in range(10)])
    predicted = torch.cdist(test.tensors[0].flatten(1), centroids).argmin(1)
    assert float((predicted == test.tensors[1]).float().mean()) < 0.3


def test_shapes_cnn_takes_any_size():
    model = zoo.create("shapes-cnn", width=4)
    model.eval()
    for size in (8, 16, 24, 32, 40):
        assert model(torch.rand(2, 3, size, size)).shape == (2, 10)
    with pytest.raises(ShapeError, match=r"expected one tensor \(batch, 3, height, width\)"):
        model(torch.rand(2, 1, 32, 32))
