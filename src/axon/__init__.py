"""axon: train neural networks fast on PyTorch, and run the brain-inspired learning systems."""

__version__ = "0.1.0"

from axon.train import Trainable, Trainer  # noqa: E402

__all__ = ["Trainable", "Trainer", "__version__"]
