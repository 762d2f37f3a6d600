import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from axon import zoo
from axon.data.resize import ResizedDataset, SizeSchedule, check_fully_convolutional, resize_images


def test_schedule():
    schedule = SizeSchedule({6: 32, 0: 16, 3: 24})
    assert [schedule.size(e) for e in range(8)] == [16, 16, 16, 24, 24, 24, 32, 32]
    assert schedule.sizes == [16, 24, 32]
    with pytest.raises(ValueError, match="must start at epoch 0"):
        SizeSchedule({2: 16})
    with pytest.raises(ValueError, match="epoch 3: expected an image size"):
        SizeSchedule({0: 16, 3: 0})
    with pytest.raises(ValueError, match="got none"):
        SizeSchedule({})


def test_resize_is_antialiased_bilinear():
    images = torch.rand(4, 3, 32, 32)
    small = resize_images(images, 16)
    assert small.shape == (4, 3, 16, 16)
    # antialiased bilinear shrinking by 2 is the tent filter stretched by 2: taps [1, 3, 3, 1] / 8
    # per axis (away from the borders, where the filter is renormalised)
    taps = torch.tensor([1.0, 3, 3, 1]) / 8
    kernel = torch.outer(taps, taps).expand(3, 1, 4, 4)
    tent = F.conv2d(images, kernel, stride=2, padding=1, groups=3)
    torch.testing.assert_close(small[..., 1:-1, 1:-1], tent[..., 1:-1, 1:-1], atol=1e-5, rtol=0)
    assert not torch.allclose(small, F.interpolate(images, size=(16, 16), mode="bilinear"), atol=1e-3)
    torch.testing.assert_close(resize_images(images[0], 16), small[0])
    assert resize_images(images, 32) is images
    with pytest.raises(ValueError, match=r"got shape \(32, 32\)"):
        resize_images(images[0, 0], 16)


def test_resized_dataset_follows_its_size():
    data = ResizedDataset(TensorDataset(torch.rand(5, 3, 32, 32), torch.arange(5)))
    assert data[0][0].shape == (3, 32, 32) and data.bands == 3 and len(data) == 5
    data.size = 16
    image, label = data[2]
    assert image.shape == (3, 16, 16) and int(label) == 2


def test_fully_convolutional_model_passes():
    shapes = check_fully_convolutional(zoo.create("shapes-cnn", width=4), bands=3, sizes=[16, 24, 32])
    assert shapes == {16: (2, 10), 24: (2, 10), 32: (2, 10)}


def test_flatten_into_linear_is_named():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 32 * 32, 10))
    model.train()
    check_fully_convolutional(model, 3, [32])
    with pytest.raises(ValueError, match=r"Sequential cannot take 16x16 images with 3 bands: layer '3' \(Linear\)"):
        check_fully_convolutional(model, 3, [32, 16])
    assert model.training  # the check restores the mode


def test_fixed_size_graph_model_is_named():
    with pytest.raises(ValueError, match=r"model Model cannot take 4x4 images.*expected \(batch, 1, 8, 8\)"):
        check_fully_convolutional(zoo.create("digits-cnn"), 1, [4, 8])


def test_output_that_depends_on_size_is_refused():
    model = nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.Flatten())
    with pytest.raises(ValueError, match="outputs of different shapes"):
        check_fully_convolutional(model, 3, [8, 16])
