"""Ground-truth database sampling: points in rotated boxes (against shapely), the database, the
pasting rules (counts, no collisions, the frame's points inside a pasted box removed), the
`data.augment` block of a detection run, and pasted objects in the training targets."""

import pytest
import shapely
import torch

from axon import zoo
from axon.data.kitti import KittiObjects
from axon.data.kitti_synth import write_synthetic_kitti
from axon.detect.boxes import bev_corners, box_iou_bev
from axon.detect.dataset import DetectionAugment, PillarDetectionData, detection_augment
from axon.detect.gt_sampling import GroundTruthDatabase, points_in_boxes
from axon.errors import ConfigError
from axon.run.config import validate_config


def box(x, y, heading=0.0, length=4.0, width=2.0):
    return torch.tensor([x, y, 0.0, length, width, 1.5, heading])


def test_points_in_rotated_boxes_match_shapely():
    g = torch.Generator().manual_seed(0)
    boxes = torch.cat([torch.rand(6, 2, generator=g) * 10, torch.rand(6, 1, generator=g),
                       1 + 3 * torch.rand(6, 3, generator=g), 6.3 * torch.rand(6, 1, generator=g)], 1).double()
    points = torch.cat([torch.rand(3000, 2, generator=g) * 12 - 1, torch.rand(3000, 1, generator=g) * 4 - 2,
                        torch.rand(3000, 1, generator=g)], 1).double()
    inside = points_in_boxes(points, boxes)
    for k, corners in enumerate(bev_corners(boxes[:, [0, 1, 3, 4, 6]])):
        polygon = shapely.Polygon(corners.numpy())
        in_bev = shapely.contains_xy(polygon, points[:, 0].numpy(), points[:, 1].numpy())
        in_z = ((points[:, 2] - boxes[k, 2]).abs() <= boxes[k, 5] / 2).numpy()
        assert (inside[:, k].numpy() == (in_bev & in_z)).all()


def test_database_keeps_objects_with_enough_points():
    points = torch.tensor([[0.1 * i, 0.0, 0.0, 1.0] for i in range(6)] + [[20.0, 0.0, 0.0, 1.0]] * 2)
    frame = (points, torch.stack([box(0.25, 0), box(20, 0)]), torch.tensor([0, 1]))
    database = GroundTruthDatabase.from_frames([frame], min_points=5)
    assert len(database) == 1 and database.classes.tolist() == [0] and len(database.points[0]) == 6
    assert database.count(1) == 0


def test_paste_fills_each_class_without_collisions_and_clears_the_space():
    far = [(box(10.0 * i, 30.0), torch.tensor([[10.0 * i + 0.5, 30.0, 0.0, 0.7]] * 5)) for i in range(8)]
    database = GroundTruthDatabase(torch.stack([b for b, _ in far]), torch.tensor([0] * 6 + [1] * 2),
                                   [p for _, p in far])
    clash = GroundTruthDatabase(torch.cat([database.boxes, box(0, 30).unsqueeze(0)]),
                                torch.cat([database.classes, torch.tensor([0])]), [*database.points, far[0][1]])
    frame_points = torch.tensor([[20.5, 30.0, 0.0, 0.1], [50.0, 0.0, 0.0, 0.1]])
    frame_boxes, frame_classes = box(50, 0).unsqueeze(0), torch.tensor([0])
    for db in (database, clash):
        points, boxes, classes = db.paste(frame_points, frame_boxes, frame_classes, {0: 4, 1: 1},
                                          torch.Generator().manual_seed(3))
        assert (classes == 0).sum() <= 4 and (classes == 1).sum() == 1
        iou = box_iou_bev(boxes, boxes)
        assert torch.equal(iou > 0, torch.eye(len(boxes), dtype=torch.bool))
        pasted_points = points_in_boxes(points, boxes[1:]).any(dim=1)
        assert pasted_points.sum() == 5 * (len(boxes) - 1)        # only the pasted objects' own points
        assert (points[pasted_points, 3] == 0.7).all()
    points, boxes, classes = database.paste(frame_points, frame_boxes, frame_classes, {0: 4, 1: 1},
                                            torch.Generator().manual_seed(3))
    assert (classes == 0).sum() == 4
    same = database.paste(frame_points, frame_boxes, frame_classes, {0: 4, 1: 1}, torch.Generator().manual_seed(3))
    assert torch.equal(same[1], boxes)
    untouched = database.paste(frame_points, frame_boxes, frame_classes, {0: 1}, torch.Generator())
    assert torch.equal(untouched[0], frame_points) and torch.equal(untouched[1], frame_boxes)


