"""Dropout (Srivastava et al. 2014): a regularizer that zeroes random units in training.

In training each element is kept with probability ``1 − p`` (mask
``m_i ∈ {0, 1}`` drawn from stirpile's global generator) and the survivors are
scaled by ``1 / (1 − p)`` ("inverted" dropout), so ``E[y] = x`` and evaluation
needs no rescaling: in ``eval()`` mode the layer is the identity.

Shape: Input ``(*)``; Output: same shape.

>>> import stirpile
>>> from stirpile import nn
>>> drop = nn.Dropout(p=0.5)
>>> _ = stirpile.manual_seed(0)
>>> y = drop(stirpile.ones(1000))
>>> sorted(set(y.tolist()))  # dropped, or scaled by 1/(1 − p)
[0.0, 2.0]
>>> drop.eval()(stirpile.ones(3))
tensor([1., 1., 1.])
"""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``p`` in training; scale the rest by 1/(1 − p)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
