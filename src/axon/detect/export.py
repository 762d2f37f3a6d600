"""PointPillars as two ONNX graphs, checked in onnxruntime: the pillar encoder (Pillar Feature
Net and the scatter to the pseudo-image, the scatter as one ScatterND) and the backbone with
the head. Pillarization (grouping the points, `axon.nn.pillars.pillarize`) and decoding with
NMS stay in the host program, as in every deployment of the model.

    encoder:  pillars (B, P, M, 4) float32, num_points (B, P) int64, coords (B, P, 2) int64
              -> pseudo_image (B, C, ny, nx)
    detector: pseudo_image -> cls (B, H, W, A, K), box (B, H, W, A, 7), direction (B, H, W, A, 2)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.export import Dim

from axon.data.kitti import KittiFrame
from axon.detect.anchors import make_anchors
from axon.detect.boxes import box_iou_bev
from axon.detect.postprocess import decode_detections
from axon.errors import ExportError
from axon.nn.pillars import pad_pillars
from axon.onnx_files import check_exporter, onnx_session, quiet_export

ENCODER_FILE, DETECTOR_FILE = "pointpillars_encoder.onnx", "pointpillars_detector.onnx"


class _Encoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pillars, num_points, coords):
        return self.model.encode(pillars, num_points, coords)


class _Detector(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        return self.model.detect_from_image(image)


@dataclass
class ExportCheck:
    """What the onnxruntime check found: the files, the largest absolute differences from
    PyTorch per output, the boxes each decodes, and how many of PyTorch's boxes have an ONNX
    box of the same class at BEV IoU >= 0.99."""

    files: list[Path]
    max_abs_diff: dict[str, float]
    boxes_torch: int
    boxes_onnx: int
    boxes_matched: int


def _write_onnx(module: nn.Module, inputs: tuple, path: Path, input_names: list[str], output_names: list[str],
                dynamic: dict[int, str], exporter: str, opset: int) -> None:
    """`module` as an ONNX file whose inputs' dims `dynamic` ({dim: name}) are left free,
    through PyTorch's dynamo exporter or its TorchScript-based one; written whole or not at all."""
    check_exporter(exporter)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with quiet_export():
            if exporter == "dynamo":
                dims = {name: Dim(name, min=1 if name == "batch" else 2, max=1_000_000) for name in dynamic.values()}
                shapes = tuple({dim: dims[name] for dim, name in dynamic.items()} for _ in inputs)
                torch.onnx.export(module, inputs, dynamo=True, input_names=input_names, output_names=output_names,
                                  dynamic_shapes=shapes).save(str(tmp))
            else:
                axes = {name: dynamic for name in input_names} | {name: {0: "batch"} for name in output_names}
                torch.onnx.export(module, inputs, str(tmp), opset_version=opset, dynamo=False,
                                  input_names=input_names, output_names=output_names, dynamic_axes=axes)
        os.replace(tmp, path)
    except Exception as err:  # the exporters raise many types
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ExportError(f"{path.name}: {exporter} ONNX export failed: {type(err).__name__}: {first}") from None
    finally:
        tmp.unlink(missing_ok=True)


def export_pointpillars(model, frame: KittiFrame, out: str | Path, opset: int = 17,
                        exporter: str = "dynamo") -> ExportCheck:
    """Write the encoder and detector graphs of `model` (a `PointPillars`) into folder `out`
    with dynamic batch and pillar count, through PyTorch's `exporter` (dynamo or
    torchscript), run them in onnxruntime on `frame`, and compare the outputs and the
    decoded boxes with PyTorch's."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    batch = pad_pillars([model.pillarize(torch.from_numpy(frame.points).float())])
    with torch.no_grad():
        image = model.encode(*batch)
        outputs = model.detect_from_image(image)
    encoder, detector = out / ENCODER_FILE, out / DETECTOR_FILE
    names = ["cls", "box", "direction"]
    _write_onnx(_Encoder(model), tuple(batch), encoder, ["pillars", "num_points", "coords"], ["pseudo_image"],
                {0: "batch", 1: "pillars"}, exporter, opset)
    _write_onnx(_Detector(model), (image,), detector, ["pseudo_image"], names, {0: "batch"}, exporter, opset)
    feeds = {"pillars": batch[0].numpy(), "num_points": batch[1].numpy(), "coords": batch[2].numpy()}
    onnx_image = onnx_session(encoder).run(None, feeds)[0]
    onnx_outputs = onnx_session(detector).run(None, {"pseudo_image": onnx_image})
    diffs = {"pseudo_image": float(np.abs(onnx_image - image.numpy()).max())}
    diffs.update({n: float(np.abs(o - t.numpy()).max()) for n, o, t in zip(names, onnx_outputs, outputs)})
    anchors = make_anchors(model.feature_size, model.grid.point_range, model.anchor_config)
    found = decode_detections(outputs, anchors)[0]
    onnx_found = decode_detections(tuple(torch.from_numpy(o) for o in onnx_outputs), anchors)[0]
    iou = box_iou_bev(found.boxes, onnx_found.boxes)
    iou = iou * (found.labels[:, None] == onnx_found.labels[None, :])
    matched = int((iou.max(dim=1).values >= 0.99).sum()) if iou.numel() else 0
    return ExportCheck([encoder, detector], diffs, len(found.boxes), len(onnx_found.boxes), matched)
