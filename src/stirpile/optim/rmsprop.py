"""RMSprop: steps divided by a running root-mean-square of the gradients."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from .optimizer import (
    Optimizer,
    _check_hyperparameters,
    _decayed_grad,
    _init_state,
    _lerp_,
    _zeros,
)


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e, 2012).

    **The course's form.** Adagrad's sum of squared gradients, replaced by an
    exponential average so the steps do not shrink for ever::

        s_t = α s_{t−1} + (1 − α) g_t²
        w ← w − η g_t / (√s_t + ε)

    **PyTorch's algorithm, which this class implements.** Each step::

        g ← −g                          if maximize
        g ← g + weight_decay · w        if weight_decay ≠ 0
        s ← α s + (1 − α) g²
        if centered:                    (divide by an estimate of the variance instead)
            m ← m + (1 − α)(g − m)      (running mean of g)
            d ← √(s − m²) + eps
        else:
            d ← √s + eps
        if momentum > 0:
            b ← momentum · b + g / d
            w ← w − lr · b
        else:
            w ← w − lr · g / d

    Note ``eps`` is added *outside* the square root, and ``s`` starts at 0
    (no bias correction: the first steps are large, ``g/√(1−α)|g|``).

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant α (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty coefficient (default 0).
        momentum: momentum factor (default 0).
        centered: normalise by the centered second moment (variance).
        maximize: ascend the objective instead of descending it.
        capturable, foreach, differentiable: accepted for PyTorch compatibility and
            ignored (NumPy has one implementation; optimizer steps never record a
            graph), but kept in the groups like PyTorch's.

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (momentum
    > 0), ``grad_avg`` (centered).

    >>> import stirpile
    >>> w = stirpile.tensor([2.0], requires_grad=True)
    >>> opt = stirpile.optim.RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 4)   # 2 − 0.01 · 4 / (√0.01 · 4) = 2 − 0.1
    1.9
    """

    _elementwise = True

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_hyperparameters(
            lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha
        )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            _init_state(state, param, "square_avg")
            if momentum > 0:
                state["momentum_buffer"] = _zeros(param)
            if group["centered"]:
                state["grad_avg"] = _zeros(param)
        state["step"] += 1
        g = _decayed_grad(param, grad, group)

        square_avg = state["square_avg"]._data
        square_avg *= alpha
        square_avg += (1 - alpha) * (g * g)
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            _lerp_(grad_avg, g, 1 - alpha)
            avg = B.xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = B.xp.sqrt(square_avg)
        avg += group["eps"]

        if momentum > 0:
            buf = state["momentum_buffer"]._data
            buf *= momentum
            buf += g / avg
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (g / avg)
