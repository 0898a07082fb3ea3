"""The array backend: the one place that names the array library.

Everything above this module gets its arrays, dtypes and random numbers from
here, so another array namespace (CuPy, say) is a change to this file, not a
rewrite. Today the namespace is NumPy.
"""

from __future__ import annotations

import numpy as np

xp = np
"""The array namespace every op computes with."""

ndarray = np.ndarray

# dtypes, under PyTorch's names. They are NumPy dtype objects, so they compare
# equal to ``np.float32`` and friends.
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

_NAMES = {
    float32: "float32",
    float64: "float64",
    float16: "float16",
    int64: "int64",
    int32: "int32",
    int8: "int8",
    uint8: "uint8",
    bool_: "bool",
}

_default_float = float32


def dtype_name(dtype: np.dtype) -> str:
    """PyTorch's spelling of a dtype: ``stirpile.float32``."""
    return "stirpile." + _NAMES.get(np.dtype(dtype), str(dtype))


def get_default_dtype() -> np.dtype:
    """The floating dtype new tensors get from Python floats (float32 unless changed)."""
    return _default_float


def set_default_dtype(dtype) -> None:
    """Set the floating dtype for tensors made from Python floats: float32 or float64."""
    global _default_float
    dtype = np.dtype(dtype)
    if dtype not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got {dtype}")
    _default_float = dtype


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


# One global generator, like torch's default generator. ``manual_seed`` replaces it,
# so the same seed gives the same numbers on every run and machine.
_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global random generator; returns it (PyTorch returns its Generator too)."""
    global _rng
    _rng = np.random.default_rng(int(seed))
    return _rng


def seed() -> int:
    """Seed the global generator from OS entropy and return the seed used."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def rng() -> np.random.Generator:
    """The global generator (read it through this function: ``manual_seed`` swaps it)."""
    return _rng


def get_rng_state() -> dict:
    """The global generator's state, JSON-serialisable (for checkpoints and resume)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore the global generator's state from :func:`get_rng_state`."""
    global _rng
    bitgen = getattr(np.random, state["bit_generator"])()
    bitgen.state = state
    _rng = np.random.Generator(bitgen)


_thread_limiter = None


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the BLAS and OpenMP pools behind the array library (PyTorch's
    ``torch.set_num_threads``). Small matrix products gain little from threads, and on a
    busy machine multithreaded OpenBLAS can be many times slower than one thread.
    Needs ``threadpoolctl`` (installed with the ``train`` extra); a no-op without it."""
    global _thread_limiter
    if n < 1:
        raise ValueError(f"set_num_threads: need at least one thread, got {n}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    if _thread_limiter is not None:
        _thread_limiter.restore_original_limits()
    _thread_limiter = threadpool_limits(limits=int(n))
