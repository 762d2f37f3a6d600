"""The PointPillars training and inference parts of axon.detect: anchors, target assignment,
the loss, decoding with the direction classifier, KITTI result rows, and the data set."""

import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from axon import zoo
from axon.data.kitti import KittiCalibration, KittiFrame, KittiLabels, camera_to_lidar_boxes, lidar_to_camera_boxes
from axon.detect.anchors import anchor_classes, make_anchors
from axon.detect.boxes import encode_boxes
from axon.detect.dataset import DetectionAugment, PillarDetectionData, augment_scene, collate
from axon.detect.loss import DetectionLoss
from axon.detect.postprocess import decode_detections, heading_from_direction
from axon.detect.results import detections_to_kitti
from axon.detect.targets import assign_targets, direction_bins

CONFIG = {"sizes": [[3.9, 1.6, 1.56], [0.8, 0.6, 1.73]], "bottoms": [-1.78, -0.6], "rotations": [0.0, math.pi / 2]}
CALIB = KittiCalibration(
    P2=np.array([[721.5, 0, 609.6, 44.9], [0, 721.5, 172.9, 0.2], [0, 0, 1, 0.003]]),
    R0_rect=np.eye(3), Tr_velo_to_cam=np.array([[0.0, -1, 0, 0], [0, 0, -1, -0.08], [1, 0, 0, -0.27]]))
SMALL = dict(point_range=(0.0, -5.12, -3.0, 10.24, 5.12, 1.0), pillar_size=(0.32, 0.32, 4.0),
             max_pillars=(300, 600), layer_nums=(1, 1, 1), num_filters=(8, 16, 32), upsample_filters=(8, 8, 8),
             pfn_channels=8, classes=("Car", "Pedestrian"), anchor_sizes=CONFIG["sizes"],
             anchor_bottoms=CONFIG["bottoms"])


def test_anchors_cover_the_range_class_major():
    anchors = make_anchors((3, 5), (0, -4, -3, 8, 4, 1), CONFIG)
    assert anchors.shape == (3, 5, 4, 7)
    torch.testing.assert_close(anchors[0, 0, 0, :2], torch.tensor([0.0, -4.0]))
    torch.testing.assert_close(anchors[2, 4, 0, :2], torch.tensor([8.0, 4.0]))
    torch.testing.assert_close(anchors[1, 2, 3], torch.tensor([4.0, 0.0, -0.6 + 1.73 / 2, 0.8, 0.6, 1.73, math.pi / 2]))
    assert anchor_classes(CONFIG).tolist() == [0, 0, 1, 1]
    centred = make_anchors((2, 2), (0, 0, -3, 4, 4, 1), CONFIG, align_center=True)
    torch.testing.assert_close(centred[:, :, 0, :2].reshape(-1, 2), torch.tensor([[1.0, 1], [3, 1], [1, 3], [3, 3]]))


def test_direction_bins_and_decoding_recover_the_heading():
    heading = torch.linspace(-7, 7, 301)
    within_pi = heading + math.pi * torch.randint(0, 2, heading.shape)       # the box regression's ambiguity
    recovered = heading_from_direction(within_pi, direction_bins(heading))
    torch.testing.assert_close(torch.remainder(recovered - heading + math.pi, 2 * math.pi) - math.pi,
                               torch.zeros_like(heading), atol=1e-5, rtol=0)


def test_assignment_by_class_with_thresholds_and_forced_matches():
    anchors = make_anchors((3, 5), (0, -4, -3, 8, 4, 1), CONFIG).reshape(-1, 7)
    classes = anchor_classes(CONFIG).repeat(15)
    exact = anchors[4 * 7].clone()                                            # a car anchor at (4, 0)
    shifted = anchors[4 * 7 + 2].clone()                                      # a pedestrian: IoU 0.26 with its best anchor
    shifted[:2] += torch.tensor([0.3, 0.2])
    targets = assign_targets(anchors, classes, torch.stack([exact, shifted]), torch.tensor([0, 1]),
                             matched=(0.6, 0.5), unmatched=(0.45, 0.35))
    assert targets.labels[4 * 7] == 1
    torch.testing.assert_close(targets.boxes[4 * 7], torch.zeros(7))
    assert targets.directions[4 * 7] == direction_bins(torch.tensor(0.0))
    rotated_car = 4 * 7 + 1                                                   # same place, 90 degrees: IoU 0.41 < 0.45
    assert targets.labels[rotated_car] == 0
    ped = torch.nonzero(targets.labels == 2).flatten()
    assert len(ped) >= 1 and (classes[ped] == 1).all()                        # forced: best anchor of the pedestrian
    torch.testing.assert_close(targets.boxes[ped[0]], encode_boxes(shifted[None], anchors[ped[0]][None])[0])
    assert ((targets.labels == 1) | (targets.labels == 0) | (classes == 1)).all()


