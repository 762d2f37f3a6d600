"""Rotated-box geometry against shapely (the oracle) and against hand-computed values."""

import math

import numpy as np
import pytest
import shapely
import torch

from axon.detect.boxes import (
    aligned_box_iou_3d, aligned_box_iou_bev, batched_nms_bev, bev_corners, box_corners_3d,
    box_iou_3d, box_iou_bev, box_iou_image, decode_boxes, encode_boxes, nms_bev, sin_difference,
)


def _random_boxes(gen: torch.Generator, n: int, spread: float = 3.0) -> torch.Tensor:
    """Lidar boxes (n, 7) crowded enough that most pairs overlap."""
    centre = (torch.rand(n, 3, generator=gen, dtype=torch.float64) - 0.5) * spread
    size = 0.2 + torch.rand(n, 3, generator=gen, dtype=torch.float64) * 4
    heading = (torch.rand(n, 1, generator=gen, dtype=torch.float64) - 0.5) * 4 * math.pi
    return torch.cat([centre, size, heading], dim=1)


def _shapely_iou_bev(boxes1: torch.Tensor, boxes2: torch.Tensor) -> np.ndarray:
    poly1 = shapely.polygons(bev_corners(boxes1[:, [0, 1, 3, 4, 6]]).numpy())
    poly2 = shapely.polygons(bev_corners(boxes2[:, [0, 1, 3, 4, 6]]).numpy())
    inter = shapely.area(shapely.intersection(poly1, poly2))
    return inter / (shapely.area(poly1) + shapely.area(poly2) - inter), inter


def _shapely_iou_3d(boxes1, boxes2):
    _, inter = _shapely_iou_bev(boxes1, boxes2)
    b1, b2 = boxes1.numpy(), boxes2.numpy()
    height = np.clip(np.minimum(b1[:, 2] + b1[:, 5] / 2, b2[:, 2] + b2[:, 5] / 2)
                     - np.maximum(b1[:, 2] - b1[:, 5] / 2, b2[:, 2] - b2[:, 5] / 2), 0, None)
    inter = inter * height
    return inter / (b1[:, 3:6].prod(1) + b2[:, 3:6].prod(1) - inter)


def _special_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """Identical, nested, touching (edge and corner), 90-degree, 180-degree and far pairs."""
    b = lambda *v: list(map(float, v))  # noqa: E731
    pairs = [
        (b(0, 0, 0, 4, 2, 1.5, 0.3), b(0, 0, 0, 4, 2, 1.5, 0.3)),            # identical
        (b(0, 0, 0, 4, 2, 1.5, 0.3), b(0, 0, 0, 4, 2, 1.5, 0.3 + math.pi)),  # identical, flipped
        (b(1, 2, 0, 4, 2, 1.5, 0.0), b(1, 2, 0, 4, 2, 1.5, math.pi / 2)),    # 90 degrees, same centre
        (b(0, 0, 0, 2, 2, 1, 0.0), b(0, 0, 0, 2, 2, 1, math.pi / 2)),        # square vs itself turned
        (b(0, 0, 0, 6, 4, 2, 0.2), b(0.5, 0.3, 0, 1, 0.5, 1, 1.1)),          # nested
        (b(0, 0, 0, 6, 4, 2, 0.0), b(0, 0, 0, 6, 1, 2, math.pi / 2)),        # cross, edges touching
        (b(0, 0, 0, 2, 2, 1, 0.0), b(2, 0, 0, 2, 2, 1, 0.0)),                # touching along an edge
        (b(0, 0, 0, 2, 2, 1, 0.0), b(2, 2, 0, 2, 2, 1, 0.0)),                # touching at a corner
        (b(0, 0, 0, 2, 2, 1, 0.0), b(1 + math.sqrt(2), 0, 0, 2, 2, 1, math.pi / 4)),  # corner on an edge
        (b(0, 0, 0, 2, 2, 1, 0.0), b(1, 0, 0, 2, 2, 1, 0.0)),                # half overlap
        (b(0, 0, 0, 4, 2, 1, 0.0), b(0, 0, 0, 4, 2, 1, math.pi / 4)),        # octagon-like
        (b(0, 0, 0, 2, 2, 1, 0.0), b(50, 0, 0, 2, 2, 1, 0.0)),               # far apart
        (b(0, 0, 0, 2, 2, 1, 0.0), b(0, 0, 2, 2, 2, 1, 0.0)),                # stacked, no 3D overlap
        (b(10.0, -3.0, 0, 3.9, 1.6, 1.5, -1.57), b(10.0, -3.0, 0, 3.9, 1.6, 1.5, 1.5708)),  # near 180
    ]
    return (torch.tensor([p[0] for p in pairs], dtype=torch.float64),
            torch.tensor([p[1] for p in pairs], dtype=torch.float64))


