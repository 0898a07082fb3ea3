"""Reductions and scans beyond sum/mean/max: products, running sums and products, the
nan-ignoring reductions, sorting and selection.

As in PyTorch, integer and bool inputs to ``prod``/``cumsum``/``cumprod``/``nansum``
give int64 (unless ``dtype`` says otherwise); ``sort``, ``topk`` and ``median(dim)``
return named tuples (:mod:`stirpile.return_types`) whose values are gathered at the
indices, so the gradient goes to exactly those elements.

>>> import stirpile
>>> x = stirpile.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> x.prod(1), x.cumsum(0)
(tensor([ 2., 12.]), tensor([[1., 2.],
        [4., 6.]]))
>>> x.flatten().sort(descending=True).indices
tensor([3, 2, 1, 0])
"""

from __future__ import annotations

from typing import Any

from . import backend as B
from . import return_types
from . import tensor as _T  # (being imported when this module is: used at call time only)
from .ops import reduce, scan

Tensor = Any


def _wrap(dim: int, ndim: int) -> int:
    """``dim`` as an index from 0; a 0-d tensor accepts -1 and 0, as in torch."""
    return _T._wrap_dim(dim, max(ndim, 1))


def _int_dim(name: str, dim: Any) -> int:
    if not isinstance(dim, int) or isinstance(dim, bool):
        if name == "prod":  # the message of an overloaded function in torch
            raise TypeError(
                f"prod() received an invalid combination of arguments - got "
                f"({type(dim).__name__}), but expected (int dim, bool keepdim = False, *, "
                "torch.dtype dtype = None)"
            )
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    return dim


def _accumulating(x: Tensor, dtype: Any) -> Tensor:
    """The input of a sum or product: cast to ``dtype``; integers and bools to int64."""
    if dtype is not None:
        return x.to(dtype)
    return x.long() if x._data.dtype.kind in "biu" else x


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:  # fmt: skip
    """Π of the elements (``dim=None``) or along one ``dim``. Gradient
    ``g · Π_{j≠k} x_j``, exact with zeros in the input (as torch)."""
    x = _accumulating(input, dtype)
    if dim is None:
        out = reduce.Prod.apply(x.reshape(-1), axis=0)
    elif x.ndim == 0:
        _wrap(_int_dim("prod", dim), x.ndim)
        out = reduce.Prod.apply(x.reshape(1), axis=0)
    else:
        out = reduce.Prod.apply(x, axis=_wrap(_int_dim("prod", dim), x.ndim), keepdims=keepdim)
    # (NumPy multiplies bools as integers: ``dtype=bool`` asks for the logical and)
    return out if out._data.dtype == x._data.dtype else out.to(x.dtype)


def _scan(op: Any, name: str, input: Tensor, dim: int, dtype: Any) -> Tensor:
    x = _accumulating(input, dtype)
    axis = _wrap(_int_dim(name, dim), x.ndim)
    if x.ndim == 0:
        return op.apply(x.reshape(1), axis=0).reshape(())
    return op.apply(x, axis=axis)


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim``: ``out_i = Σ_{j≤i} x_j``."""
    return _scan(scan.Cumsum, "cumsum", input, dim, dtype)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along ``dim``: ``out_i = Π_{j≤i} x_j`` (gradient exact with zeros)."""
    return _scan(scan.Cumprod, "cumprod", input, dim, dtype)


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The sum with nan counted as 0 (the nan elements get ``0 · g``)."""
    if input._data.dtype.kind not in "fc" or (dtype is not None and B.xp.dtype(dtype).kind != "f"):
        return input.sum(dim, keepdim, dtype=dtype)
    x = input if dtype is None else input.to(dtype)
    return reduce.NanSum.apply(x, axis=dim, keepdims=keepdim)


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *,
            dtype: Any = None) -> Tensor:  # fmt: skip
    """The mean of the elements that are not nan (nan, with nan gradients, where all are)."""
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{B.torch_name(input.dtype)}"
        )
    x = input if dtype is None else input.to(dtype)
    count = (~B.xp.isnan(x._data)).sum(axis=reduce._axes(x.ndim, dim), keepdims=keepdim)
    with B.xp.errstate(divide="ignore"):
        scale = B.xp.where(count == 0, B.xp.nan, 1.0 / count).astype(x.dtype)
    return nansum(x, dim, keepdim) * _T.Tensor._make(scale)


def _correction(unbiased: bool | None, correction: Any) -> Any:
    if correction is not None:
        return correction
    return 0 if unbiased is False else 1


def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None,
             keepdim: bool = False, *, correction: Any = None) -> tuple:  # fmt: skip
    """``(var, mean)`` over ``dim`` in one call (a plain tuple, as in torch); a bool in
    the place of ``dim`` is ``unbiased`` (``var_mean(x, False)``), as in torch."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    var = input.var(dim, keepdim=keepdim, correction=_correction(unbiased, correction))
    return var, input.mean(dim, keepdim=keepdim)


