import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from axon.data import build_dataset
from axon.data.augment import AugmentedDataset, build_augmentation, check_augment, sample_seed
from axon.data.samplers import ResumableSampler
from axon.errors import ConfigError
from axon.train import Trainer


def test_blocks_are_checked_with_the_key_named():
    assert list(check_augment({"recipe": "imagenet"})) == ["random_resized_crop", "horizontal_flip", "color_jitter"]
    assert check_augment({"recipe": "imagenet", "color_jitter": None, "horizontal_flip": {"p": 1}}) == {
        "random_resized_crop": {"scale": [0.08, 1.0], "ratio": [3 / 4, 4 / 3]}, "horizontal_flip": {"p": 1}}
    assert build_augmentation(None, (3, 8, 8)) is None and build_augmentation({"recipe": "none"}, (3, 8, 8)) is None
    cases = [
        ({"recipe": "imagenette"}, "data.augment.recipe: unknown recipe 'imagenette'"),
        ({"rotate": {}}, "data.augment.rotate: unknown augmentation"),
        ({"horizontal_flip": {"p": 1.5}}, r"data.augment.horizontal_flip.p: expected a number in \[0.0, 1.0\]"),
        ({"horizontal_flip": True}, "data.augment.horizontal_flip: expected a mapping"),
        ({"random_resized_crop": {"scale": [0.9, 0.2]}}, "scale: low 0.9 is above high 0.2"),
        ({"random_resized_crop": {"size": 3}}, "random_resized_crop.size: unknown parameter"),
        ({"color_jitter": {"hue": 0.7}}, "color_jitter.hue"),
        ("imagenet", "data.augment: expected a mapping"),
    ]
    for spec, message in cases:
        with pytest.raises(ConfigError, match=message):
            check_augment(spec)
    with pytest.raises(ConfigError, match="saturation and hue need RGB"):
        build_augmentation({"color_jitter": {}}, (1, 8, 8))
    with pytest.raises(ConfigError, match="augmentation is for images"):
        build_augmentation({"recipe": "flip"}, (4,))


def test_ops_do_what_they_say():
    image = torch.rand(3, 10, 12)
    flip = build_augmentation({"horizontal_flip": {"p": 1.0}}, (3, 10, 12))
    assert torch.equal(flip(image, 0), image.flip(-1))
    crop = build_augmentation({"random_resized_crop": {"scale": [0.3, 0.5]}}, (3, 6, 6))
    assert crop(image, 3).shape == (3, 6, 6) and not torch.equal(crop(image, 3), crop(image, 4))
    assert torch.equal(crop(image, 3), crop(image, 3))
    state = torch.get_rng_state()
    build_augmentation({"recipe": "imagenet"}, (3, 6, 6))(image, 1)
    assert torch.equal(torch.get_rng_state(), state)  # the global generator (dropout's) is untouched


def test_sample_seeds_differ_by_seed_epoch_and_index():
    seeds = {sample_seed(s, e, i) for s in range(3) for e in range(3) for i in range(50)}
    assert len(seeds) == 450 and all(0 <= s < 2**63 for s in seeds)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for c in range(3):
        (tmp_path / f"c{c}").mkdir()
        for k in range(8):
            pixels = (rng.random((10, 10, 3)) * 60 + 60 * c).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / f"c{c}" / f"{k}.png")
    return tmp_path


def _by_index(dataset, workers, epoch, start=0):
    sampler = ResumableSampler(len(dataset), seed=4)
    sampler.set_epoch(epoch, start=start)
    dataset.set_epoch(epoch)
    loader = DataLoader(dataset, batch_size=5, sampler=sampler, num_workers=workers)
    images = torch.cat([x for x, _ in loader])
    return dict(zip(list(sampler), images))


def test_a_sample_is_augmented_the_same_with_any_workers_and_after_a_resume(folder):
    splits = build_dataset("image_folder", root=str(folder), crop=8, normalize="measure", val_fraction=0.25)
    augmented = AugmentedDataset(splits.train, build_augmentation({"recipe": "imagenet"}, splits.input_shape), seed=4)
    alone = _by_index(augmented, 0, epoch=1)
    with_workers = _by_index(augmented, 2, epoch=1)
    resumed = _by_index(augmented, 2, epoch=1, start=7)
    assert alone.keys() == with_workers.keys()
    assert all(torch.equal(alone[i], with_workers[i]) for i in alone)
    assert len(resumed) == len(alone) - 7 and all(torch.equal(alone[i], resumed[i]) for i in resumed)
    next_epoch = _by_index(augmented, 0, epoch=2)
    assert not any(torch.equal(alone[i], next_epoch[i]) for i in alone)



def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                               torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3))


@pytest.mark.slow
def test_kill_and_resume_with_workers_and_augmentation_is_exact(folder, tmp_path, crash_at_step):
    splits = build_dataset("image_folder", root=str(folder), crop=8, val_fraction=0.25)
    train = AugmentedDataset(splits.train, build_augmentation({"recipe": "imagenet"}, splits.input_shape), seed=5)

    def trainer(run_dir, workers, callbacks=()):
        return Trainer(_model(), epochs=2, batch_size=4, progress=False, run_dir=run_dir, checkpoint_every_steps=2,
                       callbacks=callbacks, seed=5, device="cpu", deterministic=True, num_workers=workers)

    straight = trainer(tmp_path / "straight", 0)
    straight.fit(train, splits.val)
    assert train.epoch == 1  # the Trainer moved the draws on to the second epoch
    killed_at = straight.steps_per_epoch + 2  # a mid-epoch checkpoint of the second epoch
    with pytest.raises(KeyboardInterrupt):
        trainer(tmp_path / "killed", 2, [crash_at_step(killed_at + 1)]).fit(train, splits.val)
    resumed = trainer(tmp_path / "killed", 2)
    resumed.fit(train, splits.val, ckpt_path=tmp_path / "killed" / "checkpoints" / "last")
    assert resumed.global_step == straight.global_step
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
