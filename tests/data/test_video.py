import numpy as np
import pytest
import torch
from PIL import Image

from axon.data.video import (FolderSource, MovingShapes, NumpySource, PanningCamera,
                             VideoFileSource, open_source)
from axon.errors import ConfigError


def write_frames(folder, n, size=(40, 30), seed=0):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (n, size[1], size[0], 3), dtype=np.uint8)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"f{i:03d}.png")
    return frames


def test_folder_source_reads_resizes_and_loops(tmp_path):
    frames = write_frames(tmp_path / "v", 3)
    src = FolderSource(tmp_path / "v", (30, 40))
    assert len(src) == 3
    got = src.frame(4).image  # loops: frame 1
    assert got.shape == (3, 30, 40)
    np.testing.assert_allclose(got.permute(1, 2, 0).numpy(), frames[1] / 255, atol=1e-6)
    small = FolderSource(tmp_path / "v", (15, 20)).frame(0).image
    assert small.shape == (3, 15, 20) and 0 <= small.min() and small.max() <= 1


def test_folder_source_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        FolderSource(tmp_path / "nope", (8, 8))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no PNG or JPEG"):
        FolderSource(tmp_path / "empty", (8, 8))
    write_frames(tmp_path / "v", 2)
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "v" / "f999.png")
    with pytest.raises(ConfigError, match="f999.png is 10x10, expected 40x30"):
        FolderSource(tmp_path / "v", (8, 8))


def test_numpy_source(tmp_path):
    arr = np.random.default_rng(0).random((5, 12, 12, 3)).astype(np.float32)
    np.save(tmp_path / "a.npy", arr)
    src = open_source(str(tmp_path / "a.npy"), (12, 12))
    assert isinstance(src, NumpySource) and len(src) == 5
    np.testing.assert_allclose(src.frame(2).image.permute(1, 2, 0).numpy(), arr[2])
    gray = NumpySource(tmp_path / "a.npy", (6, 6), bands=1).frame(0).image
    assert gray.shape == (1, 6, 6)
    np.save(tmp_path / "bad.npy", np.zeros(4))
    with pytest.raises(ConfigError, match="bad.npy"):
        NumpySource(tmp_path / "bad.npy", (6, 6))


def test_video_file_source(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(6):
            img = np.full((32, 32, 3), 40 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    src = open_source(str(path), (16, 16))
    assert isinstance(src, VideoFileSource) and len(src) == 6
    levels = [src.frame(i).image.mean().item() for i in range(6)]
    np.testing.assert_allclose(levels, [40 * i / 255 for i in range(6)], atol=0.03)


def test_missing_source_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file or folder"):
        open_source(str(tmp_path / "missing.mp4"), (8, 8))


def test_panning_camera_moves_smoothly_and_loops():
    cam = PanningCamera((30, 40), length=200)
    a, b = cam.frame(10).image, cam.frame(11).image
    assert a.shape == (3, 30, 40) and 0 <= a.min() and a.max() <= 1
    step = (a - b).abs().mean().item()
    far = (a - cam.frame(60).image).abs().mean().item()
    assert 0 < step < far  # consecutive frames are close, distant ones differ
    assert torch.allclose(cam.frame(10).image, cam.frame(210).image)
    with pytest.raises(ConfigError, match="camera image"):
        PanningCamera((8, 8), image="moon.jpg")


def test_moving_shapes_labels_follow_the_red_disc():
    src = MovingShapes((48, 48), seed=3)
    seen = 0
    for t in range(0, 200, 7):
        f = src.frame(t)
        assert f.image.shape == (3, 48, 48) and f.mask.shape == (48, 48)
        if f.box is None:
            assert f.mask.sum() == 0
            continue
        seen += 1
        x0, y0, x1, y1 = f.box
        inside = f.image[:, y0:y1, x0:x1][:, f.mask[y0:y1, x0:x1] > 0]
        # the visible disc is red
        assert inside[0].mean() > 0.8 and inside[1].mean() < 0.3
    assert seen > 10
    assert torch.equal(src.frame(5).image, MovingShapes((48, 48), seed=3).frame(5).image)
