"""Errors raised for bad user input. Each is a ValueError whose message names the
file, field or layer, the value given and the value expected; the CLI prints the
message on one line and exits with code 2."""


class AxonError(ValueError):
    """Base class of every user-facing axon error."""


class ConfigError(AxonError):
    """A run config (YAML) or a spec is missing, malformed or invalid."""


class RunDirError(AxonError):
    """A run folder cannot be created, written, or is not an axon run."""


class CheckpointError(AxonError):
    """A checkpoint is missing, truncated or does not fit the model."""


class TrainingDiverged(AxonError):
    """The loss became NaN or infinite; training stopped."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


class DataError(AxonError):
    """A data file or folder is missing, malformed or inconsistent (the message names it)."""


class ExportError(AxonError):
    """A model could not be exported or its export does not run."""


def one_line(err: AxonError) -> str:
    """The message of `err` for the CLI's one error line. An error raised in a DataLoader
    worker reaches the main process with the worker's traceback in its message
    ("Caught DataError in DataLoader worker process 0. Original Traceback ..."): its last
    line holds the original message."""
    message = str(err)
    if "Original Traceback" not in message:
        return message
    last = message.rstrip().splitlines()[-1]
    return last.split(": ", 1)[1] if last.startswith(f"{type(err).__module__}.{type(err).__name__}: ") else last
