"""The run config's data section: a data set by name with its reader's arguments."""

import pytest
import torch
from torch.utils.data import Subset, TensorDataset

from axon.data import build_dataset
from axon.data.augment import AugmentedDataset, build_augmentation
from axon.data.datasets import FileDataset
from axon.data.kitti import KittiObjects
from axon.detect.dataset import PillarDetectionData
from axon.errors import ConfigError
from axon.run.config import RunConfig, dump_config, validate_config
from axon.run.data import worker_count
from axon.zoo import create


def test_default_data_section_has_the_digits_reader_defaults():
    data = RunConfig().data
    assert data.name == "digits"
    assert data.reader_arguments() == {"test_fraction": 0.2, "val_fraction": 0.1, "split_seed": 0}
    assert "test_fraction: 0.2" in dump_config(RunConfig())


def test_reader_arguments_are_passed_and_kept():
    config = validate_config({"data": {"name": "shapes", "image_size": 16, "num_workers": 1}})
    assert config.data.reader_arguments()["image_size"] == 16
    assert config.data.num_workers == 1
    assert "imbalance" in config.data.reader_arguments()


@pytest.mark.parametrize("data, message", [
    ({"name": "imagefolder"}, "data.name: unknown data set 'imagefolder'"),
    ({"name": "digits", "path": "x"}, "data.path: unknown key"),
    ({"name": "shapes", "image_sise": 16}, "did you mean 'image_size'?"),
    ({"name": "digits", "test_fraction": 0.2, "nm_workers": 2}, "did you mean 'num_workers'?"),
])
def test_bad_data_section_names_the_key(data, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        validate_config({"data": data})


def test_auto_workers_only_for_data_sets_that_read_files(tmp_path):
    auto = validate_config({"data": {"name": "digits"}}).data
    (tmp_path / "ImageSets").mkdir()
    (tmp_path / "ImageSets" / "train.txt").write_text("000000\n")
    frames = KittiObjects(tmp_path, "train")
    pillars = PillarDetectionData(frames, create("pointpillars", point_range=(0, -5.12, -3, 5.12, 5.12, 1),
                                                 layer_nums=(1, 1, 1), num_filters=(8, 8, 8),
                                                 upsample_filters=(8, 8, 8), pfn_channels=8))
    files = FileDataset([tmp_path / "a.png"], torch.zeros(1, dtype=torch.long), preprocessing=None)
    assert worker_count(auto, TensorDataset(torch.zeros(4, 2))) == 0
    assert worker_count(auto, Subset(files, [0])) >= 1
    assert worker_count(auto, pillars) >= 1
    assert worker_count(validate_config({"data": {"name": "digits", "num_workers": 0}}).data, pillars) == 0


def test_auto_workers_once_an_image_folder_is_decoded_into_memory(tmp_path, image_folder):
    auto = validate_config({"data": {"name": "digits"}}).data
    splits = build_dataset("image_folder", root=str(image_folder))
    crops = build_augmentation({"recipe": "imagenet"}, splits.input_shape)
    assert worker_count(auto, splits.train) == 2 == worker_count(auto, AugmentedDataset(splits.train, crops))
    splits.train.decode_all(workers=1)
    assert worker_count(auto, splits.train) == 0 == worker_count(auto, AugmentedDataset(
        splits.train, build_augmentation({"recipe": "flip"}, splits.input_shape)))
    assert worker_count(auto, AugmentedDataset(splits.train, crops)) == 2  # random crops decode whole images
