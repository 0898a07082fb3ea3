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
``KLDivLoss``                     p (log p − x)       (x = log q)
``PoissonNLLLoss``                eˣ − y x            (x = log λ)
``GaussianNLLLoss``               ½ (log σ² + (x − y)² / σ²)
``MarginRankingLoss(margin)``     max(0, −y (x1 − x2) + margin)
``HingeEmbeddingLoss(margin)``    x if y = 1 else max(0, margin − x)
``SoftMarginLoss``                log(1 + e^(−y x))
``MultiLabelSoftMarginLoss``      −Σ_c (y_c log σ(x_c) + (1 − y_c) log σ(−x_c)) / C
``MultiMarginLoss(p, margin)``    Σ_{j≠y} max(0, margin − x_y + x_j)^p / C
``MultiLabelMarginLoss``          Σ_j Σ_{i∉Y} max(0, 1 − (x_{y_j} − x_i)) / C
``TripletMarginLoss(margin)``     max(0, margin + d(a, p) − d(a, n))
================================  ===================================================

>>> import stirpile
>>> from stirpile import nn
>>> nn.MSELoss()(stirpile.tensor([1.0, 2.0]), stirpile.tensor([1.0, 4.0]))
tensor(2.)
>>> nn.MSELoss(reduction="none")(stirpile.tensor([1.0, 2.0]), stirpile.tensor([1.0, 4.0]))
tensor([0., 4.])
"""

from __future__ import annotations

from collections.abc import Callable
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
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss",
    "PairwiseDistance",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
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


class _PairMarginLoss(_Loss):
    """A loss of two inputs and a ±1 target with a ``margin``: ``forward`` calls the
    functional form ``_functional(input1, input2, target, margin=, reduction=)``."""

    _functional: Callable[..., Tensor]

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
        return type(self)._functional(
            input1, input2, target, margin=self.margin, reduction=self.reduction
        )


class CosineEmbeddingLoss(_PairMarginLoss):
    """``1 − cos(x1, x2)`` for pairs labelled ``y = 1`` (pull together) and
    ``max(0, cos(x1, x2) − margin)`` for ``y = −1`` (push apart).

    Shape: inputs ``(N, D)`` or ``(D)``; target ``(N)`` or ``()`` with values ±1.
    """

    _functional = F.cosine_embedding_loss


class CosineSimilarity(Module):
    """``x1 · x2 / (max(‖x1‖, ε) max(‖x2‖, ε))`` along ``dim`` (a similarity, not a loss)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class KLDivLoss(_Loss):
    """Kullback–Leibler divergence ``ℓ = p (log p − log q)`` for ``input = log q``
    (log-probabilities) and ``target = p`` (``log_target``: ``target = log p``). Use
    ``reduction="batchmean"`` for the mathematical KL divergence averaged over the batch.

    Shape: Input ``(*)``; Target: same; Output: scalar (or ``(*)`` for ``"none"``).
    """

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood ``λ − y log λ`` (``input = log λ`` by default;
    ``full`` adds Stirling's approximation of ``log y!``).

    Shape: Input ``(*)``; Target: same; Output: scalar (or ``(*)`` for ``"none"``).
    """

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average: bool | None = None,
        eps: float = 1e-8,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(
            log_input, target, self.log_input, self.full, eps=self.eps, reduction=self.reduction
        )


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood ``½ (log σ² + (x − y)² / σ²)`` of the target
    under ``N(input, var)`` (``var`` clamped at ``eps``; ``full`` adds ``½ log 2π``).

    Shape: Input ``(N, *)``; Target: same (or broadcastable); Var: same, or with one
    dimension of size 1, or without the last dimension.
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Tensor, var: Tensor | float) -> Tensor:
        return F.gaussian_nll_loss(
            input, target, var, full=self.full, eps=self.eps, reduction=self.reduction
        )


class MarginRankingLoss(_PairMarginLoss):
    """``max(0, −y (x1 − x2) + margin)`` for labels ``y = ±1``.

    Shape: Input1 ``(N)`` or ``()``; Input2 and Target: same; Output: scalar or ``(N)``.
    """

    _functional = F.margin_ranking_loss


class HingeEmbeddingLoss(_Loss):
    """``x`` where ``y = 1``, ``max(0, margin − x)`` where ``y = −1``.

    Shape: Input ``(*)``; Target: same, values ±1; Output: scalar or ``(*)``.
    """

    def __init__(
        self,
        margin: float = 1.0,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss ``Σ_{j ≠ y} w_y max(0, margin − x_y + x_j)^p / C``.

    Shape: Input ``(N, C)`` or ``(C)``; Target ``(N)`` or ``()`` class indices.
    """

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.ndim != 1:
            raise ValueError(
                "MultiMarginLoss: expected weight to be None or 1D tensor, got "
                f"{weight.ndim}D instead"
            )
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(
            input,
            target,
            p=self.p,
            margin=self.margin,
            weight=self.weight,
            reduction=self.reduction,
        )


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss ``Σ_j Σ_{i ∉ targets} max(0, 1 − (x_{y_j} − x_i)) / C``.

    Shape: Input ``(N, C)`` or ``(C)``; Target: same shape, class indices padded with −1.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """Two-class logistic loss ``log(1 + e^(−y x))`` for labels ``y = ±1``.

    Shape: Input ``(*)``; Target: same; Output: scalar or ``(*)``.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One-versus-all logistic loss over C classes, ``y_c ∈ {0, 1}``, averaged over C:
    ``−Σ_c w_c (y_c log σ(x_c) + (1 − y_c) log σ(−x_c)) / C``.

    Shape: Input ``(N, C)``; Target ``(N, C)``; Output: scalar or ``(N)``.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_soft_margin_loss(
            input, target, weight=self.weight, reduction=self.reduction
        )


class TripletMarginLoss(_Loss):
    """``max(0, margin + d(a, p) − d(a, n))`` with the p-norm distance ``d``; ``swap``
    uses ``min(d(a, n), d(p, n))`` for the negative distance.

    Shape: anchor, positive, negative ``(N, D)`` or ``(D)``; Output: scalar or ``(N)``.
    """

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(
                f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead"
            )
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(
            anchor,
            positive,
            negative,
            margin=self.margin,
            p=self.p,
            eps=self.eps,
            swap=self.swap,
            reduction=self.reduction,
        )


class PairwiseDistance(Module):
    """``‖x1 − x2 + eps‖_p`` over the last dimension."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
