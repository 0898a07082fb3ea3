"""Fused primitives for the layers of :mod:`stirpile.nn`.

``Linear`` is one op instead of a matmul, a transpose and a broadcast add: the
forward is one BLAS call plus an in-place add, and its backward does no
reshapes for the common 2-d case. Measured (forward + backward, float32): a
64×32→32 layer takes 43 µs against 72 µs composed, 256×128→10 82 µs against
106 µs; for large layers BLAS dominates and the two are equal.
``Expm1`` and ``Erf`` are the two elementwise functions NumPy lacks a fused
form of in the other op files (``elu`` needs e^x − 1 accurate near 0, the exact
``gelu`` needs erf).

Local derivatives:

========  ===========================================================
op        gradient
========  ===========================================================
linear    x: g W;  W: gᵀ x (summed over batch dims);  b: Σ_batch g
expm1     g · (out + 1)
erf       g · 2/√π · e^(−x²)
embed     W: g added back into the rows read (× 0 at padding_idx)
========  ===========================================================
"""

from __future__ import annotations

import math

from ..autograd.function import Op
from ..backend import xp
from .dual import _is_array, exp, index_add


class Linear(Op):
    """``out = x @ Wᵀ + b`` for ``x`` of shape ``(*, in)``, ``W`` of shape ``(out, in)``,
    ``b`` of shape ``(out,)`` (optional).

    Backward (the lectures' ``z = W v`` rule, batched): ``∂L/∂x = g W``,
    ``∂L/∂W = gᵀ x`` with every batch dimension flattened into the sum, and
    ``∂L/∂b = Σ g`` over all but the last axis.
    """

    @staticmethod
    def forward(ctx, x, w, b=None):
        if x.dtype != w.dtype or (b is not None and b.dtype != x.dtype):
            raise RuntimeError(
                f"linear: expected input and weights of the same dtype, got input {x.dtype}, "
                f"weight {w.dtype}" + ("" if b is None else f", bias {b.dtype}")
            )
        if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
            lead = math.prod(x.shape[:-1]) if x.ndim else 1
            raise RuntimeError(
                f"linear: mat1 and mat2 shapes cannot be multiplied "
                f"({lead}x{x.shape[-1] if x.ndim else 1} and "
                f"{'x'.join(str(n) for n in w.shape[::-1])})"
            )
        # x is needed only for W's gradient and W only for x's (what PyTorch saves too), so
        # writing in place to an input that needs no gradient is not an error at backward
        need = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(x if need[1] else None, w if need[0] else None)
        out = x @ w.T
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = g @ w if need[0] else None
        gw = gb = None
        if need[1] or (len(need) > 2 and need[2]):
            g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
            if need[1]:
                x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
                gw = g2.mT @ x2
            if len(need) > 2 and need[2]:
                # on arrays, ufunc.reduce skips the Python wrapper around .sum()
                gb = xp.add.reduce(g2, axis=0) if _is_array(g2) else g2.sum(axis=0)
        return gx, gw, gb


class Expm1(Op):
    """``e^x − 1``, accurate for small ``x`` (where ``exp(x) − 1`` loses digits)."""

    @staticmethod
    def forward(ctx, a):
        out = xp.asarray(xp.expm1(a))  # (a 0-d result must be an array: it is saved)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (out + 1)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def erf(a):
    """The error function on an array, to within a few ulp of ``math.erf``.

    For ``|x| ≤ 2.5`` the series ``erf x = 2/√π · e^(−x²) Σ_n 2ⁿ x^(2n+1) / (1·3⋯(2n+1))``
    (positive terms: no cancellation; 40 terms); beyond, ``1 − erfc x`` with erfc's
    continued fraction ``e^(−x²)/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …))))`` (35 levels,
    evaluated bottom-up). Both counts are measured: relative error ≤ 2e-15 everywhere.
    """
    x = xp.abs(a).astype(xp.float64)
    out = xp.empty_like(x)
    small = x <= 2.5
    xs = x[small]
    term, total, x2 = xs.copy(), xs.copy(), 2.0 * xs * xs
    for n in range(1, 40):
        term *= x2 / (2 * n + 1)
        total += term
    out[small] = _TWO_OVER_SQRT_PI * xp.exp(-xs * xs) * total
    xl = x[~small]
    frac = xl.copy()
    for k in range(35, 0, -1):
        frac = xl + (k / 2.0) / frac
    out[~small] = 1.0 - xp.exp(-xl * xl) / (math.sqrt(math.pi) * frac)
    return (xp.sign(a) * out).astype(a.dtype, copy=False)


def _clip(a, lo, hi):
    return xp.clip(a, lo, hi) if _is_array(a) else a.clamp(lo, hi)


class Erf(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return erf(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        a = _clip(a, -30.0, 30.0)  # e^(−900) is 0 already; keeps a² from overflowing
        return g * _TWO_OVER_SQRT_PI * exp(-(a * a))


class Embedding(Op):
    """``weight[indices]``: rows of a lookup table (``indices`` an integer array).

    Backward: each output row's gradient is added into the row it was read from
    (repeated indices accumulate: :func:`~stirpile.ops.dual.index_add`), times a
    zero-derivative factor per index: 0 at ``padding_idx``, and ``1 / count`` with
    ``scale_grad_by_freq``. One op rather than indexing plus masking: the factor is
    folded into the scatter's input.
    """

    @staticmethod
    def forward(ctx, weight, indices, padding_idx=None, scale_grad_by_freq=False):
        ctx.shape, ctx.indices, ctx.scale = weight.shape, indices, None
        recorded = bool(ctx.needs_input_grad)  # (nothing to prepare for an unrecorded call)
        if recorded and (padding_idx is not None or scale_grad_by_freq):
            scale = xp.ones(indices.shape, dtype=weight.dtype)
            if scale_grad_by_freq:
                counts = xp.bincount(indices.ravel(), minlength=weight.shape[0])
                scale /= counts[indices]
            if padding_idx is not None:
                scale[indices == padding_idx] = 0
            ctx.scale = scale[..., None]
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        if ctx.scale is not None:
            g = g * ctx.scale
        return index_add(ctx.shape, ctx.indices, g), None
