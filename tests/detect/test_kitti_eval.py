"""The KITTI AP evaluation on hand-made cases whose AP is known exactly, and against a direct
per-frame transcription of the official protocol (eval.py's clean_data / compute_statistics)."""

import math

import numpy as np
import pytest

from axon.data.kitti import KittiLabels, write_label
from axon.detect.kitti_eval import (
    MIN_OVERLAPS, _recall_thresholds, evaluate_folders, evaluate_kitti, format_table,
)


def labels(objects, scores=None) -> KittiLabels:
    """objects: dicts with name, bbox, loc, dims (h, w, l), ry, and optional trunc, occ, alpha."""
    return KittiLabels(
        name=[o["name"] for o in objects],
        truncated=np.array([o.get("trunc", 0.0) for o in objects], dtype=float),
        occluded=np.array([o.get("occ", 0) for o in objects], dtype=np.int64),
        alpha=np.array([o.get("alpha", 0.0) for o in objects], dtype=float),
        bbox=np.array([o["bbox"] for o in objects], dtype=float).reshape(-1, 4),
        dimensions=np.array([o.get("dims", (1.5, 1.6, 3.9)) for o in objects], dtype=float).reshape(-1, 3),
        location=np.array([o["loc"] for o in objects], dtype=float).reshape(-1, 3),
        rotation_y=np.array([o.get("ry", 0.0) for o in objects], dtype=float),
        score=None if scores is None else np.array(scores, dtype=float))


def car(i, name="Car", height=50.0, **extra):
    """Object i of a frame: 2D box 50 px tall, 3D box 8 m apart from object i-1."""
    return {"name": name, "bbox": (100.0 * i, 100.0, 100.0 * i + 60, 100.0 + height),
            "loc": (8.0 * i, 1.6, 20.0), **extra}


def frames_of(per_frame: int, total: int, **extra):
    """`total` objects spread over frames of `per_frame` objects each."""
    out, index = [], 0
    while index < total:
        n = min(per_frame, total - index)
        out.append([car(i, **extra) for i in range(n)])
        index += n
    return out


def scored(frames, scores):
    """Detections identical to the objects, with the scores given in order."""
    out, it = [], iter(scores)
    for objects in frames:
        out.append(labels(objects, [next(it) for _ in objects]))
    return out


def ap(report, cls, key, metric, strict=True, difficulty=0):
    return report[cls]["results"][0 if strict else 1][key][metric][difficulty]


SCORES_41 = [1.0 - 0.01 * i for i in range(41)]   # 1.00, 0.99, ..., 0.60


def test_recall_thresholds_by_hand():
    # 41 objects all found: every score is a threshold (recall (i+1)/41 never lags i/40)
    assert _recall_thresholds(np.array(SCORES_41), 41) == SCORES_41
    # 80 objects, 80 hits: recall steps of 1/80 are twice as fine as 1/40: the first score,
    # then every other one
    scores = np.linspace(1, 0.01, 80)
    chosen = _recall_thresholds(scores, 80)
    assert len(chosen) == 41 and chosen[0] == scores[0] and chosen[-1] == scores[-1]


def test_perfect_detections_score_100():
    gt = frames_of(3, 41)
    report = evaluate_kitti([labels(f) for f in gt], scored(gt, SCORES_41), classes=("Car",))
    # 41 true positives at 41 thresholds, precision 1 everywhere: AP 100 in every cell
    for strict in (True, False):
        for key in ("AP11", "AP40"):
            for metric in ("bbox", "bev", "3d", "aos"):
                for d in range(3):
                    assert ap(report, "Car", key, metric, strict, d) == pytest.approx(100.0)
    assert report["Car"]["num_gt"] == {"easy": 41, "moderate": 41, "hard": 41}


def test_one_missed_object():
    gt = frames_of(3, 41)
    dt = scored(gt, SCORES_41)
    dt[-1] = dt[-1].select([0])       # the last frame held 41 - 39 = 2 cars: drop one detection
    report = evaluate_kitti([labels(f) for f in gt], dt, classes=("Car",))
    # 40 hits of 41 objects: 40 thresholds with precision 1; the 41st recall point has
    # precision 0. AP11 = 10 of 11 points = 90.909...; R40 = points 1..39 of 40 = 97.5
    assert ap(report, "Car", "AP11", "3d") == pytest.approx(100 * 10 / 11)
    assert ap(report, "Car", "AP40", "3d") == pytest.approx(97.5)
    assert ap(report, "Car", "AP40", "bbox", difficulty=2) == pytest.approx(97.5)


