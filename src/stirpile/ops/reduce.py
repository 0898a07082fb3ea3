"""Reductions over one or several axes, with ``keepdims``.

Backward of a reduction broadcasts the gradient back over the reduced axes:
``sum`` spreads it evenly, ``mean`` divides by the count, ``max``/``min`` send
it to the elements that attain the extreme (split evenly on ties),
``logsumexp`` weights it by ``softmax``.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..autograd.quiet import quiet
from ..backend import xp
from .dual import _is_array, exp, expand_to


def _axes(ndim: int, axis) -> tuple:
    """PyTorch's ``dim`` of a reduction as a sorted tuple of axes: ``None`` (or an empty
    sequence) means every axis; an int or a sequence, negatives wrapped. A 0-d tensor
    takes ``0`` and ``-1`` (as a 1-element one would) and reduces nothing. PyTorch's errors:
    IndexError for a dim out of range, RuntimeError for a dim given twice."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    if not axes:
        return tuple(range(ndim))
    n = max(ndim, 1)
    norm: list = []
    for a in axes:
        a = int(a)
        if not -n <= a < n:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {a})"
            )
        a %= n
        if a in norm:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
        norm.append(a)
    return tuple(sorted(norm)) if ndim else ()


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Op):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axes = _axes(a.ndim, axis)
        ctx.shape, ctx.kept = a.shape, _kept_shape(a.shape, axes)
        return xp.asarray(a.sum(axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        return expand_to(g.reshape(ctx.kept), ctx.shape)


class Mean(Op):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axes = _axes(a.ndim, axis)
        ctx.shape, ctx.kept = a.shape, _kept_shape(a.shape, axes)
        ctx.count = count = int(xp.prod([a.shape[i] for i in axes], dtype=int))
        if count == 0:  # the mean of nothing is nan, as in PyTorch (and NumPy, which warns)
            return xp.full(a.sum(axis=axes, keepdims=keepdims).shape, xp.nan, dtype=a.dtype)
        return xp.asarray(a.mean(axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        return expand_to(g.reshape(ctx.kept) / ctx.count, ctx.shape)


class Max(Op):
    """Largest value over ``axis``; the gradient goes to the maxima, shared on ties."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False, _fn=xp.max):
        axes = _axes(a.ndim, axis)
        if a.size == 0:
            if axis is None or (isinstance(axis, (tuple, list)) and not axis):  # every dim
                raise RuntimeError(
                    f"{_fn.__name__}(): Expected reduction dim to be specified for "
                    "input.numel() == 0. Specify the reduction dim with the 'dim' argument."
                )
            for i in axes:
                if a.shape[i] == 0:
                    raise IndexError(
                        f"a{_fn.__name__}(): Expected reduction dim {i} to have non-zero size."
                    )
        kept = _fn(a, axis=axes, keepdims=True)
        hit = a == kept
        count = hit.sum(axis=axes, keepdims=True)
        if not count.all():  # a NaN extreme: no element equals it
            if axis is None:  # max(): PyTorch shares the gradient among the NaNs
                hit |= xp.isnan(a) & xp.isnan(kept)
                count = hit.sum(axis=axes, keepdims=True)
            with quiet:  # amax(): 0 / 0, a NaN gradient there, quietly as in PyTorch
                ctx.save_for_backward((hit / count).astype(a.dtype))
        else:
            ctx.save_for_backward((hit / count).astype(a.dtype))
        ctx.kept = kept.shape
        return (
            kept if keepdims else kept.reshape([n for i, n in enumerate(a.shape) if i not in axes])
        )

    @staticmethod
    def backward(ctx, g):
        (share,) = ctx.saved_tensors
        return g.reshape(ctx.kept) * share


class Min(Max):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        return Max.forward(ctx, a, axis, keepdims, _fn=xp.min)


class LogSumExp(Op):
    """log Σ e^(a) over ``axis``, as m + log Σ e^(a − m) so it never overflows.

    Backward: ``g · e^(a − out) = g · softmax(a)``.
    """

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axes = _axes(a.ndim, axis)
        if a.size:
            m = a.max(axis=axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)  # all -inf rows stay -inf, not nan
        else:  # an empty reduction: log 0 = -inf
            m = xp.zeros(_kept_shape(a.shape, axes), a.dtype)
        with xp.errstate(divide="ignore"):  # log 0 = -inf there, as intended
            kept = m + xp.log(xp.exp(a - m).sum(axis=axes, keepdims=True))
        out = (
            kept if keepdims else kept.reshape([n for i, n in enumerate(a.shape) if i not in axes])
        )
        ctx.kept = kept.shape
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        return g.reshape(ctx.kept) * exp(a - out.reshape(ctx.kept))


class Prod(Op):
    """Π a along one ``axis``. Backward: ``g · Π_{j≠k} a_j``, as the product of the running
    products before and after ``k`` (no division, so zeros in ``a`` are handled exactly as
    torch does: one zero gets the product of the others, two or more give 0 everywhere);
    a plain backward without zeros uses the cheaper ``g · out / a``."""

    @staticmethod
    def forward(ctx, a, axis, keepdims=False):
        with quiet:  # overflow to inf, quietly as in PyTorch
            out = xp.prod(a, axis=axis, keepdims=True)
        ctx.axis, ctx.kept = axis, out  # out with the axis kept: for the plain backward only
        ctx.save_for_backward(a)
        return out if keepdims else out.squeeze(axis)

    @staticmethod
    def backward(ctx, g):
        from .scan import cumprod, flip

        (a,) = ctx.saved_tensors
        axis, out = ctx.axis, ctx.kept
        g = g.reshape(out.shape)
        if a.shape[axis] == 0:
            return expand_to(g, a.shape)
        if _is_array(g) and (a != 0).all():
            return g * out / a
        before = _shift(cumprod(a, axis), axis)  # Π_{j<k} a_j
        after = flip(_shift(cumprod(flip(a, axis), axis), axis), axis)  # Π_{j>k} a_j
        return g * before * after


def _shift(x, axis):
    """``x`` moved one step along ``axis``: a 1 first, the last element dropped."""
    from .shape import Cat

    n = x.shape[axis]
    ones = xp.ones(tuple(1 if i == axis % x.ndim else s for i, s in enumerate(x.shape)), x.dtype)
    head = x[(slice(None),) * (axis % x.ndim) + (slice(0, n - 1),)]
    return xp.concatenate([ones, head], axis) if _is_array(x) else Cat.apply(ones, head, axis=axis)


class Pick(Op):
    """One value of ``a`` chosen by the caller (a median): the gradient is shared evenly
    among the elements equal to it (nan matching nan), as torch's
    ``evenly_distribute_backward``."""

    @staticmethod
    def forward(ctx, a, value):
        value = xp.asarray(value, a.dtype)
        hit = (a == value) | (xp.isnan(a) & xp.isnan(value))
        ctx.save_for_backward((hit / max(int(hit.sum()), 1)).astype(a.dtype))
        return value

    @staticmethod
    def backward(ctx, g):
        (share,) = ctx.saved_tensors
        return g * share


class NanSum(Op):
    """Σ a over ``axis`` with nan counted as 0. Backward ``g · [a is not nan]``: a product,
    as in torch, so an inf or nan gradient still shows at the nan positions (that is how
    the mean of an all-nan slice gets a nan gradient)."""

    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axes = _axes(a.ndim, axis)
        nan = xp.isnan(a)
        ctx.shape, ctx.kept = a.shape, _kept_shape(a.shape, axes)
        ctx.save_for_backward((~nan).astype(a.dtype))  # a mask: zero derivative
        return xp.asarray(xp.where(nan, 0, a).sum(axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        (keep,) = ctx.saved_tensors
        return expand_to(g.reshape(ctx.kept), ctx.shape) * keep
