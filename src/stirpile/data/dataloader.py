"""``DataLoader``: batches from a dataset, in order or shuffled, as in PyTorch.

For datasets that can gather a whole batch at once (``__getitems__``, as
:class:`TensorDataset` does) a batch costs one indexing call per tensor; other
datasets are read sample by sample and collated with ``collate_fn``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..tensor import Tensor
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


def default_collate(batch: list) -> Any:
    """Stack a list of samples: tensors and arrays along a new first axis, numbers into a
    tensor, tuples/lists/dicts element-wise (PyTorch's rules)."""
    first = batch[0]
    if isinstance(first, Tensor):
        return Tensor._make(np.stack([b._data for b in batch]))
    if isinstance(first, np.ndarray):
        return Tensor._make(np.stack(batch))
    if isinstance(first, (bool, np.bool_)):
        return Tensor._make(np.asarray(batch, dtype=bool))
    if isinstance(first, (int, np.integer)):
        return Tensor._make(np.asarray(batch, dtype=np.int64))
    if isinstance(first, (float, np.floating)):
        return Tensor._make(np.asarray(batch, dtype=np.float64))
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate(list(items)) for items in zip(*batch))
    return batch


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        batch_size: samples per batch (``None`` yields single samples, uncollated).
        shuffle: a new random order every epoch, from ``generator`` (a NumPy
            generator or an int seed; default: stirpile's global generator).
        sampler / batch_sampler: custom orders (exclusive with ``shuffle``).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        collate_fn: how a list of samples becomes a batch (``default_collate``).

    >>> import stirpile
    >>> from stirpile.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(stirpile.arange(10).float(), stirpile.arange(10))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=4)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool = False,
        sampler: Sampler | None = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        generator: Any = None,
    ) -> None:
        if shuffle and sampler is not None:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler or drop_last):
            raise ValueError(
                "DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                "shuffle, sampler, and drop_last"
            )
        self.dataset = dataset
        self.batch_size, self.drop_last = batch_size, drop_last
        self.num_workers = num_workers  # accepted for compatibility; loading is in-process
        self.collate_fn = collate_fn
        if sampler is None:
            sampler = RandomSampler(dataset, generator) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        if batch_sampler is None and batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_sampler = batch_sampler

    def __iter__(self) -> Iterator[Any]:
        if self.batch_sampler is None:  # batch_size=None: samples one by one
            for i in self.sampler:
                yield self.dataset[int(i)]
            return
        fast = self.collate_fn is None and hasattr(self.dataset, "__getitems__")
        collate = self.collate_fn or default_collate
        for idx in self.batch_sampler:
            if fast:
                batch = self.dataset.__getitems__(idx)
                yield collate(batch) if isinstance(batch, list) else batch
            else:
                yield collate([self.dataset[int(i)] for i in idx])

    def __len__(self) -> int:
        if self.batch_sampler is None:
            return len(self.sampler)
        return len(self.batch_sampler)
