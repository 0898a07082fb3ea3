"""The functional forms of every layer, activation and loss: ``F.linear``, ``F.relu``,
``F.cross_entropy``, … (``import stirpile.nn.functional as F``).

Modules hold parameters and hyperparameters and call these. Fused primitives
live in :mod:`stirpile.ops.nn` (``linear``, ``expm1``, ``erf``) and
:mod:`stirpile.ops.loss` (``cross_entropy``, ``binary_cross_entropy``);
everything else is composed from the primitive ops, so its gradient comes
from theirs and the activations stay twice differentiable (the course needs
second derivatives). Compositions are written so that no branch overflows,
e.g. ``softplus`` exponentiates ``min(βx, threshold)``, never ``βx``.

>>> import stirpile
>>> import stirpile.nn.functional as F
>>> x = stirpile.tensor([[-2.0, 0.0, 3.0]])
>>> F.relu(x)
tensor([[0., 0., 3.]])
>>> F.leaky_relu(x, 0.1)
tensor([[-0.2000,  0.0000,  3.0000]])
>>> round(F.cross_entropy(stirpile.tensor([[0.0, 0.0]]), stirpile.tensor([1])).item(), 4)  # ln 2
0.6931
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..functions import one_hot as _one_hot
from ..functions import where
from ..ops import loss as loss_ops
from ..ops import nn as nn_ops
from ..tensor import Tensor, _raw

__all__ = [
    "apl",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "centered_softplus",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "elu",
    "gelu",
    "huber_loss",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsigmoid",
    "maxout",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "prelu",
    "relu",
    "rrelu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softmin",
    "softplus",
    "tanh",
]

# -- helpers ------------------------------------------------------------------------------


def _tensor(x: Any, like: Tensor) -> Tensor:
    """``x`` as a tensor of ``like``'s float dtype (targets may come as arrays or lists)."""
    if isinstance(x, Tensor):
        return x if x.dtype == like.dtype or x.dtype.kind != "f" else x.to(like.dtype)
    return Tensor._make(B.xp.asarray(x, dtype=like.dtype))


