"""``torch.utils.data.distributed``: the objects of :mod:`stirpile.data.distributed`."""

from ...data.distributed import DistributedSampler

__all__ = ["DistributedSampler"]
