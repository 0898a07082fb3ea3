"""The functional forms at the top of the package: ``stirpile.cat``, ``stirpile.where``,
``stirpile.exp``, … Most forward to the ``Tensor`` method of the same name."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Sequence
from typing import Any

from . import _out
from . import backend as B

# PyTorch's wider surface, re-exported through ``_MORE`` below (hence the noqa: ruff
# cannot see a name used through ``globals()``)
from ._indexing import (  # noqa: F401
    argwhere,
    diag,
    diagonal,
    flip,
    fliplr,
    flipud,
    index_add,
    index_fill,
    index_select,
    masked_select,
    meshgrid,
    moveaxis,
    movedim,
    narrow,
    nonzero,
    repeat_interleave,
    roll,
    scatter,
    scatter_add,
    take_along_dim,
    trace,
    tril,
    triu,
)
from ._pointwise import (  # noqa: F401
    acos,
    addcdiv,
    addcmul,
    arccos,
    arcsin,
    arctan,
    arctan2,
    asin,
    atan,
    atan2,
    ceil,
    clamp_max,
    clamp_min,
    cosh,
    erf,
    erfc,
    exp2,
    expm1,
    fix,
    floor,
    fmod,
    frac,
    hypot,
    isclose,
    isinf,
    isneginf,
    isposinf,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logit,
    nan_to_num,
    round,
    sgn,
    sinh,
    tan,
    trunc,
    xlogy,
)
from ._products import addmm, baddbmm, einsum, ger, outer  # noqa: F401
from ._reductions import (  # noqa: F401
    aminmax,
    argsort,
    count_nonzero,
    cumprod,
    cumsum,
    median,
    nanmean,
    nansum,
    prod,
    sort,
    std_mean,
    topk,
    var_mean,
)
from .ops import elementwise as ew
from .ops import shape as sh
from .tensor import _CATEGORY, Tensor, _as_tensor, _promote, _raw, _wrap_dim


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` is true, else ``other`` (broadcasting all three).

    Python numbers take PyTorch's dtypes: alone, bool / int64 / the default float dtype;
    beside a tensor, the tensor's dtype unless the number is of a higher kind (a float
    beside an integer tensor gives the default float dtype)."""
    cond = _raw(condition)
    if getattr(cond, "dtype", None) != B.bool_:
        raise RuntimeError(
            "where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{B.xp.asarray(cond).dtype}"
        )
    like = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
    a, b = _where_operand(input, like), _where_operand(other, like)
    if a.dtype != b.dtype:
        a, b = _promote(a, b)
    return ew.Where.apply(cond, a, b)


