"""``torch.utils.data.dataset``: the objects of :mod:`stirpile.data.dataset`."""

from ...data import dataset as _dataset
from ...data.dataset import *  # noqa: F403

__all__ = list(_dataset.__all__)
