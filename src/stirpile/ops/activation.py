"""Activation primitives whose fused form is faster or more stable than composing.

Each saves its *output* (not its input) where the derivative can be written in
terms of it: ``relu' = [out > 0]``, ``σ' = out (1 − out)``, ``tanh' = 1 − out²``.
Softmax and log-softmax subtract the row maximum first, so large logits give
no overflow.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..autograd.quiet import quiet
from ..backend import xp
from .dual import exp


class Relu(Op):
    @staticmethod
    def forward(ctx, a):
        out = xp.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (out > 0)


class Sigmoid(Op):
    """σ(a) = 1 / (1 + e^(−a)).

    For a very negative ``a`` the exponential overflows to ``inf`` and the result is
    ``1 / inf = 0``, which is σ(a) rounded (it is below the smallest normal number
    there); only NumPy's overflow warning is silenced. Four array operations: the
    stable ``e^(−|a|)`` form takes seven, which shows on small arrays.
    """

    @staticmethod
    def forward(ctx, a):
        with xp.errstate(over="ignore"):
            out = 1 / (1 + xp.exp(-a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * (1 - out)


class Tanh(Op):
    @staticmethod
    def forward(ctx, a):
        out = xp.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 - out * out)


class Softmax(Op):
    """softmax(a)_i = e^(a_i − m) / Σ_j e^(a_j − m), m = max_j a_j.

    Backward: ``out ⊙ (g − Σ_j g_j out_j)``.
    """

    @staticmethod
    def forward(ctx, a, axis=-1):
        # axis=None: a 0-d input (its softmax is 1); an empty input gives an empty output
        if a.size:
            with quiet:  # inf - inf = nan for a row with inf, quietly as in PyTorch
                e = xp.exp(a - a.max(axis=axis, keepdims=True))
                out = e / e.sum(axis=axis, keepdims=True)
        else:
            out = a.copy()
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        gout = g * out
        return gout - out * gout.sum(axis=ctx.axis, keepdims=True)


class LogSoftmax(Op):
    """log_softmax(a)_i = a_i − m − log Σ_j e^(a_j − m).

    Backward: ``g − softmax(a) Σ_j g_j``, with softmax = e^out.
    """

    @staticmethod
    def forward(ctx, a, axis=-1):
        if a.size:  # (axis=None and empty inputs: as in Softmax)
            with quiet:  # inf - inf = nan for a row with inf, quietly as in PyTorch
                shifted = a - a.max(axis=axis, keepdims=True)
                out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        else:
            out = a.copy()
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - exp(out) * g.sum(axis=ctx.axis, keepdims=True)
