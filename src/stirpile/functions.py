"""The functional forms at the top of the package: ``stirpile.cat``, ``stirpile.where``,
``stirpile.exp``, … Most forward to the ``Tensor`` method of the same name."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from . import backend as B
from .ops import elementwise as ew
from .ops import shape as sh
from .tensor import Tensor, _as_tensor, _promote, _raw, _wrap_dim


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` is true, else ``other`` (broadcasting all three)."""
    like = input if isinstance(input, Tensor) else other
    if not isinstance(like, Tensor):
        return Tensor._make(B.xp.where(_raw(condition), input, other))
    cond = _raw(condition)
    if cond.dtype != B.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    a = input if isinstance(input, (Tensor, int, float)) else _as_tensor(input, like)
    b = other if isinstance(other, (Tensor, int, float)) else _as_tensor(other, like)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype != b.dtype:
        a, b = _promote(a, b)
    return ew.Where.apply(cond, a, b)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of tensors")
    ref = tensors[0]
    if ref.ndim == 0:
        raise RuntimeError("cat: zero-dimensional tensor cannot be concatenated")
    dim = _wrap_dim(dim, ref.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or builtins.any(
            a != b for k, (a, b) in enumerate(zip(t.shape, ref.shape)) if k != dim
        ):
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {dim}; tensor 0 has shape "
                f"{tuple(ref.shape)} but tensor {i} has shape {tuple(t.shape)}"
            )
    dtype = B.xp.result_type(*(t.dtype for t in tensors))  # promote, differentiably
    return sh.Cat.apply(*(t.to(dtype) for t in tensors), axis=dim)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack(): expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {tuple(tensors[0].shape)} "
                f"at entry 0 and {tuple(t.shape)} at entry {i}"
            )
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def maximum(a: Tensor, b: Any) -> Tensor:
    return a.maximum(b)


def minimum(a: Tensor, b: Any) -> Tensor:
    return a.minimum(b)


def one_hot(indices: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a trailing class dimension (``nn.functional.one_hot``)."""
    idx = _raw(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensors, got {idx.dtype}")
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes})")
    return Tensor._make((idx[..., None] == B.xp.arange(num_classes)).astype(B.int64))


def _method(name: str):
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``stirpile.{name}(t, …)`` is ``t.{name}(…)``."
    return fn


_METHODS = (
    "exp log log1p sqrt rsqrt abs sign sin cos tanh sigmoid relu clamp clip square neg "
    "sum mean var std max min amax amin argmax argmin logsumexp softmax log_softmax "
    "matmul mm bmm dot reshape flatten unsqueeze squeeze permute transpose split chunk "
    "unbind gather masked_fill all any norm allclose equal isnan isfinite add sub mul div pow t"
).split()

# Defined last: they shadow builtins (sum, max, any, …) in this module's namespace.
for _name in _METHODS:
    globals()[_name] = _method(_name)

true_divide = _method("div")
clone = _method("clone")
detach = _method("detach")
numel = _method("numel")

__all__ = [*_METHODS, "cat", "clone", "concat", "detach", "maximum", "minimum", "numel",
           "one_hot", "stack", "where"]  # fmt: skip
