"""Video frame sources for the Predictive Vision Model and other sequence learners.

Every source is indexable by time: `source.frame(t)` gives frame `t` (any t >= 0; the
source loops after `len(source)` frames), so a run that resumes at step t reads exactly
the frames it would have read. A `Frame` holds `image (bands, height, width)` float32
in [0, 1], resized to the size asked for, and for labelled sources the tracked object's
`mask (height, width)` and bounding `box` (x0, y0, x1, y1; x1, y1 exclusive).

Sources: a folder of PNG/JPEG frames (`FolderSource`), a NumPy `.npy` array of frames
(`NumpySource`), a video file decoded with PyAV when it is installed (`VideoFileSource`;
`pip install av`), a camera panning and zooming over one of scikit-learn's bundled
photographs (`PanningCamera`, the default), and synthetic moving shapes with an occluder
and tracking labels (`MovingShapes`). `open_source(spec, size)` builds one from a string.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from axon.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class Frame:
    """One frame: `image (bands, H, W)` in [0, 1]; optional `mask (H, W)` and `box`."""

    image: torch.Tensor
    mask: torch.Tensor | None = None
    box: tuple[int, int, int, int] | None = None


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    h, w = (int(s) for s in size)
    if h < 1 or w < 1:
        raise ConfigError(f"frame size: expected positive (height, width), got {size}")
    return h, w


def resize_image(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize `(bands, h, w)` to `(bands, *size)` (bilinear with antialiasing)."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    out = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False,
                        antialias=True)[0]
    return out.clamp_(0, 1)


def _to_bands(image: np.ndarray, bands: int, where: str) -> torch.Tensor:
    """HxW or HxWxC array (uint8 or float in [0, 1]) -> `(bands, H, W)` float32."""
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    else:
        arr = arr.astype(np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ConfigError(f"{where}: expected an HxW or HxWxC image, got shape {arr.shape}")
    arr = arr[:, :, :3]
    t = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)
    if bands == 1 and t.shape[0] == 3:
        t = (0.299 * t[0] + 0.587 * t[1] + 0.114 * t[2])[None]
    elif bands == 3 and t.shape[0] == 1:
        t = t.expand(3, -1, -1)
    elif t.shape[0] != bands:
        raise ConfigError(f"{where}: has {t.shape[0]} bands, expected {bands}")
    return t.contiguous()


class FrameSource:
    """Base class: `frame(t)` for any t >= 0 (looping), `len()` distinct frames,
    `size` (height, width) and `bands` of the frames it gives."""

    size: tuple[int, int]
    bands: int
    labelled = False

    def __len__(self) -> int:
        raise NotImplementedError

    def frame(self, t: int) -> Frame:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


class FolderSource(FrameSource):
    """A folder of PNG/JPEG frames, played in file-name order. Every frame must have the
    size of the first; frames are resized to `size`."""

    def __init__(self, folder: str | Path, size: tuple[int, int], bands: int = 3):
        from PIL import Image

        self.folder = Path(folder)
        self.size, self.bands = _check_size(size), bands
        if not self.folder.is_dir():
            raise ConfigError(f"video source {self.folder}: folder does not exist")
        self.files = sorted(p for p in self.folder.iterdir()
                            if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise ConfigError(f"video source {self.folder}: no PNG or JPEG frames in it")
        first = None
        for p in self.files:
            with _open_image(p) as im:
                if first is None:
                    first = im.size
                elif im.size != first:
                    raise ConfigError(
                        f"video source {self.folder}: frame {p.name} is {im.size[0]}x"
                        f"{im.size[1]}, expected {first[0]}x{first[1]} like {self.files[0].name}"
                    )

    def __len__(self) -> int:
        return len(self.files)

    def frame(self, t: int) -> Frame:
        from PIL import Image

        path = self.files[t % len(self.files)]
        with _open_image(path) as im:
            try:
                arr = np.asarray(im.convert("RGB"))
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
                raise ConfigError(f"video source frame {path}: cannot decode ({err})") from None
        return Frame(resize_image(_to_bands(arr, self.bands, str(path)), self.size))

    def describe(self) -> str:
        return f"folder {self.folder} ({len(self)} frames)"


MAX_FRAME_PIXELS = 50_000_000
"""Largest frame a source reads (about 7000 x 7000); larger ones are refused from the
header alone, so a small file that decompresses to gigabytes is never decoded."""


def _check_frame_shape(height: int, width: int, where: str) -> None:
    if height < 1 or width < 1 or height * width > MAX_FRAME_PIXELS:
        raise ConfigError(f"{where}: frames of {width}x{height} pixels; expected between 1x1 and "
                          f"{MAX_FRAME_PIXELS:,} pixels")


def _open_image(path: Path):
    """A PIL image of `path` whose header was read and whose size is checked."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ConfigError(f"video source frame {path}: not a readable PNG or JPEG image ({err})") from None
    _check_frame_shape(image.size[1], image.size[0], f"video source frame {path}")
    return image