def false_positive_expectation():
    # 41 hits with scores 1.00 .. 0.60 and one false positive at 0.795, between the 21st
    # (0.80) and 22nd (0.79) hit: thresholds are the 41 hit scores; at threshold i (0-based)
    # precision is 1 for i <= 20 and (i+1)/(i+2) for i >= 21; made monotone from the right it
    # is 41/42 for i >= 21. AP11 takes i = 0, 4, .., 40: 6 ones and 5 x 41/42; R40 takes
    # i = 1..40: 20 ones and 20 x 41/42.
    return 100 * (6 + 5 * 41 / 42) / 11, 100 * (20 + 20 * 41 / 42) / 40


def test_one_false_positive_at_a_known_score():
    gt = frames_of(3, 41)
    dt = scored(gt, SCORES_41)
    fp = labels([car(5)], [0.795])     # a car where there is none (3D and 2D apart from all)
    gt.append([])
    dt.append(fp)
    report = evaluate_kitti([labels(f) for f in gt], dt, classes=("Car",))
    ap11, ap40 = false_positive_expectation()
    for metric in ("bbox", "bev", "3d"):
        assert ap(report, "Car", "AP11", metric) == pytest.approx(ap11)
        assert ap(report, "Car", "AP40", metric) == pytest.approx(ap40)


def test_detection_in_a_dontcare_region():
    gt = frames_of(3, 41)
    dt = scored(gt, SCORES_41)
    # the extra detection's 2D box lies inside a DontCare box: not a false positive for the
    # bbox metric; BEV and 3D count it (the protocol checks DontCare in the image only)
    dontcare = {"name": "DontCare", "bbox": (490.0, 90.0, 570.0, 160.0), "loc": (-1000, -1000, -1000),
                "dims": (-1, -1, -1), "ry": -10}
    gt.append([dontcare])
    dt.append(labels([car(5)], [0.795]))
    report = evaluate_kitti([labels(f) for f in gt], dt, classes=("Car",))
    ap11, ap40 = false_positive_expectation()
    assert ap(report, "Car", "AP11", "bbox") == pytest.approx(100.0)
    assert ap(report, "Car", "AP40", "bbox") == pytest.approx(100.0)
    assert ap(report, "Car", "AP40", "3d") == pytest.approx(ap40)
    assert ap(report, "Car", "AP11", "bev") == pytest.approx(ap11)


def shifted(objects, fraction):
    """Detections moved by `fraction` of their length (3D) and width (2D): overlap
    (1 - f) / (1 + f) in every metric; f = 1/4 gives IoU 0.6 exactly."""
    out = []
    for o in objects:
        x1, y1, x2, y2 = o["bbox"]
        h, w, l = o.get("dims", (1.5, 1.6, 3.9))
        x, y, z = o["loc"]
        out.append({**o, "bbox": (x1 + fraction * (x2 - x1), y1, x2 + fraction * (x2 - x1), y2),
                    "loc": (x + fraction * l, y, z)})
    return out


def test_pedestrian_at_iou_0_6_is_a_hit_and_a_car_is_not():
    peds = frames_of(3, 41, name="Pedestrian", dims=(1.7, 0.6, 0.8))
    dt = scored([shifted(f, 0.25) for f in peds], SCORES_41)
    report = evaluate_kitti([labels(f) for f in peds], dt, classes=("Pedestrian", "Car"))
    # IoU 0.6 > 0.5 (and > 0.25) in every metric: all 41 are hits, AP 100
    for metric in ("bbox", "bev", "3d"):
        assert ap(report, "Pedestrian", "AP40", metric) == pytest.approx(100.0)
        assert ap(report, "Pedestrian", "AP11", metric, strict=False) == pytest.approx(100.0)
    # the same offsets on cars: 0.6 < 0.7 misses everywhere but the loose BEV/3D (0.5)
    cars = frames_of(3, 41)
    dt = scored([shifted(f, 0.25) for f in cars], SCORES_41)
    report = evaluate_kitti([labels(f) for f in cars], dt, classes=("Car",))
    for metric in ("bbox", "bev", "3d"):
        assert ap(report, "Car", "AP40", metric) == 0.0
    assert ap(report, "Car", "AP40", "bbox", strict=False) == 0.0
    assert ap(report, "Car", "AP40", "bev", strict=False) == pytest.approx(100.0)
    assert ap(report, "Car", "AP40", "3d", strict=False) == pytest.approx(100.0)


