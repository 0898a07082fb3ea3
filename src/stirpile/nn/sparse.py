"""Lookup tables: ``Embedding`` and ``EmbeddingBag`` (PyTorch's ``torch.nn.modules.sparse``).

An embedding maps each integer index ``i`` to row ``i`` of a learnable table
``W ∈ ℝ^(num_embeddings × embedding_dim)``: ``out[..., :] = W[input[...], :]``. It is
a linear layer applied to one-hot vectors, without building them; the gradient of
``W`` is the output gradient added back into the rows that were read. PyTorch's
initialization, kept here: ``W ~ N(0, 1)``, the ``padding_idx`` row zero (and it
never gets a gradient, so it stays what it is).

``EmbeddingBag`` reduces each bag of looked-up rows at once (sum, mean or max):
``EmbeddingBag(mode="sum")(x)`` equals ``Embedding(x).sum(1)`` for a 2-d ``x``.

>>> import stirpile
>>> from stirpile import nn
>>> emb = nn.Embedding(10, 3, padding_idx=0)
>>> emb
Embedding(10, 3, padding_idx=0)
>>> out = emb(stirpile.tensor([[0, 2, 4], [4, 3, 9]]))
>>> out.shape
(2, 3, 3)
>>> out[0, 0].tolist()
[0.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import creation
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import _check_device
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding", "EmbeddingBag"]


def _padding_index(padding_idx: int | None, num_embeddings: int, name: str) -> int | None:
    """``padding_idx`` counted from 0 (PyTorch's check and message)."""
    if padding_idx is None:
        return None
    if padding_idx >= num_embeddings or padding_idx < -num_embeddings:
        raise AssertionError(f"{name} must be within num_embeddings")
    return padding_idx % num_embeddings


def _table(
    module: Module, num_embeddings: int, embedding_dim: int, weight: Any, freeze: bool, dtype: Any
) -> None:
    """Give ``module`` its ``weight``: ``_weight`` as given (checked for shape), else a
    new ``N(0, 1)`` table with its padding row zeroed (``reset_parameters``)."""
    if weight is None:
        module.weight = Parameter(
            creation.empty(num_embeddings, embedding_dim, dtype=dtype), requires_grad=not freeze
        )
        module.reset_parameters()
    else:
        if tuple(weight.shape) != (num_embeddings, embedding_dim):
            raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
        module.weight = Parameter(weight, requires_grad=not freeze)


class _Table(Module):
    """What ``Embedding`` and ``EmbeddingBag`` share: the table ``weight``, its padding
    row, and the options of the lookup."""

    _padding_name = "padding_idx"  # as PyTorch's message spells it

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None,
        max_norm: float | None,
        norm_type: float,
        scale_grad_by_freq: bool,
        weight: Tensor | None,
        freeze: bool,
        device: Any,
        dtype: Any,
    ) -> None:
        super().__init__()
        _check_device(device)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings, self._padding_name)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        _table(self, num_embeddings, embedding_dim, weight, freeze, dtype)

    def _lookup_repr(self, show: Callable[[Any], str]) -> str:
        """``, max_norm=…, norm_type=…, scale_grad_by_freq=…`` for the options that are not
        their defaults, each value written with ``show`` (PyTorch's ``Embedding`` uses
        ``str``, its ``EmbeddingBag`` ``repr``)."""
        s = ""
        if self.max_norm is not None:
            s += f", max_norm={show(self.max_norm)}"
        if self.norm_type != 2:
            s += f", norm_type={show(self.norm_type)}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={show(self.scale_grad_by_freq)}"
        return s

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0


class Embedding(_Table):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``.

    Args:
        num_embeddings: size of the dictionary.
        embedding_dim: size of each vector.
        padding_idx: this row is initialized to zeros and gets no gradient (a fixed
            "pad" vector).
        max_norm: rows looked up with a larger ``norm_type``-norm are renormalized to
            ``max_norm`` first, in place.
        norm_type: the p of that norm (default 2).
        scale_grad_by_freq: divide each row's gradient by its index's frequency in the
            mini-batch.
        sparse: accepted for compatibility; stirpile's gradients are dense.

    Shape: Input ``(*)`` int64 (or int32) indices; Output ``(*, embedding_dim)``.

    Attributes:
        weight: ``(num_embeddings, embedding_dim)``, ``N(0, 1)``.
    """

    _padding_name = "Padding_idx"

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq,
            _weight, _freeze, device, dtype,
        )  # fmt: skip
        self.sparse = sparse

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        s += self._lookup_repr(str)
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An ``Embedding`` whose table is ``embeddings`` (2-d, shared, not copied);
        ``freeze=True`` (default) makes it non-trainable. The ``padding_idx`` row is
        kept as given, not zeroed.

        >>> import stirpile
        >>> from stirpile import nn
        >>> emb = nn.Embedding.from_pretrained(stirpile.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]]))
        >>> emb(stirpile.tensor([1]))
        tensor([[4.0000, 5.1000, 6.3000]])
        """
        if embeddings.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(
            num_embeddings=rows,
            embedding_dim=cols,
            _weight=embeddings,
            _freeze=freeze,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
        )


class EmbeddingBag(_Table):
    """Sums, means or maxima of bags of embeddings (:func:`F.embedding_bag`), e.g. a
    bag-of-words text encoder.

    Args: as :class:`Embedding`, plus ``mode`` (``"sum"``, ``"mean"`` (default) or
    ``"max"``) and ``include_last_offset`` (``offsets`` has one more entry, the end of
    the last bag).

    Shape: Input ``(B, N)`` (B bags of N indices), or ``(n,)`` with ``offsets`` ``(B,)``
    (or ``(B + 1,)``); ``per_sample_weights`` like the input. Output ``(B, embedding_dim)``.

    >>> import stirpile
    >>> from stirpile import nn
    >>> bag = nn.EmbeddingBag(10, 3, mode="sum")
    >>> bag
    EmbeddingBag(10, 3, mode='sum')
    >>> bag(stirpile.tensor([1, 2, 4, 5, 4, 3]), stirpile.tensor([0, 4])).shape
    (2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq,
            _weight, False, device, dtype,
        )  # fmt: skip
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def forward(
        self,
        input: Tensor,
        offsets: Tensor | None = None,
        per_sample_weights: Tensor | None = None,
    ) -> Tensor:
        return F.embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings!r}, {self.embedding_dim!r}" + self._lookup_repr(repr)
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx!r}"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An ``EmbeddingBag`` whose table is ``embeddings`` (2-d); ``freeze=True``
        (default) makes it non-trainable."""
        if embeddings.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        bag = cls(
            num_embeddings=rows,
            embedding_dim=cols,
            _weight=embeddings,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            mode=mode,
            sparse=sparse,
            include_last_offset=include_last_offset,
            padding_idx=padding_idx,
        )
        bag.weight.requires_grad = not freeze
        return bag
