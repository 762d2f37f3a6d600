"""The KITTI object data set, read and written in its own formats.

Layout (`root/`): `ImageSets/{train,val,test}.txt` (frame ids, one a line), and
`training/` (`testing/` for the test split) with, per frame `000123`:

- `velodyne/000123.bin`: float32 x, y, z, reflectance per point, lidar frame (x forward,
  y left, z up, metres);
- `label_2/000123.txt`: one object a line, 15 columns: type, truncated (0..1), occluded
  (0 visible, 1 partly, 2 largely, 3 unknown), alpha (observation angle), 2D box left, top,
  right, bottom (pixels), height, width, length (metres), x, y, z of the bottom centre in
  rectified camera coordinates (x right, y down, z forward), rotation_y; result files add a
  16th column, the score; `DontCare` lines mark regions with unlabelled objects;
- `calib/000123.txt`: `P0`-`P3` (3x4 projections of the rectified cameras), `R0_rect` (3x3),
  `Tr_velo_to_cam` and `Tr_imu_to_velo` (3x4), one `key: values` a line;
- `image_2/000123.png`: the left colour image (only its size is read).

Readers raise `KittiFormatError` naming the file, the line and what was expected. Writers
write a temporary file and rename it, so an interrupted write leaves no half-written file.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from axon.errors import AxonError

__all__ = [
    "KittiFormatError", "KittiLabels", "KittiCalibration", "KittiFrame", "KittiObjects",
    "read_label", "write_label", "read_calib", "write_calib", "read_velodyne", "write_velodyne",
    "read_image_size", "write_png", "read_image_set", "write_image_set",
    "camera_to_lidar_boxes", "lidar_to_camera_boxes",
]

LABEL_COLUMNS = ("type", "truncated", "occluded", "alpha", "bbox_left", "bbox_top", "bbox_right",
                 "bbox_bottom", "height", "width", "length", "x", "y", "z", "rotation_y", "score")
CALIB_KEYS = {"P0": (3, 4), "P1": (3, 4), "P2": (3, 4), "P3": (3, 4), "R0_rect": (3, 3),
              "Tr_velo_to_cam": (3, 4), "Tr_imu_to_velo": (3, 4)}
REQUIRED_CALIB = ("P2", "R0_rect", "Tr_velo_to_cam")
SPLIT_FOLDER = {"train": "training", "val": "training", "trainval": "training", "test": "testing"}


class KittiFormatError(AxonError):
    """A KITTI file is missing, damaged or not in the KITTI format."""


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_text(path: Path) -> list[str]:
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise KittiFormatError(f"{path}: cannot read ({err.strerror})") from None
    try:
        return data.decode("ascii").splitlines()
    except UnicodeDecodeError as err:
        raise KittiFormatError(f"{path}: byte {err.start} is not ASCII; expected a KITTI text file") from None


def _number(text: str, path: Path, line: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise KittiFormatError(f"{path} line {line}: {what} is {text[:40]!r}; expected a number") from None
    if not math.isfinite(value):
        raise KittiFormatError(f"{path} line {line}: {what} is {text[:40]!r}; expected a finite number")
    return value


# ---------------------------------------------------------------------------- labels


@dataclass
class KittiLabels:
    """The objects of one frame, as arrays (N objects). `dimensions` are height, width, length
    (the file's order); `location` is the bottom centre in rectified camera coordinates; `score`
    is None for ground truth."""

    name: list[str] = field(default_factory=list)
    truncated: np.ndarray = field(default_factory=lambda: np.zeros(0))
    occluded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bbox: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    dimensions: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    location: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    rotation_y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    score: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.name)

    def select(self, index) -> KittiLabels:
        """The objects picked by a boolean mask or an index array, in that order."""
        index = np.asarray(index)
        index = np.flatnonzero(index) if index.dtype == bool else index.astype(np.int64)
        picked = {f.name: getattr(self, f.name) for f in fields(self)}
        picked = {k: (None if v is None else [v[i] for i in index] if k == "name" else v[index])
                  for k, v in picked.items()}
        return KittiLabels(**picked)

    @classmethod
    def concatenate(cls, parts: list[KittiLabels]) -> KittiLabels:
        """One set of objects from several (all with scores or all without)."""
        if not parts:
            return cls()
        out = {}
        for f in fields(cls):
            values = [getattr(p, f.name) for p in parts]
            if f.name == "score":  # an empty frame has no score column to speak of
                values = [np.zeros(0) if v is None and not len(p) else v for v, p in zip(values, parts)]
            if f.name == "name":
                out["name"] = [n for v in values for n in v]
            elif any(v is None for v in values):
                out[f.name] = None
            else:
                out[f.name] = np.concatenate(values)
        return cls(**out)


def read_label(path: str | Path) -> KittiLabels:
    """Read a `label_2` file (15 columns) or a result file (16: with the score). An empty file
    is a frame without objects."""
    path = Path(path)
    rows, widths = [], set()
    for number, line in enumerate(_read_text(path), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (15, 16):
            raise KittiFormatError(f"{path} line {number}: {len(parts)} fields; expected 15 "
                                   "(type, truncated, occluded, alpha, 4 box, 3 size, 3 location, "
                                   "rotation_y) or 16 (with a score)")
        widths.add(len(parts))
        if len(widths) > 1:
            raise KittiFormatError(f"{path} line {number}: {len(parts)} fields, but earlier lines have "
                                   f"{31 - len(parts)}; a file has scores on every line or on none")
        values = [_number(text, path, number, LABEL_COLUMNS[i + 1]) for i, text in enumerate(parts[1:])]
        if values[1] != int(values[1]):
            raise KittiFormatError(f"{path} line {number}: occluded is {parts[2]!r}; expected an integer "
                                   "(0, 1, 2 or 3; -1 in result files)")
        rows.append((parts[0], values))
    if not rows:
        return KittiLabels()
    table = np.array([v for _, v in rows], dtype=np.float64).reshape(len(rows), -1)
    return KittiLabels(
        name=[n for n, _ in rows], truncated=table[:, 0], occluded=table[:, 1].astype(np.int64),
        alpha=table[:, 2], bbox=table[:, 3:7], dimensions=table[:, 7:10], location=table[:, 10:13],
        rotation_y=table[:, 13], score=table[:, 14] if table.shape[1] == 15 else None)


def write_label(path: str | Path, labels: KittiLabels) -> None:
    """Write `labels` in the KITTI label format (with the score column when `labels.score` is set)."""
    lines = []
    for i, name in enumerate(labels.name):
        if not name or any(c.isspace() for c in name):
            raise KittiFormatError(f"{path}: object {i} has type {name!r}; expected a word without spaces")
        numbers = [labels.truncated[i], labels.alpha[i], *labels.bbox[i], *labels.dimensions[i],
                   *labels.location[i], labels.rotation_y[i]]
        text = " ".join(f"{v:.2f}" for v in numbers)
        head, tail = text.split(" ", 1)
        line = f"{name} {head} {int(labels.occluded[i])} {tail}"
        if labels.score is not None:
            line += f" {labels.score[i]:.4f}"
        lines.append(line)
    _write_atomic(Path(path), ("\n".join(lines) + ("\n" if lines else "")).encode("ascii"))


# ---------------------------------------------------------------------------- calibration


@dataclass
class KittiCalibration:
    """One frame's calibration. `P2 (3, 4)` projects rectified camera coordinates to the left
    colour image; `R0_rect (3, 3)` rectifies; `Tr_velo_to_cam (3, 4)` maps lidar to camera
    coordinates. P0, P1, P3 and Tr_imu_to_velo are kept when the file has them."""

    P2: np.ndarray
    R0_rect: np.ndarray
    Tr_velo_to_cam: np.ndarray
    P0: np.ndarray | None = None
    P1: np.ndarray | None = None
    P3: np.ndarray | None = None
    Tr_imu_to_velo: np.ndarray | None = None

    def _velo_to_rect(self) -> np.ndarray:
        """The 4x4 map from lidar to rectified camera coordinates."""
        velo = np.vstack([self.Tr_velo_to_cam, [0, 0, 0, 1]])
        rect = np.eye(4)
        rect[:3, :3] = self.R0_rect
        return rect @ velo

    def lidar_to_rect(self, points: np.ndarray) -> np.ndarray:
        """Lidar points `(N, 3)` in rectified camera coordinates `(N, 3)`."""
        points = np.asarray(points, dtype=np.float64)
        return points @ self._velo_to_rect()[:3, :3].T + self._velo_to_rect()[:3, 3]

    def rect_to_lidar(self, points: np.ndarray) -> np.ndarray:
        """Rectified camera points `(N, 3)` in lidar coordinates `(N, 3)`."""
        inverse = np.linalg.inv(self._velo_to_rect())
        return np.asarray(points, dtype=np.float64) @ inverse[:3, :3].T + inverse[:3, 3]

    def rect_to_image(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates `(N, 2)` in image 2 and depths `(N,)` of rectified camera points `(N, 3)`."""
        points = np.asarray(points, dtype=np.float64)
        projected = points @ self.P2[:, :3].T + self.P2[:, 3]
        depth = projected[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            return projected[:, :2] / depth[:, None], depth


def read_calib(path: str | Path) -> KittiCalibration:
    """Read a `calib` file; P2, R0_rect and Tr_velo_to_cam are required."""
    path = Path(path)
    found: dict[str, np.ndarray] = {}
    for number, line in enumerate(_read_text(path), start=1):
        if not line.strip():
            continue
        key, colon, rest = line.partition(":")
        key = key.strip()
        if not colon:
            raise KittiFormatError(f"{path} line {number}: {line[:40]!r}; expected 'KEY: numbers'")
        if key not in CALIB_KEYS:
            continue  # other keys (raw-data extras) are not used
        shape = CALIB_KEYS[key]
        values = rest.split()
        if len(values) != shape[0] * shape[1]:
            raise KittiFormatError(f"{path} line {number}: {key} has {len(values)} numbers; "
                                   f"expected {shape[0] * shape[1]} ({shape[0]}x{shape[1]})")
        found[key] = np.array([_number(v, path, number, key) for v in values]).reshape(shape)
    for key in REQUIRED_CALIB:
        if key not in found:
            raise KittiFormatError(f"{path}: no {key} line; a KITTI calib file has "
                                   f"{', '.join(CALIB_KEYS)}")
    calib = KittiCalibration(**found)
    if abs(np.linalg.det(calib._velo_to_rect())) < 1e-9:
        raise KittiFormatError(f"{path}: R0_rect times Tr_velo_to_cam is singular; expected a rotation "
                               "and a translation")
    return calib


def write_calib(path: str | Path, calib: KittiCalibration) -> None:
    """Write `calib` as a KITTI calib file (the keys it has, in KITTI's order)."""
    lines = []
    for key in CALIB_KEYS:
        value = getattr(calib, key)
        if value is not None:
            lines.append(f"{key}: " + " ".join(f"{v:.12e}" for v in np.asarray(value).flatten()))
    _write_atomic(Path(path), ("\n".join(lines) + "\n").encode("ascii"))


# ---------------------------------------------------------------------------- points, images, splits


def read_velodyne(path: str | Path) -> np.ndarray:
    """Points `(N, 4)` float32 (x, y, z, reflectance) of a velodyne `.bin` file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise KittiFormatError(f"{path}: cannot read ({err.strerror})") from None
    if len(data) % 16:
        raise KittiFormatError(f"{path}: {len(data)} bytes is not a whole number of points "
                               "(16 bytes each: float32 x, y, z, reflectance); the file is truncated")
    points = np.frombuffer(data, dtype="<f4").reshape(-1, 4).copy()
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        raise KittiFormatError(f"{path}: point {int(np.argmax(bad))} is not finite; expected "
                               "float32 x, y, z, reflectance")
    return points


def write_velodyne(path: str | Path, points: np.ndarray) -> None:
    """Write points `(N, 4)` (x, y, z, reflectance) as a velodyne `.bin` file (float32)."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 4:
        raise KittiFormatError(f"{path}: points of shape {points.shape}; expected (N, 4)")
    _write_atomic(Path(path), points.astype("<f4").tobytes())


def read_image_size(path: str | Path) -> tuple[int, int]:
    """Width and height of a PNG image (from its header; the pixels are not read)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(24)
    except OSError as err:
        raise KittiFormatError(f"{path}: cannot read ({err.strerror})") from None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise KittiFormatError(f"{path}: not a PNG image (no PNG signature and IHDR header)")
    width, height = struct.unpack(">II", head[16:24])
    if width == 0 or height == 0:
        raise KittiFormatError(f"{path}: image of {width}x{height} pixels; expected a non-empty image")
    return width, height


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Write a uint8 image `(H, W)` (grey) or `(H, W, 3)` (RGB) as PNG."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape[:2]
    colour = 2 if image.ndim == 3 else 0
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))
    _write_atomic(Path(path), data)


def read_image_set(path: str | Path) -> list[str]:
    """Frame ids (as written, e.g. '000123') of an `ImageSets/*.txt` file."""
    path = Path(path)
    ids = []
    for number, line in enumerate(_read_text(path), start=1):
        text = line.strip()
        if not text:
            continue
        if not text.isdigit():
            raise KittiFormatError(f"{path} line {number}: {text[:40]!r}; expected a frame id (digits)")
        ids.append(text)
    return ids


def write_image_set(path: str | Path, ids: list[str]) -> None:
    """Write frame ids, one a line, as an `ImageSets/*.txt` file."""
    _write_atomic(Path(path), "".join(f"{i}\n" for i in ids).encode("ascii"))


# ---------------------------------------------------------------------------- boxes


def camera_to_lidar_boxes(labels: KittiLabels, calib: KittiCalibration) -> np.ndarray:
    """Lidar boxes `(N, 7)` (x, y, z of the centre, dx = length, dy = width, dz = height,
    heading) of camera-frame labels: the bottom centre is raised by half the height and mapped
    through the calibration; heading = -(rotation_y + pi/2)."""
    height = labels.dimensions[:, 0]
    centre = labels.location - np.stack([np.zeros_like(height), height / 2, np.zeros_like(height)], 1)
    centre = calib.rect_to_lidar(centre)
    size = labels.dimensions[:, [2, 1, 0]]
    return np.concatenate([centre, size, -(labels.rotation_y + np.pi / 2)[:, None]], axis=1)


def lidar_to_camera_boxes(boxes: np.ndarray, calib: KittiCalibration) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Location `(N, 3)` (bottom centre, rectified camera), dimensions `(N, 3)` (height, width,
    length) and rotation_y `(N,)` of lidar boxes `(N, 7)`; inverts `camera_to_lidar_boxes`."""
    boxes = np.asarray(boxes, dtype=np.float64)
    location = calib.lidar_to_rect(boxes[:, :3])
    location[:, 1] += boxes[:, 5] / 2
    rotation_y = -boxes[:, 6] - np.pi / 2
    rotation_y = (rotation_y + np.pi) % (2 * np.pi) - np.pi
    return location, boxes[:, [5, 4, 3]], rotation_y


# ---------------------------------------------------------------------------- data set


@dataclass
class KittiFrame:
    """One frame: its id, points `(N, 4)`, labels (None in the test split), calibration and
    image size (width, height)."""

    frame_id: str
    points: np.ndarray
    labels: KittiLabels | None
    calib: KittiCalibration
    image_size: tuple[int, int]


class KittiObjects:
    """The frames of one split of a KITTI object folder (`root/ImageSets/<split>.txt`; the
    files under `root/training/`, or `root/testing/` for the test split)."""

    reads_files = True

    def __init__(self, root: str | Path, split: str = "train"):
        if split not in SPLIT_FOLDER:
            raise KittiFormatError(f"split {split!r}; expected one of {', '.join(SPLIT_FOLDER)}")
        self.root, self.split = Path(root), split
        self.folder = self.root / SPLIT_FOLDER[split]
        self.ids = read_image_set(self.root / "ImageSets" / f"{split}.txt")

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> KittiFrame:
        frame_id = self.ids[index]
        label = self.folder / "label_2" / f"{frame_id}.txt"
        return KittiFrame(
            frame_id=frame_id,
            points=read_velodyne(self.folder / "velodyne" / f"{frame_id}.bin"),
            labels=read_label(label) if self.split != "test" else None,
            calib=read_calib(self.folder / "calib" / f"{frame_id}.txt"),
            image_size=read_image_size(self.folder / "image_2" / f"{frame_id}.png"))
