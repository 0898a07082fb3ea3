"""Making tensors: ``tensor`` from data, and the factories (``zeros``, ``randn``, …).

Dtype rules follow PyTorch: Python floats become the default float dtype
(float32), Python ints become int64, bools stay bool; a NumPy array keeps its
dtype (``tensor(np.float64 array)`` is float64, as ``torch.tensor`` does).
Random factories draw from the one global generator (:func:`manual_seed`).
"""

from __future__ import annotations

from typing import Any

from . import backend as B
from .tensor import Tensor, _shape_args


def _to_array(data: Any, dtype: Any) -> Any:
    """A fresh backend array from nested lists, numbers, arrays or tensors."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        return B.xp.array(data, dtype=dtype)
    if isinstance(data, B.ndarray):
        return data.copy()
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        data = [x._data if isinstance(x, Tensor) else x for x in data]
    arr = B.xp.array(data)
    if arr.dtype.kind == "f":
        return arr.astype(B.get_default_dtype(), copy=False)
    if arr.dtype.kind in "iu":
        return arr.astype(B.int64, copy=False)
    if arr.dtype.kind not in "bc":
        raise TypeError(f"tensor(): can't make a tensor from data of type {arr.dtype}")
    return arr


def _finish(array: Any, requires_grad: bool) -> Tensor:
    t = Tensor._make(array)
    return t.requires_grad_() if requires_grad else t


def _float(dtype: Any) -> Any:
    return B.get_default_dtype() if dtype is None else B.xp.dtype(dtype)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new tensor holding a copy of ``data``.

    >>> import stirpile
    >>> stirpile.tensor([1.5, 2.0]).dtype == stirpile.float32
    True
    >>> stirpile.tensor([1, 2]).dtype == stirpile.int64
    True
    """
    return _finish(_to_array(data, dtype), requires_grad)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """Like :func:`tensor`, but shares memory with a NumPy array (or tensor) when it can."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    if isinstance(data, B.ndarray) and (dtype is None or data.dtype == dtype):
        return Tensor._make(data)
    return tensor(data, dtype)


def from_numpy(array: Any) -> Tensor:
    """A tensor sharing memory with ``array``."""
    return Tensor._make(array)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(B.xp.zeros(_shape_args(size), _float(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(B.xp.ones(_shape_args(size), _float(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(B.xp.empty(_shape_args(size), _float(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = _to_array(fill_value, None).dtype
    return _finish(B.xp.full(_shape_args((size,)), fill_value, dtype), requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype)


def empty_like(t: Tensor, dtype: Any = None) -> Tensor:
    return empty(t.shape, dtype=dtype or t.dtype)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``arange(5)`` → 0…4 (int64); any float argument makes it float32, as in PyTorch."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = B.get_default_dtype() if is_float else B.int64
    return _finish(B.xp.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:  # fmt: skip
    return _finish(B.xp.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(B.xp.eye(n, m, dtype=_float(dtype)), requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from the global generator."""
    d = _float(dtype)
    return _finish(B.rng().random(_shape_args(size), dtype=d), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the global generator."""
    d = _float(dtype)
    return _finish(B.rng().standard_normal(_shape_args(size), dtype=d), requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None) -> Tensor:
    """Integers in [low, high) (``randint(high, size)`` also works, as in PyTorch)."""
    if high is None or isinstance(high, (tuple, list)):
        low, high, size = 0, low, high if high is not None else size
    d = B.int64 if dtype is None else B.xp.dtype(dtype)
    return Tensor._make(B.rng().integers(low, high, _shape_args((size,)), dtype=d))


def randperm(n: int, dtype: Any = None) -> Tensor:
    return Tensor._make(B.rng().permutation(n).astype(dtype or B.int64))


def rand_like(t: Tensor, dtype: Any = None) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype)


def randn_like(t: Tensor, dtype: Any = None) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype)
