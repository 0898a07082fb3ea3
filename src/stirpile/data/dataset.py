"""Datasets: anything with ``__len__`` and ``__getitem__``, as in PyTorch.

Datasets that hold whole arrays (``TensorDataset``) also answer
``__getitems__(indices)`` with a ready batch, so a :class:`DataLoader` fetches
a batch with one fancy-indexing call per tensor instead of a Python loop over
samples.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor


class Dataset:
    """Base class: subclasses define ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


def _as_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor._make(np.asarray(x))


class TensorDataset(Dataset):
    """Samples are rows of the given tensors (or arrays): ``ds[i] = (t0[i], t1[i], …)``.

    >>> import stirpile
    >>> from stirpile.data import TensorDataset
    >>> ds = TensorDataset(stirpile.zeros(10, 3), stirpile.arange(10))
    >>> len(ds), ds[2][1].item()
    (10, 2)
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(_as_tensor(t) for t in tensors)
        n = len(self.tensors[0])
        for i, t in enumerate(self.tensors):
            if len(t) != n:
                raise ValueError(
                    f"TensorDataset: size mismatch between tensors: tensor 0 has {n} rows, "
                    f"tensor {i} has {len(t)}"
                )

    def __getitem__(self, index: int) -> tuple:
        return tuple(Tensor._make(t._data[index]) for t in self.tensors)

    def __getitems__(self, indices: Any) -> tuple:
        """A whole batch at once (one gather per tensor)."""
        idx = np.asarray(indices)
        return tuple(Tensor._make(t._data[idx]) for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices: Any) -> Any:
        picked = self.indices[np.asarray(indices)]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(picked)
        return [self.dataset[int(i)] for i in picked]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for ConcatDataset of size {len(self)}")
        d = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][index - start]


def random_split(
    dataset: Any, lengths: Sequence[float], generator: np.random.Generator | int | None = None
) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths (or fractions summing
    to 1, the remainder going round-robin as in PyTorch). Seeded by ``generator``."""
    from .sampler import as_generator

    n = len(dataset)
    if all(0 <= f <= 1 for f in lengths) and abs(sum(lengths) - 1) < 1e-9 and sum(lengths) != n:
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(c) for c in lengths]
    if sum(counts) != n:
        raise ValueError(
            f"random_split: sum of input lengths ({sum(counts)}) does not equal the length of "
            f"the dataset ({n})"
        )
    perm = as_generator(generator).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, perm[a:b]) for a, b in itertools.pairwise(bounds)]
