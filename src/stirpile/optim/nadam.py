"""NAdam: Adam with Nesterov momentum."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from .optimizer import (
    Optimizer,
    _check_hyperparameters,
    _decayed_grad,
    _lerp_,
    _scalar_state,
    _zeros,
)


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016): Adam whose momentum looks one step ahead.

    **The idea.** Nesterov momentum takes the gradient step from where the
    momentum is about to carry the weights. Folded into Adam, the step mixes
    the *next* momentum ``μ_{t+1} m_t`` with the current gradient, each
    bias-corrected by the product of the momentum coefficients so far; the
    coefficient ``μ_t`` itself warms up over the first few hundred steps::

        μ_t = β₁ (1 − ½ · 0.96^{t ψ})                       (ψ = momentum_decay)
        m̂_t = μ_{t+1} m_t / (1 − ∏_{i≤t+1} μ_i) + (1 − μ_t) g_t / (1 − ∏_{i≤t} μ_i)
        v̂_t = v_t / (1 − β₂ᵗ)
        w ← w − η m̂_t / (√v̂_t + ε)

    **PyTorch's algorithm, which this class implements.** Each step ``t = 1, 2, …``::

        g ← −g                                 if maximize
        w ← w (1 − lr · weight_decay)          if decoupled_weight_decay (NAdamW)
        g ← g + weight_decay · w               elif weight_decay ≠ 0
        μ ← β₁ (1 − ½ · 0.96^{t ψ});   μ' ← β₁ (1 − ½ · 0.96^{(t+1) ψ})
        P ← P · μ                              (mu_product, starts at 1)
        m ← m + (1 − β₁)(g − m)                (exp_avg)
        v ← β₂ v + (1 − β₂) g²                 (exp_avg_sq)
        d ← √(v / (1 − β₂ᵗ)) + eps
        w ← w − lr (1 − μ) / (1 − P) · g / d
        w ← w − lr μ' / (1 − P μ') · m / d

    ``mu_product`` is a scalar held, as in PyTorch, in the default dtype at the
    time the state is created (float32 unless :func:`stirpile.set_default_dtype`
    changed it), so its rounding, and the trajectory, match PyTorch's. It is
    stored as a NumPy scalar; ``step`` is a plain int.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 2e-3).
        betas: ``(β₁, β₂)`` (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: weight decay coefficient (default 0).
        momentum_decay: ψ, the warm-up rate of μ (default 4e-3).
        decoupled_weight_decay: shrink the weights directly, as AdamW does,
            instead of adding an L2 term to the gradient (default False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility
            and ignored (NumPy has one implementation; optimizer steps never
            record a graph).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``mu_product`` (P), ``exp_avg`` (m),
    ``exp_avg_sq`` (v).

    >>> import stirpile
    >>> w = stirpile.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = stirpile.optim.NAdam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()                 # first step: (1 − μ)/(1 − μ) + μ'(1 − β₁)/(1 − μμ') ≈ 1.056
    >>> w
    tensor([ 0.8944, -0.8944], requires_grad=True)
    """

    _elementwise = True
    _scalar_keys = ("mu_product",)

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_hyperparameters(
            lr=lr, eps=eps, betas=betas, weight_decay=weight_decay, momentum_decay=momentum_decay
        )
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        lr, eps = float(group["lr"]), group["eps"]
        beta1, beta2 = group["betas"]
        psi = group["momentum_decay"]
        if not state:
            state["step"] = 0
            state["mu_product"] = _scalar_state(1.0)
            state["exp_avg"] = _zeros(param)
            state["exp_avg_sq"] = _zeros(param)
        state["step"] += 1
        step = state["step"]
        bias_correction2 = 1 - beta2**step
        g = _decayed_grad(param, grad, group, group["decoupled_weight_decay"])

        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
        product = state["mu_product"]
        product = state["mu_product"] = product * product.dtype.type(mu)  # in P's dtype
        mu_product_next = float(product) * mu_next

        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * g * g
        denom = B.xp.sqrt(exp_avg_sq / bias_correction2)
        denom += eps
        param += (-lr * (1.0 - mu) / (1.0 - float(product))) * g / denom
        param += ((-lr * mu_next) / (1.0 - mu_product_next)) * exp_avg / denom
