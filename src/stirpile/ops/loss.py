"""Fused loss primitives: cross-entropy on logits and binary cross-entropy.

``CrossEntropy`` applies log-softmax and the negative log-likelihood in one
op. It is faster than ``log_softmax`` followed by ``nll_loss`` (one N×C array
per pass instead of a graph of them: forward and backward of a 512×1000 batch
take about 0.8 ms against 5.6 ms on the development machine) and stable: the
forward uses the shifted log-sum-exp, and the gradient with respect to the
logits is the famous

    ∂L/∂x = scale · (softmax(x) · Σ_c q_c − q)

where ``q`` is the (weighted, smoothed) target distribution of each sample:
``one_hot(t)`` in the plain case, so the gradient is ``softmax − one_hot``.
A plain backward reuses the softmax the forward computed; under
``create_graph`` it recomputes the softmax *from the logits tensor*, so the
gradient is itself differentiable (second derivatives of the loss are
Hessians of the log-sum-exp).

``BinaryCrossEntropy`` is elementwise; it is an op so that it can clamp the
logarithms at −100 and bound the gradient's denominator as PyTorch does.
"""

from __future__ import annotations

import math

from ..autograd.function import Op
from ..autograd.quiet import IGNORE, quiet, state
from ..backend import xp
from .dual import _is_array, log, softmax


