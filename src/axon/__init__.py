"""axon: train neural networks fast on PyTorch, and run the brain-inspired learning systems.

`axon.Trainer`, `axon.Trainable`, `axon.load_run` (a trained run folder's model with its
class names and preprocessing) and `axon.summary` (parameters and multiply-adds of any
nn.Module) are imported on first use, so that `import axon` (and so the `axon` command's
`--help`) does not load torch."""

__version__ = "0.1.0"

__all__ = ["Trainable", "Trainer", "__version__", "load_run", "summary"]

_LAZY = {"Trainable": "axon.train", "Trainer": "axon.train", "load_run": "axon.run", "summary": "axon.nn.summary"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'axon' has no attribute {name!r}")
