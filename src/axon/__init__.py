"""axon: train neural networks fast on PyTorch, and run the brain-inspired learning systems."""

__version__ = "0.1.0"