def test_difficulty_filters_and_ignored_objects():
    gt = frames_of(3, 41)
    dt = scored(gt, SCORES_41)
    # a small (30 px), occluded car and a van, both detected as cars at 0.795: the small one
    # is not counted at easy (nor is its detection, lower than 40 px); the van is a neighbour
    # class, so matching it is neither a hit nor a false positive
    extra = [car(0, height=30.0, occ=1), car(2, name="Van")]
    gt.append(extra)
    dt.append(labels([{**o, "name": "Car"} for o in extra], [0.795, 0.795]))
    report = evaluate_kitti([labels(f) for f in gt], dt, classes=("Car",))
    assert report["Car"]["num_gt"] == {"easy": 41, "moderate": 42, "hard": 42}
    assert ap(report, "Car", "AP40", "3d", difficulty=0) == pytest.approx(100.0)
    assert ap(report, "Car", "AP40", "3d", difficulty=1) == pytest.approx(100.0)
    # a detection of another class changes nothing for Car
    dt[-1].name[1] = "Pedestrian"
    report2 = evaluate_kitti([labels(f) for f in gt], dt, classes=("Car",))
    assert ap(report2, "Car", "AP40", "3d", difficulty=1) == pytest.approx(100.0)


def test_aos_weighs_hits_by_orientation():
    gt = frames_of(3, 41)
    dt = scored([[{**o, "alpha": math.pi / 2} for o in f] for f in gt], SCORES_41)
    report = evaluate_kitti([labels(f) for f in gt], dt, classes=("Car",))
    # every hit is off by 90 degrees: similarity (1 + cos(pi/2)) / 2 = 0.5, so AOS = 50
    assert ap(report, "Car", "AP40", "aos") == pytest.approx(50.0)
    assert ap(report, "Car", "AP40", "bbox") == pytest.approx(100.0)
    # alpha -10 in the first detection means "no orientation": no AOS row
    dt = scored([[{**o, "alpha": -10} for o in f] for f in gt], SCORES_41)
    report = evaluate_kitti([labels(f) for f in gt], dt, classes=("Car",))
    assert "aos" not in report["Car"]["results"][0]["AP40"]


def test_no_detections_and_no_objects():
    gt = frames_of(3, 41)
    report = evaluate_kitti([labels(f) for f in gt], [labels([], []) for _ in gt], classes=("Car",))
    assert ap(report, "Car", "AP40", "3d") == 0.0
    empty = evaluate_kitti([labels([])], [labels([car(0)], [0.5])], classes=("Cyclist",))
    assert ap(empty, "Cyclist", "AP11", "bev") == 0.0


# ---------------------------------------------------------------------------- the protocol, frame by frame

def _reference_frame(ov, gt, dt, ign_gt, ign_dt, dc_ov, min_ov, thresh, compute_fp, metric):
    """compute_statistics of eval.py, transcribed loop for loop (ov: (D, G) overlaps)."""
    assigned = [False] * len(dt.name)
    below = [compute_fp and dt.score[j] < thresh for j in range(len(dt.name))]
    tp = fp = fn = 0
    sim, scores = 0.0, []
    for i in range(len(gt.name)):
        if ign_gt[i] == -1:
            continue
        det, valid, best, took_ignored = -1, None, 0.0, False
        for j in range(len(dt.name)):
            if ign_dt[j] == -1 or assigned[j] or below[j]:
                continue
            o = ov[j, i]
            if not compute_fp and o > min_ov and (valid is None or dt.score[j] > valid):
                det, valid = j, dt.score[j]
            elif compute_fp and o > min_ov and (o > best or took_ignored) and ign_dt[j] == 0:
                best, det, valid, took_ignored = o, j, 1, False
            elif compute_fp and o > min_ov and valid is None and ign_dt[j] == 1:
                det, valid, took_ignored = j, 1, True
        if valid is None and ign_gt[i] == 0:
            fn += 1
        elif valid is not None and (ign_gt[i] == 1 or ign_dt[det] == 1):
            assigned[det] = True
        elif valid is not None:
            tp += 1
            scores.append(dt.score[det])
            sim += (1 + math.cos(gt.alpha[i] - dt.alpha[det])) / 2
            assigned[det] = True
    if compute_fp:
        for j in range(len(dt.name)):
            if not (assigned[j] or ign_dt[j] != 0 or below[j]):
                fp += 1
                if metric == 0 and dc_ov[j] > min_ov:
                    fp -= 1
    return tp, fp, fn, sim, scores


