"""Matrix products.

For ``out = a @ b`` (the lectures: for z = W v, ∂L/∂v_i = Σ_j ∂L/∂z_j W_ji):
``∂L/∂a = g @ bᵀ`` and ``∂L/∂b = aᵀ @ g``. A 1-d operand is treated as a
row (left) or column (right) vector, and batch dimensions broadcast, so the
gradients are summed back to each operand's shape.
"""

from __future__ import annotations

from ..autograd.function import Op
from .dual import sum_to


class MatMul(Op):
    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError("matmul: both arguments need at least 1 dimension, got 0-d")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise RuntimeError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} are not aligned "
                f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})"
            )
        if a.dtype != b.dtype:
            raise TypeError(
                f"matmul: expected both operands to have the same dtype, "
                f"got {a.dtype} and {b.dtype}"
            )
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, kept free of reshapes
            return (g @ b.mT if na else None), (a.mT @ g if nb else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g[..., None] if b.ndim == 1 else g  # restore the column first: g may be 0-d
        g2 = g2[..., None, :] if a.ndim == 1 else g2
        ga = sum_to(g2 @ b2.mT, a2.shape).reshape(a.shape) if na else None
        gb = sum_to(a2.mT @ g2, b2.shape).reshape(b.shape) if nb else None
        return ga, gb
