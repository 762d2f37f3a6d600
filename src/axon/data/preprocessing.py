"""The deterministic transform from a raw file or array to a model's input tensor.

A data set records it as a JSON-serialisable dict (`DataSplits.preprocessing`, kept in the
run folder); `preprocessing_from_dict(d)` rebuilds it, so a prediction on a raw file goes
through exactly the steps the evaluation data went through:

- kind "image": decode (PNG, JPEG, BMP, WebP), convert to `mode` ("L" grey or "RGB"),
  resize the shorter side to `resize`, center-crop to `crop`, then to (C, H, W) float32
  divided by `divisor` (255: values in [0, 1]) and normalised by the per-channel `mean`/`std`.
- kind "array": a numeric array (or `.npy` file) of `shape`'s size, reshaped to `shape`,
  divided by `divisor`, normalised by `mean`/`std` along its first axis.

Readers apply the same steps to their items (`decode` → `to_unit` → `normalise`), so an
item of a data set and the transform of its raw source are equal bit for bit."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from axon.data.npy import load_npy
from axon.errors import DataError

IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "WEBP")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
MODES = {"L": 1, "RGB": 3}


@dataclass(frozen=True)
class Preprocessing:
    """Raw input -> model input of `shape` ((C, H, W) for images, any shape for arrays)."""

    kind: str
    shape: tuple[int, ...]
    divisor: float = 1.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    mode: str | None = None
    resize: int | None = None
    crop: int | None = None
    max_pixels: int = 89_478_485
    """Largest image (width * height) decoded: Pillow's decompression-bomb limit."""

    def __post_init__(self):
        if self.kind not in ("image", "array"):
            raise DataError(f"preprocessing.kind: expected 'image' or 'array', got {self.kind!r}")
        object.__setattr__(self, "shape", tuple(_integer("shape", s) for s in self.shape))
        for name in ("resize", "crop", "max_pixels"):
            if getattr(self, name) is not None and _integer(name, getattr(self, name)) < 1:
                raise DataError(f"preprocessing.{name}: expected a positive number of pixels, got {getattr(self, name)}")
        if not self.shape or min(self.shape) < 1:
            raise DataError(f"preprocessing.shape: expected positive sizes, got {list(self.shape)}")
        if not self.divisor > 0 or not math.isfinite(self.divisor):
            raise DataError(f"preprocessing.divisor: expected a positive number, got {self.divisor}")
        if self.kind == "image":
            if self.mode not in MODES:
                raise DataError(f"preprocessing.mode: expected one of {list(MODES)}, got {self.mode!r}")
            if len(self.shape) != 3 or self.shape[0] != MODES[self.mode]:
                raise DataError(f"preprocessing.shape: mode {self.mode} needs ({MODES[self.mode]}, H, W), "
                                f"got {list(self.shape)}")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if values is None:
                continue
            values = tuple(float(v) for v in values)
            object.__setattr__(self, name, values)
            if len(values) != self.shape[0] or not all(math.isfinite(v) for v in values):
                raise DataError(f"preprocessing.{name}: expected {self.shape[0]} finite values (one per "
                                f"channel), got {list(values)}")
        if self.std is not None and min(self.std) <= 0:
            raise DataError(f"preprocessing.std: expected positive values, got {list(self.std)}")
        if (self.mean is None) != (self.std is None):
            raise DataError("preprocessing: give both mean and std, or neither")

    def to_dict(self) -> dict:
        """The JSON-serialisable form `preprocessing_from_dict` reads."""
        d = asdict(self)
        for key in ("shape", "mean", "std"):
            d[key] = None if d[key] is None else list(d[key])
        return d

    # ----- the steps
    def decode(self, raw, name: str = "input", geometry: bool = True) -> torch.Tensor:
        """A raw input (path, PIL image, array or tensor) in raw units: images (C, H, W)
        uint8 after resize/crop (skipped with `geometry=False`), arrays reshaped to `shape`."""
        if isinstance(raw, (str, Path)):
            path = Path(raw)
            name = str(path)
            if path.suffix.lower() == ".npy":
                raw = load_npy(path)
            elif self.kind == "image":
                return self._image(open_image(path, self.mode, self.max_pixels), name, geometry)
            else:
                raise DataError(f"{path}: expected a .npy array file for this model's array input")
        if self.kind == "image":
            return self._image(_as_pil(raw, name), name, geometry)
        values = torch.as_tensor(np.asarray(raw)) if not isinstance(raw, torch.Tensor) else raw
        if values.dtype == torch.bool or values.is_complex() or not values.dtype.is_floating_point and \
                values.dtype not in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
            raise DataError(f"{name}: expected a numeric array, got dtype {values.dtype}")
        if values.numel() != math.prod(self.shape):
            raise DataError(f"{name}: expected {math.prod(self.shape)} values (shape {list(self.shape)}), "
                            f"got shape {list(values.shape)}")
        return values.reshape(self.shape)

    def to_unit(self, values: torch.Tensor) -> torch.Tensor:
        """Raw units -> float32 divided by `divisor`."""
        return values.to(torch.float32) / self.divisor

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """(x - mean) / std per channel (first axis) when mean/std are set."""
        if self.mean is None:
            return x
        view = (-1,) + (1,) * (x.ndim - 1)
        return (x - torch.tensor(self.mean).view(view)) / torch.tensor(self.std).view(view)

    def __call__(self, raw, name: str = "input") -> torch.Tensor:
        """The model input for one raw input: float32 of `shape`."""
        x = self.normalise(self.to_unit(self.decode(raw, name)))
        if tuple(x.shape) != self.shape:
            raise DataError(f"{name}: expected an input of shape {list(self.shape)}, got {list(x.shape)}"
                            + ("" if self.kind == "array" else " (set data.resize/crop to fit it)"))
        return x

    def _image(self, image, name: str, geometry: bool) -> torch.Tensor:
        from PIL import Image

        image = image.convert(self.mode)
        if geometry and self.resize is not None:
            scale = self.resize / min(image.size)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.BILINEAR)
        if geometry and self.crop is not None:
            if min(image.size) < self.crop:
                raise DataError(f"{name}: image {image.width}x{image.height} is smaller than the "
                                f"{self.crop}x{self.crop} crop")
            left, top = (image.width - self.crop) // 2, (image.height - self.crop) // 2
            image = image.crop((left, top, left + self.crop, top + self.crop))
        pixels = torch.from_numpy(np.array(image, dtype=np.uint8))
        return pixels.unsqueeze(0) if pixels.ndim == 2 else pixels.permute(2, 0, 1).contiguous()


