"""Progressive resizing: train a fully convolutional model on small images first and
larger ones later (an image-size schedule across epochs), resizing the data on the fly.

    schedule = SizeSchedule({0: 16, 3: 24, 6: 32})   # epochs 0-2 at 16x16, 3-5 at 24x24, then 32x32
    train = ResizedDataset(splits.train)             # its `size` is set per epoch
    check_fully_convolutional(model, bands=3, sizes=schedule.sizes)

`axon.train.callbacks.ProgressiveResizing` sets the wrapper's size at each epoch start."""

from __future__ import annotations

from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset


def _check_size(owner: str, size) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"{owner}: expected an image size in pixels (an integer >= 1), got {size!r}")
    return size


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) or (C, H, W) images -> the same at size x size, bilinear with
    antialiasing (so shrinking averages rather than aliases); unchanged when already
    that size."""
    if images.ndim not in (3, 4):
        raise ValueError(f"resize_images: expected images (N, C, H, W) or (C, H, W), got shape {tuple(images.shape)}")
    if tuple(images.shape[-2:]) == (size, size):
        return images
    batch = images if images.ndim == 4 else images.unsqueeze(0)
    out = F.interpolate(batch, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out if images.ndim == 4 else out.squeeze(0)


class SizeSchedule:
    """Image size by epoch: {start epoch: size}; the first entry must start at epoch 0.

    >>> SizeSchedule({0: 16, 3: 24, 6: 32}).size(4)
    24"""

    def __init__(self, schedule: Mapping[int, int]):
        if not schedule:
            raise ValueError("progressive resizing schedule: expected {start epoch: image size}, got none")
        self.steps = sorted((int(epoch), _check_size(f"progressive resizing schedule at epoch {epoch}", size))
                            for epoch, size in schedule.items())
        if self.steps[0][0] != 0:
            raise ValueError(f"progressive resizing schedule: the first size must start at epoch 0, "
                             f"got epoch {self.steps[0][0]}")

    @property
    def sizes(self) -> list[int]:
        """Every size the schedule uses, in order of use."""
        return [size for _, size in self.steps]

    def size(self, epoch: int) -> int:
        """The image size of epoch `epoch` (0-based)."""
        return [size for start, size in self.steps if start <= epoch][-1]

    def __repr__(self) -> str:
        return f"SizeSchedule({dict(self.steps)})"


class ResizedDataset(Dataset):
    """A dataset of (image (C, H, W), target) whose images come out at `size` x `size`
    (set it between epochs; None leaves them as they are)."""

    def __init__(self, dataset: Dataset, size: int | None = None):
        self.dataset = dataset
        self.size = size

    @property
    def bands(self) -> int:
        """Bands (channels) of the wrapped images."""
        return self.dataset[0][0].shape[0]

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Pass the epoch on to a wrapped data set that draws per epoch (augmentation)."""
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def __getitem__(self, index):
        image, *rest = self.dataset[index]
        if self.size is not None:
            image = resize_images(image, self.size)
        return (image, *rest)


def check_fully_convolutional(model: nn.Module, bands: int, sizes: Sequence[int],
                              device: torch.device | str | None = None) -> dict[int, tuple[int, ...]]:
    """Run `model` (in eval mode, without gradients) on zero images of each size in
    `sizes` and require that every size runs and gives the same output shape, as a
    model trained with progressive resizing must.

    Raises ValueError naming the model, the size and the first layer that failed (e.g.
    a Dense/Linear layer after Flatten, which fixes the input size). Returns
    {size: output shape}."""
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    entered: list[str] = []  # the modules running now, innermost last

    def leave(module, args, out) -> None:
        entered.pop()

    modules = {name: module for name, module in model.named_modules() if name}
    hooks = []
    for name, module in modules.items():
        hooks.append(module.register_forward_pre_hook(lambda m, args, name=name: entered.append(name)))
        hooks.append(module.register_forward_hook(leave))
    was_training = model.training
    model.eval()
    shapes: dict[int, tuple[int, ...]] = {}
    try:
        for size in sizes:
            entered.clear()
            try:
                with torch.no_grad():
                    out = model(torch.zeros(2, bands, size, size, device=device))
            except (RuntimeError, ValueError, IndexError) as err:
                where = (f"layer {entered[-1]!r} ({type(modules[entered[-1]]).__name__})"
                         if entered else "its input check")
                raise ValueError(
                    f"progressive resizing: model {type(model).__name__} cannot take {size}x{size} images "
                    f"with {bands} bands: {where} failed ({str(err).splitlines()[0]}); progressive resizing "
                    "needs a fully convolutional model (global pooling before the classifier, no Flatten "
                    "into a Dense/Linear layer)"
                ) from None
            shapes[size] = tuple((out[0] if isinstance(out, tuple) else out).shape)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    if len(set(shapes.values())) > 1:
        raise ValueError(f"progressive resizing: model {type(model).__name__} gives outputs of different shapes "
                         f"for different image sizes ({shapes}); its output must not depend on the image size")
    return shapes

