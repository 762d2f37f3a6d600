"""KITTI readers and writers: real-format round trips, damaged files, fuzzing."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axon.data.kitti import (
    KittiCalibration, KittiFormatError, KittiLabels, KittiObjects, camera_to_lidar_boxes,
    lidar_to_camera_boxes, read_calib, read_image_set, read_image_size, read_label, read_velodyne,
    write_calib, write_image_set, write_label, write_png, write_velodyne,
)

# frame 000000 of KITTI's training set, and its calibration
LABEL = "Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01\n"
LABELS = """Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59
Cyclist 0.00 3 -2.46 665.45 160.00 717.93 217.99 1.72 0.47 1.65 2.45 1.35 22.10 -2.35
DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10
"""
CALIB = """P0: 7.070493000000e+02 0.000000000000e+00 6.040814000000e+02 0.000000000000e+00 0.000000000000e+00 7.070493000000e+02 1.805066000000e+02 0.000000000000e+00 0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 0.000000000000e+00
P1: 7.070493000000e+02 0.000000000000e+00 6.040814000000e+02 -3.797842000000e+02 0.000000000000e+00 7.070493000000e+02 1.805066000000e+02 0.000000000000e+00 0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 0.000000000000e+00
P2: 7.070493000000e+02 0.000000000000e+00 6.040814000000e+02 4.575831000000e+01 0.000000000000e+00 7.070493000000e+02 1.805066000000e+02 -3.454157000000e-01 0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 4.981016000000e-03
P3: 7.070493000000e+02 0.000000000000e+00 6.040814000000e+02 -3.341081000000e+02 0.000000000000e+00 7.070493000000e+02 1.805066000000e+02 2.330660000000e+00 0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 3.201153000000e-03
R0_rect: 9.999128000000e-01 1.009263000000e-02 -8.511932000000e-03 -1.012729000000e-02 9.999406000000e-01 -4.037671000000e-03 8.470675000000e-03 4.123522000000e-03 9.999556000000e-01
Tr_velo_to_cam: 6.927964000000e-03 -9.999722000000e-01 -2.757829000000e-03 -2.457729000000e-02 -1.162982000000e-03 2.749836000000e-03 -9.999955000000e-01 -6.127237000000e-02 9.999753000000e-01 6.931141000000e-03 -1.143899000000e-03 -3.321029000000e-01
Tr_imu_to_velo: 9.999976000000e-01 7.553071000000e-04 -2.035826000000e-03 -8.086759000000e-01 -7.854027000000e-04 9.998898000000e-01 -1.482298000000e-02 3.195559000000e-01 2.024406000000e-03 1.482454000000e-02 9.998881000000e-01 -7.997231000000e-01
"""


def test_label_fields(tmp_path):
    path = tmp_path / "000000.txt"
    path.write_text(LABELS)
    labels = read_label(path)
    assert labels.name == ["Car", "Cyclist", "DontCare"] and labels.score is None
    np.testing.assert_allclose(labels.bbox[0], [587.01, 173.33, 614.12, 200.12])
    np.testing.assert_allclose(labels.dimensions[1], [1.72, 0.47, 1.65])   # h, w, l
    np.testing.assert_allclose(labels.location[0], [-0.65, 1.71, 46.70])
    assert labels.occluded.tolist() == [0, 3, -1] and labels.rotation_y[2] == -10
    out = tmp_path / "copy.txt"
    write_label(out, labels)
    assert out.read_text() == LABELS.replace("-1 -1 -10 503", "-1.00 -1 -10.00 503").replace(
        "-1 -1 -1 -1000 -1000 -1000 -10\n", "-1.00 -1.00 -1.00 -1000.00 -1000.00 -1000.00 -10.00\n")


def test_result_file_with_scores_round_trips(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text(LABEL.strip() + " 0.9132\n" + LABEL.strip() + " 0.25\n")
    labels = read_label(path)
    assert labels.score.tolist() == [0.9132, 0.25]
    write_label(tmp_path / "again.txt", labels)
    again = read_label(tmp_path / "again.txt")
    np.testing.assert_allclose(again.score, labels.score)
    np.testing.assert_allclose(again.location, labels.location)
    assert len(labels.select(np.array([False, True]))) == 1
    assert len(KittiLabels.concatenate([labels, labels])) == 4
    (tmp_path / "empty.txt").write_text("")
    assert len(read_label(tmp_path / "empty.txt")) == 0


@pytest.mark.parametrize("text, message", [
    ("Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70\n", r"line 1: 14 fields"),
    (LABEL + "Car 0.00 0 x 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.5\n",
     r"line 2: alpha is 'x'; expected a number"),
    (LABEL + LABEL.strip() + " 0.5\n", r"line 2: 16 fields, but earlier lines have 15"),
    (LABEL.replace(" 0 -0.20", " 0.5 -0.20"), r"line 1: occluded is '0.5'"),
    (LABEL.replace("8.41", "nan"), r"line 1: z is 'nan'; expected a finite number"),
])
def test_damaged_label_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "000007.txt"
    path.write_text(text)
    with pytest.raises(KittiFormatError, match=r"000007\.txt " + message):
        read_label(path)


def test_calib_reads_and_converts(tmp_path):
    path = tmp_path / "000000.txt"
    path.write_text(CALIB)
    calib = read_calib(path)
    assert calib.P2.shape == (3, 4) and calib.R0_rect.shape == (3, 3)
    assert calib.Tr_imu_to_velo.shape == (3, 4)
    points = np.array([[10.0, 2.0, -1.0], [30.0, -5.0, 0.5]])
    np.testing.assert_allclose(calib.rect_to_lidar(calib.lidar_to_rect(points)), points, atol=1e-9)
    # the lidar's forward axis is the camera's depth
    rect = calib.lidar_to_rect(np.array([[20.0, 0.0, 0.0]]))
    assert rect[0, 2] == pytest.approx(20.0, abs=0.5) and abs(rect[0, 0]) < 0.5
    pixels, depth = calib.rect_to_image(rect)
    assert abs(pixels[0, 0] - 604) < 30 and depth[0] > 0
    write_calib(tmp_path / "copy.txt", calib)
    again = read_calib(tmp_path / "copy.txt")
    np.testing.assert_allclose(again.Tr_velo_to_cam, calib.Tr_velo_to_cam)


def test_calib_errors(tmp_path):
    path = tmp_path / "000003.txt"
    path.write_text("\n".join(l for l in CALIB.splitlines() if not l.startswith("Tr_velo_to_cam")))
    with pytest.raises(KittiFormatError, match=r"000003\.txt: no Tr_velo_to_cam line"):
        read_calib(path)
    path.write_text(CALIB.replace("R0_rect: 9.999128000000e-01", "R0_rect:"))
    with pytest.raises(KittiFormatError, match=r"000003\.txt line 5: R0_rect has 8 numbers; expected 9"):
        read_calib(path)
    path.write_text(CALIB.replace("P2: 7.070493000000e+02", "P2: seven"))
    with pytest.raises(KittiFormatError, match=r"000003\.txt line 3: P2 is 'seven'"):
        read_calib(path)


def test_velodyne_round_trip_and_short_file(tmp_path):
    points = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    path = tmp_path / "000001.bin"
    write_velodyne(path, points)
    assert path.stat().st_size == 1600
    np.testing.assert_array_equal(read_velodyne(path), points)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(KittiFormatError, match=r"000001\.bin: 1597 bytes is not a whole number of points"):
        read_velodyne(path)
    with pytest.raises(KittiFormatError, match="cannot read"):
        read_velodyne(tmp_path / "missing.bin")


def test_png_size_and_image_sets(tmp_path):
    write_png(tmp_path / "a.png", np.zeros((375, 1242, 3), np.uint8))
    assert read_image_size(tmp_path / "a.png") == (1242, 375)
    (tmp_path / "b.png").write_bytes(b"GIF89a" + bytes(30))
    with pytest.raises(KittiFormatError, match=r"b\.png: not a PNG"):
        read_image_size(tmp_path / "b.png")
    write_image_set(tmp_path / "val.txt", ["000001", "000007"])
    assert read_image_set(tmp_path / "val.txt") == ["000001", "000007"]
    (tmp_path / "bad.txt").write_text("000001\nfoo\n")
    with pytest.raises(KittiFormatError, match=r"bad\.txt line 2: 'foo'"):
        read_image_set(tmp_path / "bad.txt")


def test_png_is_readable_by_pillow(tmp_path):
    from PIL import Image

    image = np.arange(12 * 7 * 3, dtype=np.uint8).reshape(7, 12, 3)
    write_png(tmp_path / "a.png", image)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a.png")), image)


def test_camera_lidar_box_round_trip(tmp_path):
    (tmp_path / "c.txt").write_text(CALIB)
    (tmp_path / "l.txt").write_text(LABELS)
    calib, labels = read_calib(tmp_path / "c.txt"), read_label(tmp_path / "l.txt").select([0, 1])
    boxes = camera_to_lidar_boxes(labels, calib)
    # the car 46.7 m ahead: about 47 m forward in the lidar frame, its centre above the ground
    assert boxes[0, 0] == pytest.approx(47.0, abs=0.5) and boxes[0, 3:6].tolist() == [3.64, 1.67, 1.65]
    assert boxes[0, 6] == pytest.approx(-(-1.59 + math.pi / 2))
    location, dimensions, rotation_y = lidar_to_camera_boxes(boxes, calib)
    np.testing.assert_allclose(location, labels.location, atol=1e-9)
    np.testing.assert_allclose(dimensions, labels.dimensions)
    np.testing.assert_allclose(rotation_y, labels.rotation_y, atol=1e-12)


def test_dataset_reads_a_kitti_folder(tmp_path):
    root = tmp_path / "kitti"
    write_image_set(root / "ImageSets" / "val.txt", ["000004"])
    folder = root / "training"
    write_velodyne(folder / "velodyne" / "000004.bin", np.ones((5, 4)))
    (folder / "label_2").mkdir()
    (folder / "label_2" / "000004.txt").write_text(LABELS)
    (folder / "calib").mkdir()
    (folder / "calib" / "000004.txt").write_text(CALIB)
    write_png(folder / "image_2" / "000004.png", np.zeros((375, 1242), np.uint8))
    frames = KittiObjects(root, "val")
    frame = frames[0]
    assert len(frames) == 1 and frame.frame_id == "000004" and frame.points.shape == (5, 4)
    assert frame.image_size == (1242, 375) and len(frame.labels) == 3
    assert isinstance(frame.calib, KittiCalibration)


# ---------------------------------------------------------------------------- fuzzing

_FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _mutations(base: bytes):
    """Random edits of a valid file: cut it, replace bytes, insert tokens."""
    tokens = st.sampled_from([b"", b" ", b"\n", b"nan", b"-", b"1e999", b"x", b"\xff", b":", b"0.5",
                              b"DontCare", b"P2:", b"Tr_velo_to_cam:", b"\t", b"1" * 30])
    edit = st.tuples(st.integers(0, len(base)), st.integers(0, 8), tokens)
    return st.one_of(
        st.lists(edit, min_size=1, max_size=6).map(lambda edits: _apply(base, edits)),
        st.binary(max_size=300))


def _apply(data: bytes, edits) -> bytes:
    for position, cut, token in edits:
        position = min(position, len(data))
        data = data[:position] + token + data[position + cut:]
    return data


@_FUZZ
@given(data=_mutations(LABELS.encode()))
def test_fuzz_label_reader(tmp_path, data):
    path = tmp_path / "fuzz.txt"
    path.write_bytes(data)
    try:
        labels = read_label(path)
    except KittiFormatError as err:
        assert "fuzz.txt" in str(err)
    else:
        assert labels.bbox.shape == (len(labels), 4)


@_FUZZ
@given(data=_mutations(CALIB.encode()))
def test_fuzz_calib_reader(tmp_path, data):
    path = tmp_path / "fuzz.txt"
    path.write_bytes(data)
    try:
        calib = read_calib(path)
    except KittiFormatError as err:
        assert "fuzz.txt" in str(err)
    else:
        assert calib.P2.shape == (3, 4)


@_FUZZ
@given(data=st.one_of(st.binary(max_size=200),
                      st.lists(st.floats(width=32), max_size=40).map(
                          lambda v: np.array(v, dtype="<f4").tobytes())))
def test_fuzz_velodyne_reader(tmp_path, data):
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data)
    try:
        points = read_velodyne(path)
    except KittiFormatError as err:
        assert "fuzz.bin" in str(err)
    else:
        assert points.shape == (len(data) // 16, 4) and np.isfinite(points).all()
