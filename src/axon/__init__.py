"""axon: train neural networks fast on PyTorch, and run the brain-inspired learning systems.

`axon.Trainer` and `axon.Trainable` are imported on first use, so that `import axon` (and so
the `axon` command's `--help`) does not load torch."""

__version__ = "0.1.0"

__all__ = ["Trainable", "Trainer", "__version__"]


def __getattr__(name: str):
    if name in ("Trainable", "Trainer"):
        import axon.train

        return getattr(axon.train, name)
    raise AttributeError(f"module 'axon' has no attribute {name!r}")
