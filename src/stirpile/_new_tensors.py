"""``t.new_zeros(…)`` and friends (new tensors with ``t``'s dtype unless told
otherwise) and the half-precision conversions ``half()`` and ``bfloat16()``.

bfloat16 is emulated (see :data:`stirpile.bfloat16`): ``t.bfloat16()`` gives a
float32 tensor holding ``t``'s values rounded to bfloat16, exactly as torch rounds
them.

>>> import stirpile
>>> x = stirpile.tensor([1.0, 2.0], dtype=stirpile.float64)
>>> x.new_zeros(2, 3).dtype == stirpile.float64
True
>>> stirpile.tensor([1.00390625, 1.01171875]).bfloat16()
tensor([1.0000, 1.0156])
"""

from __future__ import annotations

from typing import Any

from . import backend as B
from . import tensor as _T  # (being imported when this module is: used at call time only)
from .device import check as check_device
from .ops import elementwise as ew

Tensor = Any


def _dtype(self: Tensor, dtype: Any) -> Any:
    return self.dtype if dtype is None else dtype


def _finish(self: Tensor, array: Any, dtype: Any, requires_grad: bool, device: Any = None,
            layout: Any = None) -> Tensor:  # fmt: skip
    """The new tensor, after checking ``device`` (the CPU) and ``layout`` (strided), as the
    factories do."""
    from .creation import strided

    check_device(device)
    if layout is not None and layout is not strided:
        raise RuntimeError(f"layout {layout} is not supported: stirpile tensors are strided")
    if dtype is B.bfloat16:
        array = B.round_bfloat16(array)
    t = _T.Tensor._make(array)
    return t.requires_grad_() if requires_grad else t


def _size(name: str, size: tuple) -> tuple:
    if not size:
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    return _T._shape_args(size)


def new_zeros(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, layout: Any = None,
              pin_memory: bool = False) -> Tensor:  # fmt: skip
    """Zeros of ``size`` with this tensor's dtype (unless ``dtype`` is given)."""
    dt = _dtype(self, dtype)
    return _finish(self, B.xp.zeros(_size("new_zeros", size), dt), dt, requires_grad, device,
                   layout)  # fmt: skip


def new_ones(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
             requires_grad: bool = False, layout: Any = None,
             pin_memory: bool = False) -> Tensor:  # fmt: skip
    dt = _dtype(self, dtype)
    return _finish(self, B.xp.ones(_size("new_ones", size), dt), dt, requires_grad, device,
                   layout)  # fmt: skip


def new_empty(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, layout: Any = None,
              pin_memory: bool = False) -> Tensor:  # fmt: skip
    """Uninitialised values of ``size`` (zeros here)."""
    dt = _dtype(self, dtype)
    return _finish(self, B.xp.zeros(_size("new_empty", size), dt), dt, requires_grad, device,
                   layout)  # fmt: skip


def new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False, layout: Any = None,
             pin_memory: bool = False) -> Tensor:  # fmt: skip
    """``fill_value`` everywhere, in a tensor of ``size`` (a tuple or list)."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"new_full(): argument 'size' (position 1) must be tuple of ints, not "
            f"{type(size).__name__}"
        )
    dt = _dtype(self, dtype)
    array = B.xp.full(tuple(int(n) for n in size), _T._raw(fill_value), dt)
    return _finish(self, array, dt, requires_grad, device, layout)


def new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, layout: Any = None,
               pin_memory: bool = False) -> Tensor:  # fmt: skip
    """A copy of ``data`` with this tensor's dtype (unless ``dtype`` is given), whatever the
    type of ``data`` (``float_t.new_tensor([1, 2])`` is float); never in the graph."""
    dt = _dtype(self, dtype)
    return _finish(self, B.xp.array(_T._raw(data), dtype=dt), dt, requires_grad, device, layout)


def half(self: Tensor, memory_format: Any = None) -> Tensor:
    """This tensor as float16 (float64 is rounded to float32 first, as torch does, so that
    the values are bit-identical to torch's). ``memory_format`` is accepted and ignored
    (stirpile has no strided layouts to choose), as in :meth:`Tensor.float`."""
    x = self.to(B.float32) if self._data.dtype == B.float64 else self
    return x.to(B.float16)


def bfloat16(self: Tensor, memory_format: Any = None) -> Tensor:
    """The values rounded to bfloat16 (round to nearest, ties to even), as float32: the
    emulation of :data:`stirpile.bfloat16`. Differentiable. ``memory_format`` is accepted
    and ignored."""
    x = self if self._data.dtype.kind in "fc" else self.to(B.float32)
    return ew.ToBFloat16.apply(x)
