"""Loss functions as modules; each calls its functional form in
:mod:`stirpile.nn.functional`.

Every loss takes ``reduction``: ``"mean"`` (default) averages the per-element
losses, ``"sum"`` adds them, ``"none"`` returns them unreduced.

================================  ===================================================
loss                              per element
================================  ===================================================
``MSELoss``                       (x − y)²  (the lectures' MSE)
``L1Loss``                        |x − y|   (mean absolute error)
``HuberLoss(delta)``              ½ d² if |d| < δ else δ (|d| − ½ δ)
``SmoothL1Loss(beta)``            ½ d² / β if |d| < β else |d| − ½ β
``CrossEntropyLoss``              −log softmax(x)_t   (on logits)
``NLLLoss``                       −x_t                (on log-probabilities)
``BCELoss``                       −(y log x + (1 − y) log(1 − x))
``BCEWithLogitsLoss``             the same on σ(x), computed stably from logits
``CosineEmbeddingLoss(margin)``   1 − cos(x1, x2) if y = 1 else max(0, cos − margin)
================================  ===================================================

>>> import stirpile
>>> from stirpile import nn
>>> nn.MSELoss()(stirpile.tensor([1.0, 2.0]), stirpile.tensor([1.0, 4.0]))
tensor(2.)
>>> nn.MSELoss(reduction="none")(stirpile.tensor([1.0, 2.0]), stirpile.tensor([1.0, 4.0]))
tensor([0., 4.])
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .functional import _legacy_reduction
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CosineEmbeddingLoss",
    "CosineSimilarity",
    "CrossEntropyLoss",
    "HuberLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
]


class _Loss(Module):
    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__()
        self.reduction = _legacy_reduction(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    """A loss with a ``weight`` (per class; per element for the binary losses), kept as
    a buffer (so it is in the state dict and follows ``to(dtype)``), as in PyTorch."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error: ``ℓ_i = (x_i − y_i)²``, then the ``reduction``.

    Shape: Input ``(*)``; Target: same; Output: scalar (or ``(*)`` for ``"none"``).
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: ``ℓ_i = |x_i − y_i|``.

    Shape: Input ``(*)``; Target: same; Output: scalar (or ``(*)`` for ``"none"``).
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """``½ d²`` where ``|d| < delta``, else ``delta · (|d| − ½ delta)``, ``d = x − y``.

    Shape: Input ``(*)``; Target: same; Output: scalar (or ``(*)`` for ``"none"``).
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """``½ d² / beta`` where ``|d| < beta``, else ``|d| − ½ beta`` (L1 when beta = 0).

    Shape: Input ``(*)``; Target: same; Output: scalar (or ``(*)`` for ``"none"``).
    """

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy between the softmax of logits and a target class (or distribution).

    Softmax and cross-entropy are applied in one step; don't apply softmax twice: the
    input is raw, unnormalized scores (logits), *not* probabilities. For a target class
    ``t`` (the lectures' ``−Σ_j y_j log N(x)_j`` with one-hot ``y``):

        ℓ_i = −w_{t_i} · log( e^{x_{i,t_i}} / Σ_c e^{x_{i,c}} )

    and the gradient with respect to the logits is ``softmax(x) − one_hot(t)`` (scaled
    by the reduction). One fused op, stable for any logits (±1e4 included).

    Args:
        weight: per-class weights ``(C,)``; ``mean`` then divides by the sum of the
            weights of the (non-ignored) targets, as PyTorch.
        ignore_index: a target value that contributes neither loss nor gradient (and is
            left out of the mean); default −100.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"``.
        label_smoothing: ε ∈ [0, 1]: the target becomes ``(1 − ε) one_hot + ε / C``.

    Shape:
        Input ``(C)``, ``(N, C)`` or ``(N, C, d1, …)``. Target: class indices (int64) of
        shape ``()``, ``(N)`` or ``(N, d1, …)``, or class probabilities (float) of the
        input's shape. Output: scalar, or the target's (per-sample) shape for ``"none"``.

    >>> import stirpile
    >>> from stirpile import nn
    >>> loss = nn.CrossEntropyLoss()
    >>> logits = stirpile.randn(3, 5, requires_grad=True)
    >>> out = loss(logits, stirpile.tensor([1, 0, 4]))
    >>> out.backward()
    >>> out.shape, logits.grad.shape
    ((), (3, 5))
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood: ``ℓ_i = −w_{t_i} x_{i, t_i}`` for log-probabilities ``x``
    (``LogSoftmax`` + ``NLLLoss`` = ``CrossEntropyLoss``).

    Shape: Input ``(N, C)`` or ``(N, C, d1, …)``; Target ``(N)`` / ``(N, d1, …)`` int64.
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities: ``−w (y log x + (1 − y) log(1 − x))``, the
    logs clamped at −100. On logits, use :class:`BCEWithLogitsLoss` (stabler).

    Shape: Input ``(*)`` in [0, 1]; Target: same shape; Output: scalar or ``(*)``.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid + binary cross-entropy in one stable step:
    ``ℓ = max(x, 0) − x y + log(1 + e^(−|x|))`` (with ``pos_weight`` p:
    ``(1 − y) x + (1 + (p − 1) y) log(1 + e^(−x))``).

    Shape: Input ``(*)`` logits; Target: same shape; Output: scalar or ``(*)``.
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, pos_weight=self.pos_weight, reduction=self.reduction
        )


class CosineEmbeddingLoss(_Loss):
    """``1 − cos(x1, x2)`` for pairs labelled ``y = 1`` (pull together) and
    ``max(0, cos(x1, x2) − margin)`` for ``y = −1`` (push apart).

    Shape: inputs ``(N, D)`` or ``(D)``; target ``(N)`` or ``()`` with values ±1.
    """

    def __init__(
        self,
        margin: float = 0.0,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        return F.cosine_embedding_loss(
            input1, input2, target, margin=self.margin, reduction=self.reduction
        )


class CosineSimilarity(Module):
    """``x1 · x2 / (max(‖x1‖, ε) max(‖x2‖, ε))`` along ``dim`` (a similarity, not a loss)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