def _frame_overlaps(gts, dts):
    """Per metric, per frame: detection/object overlaps (D, G) and DontCare overlaps (D,)."""
    from axon.detect.boxes import box_iou_3d, box_iou_bev, box_iou_image
    from axon.detect.kitti_eval import _eval_boxes
    import torch

    fns = [lambda a, b: box_iou_image(torch.tensor(a.bbox), torch.tensor(b.bbox)),
           lambda a, b: box_iou_bev(torch.tensor(_eval_boxes(a)), torch.tensor(_eval_boxes(b))),
           lambda a, b: box_iou_3d(torch.tensor(_eval_boxes(a)), torch.tensor(_eval_boxes(b)))]
    out = []
    for fn in fns:
        frames = []
        for gt, dt in zip(gts, dts):
            dc = gt.select([n == "DontCare" for n in gt.name])
            dc_ov = (box_iou_image(torch.tensor(dt.bbox), torch.tensor(dc.bbox), "first").numpy().max(1)
                     if len(dc) and len(dt) else np.zeros(len(dt.name)))
            frames.append((fn(dt, gt).numpy(), dc_ov))
        out.append(frames)
    return out


def _reference_eval(gts, dts, overlaps, cls, difficulty, metric, min_ov):
    from axon.detect.kitti_eval import _ignore_flags

    per_frame, num_gt, all_scores = [], 0, []
    for (gt, dt), (ov, dc_ov) in zip(zip(gts, dts), overlaps[metric]):
        flags_gt, flags_dt = _ignore_flags(gt, dt, cls)
        ign_gt, ign_dt = flags_gt[difficulty], flags_dt[difficulty]
        num_gt += int((ign_gt == 0).sum())
        per_frame.append((ov, gt, dt, ign_gt, ign_dt, dc_ov))
        all_scores += _reference_frame(ov, gt, dt, ign_gt, ign_dt, dc_ov, min_ov, 0, False, metric)[4]
    thresholds = _recall_thresholds(np.array(all_scores), num_gt)
    prec, aos = np.zeros(41), np.zeros(41)
    for t, thresh in enumerate(thresholds):
        tp = fp = sim = 0
        for frame in per_frame:
            a, b, _, s, _ = _reference_frame(*frame, min_ov, thresh, True, metric)
            tp, fp, sim = tp + a, fp + b, sim + s
        prec[t], aos[t] = tp / (tp + fp), sim / (tp + fp)
    prec = np.maximum.accumulate(prec[::-1])[::-1]
    aos = np.maximum.accumulate(aos[::-1])[::-1]
    return prec[::4].sum() / 11 * 100, prec[1:].sum() / 40 * 100, aos[1:].sum() / 40 * 100


