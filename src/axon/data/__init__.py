"""Dataset readers for real formats, the bundled default (scikit-learn's 8x8 digits),
synthetic generators in the same formats, loaders and samplers.

Data sets are found by name: `build_dataset(name, **args)` returns `DataSplits`;
`dataset_names()` and `describe_dataset(name)` list them (`axon datasets`)."""

from axon.data import arrays as _arrays, cifar as _cifar, csvfile as _csvfile  # noqa: F401  (register)
from axon.data import digits as _digits, image_folder as _image_folder, mnist as _mnist  # noqa: F401  (register)
from axon.data import kitti_dataset as _kitti_dataset, shapes as _shapes  # noqa: F401  (register)
from axon.data.digits import DigitsSplits, load_digits_splits
from axon.data.preprocessing import Preprocessing, preprocessing_from_dict
from axon.data.registry import DatasetInfo, build_dataset, dataset_names, describe_dataset, register_dataset
from axon.data.splits import DataSplits
from axon.data.video import (
    FolderSource, Frame, FrameSource, MovingShapes, NumpySource, PanningCamera,
    VideoFileSource, VideoWriter, open_source,
)

__all__ = ["DataSplits", "DatasetInfo", "DigitsSplits", "Preprocessing", "build_dataset", "dataset_names",
           "describe_dataset", "load_digits_splits", "preprocessing_from_dict", "register_dataset",
           "FolderSource", "Frame", "FrameSource", "MovingShapes", "NumpySource",
           "PanningCamera", "VideoFileSource", "VideoWriter", "open_source"]
