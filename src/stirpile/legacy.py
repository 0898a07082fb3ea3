"""PyTorch's legacy tensor types: ``FloatTensor``, ``LongTensor``, … and ``Tensor.type``.

Old code and many tutorials still write ``torch.FloatTensor([1, 2])``,
``torch.LongTensor(3)``, ``x.type(torch.FloatTensor)`` or
``isinstance(x, torch.LongTensor)``. Each name here is a class that builds a
tensor of its dtype (``(data)`` copies data, ``(n, m)`` makes zeros of that
shape) and that ``isinstance`` matches by dtype, as in PyTorch. The type
strings are PyTorch's (``"torch.FloatTensor"``), so comparisons copied from
PyTorch code hold.

>>> import stirpile
>>> stirpile.LongTensor([1.7, 2]).tolist()
[1, 2]
>>> stirpile.tensor([1.0]).type()
'torch.FloatTensor'
>>> isinstance(stirpile.zeros(2), stirpile.FloatTensor)
True
"""

from __future__ import annotations

from typing import Any

from . import backend as B
from .tensor import Tensor

_TYPES = {B.torch_name(dtype) + "Tensor": dtype for dtype in B._TORCH_NAMES}  # FloatTensor, …
_NAME_OF = {dtype: name for name, dtype in _TYPES.items()}


class _TensorType(type):
    """``isinstance(t, FloatTensor)`` is true for any float32 tensor."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


def _new(cls: Any, *args: Any, device: Any = None) -> Tensor:
    from .creation import _finish, _to_array

    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype != cls.dtype:
            raise TypeError(
                f"expected {cls.__name__} of dtype {B.dtype_name(cls.dtype)} "
                f"(got a tensor of {B.dtype_name(args[0].dtype)})"
            )
        return args[0]
    if args and all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return _finish(B.xp.zeros(args, cls.dtype), False, device)  # sizes, not data
    if not args:
        return _finish(B.xp.zeros((0,), cls.dtype), False, device)
    if len(args) > 1:
        raise TypeError(f"{cls.__name__}(): expected sizes (ints) or one sequence of data")
    data = args[0]
    if isinstance(data, (int, float, bool)):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
    return _finish(_to_array(data, cls.dtype), False, device)


for _name, _dtype in _TYPES.items():
    globals()[_name] = _TensorType(_name, (), {"dtype": _dtype, "__new__": _new})


def type_name(dtype: Any) -> str:
    """PyTorch's type string of a dtype: ``"torch.FloatTensor"``."""
    return "torch." + _NAME_OF.get(B.xp.dtype(dtype), str(dtype))


def dtype_of(type_: Any) -> Any:
    """The dtype a ``Tensor.type(...)`` argument names: a legacy class, its string
    (``"torch.LongTensor"``), or a dtype."""
    if isinstance(type_, _TensorType):
        return type_.dtype
    if isinstance(type_, str):
        name = type_.rsplit(".", 1)[-1]
        if name not in _TYPES:
            raise ValueError(f"invalid type: '{type_}'")
        return _TYPES[name]
    return B.xp.dtype(type_)


__all__ = list(_TYPES)
