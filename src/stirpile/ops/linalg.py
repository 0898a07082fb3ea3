"""Matrix products.

For ``out = a @ b`` (the lectures: for z = W v, ∂L/∂v_i = Σ_j ∂L/∂z_j W_ji):
``∂L/∂a = g @ bᵀ`` and ``∂L/∂b = aᵀ @ g``. A 1-d operand is treated as a
row (left) or column (right) vector, and batch dimensions broadcast, so the
gradients are summed back to each operand's shape.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp
from .dual import _is_array, call, expand_to, raw, sign, sum_to, where, zeros_like


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
        # each operand is needed only for the other's gradient (PyTorch saves the same)
        na, nb = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if nb else None, b if na else None)
        ctx.shapes = (a.shape, b.shape)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        if len(sa) == 2 and len(sb) == 2:  # the common case, kept free of reshapes
            return (g @ b.mT if na else None), (a.mT @ g if nb else None)
        sa2 = (1, *sa) if len(sa) == 1 else sa
        sb2 = (*sb, 1) if len(sb) == 1 else sb
        g2 = g[..., None] if len(sb) == 1 else g  # restore the column first: g may be 0-d
        g2 = g2[..., None, :] if len(sa) == 1 else g2
        ga = gb = None
        if na:
            b2 = b[:, None] if len(sb) == 1 else b
            ga = sum_to(g2 @ b2.mT, sa2).reshape(sa)
        if nb:
            a2 = a[None, :] if len(sa) == 1 else a
            gb = sum_to(a2.mT @ g2, sb2).reshape(sb)
        return ga, gb


class VectorNorm(Op):
    """‖a‖_p over ``axes``: (Σ|a|^p)^(1/p); p = inf/−inf: max/min |a|; p = 0: the count of
    nonzeros. Fused rather than composed so that the gradient at the zero vector is 0, as
    in torch (composed, ``sqrt`` would give 0 · inf = nan there).

    Backward: p = 2: ``g a / out``; p = 1: ``g sign a``; p = ±inf: ``g sign a`` shared
    evenly among the elements that attain the extreme; p = 0: 0; any other p:
    ``g sign(a) (|a| / out)^(p−1)``; each of them 0 where ``out`` (or, for p < 1, ``a``) is 0.
    """

    @staticmethod
    def forward(ctx, a, ord, axes, keepdims=False):
        with xp.errstate(divide="ignore"):
            kept = xp.linalg.vector_norm(a, ord=ord, axis=axes, keepdims=True)
        out = kept if keepdims else kept.reshape([n for i, n in enumerate(a.shape)
                                                  if i not in axes])  # fmt: skip
        ctx.ord, ctx.axes, ctx.kept = ord, axes, kept.shape
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        p, ra = ctx.ord, raw(a)
        g, out = g.reshape(ctx.kept), out.reshape(ctx.kept)
        zero = raw(out) == 0
        if p == 0:
            return zeros_like(expand_to(g, a.shape))
        if p == 1:
            return g * sign(a)
        if p == 2:
            return where(zero, 0.0, g * a / where(zero, 1.0, out))
        if p in (float("inf"), float("-inf")):
            hit = call("abs", ra) == raw(out)
            share = (hit / hit.sum(axis=ctx.axes, keepdims=True)).astype(ra.dtype)
            return g * sign(a) * share
        with xp.errstate(divide="ignore", invalid="ignore"):
            ratio = call("abs", a) / where(zero, 1.0, out)
            return where(zero | (ra == 0), 0.0, g * sign(a) * ratio ** (p - 1))


class SingularValues(Op):
    """The singular values σ₁ ≥ … ≥ σ_k ≥ 0 (k = min(m, n)) of each m × n matrix in the last
    two dims of ``a``: ``a = U diag(σ) Vᵀ`` (the thin SVD, NumPy's LAPACK ``gesdd``).

    Backward (first order): ``∂L/∂a = U diag(g) Vᵀ``, since dσᵢ = uᵢᵀ da vᵢ. U and V are
    recomputed from the saved input (the rule saves only inputs and outputs); the product
    does not depend on the signs LAPACK picks for the pairs (uᵢ, vᵢ). Where singular values
    repeat, U and V are not unique and neither is that gradient unless the ``g`` of the
    repeated values are equal (the nuclear norm's are): the gradient is then undefined, as
    torch warns. Gradients of this gradient (``create_graph=True``) would need the
    derivatives of U and V, which are not implemented: they raise.
    """

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        k = min(a.shape[-2:])
        if a.size == 0:
            return xp.zeros((*a.shape[:-2], k), a.dtype)
        return xp.linalg.svd(a, compute_uv=False).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        if not _is_array(g):
            raise NotImplementedError(
                "the gradient of singular values (linalg.svdvals, matrix_norm with ord 2, -2 or "
                "'nuc') cannot be differentiated again: create_graph=True is not supported"
            )
        if a.size == 0:
            return xp.zeros(a.shape, a.dtype)
        u, _, vh = xp.linalg.svd(a, full_matrices=False)
        return ((u * g[..., None, :]) @ vh).astype(a.dtype, copy=False)