def _legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """PyTorch's deprecated ``size_average`` / ``reduce`` flags, mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction instead.",
        stacklevel=3,
    )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def _check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_size(input: Tensor, target: Any) -> None:
    if tuple(B.xp.shape(_raw(target))) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({tuple(B.xp.shape(_raw(target)))}) that is different to the "
            f"input size ({tuple(input.shape)}). This will likely lead to incorrect results due "
            "to broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )


def _reduce_weighted(loss: Tensor, weight: Any, reduction: str, divide_by_weight: bool) -> Tensor:
    """The ``reduction`` of ``loss``, elementwise-weighted when ``weight`` is given
    (PyTorch's ``weight=`` of mse/l1/huber). Weighted, ``"mean"`` is ``Σ w ℓ / Σ w`` if
    ``divide_by_weight`` (mse, l1), else the plain mean of ``w ℓ`` (huber)."""
    if weight is None:
        return _reduce(loss, reduction)
    _check_reduction(reduction)
    if tuple(B.xp.shape(_raw(weight))) != tuple(loss.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * _tensor(weight, loss)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / _tensor(weight, loss).sum() if divide_by_weight else loss.mean()


def _softplus0(z: Tensor) -> Tensor:
    """``log(1 + e^z)`` for any z without overflow: ``z + log1p(e^−z)`` for z > 0,
    ``log1p(e^z)`` otherwise (each branch exponentiates a non-positive number)."""
    pos = z + (-z.clamp(min=0)).exp().log1p()
    neg = z.clamp(max=0).exp().log1p()
    return where(z > 0, pos, neg)


# -- linear layers ----------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x Wᵀ + b``: input ``(*, in)``, weight ``(out, in)``, bias ``(out,)`` → ``(*, out)``.

    One fused primitive (:class:`stirpile.ops.nn.Linear`).
    """
    if bias is None:
        return nn_ops.Linear.apply(input, weight)
    return nn_ops.Linear.apply(input, weight, bias)


def maxout(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Maxout (Goodfellow et al. 2013): ``y_j = max_k (W_k x + b_k)_j``.

    ``weight`` has shape ``(pieces, out, in)`` (``weight[k]`` is ``W_k``), ``bias``
    ``(pieces, out)``; input ``(*, in)`` → output ``(*, out)``. The gradient goes to
    the winning piece only (split on ties).
    """
    k, n_out, n_in = weight.shape
    z = linear(input, weight.reshape(k * n_out, n_in), None if bias is None else bias.reshape(-1))
    return z.reshape(*z.shape[:-1], k, n_out).amax(-2)


def apl(input: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Adaptive piecewise linear unit (Agostinelli et al. 2014):

        f(x) = max(0, x) + Σ_{s=1..S} a_s · max(0, −x + b_s)

    per unit: ``a`` and ``b`` have shape ``(S, C)`` and the units are on axis 1 of the
    input ``(N, C, *)`` (or the only axis of a 1-d input ``(C,)``).
    """
    s, c = a.shape
    axis = 1 if input.ndim >= 2 else 0
    if input.shape[axis] != c:
        raise RuntimeError(
            f"apl: expected {c} units on axis {axis}, got input {tuple(input.shape)}"
        )
    shape = (s,) + (1,) * axis + (c,) + (1,) * (input.ndim - axis - 1)
    hinges = (b.reshape(shape) - input.unsqueeze(0)).relu()
    return input.relu() + (a.reshape(shape) * hinges).sum(0)


# -- activations ------------------------------------------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``. (``inplace`` is accepted for compatibility; stirpile never mutates
    an activation's input, so it is ignored.)"""
    return input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x if x > 0 else negative_slope · x`` (``max(x, αx)`` for α < 1)."""
    return where(input > 0, input, input * negative_slope)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU with a learnable slope: ``x if x > 0 else a · x``; ``weight`` holds one
    slope, or one per channel (axis 1 of the input)."""
    if weight.numel() == 1:
        a = weight.reshape(())
    else:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.numel() != channels:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {weight.numel()} and channel size = {channels}."
            )
        a = weight.reshape((1, channels) + (1,) * (input.ndim - 2))
    return where(input > 0, input, a * input)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: in training each element's negative slope is drawn from
    ``U(lower, upper)`` (stirpile's global generator); in evaluation it is the mean
    slope ``(lower + upper) / 2``."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    slopes = B.rng().uniform(lower, upper, input.shape).astype(input.dtype)
    return where(input > 0, input, input * Tensor._make(slopes))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x if x > 0 else α (eˣ − 1)``; e^x is taken of ``min(x, 0)`` (no overflow)."""
    neg = nn_ops.Expm1.apply(input.clamp(max=0))
    return where(input > 0, input, neg * alpha if alpha != 1 else neg)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``(1/β) log(1 + e^(βx))``, and ``x`` itself where ``βx > threshold`` (PyTorch's
    rule: there the two agree to float precision)."""
    xb = input * beta if beta != 1 else input
    soft = xb.clamp(max=threshold).exp().log1p()
    if beta != 1:
        soft = soft / beta
    return where(xb > threshold, input, soft)


def centered_softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """The lectures' centered SoftPlus: ``softplus(x) − ln 2 / β``, so that f(0) = 0
    (not in PyTorch)."""
    return softplus(input, beta, threshold) - math.log(2.0) / beta


def sigmoid(input: Tensor) -> Tensor:
    """``σ(x) = 1 / (1 + e^(−x))``; σ' = σ(1 − σ)."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """``tanh x``; tanh' = 1 − tanh²."""
    return input.tanh()


def logsigmoid(input: Tensor) -> Tensor:
    """``log σ(x) = −softplus(−x)``, computed without overflow."""
    return -_softplus0(-input)


def _softmax_args(
    name: str, input: Tensor, dim: int | None, stacklevel: int, dtype: Any
) -> tuple[Tensor, int]:
    """What softmax, softmin and log_softmax (``name``) do before their one line of work:
    cast the input to ``dtype`` if given, and pick the dimension. Without ``dim``, that is
    PyTorch's deprecated implicit choice (0 for 0-, 1- and 3-d inputs, else 1), with a
    warning. ``name`` calls this helper directly, so ``stacklevel`` counts the frames as
    it would inside ``name``: the warning points at whoever called ``name``."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the call to "
            "include dim=X as an argument.",
            stacklevel=stacklevel,
        )
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return input, dim


def softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``e^(x_i) / Σ_j e^(x_j)`` along ``dim`` (computed with the maximum subtracted)."""
    input, dim = _softmax_args("softmax", input, dim, _stacklevel, dtype)
    return input.softmax(dim)


def softmin(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``softmax(−x)``."""
    input, dim = _softmax_args("softmin", input, dim, _stacklevel, dtype)
    return (-input).softmax(dim)


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``x_i − log Σ_j e^(x_j)`` along ``dim``; more accurate than ``softmax(x).log()``."""
    input, dim = _softmax_args("log_softmax", input, dim, _stacklevel, dtype)
    return input.log_softmax(dim)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x Φ(x) = x · ½ (1 + erf(x / √2))``; with ``approximate="tanh"``,
    ``½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))``."""
    if approximate == "none":
        return input * 0.5 * (nn_ops.Erf.apply(input * (1 / math.sqrt(2.0))) + 1)
    if approximate == "tanh":
        x = input.clamp(
            -100.0, 100.0
        )  # tanh(inner) is ±1 to the last bit beyond ±10; no x³ overflow
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        return input * 0.5 * (inner.tanh() + 1)
    raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """SiLU / swish: ``x σ(x)``."""
    return input * input.sigmoid()


# -- dropout and normalization ----------------------------------------------------------


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: in training, zero each element with probability ``p`` (masks
    from stirpile's global generator) and scale the survivors by ``1/(1 − p)``, so the
    expected value is unchanged and evaluation is the identity."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = B.rng().random(input.shape) >= p
    return input * Tensor._make(keep.astype(input.dtype) * (1.0 / (1.0 - p)))


def _normalize_over(input: Tensor, axes: tuple, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(x − mean) / √(var + ε)`` over ``axes`` (biased variance), and the mean and var."""
    mean = input.mean(axes, keepdim=True)
    centered = input - mean
    var = (centered * centered).mean(axes, keepdim=True)
    return centered / (var + eps).sqrt(), mean, var


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization over axis 1 (channels) of an ``(N, C)`` or ``(N, C, L)`` input:

        y = (x − μ) / √(σ² + ε) · γ + β

    In training μ and σ² are the batch's mean and biased variance per channel, and
    the running statistics (if given) move towards them in place:
    ``running = (1 − momentum) · running + momentum · batch`` (with the *unbiased*
    variance for ``running_var``). Otherwise μ, σ² are the running statistics.
    """
    c = input.shape[1]
    axes = (0, *range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        n = input.numel() // c
        if n <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{tuple(input.shape)}"
            )
        y, mean, var = _normalize_over(input, axes, eps)
        with no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean.detach().reshape(c), alpha=momentum)
            if running_var is not None:
                unbiased = var.detach().reshape(c) * (n / (n - 1))
                running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var are needed in eval")
        y = (input - running_mean.reshape(shape)) / (running_var.reshape(shape) + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dimensions of each sample:
    ``(x − mean) / √(var + ε) · γ + β`` (biased variance)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.ndim - k :]) != shape or input.ndim < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of size {tuple(input.shape)}"
        )
    y, _, _ = _normalize_over(input, tuple(range(-k, 0)), eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(‖x‖_p, ε)`` along ``dim``."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


# -- losses -----------------------------------------------------------------------------


def mse_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Tensor:
    """Mean squared error ``(x − y)²`` (the lectures' ``1/s Σ ‖y_i − N(x_i)‖²`` is
    ``reduction="sum"`` divided by the batch size). With ``weight``: ``Σ w (x − y)² / Σ w``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _same_size(input, target)
    diff = input - _tensor(target, input)
    loss = diff * diff
    return _reduce_weighted(loss, weight, reduction, divide_by_weight=True)


def l1_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Tensor:
    """Mean absolute error ``|x − y|``. With ``weight``: ``Σ w |x − y| / Σ w``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _same_size(input, target)
    loss = (input - _tensor(target, input)).abs()
    return _reduce_weighted(loss, weight, reduction, divide_by_weight=True)


def huber_loss(
    input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None
) -> Tensor:
    """``½ d²`` where ``|d| < δ``, else ``δ (|d| − ½ δ)``, with ``d = x − y``: quadratic
    near 0, linear (robust to outliers) beyond δ. With ``weight``: mean of ``w · ℓ``."""
    _same_size(input, target)
    d = input - _tensor(target, input)
    a = d.abs()
    loss = where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    return _reduce_weighted(loss, weight, reduction, divide_by_weight=False)


def smooth_l1_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """``½ d² / β`` where ``|d| < β``, else ``|d| − ½ β`` (Huber divided by β)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _same_size(input, target)
    d = input - _tensor(target, input)
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    loss = where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return _reduce(loss, reduction)


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between the softmax of ``input`` (logits) and ``target``.

    Softmax and cross-entropy are applied in one step: pass raw scores (logits), and
    don't apply softmax twice. For class indices ``t``,
    ``ℓ_i = −w_{t_i} log softmax(x_i)_{t_i}``; for class probabilities ``p``,
    ``ℓ_i = −Σ_c w_c p_ic log softmax(x_i)_c``. See :class:`stirpile.nn.CrossEntropyLoss`.

    Shape: input ``(C)``, ``(N, C)`` or ``(N, C, d1, …)``; target ``()``, ``(N)``,
    ``(N, d1, …)`` (int64 indices) or the input's shape (float probabilities).
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if not isinstance(target, Tensor):
        target = Tensor._make(B.xp.asarray(target))
    if target.dtype.kind == "f" and target.dtype != input.dtype:
        target = target.to(input.dtype)
    w = None if weight is None else B.xp.asarray(_raw(weight))
    return loss_ops.CrossEntropy.apply(
        input,
        target,
        weight=w,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities (e.g. the
    output of ``log_softmax``): ``ℓ_i = −w_{t_i} x_{i, t_i}``; ``mean`` divides by
    ``Σ_i w_{t_i}`` over targets ≠ ``ignore_index``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    axis = 1 if input.ndim >= 2 else 0
    n_classes = input.shape[axis]
    t = B.xp.asarray(_raw(target))
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: expected class indices (integer) as target, got {t.dtype}")
    keep = t != ignore_index
    tc = B.xp.where(keep, t, 0)
    if tc.size and (tc.min() < 0 or tc.max() >= n_classes):
        bad = tc[(tc < 0) | (tc >= n_classes)].flat[0]
        raise IndexError(f"Target {bad} is out of bounds.")
    picked = input.gather(axis, Tensor._make(B.xp.expand_dims(tc, axis))).squeeze(axis)
    if weight is None:
        w_t = keep.astype(input.dtype)
    else:
        w_t = B.xp.asarray(_raw(weight)).astype(input.dtype)[tc] * keep
    loss = -picked * Tensor._make(w_t)
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    denom = float(w_t.sum())
    return total / denom if denom else total * math.nan


def binary_cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``−w (y log x + (1 − y) log(1 − x))`` for probabilities ``x`` ∈ [0, 1] (each log
    clamped at −100). Prefer :func:`binary_cross_entropy_with_logits` on raw scores."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _tensor(target, input)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}) is deprecated. Please ensure they have the same size."
        )
    loss = loss_ops.BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * _tensor(weight, input)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Binary cross-entropy on logits, ``−w [p y log σ(x) + (1 − y) log(1 − σ(x))]``,
    computed stably as ``(1 − y) x + (1 + (p − 1) y) · softplus(−x)`` (equal to
    ``max(x, 0) − x y + log(1 + e^(−|x|))`` when ``p = 1``): no overflow for any ``x``.
    ``pos_weight`` ``p`` (per class, broadcast over the last axis) weighs positives."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _tensor(target, input)
    if target.shape != input.shape:
        raise ValueError(
            f"Target size ({tuple(target.shape)}) must be the same as input size "
            f"({tuple(input.shape)})"
        )
    neg_log_sigmoid = _softplus0(-input)
    if pos_weight is not None:
        neg_log_sigmoid = neg_log_sigmoid * ((_tensor(pos_weight, input) - 1) * target + 1)
    loss = (1 - target) * input + neg_log_sigmoid
    if weight is not None:
        loss = loss * _tensor(weight, input)
    return _reduce(loss, reduction)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``x1 · x2 / (max(‖x1‖, ε) · max(‖x2‖, ε))`` along ``dim`` (the lectures'
    ``y · N(x) / (‖y‖ ‖N(x)‖)``); each input is divided by its norm first, which keeps
    the result within [−1, 1]."""
    n1 = (x1 * x1).sum(dim, keepdim=True).sqrt().clamp(min=eps)
    n2 = (x2 * x2).sum(dim, keepdim=True).sqrt().clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``1 − cos(x1, x2)`` where ``y = 1``; ``max(0, cos(x1, x2) − margin)`` where ``y = −1``.

    Shape: inputs ``(N, D)`` with target ``(N)``, or ``(D)`` with a 0-d target.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    y = B.xp.asarray(_raw(target))
    dim = y.ndim
    if dim not in (0, 1) or input1.ndim != dim + 1 or input2.ndim != dim + 1:
        raise RuntimeError(
            f"cosine_embedding_loss: expected inputs of {dim + 1}D for a {dim}D target, got "
            f"{tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / (mag1 * mag2).sqrt()
    loss = where(y == 1, 1 - cos, 0.0) + where(y == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``(*) → (*, num_classes)`` int64 one-hot encoding of class indices."""
    return _one_hot(tensor, num_classes)
