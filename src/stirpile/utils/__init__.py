"""``stirpile.utils``: PyTorch's ``torch.utils`` namespace; today its ``data`` package."""

from . import data

__all__ = ["data"]
