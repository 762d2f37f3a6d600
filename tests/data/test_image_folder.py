import io
import struct
import zlib

import numpy as np
import pytest
import torch
from hypothesis import given
from PIL import Image
from torch.utils.data import DataLoader

from axon.data import build_dataset, preprocessing_from_dict
from axon.data.preprocessing import open_image
from axon.errors import ConfigError, DataError

from .conftest import FUZZ, mutated

FORMATS = {"png": "PNG", "bmp": "BMP", "webp": "WEBP", "jpg": "JPEG"}
LOSSLESS = {"png": {}, "bmp": {}, "webp": {"lossless": True}}


def _pixels(seed, size=(12, 16)):
    return np.random.default_rng(seed).integers(0, 256, size + (3,), dtype=np.uint8)


def write_folder(root, classes=("cat", "dog", "eel"), per_class=10, size=(12, 16)):
    """root/<class>/<k>.<ext> over the four formats; returns {path: pixels} of the lossless ones."""
    written = {}
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for k in range(per_class):
            ext = list(FORMATS)[k % 4]
            pixels = _pixels(100 * c + k, size)
            path = root / name / f"{k}.{ext}"
            Image.fromarray(pixels).save(path, FORMATS[ext], **LOSSLESS.get(ext, {}))
            if ext in LOSSLESS:
                written[path] = pixels
    return written


def test_lossless_formats_round_trip_and_match_the_recorded_preprocessing(tmp_path):
    written = write_folder(tmp_path / "train")
    splits = build_dataset("image_folder", root=str(tmp_path / "train"), val_fraction=0.3, test_fraction=0.2)
    assert splits.classes == ["cat", "dog", "eel"] and splits.input_shape == (3, 12, 16)
    assert len(splits.test) == 6 and len(splits.train) + len(splits.val) == 24
    assert torch.bincount(splits.test.targets).tolist() == [2, 2, 2]  # stratified
    preprocess = preprocessing_from_dict(splits.preprocessing)
    checked = 0
    for dataset in (splits.train, splits.val, splits.test):
        for i, path in enumerate(dataset.paths):
            x, y = dataset[i]
            assert splits.classes[int(y)] == path.parent.name
            assert torch.equal(preprocess(path), x)
            if path in written:
                assert torch.equal(x, torch.from_numpy(written[path]).permute(2, 0, 1).float() / 255)
                checked += 1
    assert checked == len(written)


def test_grey_resize_crop_and_separate_folders(tmp_path):
    write_folder(tmp_path / "train", size=(20, 30))
    write_folder(tmp_path / "val", classes=("cat", "eel"), per_class=2, size=(20, 30))
    write_folder(tmp_path / "test", per_class=2, size=(40, 40))
    splits = build_dataset("image_folder", root=str(tmp_path / "train"), val=str(tmp_path / "val"),
                           test=str(tmp_path / "test"), mode="L", resize=10, crop=8, normalize="measure")
    assert splits.input_shape == (1, 8, 8) and len(splits.train) == 30 and len(splits.val) == 4
    assert sorted(set(splits.val.targets.tolist())) == [0, 2]
    x, _ = splits.test[0]
    assert x.shape == (1, 8, 8)
    path = splits.test.paths[0]
    with Image.open(path) as image:  # the same steps by hand: grey, shorter side 10, center 8x8
        grey = image.convert("L").resize((10, 10), Image.Resampling.BILINEAR).crop((1, 1, 9, 9))
    mean, std = splits.preprocessing["mean"][0], splits.preprocessing["std"][0]
    expected = (torch.from_numpy(np.array(grey)).float() / 255 - mean) / std
    assert torch.allclose(x[0], expected, atol=1e-6)
    measured = torch.cat([splits.train.preprocessing.to_unit(splits.train.preprocessing.decode(p)).flatten()
                          for p in splits.train.paths]).double()
    assert mean == pytest.approx(float(measured.mean())) and std == pytest.approx(float(measured.std()), rel=1e-3)


def test_folder_errors(tmp_path):
    write_folder(tmp_path / "train", per_class=4)
    (tmp_path / "train" / "fox").mkdir()
    (tmp_path / "train" / "fox" / "notes.txt").write_text("no images")
    with pytest.raises(DataError, match="train/fox: empty class folder"):
        build_dataset("image_folder", root=str(tmp_path / "train"))
    (tmp_path / "train" / "fox" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "train" / "fox" / "broken.jpg").write_bytes(b"")
    splits = build_dataset("image_folder", root=str(tmp_path / "train"), val_fraction=0.4)
    for dataset in (splits.train, splits.val):
        for i, path in enumerate(dataset.paths):
            if path.parent.name == "fox":
                with pytest.raises(DataError, match=f"{path.name}: not a decodable PNG/JPEG/BMP/WebP image"):
                    dataset[i]
    write_folder(tmp_path / "val", classes=("cat", "owl"), per_class=1)
    with pytest.raises(DataError, match="val/owl: class 'owl' is not a class of the training folder"):
        build_dataset("image_folder", root=str(tmp_path / "train"), val=str(tmp_path / "val"))
    with pytest.raises(DataError, match="no such image folder"):
        build_dataset("image_folder", root=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="data.mode"):
        build_dataset("image_folder", root=str(tmp_path / "train"), mode="CMYK")


