"""Callbacks: progress, logs, plots, checkpoints, early stopping, the NaN guard."""

from axon.train.callbacks.base import Callback
from axon.train.callbacks.checkpointing import ModelCheckpoint
from axon.train.callbacks.curriculum import DropoutOff, ProgressiveResizing
from axon.train.callbacks.guards import DataStarvation, EarlyStopping, NaNGuard
from axon.train.callbacks.loggers import CSVLogger, TensorBoardLogger
from axon.train.callbacks.plots import CurvesPlot
from axon.train.callbacks.progress import ProgressBar

__all__ = [
    "Callback", "CSVLogger", "DataStarvation", "DropoutOff", "ProgressiveResizing", "CurvesPlot", "EarlyStopping", "ModelCheckpoint", "NaNGuard",
    "ProgressBar", "TensorBoardLogger",
]