def _integer(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"preprocessing.{name}: expected an integer, got {value!r}")
    return value


def preprocessing_from_dict(d: dict) -> Preprocessing:
    """The `Preprocessing` a data set recorded with `to_dict()`; a bad dict is a DataError."""
    if not isinstance(d, dict):
        raise DataError(f"preprocessing: expected a dict, got {type(d).__name__}")
    known = Preprocessing.__dataclass_fields__
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise DataError(f"preprocessing: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    if "kind" not in d or "shape" not in d:
        raise DataError("preprocessing: 'kind' and 'shape' are required")
    try:
        return Preprocessing(**d)
    except (TypeError, ValueError, OverflowError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"preprocessing: a malformed value ({type(err).__name__}: {err}) in {d!r}"[:500]) from None


def open_image(path: Path, mode: str | None, max_pixels: int):
    """The decoded Pillow image at `path` (converted to `mode` when given), or a DataError
    naming the file: unreadable, not PNG/JPEG/BMP/WebP, truncated, or over `max_pixels`."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as image:
                if image.width * image.height > max_pixels:
                    raise DataError(f"{path}: image of {image.width}x{image.height} pixels is over the "
                                    f"limit of {max_pixels} (a decompression bomb?)")
                image.load()
                return image.convert(mode) if mode else image.copy()
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DataError(f"{path}: image is over Pillow's pixel limit (a decompression bomb?): {err}") from None
    except Exception as err:  # Pillow raises many types (OSError, SyntaxError, ValueError, ...) on bad data
        raise DataError(f"{path}: not a decodable PNG/JPEG/BMP/WebP image ({type(err).__name__}: {err})") from None


def _as_pil(raw, name: str):
    from PIL import Image

    if isinstance(raw, Image.Image):
        return raw
    array = raw.numpy() if isinstance(raw, torch.Tensor) else np.asarray(raw)
    if array.dtype != np.uint8 or not (array.ndim == 2 or array.ndim == 3 and array.shape[2] in (1, 3)):
        raise DataError(f"{name}: expected an image file or a uint8 array (H, W) or (H, W, 1|3), "
                        f"got {array.dtype} of shape {list(array.shape)}")
    return Image.fromarray(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array)
