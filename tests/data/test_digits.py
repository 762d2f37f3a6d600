import numpy as np
import pytest
import torch

from axon.data import load_digits_splits


def test_stratified_fixed_splits():
    splits = load_digits_splits()
    sizes = [len(splits.train), len(splits.val), len(splits.test)]
    assert sum(sizes) == 1797 and sizes[2] == 360
    image, label = splits.test[0]
    assert image.shape == (1, 8, 8) and image.dtype == torch.float32 and label.dtype == torch.int64
    assert 0.0 <= float(splits.train.tensors[0].min()) and float(splits.train.tensors[0].max()) <= 1.0
    counts = np.bincount(splits.test.tensors[1].numpy(), minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # stratified: ~36 of each class
    again = load_digits_splits()
    assert torch.equal(again.test.tensors[0], splits.test.tensors[0])


def test_bad_fraction():
    with pytest.raises(ValueError, match="data.test_fraction"):
        load_digits_splits(test_fraction=1.5)
