"""``stirpile.backends``: the switches PyTorch code sets for its compute backends.

They are accepted so that such code runs; none changes what stirpile computes
(NumPy on the CPU is deterministic, and there is no cuDNN, MPS or TF32).
"""

from . import cuda, cudnn, mkldnn, mps

__all__ = ["cuda", "cudnn", "mkldnn", "mps"]
