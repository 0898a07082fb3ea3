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


# PyTorch's names of dtypes in its messages and legacy types ("Float", "FloatTensor")
_TORCH_NAMES = {float32: "Float", float64: "Double", float16: "Half", int64: "Long",
                int32: "Int", np.dtype(np.int16): "Short", int8: "Char", uint8: "Byte",
                bool_: "Bool"}  # fmt: skip


def torch_name(dtype) -> str:
    """``Float``, ``Long``, …: how PyTorch names a dtype in its error messages."""
    dtype = np.dtype(dtype)
    return _TORCH_NAMES.get(dtype, dtype.name)


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


# The default generator's NumPy generator is what every random function draws from when it
# is given no ``generator=``. ``stirpile.random`` puts its ``default_generator`` here at import
# (this module cannot import it: it sits above ``Tensor``).
class _Unseeded:
    _np = np.random.default_rng()


_default = _Unseeded()


def rng() -> np.random.Generator:
    """The default generator's NumPy generator (read it through this function: reseeding
    swaps it)."""
    return _default._np


def numpy_rng(generator=None) -> np.random.Generator:
    """The NumPy generator behind a ``generator=`` argument: ``None`` (the default
    generator), a ``stirpile.Generator``, or a NumPy ``Generator`` (accepted as well)."""
    if generator is None:
        return _default._np
    np_gen = getattr(generator, "_np", None)
    if isinstance(np_gen, np.random.Generator):
        return np_gen
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(
        f"generator must be a stirpile.Generator (or None), got {type(generator).__name__}"
    )


def get_rng_state() -> dict:
    """The default generator's state as a JSON-serialisable dict (checkpoints store it)."""
    return _default._np.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore the default generator's state from :func:`get_rng_state`."""
    _default._np = generator_from_state(state)


def generator_from_state(state: dict) -> np.random.Generator:
    """A NumPy generator in the state ``state`` (a bit generator's ``.state`` dict)."""
    bitgen = getattr(np.random, state["bit_generator"])()
    bitgen.state = state
    return np.random.Generator(bitgen)


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


class finfo:
    """Machine limits of a floating-point dtype (default: the default dtype), as
    ``torch.finfo``: ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``),
    ``resolution`` (``10^−precision``), all Python numbers.

    >>> finfo(float32).eps, finfo(float16).max
    (1.1920928955078125e-07, 65504.0)
    """

    def __init__(self, type=None) -> None:
        f = np.finfo(_default_float if type is None else type)
        self.bits, self.dtype = int(f.bits), f.dtype.name
        self.eps, self.max, self.min = float(f.eps), float(f.max), float(f.min)
        self.tiny = self.smallest_normal = float(f.smallest_normal)
        self.resolution = 10.0 ** -int(f.precision)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")  # fmt: skip


class iinfo:
    """Machine limits of an integer dtype, as ``torch.iinfo``: ``bits``, ``max``, ``min``.

    >>> iinfo(int64).max
    9223372036854775807
    """

    def __init__(self, type) -> None:
        i = np.iinfo(type)
        self.bits, self.max, self.min = int(i.bits), int(i.max), int(i.min)
        self.dtype = i.dtype.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def keep_freed_memory() -> bool:
    """Have glibc's ``malloc`` keep freed blocks for reuse instead of handing them back to
    the kernel; called once when stirpile is imported (Linux with glibc only; the
    environment variable ``STIRPILE_RELEASE_MEMORY=1`` switches it off). Returns whether
    the setting was made.

    Why: NumPy takes each array over 128 KiB from ``malloc``, which by default maps such a
    block fresh from the kernel and unmaps it when freed (and trims the heap's top past
    128 KiB). A training step frees its activations and allocates them again at the
    next step, so every page of every large array faults in again, zero-filled by the
    kernel, at every step. Measured on LeNet-5 (batch 64, 1 thread): 26 ms a step by
    default, 11 ms with freed memory kept; memory use stays at the peak of a step, as
    with PyTorch's allocator (whose process already runs this way).
    """
    import ctypes
    import os
    import sys

    if not sys.platform.startswith("linux") or os.environ.get("STIRPILE_RELEASE_MEMORY") == "1":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 256 << 20)  # blocks under 256 MiB: the heap
        return bool(ok and libc.mallopt(m_trim_threshold, 1 << 30))  # give back past 1 GiB
    except (OSError, AttributeError):  # not glibc (musl, …): nothing to tune
        return False


MALLOC_TUNED = keep_freed_memory()


class _BFloat16:
    """``stirpile.bfloat16``. NumPy has no bfloat16, so stirpile *emulates* it: a bfloat16
    tensor is a float32 tensor whose values were rounded to bfloat16 (8 exponent bits, 7
    mantissa bits), and ``dtype`` reports float32. Conversion rounds exactly as torch's
    ``.bfloat16()`` does (see :func:`round_bfloat16`); later arithmetic is float32, not
    re-rounded after each op. NumPy reads this object as float32 (``np.dtype(bfloat16)``),
    so ``zeros(2, dtype=bfloat16)`` works."""

    dtype = float32
    is_floating_point = True
    itemsize = 2

    def __repr__(self) -> str:
        return "stirpile.bfloat16"


bfloat16 = _BFloat16()


def round_bfloat16(a) -> np.ndarray:
    """``a`` rounded to the nearest bfloat16, ties to even, returned as float32: torch's
    conversion, bit for bit. float64 is first rounded to float32, as torch does; overflow
    gives ±inf, nan stays nan, subnormals round like any other value (no flush to zero).
    On the float32 bits: add 0x7FFF plus the lowest kept bit, then clear the low 16 bits.

    >>> round_bfloat16(np.array([1.00390625, 1.01171875, 3.4e38], np.float32))
    array([1.      , 1.015625,      inf], dtype=float32)
    """
    x = np.asarray(a, dtype=np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    kept = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    out = kept.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), np.float32(np.nan), out)
