"""Rprop: steps of a per-weight size that only the signs of the gradients adapt."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from ..tensor import Tensor
from .optimizer import Optimizer, _check_hyperparameters, _zeros


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun, 1993).

    **The idea.** Use only the *sign* of each partial derivative, with a step
    size of its own per weight: grow it while the sign stays the same (the
    minimum is further along), shrink it when the sign flips (we jumped over
    it), and skip the move just after a flip. It suits full-batch training,
    where gradient signs are reliable, not mini-batches::

        Δ_t = min(η⁺ Δ_{t−1}, Δ_max)     if g_t g_{t−1} > 0
        Δ_t = max(η⁻ Δ_{t−1}, Δ_min)     if g_t g_{t−1} < 0   (and g_t counts as 0)
        w ← w − sign(g_t) Δ_t

    **PyTorch's algorithm, which this class implements.** Each step::

        g ← −g                                       if maximize
        f ← η⁺ where g · prev > 0,  η⁻ where < 0,  1 where = 0
        Δ ← clamp(Δ · f, step_size_min, step_size_max)        (step_size)
        g ← 0 where f = η⁻
        w ← w − sign(g) · Δ
        prev ← g

    ``Δ`` starts at ``lr`` for every weight when the state is created; the
    learning rate plays no part after that, so a learning-rate scheduler has no
    effect on Rprop (as in PyTorch).

    Args:
        params: tensors or parameter groups to optimize.
        lr: the initial step size (default 1e-2).
        etas: ``(η⁻, η⁺)``, the factors that shrink and grow the steps, with
            ``0 < η⁻ < 1 < η⁺`` (default (0.5, 1.2)).
        step_sizes: ``(step_size_min, step_size_max)`` (default (1e-6, 50)).
        foreach, capturable, differentiable: accepted for PyTorch compatibility
            and ignored (NumPy has one implementation; optimizer steps never
            record a graph).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``prev`` (the last gradient used),
    ``step_size`` (Δ).

    >>> import stirpile
    >>> w = stirpile.tensor([1.0, -3.0], requires_grad=True)
    >>> opt = stirpile.optim.Rprop([w], lr=0.1)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()             # steps of 0.1, then 0.12 (the sign held)
    >>> w
    tensor([ 0.7800, -2.7800], requires_grad=True)
    """

    _elementwise = True

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_hyperparameters(lr=lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        if not state:
            state["step"] = 0
            state["prev"] = _zeros(param)
            state["step_size"] = Tensor._make(B.xp.full_like(grad, float(group["lr"])))
        state["step"] += 1
        g = -grad if group["maximize"] else B.xp.array(grad)  # a copy: zeroed below
        prev, step_size = state["prev"]._data, state["step_size"]._data

        factor = B.xp.sign(g * prev)
        factor[factor > 0] = etaplus
        factor[factor < 0] = etaminus
        factor[factor == 0] = 1
        step_size *= factor
        B.xp.clip(step_size, step_size_min, step_size_max, out=step_size)

        g[factor == etaminus] = 0
        param -= B.xp.sign(g) * step_size
        prev[...] = g
