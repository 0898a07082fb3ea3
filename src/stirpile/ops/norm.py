"""Batch normalization in training as one fused primitive.

Fused rather than composed because it is measurably faster: on (64, 32, 28, 28) float32
the composed graph (mean, subtract, square, mean, add, sqrt, divide, scale, shift and
their nine backwards) took ~45 ms forward + backward, this op ~9 ms (PyTorch: ~9 ms).

With ``n`` values per channel, ``x̂ = (x − μ)·r`` where ``r = (σ² + ε)^(−½)`` (batch
mean μ and biased variance σ² over every axis but 1) and ``y = γ x̂ + β``:

==========  ====================================================================
input       gradient
==========  ====================================================================
x           γ r · (g − Σg / n − x̂ · Σ(g x̂) / n)
γ           Σ(g x̂)
β           Σ g
==========  ====================================================================

(sums over every axis but 1). The backward recomputes μ and r from ``x`` (the op saves
only its inputs), with operators that work on arrays and on tensors alike, so that it
is itself differentiable under ``create_graph=True``.
"""

from __future__ import annotations

import math

from ..autograd.function import Op
from ..backend import xp


def _axes_shape(x):
    return (0, *range(2, x.ndim)), (1, x.shape[1]) + (1,) * (x.ndim - 2)


def moments(x):
    """Per-channel batch mean and biased variance of ``x`` (arrays of shape ``(C,)``)."""
    axes, shape = _axes_shape(x)
    n = x.size // x.shape[1]
    mean = x.sum(axis=axes) / x.dtype.type(n)
    xc = x - mean.reshape(shape)
    return mean, (xc * xc).sum(axis=axes) / x.dtype.type(n)


class BatchNormTrain(Op):
    """``y = (x − μ)/√(σ² + ε) · γ + β`` with the batch's statistics; ``weight`` (γ) and
    ``bias`` (β) may be ``None``. ``stats``: ``(μ, σ²)`` if the caller has them already
    (it updates running estimates from them)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps, stats=None):
        _, shape = _axes_shape(x)
        mean, var = moments(x) if stats is None else stats
        scale = 1.0 / xp.sqrt(var + x.dtype.type(eps))
        if weight is not None:
            scale = scale * weight
        y = (x - mean.reshape(shape)) * scale.reshape(shape).astype(x.dtype, copy=False)
        if bias is not None:
            y += bias.reshape(shape)
        ctx.save_for_backward(x, weight)
        ctx.eps = eps
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        axes, shape = _axes_shape(x)
        n = float(math.prod(x.shape) // x.shape[1])
        mean = x.sum(axis=axes, keepdims=True) / n
        xc = x - mean
        r = ((xc * xc).sum(axis=axes, keepdims=True) / n + ctx.eps) ** -0.5
        g_sum = g.sum(axis=axes, keepdims=True)
        g_xhat = (g * xc).sum(axis=axes, keepdims=True) * r  # Σ g x̂
        gx = gw = gb = None
        if need[0]:
            scale = r if weight is None else r * weight.reshape(shape)
            gx = (g - g_sum / n - xc * (r * g_xhat / n)) * scale
        if len(need) > 1 and need[1]:
            gw = g_xhat.reshape(x.shape[1])
        if len(need) > 2 and need[2]:
            gb = g_sum.reshape(x.shape[1])
        return gx, gw, gb, None
