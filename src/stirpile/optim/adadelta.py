"""Adadelta: RMSprop whose step size is a running RMS of the past updates."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from .optimizer import Optimizer, _check_hyperparameters, _decayed_grad, _init_state


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012).

    **The idea.** RMSprop divides the gradient by a running RMS of the
    gradients, which leaves a global learning rate to tune and makes the step's
    units those of ``1/g``. Adadelta multiplies by a running RMS of the past
    *updates* as well, so the step has the units of ``w`` and needs no learning
    rate (``lr`` only rescales it; its default is 1)::

        s_t = ρ s_{t−1} + (1 − ρ) g_t²                       (squared gradients)
        Δw_t = − √(u_{t−1} + ε) / √(s_t + ε) · g_t
        u_t = ρ u_{t−1} + (1 − ρ) Δw_t²                      (squared updates)
        w ← w + lr · Δw_t

    **PyTorch's algorithm, which this class implements.** Each step::

        g ← −g                                  if maximize
        g ← g + weight_decay · w                if weight_decay ≠ 0
        s ← ρ s + (1 − ρ) g²                    (square_avg)
        δ ← √(u + eps) / √(s + eps) · g
        u ← ρ u + (1 − ρ) δ²                    (acc_delta)
        w ← w − lr · δ

    Both running averages start at 0, so the first steps are about
    ``lr · √eps / √(1 − ρ)`` in size, whatever the gradient's scale.

    Args:
        params: tensors or parameter groups to optimize.
        lr: coefficient that scales δ before it is applied (default 1.0).
        rho: coefficient ρ of the running averages (default 0.9).
        eps: added inside both square roots (default 1e-6).
        weight_decay: L2 penalty coefficient (default 0).
        foreach, capturable, differentiable: accepted for PyTorch compatibility
            and ignored (NumPy has one implementation; optimizer steps never
            record a graph).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``square_avg`` (s), ``acc_delta`` (u).

    >>> import stirpile
    >>> w = stirpile.tensor([3.0], requires_grad=True)
    >>> opt = stirpile.optim.Adadelta([w], eps=1e-4)
    >>> (w * w).sum().backward()
    >>> opt.step()                 # δ = √1e-4 / √(0.1 · 36 + 1e-4) · 6 ≈ 0.0316
    >>> round(w.item(), 4)
    2.9684
    """

    _elementwise = True

    def __init__(
        self,
        params: Any,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_hyperparameters(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_hyperparameters(eps=eps, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        rho, eps = group["rho"], group["eps"]
        if not state:
            _init_state(state, param, "square_avg", "acc_delta")
        state["step"] += 1
        g = _decayed_grad(param, grad, group)

        square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
        square_avg *= rho
        square_avg += (1 - rho) * g * g
        delta = B.xp.sqrt(acc_delta + eps)
        delta /= B.xp.sqrt(square_avg + eps)
        delta *= g
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        delta *= float(group["lr"])
        param -= delta