def _log_softmax(x, axis):
    if _is_array(x):
        shifted = x - x.max(axis=axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    return x.log_softmax(axis)


def _keep(shape, axis):
    """``shape`` with a 1 inserted at ``axis`` (to broadcast per-sample values over classes)."""
    return (*shape[:axis], 1, *shape[axis:])


def _maximum(a, v):
    """max(a, v) for a number ``v`` (as a 0-d tensor under create_graph: ``Tensor.maximum``,
    like torch's, takes tensors only)."""
    return xp.maximum(a, v) if _is_array(a) else a.maximum(type(a)._make(xp.asarray(v, a.dtype)))


class CrossEntropy(Op):
    """Cross-entropy between ``softmax(x)`` (classes on axis 1, or 0 for 1-d ``x``) and a
    target: class indices (integer, ``x``'s shape without the class axis) or class
    probabilities (float, ``x``'s shape).

    Per sample i: ``ℓ_i = −Σ_c q_ic log softmax(x_i)_c`` with
    ``q_i = (1 − ε) w_{t_i} one_hot(t_i) + ε/C · w`` for index targets (0 where
    ``t_i == ignore_index``) and ``q_i = w ⊙ ((1 − ε) p_i + ε/C)`` for probabilities.
    ``mean`` divides by ``Σ_i w_{t_i}`` over the kept samples (index targets) or by the
    number of samples (probabilities), exactly as PyTorch.
    """

    @staticmethod
    def forward(
        ctx, x, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"
    ):
        if _plain_case(x, target, weight, ignore_index, label_smoothing):
            return _forward_plain(ctx, x, target, reduction)
        ctx.plain = False
        axis = 1 if x.ndim >= 2 else 0
        n_classes = x.shape[axis]
        eps = float(label_smoothing)
        wb = None  # the class weights, shaped to broadcast along the class axis
        if weight is not None:
            if weight.shape != (n_classes,):
                raise RuntimeError(
                    f"cross_entropy: weight should have {n_classes} elements (one per class), "
                    f"got shape {tuple(weight.shape)}"
                )
            wb = weight.astype(x.dtype).reshape((n_classes,) + (1,) * (x.ndim - axis - 1))
        probs = target.dtype.kind == "f"
        if probs:
            if target.shape != x.shape:
                raise RuntimeError(
                    f"cross_entropy: class-probability targets must have the input's shape "
                    f"{tuple(x.shape)}, got {tuple(target.shape)}"
                )
            ctx.index = None
        else:
            ctx.index = tk, keep, w_t = _index_target(x, target, weight, ignore_index, axis)
        # log softmax(x)_c = s_c − lse with s = x − max x and lse = log Σ_c e^(s_c). The loss
        # only needs sums of s against the targets, taken before s is overwritten by e^s:
        # one N×C array in all (allocating fresh memory is what costs most here).
        with quiet:  # logits with inf: inf - inf = nan, quietly as in PyTorch
            s = x - x.max(axis=axis, keepdims=True)
        if probs:
            q = target * (1 - eps) + eps / n_classes if eps else target
            if wb is not None:
                q = q * wb
            q_s, q_sum = (q * s).sum(axis=axis), q.sum(axis=axis)
        else:
            s_t = xp.take_along_axis(s, tk, axis).squeeze(axis)
            if eps:
                w_s = (s if wb is None else s * wb).sum(axis=axis)
        e = xp.exp(s, out=s)
        total_e = e.sum(axis=axis, keepdims=True)
        with quiet:
            lse = xp.log(total_e).squeeze(axis)
        if probs:
            elem = lse * q_sum - q_s
            denom = x.size / n_classes
        else:
            elem = (lse - s_t) * w_t
            if eps:
                w_total = n_classes if weight is None else float(wb.sum())
                smooth = (lse * w_total - w_s) * keep
                elem = (1 - eps) * elem + (eps / n_classes) * smooth
            denom = float(w_t.sum())
        ctx.axis, ctx.eps, ctx.wb, ctx.reduction = axis, eps, wb, reduction
        ctx.scale = (1.0 / denom if denom else math.nan) if reduction == "mean" else 1.0
        # softmax(x) is kept for a plain backward (saved, so the engine frees it after use);
        # under create_graph backward ignores it and recomputes softmax from the logits
        if ctx.needs_input_grad:
            e /= total_e
        ctx.save_for_backward(x, target, e)
        if reduction == "none":
            return elem
        total = elem.sum()
        if reduction == "sum":
            return xp.asarray(total)
        with xp.errstate(invalid="ignore", divide="ignore"):  # every target ignored: nan
            return xp.asarray(total / denom if denom else total * math.nan)

    @staticmethod
    def backward(ctx, g):
        x, target, probs = ctx.saved_tensors
        if ctx.plain:
            if _is_array(x):  # gradient = scale · (softmax − one_hot)
                per_row = ctx.reduction == "none"  # g has one entry per row, else one scalar
                gs = g[:, None] if per_row else g * ctx.scale
                gx = probs * gs  # a new array: with retain_graph, probs is needed again
                gx[ctx.rows, target] -= g if per_row else gs
                return gx, None
            ctx.index = _index_target(x._data, target._data, None, -100, 1)
        axis, eps, wb = ctx.axis, ctx.eps, ctx.wb
        n_classes = x.shape[axis]
        g = (g.reshape(_keep(g.shape, axis)) if ctx.reduction == "none" else g) * ctx.scale
        need_x, need_t = ctx.needs_input_grad
        gx = gt = None
        if ctx.index is None:  # probabilities: q depends on the target (differentiable)
            q = target * (1 - eps) + eps / n_classes if eps else target
            if wb is not None:
                q = q * wb
            if need_x:
                p = probs if _is_array(x) else softmax(x, axis)
                gx = g * (p * q.sum(axis=axis, keepdims=True) - q)
            if need_t:
                d = _log_softmax(x, axis) * (1 - eps)
                gt = -g * (d if wb is None else d * wb)
            return gx, gt
        tk, keep, w_t = ctx.index
        # q = hit at the target class + spread · w_c on every class
        hit = xp.expand_dims(w_t * (1 - eps), axis)
        spread = xp.expand_dims(keep.astype(x.dtype) * (eps / n_classes), axis)
        if _is_array(x):
            # plain backward: g · (softmax · Σq − q) built in place in one N×C array
            w_total = n_classes if wb is None else float(wb.sum())
            gx = probs * (g * (hit + spread * w_total))
            at_t = xp.take_along_axis(gx, tk, axis)
            xp.put_along_axis(gx, tk, at_t - xp.broadcast_to(g * hit, at_t.shape), axis)
            if eps:
                gx -= g * (spread if wb is None else spread * wb)
            return gx, None
        # under create_graph: the same formula on the logits tensor, q a constant array
        q = xp.zeros(x.shape, dtype=x.dtype)
        xp.put_along_axis(q, tk, hit, axis)
        if eps:
            q += spread if wb is None else spread * wb
        gx = g * (softmax(x, axis) * q.sum(axis=axis, keepdims=True) - q)
        return gx, None


def _plain_case(x, target, weight, ignore_index, label_smoothing) -> bool:
    """The case training loops hit: (N, C) logits, in-range class indices, no weights,
    no smoothing, nothing ignored. It gets a shorter path (measured 2x faster on small
    batches, where NumPy's call overhead dominates)."""
    return (
        x.ndim == 2
        and weight is None
        and not label_smoothing
        and target.dtype.kind in "iu"
        and target.shape == x.shape[:1]
        and target.size > 0
        and not 0 <= ignore_index < x.shape[1]
        and _in_range(target, x.shape[1])
    )


def _in_range(target, n_classes) -> bool:
    """0 <= target < n_classes, in one reduction: viewed as unsigned, negative indices
    (and ignore_index=-100) become huge, so the maximum alone decides."""
    unsigned = target.view(_UNSIGNED[target.dtype.itemsize])
    return int(xp.maximum.reduce(unsigned)) < n_classes


_UNSIGNED = {n: xp.dtype(f"u{n}") for n in (1, 2, 4, 8)}


def _forward_plain(ctx, x, target, reduction):
    """ℓ_i = log Σ_c e^(x_ic − m_i) − (x_it − m_i); saves softmax(x) for the backward."""
    # ufunc.reduce rather than .max()/.sum(): those go through a Python wrapper, which
    # shows at the batch sizes of a course's MLPs
    rows = xp.arange(len(target))
    token = state.set(IGNORE)  # logits with inf: inf - inf = nan, quietly as in PyTorch
    try:
        s = x - xp.maximum.reduce(x, axis=1, keepdims=True)
        s_t = s[rows, target]
        e = xp.exp(s, out=s)
        total = xp.add.reduce(e, axis=1, keepdims=True)
        elem = xp.log(total[:, 0]) - s_t
        e /= total
    finally:
        state.reset(token)
    ctx.plain, ctx.rows, ctx.reduction = True, rows, reduction
    ctx.axis, ctx.eps, ctx.wb = 1, 0.0, None
    ctx.scale = scale = 1.0 / len(target) if reduction == "mean" else 1.0
    ctx.save_for_backward(x, target, e)
    if reduction == "none":
        return elem
    return xp.asarray(xp.add.reduce(elem) * scale)


def _index_target(x, target, weight, ignore_index, axis):
    """Check class-index targets; return them with a kept class axis, the mask of
    non-ignored samples, and each sample's weight ``w_t`` (0 where ignored)."""
    n_classes = x.shape[axis]
    if target.dtype.kind not in "iu":
        raise RuntimeError(
            f"cross_entropy: expected class indices (integer) or probabilities (float) "
            f"as target, got {target.dtype}"
        )
    expected = x.shape[:axis] + x.shape[axis + 1 :]
    if target.shape != expected:
        raise RuntimeError(
            f"cross_entropy: expected target of shape {tuple(expected)}, got {tuple(target.shape)}"
        )
    keep = target != ignore_index
    t = xp.where(keep, target, 0)
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        bad = t[(t < 0) | (t >= n_classes)].flat[0]
        raise IndexError(f"Target {bad} is out of bounds (classes 0..{n_classes - 1}).")
    w_t = keep.astype(x.dtype) if weight is None else weight.astype(x.dtype)[t] * keep
    return xp.expand_dims(t, axis), keep, w_t


# PyTorch's bound on the gradient's denominator is the float32 constant 1e-12 (also for
# float64 inputs): 9.99999996e-13. Using the same value gives the same gradients at 0 and 1.
_EPSILON = float(xp.float32(1e-12))


class BinaryCrossEntropy(Op):
    """Elementwise ``−(y log x + (1 − y) log(1 − x))`` for probabilities ``x``, each log
    clamped at −100 (so ``x = 0`` or ``1`` gives a finite loss), as PyTorch.

    Backward: ``∂/∂x = (x − y) / max(x (1 − x), 10⁻¹²)``,
    ``∂/∂y = log(1 − x) − log x`` (= −logit x, unclamped, as PyTorch).
    """

    @staticmethod
    def forward(ctx, x, y):
        # (written so that a NaN fails the test too, as in PyTorch)
        if x.size and not (x.min() >= 0 and x.max() <= 1):
            raise RuntimeError(
                "binary_cross_entropy: all elements of input should be between 0 and 1"
            )
        if getattr(y, "size", 1) and not (xp.min(y) >= 0 and xp.max(y) <= 1):
            raise RuntimeError(
                "binary_cross_entropy: all elements of target should be between 0 and 1"
            )
        with xp.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        ctx.save_for_backward(x, y)
        return -(y * log_x + (1 - y) * log_1mx)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        gx = g * (x - y) / _maximum(x * (1 - x), _EPSILON) if need_x else None
        gy = None
        if need_y:
            with xp.errstate(divide="ignore"):
                gy = g * (log(1 - x) - log(x))
        return gx, gy
