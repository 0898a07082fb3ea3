"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from ..tensor import Tensor
from .optimizer import Optimizer, _check_fused, _decayed_grad


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum).

    **The course's form.** Plain gradient descent is ``w ← w − η ∇L(w)``, with
    ``∇L`` estimated on a mini-batch. Momentum smooths the noisy mini-batch
    gradients with an exponential average::

        v_t = μ v_{t−1} + (1 − μ) ∇L(w_t)
        w_{t+1} = w_t − η v_t

    Nesterov's accelerated gradient "steps twice": it takes the gradient after
    the momentum step.

    **PyTorch's form, which this class implements.** The buffer accumulates
    ``v = μ v + (1 − dampening) g`` with dampening 0 by default, i.e. without
    the ``(1 − μ)``. Unrolled, PyTorch's buffer is the course's ``v`` divided by
    ``(1 − μ)``, so the two are the same method up to a rescaled learning rate:
    PyTorch's ``lr = η (1 − μ)`` (or ``dampening = μ``) gives the course's steps
    (apart from the first, where PyTorch starts the buffer at ``g`` undamped).

    Each step, for every parameter ``w`` with gradient ``g``::

        g ← −g                          if maximize
        g ← g + weight_decay · w        if weight_decay ≠ 0   (L2 penalty λ‖w‖², λ = wd/2)
        if momentum ≠ 0:
            b ← g                       on the first step
            b ← μ b + (1 − dampening) g afterwards
            g ← g + μ b                 if nesterov
            g ← b                       otherwise
        w ← w − lr · g

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate η (default 1e-3). As in PyTorch, a negative one raises a
            ``ValueError`` and a NaN one does not (SGD alone tests ``lr < 0``).
        momentum: momentum factor μ (default 0).
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty coefficient (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend the objective instead of descending it.
        foreach, differentiable, fused: accepted for PyTorch compatibility and
            ignored (NumPy has one implementation; optimizer steps never record a
            graph), but kept in the groups like PyTorch's.

    State per parameter: ``momentum_buffer`` (when momentum ≠ 0).

    >>> import stirpile
    >>> w = stirpile.tensor([1.0], requires_grad=True)
    >>> opt = stirpile.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    >>> round(w.item(), 4)   # 1 − 0.1·2 = 0.8; b = 0.9·2 + 1.6 = 3.4; 0.8 − 0.34
    0.46
    """

    _elementwise = True

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if lr < 0.0:  # PyTorch's test for SGD: NaN passes
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        # Each temporary is written to a scratch buffer (out=): the ufuncs of the expressions
        # in the comments, in their order, with no allocation (see Optimizer._scratch).
        scratch = self._scratch
        momentum = group["momentum"]
        g = _decayed_grad(param, grad, group, scratch=scratch)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = Tensor._make(B.xp.array(g))
            else:
                b = buf._data
                b *= momentum
                damp = group["dampening"]
                if damp:  # b += (1 - damp) * g
                    b += B.xp.multiply(g, 1 - damp, out=scratch("tmp", g, 1 - damp))
                else:
                    b += g
            b = buf._data
            if group["nesterov"]:  # g = g + momentum * b
                pulled = B.xp.multiply(b, momentum, out=scratch("tmp", b, momentum))
                g = B.xp.add(g, pulled, out=scratch("tmp", g, pulled))
            else:
                g = b
        lr = group["lr"]
        param -= B.xp.multiply(g, lr, out=scratch("tmp", g, lr))  # param -= lr * g
