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
from collections.abc import Callable, Sequence
from typing import Any

from .. import backend as B
from ..autograd.function import traced_call
from ..autograd.grad_mode import no_grad
from ..autograd.version import bump
from ..functions import one_hot as _one_hot
from ..functions import where
from ..ops import loss as loss_ops
from ..ops import nn as nn_ops
from ..ops import norm as norm_ops
from ..tensor import Tensor, _raw, _wrap_dim

__all__ = [
    "alpha_dropout",
    "apl",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "centered_softplus",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "elu",
    "embedding",
    "embedding_bag",
    "gaussian_nll_loss",
    "gelu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsigmoid",
    "margin_ranking_loss",
    "maxout",
    "mish",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pairwise_distance",
    "poisson_nll_loss",
    "prelu",
    "relu",
    "relu6",
    "rms_norm",
    "rrelu",
    "selu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "soft_margin_loss",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "triplet_margin_loss",
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


def _apply_inplace(input: Tensor, name: str, compute: Callable[[Tensor], Tensor]) -> Tensor:
    """PyTorch's ``inplace=True``: ``compute(input)``, the out-of-place result, written
    into ``input``'s memory, and ``input`` itself returned.

    While recording (``input`` requires grad, grad mode on) the write is recorded as
    ``Tensor``'s in-place methods record theirs: ``input`` takes the new node as its
    history, so gradients flow through it as in PyTorch, and a leaf that requires grad (or
    a view of one) raises PyTorch's error. The values are then computed from a clone of
    ``input``: the composed ops may save the input's array, which the write overwrites.

    >>> import stirpile
    >>> h = stirpile.tensor([-1.0, 2.0], requires_grad=True) * 1
    >>> out = hardtanh(h, inplace=True)
    >>> out is h, h
    (True, tensor([-1.,  1.], grad_fn=<WhereBackward>))
    """
    return input._apply_(name, compute, _clone=True)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``; with ``inplace`` written into ``input`` (``input.relu_()``)."""
    return input.relu_() if inplace else input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x if x > 0 else negative_slope · x`` (``max(x, αx)`` for α < 1). ``inplace``:
    see :func:`_apply_inplace` (as for every activation that takes it)."""
    if inplace:
        return _apply_inplace(input, "leaky_relu_", lambda x: leaky_relu(x, negative_slope))
    return where(input > 0, input, input * negative_slope)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU with a learnable slope: ``x if x > 0 else a · x``; ``weight`` holds one
    slope, or one per channel (axis 1 of the input)."""
    if weight.ndim > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}"
        )
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
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if inplace:
        return _apply_inplace(input, "rrelu_", lambda x: rrelu(x, lower, upper, training))
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    slopes = B.rng().uniform(lower, upper, input.shape).astype(input.dtype)
    return where(input > 0, input, input * Tensor._make(slopes))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x if x > 0 else α (eˣ − 1)``; e^x is taken of ``min(x, 0)`` (no overflow)."""
    if inplace:
        return _apply_inplace(input, "elu_", lambda x: elu(x, alpha))
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
    if inplace:
        return _apply_inplace(input, "silu_", silu)
    return input * input.sigmoid()


def _hard_clamp(input: Tensor, lo: float, hi: float) -> Tensor:
    """``clamp(x, lo, hi)`` whose gradient is 1 strictly inside ``(lo, hi)`` and 0 at the
    ends (PyTorch's hardtanh rule; plain ``clamp`` passes the gradient at the ends too)."""
    inside = (input > lo) & (input < hi)
    return where(inside, input, input.detach().clamp(lo, hi))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """SELU (Klambauer et al. 2017): ``λ (x if x > 0 else α (eˣ − 1))`` with
    α ≈ 1.6733, λ ≈ 1.0507, the constants that make zero mean and unit variance a fixed
    point of a layer."""
    if inplace:
        return _apply_inplace(input, "selu_", selu)
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """CELU: ``x if x > 0 else α (e^(x/α) − 1)`` (continuously differentiable for any α)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    if inplace:
        return _apply_inplace(input, "celu_", lambda x: celu(x, alpha))
    neg = nn_ops.Expm1.apply(input.clamp(max=0) * (1.0 / alpha)) * alpha
    return where(input > 0, input, neg)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Mish (Misra 2019): ``x tanh(softplus(x))``, softplus taken without overflow."""
    if inplace:
        return _apply_inplace(input, "mish_", mish)
    return input * _softplus0(input).tanh()


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """``clamp(x, min_val, max_val)``; the gradient is 1 strictly between the two, else 0.
    An integer input stays integer, the bounds truncated toward zero (as torch)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input.dtype.kind in "iu":
        min_val, max_val = int(min_val), int(max_val)
    if inplace:
        return _apply_inplace(input, "hardtanh_", lambda x: _hard_clamp(x, min_val, max_val))
    return _hard_clamp(input, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` = ``hardtanh(x, 0, 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 for x ≤ −3, 1 for x ≥ 3, linear in between."""
    if inplace:
        return _apply_inplace(input, "hardsigmoid_", hardsigmoid)
    return _hard_clamp(input + 3, 0.0, 6.0) / 6


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """Hard swish (Howard et al. 2019): ``x · relu6(x + 3) / 6``. As in PyTorch the
    gradient is 0 for x ≤ −3, ``x/3 + ½`` for −3 < x < 3 and 1 for x ≥ 3."""
    if inplace:
        return _apply_inplace(input, "hardswish_", hardswish)
    mid = input.clamp(-3.0, 3.0)  # the middle piece, clamped so that x² cannot overflow
    return where(input <= -3, 0.0, where(input < 3, mid * (mid + 3) / 6, input))


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``, as ``x · (1 + |x|)⁻¹`` (the gradient of a division would square
    ``1 + |x|``, which overflows float32 for |x| > 1e19). Integers give the default float
    dtype, as a true division does."""
    if input.dtype.kind in "iu":
        input = input.to(B.get_default_dtype())
    return input * (input.abs() + 1) ** -1


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit (Dauphin et al. 2017): ``a ⊗ σ(b)``, where ``a`` and ``b`` are
    the first and second halves of the input along ``dim`` (whose size must be even).

    Shape: Input ``(*₁, N, *₂)``; Output ``(*₁, N/2, *₂)``.
    """
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.split(n // 2, d) if n else (input, input)
    return a * b.sigmoid()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x if x > threshold else value``."""
    if inplace:
        return _apply_inplace(input, "threshold_", lambda x: where(x > threshold, x, value))
    return where(input > threshold, input, value)


def tanhshrink(input: Tensor) -> Tensor:
    """``x − tanh x``."""
    return input - input.tanh()


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Soft thresholding: ``x − λ`` for x > λ, ``x + λ`` for x < −λ, else 0 (λ ≥ 0)."""
    if lambd < 0:
        name = _TORCH_TYPE.get(input.dtype.name, input.dtype.name)
        top = float(B.xp.finfo(input.dtype).max) if input.dtype.kind == "f" else math.inf
        raise RuntimeError(
            f"lambda must be in range [0, {top:g}] for input dtype {name}, but found {lambd:g}"
        )
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Hard thresholding: ``x`` where ``|x| > λ``, else 0."""
    return where((input > lambd) | (input < -lambd), input, 0.0)


# -- dropout and normalization ----------------------------------------------------------


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: in training, zero each element with probability ``p`` (masks
    from stirpile's global generator) and scale the survivors by ``1/(1 − p)``, so the
    expected value is unchanged and evaluation is the identity."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if inplace:
        return _apply_inplace(input, "dropout_", lambda x: dropout(x, p))
    if p == 1.0:
        return input * 0.0
    mask = traced_call(_dropout_mask, input.shape, input.dtype, p)
    return input * Tensor._make(mask)


def _dropout_mask(shape: tuple, dtype: Any, p: float) -> Any:
    """``1/(1 − p)`` where an element is kept (probability ``1 − p``), 0 where dropped."""
    keep = B.rng().random(shape) >= p
    return keep.astype(dtype) * (1.0 / (1.0 - p))


_SELU_SATURATION = _SELU_ALPHA * _SELU_SCALE  # −λα is where SELU saturates: 1.7581…


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout (Klambauer et al. 2017), the dropout for SELU networks: in training
    each element is set to SELU's saturation value ``α' = −λα`` with probability ``p``
    (masks from stirpile's global generator), then the whole is mapped by the affine
    ``a x + b`` with ``a = ((1 − p)(1 + p α'²))^(−½)`` and ``b = −a p α'``, which keeps
    zero mean and unit variance. Identity in evaluation (``training=False``, the default).
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if inplace:
        return _apply_inplace(input, "alpha_dropout_", lambda x: alpha_dropout(x, p, True))
    if p == 1.0:
        return input * 0.0
    keep = (B.rng().random(input.shape) >= p).astype(input.dtype)
    a = 1.0 / math.sqrt((_SELU_SATURATION**2 * p + 1) * (1 - p))
    shift = (keep - 1) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
    return input * Tensor._make(keep * a) + Tensor._make(shift.astype(input.dtype))


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
    An empty input gives an empty output (as in PyTorch, whatever its shape).
    """
    if input.numel() == 0:
        return input.clone()
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):  # fmt: skip
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        n = input.numel() // c
        if n == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size "
                f"{tuple(input.shape)}"
            )
        stats = traced_call(_batch_stats, input, running_mean, running_var, momentum)
        # one fused op (see ops/norm.py: ~5x faster forward + backward than composed)
        return norm_ops.BatchNormTrain.apply(input, weight, bias, eps, stats=stats)
    else:
        if running_mean is None or running_var is None:
            missing = "running_mean" if running_mean is None else "running_var"
            raise RuntimeError(f"{missing} must be defined in evaluation mode")
        y = (input - running_mean.reshape(shape)) / (running_var.reshape(shape) + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _batch_stats(x: Any, running_mean: Any, running_var: Any, momentum: float) -> tuple:
    """The batch's per-channel mean and biased variance (arrays); the running estimates, if
    given, move toward them in place (``running_var`` toward the unbiased variance)."""
    mean, var = norm_ops.moments(x)
    n = x.size // x.shape[1]
    for running, value in ((running_mean, mean), (running_var, var * (n / (n - 1)))):
        if running is not None:
            B.xp.multiply(running, 1 - momentum, out=running, casting="same_kind")
            B.xp.add(running, value * momentum, out=running, casting="same_kind")
            bump(running)
    return mean, var


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


def rms_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """Root-mean-square normalization (Zhang & Sennrich 2019) over the trailing
    ``normalized_shape`` dimensions: ``x / √(mean(x²) + ε) · γ``; no centering, no bias.
    ``eps=None`` is the machine epsilon of the input's dtype, as in PyTorch; float16 is
    normalized in float32 (so is its default ε), then cast back."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
            "one element, but got normalized_shape = []"
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(
            f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
            f"{list(weight.shape)} and normalized_shape = {list(shape)}"
        )
    if input.ndim < k:
        raise ValueError(f"Input tensor must have at least {k} dimensions, but got {input.ndim}")
    if tuple(input.shape[input.ndim - k :]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*{', '.join(map(str, shape))}], but got input of size{list(input.shape)}"
        )
    x = input.to(B.float32) if input.dtype == B.float16 else input
    if eps is None:
        eps = float(B.xp.finfo(x.dtype).eps)
    ms = (x * x).mean(tuple(range(-k, 0)), keepdim=True)
    y = (x * (ms + eps).rsqrt()).to(input.dtype)
    return y if weight is None else y * weight


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
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
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
    the result within [−1, 1]. The inputs broadcast together first, as in PyTorch."""
    shape = B.xp.broadcast_shapes(x1.shape, x2.shape)
    x1, x2 = x1.expand(shape), x2.expand(shape)
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


def _xlogx(t: Tensor) -> Tensor:
    """``t log t`` with ``0 log 0 = 0`` (and nan for t < 0), without a log of 0 or of a
    negative number (no NumPy warning). Its gradient ``log t + 1`` is taken as 0 where
    t ≤ 0 (PyTorch's is nan there)."""
    pos = t > 0
    safe = where(pos, t, 1.0)
    out = where(pos, safe * safe.log(), 0.0)
    neg = _raw(t) < 0
    return where(neg, math.nan, out) if neg.any() else out


def kl_div(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback–Leibler divergence ``KL(P ‖ Q)`` pointwise, for log-probabilities
    ``input = log q`` and probabilities ``target = p`` (log-probabilities with
    ``log_target``): ``ℓ = p (log p − log q)``, with ``0 log 0 = 0``.

    ``reduction="batchmean"`` (sum / batch size) is the true KL divergence of each
    sample averaged; ``"mean"`` divides by the number of elements (and warns, as PyTorch).
    """
    if size_average is not None or reduce is not None:
        red = _legacy_reduction(size_average, reduce, reduction)
    else:
        if reduction == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the "
                "support size.'batchmean' divides only by the batch size, and aligns with the "
                "KL div math definition.'mean' will be changed to behave the same as "
                "'batchmean' in the next major release.",
                stacklevel=2,
            )
        red = "sum" if reduction == "batchmean" else reduction
    _check_reduction(red)
    target = _tensor(target, input)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _xlogx(target) - target * input
    out = _reduce(loss, red)
    if reduction == "batchmean" and input.ndim != 0:
        out = out / input.shape[0]
    return out


def poisson_nll_loss(
    input: Tensor,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of a Poisson target with rate λ: ``ℓ = λ − y log λ``,
    given ``input = log λ`` (``log_input``, then ``ℓ = eˣ − y x``) or ``input = λ``
    (then ``log(λ + eps)``). ``full`` adds Stirling's ``y log y − y + ½ log(2πy)`` where
    ``y > 1`` (the ``log y!`` term, constant in λ)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = _tensor(target, input)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target > 1
        y = where(big, target, 1.0)
        stirling = y * y.log() - y + 0.5 * (y * (2 * math.pi)).log()
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of ``target`` under ``N(input, var)``:
    ``ℓ = ½ (log max(var, eps) + (x − y)² / max(var, eps))`` (+ ``½ log 2π`` if ``full``).

    ``var`` is a number, a tensor of the input's shape (heteroscedastic), of the input's
    shape without its last dimension, or broadcastable to it with exactly one dimension
    of size 1 where the input's is not (homoscedastic). Clamping at ``eps`` happens
    outside autograd, as in PyTorch: where ``var < eps`` the gradient is the one at
    ``eps``.
    """
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = Tensor._make(B.xp.full(input.shape, var, dtype=input.dtype))
    else:
        var = _tensor(var, input)
        if (var._data < 0).any():
            raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (
            input.ndim == var.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1
        ):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # the clamped value, with the gradient passed straight through to var
    var = var.detach().clamp(min=eps) + (var - var.detach())
    d = input - _tensor(target, input)
    loss = 0.5 * (var.log() + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Any,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, −y (x1 − x2) + margin)``: ``y = 1`` asks for ``x1`` to rank above ``x2``
    by ``margin``, ``y = −1`` for the reverse."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    target = _tensor(target, input1)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {tuple(input1.shape)}, input2: {tuple(input2.shape)}, target: "
            f"{tuple(target.shape)} "
        )
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Any,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``x`` where ``y = 1``, ``max(0, margin − x)`` where ``y = −1`` (``x`` typically a
    distance; PyTorch adds both terms for any other label, and so do we)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    t = _tensor(target, input)
    loss = where(t != 1, (margin - input).clamp(min=0), 0.0) + where(t != -1, input, 0.0)
    return _reduce(loss, reduction)


# PyTorch's scalar type names, for its error messages
_TORCH_TYPE = {
    "float32": "Float",
    "float64": "Double",
    "float16": "Half",
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def _class_indices(target: Any) -> Any:
    """The integer array of a class-index target; PyTorch's error for anything else."""
    t = B.xp.asarray(_raw(target))
    if t.dtype.kind not in "iu":
        name = _TORCH_TYPE.get(t.dtype.name, t.dtype.name)
        raise RuntimeError(f"expected scalar type Long but found {name}")
    return t


def _check_vector_or_matrix(input: Tensor) -> None:
    n = input.ndim
    if not ((n == 2 and input.shape[1] != 0) or (n == 1 and input.shape[0] != 0) or n == 0):
        raise RuntimeError(
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(input.shape)}"
        )


def multi_margin_loss(
    input: Tensor,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss: for scores ``x`` (C classes) and class ``y``,
    ``ℓ = Σ_{j ≠ y} w_y max(0, margin − x_y + x_j)^p / C`` (``p`` ∈ {1, 2}).

    Shape: input ``(N, C)`` with target ``(N)``, or ``(C)`` with target ``()`` or ``(1)``.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and B.xp.ndim(_raw(weight)) != 1:
        raise ValueError("weight must be one-dimensional")
    _check_vector_or_matrix(input)
    x = input.reshape(-1, input.shape[-1] if input.ndim else 1)
    n, c = x.shape
    t = _class_indices(target)
    if not ((t.ndim == 1 and t.shape[0] == n) or (input.ndim <= 1 and t.ndim == 0)):
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{n}], but got "
            f"{list(t.shape)}. Input has shape {list(input.shape)}."
        )
    if t.size and (t.min() < 0 or t.max() >= c):
        raise RuntimeError("target out of range")
    if weight is not None and B.xp.shape(_raw(weight))[0] != c:
        raise RuntimeError(
            f"inconsistent weight size, expected {c} but got {list(B.xp.shape(_raw(weight)))}"
        )
    t = t.reshape(n, 1)
    z = (margin - x.gather(1, Tensor._make(t))) + x
    h = z.relu()
    if p == 2:
        h = h * h
    if weight is not None:
        h = h * _tensor(weight, input)[Tensor._make(t)]
    h = where(B.xp.arange(c) == t, 0.0, h)  # the target class itself is not a margin
    loss = h.sum(1) / c
    return _reduce(loss if input.ndim == 2 else loss.reshape(B.xp.shape(_raw(target))), reduction)


