"""Shape primitives: they move or repeat elements, never change them.

Backward undoes the move: ``reshape`` reshapes back, ``permute`` applies the
inverse permutation, ``expand`` sums over the expanded axes, ``cat`` slices
the gradient into the pieces it was made of.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from .dual import _is_array, permute, sum_to


class Reshape(Op):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"shape '{list(shape)}' is invalid for input of size {a.size} "
                f"(shape {tuple(a.shape)})"
            ) from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)

    @staticmethod
    def view_again(ctx, x):
        """The same view of another base (arrays or tensors): see ops/write.py."""
        return x.reshape(ctx.out.shape)


class Permute(Op):
    @staticmethod
    def forward(ctx, a, axes):
        if sorted(i % max(a.ndim, 1) for i in axes) != list(range(a.ndim)):
            raise ValueError(f"permute: {tuple(axes)} is not a permutation of {a.ndim} dims")
        ctx.axes = axes = tuple(i % a.ndim for i in axes)
        ctx.inverse = tuple(int(i) for i in xp.argsort(axes))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return permute(g, ctx.inverse)

    @staticmethod
    def view_again(ctx, x):
        return permute(x, ctx.axes)


class Expand(Op):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return xp.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return sum_to(g, ctx.shape)


class Cat(Op):
    """Concatenate along ``axis``; the gradient is cut back into the same pieces."""

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis = axis % arrays[0].ndim  # (ctx forgets everything when not recording)
        ctx.bounds = xp.cumsum([0] + [a.shape[axis] for a in arrays]).tolist()
        return xp.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        b = ctx.bounds
        return tuple(
            g[(*lead, slice(b[i], b[i + 1]))] if need else None
            for i, need in enumerate(ctx.needs_input_grad)
        )


class Flip(Op):
    """Reverse the order along ``axes`` (a copy, as torch's ``flip``); its own backward."""

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return xp.flip(a, axes).copy()

    @staticmethod
    def backward(ctx, g):
        return xp.flip(g, ctx.axes).copy() if _is_array(g) else Flip.apply(g, axes=ctx.axes)


class Roll(Op):
    """Shift elements cyclically by ``shifts`` along ``axes``; backward shifts back."""

    @staticmethod
    def forward(ctx, a, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        return xp.roll(a, shifts, axes)

    @staticmethod
    def backward(ctx, g):
        back = tuple(-s for s in ctx.shifts)
        return xp.roll(g, back, ctx.axes) if _is_array(g) else Roll.apply(g, back, ctx.axes)
