"""Random number generators, as in PyTorch: ``Generator``, ``manual_seed`` and the state.

A :class:`Generator` wraps a NumPy ``Generator`` (PCG64). Every random
function of stirpile takes ``generator=``; without it, it draws from
``default_generator``, which :func:`manual_seed` reseeds. The numbers differ
from PyTorch's (another algorithm), but a seed gives the same numbers on every
run and machine.

>>> import stirpile
>>> g = stirpile.Generator().manual_seed(0)
>>> a = stirpile.rand(3, generator=g)
>>> _ = g.manual_seed(0)
>>> bool((stirpile.rand(3, generator=g) == a).all())
True
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import backend as B
from .device import check
from .tensor import Tensor


def _seed_value(seed: Any) -> int:
    """PyTorch's accepted seeds: integers in [-2⁶³, 2⁶⁴); negative ones wrap modulo 2⁶⁴."""
    if isinstance(seed, (float, np.floating)) or isinstance(seed, bool):
        raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
    seed = int(seed)  # a str that is not a number raises ValueError, as in PyTorch
    if not -(2**63) <= seed < 2**64:
        raise ValueError("Overflow when unpacking long long")
    return seed % 2**64


class Generator:
    """A seedable source of random numbers (PyTorch's ``torch.Generator``)."""

    def __init__(self, device: Any = "cpu") -> None:
        self.device = check(device)
        self._np = np.random.default_rng()
        self.seed()

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed``; returns the generator itself."""
        self._initial = _seed_value(seed)
        self._np = np.random.default_rng(self._initial)
        return self

    def seed(self) -> int:
        """Reseed from the OS's entropy and return the seed chosen."""
        s = int(np.random.SeedSequence().entropy % 2**63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._initial

    def get_state(self) -> Tensor:
        """The full state as a uint8 tensor (PyTorch's ByteTensor), for :meth:`set_state`."""
        state = {"seed": self._initial, "bit_generator": self._np.bit_generator.state}
        return Tensor._make(np.frombuffer(json.dumps(state).encode(), dtype=np.uint8).copy())

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state from :meth:`get_state` (a dict from older stirpile works too)."""
        state = _decode(new_state)
        self._np = B.generator_from_state(state["bit_generator"])
        self._initial = state.get("seed", self._initial)
        return self

    def __repr__(self) -> str:
        return f"<stirpile.Generator object, device='{self.device}', seed={self._initial}>"


def _decode(state: Any) -> dict:
    if isinstance(state, dict):  # the NumPy bit generator's own dict (stirpile ≤ 0.1)
        return state if "bit_generator" in state and "seed" in state else {"bit_generator": state}
    array = state._data if isinstance(state, Tensor) else np.asarray(state)
    if array.dtype != np.uint8 or array.ndim != 1:
        raise RuntimeError(
            f"set_state: expected a 1-D uint8 tensor from get_state(), got dtype {array.dtype} "
            f"and shape {tuple(array.shape)}"
        )
    try:
        return json.loads(array.tobytes().decode())
    except ValueError:
        raise RuntimeError("set_state: not a generator state from get_state()") from None


default_generator = Generator()
B._default = default_generator  # what backend.rng() draws from


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (every random function without ``generator=``)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from the OS's entropy; return the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    default_generator.set_state(new_state)


@contextmanager
def fork_rng(devices: Any = None, enabled: bool = True, **kwargs: Any) -> Iterator[None]:
    """Run a block with the default generator's state restored afterwards."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state",
           "initial_seed", "manual_seed", "seed", "set_rng_state"]  # fmt: skip
