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
from . import functional_pool as FP
from .module import Module

__all__ = ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d"]


class _DropoutNd(Module):
    """The dropout layers' shared ``p`` (checked to lie in [0, 1]) and ``inplace``, as
    PyTorch's ``_DropoutNd``."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training; scale the rest by 1/(1 − p)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Channel dropout for ``(N, C, L)`` or ``(C, L)``: each whole channel is zeroed with
    probability ``p`` in training, the rest scaled by 1/(1 − p); identity in ``eval()``."""

    def forward(self, input: Tensor) -> Tensor:
        return FP.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Channel dropout for ``(N, C, H, W)``: each whole feature map ``(n, c)`` is zeroed
    with probability ``p`` in training, the rest scaled by 1/(1 − p); identity in
    ``eval()``. (A 3-d input is read as ``(N, C, L)``, with PyTorch's warning.)

    >>> import stirpile
    >>> from stirpile import nn
    >>> _ = stirpile.manual_seed(0)
    >>> y = nn.Dropout2d(0.5)(stirpile.ones(4, 6, 2, 2))
    >>> maps = y.flatten(2)  # each map is all 0 or all 2
    >>> bool((maps.amin(-1) == maps.amax(-1)).all()), sorted(set(y.flatten().tolist()))
    (True, [0.0, 2.0])
    """

    def forward(self, input: Tensor) -> Tensor:
        return FP.dropout2d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Alpha dropout (Klambauer et al. 2017) for :class:`SELU` networks: in training,
    elements are set to SELU's saturation value with probability ``p`` and the result is
    rescaled and shifted so that zero mean and unit variance are kept (see
    :func:`F.alpha_dropout`); the identity in ``eval()`` mode.

    >>> import stirpile
    >>> from stirpile import nn
    >>> _ = stirpile.manual_seed(0)
    >>> y = nn.AlphaDropout(0.2)(stirpile.randn(100_000))
    >>> round(y.mean().item(), 1) + 0.0, round(y.std().item(), 1)
    (0.0, 1.0)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training, self.inplace)
