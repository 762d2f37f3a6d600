"""Rotated-box geometry, batched, in the style of torchvision's `ops/boxes.py`.

Box formats (named in every docstring):

- **lidar boxes** `(N, 7)`: `x, y, z, dx, dy, dz, heading` -- the centre of the box (z is the
  centre, not the bottom), its sizes along its own x, y, z axes (dx is the length, along the
  heading), and the heading: the angle of the box's x axis from the frame's x axis, counter-
  clockwise seen from above (z up). Any right-handed frame with z up works; KITTI camera boxes
  are converted by `axon.data.kitti.camera_to_lidar_boxes`.
- **BEV boxes** `(N, 5)`: `x, y, dx, dy, heading` -- the lidar box seen from above.
- **image boxes** `(N, 4)`: `x1, y1, x2, y2` in pixels, axis-aligned.

Intersections of rotated rectangles are exact: the intersection polygon's boundary is made of
the parts of each box's edges that lie inside the other (each edge clipped by the other box's
four half-planes), and its area is the boundary integral (Green's theorem) over those parts. All pairs are computed as tensors (float64
inside), in chunks, with no Python loop over pairs.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "bev_corners", "box_corners_3d", "bev_intersection_area",
    "box_iou_bev", "box_iou_3d", "aligned_box_iou_bev", "aligned_box_iou_3d",
    "box_iou_image", "nms_bev", "batched_nms_bev",
    "encode_boxes", "decode_boxes", "sin_difference",
]

_CHUNK = 32768  # pairs per batched intersection (bounded memory: about 70 MB)
_TOUCH = 1e-9  # metres: an edge this close to a boundary line lies on it


def _check_boxes(boxes: Tensor, width: int, name: str) -> None:
    if boxes.dim() != 2 or boxes.shape[1] != width:
        raise ValueError(f"{name}: expected a tensor of shape (N, {width}), got {tuple(boxes.shape)}")


def bev_corners(boxes: Tensor) -> Tensor:
    """Corners `(..., 4, 2)`, counter-clockwise, of BEV boxes `(..., 5)` x, y, dx, dy, heading."""
    x, y, dx, dy, heading = boxes.unbind(-1)
    cos, sin = torch.cos(heading)[..., None], torch.sin(heading)[..., None]
    unit_x = boxes.new_tensor([0.5, -0.5, -0.5, 0.5])
    unit_y = boxes.new_tensor([0.5, 0.5, -0.5, -0.5])
    local_x, local_y = unit_x * dx[..., None], unit_y * dy[..., None]
    corners_x = x[..., None] + local_x * cos - local_y * sin
    corners_y = y[..., None] + local_x * sin + local_y * cos
    return torch.stack([corners_x, corners_y], dim=-1)


def box_corners_3d(boxes: Tensor) -> Tensor:
    """Corners `(N, 8, 3)` of lidar boxes `(N, 7)`: the 4 bottom corners (counter-clockwise from
    above, the first at +dx/2, +dy/2), then the 4 top corners in the same order."""
    _check_boxes(boxes, 7, "box_corners_3d")
    bev = bev_corners(boxes[:, [0, 1, 3, 4, 6]])
    bottom = (boxes[:, 2] - boxes[:, 5] / 2)[:, None, None].expand(-1, 4, 1)
    top = (boxes[:, 2] + boxes[:, 5] / 2)[:, None, None].expand(-1, 4, 1)
    return torch.cat([torch.cat([bev, bottom], -1), torch.cat([bev, top], -1)], dim=1)


def _in_frame(boxes: Tensor, frame: Tensor) -> tuple[Tensor, Tensor]:
    """Corners x, y `(P, 4)` (counter-clockwise) of BEV boxes `(P, 5)` in the local frame of the
    BEV boxes `frame (P, 5)` (origin at its centre, x along its heading)."""
    turn = boxes[:, 4] - frame[:, 4]
    cos_f, sin_f = torch.cos(frame[:, 4]), torch.sin(frame[:, 4])
    off_x, off_y = boxes[:, 0] - frame[:, 0], boxes[:, 1] - frame[:, 1]
    centre_x = (off_x * cos_f + off_y * sin_f)[:, None]
    centre_y = (off_y * cos_f - off_x * sin_f)[:, None]
    local_x = boxes.new_tensor([0.5, -0.5, -0.5, 0.5]) * boxes[:, 2:3]
    local_y = boxes.new_tensor([0.5, 0.5, -0.5, -0.5]) * boxes[:, 3:4]
    cos_t, sin_t = torch.cos(turn)[:, None], torch.sin(turn)[:, None]
    return centre_x + local_x * cos_t - local_y * sin_t, centre_y + local_x * sin_t + local_y * cos_t


def _clip_to_rectangle(x: Tensor, y: Tensor, half_x: Tensor, half_y: Tensor,
                       keep_shared_same_way: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Liang-Barsky clipping of the edges of CCW quadrilaterals with corners `x, y (P, 4)` to the
    rectangles `[-half_x, half_x] x [-half_y, half_y]` (`(P, 1)` each). Returns the parameters
    `t_low, t_high (P, 4)` of the part of each edge inside and whether the part is kept.

    An edge lying on the rectangle's boundary and running the same way (counter-clockwise) is
    kept only if `keep_shared_same_way`, so a boundary shared by two boxes is counted once; one
    running the opposite way is kept (it cancels the other box's edge: boxes that only touch)."""
    edge_x, edge_y = torch.roll(x, -1, dims=1) - x, torch.roll(y, -1, dims=1) - y
    length = torch.hypot(edge_x, edge_y)
    t_low, t_high = torch.zeros_like(x), torch.ones_like(x)
    dropped = torch.zeros_like(x, dtype=torch.bool)
    # x = +half_x is walked towards +y on a CCW rectangle; y = +half_y towards -x
    for start, edge, half, across, way in ((x, edge_x, half_x, edge_y, 1.0), (y, edge_y, half_y, edge_x, -1.0)):
        parallel = edge.abs() <= 1e-10 * length
        safe = torch.where(parallel, torch.ones_like(edge), edge)
        t_a, t_b = (-half - start) / safe, (half - start) / safe
        t_low = torch.maximum(t_low, torch.where(parallel, 0.0, torch.minimum(t_a, t_b)))
        t_high = torch.minimum(t_high, torch.where(parallel, 1.0, torch.maximum(t_a, t_b)))
        dropped |= parallel & (start.abs() > half + _TOUCH)
        if not keep_shared_same_way:
            on_high = (start - half).abs() <= _TOUCH
            on_low = (start + half).abs() <= _TOUCH
            dropped |= parallel & ((on_high & (across * way > 0)) | (on_low & (across * way < 0)))
    return t_low, t_high, (t_high > t_low) & ~dropped