def test_bev_and_3d_iou_match_shapely_on_random_pairs():
    gen = torch.Generator().manual_seed(0)
    boxes1, boxes2 = _random_boxes(gen, 5000), _random_boxes(gen, 5000)
    ours_bev = aligned_box_iou_bev(boxes1, boxes2).numpy()
    ours_3d = aligned_box_iou_3d(boxes1, boxes2).numpy()
    ref_bev, _ = _shapely_iou_bev(boxes1, boxes2)
    assert (ref_bev > 0).mean() > 0.7  # the pairs really overlap
    assert np.abs(ours_bev - ref_bev).max() < 1e-5
    assert np.abs(ours_3d - _shapely_iou_3d(boxes1, boxes2)).max() < 1e-5


def test_float32_input_matches_shapely():
    gen = torch.Generator().manual_seed(1)
    boxes1, boxes2 = _random_boxes(gen, 2000).float(), _random_boxes(gen, 2000).float()
    ours = aligned_box_iou_bev(boxes1, boxes2)
    assert ours.dtype == torch.float32
    ref, _ = _shapely_iou_bev(boxes1.double(), boxes2.double())
    assert np.abs(ours.numpy() - ref).max() < 1e-5


def test_special_cases_match_shapely():
    boxes1, boxes2 = _special_pairs()
    ref_bev, _ = _shapely_iou_bev(boxes1, boxes2)
    both = torch.cat([boxes1, boxes2]), torch.cat([boxes2, boxes1])  # and with the roles swapped
    ours = aligned_box_iou_bev(*both).numpy()
    assert np.abs(ours - np.concatenate([ref_bev, ref_bev])).max() < 1e-5
    ours_3d = aligned_box_iou_3d(boxes1, boxes2).numpy()
    assert np.abs(ours_3d - _shapely_iou_3d(boxes1, boxes2)).max() < 1e-5
    # the values shapely and hand agree on
    assert ours[0] == pytest.approx(1.0, abs=1e-12) and ours[1] == pytest.approx(1.0, abs=1e-12)
    assert ours[2] == pytest.approx(4 / 12)      # 2x2 common square over 8 + 8 - 4
    assert ours[3] == pytest.approx(1.0)
    assert ours[4] == pytest.approx(0.5 / 24)    # nested: small area over big area
    assert ours[6] == 0 and ours[7] == 0 and ours[11] == 0
    assert ours[9] == pytest.approx(2 / 6)
    assert ours_3d[12] == 0


def test_pairwise_matches_aligned_and_is_symmetric():
    gen = torch.Generator().manual_seed(2)
    a, b = _random_boxes(gen, 30, spread=8), _random_boxes(gen, 20, spread=8)
    matrix = box_iou_bev(a, b)
    assert matrix.shape == (30, 20)
    rows, cols = torch.meshgrid(torch.arange(30), torch.arange(20), indexing="ij")
    flat = aligned_box_iou_bev(a[rows.flatten()], b[cols.flatten()]).reshape(30, 20)
    torch.testing.assert_close(matrix, flat)
    torch.testing.assert_close(box_iou_3d(a, b), box_iou_3d(b, a).T)
    assert ((matrix >= 0) & (matrix <= 1 + 1e-12)).all()


def test_iou_is_invariant_to_a_shared_rigid_motion():
    gen = torch.Generator().manual_seed(3)
    a, b = _random_boxes(gen, 500), _random_boxes(gen, 500)
    angle, shift = 0.7, torch.tensor([100.0, -40.0], dtype=torch.float64)
    rot = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]],
                       dtype=torch.float64)

    def move(boxes):
        out = boxes.clone()
        out[:, :2] = boxes[:, :2] @ rot.T + shift
        out[:, 6] = boxes[:, 6] + angle
        return out

    torch.testing.assert_close(aligned_box_iou_3d(move(a), move(b)), aligned_box_iou_3d(a, b),
                               atol=1e-9, rtol=0)


