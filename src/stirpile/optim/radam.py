"""RAdam: Adam with the variance of its adaptive step rectified."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from .optimizer import Optimizer, _check_hyperparameters, _decayed_grad, _init_state, _lerp_


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020): Adam without the need for a warm-up.

    **The idea.** In Adam's first steps the second moment averages only a few
    squared gradients, so the adaptive step size ``1/√v̂`` has a large variance
    (hence the learning-rate warm-ups Adam is often paired with). RAdam
    estimates the length ρ_t of the simple moving average that Adam's
    exponential one approximates; while it is short (ρ_t ≤ 5) it takes plain
    momentum-SGD steps, and afterwards Adam steps scaled by a factor r_t < 1
    that makes the variance of the step what it will be once ρ_t → ρ_∞::

        ρ_∞ = 2 / (1 − β₂) − 1
        ρ_t = ρ_∞ − 2 t β₂ᵗ / (1 − β₂ᵗ)
        r_t = √( (ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t) )

    **PyTorch's algorithm, which this class implements.** Each step ``t = 1, 2, …``::

        g ← −g                                 if maximize
        w ← w (1 − lr · weight_decay)          if decoupled_weight_decay (RAdamW)
        g ← g + weight_decay · w               elif weight_decay ≠ 0
        m ← m + (1 − β₁)(g − m)                (exp_avg)
        v ← β₂ v + (1 − β₂) g²                 (exp_avg_sq)
        m̂ ← m / (1 − β₁ᵗ)
        if ρ_t > 5:
            w ← w − lr · m̂ · √(1 − β₂ᵗ) / (√v + eps) · r_t
        else:
            w ← w − lr · m̂

    With the default β₂ = 0.999 the first five steps are momentum-SGD steps.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        betas: ``(β₁, β₂)`` (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: weight decay coefficient (default 0).
        decoupled_weight_decay: shrink the weights directly, as AdamW does,
            instead of adding an L2 term to the gradient (default False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility
            and ignored (NumPy has one implementation; optimizer steps never
            record a graph).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).

    >>> import stirpile
    >>> w = stirpile.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = stirpile.optim.RAdam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()                 # ρ₁ = 1 ≤ 5: an SGD step with m̂ = g
    >>> w
    tensor([ 0.8000, -0.8000], requires_grad=True)
    """

    _elementwise = True

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        if not state:
            _init_state(state, param, "exp_avg", "exp_avg_sq")
        state["step"] += 1
        step = state["step"]
        g = _decayed_grad(param, grad, group, group["decoupled_weight_decay"])

        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * g * g

        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        update = exp_avg / bias_correction1
        update *= lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = (
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            ) ** 0.5
            adaptive = B.xp.sqrt(exp_avg_sq)
            adaptive += group["eps"]
            B.xp.reciprocal(adaptive, out=adaptive)  # PyTorch's c / x is x.reciprocal() * c
            adaptive *= bias_correction2**0.5
            update *= adaptive
            update *= rect
        param -= update
