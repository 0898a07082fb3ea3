"""Indexing: reading elements out (``a[index]``) and adding them back in.

The two are each other's backward: the gradient of ``a[index]`` is a zero
array with ``g`` *added* at ``index`` (so an element picked twice gets both
gradients), and the gradient of that scatter is indexing again.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import ndarray, xp
from .dual import index_add


def _has_int_array(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (ndarray, list)) and xp.asarray(i).dtype.kind in "iu" for i in items)


def scatter_add(shape: tuple, index, g):
    """``out = zeros(shape); out[index] += g`` with repeated indices accumulating."""
    out = xp.zeros(shape, dtype=g.dtype)
    if _has_int_array(index):
        xp.add.at(out, index, g)
    else:  # slices, ints and boolean masks never repeat an element
        out[index] = g
    return out


class GetItem(Op):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        return a[index]

    @staticmethod
    def backward(ctx, g):
        return index_add(ctx.shape, ctx.index, g)

    @staticmethod
    def view_again(ctx, x):
        return x[ctx.index]


class IndexAdd(Op):
    """``zeros(shape)`` with ``g`` added at ``index``: the backward of indexing, as an op
    so that it can itself be differentiated (double backward through indexing)."""

    @staticmethod
    def forward(ctx, g, shape, index):
        ctx.index = index
        return scatter_add(shape, index, g)

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.index]


class Place(Op):
    """``out = zeros(shape); out[index] = a`` (the last write wins on repeated positions):
    what ``scatter`` writes. Backward reads the gradient back at ``index``."""

    @staticmethod
    def forward(ctx, a, shape, index):
        ctx.index = index
        out = xp.zeros(shape, a.dtype)
        out[index] = a
        return out

    @staticmethod
    def backward(ctx, g):
        return g[ctx.index]