def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None,
             keepdim: bool = False, *, correction: Any = None) -> tuple:  # fmt: skip
    """``(std, mean)`` over ``dim`` (a bool ``dim`` is ``unbiased``, as in :func:`var_mean`)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    std = input.std(dim, keepdim=keepdim, correction=_correction(unbiased, correction))
    return std, input.mean(dim, keepdim=keepdim)


# -- sorting and selection ----------------------------------------------------------------


def _along(input: Tensor, dim: int) -> tuple[Tensor, int]:
    """``input`` with at least one dimension (a 0-d tensor as 1-element), and ``dim`` wrapped."""
    axis = _wrap(_int_dim("sort", dim), input.ndim)
    return (input.reshape(1), 0) if input.ndim == 0 else (input, axis)


def _take(input: Tensor, x: Tensor, axis: int, idx: Any) -> tuple[Tensor, Tensor]:
    """Values of ``x`` at indices ``idx`` along ``axis`` (differentiable), shaped like ``input``
    if that was 0-d."""
    values, indices = x.gather(axis, _T.Tensor._make(idx)), _T.Tensor._make(idx)
    if input.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return values, indices


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """``(values, indices)`` sorted along ``dim``; always stable (equal elements keep their
    order, which ``stable=False`` allows too); nan sorts as the largest value."""
    x, axis = _along(input, dim)
    idx = scan.sort_indices(x._data, axis, descending)
    return return_types.sort(*_take(input, x, axis, idx))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices of :func:`sort`."""
    x, axis = _along(input, dim)
    idx = scan.sort_indices(x._data, axis, descending)
    return _T.Tensor._make(idx.reshape(input.shape))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim`` and their
    indices, largest first (returned sorted whatever ``sorted`` says)."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    x, axis = _along(input, dim)
    if not 0 <= k <= x.shape[axis]:
        raise RuntimeError("selected index k out of range")
    idx = scan.sort_indices(x._data, axis, largest)
    idx = idx[(slice(None),) * axis + (slice(0, k),)]
    return return_types.topk(*_take(input, x, axis, idx))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median (the ⌊(n−1)/2⌋-th smallest; nan if there is a nan).

    Without ``dim``: one value, whose gradient is shared evenly among the elements equal to
    it (as torch). With ``dim``: ``(values, indices)``; where values tie, the index may
    differ from torch's (torch leaves it unspecified)."""
    a = input._data
    if dim is None:
        flat = a.reshape(-1)
        if flat.size == 0 or B.xp.isnan(flat).any():
            value = B.xp.nan
        else:
            value = B.xp.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2]
        return reduce.Pick.apply(input, value)
    x, axis = _along(input, dim)
    n = x.shape[axis]
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {axis} to have non-zero size.")
    order = scan.sort_indices(x._data, axis, False)
    kept = tuple(1 if i == axis else s for i, s in enumerate(x.shape))
    nans = B.xp.isnan(x._data).sum(axis, keepdims=True) if a.dtype.kind == "f" else 0
    pos = B.xp.broadcast_to(B.xp.where(nans > 0, n - nans, (n - 1) // 2), kept)  # first nan
    idx = B.xp.take_along_axis(order, pos, axis)
    values, indices = _take(input, x, axis, idx)
    if not keepdim and input.ndim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return return_types.median(values, indices)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """The number of nonzero elements (over ``dim``, an int or a tuple), int64."""
    a = input._data
    axes = None if dim is None else reduce._axes(a.ndim, dim)
    return _T.Tensor._make(B.xp.asarray(B.xp.count_nonzero(a, axis=axes), dtype=B.int64))


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:
    """``(min, max)`` in one call; each gradient as ``amin``'s and ``amax``'s."""
    if dim is not None:
        _int_dim("aminmax", dim)
        axis = _wrap(dim, input.ndim)
        if input.ndim and input.shape[axis] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {axis} to have non-zero size.")
    if dim is None and input.numel() == 0:
        raise RuntimeError(
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
            "identity."
        )
    lo, hi = input.amin(dim, keepdim), input.amax(dim, keepdim)
    return return_types.aminmax(lo, hi)
