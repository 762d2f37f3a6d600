"""Image augmentation for training (kornia): random resized crop, horizontal flip and
colour jitter, from one config block, drawn per sample from (seed, epoch, sample index).

    augment = {"recipe": "imagenet"}                          # the ImageNet-style recipe
    augment = {"recipe": "imagenet", "color_jitter": None}    # ... without colour jitter
    augment = {"horizontal_flip": {"p": 0.5}, "random_resized_crop": {"scale": [0.5, 1.0]}}
    train = AugmentedDataset(splits.train, build_augmentation(augment, splits.input_shape), seed=0)

The ops run in this order: crop, flip, jitter, on images scaled to [0, 1] before the data
set's normalisation. Every sample's draws come from its own generator seeded by
(seed, epoch, index), so they do not depend on which DataLoader worker loads it, on the
number of workers, or on where an epoch was resumed; `set_epoch(e)` (the Trainer calls it
each epoch) moves to epoch e's draws."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from axon.errors import ConfigError

OPS = {
    "random_resized_crop": {"scale": [0.08, 1.0], "ratio": [3 / 4, 4 / 3]},
    "horizontal_flip": {"p": 0.5},
    "color_jitter": {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.0, "p": 1.0},
}
"""Each op's parameters with their defaults, in the order the ops run."""

RECIPES = {
    "imagenet": {"random_resized_crop": {}, "horizontal_flip": {}, "color_jitter": {}},
    "flip": {"horizontal_flip": {}},
    "none": {},
}
"""Named recipes: ops with their default parameters (the ImageNet-style one as in
torchvision's reference scripts and timm: crop scale 0.08-1, flip, jitter 0.4)."""


def check_augment(spec: dict | None, field: str = "data.augment") -> dict[str, dict]:
    """The ops {name: parameters} of an augment block (a recipe with any op overridden or
    switched off by null), each parameter checked; a ConfigError naming `field.<key>`."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise ConfigError(f"{field}: expected a mapping such as {{recipe: imagenet}}, got {spec!r}")
    unknown = [key for key in spec if key != "recipe" and key not in OPS]
    if unknown:
        raise ConfigError(f"{field}.{unknown[0]}: unknown augmentation (known: recipe, {', '.join(OPS)})")
    recipe = spec.get("recipe", "none")
    if recipe not in RECIPES:
        raise ConfigError(f"{field}.recipe: unknown recipe {recipe!r} (known: {', '.join(RECIPES)})")
    chosen = {**RECIPES[recipe], **{k: v for k, v in spec.items() if k != "recipe"}}
    ops = {}
    for name, defaults in OPS.items():  # in running order
        params = chosen.get(name)
        if params is None:
            continue
        if not isinstance(params, dict):
            raise ConfigError(f"{field}.{name}: expected a mapping of parameters (or {{}} for the defaults), "
                              f"got {params!r}")
        bad = [key for key in params if key not in defaults]
        if bad:
            raise ConfigError(f"{field}.{name}.{bad[0]}: unknown parameter (known: {', '.join(defaults)})")
        ops[name] = {**defaults, **params}
        _check_params(name, ops[name], f"{field}.{name}")
    return ops


def _number(value, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"{where}: expected a number in [{low}, {high}], got {value!r}")
    return float(value)


def _check_params(name: str, params: dict, where: str) -> None:
    if name == "random_resized_crop":
        for key, high in (("scale", 1.0), ("ratio", math.inf)):
            pair = params[key]
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ConfigError(f"{where}.{key}: expected [low, high], got {pair!r}")
            low_value, high_value = (_number(v, f"{where}.{key}", 1e-6, high) for v in pair)
            if low_value > high_value:
                raise ConfigError(f"{where}.{key}: low {low_value} is above high {high_value}")
    elif name == "horizontal_flip":
        _number(params["p"], f"{where}.p", 0.0, 1.0)
    else:
        for key in ("brightness", "contrast", "saturation"):
            _number(params[key], f"{where}.{key}", 0.0, 10.0)
        _number(params["hue"], f"{where}.hue", 0.0, 0.5)
        _number(params["p"], f"{where}.p", 0.0, 1.0)


@dataclass
class Augmentation:
    """The checked ops of an augment block for images of `shape` (C, H, W); the output
    of a random resized crop is H x W."""

    ops: dict[str, dict]
    shape: tuple[int, ...]

    def __post_init__(self):
        import kornia.augmentation as K

        jitter = self.ops.get("color_jitter")
        if jitter is not None and self.shape[0] != 3 and (jitter["saturation"] or jitter["hue"]):
            raise ConfigError("data.augment.color_jitter: saturation and hue need RGB images; set them to 0 "
                              f"for {self.shape[0]}-channel images")
        makers = {
            "random_resized_crop": lambda p: K.RandomResizedCrop(tuple(self.shape[1:]), scale=tuple(p["scale"]),
                                                                 ratio=tuple(p["ratio"])),
            "horizontal_flip": lambda p: K.RandomHorizontalFlip(p=p["p"]),
            "color_jitter": lambda p: K.ColorJitter(p["brightness"], p["contrast"], p["saturation"], p["hue"],
                                                    p=p["p"]),
        }
        self.modules = [makers[name](params) for name, params in self.ops.items()]

    @property
    def crops(self) -> bool:
        """Whether it crops (so images are decoded whole, without the fixed resize/crop)."""
        return "random_resized_crop" in self.ops

    def __call__(self, image: torch.Tensor, seed: int) -> torch.Tensor:
        """One image (C, H, W) float in [0, 1] -> its augmented copy, drawn from `seed`."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            x = image.unsqueeze(0)
            for module in self.modules:
                x = module(x)
        return x.squeeze(0)


def build_augmentation(spec: dict | None, shape, field: str = "data.augment") -> Augmentation | None:
    """The augmentation an augment block asks for (None when it asks for none), for
    images of `shape` (C, H, W)."""
    ops = check_augment(spec, field)
    if not ops:
        return None
    if len(shape) != 3:
        raise ConfigError(f"{field}: augmentation is for images (C, H, W), but this data set's inputs are "
                          f"{list(shape)}")
    return Augmentation(ops, tuple(shape))


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for sample `index` of epoch `epoch` of a run seeded `seed`."""
    return int(np.random.SeedSequence([seed % 2**32, epoch, index]).generate_state(2, np.uint32)
               .astype(np.uint64).dot([1 << 31, 1]) % (1 << 63))


class AugmentedDataset(Dataset):
    """A reader's data set (one with `unit(i, geometry)`, `preprocessing` and `targets`)
    with `augmentation` applied per item before normalisation, drawn from (seed, epoch, i)."""

    def __init__(self, dataset, augmentation: Augmentation, seed: int = 0):
        self.dataset, self.augmentation, self.seed = dataset, augmentation, seed
        self.epoch = 0
        self.targets, self.preprocessing = dataset.targets, dataset.preprocessing

    @property
    def reads_files(self) -> bool:
        """Random crops decode each whole image again (else: whether the data set does)."""
        return self.augmentation.crops

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch `epoch`'s augmentations from now on."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.dataset.unit(index, geometry=not self.augmentation.crops)
        x = self.augmentation(x, sample_seed(self.seed, self.epoch, index))
        return self.preprocessing.normalise(x), self.targets[index]
