"""The KITTI object detection AP evaluation (bbox, BEV, 3D, AOS; easy, moderate, hard; 11-point
and 40-point interpolation), reproducing the official protocol as second.pytorch / OpenPCDet's
`kitti_object_eval_python/eval.py` implements it (the numbers papers report):

- a ground-truth object of the evaluated class counts at a difficulty when its 2D box is taller
  than 40/25/25 pixels, its occlusion at most 0/1/2 and its truncation at most 0.15/0.3/0.5;
  otherwise it is ignored (matching it is neither a hit nor a miss), and so are the neighbouring
  classes (Van for Car, Person_sitting for Pedestrian); other classes are not looked at;
- a detection whose 2D box is lower than the difficulty's minimum height is ignored (matching
  it costs nothing), whatever its class;
- at each recall threshold, each ground-truth object (in file order) takes the unmatched,
  non-ignored detection above the score threshold with the largest overlap above the class's
  minimum (strictly), falling back to an ignored one; a detection left over is a false positive,
  except (bbox metric only) one whose 2D box lies in a DontCare region by more than the minimum
  overlap (intersection over the detection's area);
- the score thresholds are picked from the true positives' scores so that recall steps by 1/40;
  precision is made monotone from the right; AP is the mean precision at recall 0, 0.1, ..., 1
  (11 points) or 1/40, ..., 1 (R40); AOS weighs each true positive by (1 + cos(delta alpha)) / 2
  and is computed when the first detection's alpha is not -10.

All frames are matched at once: frames are padded into tensors and the greedy matching runs one
ground-truth slot at a time over every frame, every score threshold and every
(difficulty, minimum overlap) pair together; overlaps are computed by `axon.detect.boxes` for the
detection/ground-truth pairs of the same frame only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from axon.data.kitti import KittiFormatError, KittiLabels, read_image_set, read_label
from axon.detect.boxes import aligned_box_iou_3d, aligned_box_iou_bev

__all__ = ["evaluate_kitti", "evaluate_folders", "format_table", "KITTI_CLASSES", "DIFFICULTIES", "METRICS"]

DIFFICULTIES = ("easy", "moderate", "hard")
MIN_HEIGHT = (40, 25, 25)
MAX_OCCLUSION = (0, 1, 2)
MAX_TRUNCATION = (0.15, 0.3, 0.5)
METRICS = ("bbox", "bev", "3d")
# per class: the strict and the loose minimum overlaps, each for (bbox, bev, 3d)
MIN_OVERLAPS = {
    "Car": ((0.7, 0.7, 0.7), (0.7, 0.5, 0.5)),
    "Pedestrian": ((0.5, 0.5, 0.5), (0.5, 0.25, 0.25)),
    "Cyclist": ((0.5, 0.5, 0.5), (0.5, 0.25, 0.25)),
    "Van": ((0.7, 0.7, 0.7), (0.7, 0.5, 0.5)),
    "Person_sitting": ((0.5, 0.5, 0.5), (0.5, 0.25, 0.25)),
    "Truck": ((0.7, 0.7, 0.7), (0.5, 0.5, 0.5)),
}
KITTI_CLASSES = tuple(MIN_OVERLAPS)
NEIGHBOUR = {"car": "van", "pedestrian": "person_sitting"}
SAMPLE_POINTS = 41
_CHUNK_FRAMES = 1024


@dataclass
class _Chunk:
    """Frames of one class padded into tensors: R frames, D detections, G ground-truth objects."""

    active: list[int]            # per ground-truth slot g: the number of frames with more than g objects
    score: torch.Tensor          # (R, D)
    ignored_gt: torch.Tensor     # (3, R, G) per difficulty: 0 counted, 1 ignored, -1 not looked at
    ignored_dt: torch.Tensor     # (3, R, D) the same for detections
    overlaps: dict = field(default_factory=dict)   # metric -> (R, D, G)
    dontcare: torch.Tensor | None = None           # (R, D) largest overlap with a DontCare box
    similarity: torch.Tensor | None = None         # (R, D, G) (1 + cos(alpha difference)) / 2


def _eval_boxes(labels: KittiLabels) -> np.ndarray:
    """Camera boxes as boxes `(N, 7)` for axon.detect.boxes: BEV in the camera's (x, z) plane,
    height axis pointing up (a rotation of the camera frame, so overlaps are unchanged)."""
    h, w, l = labels.dimensions.T
    x, y, z = labels.location.T
    return np.stack([x, z, -y + h / 2, l, w, h, -labels.rotation_y], axis=1)


def _ignore_flags(gt: KittiLabels, dt: KittiLabels, cls: str) -> tuple[np.ndarray, np.ndarray]:
    """Per difficulty, the protocol's flags `(3, N_gt)` and `(3, N_dt)`: 0 counted, 1 ignored,
    -1 another class."""
    name = cls.lower()
    gt_names = np.array([n.lower() for n in gt.name])
    dt_names = np.array([n.lower() for n in dt.name])
    gt_class = np.where(gt_names == name, 1, np.where(gt_names == NEIGHBOUR.get(name, "\0"), 0, -1))
    gt_height = gt.bbox[:, 3] - gt.bbox[:, 1]
    dt_height = np.abs(dt.bbox[:, 3] - dt.bbox[:, 1])
    gt_flags, dt_flags = [], []
    for d in range(3):
        hard = ((gt.occluded > MAX_OCCLUSION[d]) | (gt.truncated > MAX_TRUNCATION[d])
                | (gt_height <= MIN_HEIGHT[d]))
        gt_flags.append(np.where((gt_class == 1) & ~hard, 0, np.where(gt_class == -1, -1, 1)))
        dt_flags.append(np.where(dt_height < MIN_HEIGHT[d], 1, np.where(dt_names == name, 0, -1)))
    return np.array(gt_flags).reshape(3, -1), np.array(dt_flags).reshape(3, -1)


def _pad(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape, fill) -> torch.Tensor:
    out = np.full(shape + values.shape[1:], fill, dtype=values.dtype)
    out[rows, cols] = values
    return torch.from_numpy(out)


def _pair_overlaps(dt_boxes: torch.Tensor, gt_boxes: torch.Tensor, exists: torch.Tensor, fn) -> torch.Tensor:
    """`fn` over the (detection, ground truth) pairs of the same frame `exists (R, D, G)`."""
    r, d, g = torch.nonzero(exists, as_tuple=True)
    out = torch.zeros(exists.shape, dtype=torch.float64)
    out[r, d, g] = fn(dt_boxes[r, d], gt_boxes[r, g])
    return out


def _image_overlap(a: torch.Tensor, b: torch.Tensor, over_first: bool = False) -> torch.Tensor:
    """Image-box overlap of pairs `(P, 4)`: IoU, or intersection over the area of `a`."""
    width = (torch.minimum(a[:, 2], b[:, 2]) - torch.maximum(a[:, 0], b[:, 0])).clamp_min(0)
    height = (torch.minimum(a[:, 3], b[:, 3]) - torch.maximum(a[:, 1], b[:, 1])).clamp_min(0)
    inter = width * height
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    union = area_a if over_first else area_a + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return torch.where(inter > 0, inter / union, torch.zeros_like(inter))


def _build_chunks(gt: list[KittiLabels], dt: list[KittiLabels], cls: str, aos: bool, timer: dict) -> list[_Chunk]:
    """The frames padded for class `cls`, with every overlap the evaluation needs."""
    start = time.perf_counter()
    overlap_before = sum(v for k, v in timer.items() if k.startswith("overlaps"))
    frames = len(gt)
    gt_all, dt_all = KittiLabels.concatenate(gt), KittiLabels.concatenate(dt)
    gt_frame = np.repeat(np.arange(frames), [len(x) for x in gt])
    dt_frame = np.repeat(np.arange(frames), [len(x) for x in dt])
    gt_flags, dt_flags = _ignore_flags(gt_all, dt_all, cls)
    gt_keep, dt_keep = np.flatnonzero(gt_flags[0] != -1), np.flatnonzero((dt_flags != -1).any(0))
    dc_keep = np.flatnonzero(np.array([n == "DontCare" for n in gt_all.name], dtype=bool))

    def positions(frame_of):
        counts = np.bincount(frame_of, minlength=frames)
        return counts, np.arange(len(frame_of)) - (np.cumsum(counts) - counts)[frame_of]

    gt_count, gt_pos = positions(gt_frame[gt_keep])
    dt_count, dt_pos = positions(dt_frame[dt_keep])
    dc_count, dc_pos = positions(gt_frame[dc_keep])
    order = np.argsort(-gt_count, kind="stable")      # frames with most objects first
    row_of = np.empty(frames, dtype=np.int64)
    gt_boxes, dt_boxes = _eval_boxes(gt_all), _eval_boxes(dt_all)
    dt_score = dt_all.score if dt_all.score is not None else np.zeros(len(dt_all))
    chunks = []
    for begin in range(0, frames, _CHUNK_FRAMES):
        members = order[begin:begin + _CHUNK_FRAMES]
        row_of[members] = np.arange(len(members))
        in_chunk = np.zeros(frames, dtype=bool)
        in_chunk[members] = True
        g_sel = gt_keep[in_chunk[gt_frame[gt_keep]]]
        d_sel = dt_keep[in_chunk[dt_frame[dt_keep]]]
        c_sel = dc_keep[in_chunk[gt_frame[dc_keep]]]
        g_rows, d_rows, c_rows = row_of[gt_frame[g_sel]], row_of[dt_frame[d_sel]], row_of[gt_frame[c_sel]]
        g_cols = gt_pos[np.searchsorted(gt_keep, g_sel)]
        d_cols = dt_pos[np.searchsorted(dt_keep, d_sel)]
        c_cols = dc_pos[np.searchsorted(dc_keep, c_sel)]
        r = len(members)
        n_g, n_d, n_c = (int(x[members].max(initial=0)) for x in (gt_count, dt_count, dc_count))
        chunk = _Chunk(
            active=[int((gt_count[members] > g).sum()) for g in range(n_g)],
            score=_pad(dt_score[d_sel], d_rows, d_cols, (r, n_d), -np.inf),
            ignored_gt=_pad(gt_flags[:, g_sel].T.copy(), g_rows, g_cols, (r, n_g), -1).permute(2, 0, 1),
            ignored_dt=_pad(dt_flags[:, d_sel].T.copy(), d_rows, d_cols, (r, n_d), -1).permute(2, 0, 1))
        exists = (_pad(np.ones(len(d_sel), bool), d_rows, d_cols, (r, n_d), False)[:, :, None]
                  & _pad(np.ones(len(g_sel), bool), g_rows, g_cols, (r, n_g), False)[:, None, :])
        image_dt = _pad(dt_all.bbox[d_sel], d_rows, d_cols, (r, n_d), 0.0)
        image_gt = _pad(gt_all.bbox[g_sel], g_rows, g_cols, (r, n_g), 0.0)
        box_dt = _pad(dt_boxes[d_sel], d_rows, d_cols, (r, n_d), 0.0)
        box_gt = _pad(gt_boxes[g_sel], g_rows, g_cols, (r, n_g), 0.0)
        for metric, fn, a, b in (("bbox", _image_overlap, image_dt, image_gt),
                                 ("bev", aligned_box_iou_bev, box_dt, box_gt),
                                 ("3d", aligned_box_iou_3d, box_dt, box_gt)):
            tic = time.perf_counter()
            chunk.overlaps[metric] = _pair_overlaps(a, b, exists, fn)
            timer[f"overlaps {metric}"] = timer.get(f"overlaps {metric}", 0.0) + time.perf_counter() - tic
        dc_exists = (_pad(np.ones(len(d_sel), bool), d_rows, d_cols, (r, n_d), False)[:, :, None]
                     & _pad(np.ones(len(c_sel), bool), c_rows, c_cols, (r, n_c), False)[:, None, :])
        image_dc = _pad(gt_all.bbox[c_sel], c_rows, c_cols, (r, n_c), 0.0)
        dc = _pair_overlaps(image_dt, image_dc, dc_exists, lambda a, b: _image_overlap(a, b, over_first=True))
        chunk.dontcare = dc.amax(-1) if n_c else torch.zeros(r, n_d, dtype=torch.float64)
        if aos:
            alpha_dt = _pad(dt_all.alpha[d_sel], d_rows, d_cols, (r, n_d), 0.0)
            alpha_gt = _pad(gt_all.alpha[g_sel], g_rows, g_cols, (r, n_g), 0.0)
            chunk.similarity = (1 + torch.cos(alpha_gt[:, None, :] - alpha_dt[:, :, None])) / 2
        chunks.append(chunk)
    overlap_time = sum(v for k, v in timer.items() if k.startswith("overlaps")) - overlap_before
    timer["packing"] = timer.get("packing", 0.0) + time.perf_counter() - start - overlap_time
    return chunks


def _match(chunk: _Chunk, metric: str, combos: list[tuple[int, float]], thresholds: torch.Tensor | None,
           aos: bool):
    """The protocol's greedy matching for K (difficulty, minimum overlap) combos at once.

    Without thresholds (the pass that finds them): each object takes the highest-scoring
    candidate; returns, per combo, the true positives' scores. With thresholds `(K, T)`: each
    object takes the best-overlapping counted candidate above the threshold; returns the sums
    over frames of true positives, false positives, misses and AOS similarity, `(K, T, 4)`."""
    overlap = chunk.overlaps[metric]
    difficulty = torch.tensor([d for d, _ in combos])
    min_overlap = torch.tensor([m for _, m in combos], dtype=torch.float64)[:, None, None, None]
    ignored_gt, ignored_dt = chunk.ignored_gt[difficulty], chunk.ignored_dt[difficulty]  # (K, R, G/D)
    k, r, d = ignored_dt.shape
    if d == 0:  # no detection in these frames: every counted object is missed
        if thresholds is None:
            return [torch.zeros(0, dtype=torch.float64) for _ in range(k)]
        misses = (ignored_gt == 0).sum((1, 2)).double()[:, None].expand(-1, thresholds.shape[1])
        zeros = torch.zeros_like(misses)
        return torch.stack([zeros, zeros, misses, zeros], -1)
    score = chunk.score[None, :, None, :]                                         # (1, R, 1, D)
    usable = (ignored_dt != -1)[:, :, None, :]
    if thresholds is not None:
        usable = usable & (score >= thresholds[:, None, :, None])
    t = usable.shape[2]
    # detections still free to match, with a last column that takes the writes of unmatched objects
    available = torch.zeros(k, r, t, d + 1, dtype=torch.bool)
    available[..., :d] = usable
    counted_dt, ignored_only = (ignored_dt == 0)[:, :, None, :], (ignored_dt == 1)[:, :, None, :]
    # preference among candidates: counted detections by overlap (2 + overlap), else ignored
    # ones in file order (1 < key <= 2); the first of equals wins, as in the protocol's loop
    order_key = 1 + (d - torch.arange(d, dtype=torch.float64)) / (d + 1)
    tp = torch.zeros(k, r, t, dtype=torch.int64)
    fn = torch.zeros_like(tp)
    similarity = torch.zeros(k, r, t, dtype=torch.float64)
    tp_scores = [[] for _ in range(k)]
    for g, a in enumerate(chunk.active):
        flags = ignored_gt[:, :a, g][..., None]                                   # (K, a, 1)
        column = overlap[:a, :, g][None, :, None, :]                              # (1, a, 1, D)
        candidate = available[:, :a, :, :d] & (column > min_overlap)               # (K, a, T, D)
        if thresholds is None:
            value, det = torch.where(candidate, score[:, :a], -torch.inf).max(-1)
            found = value > -torch.inf
            chose_ignored = ignored_dt[:, :a, None, :].expand(-1, -1, t, -1).gather(-1, det[..., None])[..., 0] == 1
        else:
            preference = torch.where(counted_dt[:, :a], column + 2, torch.where(ignored_only[:, :a], order_key, 0.0))
            value, det = torch.where(candidate, preference, 0.0).max(-1)
            found, chose_ignored = value > 0, value < 2
        found &= flags != -1
        hit = found & (flags == 0) & ~chose_ignored
        fn[:, :a] += ~found & (flags == 0)
        tp[:, :a] += hit
        available[:, :a].scatter_(-1, torch.where(found, det, d)[..., None], False)
        if thresholds is None:
            chosen = score[:, :a].expand(k, -1, t, -1).gather(-1, det[..., None])[..., 0]
            for i in range(k):
                tp_scores[i].append(chosen[i][hit[i]])
        elif aos:
            sim = chunk.similarity[:a, :, g][None, :, None, :].expand(k, -1, t, -1)
            similarity[:, :a] += torch.where(hit, sim.gather(-1, det[..., None])[..., 0], 0.0)
    if thresholds is None:
        return [torch.cat(s) if s else torch.zeros(0, dtype=torch.float64) for s in tp_scores]
    left = available[..., :d] & counted_dt
    fp = left.sum(-1)
    if metric == "bbox":
        fp -= (left & (chunk.dontcare[None, :, None, :] > min_overlap)).sum(-1)
    return torch.stack([tp.sum(1).double(), fp.sum(1).double(), fn.sum(1).double(), similarity.sum(1)], -1)


def _recall_thresholds(scores: np.ndarray, num_gt: int) -> list[float]:
    """The protocol's score thresholds: walking down the true positives' scores, the first score
    reaching each of the 41 recall steps (0, 1/40, ..., 1)."""
    scores = np.sort(scores)[::-1].tolist()
    thresholds, current = [], 0.0
    for i, score in enumerate(scores):
        left = (i + 1) / num_gt
        right = (i + 2) / num_gt if i < len(scores) - 1 else left
        if right - current < current - left and i < len(scores) - 1:
            continue
        thresholds.append(score)
        current += 1 / (SAMPLE_POINTS - 1.0)
    return thresholds


def evaluate_kitti(gt: list[KittiLabels], dt: list[KittiLabels],
                   classes: tuple[str, ...] = ("Car", "Pedestrian", "Cyclist"),
                   timer: dict | None = None) -> dict:
    """KITTI AP of detections `dt` (with scores) against ground truth `gt`, frame by frame.

    Returns `{class: {"num_gt": {difficulty: n}, "results": [one per minimum-overlap set:
    {"min_overlap": {metric: iou}, "AP11": {metric: [easy, moderate, hard]}, "AP40": {...}}]}}`
    with metrics bbox, bev, 3d (and aos when the detections have alphas), AP in percent.
    `timer`, when given, collects the seconds spent per stage."""
    if len(gt) != len(dt):
        raise ValueError(f"evaluate_kitti: {len(gt)} ground-truth frames but {len(dt)} detection frames")
    for cls in classes:
        if cls not in MIN_OVERLAPS:
            raise ValueError(f"evaluate_kitti: class {cls!r}; expected one of {', '.join(KITTI_CLASSES)}")
    for i, frame in enumerate(dt):
        if frame.score is None and len(frame):
            raise ValueError(f"evaluate_kitti: detection frame {i} has no scores (16th column)")
    timer = {} if timer is None else timer
    first = next((frame for frame in dt if len(frame)), None)
    aos = first is not None and first.alpha[0] != -10
    report = {}
    for cls in classes:
        chunks = _build_chunks(gt, dt, cls, aos, timer)
        num_gt = [int(sum(int((c.ignored_gt[d] == 0).sum()) for c in chunks)) for d in range(3)]
        combos = [(d, s) for s in range(2) for d in range(3)]
        entries = [{"min_overlap": dict(zip(METRICS, MIN_OVERLAPS[cls][s])), "AP11": {}, "AP40": {}}
                   for s in range(2)]
        for m, metric in enumerate(METRICS):
            tic = time.perf_counter()
            pairs = [(d, MIN_OVERLAPS[cls][s][m]) for d, s in combos]
            found = [_match(c, metric, pairs, None, False) for c in chunks]
            thresholds = torch.full((len(combos), SAMPLE_POINTS), torch.inf, dtype=torch.float64)
            counts = []
            for i, (d, _) in enumerate(combos):
                scores = torch.cat([f[i] for f in found]).numpy()
                chosen = _recall_thresholds(scores, num_gt[d]) if num_gt[d] else []
                thresholds[i, :len(chosen)] = torch.tensor(chosen, dtype=torch.float64)
                counts.append(len(chosen))
            with_aos = aos and metric == "bbox"
            stats = sum(_match(c, metric, pairs, thresholds, with_aos) for c in chunks)
            timer[f"matching {metric}"] = timer.get(f"matching {metric}", 0.0) + time.perf_counter() - tic
            curves = {"precision": stats[..., 0] / (stats[..., 0] + stats[..., 1])}
            if with_aos:
                curves["aos"] = stats[..., 3] / (stats[..., 0] + stats[..., 1])
            for name, curve in curves.items():
                curve = torch.nan_to_num(curve, nan=0.0)
                for i, n in enumerate(counts):
                    curve[i, n:] = 0.0
                curve = curve.flip(-1).cummax(-1).values.flip(-1)       # max over this and later
                ap11 = (curve[:, ::4].sum(-1) / 11 * 100).tolist()
                ap40 = (curve[:, 1:].sum(-1) / 40 * 100).tolist()
                key = metric if name == "precision" else "aos"
                for i, (d, s) in enumerate(combos):
                    entries[s]["AP11"].setdefault(key, [0.0] * 3)[d] = ap11[i]
                    entries[s]["AP40"].setdefault(key, [0.0] * 3)[d] = ap40[i]
        report[cls] = {"num_gt": dict(zip(DIFFICULTIES, num_gt)), "results": entries}
    return report


def format_table(report: dict) -> str:
    """The evaluation as the table KITTI users know (second.pytorch / OpenPCDet's layout)."""
    lines = []
    for cls, entry in report.items():
        for result in entry["results"]:
            overlaps = ", ".join(f"{result['min_overlap'][m]:.2f}" for m in METRICS)
            for key, label in (("AP11", "AP"), ("AP40", "AP_R40")):
                lines.append(f"{cls} {label}@{overlaps}:")
                for metric, name in (("bbox", "bbox"), ("bev", "bev "), ("3d", "3d  ")):
                    lines.append(f"{name} AP:" + ", ".join(f"{v:.4f}" for v in result[key][metric]))
                if "aos" in result[key]:
                    lines.append("aos  AP:" + ", ".join(f"{v:.2f}" for v in result[key]["aos"]))
    return "\n".join(lines)


def _label_folder(path: Path) -> Path:
    return path / "label_2" if (path / "label_2").is_dir() else path


def evaluate_folders(gt_dir: str | Path, results_dir: str | Path, split: str | Path | None = None,
                     classes: tuple[str, ...] = ("Car", "Pedestrian", "Cyclist"),
                     timer: dict | None = None) -> dict:
    """`evaluate_kitti` over folders of label files: `gt_dir` (a `label_2` folder, or a folder
    holding one), `results_dir` (one result file per frame, same names). The frames are those of
    the `split` file (ImageSets format) when given, else every ground-truth file; a missing result
    file is an error, as in the official devkit (write an empty file for a frame without
    detections)."""
    gt_dir, results_dir = _label_folder(Path(gt_dir)), _label_folder(Path(results_dir))
    for folder, what in ((gt_dir, "ground-truth"), (results_dir, "results")):
        if not folder.is_dir():
            raise KittiFormatError(f"{folder}: no such {what} folder")
    timer = {} if timer is None else timer
    tic = time.perf_counter()
    ids = read_image_set(split) if split else sorted(p.stem for p in gt_dir.glob("*.txt"))
    if not ids:
        raise KittiFormatError(f"{gt_dir}: no label files (*.txt) to evaluate")
    gt, dt = [], []
    for frame_id in ids:
        result = results_dir / f"{frame_id}.txt"
        if not result.is_file():
            raise KittiFormatError(f"{result}: missing; expected a result file for every frame "
                                   "(an empty file when there are no detections)")
        gt.append(read_label(gt_dir / f"{frame_id}.txt"))
        dt.append(read_label(result))
        if len(dt[-1]) and dt[-1].score is None:
            raise KittiFormatError(f"{result}: 15 fields per line; a result file needs the score "
                                   "as the 16th")
    timer["reading files"] = timer.get("reading files", 0.0) + time.perf_counter() - tic
    return evaluate_kitti(gt, dt, classes, timer)