def test_images_of_another_size_are_named(tmp_path):
    write_folder(tmp_path / "train", per_class=4)
    Image.fromarray(_pixels(0, (5, 5))).save(tmp_path / "train" / "cat" / "small.png")
    splits = build_dataset("image_folder", root=str(tmp_path / "train"), val_fraction=0.5)
    for dataset in (splits.train, splits.val):
        if any(p.name == "small.png" for p in dataset.paths):
            with pytest.raises(DataError, match="small.png: image gives an input of shape \\[3, 5, 5\\], expected"):
                dataset[[p.name for p in dataset.paths].index("small.png")]
    with pytest.raises(DataError, match="small.png: image 5x5 is smaller than the 8x8 crop"):
        build_dataset("image_folder", root=str(tmp_path / "train"), crop=8, val_fraction=0.5).train.preprocessing(
            tmp_path / "train" / "cat" / "small.png")


def test_decoded_images_are_kept_in_shared_memory_across_worker_processes(tmp_path):
    write_folder(tmp_path / "train", per_class=8)
    splits = build_dataset("image_folder", root=str(tmp_path / "train"), val_fraction=0.25)
    uncached = build_dataset("image_folder", root=str(tmp_path / "train"), val_fraction=0.25, cache=False)
    assert uncached.train.cache is None and splits.val.cache is not None
    loader = DataLoader(splits.train, batch_size=5, num_workers=2)
    first = torch.cat([x for x, _ in loader])  # decoded in the worker processes
    assert bool(splits.train.cache.filled.all())  # ... and visible here
    assert torch.equal(first, torch.stack([uncached.train[i][0] for i in range(len(uncached.train))]))
    for path in splits.train.paths:
        path.unlink()  # from now on only the cache has the images
    assert torch.equal(torch.cat([x for x, _ in loader]), first)
    with pytest.raises(DataError, match="no such file"):
        uncached.train[0]


def test_a_batch_of_cached_items_equals_the_items_one_by_one(tmp_path):
    write_folder(tmp_path / "train", per_class=6)
    for normalize in (None, "measure"):
        dataset = build_dataset("image_folder", root=str(tmp_path / "train"), normalize=normalize,
                                val_fraction=0.5).train
        indices = [4, 0, 7, 7, 2]
        one_by_one = [dataset[i] for i in indices]
        dataset.decode_all(workers=0)
        assert not dataset.reads_files
        batch = dataset.__getitems__(indices)
        assert len(batch) == len(indices)
        for (x, y), (x1, y1) in zip(batch, one_by_one):
            assert torch.equal(x, x1) and torch.equal(y, y1) and x.dtype == x1.dtype


def test_an_image_of_another_size_is_never_cached_and_is_named_each_time(tmp_path):
    write_folder(tmp_path / "train", per_class=2)
    Image.fromarray(_pixels(0, (5, 5))).save(tmp_path / "train" / "cat" / "small.png")
    dataset = build_dataset("image_folder", root=str(tmp_path / "train"), val_fraction=0.5).train
    small = [p.name for p in dataset.paths].index("small.png") if any(
        p.name == "small.png" for p in dataset.paths) else None
    for _ in range(2):
        for i in range(len(dataset)):
            if i == small:
                with pytest.raises(DataError, match="small.png"):
                    dataset[i]
            else:
                dataset[i]
    assert int(dataset.cache.filled.sum()) == len(dataset) - (small is not None)


def test_cache_argument_and_budget(tmp_path, monkeypatch):
    write_folder(tmp_path / "train", per_class=4)
    root, kwargs = str(tmp_path / "train"), {"val_fraction": 0.5}
    with pytest.raises(ConfigError, match="data.cache: expected auto, true or false, got 'yes'"):
        build_dataset("image_folder", root=root, cache="yes", **kwargs)
    monkeypatch.setattr("axon.data.image_folder.cache_budget", lambda: 1000)
    assert build_dataset("image_folder", root=root, **kwargs).train.cache is None  # auto: over budget, decoded each time
    with pytest.raises(ConfigError, match="data.cache: the decoded images need 0 MiB, over the 0 MiB"):
        build_dataset("image_folder", root=root, cache=True, **kwargs)


def _png_claiming(width, height):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_decompression_bomb_is_refused_by_its_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(100_000, 100_000))
    with pytest.raises(DataError, match="bomb.png: image .*(over the limit|decompression bomb)"):
        open_image(path, "RGB", 89_478_485)
    path.write_bytes(_png_claiming(5000, 5000))
    with pytest.raises(DataError, match="bomb.png: image of 5000x5000 pixels is over the limit of 1000000"):
        open_image(path, "RGB", 1_000_000)


def _image_bytes(fmt):
    buffer = io.BytesIO()
    Image.fromarray(_pixels(7, (6, 5))).save(buffer, fmt)
    return buffer.getvalue()


@FUZZ
@given(png=mutated(_image_bytes("PNG")), jpeg=mutated(_image_bytes("JPEG")), bmp=mutated(_image_bytes("BMP")),
       webp=mutated(_image_bytes("WEBP")))
def test_fuzzed_images_raise_only_data_errors(tmp_path_factory, png, jpeg, bmp, webp):
    folder = tmp_path_factory.getbasetemp()
    for name, content in (("f.png", png), ("f.jpg", jpeg), ("f.bmp", bmp), ("f.webp", webp)):
        path = folder / name
        path.write_bytes(content)
        try:
            image = open_image(path, "RGB", 10_000)
        except DataError as err:
            assert str(path) in str(err)
        else:
            assert image.width * image.height <= 10_000
