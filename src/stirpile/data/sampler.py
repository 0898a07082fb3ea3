"""Samplers: the order in which a :class:`DataLoader` visits a dataset
(``torch.utils.data.sampler``).

Every ``generator=`` takes what PyTorch takes, ``None`` (the default generator, which
``stirpile.manual_seed`` reseeds) or a ``stirpile.Generator``, and also a NumPy
``Generator``; all are read through ``stirpile.backend.numpy_rng`` at each draw, so a
generator reseeded after the sampler was built is followed. For backward compatibility an
int is accepted too: it becomes one private NumPy generator seeded with it, so each epoch
draws a new order from that stream (PyTorch itself takes no int here).

The built-in samplers draw a whole epoch's order as one NumPy array (``_order``), at the
first ``next()``; :class:`BatchSampler` slices that array instead of pulling indices one by
one. They make PyTorch's draws in PyTorch's order (the same kinds and counts of draws), so
the numbers differ from PyTorch's only because the generators do.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

from .. import backend as B
from ..creation import multinomial
from ..tensor import Tensor

T_co = TypeVar("T_co", covariant=True)


def _is_seed(generator: Any) -> bool:
    return isinstance(generator, (int, np.integer)) and not isinstance(generator, bool)


def as_generator(generator: Any) -> np.random.Generator:
    """The NumPy generator to draw from now: ``None`` → the default generator's, a
    ``stirpile.Generator`` or NumPy ``Generator`` → through ``numpy_rng``, an int → a new
    NumPy generator seeded with it (kept for backward compatibility)."""
    if _is_seed(generator):
        return np.random.default_rng(int(generator))
    return B.numpy_rng(generator)


def own_generator(generator: Any) -> Any:
    """What an object that draws every epoch keeps: an int seed becomes one NumPy generator
    now; anything else is kept as given (after checking that ``numpy_rng`` accepts it)."""
    if _is_seed(generator):
        return np.random.default_rng(int(generator))
    if generator is not None:
        B.numpy_rng(generator)  # a TypeError now rather than at the first epoch
    return generator


def draw_seed(generator: Any = None) -> int:
    """One int64 seed in [0, 2⁶³) from ``generator`` (PyTorch's ``empty((), int64).random_()``)."""
    return int(B.numpy_rng(generator).integers(0, 2**63))


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class Sampler(Generic[T_co]):
    """Base class: ``__iter__`` yields dataset indices (or lists of them, for a batch
    sampler); ``__len__`` says how many, where known."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


def _iter_order(self: Any) -> Iterator[int]:
    yield from self._order().tolist()  # drawn at the first next(), as PyTorch's generators


class SequentialSampler(Sampler[int]):
    """``0, 1, …, len(data_source) - 1``, every epoch.

    >>> list(SequentialSampler(range(4)))
    [0, 1, 2, 3]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _order(self) -> np.ndarray:
        return np.arange(len(self.data_source))

    __iter__ = _iter_order

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Random indices into ``data_source``: a fresh permutation each epoch, or with
    ``replacement=True`` ``num_samples`` independent uniform draws. Without replacement and
    ``num_samples > len(data_source)``, whole permutations follow one another.

    Without a ``generator`` each epoch draws a seed from the default generator and shuffles
    with a private generator seeded with it (as PyTorch does); with one, it draws from it.

    >>> import stirpile
    >>> g = stirpile.Generator().manual_seed(0)
    >>> sorted(RandomSampler(range(5), generator=g))
    [0, 1, 2, 3, 4]
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Any = None) -> None:  # fmt: skip
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = own_generator(generator)
        if not isinstance(replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                "num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _order(self) -> np.ndarray:
        n, k = len(self.data_source), self.num_samples
        if self.generator is None:
            rng = np.random.default_rng(draw_seed())
        else:
            rng = B.numpy_rng(self.generator)
        # PyTorch's draws, in its order: integers in chunks of 32; whole permutations and
        # one more cut short (drawn even when empty), so a seed gives the same stream
        if self.replacement:
            chunks = [rng.integers(0, n, 32) for _ in range(k // 32)]
            return np.concatenate([*chunks, rng.integers(0, n, k % 32)])
        perms = [rng.permutation(n) for _ in range(k // n)]
        perms.append(rng.permutation(n)[: k % n])
        return perms[0] if len(perms) == 2 and not len(perms[1]) else np.concatenate(perms)

    __iter__ = _iter_order

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given ``indices`` in a random order each epoch (drawn from ``generator``).

    >>> sorted(SubsetRandomSampler([7, 3, 5]))
    [3, 5, 7]
    """

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = own_generator(generator)

    def __iter__(self) -> Iterator[int]:
        perm = B.numpy_rng(self.generator).permutation(len(self.indices))
        for i in perm.tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices into ``weights``, index ``i`` drawn with probability
    ``weights[i] / sum(weights)`` (the weights need not sum to one). Without replacement an
    index is drawn at most once per epoch.

    >>> import stirpile
    >>> g = stirpile.Generator().manual_seed(0)
    >>> set(WeightedRandomSampler([0.0, 1.0, 0.0], 4, generator=g))
    {1}
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:  # fmt: skip
        if not _positive_int(num_samples):
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        w = weights._data if isinstance(weights, Tensor) else weights
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}"
            )
        self.weights = Tensor._make(w)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = own_generator(generator)

    def _order(self) -> np.ndarray:
        if not len(self.weights):  # (stirpile.multinomial cannot reshape an empty row)
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        picks = multinomial(self.weights, self.num_samples, self.replacement,
                            generator=self.generator)  # fmt: skip
        return picks._data

    __iter__ = _iter_order

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the last, shorter
    list is dropped when ``drop_last``.

    >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=True))
    [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    """

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:  # fmt: skip
        if not _positive_int(batch_size):
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _whole_epochs(self) -> bool:
        """Whether the sampler draws an epoch's order as one array (see :meth:`_arrays`)."""
        return getattr(type(self.sampler), "__iter__", None) is _iter_order

    def _arrays(self) -> Iterator[np.ndarray]:
        """The batches as slices of the sampler's order array (when :meth:`_whole_epochs`)."""
        order, b = self.sampler._order(), self.batch_size
        stop = len(order) - len(order) % b if self.drop_last else len(order)
        for start in range(0, stop, b):
            yield order[start : start + b]

    def __iter__(self) -> Iterator[list[int]]:
        if self._whole_epochs():
            for batch in self._arrays():
                yield batch.tolist()
            return
        b, it = self.batch_size, iter(self.sampler)
        if self.drop_last:
            for batch in zip(*[it] * b):
                yield [*batch]
        else:
            batch = [*itertools.islice(it, b)]
            while batch:
                yield batch
                batch = [*itertools.islice(it, b)]

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]  # fmt: skip