def test_assignment_ignores_the_band_between_thresholds():
    anchors = make_anchors((1, 1), (0, 0, -3, 0, 0, 1), {**CONFIG, "sizes": CONFIG["sizes"][:1],
                                                          "bottoms": [-1.78], "rotations": [0.0]}).reshape(-1, 7)
    gt = anchors.clone()
    gt[0, 0] += 3.9 * 0.3                                                     # IoU 0.7 / 1.3 = 0.538 with the anchor
    second = torch.tensor([[20.0, 20, 0, 3.9, 1.6, 1.56, 0]])
    targets = assign_targets(torch.cat([anchors, second]), torch.tensor([0, 0]), gt, torch.tensor([0]),
                             matched=(0.6,), unmatched=(0.45,))
    assert targets.labels.tolist() == [1, 0]                                  # forced (best anchor), far one negative
    gt2 = torch.cat([gt, torch.tensor([[20.0, 20, 0, 3.9, 1.6, 1.56, 0]]) + torch.tensor([[3.9 * 0.3, 0, 0, 0, 0, 0, 0]])])
    targets = assign_targets(torch.cat([anchors, second, anchors + 0.01]), torch.tensor([0, 0, 0]), gt2,
                             torch.tensor([0, 0]), matched=(0.6,), unmatched=(0.45,))
    assert targets.labels[2] == -1                                            # 0.54: between 0.45 and 0.6, not best


def test_loss_parts_against_direct_formulas():
    torch.manual_seed(0)
    cls, box, direction = torch.randn(2, 6, 3), torch.randn(2, 6, 7), torch.randn(2, 6, 2)
    labels = torch.tensor([[0, 1, -1, 3, 0, 0], [2, 0, 0, 0, -1, 0]])
    targets = {"labels": labels, "boxes": torch.randn(2, 6, 7), "directions": torch.randint(0, 2, (2, 6))}
    loss_fn = DetectionLoss()
    total = loss_fn((cls, box, direction), targets)

    flat, lab = cls.reshape(-1, 3), labels.reshape(-1)
    positives = (lab > 0).sum()
    focal = 0.0
    for i in range(len(lab)):
        if lab[i] < 0:
            continue
        for k in range(3):
            y = float(lab[i] == k + 1)
            p = torch.sigmoid(flat[i, k])
            p_t = p if y else 1 - p
            focal += -(0.25 if y else 0.75) * (1 - p_t) ** 2 * torch.log(p_t)
    torch.testing.assert_close(torch.tensor(loss_fn.parts["cls"]), focal / positives, rtol=1e-5, atol=0)

    pos = lab > 0
    pred, goal = box.reshape(-1, 7)[pos], targets["boxes"].reshape(-1, 7)[pos]
    diff = torch.cat([pred[:, :6] - goal[:, :6], torch.sin(pred[:, 6:] - goal[:, 6:])], dim=1).abs()
    smooth = torch.where(diff < 1 / 9, 0.5 * diff ** 2 * 9, diff - 0.5 / 9).sum() / positives
    torch.testing.assert_close(torch.tensor(loss_fn.parts["box"]), smooth, rtol=1e-5, atol=1e-6)
    ce = torch.nn.functional.cross_entropy(direction.reshape(-1, 2)[pos], targets["directions"].reshape(-1)[pos])
    torch.testing.assert_close(torch.tensor(loss_fn.parts["dir"]), ce, rtol=1e-5, atol=0)
    torch.testing.assert_close(total, focal / positives + 2 * smooth + 0.2 * ce, rtol=1e-5, atol=1e-6)


def test_decoding_recovers_encoded_boxes():
    anchors = make_anchors((4, 6), (0, -4, -3, 10, 4, 1), CONFIG)
    flat = anchors.reshape(-1, 7)
    gt = torch.tensor([[3.0, 1.0, -1.0, 4.2, 1.7, 1.5, 2.8], [7.5, -2.0, -0.9, 0.7, 0.6, 1.8, -0.4]])
    picks = torch.tensor([5, 50])
    cls = torch.full((1, *anchors.shape[:3], 2), -8.0)
    box = torch.zeros((1, *anchors.shape[:3], 7))
    direction = torch.zeros((1, *anchors.shape[:3], 2))
    for n, (pick, label) in enumerate(zip(picks, (0, 1))):
        index = np.unravel_index(int(pick), anchors.shape[:3])
        cls[(0, *index, label)] = 4.0 - n
        box[(0, *index)] = encode_boxes(gt[n:n + 1], flat[pick:pick + 1])[0]
        direction[(0, *index, int(direction_bins(gt[n, 6])))] = 3.0
    found = decode_detections((cls, box, direction), anchors)[0]
    assert found.labels.tolist() == [0, 1]
    torch.testing.assert_close(found.boxes[:, :6], gt[:, :6], atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.remainder(found.boxes[:, 6] - gt[:, 6] + 1, 2 * math.pi) - 1,
                               torch.zeros(2), atol=1e-4, rtol=0)


