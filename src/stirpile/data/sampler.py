"""Samplers: the order in which a :class:`DataLoader` visits a dataset."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import backend as B


def as_generator(generator: np.random.Generator | int | None) -> np.random.Generator:
    """A NumPy generator from a generator, a seed, or None (stirpile's global generator)."""
    if generator is None:
        return B.rng()
    if isinstance(generator, np.random.Generator):
        return generator
    return np.random.default_rng(int(generator))


class Sampler:
    """Yields dataset indices."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source: Any) -> None:
        self.n = len(data_source)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.n))

    def indices(self) -> np.ndarray:
        return np.arange(self.n)

    def __len__(self) -> int:
        return self.n


class RandomSampler(Sampler):
    """A fresh permutation each epoch, drawn from ``generator`` (default: the global one)."""

    def __init__(self, data_source: Any, generator: Any = None) -> None:
        self.n = len(data_source)
        # an int seed becomes one generator now, so each epoch draws a new order from it
        self.generator = None if generator is None else as_generator(generator)

    def indices(self) -> np.ndarray:
        return as_generator(self.generator).permutation(self.n)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.n


class SubsetRandomSampler(Sampler):
    def __init__(self, indices: Any, generator: Any = None) -> None:
        self.idx = np.asarray(indices)
        self.generator = None if generator is None else as_generator(generator)

    def indices(self) -> np.ndarray:
        return self.idx[as_generator(self.generator).permutation(len(self.idx))]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return len(self.idx)


class BatchSampler(Sampler):
    """Groups a sampler's indices into lists of ``batch_size``."""

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[np.ndarray]:
        order = (
            self.sampler.indices()
            if hasattr(self.sampler, "indices")
            else np.fromiter(iter(self.sampler), dtype=np.int64)
        )
        n, b = len(order), self.batch_size
        stop = n - n % b if self.drop_last else n
        for start in range(0, stop, b):
            yield order[start : start + b]

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
