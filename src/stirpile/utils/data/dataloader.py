"""``torch.utils.data.dataloader``: the objects of :mod:`stirpile.data.dataloader`."""

from ...data.collate import default_collate, default_convert
from ...data.dataloader import DataLoader
from ...data.dataset import Dataset, IterableDataset  # noqa: F401  (names torch's module has)
from ...data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler  # noqa: F401
from ...data.worker import get_worker_info

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]
