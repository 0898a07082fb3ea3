"""Writing into part of a tensor, as recorded ops: ``x[index] = v`` and in-place ops on
views (``x[0].mul_(2)``, ``x.view(-1).add_(y)``).

``IndexPut`` is ``x[index] = v`` computed out of place: the gradient of the
old ``x`` is ``g`` with the written elements zeroed (they no longer depend on
it), and the gradient of ``v`` is ``g[index]`` summed back to ``v``'s shape.

``ViewScatter`` is what a base tensor becomes when one of its views was
written in place (PyTorch's ``CopySlices``): the new base equals the old one
outside the view and the written values inside. Its backward needs only the
view's recipe (``region``): the chain of view ops from the base to the view,
replayed on the gradient.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from .dual import raw, sum_to


def _zero_at(g, index):
    """``g`` with the elements at ``index`` zeroed, differentiably (a constant 0/1 mask)."""
    mask = xp.ones(raw(g).shape, dtype=raw(g).dtype)
    mask[index] = 0
    return g * mask


class IndexPut(Op):
    @staticmethod
    def forward(ctx, a, v, index):
        ctx.index, ctx.v_shape = index, getattr(v, "shape", ())
        out = a.copy()
        out[index] = v
        return out

    @staticmethod
    def backward(ctx, g):
        na, nv = ctx.needs_input_grad[:2]
        ga = _zero_at(g, ctx.index) if na else None
        gv = sum_to(g[ctx.index], ctx.v_shape) if nv else None
        return ga, gv


def region(chain, x):
    """Replay a view chain (view nodes, base side last) on ``x``: the view's part of it."""
    for node in reversed(chain):
        x = node.fn.view_again(node, x)
    return x


class ViewScatter(Op):
    """The base after its view (described by ``chain``) was overwritten by ``v``. The forward
    receives the base's memory already holding the written values and returns it as is."""

    @staticmethod
    def forward(ctx, base, v, chain):
        ctx.chain = chain
        return base

    @staticmethod
    def backward(ctx, g):
        nb, nv = ctx.needs_input_grad[:2]
        gb = gv = None
        if nb:
            mask = xp.ones(raw(g).shape, dtype=raw(g).dtype)
            region(ctx.chain, mask)[...] = 0
            gb = g * mask
        if nv:
            gv = region(ctx.chain, g)
        return gb, gv
