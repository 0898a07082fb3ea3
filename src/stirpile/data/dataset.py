"""Datasets, as in ``torch.utils.data.dataset``: map-style (``__getitem__`` and
``__len__``) and iterable-style (``__iter__``), and the ways to combine them.

A :class:`DataLoader` with the default collation reads a batch of a
:class:`TensorDataset` (or of a :class:`Subset` of one) with one fancy-indexing call per
tensor (:func:`gather`) instead of a Python loop over samples; the batch is the same as
collating the samples one by one.
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from ..tensor import Tensor
from .sampler import as_generator

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """Base class of map-style datasets: subclasses define ``__getitem__(key)`` and usually
    ``__len__()``; they may define ``__getitems__(keys)`` returning a list of samples."""

    def __getitem__(self, index: Any) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset[T_co]) -> ConcatDataset[T_co]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co], Iterable[T_co]):
    """Base class of datasets that are streams: subclasses define ``__iter__``. In a
    :class:`DataLoader` with ``num_workers > 0`` each worker iterates its own copy, so
    ``__iter__`` should use :func:`get_worker_info` to read only its share.

    >>> class Count(IterableDataset):
    ...     def __iter__(self):
    ...         return iter(range(3))
    >>> list(Count() + Count())
    [0, 1, 2, 0, 1, 2]
    """

    def __add__(self, other: Dataset[T_co]) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))


class TensorDataset(Dataset[tuple]):
    """Samples are rows of the given tensors (or arrays): ``ds[i] = (t0[i], t1[i], …)``.

    >>> import stirpile
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
                    f"TensorDataset: Size mismatch between tensors: tensor 0 has {n} rows, "
                    f"tensor {i} has {len(t)}"
                )

    def __getitem__(self, index: Any) -> tuple:
        return tuple(Tensor._make(t._data[index]) for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])


class StackDataset(Dataset):
    """Several datasets of one length side by side: ``StackDataset(a, b)[i] == (a[i], b[i])``
    and ``StackDataset(x=a, y=b)[i] == {"x": a[i], "y": b[i]}``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError(
                "Supported either ``tuple``- (via ``args``) or"
                "``dict``- (via ``kwargs``) like input/output, but both types are given."
            )
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        parts = list(args or kwargs.values())
        self._length = len(parts[0])
        if any(self._length != len(d) for d in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets: tuple | dict = args or kwargs

    def __getitem__(self, index: Any) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        named = isinstance(self.datasets, dict)
        items = self.datasets.items() if named else enumerate(self.datasets)
        columns = {}
        for key, d in items:
            getitems = getattr(d, "__getitems__", None)
            column = getitems(indices) if callable(getitems) else [d[i] for i in indices]
            if len(column) != len(indices):
                raise ValueError(
                    "Nested dataset's output size mismatch."
                    f" Expected {len(indices)}, got {len(column)}"
                )
            columns[key] = column
        rows = zip(*columns.values())
        return [dict(zip(columns, row)) for row in rows] if named else [tuple(r) for r in rows]

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset[T_co]):
    """Several map-style datasets one after another."""

    @staticmethod
    def cumsum(sequence: Iterable[Any]) -> list[int]:
        return list(itertools.accumulate(len(d) for d in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> T_co:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        if index >= len(self):
            raise IndexError(f"index {index} out of range for ConcatDataset of size {len(self)}")
        d = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][index - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets one after another, chained as they are read."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)  # type: ignore[arg-type]
        return total


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order (``indices`` is kept as
    given). A subclass that overrides ``__getitem__`` must override ``__getitems__`` too."""

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        self._cache: tuple[Any, np.ndarray] | None = None
        if (
            type(self).__getitem__ is not Subset.__getitem__
            and type(self).__getitems__ is Subset.__getitems__
        ):
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__. "
                "When subclassing Subset and overriding __getitem__, you must also override "
                "__getitems__ to ensure DataLoader works correctly with your custom logic. "
                "A simple implementation:\n\n"
                "def __getitems__(self, indices):\n"
                "    return [self.__getitem__(idx) for idx in indices]"
            )

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: list[int]) -> list:
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def _index_array(self) -> np.ndarray:
        """``indices`` as an int64 array, converted once per ``indices`` object."""
        if self._cache is None or self._cache[0] is not self.indices:
            self._cache = (self.indices, np.asarray(self.indices, dtype=np.int64))
        return self._cache[1]

    def __len__(self) -> int:
        return len(self.indices)


def gatherable(dataset: Any) -> bool:
    """Whether :func:`gather` reads batches of ``dataset``."""
    kind = type(dataset)
    if isinstance(dataset, TensorDataset):
        return kind.__getitem__ is TensorDataset.__getitem__
    return (isinstance(dataset, Subset) and kind.__getitems__ is Subset.__getitems__
            and gatherable(dataset.dataset))  # fmt: skip


def gather(dataset: Any, indices: Any) -> list[Tensor] | None:
    """The default-collated batch of ``dataset`` at ``indices`` by one gather per tensor,
    when ``dataset`` is a :class:`TensorDataset` (or a :class:`Subset` of one) that does not
    override how samples are read; ``None`` otherwise."""
    kind = type(dataset)
    if isinstance(dataset, TensorDataset) and kind.__getitem__ is TensorDataset.__getitem__:
        idx = np.asarray(indices, dtype=np.int64)
        return [Tensor._make(t._data[idx]) for t in dataset.tensors]
    if isinstance(dataset, Subset) and kind.__getitems__ is Subset.__getitems__:
        return gather(dataset.dataset, dataset._index_array()[np.asarray(indices, np.int64)])
    return None


def random_split(dataset: Any, lengths: Sequence[int | float],
                 generator: Any = None) -> list[Subset]:  # fmt: skip
    """Split ``dataset`` into non-overlapping random subsets of the given ``lengths``.

    Fractions summing to 1 become ``floor(f * len(dataset))`` items each, the remainder
    then handed out one at a time round-robin from the first split (PyTorch's rule).
    ``generator`` (default: the default generator; an int seed is accepted too) draws the
    permutation.

    >>> import stirpile
    >>> g = stirpile.Generator().manual_seed(0)
    >>> [len(s) for s in random_split(range(10), [0.33, 0.33, 0.34], generator=g)]
    [4, 3, 3]
    """
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(math.floor(n * frac))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
        lengths = counts
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = as_generator(generator).permutation(n).tolist()
    ends = itertools.accumulate(int(k) for k in lengths)
    return [Subset(dataset, perm[end - int(k) : end]) for end, k in zip(ends, lengths)]


__all__ = ["ChainDataset", "ConcatDataset", "Dataset", "IterableDataset", "StackDataset",
           "Subset", "TensorDataset", "random_split"]  # fmt: skip
