"""A detection run folder's evaluation (the full KITTI table on its validation split),
predictions on lidar scans (KITTI result files and bird's-eye-view pictures) and export
(the two ONNX graphs, checked in onnxruntime on a validation frame)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from axon.data import build_dataset
from axon.data.kitti import KittiFormatError, KittiFrame, read_calib, read_image_size, read_velodyne, write_label
from axon.run.folder import write_atomically
from axon.run.load import LoadedRun


@dataclass
class DetectionEvaluation:
    report: dict
    table: str
    metrics_json: Path

    def format(self) -> str:
        return f"{self.table}\n\nmetrics: {self.metrics_json}"


def _frames(run: LoadedRun):
    """The run's validation frames (the data set its config names)."""
    return build_dataset(run.config.data.name, **run.config.data.reader_arguments()).val


def evaluate_detector(run: LoadedRun, checkpoint: str) -> DetectionEvaluation:
    """KITTI AP (bbox, BEV, 3D, AOS; easy/moderate/hard; 11-point and R40) of the run's model
    on its validation split; the report is written as RUN_DIR/eval_<checkpoint>.json."""
    from axon.detect.inference import kitti_ap
    from axon.detect.kitti_eval import format_table

    report = kitti_ap(run.model, _frames(run), run.device)
    path = run.run_dir / f"eval_{checkpoint}.json"
    write_atomically(path, json.dumps(report, indent=1) + "\n")
    return DetectionEvaluation(report, format_table(report), path)


def scan_frame(velodyne: Path) -> KittiFrame:
    """A `velodyne/<id>.bin` scan with the calibration and image size of its KITTI folder
    (`../calib/<id>.txt`, `../image_2/<id>.png`)."""
    root, frame_id = velodyne.parent.parent, velodyne.stem
    calib, image = root / "calib" / f"{frame_id}.txt", root / "image_2" / f"{frame_id}.png"
    for needed in (calib, image):
        if not needed.is_file():
            raise KittiFormatError(f"{needed}: missing; a scan is predicted in its KITTI folder "
                                   f"(velodyne/, calib/ and image_2/ side by side)")
    return KittiFrame(frame_id, read_velodyne(velodyne), None, read_calib(calib), read_image_size(image))


def predict_scans(run: LoadedRun, scans: list[str | Path], out: str | Path,
                  score_threshold: float = 0.3) -> list[Path]:
    """KITTI result files (`out/<id>.txt`) and BEV pictures (`out/<id>_bev.png`) of the
    run's detections on each `velodyne/<id>.bin` scan; returns the result files."""
    from axon.detect.inference import predict_frames
    from axon.detect.show import show_scene

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for scan in map(Path, scans):
        frame = scan_frame(scan)
        rows = predict_frames(run.model, [frame], run.device, score_threshold=score_threshold)[0]
        result = out / f"{frame.frame_id}.txt"
        write_label(result, rows)
        show_scene(scan, results=out, out=out / f"{frame.frame_id}_bev.png")
        written.append(result)
    return written


def export_detector(run: LoadedRun, out: str | Path, onnx_exporter: str = "dynamo"):
    """The run's detector as two ONNX graphs in `out` (PyTorch's dynamo or TorchScript-based
    exporter), checked on the first validation frame."""
    from axon.detect.export import export_pointpillars

    return export_pointpillars(run.model, _frames(run)[0], out, exporter=onnx_exporter)
