"""ASGD: averaged stochastic gradient descent."""

from __future__ import annotations

from typing import Any

from .optimizer import (
    Optimizer,
    _check_hyperparameters,
    _decayed_grad,
    _scalar_state,
    _zeros,
)


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992), with a decaying step size.

    **The idea.** SGD with a constant or slowly decaying step keeps jittering
    around the minimum; the *average* of its iterates converges much better
    (at the optimal rate, in theory). ASGD runs SGD and keeps, next to the
    weights, a running average of them from step ``t0`` on::

        η_t = lr / (1 + λ lr t)^α
        w ← w − η_t (∇L(w) + λ w)
        w̄ ← mean of the iterates w since step t0

    The averaged weights ``w̄`` are what one evaluates; the optimizer only
    keeps them in its state (``ax``), it does not copy them into the model.

    **PyTorch's algorithm, which this class implements.** Each step
    ``t = 1, 2, …``, with ``η`` (eta, starts at lr) and ``μ`` (mu, starts at 1)
    as computed at the end of the previous step::

        g ← −g                                     if maximize
        g ← g + weight_decay · w                   if weight_decay ≠ 0
        w ← w (1 − λ η)                            (λ = lambd)
        w ← w − η g
        ax ← ax + μ (w − ax)    if μ ≠ 1,  else ax ← w
        η ← lr / (1 + λ lr t)^α
        μ ← 1 / max(1, t − t0)

    As in PyTorch, ``eta`` and ``mu`` are scalars held in the default dtype at
    the time the state is created (float32 unless
    :func:`stirpile.set_default_dtype` changed it), so their rounding matches
    PyTorch's; they are stored as NumPy scalars and ``step`` as a plain int.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        lambd: decay term λ (default 1e-4).
        alpha: power α of the step-size decay (default 0.75).
        t0: the step from which the averaging starts (default 1e6).
        weight_decay: L2 penalty coefficient (default 0).
        foreach, capturable, differentiable: accepted for PyTorch compatibility
            and ignored (NumPy has one implementation; optimizer steps never
            record a graph).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``eta`` (η), ``mu`` (μ), ``ax`` (the average).

    >>> import stirpile
    >>> w = stirpile.tensor([1.0], requires_grad=True)
    >>> opt = stirpile.optim.ASGD([w], lr=0.1, lambd=0.0)
    >>> (w * w).sum().backward()
    >>> opt.step()                 # an SGD step: 1 − 0.1 · 2
    >>> round(w.item(), 6), round(opt.state[w]["ax"].item(), 6)
    (0.8, 0.8)
    """

    _elementwise = True
    _scalar_keys = ("eta", "mu")

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_hyperparameters(lr=lr, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        lr, lambd = float(group["lr"]), group["lambd"]
        if not state:
            state["step"] = 0
            state["eta"] = _scalar_state(lr)
            state["mu"] = _scalar_state(1.0)
            state["ax"] = _zeros(param)
        state["step"] += 1
        step = state["step"]
        g = _decayed_grad(param, grad, group)

        eta = float(state["eta"])
        param *= 1 - lambd * eta
        param -= eta * g

        ax = state["ax"]._data
        mu = float(state["mu"])
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param

        state["eta"] = _scalar_state(lr / ((1 + lambd * lr * step) ** group["alpha"]), state["eta"])
        state["mu"] = _scalar_state(1 / max(1, step - group["t0"]), state["mu"])