def _random_scene(rng, n_gt, n_dt):
    names = ["Car", "Car", "Van", "Pedestrian", "Cyclist", "DontCare"]
    def obj(name):
        x1, y1 = rng.uniform(0, 1000), rng.uniform(100, 200)
        return {"name": name, "bbox": (x1, y1, x1 + rng.uniform(20, 120), y1 + rng.uniform(15, 90)),
                "loc": (rng.uniform(-6, 6), 1.6 + rng.normal(0, 0.1), rng.uniform(5, 20)),
                "dims": (rng.uniform(1.4, 1.7), rng.uniform(1.5, 1.8), rng.uniform(3.4, 4.4)),
                "ry": rng.uniform(-3, 3), "trunc": rng.choice([0.0, 0.2, 0.4, 0.8]),
                "occ": int(rng.integers(0, 4)), "alpha": rng.uniform(-3, 3)}
    gt = [obj(rng.choice(names)) for _ in range(n_gt)]
    dt, scores = [], []
    for _ in range(n_dt):  # mostly jittered copies of objects, some strays
        if gt and rng.random() < 0.8:
            o = dict(gt[rng.integers(len(gt))])
            x1, y1, x2, y2 = o["bbox"]
            d = rng.normal(0, 4, 4)
            o["bbox"] = (x1 + d[0], y1 + d[1], x2 + d[2], y2 + d[3])
            o["loc"] = tuple(np.array(o["loc"]) + rng.normal(0, 0.25, 3))
            o["ry"] += rng.normal(0, 0.2)
            o["name"] = "Car" if o["name"] in ("Van", "DontCare") else o["name"]
        else:
            o = obj(rng.choice(["Car", "Pedestrian", "Cyclist"]))
        dt.append(o)
        scores.append(round(float(rng.uniform(0, 1)), 3))
        if rng.random() < 0.15:  # an exact duplicate: ties in overlap and score
            dt.append(dict(o))
            scores.append(scores[-1])
    return labels(gt), labels(dt, scores)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_a_frame_by_frame_transcription_of_the_protocol(seed):
    rng = np.random.default_rng(seed)
    scenes = [_random_scene(rng, int(rng.integers(0, 9)), int(rng.integers(0, 12))) for _ in range(40)]
    gts, dts = [s[0] for s in scenes], [s[1] for s in scenes]
    report = evaluate_kitti(gts, dts, classes=("Car", "Pedestrian"))
    overlaps = _frame_overlaps(gts, dts)
    for cls in ("Car", "Pedestrian"):
        for s in range(2):
            for m, metric in enumerate(("bbox", "bev", "3d")):
                for d in range(3):
                    ap11, ap40, aos40 = _reference_eval(gts, dts, overlaps, cls, d, m, MIN_OVERLAPS[cls][s][m])
                    result = report[cls]["results"][s]
                    assert result["AP11"][metric][d] == pytest.approx(ap11, abs=1e-9)
                    assert result["AP40"][metric][d] == pytest.approx(ap40, abs=1e-9)
                    if metric == "bbox":
                        assert result["AP40"]["aos"][d] == pytest.approx(aos40, abs=1e-9)
    assert any(report["Car"]["results"][1]["AP40"]["3d"]) and any(report["Car"]["results"][0]["AP40"]["bbox"])


def test_folders_table_and_errors(tmp_path):
    gt = frames_of(3, 41)
    dt = scored(gt, SCORES_41)
    for i, (g, d) in enumerate(zip(gt, dt)):
        write_label(tmp_path / "gt" / "label_2" / f"{i:06d}.txt", labels(g))
        write_label(tmp_path / "dt" / f"{i:06d}.txt", d)
    report = evaluate_folders(tmp_path / "gt", tmp_path / "dt")
    assert ap(report, "Car", "AP40", "3d") == pytest.approx(100.0)
    table = format_table(report)
    assert "Car AP_R40@0.70, 0.70, 0.70:" in table and "3d   AP:100.0000, 100.0000, 100.0000" in table
    (tmp_path / "dt" / "000002.txt").unlink()
    with pytest.raises(Exception, match=r"000002\.txt: missing"):
        evaluate_folders(tmp_path / "gt", tmp_path / "dt")


@pytest.mark.slow
def test_cli_evaluate_prints_the_table_and_writes_json(tmp_path):
    import json
    import subprocess
    import sys

    gt = frames_of(3, 41)
    dt = scored(gt, SCORES_41)
    dt[-1] = dt[-1].select([0])
    for i, (g, d) in enumerate(zip(gt, dt)):
        write_label(tmp_path / "gt" / f"{i:06d}.txt", labels(g))
        write_label(tmp_path / "dt" / f"{i:06d}.txt", d)
    out = subprocess.run([sys.executable, "-m", "axon", "detect", "evaluate", str(tmp_path / "gt"),
                          str(tmp_path / "dt"), "--classes", "Car"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Car AP@0.70, 0.70, 0.70:\nbbox AP:90.9091, 90.9091, 90.9091" in out.stdout
    report = json.loads((tmp_path / "dt" / "kitti_eval.json").read_text())
    assert report["Car"]["results"][0]["AP40"]["3d"] == pytest.approx([97.5] * 3)
    (tmp_path / "dt" / "000001.txt").write_text("Car 0 0 0 1 2 3\n")
    out = subprocess.run([sys.executable, "-m", "axon", "detect", "evaluate", str(tmp_path / "gt"),
                          str(tmp_path / "dt")], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().endswith("000001.txt line 1: 7 fields; expected 15 (type, truncated, "
                                       "occluded, alpha, 4 box, 3 size, 3 location, rotation_y) or 16 (with a score)")
    assert len(out.stderr.strip().splitlines()) == 1