def kitti_frame(seed: int = 0) -> KittiFrame:
    """A frame with one car and one pedestrian and points on and around them."""
    labels = KittiLabels(name=["Car", "Pedestrian", "DontCare"], truncated=np.zeros(3),
                         occluded=np.zeros(3, dtype=np.int64), alpha=np.zeros(3),
                         bbox=np.array([[500, 150, 600, 220], [700, 160, 720, 210], [0, 0, 10, 10.0]]),
                         dimensions=np.array([[1.5, 1.6, 3.9], [1.7, 0.6, 0.8], [-1, -1, -1]]),
                         location=np.array([[1.0, 1.65, 6.0], [-2.0, 1.65, 4.0], [-1000, -1000, -1000]]),
                         rotation_y=np.array([0.3, -1.2, -10]))
    boxes = camera_to_lidar_boxes(labels.select([0, 1]), CALIB)
    rng = np.random.default_rng(seed)
    points = [rng.uniform([0, -5, -1.8, 0], [10, 5, -1.6, 1], (600, 4))]
    for b in boxes:
        points.append(np.column_stack([rng.normal(b[:3], b[3:6] / 4, (80, 3)), rng.uniform(0, 1, 80)]))
    return KittiFrame("000000", np.concatenate(points).astype(np.float32), labels, CALIB, (1242, 375))


def test_detections_become_kitti_rows_that_map_back():
    frame = kitti_frame()
    boxes = torch.from_numpy(camera_to_lidar_boxes(frame.labels.select([0, 1]), CALIB)).float()
    from axon.detect.postprocess import Detections
    rows = detections_to_kitti(Detections(boxes, torch.tensor([0.9, 0.4]), torch.tensor([0, 1])),
                               ("Car", "Pedestrian"), CALIB, (1242, 375))
    assert rows.name == ["Car", "Pedestrian"] and rows.score.tolist() == pytest.approx([0.9, 0.4])
    np.testing.assert_allclose(rows.location, frame.labels.location[:2], atol=1e-5)
    np.testing.assert_allclose(rows.dimensions, frame.labels.dimensions[:2], atol=1e-5)
    np.testing.assert_allclose(rows.rotation_y, frame.labels.rotation_y[:2], atol=1e-5)
    assert (rows.bbox[:, 2] > rows.bbox[:, 0]).all() and (rows.bbox[:, 2] <= 1241).all()
    location, _, rotation = lidar_to_camera_boxes(boxes.double().numpy(), CALIB)
    np.testing.assert_allclose(rows.alpha, -np.arctan2(-boxes[:, 1].numpy(), boxes[:, 0].numpy()) + rotation, atol=1e-5)


def test_augmentation_moves_points_and_boxes_together():
    frame = kitti_frame()
    boxes = torch.from_numpy(camera_to_lidar_boxes(frame.labels.select([0]), CALIB)).float()
    corner = torch.tensor([[*(boxes[0, :2] + 0.5 * boxes[0, 3] * torch.stack([torch.cos(boxes[0, 6]), torch.sin(boxes[0, 6])])), boxes[0, 2], 0.5]])
    g = torch.Generator().manual_seed(5)
    moved_points, moved_boxes = augment_scene(corner, boxes, DetectionAugment(flip=1.0), g)
    b = moved_boxes[0]
    expected = b[:2] + 0.5 * b[3] * torch.stack([torch.cos(b[6]), torch.sin(b[6])])
    torch.testing.assert_close(moved_points[0, :2], expected, atol=1e-5, rtol=0)


def test_dataset_samples_are_seeded_by_epoch_and_index_and_batch():
    model = zoo.create("pointpillars", **SMALL)
    data = PillarDetectionData([kitti_frame(0), kitti_frame(1)], model, matched=(0.6, 0.5), unmatched=(0.45, 0.35),
                               augment=DetectionAugment())
    first, again = data[1], data[1]
    assert all(torch.equal(a, b) for a, b in zip(first[0], again[0]))
    data.set_epoch(1)
    assert not torch.equal(data[1][0][0], first[0][0])
    (pillars, num_points, coords), targets = collate([data[0], data[1]])
    assert pillars.shape[0] == 2 and targets["labels"].shape == (2, *model.feature_size, 4)
    assert (targets["labels"] == 1).any() and (targets["labels"] == 2).any()
    loader = DataLoader(data, batch_size=2, collate_fn=collate, num_workers=2)
    from_workers = next(iter(loader))
    assert torch.equal(from_workers[0][0], pillars)
    cls, box, direction = model(pillars, num_points, coords)
    loss = DetectionLoss()((cls, box, direction), targets)
    loss.backward()
    assert torch.isfinite(loss) and model.head.cls.weight.grad is not None
