"""The `kitti` data set: a KITTI object folder's frames by ImageSets split, for runs with
`task: detection` (each item is a `KittiFrame`; the detection task turns frames into
pillars and anchor targets for its model)."""

from __future__ import annotations

from axon.data.kitti import KittiObjects
from axon.data.registry import register_dataset
from axon.data.splits import DataSplits
from axon.errors import ConfigError


@register_dataset("kitti")
def kitti(root: str, train_split: str = "train", val_split: str = "val",
          classes: tuple[str, ...] = ("Car", "Pedestrian", "Cyclist")) -> DataSplits:
    """KITTI 3D object frames (training/velodyne, label_2, calib, image_2; ImageSets/<split>.txt), for task: detection."""
    if not classes or not all(isinstance(c, str) for c in classes):
        raise ConfigError(f"data.classes: expected a list of KITTI object types, got {classes!r}")
    train, val = KittiObjects(root, train_split), KittiObjects(root, val_split)
    # KITTI's own test split has no labels: the labelled val split is what evaluation measures
    return DataSplits(train=train, val=val, test=val, classes=list(classes), input_shape=(4,),
                      preprocessing={"points": "x, y, z, reflectance (lidar frame, metres)"})