class NumpySource(FrameSource):
    """A `.npy` array of frames, `(T, H, W)`, `(T, H, W, C)` (uint8, or float in [0, 1])."""

    def __init__(self, path: str | Path, size: tuple[int, int], bands: int = 3):
        self.path = Path(path)
        self.size, self.bands = _check_size(size), bands
        if not self.path.is_file():
            raise ConfigError(f"video source {self.path}: file does not exist")
        try:
            self.frames = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ConfigError(f"video source {self.path}: not a NumPy array file ({err})") from None
        if not isinstance(self.frames, np.ndarray):
            raise ConfigError(f"video source {self.path}: an archive of arrays; expected one .npy array")
        if self.frames.ndim not in (3, 4) or len(self.frames) == 0:
            raise ConfigError(f"video source {self.path}: expected frames (T, H, W[, C]), "
                              f"got shape {self.frames.shape}")
        if self.frames.dtype.kind not in "uif" or self.frames.dtype.itemsize > 8:
            raise ConfigError(f"video source {self.path}: frames of dtype {self.frames.dtype}; expected "
                              f"uint8, uint16 or float numbers")
        _check_frame_shape(self.frames.shape[1], self.frames.shape[2], f"video source {self.path}")
        if self.frames.ndim == 4 and self.frames.shape[3] not in (1, 3, 4):
            raise ConfigError(f"video source {self.path}: frames with {self.frames.shape[3]} channels; "
                              f"expected 1, 3 or 4")

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, t: int) -> Frame:
        arr = np.array(self.frames[t % len(self.frames)])
        return Frame(resize_image(_to_bands(arr, self.bands, str(self.path)), self.size))

    def describe(self) -> str:
        return f"numpy {self.path} ({len(self)} frames)"


class VideoFileSource(FrameSource):
    """A video file (MP4, AVI, MKV, ...) decoded with PyAV (`pip install av`). All frames
    are decoded once, resized, and kept as uint8."""

    def __init__(self, path: str | Path, size: tuple[int, int], bands: int = 3):
        self.path = Path(path)
        self.size, self.bands = _check_size(size), bands
        if not self.path.is_file():
            raise ConfigError(f"video source {self.path}: file does not exist")
        try:
            import av
        except ModuleNotFoundError:
            raise ConfigError(
                f"video source {self.path}: decoding video files needs PyAV "
                "(pip install av); or convert it to a folder of PNG frames"
            ) from None
        frames = []
        try:
            with av.open(str(self.path)) as container:
                for vf in container.decode(video=0):
                    img = _to_bands(vf.to_ndarray(format="rgb24"), bands, str(self.path))
                    frames.append((resize_image(img, self.size) * 255).round().to(torch.uint8))
        except av.error.FFmpegError as err:
            raise ConfigError(f"video source {self.path}: cannot decode ({err})") from None
        if not frames:
            raise ConfigError(f"video source {self.path}: no video frames")
        self.frames = torch.stack(frames)

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, t: int) -> Frame:
        return Frame(self.frames[t % len(self.frames)].float() / 255)

    def describe(self) -> str:
        return f"video {self.path} ({len(self)} frames)"


