"""Tasks: what a kind of problem (classification; 3D detection later) needs from a run
config: its data (the data registry), model (the zoo), loss, evaluation and prediction.
A new kind of problem is a Task registered here; the engine does not change for it."""

from __future__ import annotations

import difflib

from axon.errors import ConfigError
from axon.run.tasks.base import Task
from axon.run.tasks.classification import Classification
from axon.run.tasks.detection import Detection

_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Make `task` available as the run config's `task: <task.name>`."""
    if task.name in _TASKS:
        raise ValueError(f"task {task.name!r} is already registered")
    _TASKS[task.name] = task
    return task


def task_names() -> list[str]:
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    """The registered task `name`; an unknown name is a ConfigError with the closest one."""
    if name not in _TASKS:
        close = difflib.get_close_matches(name, task_names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"task: unknown task {name!r}{hint} (known: {', '.join(task_names())})")
    return _TASKS[name]


register_task(Classification())
register_task(Detection())

__all__ = ["Classification", "Detection", "Task", "get_task", "register_task", "task_names"]
