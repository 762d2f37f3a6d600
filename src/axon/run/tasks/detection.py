"""3D object detection on KITTI-format lidar frames with a pillar detector (`pointpillars`):
frames become pillars and anchor targets in DataLoader workers, the loss is the PointPillars
loss, and every validation epoch adds the KITTI AP (moderate, R40) per class, bird's-eye view
and 3D, to the epoch's metrics (`val_ap_bev_car`, `val_ap_3d_car`, ...), with the epoch's
loss parts (`loss_cls`, `loss_box`, `loss_dir`). Training frames get the KITTI global
augmentations (flip, rotation, scaling) and, when `data.augment.gt_sampling` asks for it,
objects pasted from the ground-truth database (`axon.detect.dataset.detection_augment`);
`data.augment: {recipe: none}` switches augmentation off."""

from __future__ import annotations

from dataclasses import replace

from torch import nn

from axon import zoo
from axon.errors import ConfigError
from axon.run.tasks.base import Task
from axon.train.callbacks.base import Callback

MATCHED = {"Car": 0.6, "Pedestrian": 0.5, "Cyclist": 0.5}      # OpenPCDet's KITTI PointPillars thresholds
UNMATCHED = {"Car": 0.45, "Pedestrian": 0.35, "Cyclist": 0.35}


class KittiAP(Callback):
    """Adds the KITTI AP (moderate, R40; BEV and 3D) of the model on `frames` to each epoch's
    metrics, before the loggers and checkpoints read them."""

    changes_training = False

    order = -10

    def __init__(self, frames, batch_size: int = 4):
        self.frames, self.batch_size = frames, batch_size

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        from axon.detect.inference import kitti_ap, moderate_ap

        report = kitti_ap(trainer.model, self.frames, trainer.device, self.batch_size)
        for metric in ("bev", "3d"):
            for cls, ap in moderate_ap(report, metric).items():
                metrics[f"val_ap_{metric}_{cls.lower()}"] = ap


class LossParts(Callback):
    """Adds the epoch's mean loss parts (`loss_cls`, `loss_box`, `loss_dir`: the focal, box and
    direction terms, each before its weight) to the epoch's metrics; resumable mid-epoch."""

    changes_training = False

    order = -10

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0

    def on_epoch_start(self, trainer) -> None:
        if trainer.batch_in_epoch == 0:
            self.sums, self.count = {}, 0

    def on_batch_end(self, trainer, result) -> None:
        for name, value in getattr(trainer.loss_fn, "parts", {}).items():
            self.sums[name] = self.sums.get(name, 0.0) + value * result.size
        self.count += result.size

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        for name, total in self.sums.items():
            metrics[f"loss_{name}"] = total / max(self.count, 1)

    def state_dict(self) -> dict:
        return {"sums": dict(self.sums), "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.sums, self.count = {k: float(v) for k, v in state["sums"].items()}, int(state["count"])


def _thresholds(classes, table: dict, what: str) -> tuple[float, ...]:
    missing = [c for c in classes if c not in table]
    if missing:
        raise ConfigError(f"model.args.classes: no {what} IoU threshold for {missing[0]!r} "
                          f"(known: {', '.join(table)})")
    return tuple(table[c] for c in classes)


class Detection(Task):
    name = "detection"

    def model_spec(self, config) -> nn.Module:
        """The config's detector, built to read its grid, classes and anchors."""
        model = zoo.create(config.model.name, **config.model.args)
        if not hasattr(model, "pillarize") or not hasattr(model, "anchor_config"):
            raise ConfigError(f"model.name: task detection needs a pillar detector such as 'pointpillars', "
                              f"got {config.model.name!r}")
        return model

    def load_data(self, config):
        from axon.data import build_dataset
        from axon.detect.dataset import PillarDetectionData, detection_augment

        frames = build_dataset(config.data.name, **config.data.reader_arguments())
        model = self.model_spec(config)
        matched = _thresholds(model.classes, MATCHED, "matching")
        unmatched = _thresholds(model.classes, UNMATCHED, "unmatched")
        augment = detection_augment(config.data.augment)
        train = PillarDetectionData(frames.train, model, matched, unmatched, augment, True, config.seed)
        val = PillarDetectionData(frames.val, model, matched, unmatched, None, False, config.seed)
        return replace(frames, train=train, val=val, test=val, classes=list(model.classes))

    def epoch_metrics(self, config, data) -> list[str]:
        from axon.train.callbacks.loggers import COLUMNS

        aps = [f"val_ap_{metric}_{name.lower()}" for metric in ("bev", "3d") for name in data.classes]
        return [c for c in COLUMNS if not c.endswith("_acc")] + ["loss_cls", "loss_box", "loss_dir", *aps]

    def training_set(self, config, data):
        return data.train  # its frames are augmented as they are read (PillarDetectionData)

    def check_augment(self, spec: dict | None) -> None:
        from axon.detect.dataset import detection_augment

        detection_augment(spec)

    def model_args(self, config, data) -> dict:
        return dict(config.model.args)

    def check_model(self, config, model: nn.Module, data) -> None:
        if tuple(data.classes) != tuple(model.classes):
            raise ConfigError(f"model.args.classes: {list(model.classes)} but the data's classes are {data.classes}")

    def loss(self, config) -> nn.Module:
        from axon.detect.loss import DetectionLoss

        return DetectionLoss()

    def callbacks(self, config, data) -> list[Callback]:
        return [LossParts(), KittiAP(data.val.frames)]

    test_metric = "first class's BEV AP (moderate, R40)"

    def test_score(self, trainer, data) -> float:
        """The first class's BEV AP (moderate, R40) on the test frames."""
        from axon.detect.inference import kitti_ap, moderate_ap

        report = kitti_ap(trainer.model, data.test.frames, trainer.device)
        return next(iter(moderate_ap(report, "bev").values()))

    def evaluate(self, outputs, targets, record: dict):
        raise ConfigError("task detection: evaluated on whole frames (axon.run.tasks.detection.evaluate_detector)")

    def record(self, data) -> dict:
        return {"task": self.name, "classes": list(data.classes), "input_shape": [4],
                "preprocessing": dict(data.preprocessing)}