class PanningCamera(FrameSource):
    """A camera panning and zooming smoothly over a photograph bundled with scikit-learn
    (`china.jpg` or `flower.jpg`, 427x640). The path is a sum of sinusoids with whole
    numbers of cycles per `length` frames, so the video loops seamlessly."""

    def __init__(self, size: tuple[int, int], image: str = "china.jpg", length: int = 2000,
                 bands: int = 3):
        from sklearn.datasets import load_sample_image

        self.size, self.bands = _check_size(size), bands
        if length < 2:
            raise ConfigError(f"camera length: expected >= 2 frames, got {length}")
        try:
            photo = load_sample_image(image)
        except (AttributeError, ValueError):
            raise ConfigError(f"camera image {image!r}: expected china.jpg or flower.jpg") from None
        self.image_name, self.length = image, length
        full = _to_bands(photo, bands, image)
        # Pre-shrink so that the mean window is about 1.5x the output: bilinear sampling
        # then stays close to antialiased at every zoom.
        self.window = (0.45, 0.8)  # window height as a fraction of the photo height
        scale = 1.5 * self.size[0] / (full.shape[1] * sum(self.window) / 2)
        shrunk = (round(full.shape[1] * scale), round(full.shape[2] * scale))
        self.photo = resize_image(full, shrunk) if scale < 1 else full

    def __len__(self) -> int:
        return self.length

    def _pose(self, t: int) -> tuple[float, float, float]:
        """(centre x, centre y, window height), each as a fraction of the photo."""
        a = 2 * math.pi * (t % self.length) / self.length
        lo, hi = self.window
        zoom = lo + (hi - lo) * (0.5 + 0.5 * math.sin(3 * a + 0.3))
        ph, pw = self.photo.shape[1:]
        aspect = self.size[1] / self.size[0]
        half_h, half_w = zoom / 2, zoom * ph * aspect / pw / 2
        cx = 0.5 + (0.5 - half_w) * (0.8 * math.sin(a) + 0.2 * math.sin(5 * a + 1.0))
        cy = 0.5 + (0.5 - half_h) * (0.8 * math.sin(2 * a + 0.7) + 0.2 * math.cos(7 * a))
        return cx, cy, zoom

    def frame(self, t: int) -> Frame:
        cx, cy, zoom = self._pose(t)
        ph, pw = self.photo.shape[1:]
        aspect = self.size[1] / self.size[0]
        h, w = self.size
        # grid_sample coordinates: -1..1 over the photo
        ys = (cy + (torch.linspace(-0.5, 0.5, h) * zoom)) * 2 - 1
        xs = (cx + (torch.linspace(-0.5, 0.5, w) * zoom * ph * aspect / pw)) * 2 - 1
        grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], -1)[None]
        img = F.grid_sample(self.photo[None], grid, mode="bilinear", align_corners=True)[0]
        return Frame(img.clamp_(0, 1))

    def describe(self) -> str:
        return f"camera over {self.image_name} ({self.length}-frame loop)"


def _bounce(start: float, speed: float, lo: float, hi: float, t: int) -> float:
    """Position at time t of a point moving at `speed` that reflects off lo and hi."""
    span = hi - lo
    q = (start - lo + speed * t) % (2 * span)
    return lo + (q if q <= span else 2 * span - q)


