"""Curriculum callbacks: progressive resizing (image size by epoch) and switching
dropout off from a given epoch. Both depend only on the epoch number, so a resumed run
(even mid-epoch) picks up the same setting in `on_fit_start`."""

from __future__ import annotations

from typing import Mapping

from torch import nn

from axon.data.resize import ResizedDataset, SizeSchedule, check_fully_convolutional
from axon.nn import Dropout
from axon.train.callbacks.base import Callback

DROPOUT_TYPES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout,
                 Dropout)


class ProgressiveResizing(Callback):
    """Set the training images' size from `schedule` ({start epoch: size}) at the start
    of every epoch, through the `ResizedDataset` the Trainer trains on:

        train = ResizedDataset(splits.train)
        trainer = Trainer(model, callbacks=[ProgressiveResizing({0: 16, 3: 24, 6: 32}, train)])
        trainer.fit(train, splits.val)      # validation stays at the native size

    At fit start the model is checked to take every scheduled size (and the native one
    validation uses), so a model that is not fully convolutional is a ValueError naming
    the layer before any training."""

    def __init__(self, schedule: Mapping[int, int] | SizeSchedule, data: ResizedDataset):
        if not isinstance(data, ResizedDataset):
            raise ValueError(f"ProgressiveResizing data: expected the ResizedDataset the trainer trains on, "
                             f"got {type(data).__name__}")
        self.schedule = schedule if isinstance(schedule, SizeSchedule) else SizeSchedule(schedule)
        self.data = data

    def on_fit_start(self, trainer) -> None:
        native = self.data.dataset[0][0].shape[-1]
        check_fully_convolutional(trainer.model, self.data.bands, [*self.schedule.sizes, native], trainer.device)
        self.data.size = self.schedule.size(trainer.epoch)

    def on_epoch_start(self, trainer) -> None:
        self.data.size = self.schedule.size(trainer.epoch)

    def on_epoch_end(self, trainer, metrics) -> None:
        metrics["image_size"] = self.data.size


class DropoutOff(Callback):
    """From epoch `epoch` (0-based) on, set p = 0 on every dropout layer of the model
    (torch's dropout modules and axon.nn.Dropout): the stochastic step is removed for
    the rest of training, which the seed's recipe suggests for the final epochs."""

    def __init__(self, epoch: int):
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"DropoutOff epoch: expected an epoch number >= 0, got {epoch!r}")
        self.epoch = epoch

    def _apply(self, trainer) -> None:
        if trainer.epoch >= self.epoch:
            for module in trainer.model.modules():
                if isinstance(module, DROPOUT_TYPES):
                    module.p = 0.0

    def on_fit_start(self, trainer) -> None:
        self._apply(trainer)

    def on_epoch_start(self, trainer) -> None:
        self._apply(trainer)
