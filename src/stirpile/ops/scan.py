"""Scans along one axis: running sums and products, and the sort behind ``sort``/``topk``.

For ``out_i = Σ_{j≤i} a_j`` the gradient is the *reverse* running sum of ``g``
(``∂L/∂a_k = Σ_{i≥k} g_i``). For ``out_i = Π_{j≤i} a_j`` it is
``∂L/∂a_k = Σ_{i≥k} g_i Π_{j≤i, j≠k} a_j``, which is ``revcumsum(g · out)_k / a_k``
when no ``a_j`` is zero; with zeros, torch's rule (below) avoids the division.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..autograd.quiet import quiet
from ..backend import xp
from .dual import _is_array, raw, where


def cumsum(x, axis: int):
    """Running sum along ``axis`` of an array or (recorded) tensor."""
    return xp.cumsum(x, axis) if _is_array(x) else Cumsum.apply(x, axis=axis)


def cumprod(x, axis: int):
    return xp.cumprod(x, axis) if _is_array(x) else Cumprod.apply(x, axis=axis)


def flip(x, axis: int):
    from .shape import Flip

    return xp.flip(x, axis) if _is_array(x) else Flip.apply(x, axes=(axis,))


def revcumsum(x, axis: int):
    """``out_k = Σ_{i≥k} x_i``: the backward of ``cumsum``."""
    return flip(cumsum(flip(x, axis), axis), axis)


class Cumsum(Op):
    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        with quiet:  # overflow to inf, quietly as in PyTorch
            return xp.cumsum(a, axis)

    @staticmethod
    def backward(ctx, g):
        return revcumsum(g, ctx.axis)


class Cumprod(Op):
    """Running product. Backward, for each 1-d slice with its first zero at ``z``:
    ``revcumsum(g · out)_k / a_k`` for ``k < z`` (the sum stops at ``z``, where out is 0),
    ``Π_{j<z} a_j · Σ_{i≥z} g_i Π_{z<j≤i} a_j`` at ``k = z``, and 0 beyond (every term holds
    the zero) — torch's algorithm, vectorised over the slices.

    Under ``create_graph`` a slice with zeros takes the O(n²) form of the sum above
    instead, made of differentiable ops, so that second derivatives are right at zeros too.
    """

    @staticmethod
    def forward(ctx, a, axis):
        out = xp.cumprod(a, axis)
        ctx.axis = axis
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        axis = ctx.axis
        zeros = raw(a) == 0
        if _is_array(g):
            return _cumprod_grad(a, out, g, axis, zeros)
        if not zeros.any():
            return revcumsum(g * out, axis) / a
        return _cumprod_grad_quadratic(a, g, axis)


def _cumprod_grad(a, out, g, axis, zeros):
    """The zero-aware gradient of ``cumprod`` on arrays (see :class:`Cumprod`)."""
    if not zeros.any():
        return revcumsum(g * out, axis) / a
    a, out, g, zeros = (xp.moveaxis(v, axis, -1) for v in (a, out, g, zeros))
    n = a.shape[-1]
    pos = xp.arange(n)
    first = xp.where(zeros.any(-1), zeros.argmax(-1), n)[..., None]  # first zero (n: none)
    before = pos < first
    safe = xp.where(before, a, 1)
    grad = xp.where(before, revcumsum(xp.where(before, g * out, 0), -1) / safe, 0)
    prefix = xp.cumprod(safe, -1)[..., -1:]  # Π_{j<z} a_j
    after = xp.cumprod(xp.where(pos > first, a, 1), -1)  # Π_{z<j≤i} a_j for i ≥ z
    at_zero = prefix * (xp.where(pos >= first, g * after, 0)).sum(-1, keepdims=True)
    grad = xp.where(pos == first, at_zero, grad)
    return xp.moveaxis(grad, -1, axis).astype(g.dtype, copy=False)


def _cumprod_grad_quadratic(a, g, axis):
    """``Σ_{i≥k} g_i Π_{j≤i, j≠k} a_j`` with tensors: row k of an (n, n) table is the
    running product of ``a`` with ``a_k`` replaced by 1, masked to ``i ≥ k``."""
    n = a.shape[axis]
    a_last = a.movedim(axis, -1)
    eye = xp.eye(n, dtype=bool)
    table = where(eye, 1.0, a_last.unsqueeze(-2).expand(*a_last.shape[:-1], n, n))
    prods = cumprod(table, -1)  # [..., k, i] = Π_{j≤i, j≠k} a_j
    upper = xp.triu(xp.ones((n, n), dtype=bool))  # i ≥ k
    grad = (where(upper, prods, 0.0) * g.movedim(axis, -1).unsqueeze(-2)).sum(-1)
    return grad.movedim(-1, axis)


def sort_indices(a, axis: int, descending: bool):
    """Indices that sort ``a`` along ``axis``, stably, with NaN counted as the largest
    value (first when descending), as torch's ``sort``/``topk``. Descending sorts the
    reversed array ascending and reverses back, which keeps equal elements in order."""
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    idx = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
    return n - 1 - xp.flip(idx, axis)
