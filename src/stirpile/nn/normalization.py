"""Normalization layers: ``BatchNorm1d`` and ``BatchNorm2d`` (Ioffe & Szegedy 2015),
``LayerNorm`` and ``RMSNorm``.

Batch normalization standardizes each channel over the batch, then rescales:

    y = (x − μ_B) / √(σ²_B + ε) · γ + β

with μ_B and the *biased* σ²_B computed over the batch (and length, or height and
width) axes in training. Running estimates are updated at every training step,
``running ← (1 − momentum) · running + momentum · batch`` (the unbiased
variance for ``running_var``; with ``momentum=None``, a cumulative average
``1/num_batches_tracked``), and used instead of batch statistics in ``eval()``.

Layer normalization standardizes each *sample* over its trailing
``normalized_shape`` dimensions (same in training and evaluation); RMS
normalization only rescales them by their root mean square.

>>> import stirpile
>>> from stirpile import nn
>>> bn = nn.BatchNorm1d(3)
>>> bn
BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
>>> y = bn(stirpile.randn(16, 3))
>>> [round(v, 6) + 0.0 for v in y.mean(0).tolist()]
[0.0, 0.0, 0.0]
>>> int(bn.num_batches_tracked)
1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import backend as B
from .. import creation
from ..autograd.function import traced_call
from ..autograd.version import bump
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "RMSNorm"]


def _register_affine(module: Module, shape: Any, affine: bool, bias: bool, dtype: Any) -> None:
    """Give a normalization layer its learnable scale γ (``weight``) and shift β
    (``bias``) of ``shape``, or ``None`` in their place where they are switched off
    (``bias`` counts only with ``affine``). ``reset_parameters`` sets their values."""
    if affine:
        module.weight = Parameter(creation.empty(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(creation.empty(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


class _BatchNorm(Module):
    """What the batch-normalization layers share (PyTorch's ``_BatchNorm``): per-channel
    γ, β, the running statistics and their update; subclasses only say which input ranks
    they take (``_check_input_dim``). Statistics are over every axis but 1 (channels).

    Args:
        num_features: C.
        eps: added to the variance for stability (default 1e-5).
        momentum: running-statistics update factor (default 0.1); ``None`` for a
            cumulative moving average.
        affine: learn γ (``weight``, init 1) and β (``bias``, init 0).
        bias: with ``affine``, also learn β (keyword only; default ``True``).
        track_running_stats: keep ``running_mean`` / ``running_var`` /
            ``num_batches_tracked`` buffers; if ``False``, batch statistics are used in
            evaluation too.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _register_affine(self, num_features, affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=B.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            traced_call(_count, self.num_batches_tracked)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of ``(N, C)`` or ``(N, C, L)`` inputs, per channel C, with the
    statistics over ``(N, L)`` (see :class:`_BatchNorm` for the arguments).

    Shape: Input ``(N, C)`` or ``(N, C, L)``; Output: same.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization of ``(N, C, H, W)`` inputs, per channel C, with the statistics
    over ``(N, H, W)`` (see :class:`_BatchNorm` for the arguments).

    Shape: Input ``(N, C, H, W)``; Output: same.

    >>> import stirpile
    >>> from stirpile import nn
    >>> bn = nn.BatchNorm2d(3)
    >>> y = bn(stirpile.randn(8, 3, 5, 5))
    >>> [round(v, 5) + 0.0 for v in y.mean((0, 2, 3)).tolist()]
    [0.0, 0.0, 0.0]
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")


class _TrailingNorm(Module):
    """What ``LayerNorm`` and ``RMSNorm`` share: the trailing ``normalized_shape`` they
    normalize each sample over, ``eps``, and the elementwise scale γ (``weight``, from
    1) and shift β (``bias``, from 0, LayerNorm's only) where ``elementwise_affine``."""

    def __init__(
        self, normalized_shape: int | Sequence[int], eps: float | None, elementwise_affine: bool
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if getattr(self, "bias", None) is not None:
            init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class LayerNorm(_TrailingNorm):
    """Layer normalization (Ba et al. 2016) over the trailing ``normalized_shape`` dims:
    ``(x − mean) / √(var + ε) · γ + β`` per sample.

    Shape: Input ``(N, *, *normalized_shape)``; Output: same.

    >>> import stirpile
    >>> from stirpile import nn
    >>> nn.LayerNorm(8)(stirpile.randn(4, 8)).shape
    (4, 8)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(normalized_shape, eps, elementwise_affine)
        _register_affine(self, self.normalized_shape, elementwise_affine, bias, dtype)
        self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, bias={self.bias is not None}"


class RMSNorm(_TrailingNorm):
    """Root-mean-square layer normalization (Zhang & Sennrich 2019) over the trailing
    ``normalized_shape`` dims: ``x / √(mean(x²) + ε) · γ`` per sample, with no mean
    subtracted and no bias. ``eps=None`` uses the machine epsilon of the input's dtype.

    Shape: Input ``(N, *, *normalized_shape)``; Output: same.

    >>> import stirpile
    >>> from stirpile import nn
    >>> nn.RMSNorm(8)
    RMSNorm((8,), eps=None, elementwise_affine=True)
    >>> nn.RMSNorm(8)(stirpile.randn(4, 8)).shape
    (4, 8)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(normalized_shape, eps, elementwise_affine)
        if elementwise_affine:
            self.weight = Parameter(creation.empty(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)


def _count(n: Any) -> None:
    """``num_batches_tracked += 1`` (a traced call: ``stirpile.compile`` replays it)."""
    n += 1
    bump(n)