def multilabel_margin_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-label hinge loss: ``ℓ = Σ_j Σ_{i ∉ Y} max(0, 1 − (x_{y_j} − x_i)) / C`` over
    the target classes ``y_j`` (the target row up to its first −1) and the classes ``i``
    not among them. Builds an ``(N, C, C)`` intermediate.

    Shape: input ``(C)`` or ``(N, C)``; target of the same shape, int64, padded with −1.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_vector_or_matrix(input)
    t = _class_indices(target)
    if t.shape != tuple(input.shape):
        raise RuntimeError(
            f"inconsistent target size: {list(t.shape)} for input of size: {list(input.shape)}"
        )
    c = input.shape[-1] if input.ndim else 1
    x, t = input.reshape(-1, c), t.reshape(-1, c)
    if t.size and (t.min() < -1 or t.max() >= c):
        raise RuntimeError("argument #2 'target' is out of range")
    valid = B.xp.cumprod(t >= 0, axis=1).astype(bool)  # the targets before the first −1
    tc = B.xp.where(valid, t, 0)
    is_target = B.xp.zeros(t.shape, dtype=bool)
    is_target[B.xp.nonzero(valid)[0], tc[valid]] = True
    xy = x.gather(1, Tensor._make(tc))
    z = (1 - xy.unsqueeze(2)) + x.unsqueeze(1)  # z[n, j, i] = 1 − x[n, y_j] + x[n, i]
    mask = valid[:, :, None] & ~is_target[:, None, :]
    loss = where(mask, z.relu(), 0.0).sum((1, 2)) / c
    return _reduce(loss if input.ndim == 2 else loss.reshape(()), reduction)


