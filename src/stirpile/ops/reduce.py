"""Reductions over one or several axes, with ``keepdims``.

Backward of a reduction broadcasts the gradient back over the reduced axes:
``sum`` spreads it evenly, ``mean`` divides by the count, ``max``/``min`` send
it to the elements that attain the extreme (split evenly on ties),
``logsumexp`` weights it by ``softmax``.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from .dual import exp, expand_to


def _axes(ndim: int, axis) -> tuple:
    """Normalise ``axis`` (None, int or tuple; negatives allowed) to a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    norm = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                f"but got {a})"
            )
        norm.append(a % max(ndim, 1))
    return tuple(sorted(set(norm)))


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
        ctx.count = int(xp.prod([a.shape[i] for i in axes], dtype=int))
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
            raise RuntimeError("max(): cannot reduce an empty tensor")
        kept = _fn(a, axis=axes, keepdims=True)
        hit = a == kept
        ctx.save_for_backward((hit / hit.sum(axis=axes, keepdims=True)).astype(a.dtype))
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
        m = a.max(axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf rows stay -inf, not nan
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
