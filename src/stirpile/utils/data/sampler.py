"""``torch.utils.data.sampler``: the objects of :mod:`stirpile.data.sampler`."""

from ...data import sampler as _sampler
from ...data.sampler import *  # noqa: F403

__all__ = list(_sampler.__all__)