def test_corners_3d_cover_the_box():
    box = torch.tensor([[1.0, 2.0, 0.5, 4.0, 2.0, 1.0, math.pi / 2]])
    corners = box_corners_3d(box)[0]
    assert corners.shape == (8, 3)
    torch.testing.assert_close(corners.mean(0), box[0, :3])
    torch.testing.assert_close(corners[0], torch.tensor([0.0, 4.0, 0.0]))  # +dx/2 along the heading (y)
    assert corners[:4, 2].eq(0.0).all() and corners[4:, 2].eq(1.0).all()


def test_image_iou_by_hand():
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    b = torch.tensor([[5.0, 0.0, 15.0, 10.0], [20.0, 20.0, 30.0, 30.0], [0.0, 0.0, 10.0, 10.0]])
    torch.testing.assert_close(box_iou_image(a, b), torch.tensor([[50 / 150, 0.0, 1.0]]))
    torch.testing.assert_close(box_iou_image(a, b, criterion="first"), torch.tensor([[0.5, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="criterion"):
        box_iou_image(a, b, criterion="min")


def test_nms_keeps_the_best_of_each_overlapping_group():
    boxes = torch.tensor([
        [0.0, 0.0, 0, 4, 2, 1.5, 0.0],
        [0.2, 0.0, 0, 4, 2, 1.5, 0.05],   # IoU ~0.9 with box 0
        [10.0, 0.0, 0, 4, 2, 1.5, 0.0],
        [0.0, 0.0, 0, 4, 2, 1.5, math.pi / 2],  # IoU 1/3 with box 0
    ])
    scores = torch.tensor([0.9, 0.95, 0.5, 0.8])
    assert nms_bev(boxes, scores, 0.5).tolist() == [1, 3, 2]
    assert nms_bev(boxes, scores, 0.2).tolist() == [1, 2]
    labels = torch.tensor([0, 1, 0, 0])
    assert batched_nms_bev(boxes, scores, labels, 0.5).tolist() == [1, 0, 3, 2]
    assert nms_bev(boxes[:0], scores[:0], 0.5).tolist() == []


def test_nms_matches_a_plain_greedy_loop():
    gen = torch.Generator().manual_seed(4)
    boxes = _random_boxes(gen, 200, spread=12)
    scores = torch.rand(200, generator=gen, dtype=torch.float64)
    iou = box_iou_bev(boxes, boxes).tolist()
    order, kept = scores.argsort(descending=True).tolist(), []
    for i in order:
        if all(iou[i][j] <= 0.3 for j in kept):
            kept.append(i)
    assert nms_bev(boxes, scores, 0.3).tolist() == kept


def test_encode_decode_round_trip_and_values():
    gen = torch.Generator().manual_seed(5)
    anchors, boxes = _random_boxes(gen, 100), _random_boxes(gen, 100)
    torch.testing.assert_close(decode_boxes(encode_boxes(boxes, anchors), anchors), boxes)
    anchor = torch.tensor([[0.0, 0.0, -1.0, 3.9, 1.6, 1.56, 0.0]])
    box = torch.tensor([[0.86, 0.0, -0.22, 3.9 * math.e, 1.6, 1.56, 0.5]])
    # diagonal sqrt(3.9^2 + 1.6^2) = 4.2155; z residual (−0.22 + 1) / 1.56 = 0.5
    expected = torch.tensor([[0.86 / math.hypot(3.9, 1.6), 0.0, 0.5, 1.0, 0.0, 0.0, 0.5]])
    torch.testing.assert_close(encode_boxes(box, anchor), expected)


def test_sin_difference_is_the_sine_of_the_difference():
    a, b = torch.tensor([0.3, 2.0, -1.0]), torch.tensor([0.1, 2.0 + math.pi, 0.5])
    pa, pb = sin_difference(a, b)
    torch.testing.assert_close(pa - pb, torch.sin(a - b))
    assert abs(float(pa[1] - pb[1])) < 1e-6  # a flip by pi costs nothing


def test_bad_shapes_name_the_function():
    with pytest.raises(ValueError, match=r"box_iou_bev.*\(N, 7\)"):
        box_iou_bev(torch.zeros(3, 5), torch.zeros(2, 7))