def _where_operand(x: Any, like: Tensor | None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float)):
        kind = B.bool_ if isinstance(x, bool) else B.int64 if isinstance(x, int) else None
        dtype = kind or B.get_default_dtype()
        if like is not None and _CATEGORY[dtype.kind] <= _CATEGORY[like.dtype.kind]:
            dtype = like.dtype
        return Tensor._make(B.xp.asarray(x, dtype=dtype))
    return _as_tensor(x, like) if like is not None else Tensor._make(B.xp.asarray(x))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension, promoting their dtypes (PyTorch's rules).
    As in PyTorch, 1-d empty tensors (shape ``(0,)``) are skipped whatever the others'
    shape (a legacy rule that lets ``cat`` start from ``torch.tensor([])``)."""
    if isinstance(tensors, Tensor):
        raise TypeError(
            "cat(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"
        )
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        if t.dtype != dtype:
            ca, cb = _CATEGORY[dtype.kind], _CATEGORY[t.dtype.kind]
            if ca == cb:
                dtype = B.xp.result_type(dtype, t.dtype)
            elif cb > ca:
                dtype = t.dtype
    tensors = [t for t in tensors if t.shape != (0,)] or tensors
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


# The functions whose ``input`` may be a Python number when ``other`` is a tensor
# (``torch.sub(2, t)`` is ``2 - t``): the number is wrapped as a 0-d tensor that takes the
# tensor's dtype unless it is of a higher kind, as PyTorch's wrapped numbers do.
_NUMBER_INPUT = frozenset("add sub mul div divide true_divide floor_divide remainder pow".split())


def _method(name: str):
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, Tensor):
            if (
                name in _NUMBER_INPUT
                and isinstance(input, (bool, int, float))
                and args
                and isinstance(args[0], Tensor)
            ):
                input = _where_operand(input, args[0])
            else:  # PyTorch's error for stirpile.exp(2)
                raise TypeError(
                    f"{name}(): argument 'input' (position 1) must be Tensor, not "
                    f"{type(input).__name__}"
                )
        if kwargs and "out" in kwargs and name in _OUT_KINDS:
            call = lambda x, *a, **k: getattr(x, name)(*a, **k)  # noqa: E731
            return _out.call(name, call, (input, *args), kwargs, _OUT_KINDS[name])
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``stirpile.{name}(t, …)`` is ``t.{name}(…)``."
    return fn


_METHODS = (
    "exp log log1p sqrt rsqrt abs sign sin cos tanh sigmoid relu clamp clip square neg "
    "sum mean var std max min amax amin argmax argmin logsumexp softmax log_softmax "
    "matmul mm bmm dot reshape flatten unsqueeze squeeze permute transpose split chunk "
    "unbind gather masked_fill all any norm allclose equal isnan isfinite add sub mul div pow t "
    "divide floor_divide remainder reciprocal maximum minimum eq ne lt le gt ge"
).split()

# The functions that take ``out=`` (as in torch), with how they write it (see _out.py).
_OUT_KINDS = {
    **dict.fromkeys(
        "exp log log1p sqrt rsqrt abs sign sin cos tanh sigmoid clamp clip square neg add sub "
        "mul div pow divide floor_divide remainder reciprocal maximum minimum eq ne lt le gt ge "
        "true_divide atan2 arctan2 hypot logaddexp logaddexp2 xlogy fmod clamp_min clamp_max "
        "erf erfc expm1 exp2 log2 log10 sinh cosh tan asin acos atan arcsin arccos arctan "
        "floor ceil trunc fix round frac sgn logical_and logical_or logical_xor logical_not "
        "nan_to_num addcmul addcdiv".split(),
        _out.POINTWISE,
    ),
    **dict.fromkeys(
        "sum mean logsumexp var std prod cumsum cumprod nansum".split(), _out.REDUCTION
    ),
    **dict.fromkeys(
        "max min amax amin argmax argmin matmul mm bmm dot aminmax sort topk median".split(),
        _out.EXACT,
    ),
    **dict.fromkeys("cat concat concatenate stack".split(), ("cast", "any")),
    **dict.fromkeys("gather index_select masked_select take_along_dim".split(), _out.SELECTION),
}


def _with_out(fn: Any) -> Any:
    """``fn`` taking ``out=`` as well (written by :func:`stirpile._out.call`)."""
    kind = _OUT_KINDS[fn.__name__]

    @functools.wraps(fn)
    def wrapper(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        if out is None:
            return fn(*args, **kwargs)
        return _out.call(fn.__name__, fn, args, {**kwargs, "out": out}, kind)

    return wrapper


# Defined last: they shadow builtins (sum, max, any, …) in this module's namespace.
for _name in _METHODS:
    globals()[_name] = _method(_name)

true_divide = _method("div")
clone = _method("clone")
detach = _method("detach")
numel = _method("numel")
zero_ = _method("zero_")

__all__ = [*_METHODS, "cat", "clone", "concat", "detach", "numel", "zero_",
           "one_hot", "stack", "where"]  # fmt: skip

# PyTorch's wider surface: the functions the Tensor methods of the same names are bound to
# (see tensor.py's "more math" section), exported as they are, plus the function-only ones.

_MORE = (
    "argwhere diag diagonal flip fliplr flipud index_add index_fill index_select masked_select "
    "meshgrid movedim moveaxis narrow nonzero repeat_interleave roll scatter scatter_add "
    "take_along_dim trace tril triu acos addcdiv addcmul arccos arcsin arctan arctan2 asin atan "
    "atan2 ceil clamp_max clamp_min cosh erf erfc exp2 expm1 fix floor fmod frac hypot isclose "
    "isinf isneginf isposinf log2 log10 logaddexp logaddexp2 logical_and logical_not logical_or "
    "logical_xor logit nan_to_num round sgn sinh tan trunc xlogy true_divide addmm baddbmm "
    "einsum ger outer aminmax argsort count_nonzero cumprod cumsum median nanmean nansum prod "
    "sort std_mean topk var_mean concatenate"
).split()
__all__ += _MORE

# ``out=`` on the functions (not on the Tensor methods, which torch's do not take either)
for _name in (
    "cat stack index_select masked_select take_along_dim aminmax sort topk median prod cumsum "
    "cumprod nansum atan2 hypot logaddexp logaddexp2 xlogy fmod clamp_min clamp_max erf erfc "
    "expm1 exp2 log2 log10 sinh cosh tan asin acos atan floor ceil trunc round frac sgn "
    "logical_and logical_or logical_xor logical_not nan_to_num addcmul addcdiv concat "
    "concatenate arctan2 arcsin arccos arctan fix"
).split():
    globals()[_name] = _with_out(globals()[_name])