def test_the_detection_augment_block():
    assert detection_augment(None) == DetectionAugment()
    assert detection_augment({"recipe": "none"}) is None
    chosen = detection_augment({"flip": 0, "rotation": 0.5, "scale": [0.9, 1.1], "gt_sampling": {"Car": 15}})
    assert chosen == DetectionAugment(0.0, 0.5, 0.9, 1.1, (("Car", 15),))
    for spec, message in [({"colour": 1}, "data.augment.colour: unknown key"),
                          ({"recipe": "imagenet"}, "data.augment.recipe: unknown recipe 'imagenet'"),
                          ({"recipe": "none", "flip": 0.5}, "recipe none switches augmentation off"),
                          ({"flip": 2}, "data.augment.flip: expected a number in \\[0, 1\\]"),
                          ({"rotation": "a"}, "data.augment.rotation"),
                          ({"scale": [1.1, 0.9]}, "data.augment.scale"),
                          ({"gt_sampling": {"Car": 1e9}}, "data.augment.gt_sampling.Car"),
                          ({"gt_sampling": [15]}, "data.augment.gt_sampling: expected")]:
        with pytest.raises(ConfigError, match=message):
            detection_augment(spec)


def test_the_run_config_checks_augmentation_for_its_task():
    detection = {"task": "detection", "model": {"name": "pointpillars"},
                 "data": {"name": "kitti", "root": "x", "augment": {"gt_sampling": {"Car": 15}}}}
    assert validate_config(detection).data.augment == {"gt_sampling": {"Car": 15}}
    with pytest.raises(ConfigError, match="data.augment.gt_sampling"):
        validate_config({"data": {"name": "digits", "augment": {"gt_sampling": {"Car": 15}}}})
    detection["data"]["augment"] = {"recipe": "imagenet"}
    with pytest.raises(ConfigError, match="unknown recipe 'imagenet' for a detection run"):
        validate_config(detection)


def test_pasted_objects_become_training_targets(tmp_path):
    write_synthetic_kitti(tmp_path, scenes=6, seed=1, val_fraction=0.34)
    model = zoo.create("pointpillars", point_range=(0, -25.6, -3, 51.2, 25.6, 1), pillar_size=(0.32, 0.32, 4),
                       max_pillars=(4000, 4000), layer_nums=(1, 1, 1), num_filters=(8, 8, 8),
                       upsample_filters=(8, 8, 8), pfn_channels=8)
    frames = KittiObjects(tmp_path, "train")
    plain = PillarDetectionData(frames, model, augment=DetectionAugment(flip=0, rotation=0, scale_min=1, scale_max=1))
    sampled = PillarDetectionData(frames, model, augment=DetectionAugment(0, 0, 1, 1, (("Car", 12),)))
    assert sampled.database.count(0) > 0
    def positives(data):
        return sum(int((data[i][1]["labels"] == 1).sum()) for i in range(len(frames)))

    assert positives(sampled) > positives(plain)
    with pytest.raises(ConfigError, match="gt_sampling.Truck: not a class of the model"):
        PillarDetectionData(frames, model, augment=DetectionAugment(gt_sampling=(("Truck", 3),)))