def _edge_terms(x: Tensor, y: Tensor, t_low: Tensor, t_high: Tensor, keep: Tensor) -> Tensor:
    """Sum `(P,)` of cross(first, last) / 2 over the kept edge parts [t_low, t_high]."""
    edge_x, edge_y = torch.roll(x, -1, dims=1) - x, torch.roll(y, -1, dims=1) - y
    x0, y0 = x + t_low * edge_x, y + t_low * edge_y
    x1, y1 = x + t_high * edge_x, y + t_high * edge_y
    return ((x0 * y1 - y0 * x1) * keep).sum(dim=1) / 2


def _intersection_chunk(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Intersection areas `(P,)` of BEV boxes `(P, 5)` (float64), by Green's theorem over the
    parts of each box's edges inside the other, both in the frame of `boxes2`."""
    x1, y1 = _in_frame(boxes1, boxes2)
    x2, y2 = _in_frame(boxes2, boxes1)
    half1, half2 = boxes1[:, 2:4] / 2, boxes2[:, 2:4] / 2
    clip1 = _clip_to_rectangle(x1, y1, half2[:, :1], half2[:, 1:], True)
    clip2 = _clip_to_rectangle(x2, y2, half1[:, :1], half1[:, 1:], False)
    # boxes2's own corners, in its own frame, are its local corners
    own_x = boxes2.new_tensor([0.5, -0.5, -0.5, 0.5]) * boxes2[:, 2:3]
    own_y = boxes2.new_tensor([0.5, 0.5, -0.5, -0.5]) * boxes2[:, 3:4]
    area = _edge_terms(x1, y1, *clip1) + _edge_terms(own_x, own_y, *clip2)
    return area.clamp_min(0)


def bev_intersection_area(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Exact overlap area `(P,)` of BEV boxes `boxes1 (P, 5)` and `boxes2 (P, 5)` (x, y, dx, dy,
    heading), pair by pair; float64 inside, returned in boxes1's dtype."""
    _check_boxes(boxes1, 5, "bev_intersection_area")
    _check_boxes(boxes2, 5, "bev_intersection_area")
    if boxes1.shape[0] != boxes2.shape[0]:
        raise ValueError(f"bev_intersection_area: {boxes1.shape[0]} boxes against {boxes2.shape[0]}; "
                         "pairs need the same count")
    b1, b2 = boxes1.double(), boxes2.double()
    # each pair in a frame centred on its first box: small coordinates, small rounding
    centre = b1[:, :2].clone()
    b1 = torch.cat([b1[:, :2] - centre, b1[:, 2:]], dim=1)
    b2 = torch.cat([b2[:, :2] - centre, b2[:, 2:]], dim=1)
    out = torch.zeros(b1.shape[0], dtype=torch.float64, device=b1.device)
    # only pairs whose circumscribed circles meet can overlap
    reach = (b1[:, 2:4].norm(dim=1) + b2[:, 2:4].norm(dim=1)) / 2
    near = torch.nonzero(b2[:, :2].norm(dim=1) < reach).flatten()
    for chunk in near.split(_CHUNK):
        out[chunk] = _intersection_chunk(b1[chunk], b2[chunk])
    return out.to(boxes1.dtype)


def _aligned_overlaps(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """BEV intersection, BEV areas of lidar boxes `(P, 7)` pair by pair (float64)."""
    bev1, bev2 = boxes1[:, [0, 1, 3, 4, 6]].double(), boxes2[:, [0, 1, 3, 4, 6]].double()
    inter = bev_intersection_area(bev1, bev2)
    return inter, bev1[:, 2] * bev1[:, 3], bev2[:, 2] * bev2[:, 3]


def _safe_ratio(inter: Tensor, union: Tensor) -> Tensor:
    return torch.where(union > 0, inter / union.clamp_min(torch.finfo(union.dtype).tiny), 0.0)


def aligned_box_iou_bev(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Bird's-eye-view IoU `(P,)` of lidar boxes `boxes1 (P, 7)` and `boxes2 (P, 7)`, pair by pair."""
    _check_boxes(boxes1, 7, "aligned_box_iou_bev")
    _check_boxes(boxes2, 7, "aligned_box_iou_bev")
    inter, area1, area2 = _aligned_overlaps(boxes1, boxes2)
    return _safe_ratio(inter, area1 + area2 - inter).to(boxes1.dtype)


def aligned_box_iou_3d(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """3D IoU `(P,)` of lidar boxes `boxes1 (P, 7)` and `boxes2 (P, 7)`, pair by pair: BEV overlap
    times height overlap, over the union of the volumes."""
    _check_boxes(boxes1, 7, "aligned_box_iou_3d")
    _check_boxes(boxes2, 7, "aligned_box_iou_3d")
    inter, area1, area2 = _aligned_overlaps(boxes1, boxes2)
    b1, b2 = boxes1.double(), boxes2.double()
    top = torch.minimum(b1[:, 2] + b1[:, 5] / 2, b2[:, 2] + b2[:, 5] / 2)
    bottom = torch.maximum(b1[:, 2] - b1[:, 5] / 2, b2[:, 2] - b2[:, 5] / 2)
    inter = inter * (top - bottom).clamp_min(0)
    union = area1 * b1[:, 5] + area2 * b2[:, 5] - inter
    return _safe_ratio(inter, union).to(boxes1.dtype)


def _pairwise(fn, boxes1: Tensor, boxes2: Tensor, name: str) -> Tensor:
    _check_boxes(boxes1, 7, name)
    _check_boxes(boxes2, 7, name)
    n, m = boxes1.shape[0], boxes2.shape[0]
    rows = boxes1[:, None, :].expand(n, m, 7).reshape(-1, 7)
    cols = boxes2[None, :, :].expand(n, m, 7).reshape(-1, 7)
    return fn(rows, cols).reshape(n, m)


def box_iou_bev(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Bird's-eye-view IoU `(N, M)` of every lidar box in `boxes1 (N, 7)` with every one in
    `boxes2 (M, 7)` (x, y, z, dx, dy, dz, heading)."""
    return _pairwise(aligned_box_iou_bev, boxes1, boxes2, "box_iou_bev")


def box_iou_3d(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """3D IoU `(N, M)` of every lidar box in `boxes1 (N, 7)` with every one in `boxes2 (M, 7)`."""
    return _pairwise(aligned_box_iou_3d, boxes1, boxes2, "box_iou_3d")


def box_iou_image(boxes1: Tensor, boxes2: Tensor, criterion: str = "union") -> Tensor:
    """Overlap `(N, M)` of axis-aligned image boxes `boxes1 (N, 4)` and `boxes2 (M, 4)` (x1, y1,
    x2, y2): intersection over the union (`criterion="union"`, the IoU) or over the area of the
    box from `boxes1` (`criterion="first"`, KITTI's overlap with DontCare regions)."""
    _check_boxes(boxes1, 4, "box_iou_image")
    _check_boxes(boxes2, 4, "box_iou_image")
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    size = (bottom_right - top_left).clamp_min(0)
    inter = size[..., 0] * size[..., 1]
    area1 = ((boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1]))[:, None]
    if criterion == "union":
        area2 = ((boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1]))[None, :]
        return _safe_ratio(inter, area1 + area2 - inter)
    if criterion == "first":
        return _safe_ratio(inter, area1.expand_as(inter))
    raise ValueError(f"box_iou_image: criterion {criterion!r}; expected 'union' or 'first'")


def nms_bev(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Rotated non-maximum suppression in bird's-eye view. `boxes (N, 7)` lidar boxes, `scores
    (N,)`. Returns the indices `(K,)` (int64) of the boxes kept, by decreasing score: a box is
    dropped when its BEV IoU with a kept, higher-scoring box exceeds `iou_threshold`."""
    _check_boxes(boxes, 7, "nms_bev")
    if scores.shape != (boxes.shape[0],):
        raise ValueError(f"nms_bev: scores of shape {tuple(scores.shape)}; expected ({boxes.shape[0]},)")
    order = scores.argsort(descending=True, stable=True)
    ranked = boxes[order]
    n = ranked.shape[0]
    # IoU only for pairs whose circumscribed circles meet; the rest cannot overlap
    reach = ranked[:, 3:5].double().norm(dim=1) / 2
    distance = torch.cdist(ranked[:, :2].double(), ranked[:, :2].double())
    first, second = torch.nonzero(torch.triu(distance < reach[:, None] + reach[None, :], 1), as_tuple=True)
    iou = aligned_box_iou_bev(ranked[first], ranked[second])
    hit = iou > iou_threshold
    suppressors = [[] for _ in range(n)]
    for a, b in zip(first[hit].tolist(), second[hit].tolist()):
        suppressors[b].append(a)
    kept = []
    for i in range(n):
        kept.append(not any(kept[j] for j in suppressors[i]))
    return order[torch.tensor(kept, dtype=torch.bool, device=order.device)]


def batched_nms_bev(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float) -> Tensor:
    """`nms_bev` within each class: boxes with different `labels (N,)` never suppress each other.
    Returns the indices `(K,)` kept, by decreasing score."""
    keep = [torch.nonzero(labels == label).flatten() for label in labels.unique()]
    keep = [idx[nms_bev(boxes[idx], scores[idx], iou_threshold)] for idx in keep]
    keep = torch.cat(keep) if keep else labels.new_zeros(0, dtype=torch.int64)
    return keep[scores[keep].argsort(descending=True, stable=True)]


def encode_boxes(boxes: Tensor, anchors: Tensor) -> Tensor:
    """SECOND/PointPillars residual targets `(N, 7)` of lidar boxes `(N, 7)` against anchors
    `(N, 7)`: x and y offsets over the anchor's BEV diagonal, z over its height, log size ratios,
    and the heading difference."""
    _check_boxes(boxes, 7, "encode_boxes")
    _check_boxes(anchors, 7, "encode_boxes")
    diagonal = anchors[:, 3:5].norm(dim=1)
    return torch.stack([
        (boxes[:, 0] - anchors[:, 0]) / diagonal,
        (boxes[:, 1] - anchors[:, 1]) / diagonal,
        (boxes[:, 2] - anchors[:, 2]) / anchors[:, 5],
        *torch.log(boxes[:, 3:6] / anchors[:, 3:6]).unbind(1),
        boxes[:, 6] - anchors[:, 6],
    ], dim=1)


def decode_boxes(deltas: Tensor, anchors: Tensor) -> Tensor:
    """Lidar boxes `(N, 7)` from residuals `(N, 7)` against anchors `(N, 7)`; inverts
    `encode_boxes`."""
    _check_boxes(deltas, 7, "decode_boxes")
    _check_boxes(anchors, 7, "decode_boxes")
    diagonal = anchors[:, 3:5].norm(dim=1)
    return torch.cat([
        (deltas[:, 0] * diagonal + anchors[:, 0])[:, None],
        (deltas[:, 1] * diagonal + anchors[:, 1])[:, None],
        (deltas[:, 2] * anchors[:, 5] + anchors[:, 2])[:, None],
        torch.exp(deltas[:, 3:6]) * anchors[:, 3:6],
        (deltas[:, 6] + anchors[:, 6])[:, None],
    ], dim=1)


def sin_difference(pred_heading: Tensor, target_heading: Tensor) -> tuple[Tensor, Tensor]:
    """SECOND's sine heading error: `(sin a cos b, cos a sin b)` for predicted `a` and target `b`
    (any matching shapes), so that a smooth-L1 between the two is a loss on `sin(a - b)`, blind to
    a 180-degree flip (the direction classifier settles that)."""
    return (torch.sin(pred_heading) * torch.cos(target_heading),
            torch.cos(pred_heading) * torch.sin(target_heading))
