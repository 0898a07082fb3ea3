"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from .optimizer import Optimizer, _check_hyperparameters, _decayed_grad, _init_state, _lerp_


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7.1).

    **The idea.** Adam divides by an average of ``|g|²``; averaging ``|g|ᵖ``
    instead and letting ``p → ∞`` gives a running maximum, which needs no bias
    correction and no square root::

        m_t = β₁ m_{t−1} + (1 − β₁) g_t
        u_t = max(β₂ u_{t−1}, |g_t|)
        w ← w − (η / (1 − β₁ᵗ)) · m_t / u_t

    **PyTorch's algorithm, which this class implements.** Each step ``t = 1, 2, …``::

        g ← −g                                 if maximize
        g ← g + weight_decay · w               if weight_decay ≠ 0
        m ← m + (1 − β₁)(g − m)                (exp_avg)
        u ← max(β₂ u, |g| + eps)               (exp_inf)
        w ← w − (lr / (1 − β₁ᵗ)) · m / u

    ``eps`` is added to ``|g|`` inside the maximum, so ``u ≥ eps`` and the
    division is always defined.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 2e-3).
        betas: ``(β₁, β₂)`` (default (0.9, 0.999)).
        eps: added to ``|g|`` (default 1e-8).
        weight_decay: L2 penalty coefficient (default 0).
        foreach, capturable, differentiable: accepted for PyTorch compatibility
            and ignored (NumPy has one implementation; optimizer steps never
            record a graph).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).

    >>> import stirpile
    >>> w = stirpile.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = stirpile.optim.Adamax([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()                 # first step: m / (1 − β₁) = g, u = |g|: a step of lr
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    _elementwise = True

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_hyperparameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        beta1, beta2 = group["betas"]
        if not state:
            _init_state(state, param, "exp_avg", "exp_inf")
        state["step"] += 1
        g = _decayed_grad(param, grad, group)

        exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
        _lerp_(exp_avg, g, 1 - beta1)
        exp_inf *= beta2
        norm = B.xp.abs(g)
        norm += group["eps"]
        B.xp.maximum(exp_inf, norm, out=exp_inf)

        clr = float(group["lr"]) / (1 - beta1 ** state["step"])
        param -= clr * exp_avg / exp_inf
