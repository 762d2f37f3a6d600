import numpy as np
import pytest
from PIL import Image


def write_image_folder(root, classes=("circle", "square", "stripes"), per_class=10, size=40, seed=0):
    """Small RGB PNGs in root/<class>/: a bright disc, a bright square or stripes on noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    masks = {"circle": (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 3) ** 2,
             "square": (abs(yy - size / 2) < size / 4) & (abs(xx - size / 2) < size / 4),
             "stripes": (xx // 4) % 2 == 0}
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 90, (size, size, 3))
            pixels[masks[name]] += 150
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i:03d}.png")
    return root


@pytest.fixture
def folder_writer():
    """write_image_folder, for tests that need more than one folder."""
    return write_image_folder


@pytest.fixture
def image_folder(tmp_path):
    return write_image_folder(tmp_path / "photos")