class MovingShapes(FrameSource):
    """Synthetic labelled video: a textured background, a red disc (the tracked object),
    two distractors (a blue square and a green diamond) bouncing off the borders, and a
    grey bar (the occluder) sliding in front of them. The label is the disc's visible
    mask and its bounding box (None while fully hidden)."""

    labelled = True

    def __init__(self, size: tuple[int, int], length: int = 1000, seed: int = 0,
                 bands: int = 3):
        self.size, self.bands, self.length, self.seed = _check_size(size), bands, length, seed
        if length < 1:
            raise ConfigError(f"shapes length: expected >= 1 frame, got {length}")
        g = torch.Generator().manual_seed(seed)
        h, w = self.size
        coarse = torch.rand(3, max(2, h // 8), max(2, w // 8), generator=g)
        self.background = 0.25 + 0.35 * F.interpolate(coarse[None], size=(h, w),
                                                       mode="bicubic", align_corners=False)[0]
        self.background.clamp_(0, 1)
        s = min(h, w)
        self.radius = 0.12 * s
        # (start x, start y, speed x, speed y) in pixels and pixels per frame
        r = torch.rand(3, 4, generator=g)
        self.motion = [(float(a * w), float(b * h), float((c - 0.5) * 0.06 * s + 0.01 * s),
                        float((d - 0.5) * 0.06 * s - 0.008 * s)) for a, b, c, d in r]
        self.bar_width = max(1.0, 0.12 * w)
        yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32) + 0.5,
                                torch.arange(w, dtype=torch.float32) + 0.5, indexing="ij")
        self.yy, self.xx = yy, xx

    def __len__(self) -> int:
        return self.length

    def _position(self, k: int, t: int) -> tuple[float, float]:
        h, w = self.size
        x0, y0, vx, vy = self.motion[k]
        m = self.radius
        return _bounce(x0, vx, m, w - m, t), _bounce(y0, vy, m, h - m, t)

    def frame(self, t: int) -> Frame:
        t = t % self.length
        img = self.background.clone()
        soft = lambda d: (0.5 - d).clamp(0, 1)  # noqa: E731  signed distance -> coverage
        r = self.radius
        x, y = self._position(1, t)
        square = soft(torch.maximum((self.xx - x).abs(), (self.yy - y).abs()) - 0.8 * r)
        x, y = self._position(2, t)
        diamond = soft(((self.xx - x).abs() + (self.yy - y).abs()) / math.sqrt(2) - 0.8 * r)
        x, y = self._position(0, t)
        disc = soft(((self.xx - x) ** 2 + (self.yy - y) ** 2).sqrt() - r)
        w = self.size[1]
        bx = _bounce(0.2 * w, 0.004 * w, self.bar_width / 2, w - self.bar_width / 2, t)
        bar = soft((self.xx - bx).abs() - self.bar_width / 2)
        for cover, colour in ((square, (0.1, 0.2, 0.9)), (diamond, (0.1, 0.8, 0.2)),
                              (disc, (0.95, 0.1, 0.1)), (bar, (0.5, 0.5, 0.5))):
            c = torch.tensor(colour).view(3, 1, 1)
            img = img * (1 - cover) + c * cover
        visible = disc * (1 - bar)
        mask = (visible > 0.5).float()
        box = None
        if mask.any():
            ys, xs = torch.nonzero(mask, as_tuple=True)
            box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        if self.bands == 1:
            img = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2])[None]
        return Frame(img.clamp_(0, 1), mask, box)

    def describe(self) -> str:
        return f"moving shapes (seed {self.seed}, {self.length}-frame loop)"


class VideoWriter:
    """Write `(H, W, 3)` uint8 frames to a video file with PyAV (`pip install av`); the
    size is fixed by the first frame (later frames are padded or cropped to it). The file
    appears complete only when the writer is closed (temp file, then rename)."""

    def __init__(self, path: str | Path, fps: int = 10):
        try:
            import av
        except ModuleNotFoundError:
            raise ConfigError(f"video output {path}: writing video needs PyAV (pip install av)"
                              ) from None
        self.path, self.fps, self._av = Path(path), fps, av
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.stem}.tmp{self.path.suffix}")
        self._out = None

    def write(self, rgb: np.ndarray) -> None:
        av = self._av
        if self._out is None:
            self._out = av.open(str(self._tmp), "w")
            self._stream = self._out.add_stream("mpeg4", rate=self.fps)
            h, w = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
            self._stream.width, self._stream.height = w, h
            self._stream.pix_fmt = "yuv420p"
            self._stream.bit_rate = 4_000_000
        h, w = self._stream.height, self._stream.width
        frame = np.zeros((h, w, 3), np.uint8)
        hh, ww = min(h, rgb.shape[0]), min(w, rgb.shape[1])
        frame[:hh, :ww] = rgb[:hh, :ww]
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            self._out.mux(packet)

    def close(self) -> None:
        if self._out is None:
            return
        for packet in self._stream.encode():
            self._out.mux(packet)
        self._out.close()
        self._out = None
        self._tmp.replace(self.path)


def open_source(spec: str, size: tuple[int, int], bands: int = 3) -> FrameSource:
    """Build a source from a string: `camera[:china.jpg|flower.jpg]`, `shapes[:SEED]`,
    a folder of frames, a `.npy` file, or a video file."""
    name, _, arg = spec.partition(":")
    if name == "camera":
        return PanningCamera(size, image=arg or "china.jpg", bands=bands)
    if name == "shapes":
        try:
            seed = int(arg) if arg else 0
        except ValueError:
            raise ConfigError(f"source {spec!r}: expected shapes:SEED with an integer seed") from None
        return MovingShapes(size, seed=seed, bands=bands)
    path = Path(spec)
    if path.is_dir():
        return FolderSource(path, size, bands)
    if path.suffix.lower() == ".npy":
        return NumpySource(path, size, bands)
    if not path.exists():
        raise ConfigError(
            f"video source {spec!r}: no such file or folder (expected camera, shapes, a "
            "folder of frames, a .npy file or a video file)"
        )
    return VideoFileSource(path, size, bands)
