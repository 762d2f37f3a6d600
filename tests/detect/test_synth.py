"""Synthetic KITTI scenes: layout, reader round trip, reproducibility, occlusion, truncation;
the bird's-eye-view picture and the CLI."""

import subprocess
import sys

import numpy as np
import pytest

from axon.data.kitti import KittiObjects, read_label
from axon.data.kitti_synth import (
    LidarSpec, kitti_like_calibration, scene_from_boxes, simulated_detections, write_synthetic_kitti,
)

SMALL = LidarSpec(beams=32, columns=512)


def _points_in(points, box):
    d = points[:, :2] - box[:2]
    c, s = np.cos(box[6]), np.sin(box[6])
    lx, ly = d[:, 0] * c + d[:, 1] * s, -d[:, 0] * s + d[:, 1] * c
    return ((np.abs(lx) <= box[3] / 2 + 0.1) & (np.abs(ly) <= box[4] / 2 + 0.1)
            & (points[:, 2] > -1.6)).sum()


def test_written_scenes_load_through_the_kitti_reader(tmp_path):
    write_synthetic_kitti(tmp_path / "k", 4, seed=3, detections=True, lidar=SMALL)
    train, val = KittiObjects(tmp_path / "k", "train"), KittiObjects(tmp_path / "k", "val")
    assert [len(train), len(val)] == [2, 2] and val.ids == ["000002", "000003"]
    for frame in list(train) + list(val):
        assert frame.points.dtype == np.float32 and frame.points.shape[1] == 4
        assert frame.image_size == (1242, 375)
        assert len(frame.labels) > 0 and frame.labels.score is None
        real = [n for n in frame.labels.name if n != "DontCare"]
        assert set(real) <= {"Car", "Van", "Pedestrian", "Cyclist"}
        assert (frame.labels.bbox[:, 2] > frame.labels.bbox[:, 0]).all()
        assert ((frame.labels.truncated >= -1) & (frame.labels.truncated <= 1)).all()
        results = read_label(tmp_path / "k" / "results" / f"{frame.frame_id}.txt")
        assert results.score is not None or len(results) == 0


def test_same_seed_same_files_and_scene_independent_of_count(tmp_path):
    write_synthetic_kitti(tmp_path / "a", 2, seed=7, lidar=SMALL)
    write_synthetic_kitti(tmp_path / "b", 3, seed=7, lidar=SMALL)
    write_synthetic_kitti(tmp_path / "c", 2, seed=8, lidar=SMALL)
    for sub in ("velodyne/000001.bin", "label_2/000001.txt", "calib/000000.txt"):
        assert (tmp_path / "a/training" / sub).read_bytes() == (tmp_path / "b/training" / sub).read_bytes()
    assert (tmp_path / "a/training/label_2/000001.txt").read_bytes() != \
        (tmp_path / "c/training/label_2/000001.txt").read_bytes()


def _car(x, y, heading=0.0, length=4.0, width=1.7, height=1.5):
    return [x, y, -1.73 + height / 2, length, width, height, heading]


def test_nearer_objects_hide_farther_ones():
    rng = np.random.default_rng(0)
    boxes = np.array([_car(10, 0), _car(20, 0), _car(20, -6)])
    scene = scene_from_boxes(boxes, ["Car", "Car", "Car"], rng, kitti_like_calibration())
    labels = scene.labels
    assert labels.name == ["Car", "Car", "Car"]
    # the car right behind the first is mostly hidden; the one beside it is in full view
    assert labels.occluded.tolist() == [0, 2, 0]
    hidden, open_view = _points_in(scene.points, boxes[1]), _points_in(scene.points, boxes[2])
    assert hidden < open_view / 4 and _points_in(scene.points, boxes[0]) > open_view
    # no ground point in the first car's shadow, right behind it
    shadow = ((scene.points[:, 0] > 12.5) & (scene.points[:, 0] < 17) & (np.abs(scene.points[:, 1]) < 0.3))
    assert shadow.sum() == 0
    # 2D boxes: the nearer car is taller in the image (easy), all are untruncated
    height = labels.bbox[:, 3] - labels.bbox[:, 1]
    assert height[0] > 2 * height[1] * 0.9 and (labels.truncated == 0).all()


def test_truncation_at_the_image_border_and_objects_out_of_view():
    rng = np.random.default_rng(1)
    # left of the camera at the edge of its 80-degree view; behind the sensor; unseen far away
    boxes = np.array([_car(6, 5.0), _car(-15, 0), _car(30, 0), _car(40, 0, length=3.0, height=1.3)])
    scene = scene_from_boxes(boxes, ["Car", "Car", "Pedestrian", "Car"], rng, kitti_like_calibration(), SMALL)
    labels = scene.labels
    assert labels.name[:2] == ["Car", "Pedestrian"]  # the car behind is not labelled
    assert 0.05 < labels.truncated[0] < 0.95
    assert labels.bbox[0, 0] == 0                      # clipped at the left edge
    # a car fully hidden behind the pedestrian... is not: only a DontCare if no ray reaches it
    assert len(labels) == 3 and labels.name[2] in ("Car", "DontCare")


def test_simulated_detections_evaluate_between_0_and_100(tmp_path):
    from axon.detect.kitti_eval import evaluate_folders

    write_synthetic_kitti(tmp_path / "k", 6, seed=0, detections=True, lidar=SMALL)
    report = evaluate_folders(tmp_path / "k" / "training", tmp_path / "k" / "results", classes=("Car",))
    value = report["Car"]["results"][1]["AP40"]["bev"][1]
    assert 0 < value < 100
    rng = np.random.default_rng(0)
    labels = read_label(tmp_path / "k/training/label_2/000000.txt")
    perfect = simulated_detections(labels, rng, miss_rate=0.0, false_positives=0.0)
    assert len(perfect) == sum(n != "DontCare" for n in labels.name)


def test_cli_synth_show_and_evaluate(tmp_path):
    def axon(*args):
        return subprocess.run([sys.executable, "-m", "axon", "detect", *map(str, args)],
                              capture_output=True, text=True, cwd=tmp_path)

    out = axon("synth", tmp_path / "k", "--scenes", "2", "--detections")
    assert out.returncode == 0, out.stderr
    out = axon("show", tmp_path / "k/training/velodyne/000001.bin", "--results", tmp_path / "k/results")
    assert out.returncode == 0, out.stderr
    png = tmp_path / "000001_bev.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = axon("evaluate", tmp_path / "k/training", tmp_path / "k/results", "--json", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    assert "Car AP_R40@0.70, 0.50, 0.50:" in out.stdout and (tmp_path / "r.json").is_file()
    out = axon("synth", tmp_path / "k", "--scenes", "2")
    assert out.returncode == 2 and "exists and is not empty" in out.stderr
    (tmp_path / "short.bin").write_bytes(b"\0" * 20)
    out = axon("show", tmp_path / "short.bin")
    assert out.returncode == 2 and "short.bin: 20 bytes is not a whole number of points" in out.stderr
