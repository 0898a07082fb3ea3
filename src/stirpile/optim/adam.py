"""Adam: momentum and RMSprop together, with bias-corrected moments."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    _check_fused,
    _check_hyperparameters,
    _decayed_grad,
    _init_state,
    _lerp_,
    _zeros,
)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with AMSGrad and decoupled weight decay as options.

    **The course's form.** Exponential averages of the gradient (momentum) and of
    its square (RMSprop), each divided by ``1 − βᵗ`` to undo their bias towards
    the zero they start from::

        v_t = (μ v_{t−1} + (1 − μ) g_t) / (1 − μᵗ)       (first moment,  μ = β₁)
        s_t = (β s_{t−1} + (1 − β) g_t²) / (1 − βᵗ)      (second moment, β = β₂)
        w ← w − η v_t / (√s_t + ε)

    (the running averages are kept *un*-corrected; the correction applies to the
    values used in the step.)

    **PyTorch's algorithm, which this class implements.** Each step ``t = 1, 2, …``::

        g ← −g                                 if maximize
        w ← w (1 − lr · weight_decay)          if decoupled_weight_decay (AdamW)
        g ← g + weight_decay · w               elif weight_decay ≠ 0 (L2, coupled)
        m ← m + (1 − β₁)(g − m)                (= β₁ m + (1 − β₁) g)
        v ← β₂ v + (1 − β₂) g²
        v̂ ← max(v̂, v); d ← v̂                  if amsgrad
        d ← v                                  otherwise
        w ← w − (lr / (1 − β₁ᵗ)) · m / (√d / √(1 − β₂ᵗ) + eps)

    ``eps`` is added after the second moment is bias-corrected, as in the course's
    ``√s_t + ε``.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate η (default 1e-3).
        betas: ``(β₁, β₂)``, the averaging coefficients (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0); decoupled when ``decoupled_weight_decay``.
        amsgrad: use the running maximum of the second moment (Reddi et al., 2018).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: AdamW's decay (``AdamW`` sets it).
        foreach, capturable, differentiable, fused: accepted for PyTorch
            compatibility and ignored (NumPy has one implementation; optimizer steps
            never record a graph), but kept in the groups like PyTorch's.

    As in PyTorch, the two betas must both be floats (or both one-element tensors,
    whose values are used).

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v),
    ``max_exp_avg_sq`` (amsgrad).

    >>> import stirpile
    >>> w = stirpile.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = stirpile.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()                   # first step: m̂/√v̂ = g/|g| = ±1
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    _elementwise = True

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "betas": _betas(betas, foreach, capturable),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            _init_state(state, param, "exp_avg", "exp_avg_sq")
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _zeros(param)
        state["step"] += 1
        step = state["step"]
        # Each temporary is written to a scratch buffer (out=): the ufuncs of the expressions
        # in the comments, in their order, with no allocation (see Optimizer._scratch).
        scratch = self._scratch
        g = _decayed_grad(param, grad, group, group["decoupled_weight_decay"], scratch)

        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _lerp_(exp_avg, g, 1 - beta1, scratch)
        exp_avg_sq *= beta2
        # exp_avg_sq += (1 - beta2) * (g * g)
        square = B.xp.multiply(g, g, out=scratch("tmp", g))
        exp_avg_sq += B.xp.multiply(square, 1 - beta2, out=scratch("tmp", square, 1 - beta2))

        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        if group["amsgrad"]:
            max_sq = state["max_exp_avg_sq"]._data
            B.xp.maximum(max_sq, exp_avg_sq, out=max_sq)
            denom = B.xp.sqrt(max_sq, out=scratch("tmp", max_sq))
        else:
            denom = B.xp.sqrt(exp_avg_sq, out=scratch("tmp", exp_avg_sq))
        denom /= bias_correction2_sqrt
        denom += eps
        # param -= step_size * (exp_avg / denom)
        ratio = B.xp.divide(exp_avg, denom, out=scratch("tmp", exp_avg, denom))
        param -= B.xp.multiply(ratio, step_size, out=scratch("tmp", ratio, step_size))


def _betas(betas: Any, foreach: bool | None, capturable: bool) -> tuple[float, float]:
    """PyTorch's check that ``betas`` are two floats or two (one-element) tensors; tensors
    become their values (stirpile's update runs on floats)."""
    if not (all(isinstance(b, float) for b in betas) or all(isinstance(b, Tensor) for b in betas)):
        raise ValueError("betas must be either both floats or both Tensors")
    for i, b in enumerate(betas):  # (the range checks already needed one element each)
        if isinstance(b, Tensor) and foreach and not capturable:
            raise ValueError(
                f"betas[{i}] as a Tensor is not supported for capturable=False and foreach=True"
            )
    return tuple(b.item() if isinstance(b, Tensor) else b for b in betas)