def soft_margin_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Two-class logistic loss ``log(1 + e^(−y x))`` for labels ``y = ±1``, computed
    without overflow (PyTorch's own forward gives inf once ``−y x`` passes ~89 in float32)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _reduce(_softplus0(-_tensor(target, input) * input), reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-label one-versus-all logistic loss for targets ``y ∈ {0, 1}`` per class:
    ``ℓ = −Σ_c w_c (y_c log σ(x_c) + (1 − y_c) log σ(−x_c)) / C`` per sample."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    target = _tensor(target, input)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * _tensor(weight, input)
    c = input.shape[-1] if input.ndim else 1
    loss = loss.sum(-1) / c if input.ndim else loss
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """``‖x1 − x2 + eps‖_p`` over the last dimension (``p = inf``: the largest ``|·|``;
    ``p = 0``: the number of nonzero entries)."""
    d = x1 - x2 + eps
    if d.ndim == 0:
        d = d.reshape(1)
    if p == 2:
        return (d * d).sum(-1, keepdim=keepdim).sqrt()
    if p == 1:
        return d.abs().sum(-1, keepdim=keepdim)
    if p == math.inf:
        return d.abs().amax(-1, keepdim=keepdim)
    if p == 0:  # |sign d| counts; its zero gradient keeps the result in the graph
        return d.sign().abs().sum(-1, keepdim=keepdim)
    return (d.abs() ** p).sum(-1, keepdim=keepdim) ** (1.0 / p)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Triplet loss (Schroff et al. 2015): ``max(0, margin + d(a, p) − d(a, n))`` with
    ``d`` the :func:`pairwise_distance`; with ``swap`` (Balntas et al. 2016) ``d(a, n)``
    is replaced by ``min(d(a, n), d(p, n))``.

    Shape: ``(N, D)`` or ``(D)`` for all three; output ``(N)`` or ``()`` for ``"none"``.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


# -- sparse layers ----------------------------------------------------------------------


def _embedding_renorm_(weight: Tensor, idx: Any, max_norm: float, norm_type: float) -> None:
    """Rescale, in place and outside autograd, the rows of ``weight`` that ``idx`` looks up
    and whose ``norm_type``-norm exceeds ``max_norm``, to norm ``max_norm`` (PyTorch's
    ``embedding_renorm_``: factor ``max_norm / (norm + 1e-7)``)."""
    rows = B.xp.unique(idx)
    table = weight._data[rows]
    norms = B.xp.linalg.norm(table.astype(B.xp.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7))[:, None].astype(table.dtype)
        with no_grad():  # an in-place write, counted like any other (version counter)
            weight[rows[big]] = table[big] * scale


def _indices(input: Any, fn: str) -> Any:
    """The integer array of an index tensor; PyTorch's error for anything else."""
    idx = B.xp.asarray(_raw(input))
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {_TORCH_TYPE.get(idx.dtype.name, idx.dtype.name)} "
            f"instead (while checking arguments for {fn})"
        )
    return idx


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """A lookup table: ``out[..., :] = weight[input[...], :]``.

    ``padding_idx``: that row gets no gradient. ``max_norm``: the rows looked up are first
    renormalized in place to ``‖row‖_norm_type ≤ max_norm``. ``scale_grad_by_freq``: each
    row's gradient is divided by how often its index occurs in ``input``. ``sparse`` is
    accepted; the gradient is always dense.

    Shape: input ``(*)`` integer indices, weight ``(num_embeddings, embedding_dim)`` →
    ``(*, embedding_dim)``.

    >>> import stirpile
    >>> import stirpile.nn.functional as F
    >>> table = stirpile.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    >>> F.embedding(stirpile.tensor([[0, 2]]), table)
    tensor([[[0., 1.],
             [4., 5.]]])
    """
    idx = _indices(input, "embedding")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    n = weight.shape[0]
    if padding_idx is not None:
        if padding_idx >= n or padding_idx < -n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= n
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _embedding_renorm_(weight, idx, max_norm, norm_type)
    return nn_ops.Embedding.apply(
        weight, idx, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq
    )


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """The sum, mean or max of bags of embeddings, without materializing them per bag.

    A 2-d input ``(B, N)`` is B bags of N indices; a 1-d input is cut into bags at
    ``offsets`` (the start of each bag; with ``include_last_offset`` one more entry
    marks the end of the last). ``per_sample_weights`` (``mode="sum"`` only) weighs each
    looked-up row; entries equal to ``padding_idx`` are left out of their bag (and of
    a mean's count). An empty bag gives zeros. ``sparse`` is accepted; gradients are
    dense. In ``"max"`` mode ties share the gradient (PyTorch gives it to one of them).

    Shape: → ``(B, embedding_dim)``.
    """
    idx = _indices(input, "embedding_bag")
    psw = per_sample_weights
    if psw is not None and tuple(psw.shape) != idx.shape:
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({tuple(psw.shape)}) is not None, then it "
            f"must have the same shape as the input ({idx.shape})"
        )
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        bounds = B.xp.arange(idx.shape[0] + 1) * idx.shape[1]
        idx = idx.reshape(-1)
        psw = None if psw is None else psw.reshape(-1)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        starts = _indices(offsets, "embedding_bag")
        if starts.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        if starts.size and starts[0] != 0:
            raise RuntimeError(
                "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                f"from position 0. However, got {starts[0]}"
            )
        if starts.size and starts[-1] > idx.size:
            raise RuntimeError(
                f"offsets[-1] can not be greater than input's length {idx.size} but got "
                f"offsets[-1] of {starts[-1]}"
            )
        bounds = starts if include_last_offset else B.xp.append(starts, idx.size)
        if (B.xp.diff(bounds) < 0).any():
            raise RuntimeError("embedding_bag: offsets must be non-decreasing")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if psw is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub."
        )
    rows = embedding(Tensor._make(idx), weight, None, max_norm, norm_type, scale_grad_by_freq)
    n_bags = max(len(bounds) - 1, 0)
    # the bag of each position (n_bags past the last bound), and who is counted
    bag = B.xp.searchsorted(bounds, B.xp.arange(idx.size), side="right") - 1
    counted = bag < n_bags
    if padding_idx is not None:
        counted &= idx != padding_idx % weight.shape[0]
    if mode == "max":
        sizes = B.xp.diff(bounds) if n_bags else B.xp.zeros(0, dtype=int)
        longest = int(sizes.max()) if sizes.size else 0
        pos = bounds[:n_bags, None] + B.xp.arange(longest)  # (bags, longest)
        valid = B.xp.arange(longest) < sizes[:, None]
        pos = B.xp.where(valid, pos, 0)
        valid &= counted[pos]
        if not valid.any():
            return Tensor._make(B.xp.zeros((n_bags, weight.shape[1]), dtype=weight.dtype))
        picked = where(valid[..., None], rows[Tensor._make(pos)], -math.inf).amax(1)
        return where(valid.any(1)[:, None], picked, 0.0)
    members = B.xp.zeros((n_bags, idx.size), dtype=weight.dtype)
    members[bag[counted], B.xp.nonzero(counted)[0]] = 1
    if psw is not None:
        rows = rows * _tensor(psw, rows).unsqueeze(-1)
    out = Tensor._make(members) @ rows
    if mode == "mean":
        out = out / B.xp.maximum(members.sum(1), 1)[:, None]
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``(*) → (*, num_classes)`` int64 one-hot encoding of class indices."""
    return _one_hot(tensor, num_classes)


# The layers beyond the MLP keep their functional forms in modules of their own (they
# import this one for the shared helpers, hence the imports at the end); F.* has them all.
from . import functional_attention, functional_conv, functional_pool  # noqa: E402
from .functional_attention import *  # noqa: E402, F403
from .functional_conv import *  # noqa: E402, F403
from .functional_pool import *  # noqa: E402, F403

__all__ += functional_attention.__all__ + functional_conv.__all__ + functional_pool.__all__
