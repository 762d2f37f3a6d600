"""Dataset readers for real formats, the bundled default (scikit-learn's 8x8 digits),
synthetic generators in the same formats, loaders and samplers."""

from axon.data.digits import DigitsSplits, load_digits_splits
from axon.data.video import (
    FolderSource, Frame, FrameSource, MovingShapes, NumpySource, PanningCamera,
    VideoFileSource, VideoWriter, open_source,
)

__all__ = ["DigitsSplits", "load_digits_splits",
           "FolderSource", "Frame", "FrameSource", "MovingShapes", "NumpySource",
           "PanningCamera", "VideoFileSource", "VideoWriter", "open_source"]
