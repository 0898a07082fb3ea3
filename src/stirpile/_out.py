"""``out=``: a function's result written into a tensor the caller gives, with PyTorch's checks.

``stirpile.add(a, b, out=c)`` computes ``a + b`` and writes it into ``c``, resizing ``c``
(with PyTorch's deprecation warning if it had elements) when the shapes differ. As in
PyTorch:

* no argument may require grad while grad mode is on (``out=`` is not differentiable);
* the dtype: a pointwise function or a sum casts its result into ``out`` when PyTorch's
  ``can_cast`` allows (no float into an integer, no number into bool); the others want
  ``out`` to have the result's dtype exactly;
* ``out`` may not have internal overlap (an expanded tensor, where several elements share
  one memory location), nor share memory with an input: a pointwise function may write
  over an input exactly (``add(a, b, out=a)``), a reduction is not checked, and
  the rest (``cat``, ``gather``, ``index_select``, …) refuse any overlap.

>>> import stirpile
>>> a = stirpile.tensor([1.0, 2.0])
>>> c = stirpile.empty(2, dtype=stirpile.float64)
>>> stirpile.add(a, a, out=c) is c, c
(True, tensor([2., 4.], dtype=stirpile.float64))
"""

from __future__ import annotations

import warnings
from typing import Any

from . import backend as B
from ._pointwise import torch_name
from .autograd import grad_mode
from .tensor import Tensor

# how each kind of function treats ``out``: (dtype rule, overlap rule)
POINTWISE = ("cast", "partial")
REDUCTION = ("cast", None)
EXACT = ("exact", None)
SELECTION = ("exact", "any")

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
# how PyTorch's messages spell the C++ types
_C_NAMES = {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool", "float16": "c10::Half"}  # fmt: skip

_INTERNAL = (
    "unsupported operation: more than one element of the written-to tensor refers to a single "
    "memory location. Please clone() the tensor before performing the operation."
)
_WITH_INPUT = (
    "unsupported operation: some elements of the input tensor and the written-to tensor refer "
    "to a single memory location. Please clone() the tensor before performing the operation."
)


def tensors_in(values: Any) -> list:
    """The tensors among ``values``, looking one level into lists and tuples."""
    found = []
    for v in values:
        if isinstance(v, Tensor):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found.extend(x for x in v if isinstance(x, Tensor))
    return found


def check_internal_overlap(out: Any) -> None:
    """PyTorch's error for writing into a tensor whose elements share memory (``expand``)."""
    a = out._data
    if any(s == 0 and n > 1 for s, n in zip(a.strides, a.shape)):
        raise RuntimeError(_INTERNAL)


def _check_dtype(rule: str, result: Any, out: Any) -> None:
    r, o = B.xp.dtype(result.dtype), B.xp.dtype(out.dtype)
    if r == o:
        return
    if rule == "exact":
        raise RuntimeError(
            f"Expected out tensor to have dtype {_C_NAMES.get(r.name, r.name)}, but got "
            f"{_C_NAMES.get(o.name, o.name)} instead"
        )
    if _CATEGORY[r.kind] > _CATEGORY[o.kind]:  # PyTorch's can_cast
        raise RuntimeError(
            f"result type {torch_name(r)} can't be cast to the desired output type {torch_name(o)}"
        )


def _check_overlap(rule: str | None, out: Any, inputs: list) -> None:
    if rule is None:
        return
    a = out._data
    for x in inputs:
        b = x._data
        if x is out or B.xp.may_share_memory(a, b):
            same = (
                a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
                and a.strides == b.strides
                and a.shape == b.shape
            )
            if not (rule == "partial" and same):
                raise RuntimeError(_WITH_INPUT)


def write(name: str, result: Any, out: Any, inputs: list, kind: tuple = SELECTION) -> Any:
    """Write ``result`` (a tensor, or a tuple of them) into ``out`` (the same structure) after
    PyTorch's checks (see the module docstring); return ``out``."""
    dtype_rule, overlap_rule = kind
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(
                f"{name}(): argument 'out' must be tuple of {len(result)} Tensors, not "
                f"{type(out).__name__}"
            )
        pairs = list(zip(result, out))
    else:
        pairs = [(result, out)]
    for r, o in pairs:
        if not isinstance(o, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(o).__name__}")
        _check_dtype(dtype_rule, r, o)
        check_internal_overlap(o)
        _check_overlap(overlap_rule, o, inputs)
    for r, o in pairs:
        if o.numel() and tuple(o.shape) != tuple(r.shape):
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(o.shape)}, which does not match the required output shape "
                f"{list(r.shape)}. This behavior is deprecated, and in a future PyTorch release "
                "outputs will not be resized unless they have zero elements. You can explicitly "
                "reuse an out tensor t by resizing it, inplace, to zero elements with "
                "t.resize_(0).",
                UserWarning,
                stacklevel=3,
            )
        o._resize_to(r._data.astype(o.dtype, copy=False))
    if isinstance(result, tuple):  # the same named tuple, holding the out tensors
        outs = [o for _, o in pairs]
        return type(result)(*outs) if hasattr(result, "_fields") else type(result)(outs)
    return out


def no_grad_check(name: str, inputs: list) -> None:
    """PyTorch's error for ``out=`` while an argument requires grad (grad mode on)."""
    if grad_mode.is_grad_enabled() and any(x.requires_grad for x in inputs):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )


def call(name: str, fn: Any, args: tuple, kwargs: dict, kind: tuple = SELECTION) -> Any:
    """``fn(*args, **kwargs)`` with its ``out=`` keyword (if any) handled here."""
    out = kwargs.pop("out", None)
    if out is None:
        return fn(*args, **kwargs)
    inputs = tensors_in((*args, *kwargs.values()))
    no_grad_check(name, inputs)
    with grad_mode.no_grad():
        result = fn(*args, **kwargs)
    return write(name, result, out, inputs, kind)
