"""Adagrad: per-coordinate step sizes from the sum of squared gradients."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from ..tensor import Tensor
from .optimizer import Optimizer, _check_fused, _check_hyperparameters, _decayed_grad


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011).

    **The course's form.** An adaptive learning rate: accumulate the squared
    gradients ``s_t = s_{t−1} + g_t²`` and divide the step by their root::

        w ← w − η g_t / (√s_t + ε)

    Coordinates that have seen large gradients take small steps; rare ones
    keep large steps. Since ``s_t`` only grows, the steps shrink for ever
    (RMSprop replaces the sum by an exponential average).

    **PyTorch's algorithm, which this class implements.** Each step ``t = 1, 2, …``::

        g ← −g                             if maximize
        g ← g + weight_decay · w           if weight_decay ≠ 0
        η_t = lr / (1 + (t − 1) · lr_decay)
        s ← s + g²                         (s starts at initial_accumulator_value)
        w ← w − η_t · g / (√s + eps)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate η (default 1e-2).
        lr_decay: learning-rate decay (default 0).
        weight_decay: L2 penalty coefficient (default 0).
        initial_accumulator_value: starting value of ``s`` (default 0).
        eps: added to the denominator for stability (default 1e-10).
        foreach, differentiable, fused: accepted for PyTorch compatibility and
            ignored (NumPy has one implementation; optimizer steps never record a
            graph), but kept in the groups like PyTorch's.
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``sum`` (created for every parameter when the
    optimizer is built, as in PyTorch).

    >>> import stirpile
    >>> w = stirpile.tensor([3.0], requires_grad=True)
    >>> opt = stirpile.optim.Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 6)   # first step: g/√(g²) = 1, so w − lr
    2.5
    """

    _elementwise = True

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_hyperparameters(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p._data, self.state[p], group)

    @staticmethod
    def _init_state(param: Any, state: dict[str, Any], group: dict) -> None:
        state["step"] = 0
        state["sum"] = Tensor._make(B.xp.full_like(param, group["initial_accumulator_value"]))

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        if not state:  # a parameter added later with add_param_group
            self._init_state(param, state, group)
        state["step"] += 1
        g = _decayed_grad(param, grad, group)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]._data
        s += g * g
        std = B.xp.sqrt(s)
        std += group["eps"]
        param -= clr * (g / std)
