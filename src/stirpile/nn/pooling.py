"""Pooling layers: thin modules over :mod:`stirpile.nn.functional_pool`, keeping their
hyperparameters as PyTorch's do (same attributes, same reprs).

Max pooling keeps each window's largest value, average pooling its mean, and the
adaptive forms choose the windows so that the output has a given size:

    out = ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1      (⌈·⌉ with ``ceil_mode``)

>>> import stirpile
>>> from stirpile import nn
>>> pool = nn.MaxPool2d(2)
>>> pool
MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
>>> pool(stirpile.randn(8, 3, 28, 28)).shape
(8, 3, 14, 14)
>>> nn.AdaptiveAvgPool2d((1, 1))(stirpile.randn(8, 3, 5, 5)).shape
(8, 3, 1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..tensor import Tensor
from . import functional_pool as F
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "MaxPool1d",
    "MaxPool2d",
]

_Size = int | Sequence[int]


def _single(v: Any) -> tuple:
    return (v,) if isinstance(v, int) else tuple(v)


class _MaxPoolNd(Module):
    def __init__(
        self,
        kernel_size: _Size,
        stride: _Size | None = None,
        padding: _Size = 0,
        dilation: _Size = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def _args(self) -> tuple:
        return (self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                self.return_indices)  # fmt: skip


class MaxPool1d(_MaxPoolNd):
    """1-d max pooling: ``out[n, c, i] = max_{a < k} x[n, c, s·i + d·a − p]``.

    Shape: Input ``(N, C, L)`` or ``(C, L)``; Output ``(N, C, L_out)`` or ``(C, L_out)``.
    """

    def forward(self, input: Tensor) -> Any:
        return F.max_pool1d(input, *self._args())


class MaxPool2d(_MaxPoolNd):
    """2-d max pooling over ``kernel_size`` windows (stride default: the kernel); with
    ``return_indices`` also the flat per-plane index of each maximum.

    Shape: Input ``(N, C, H, W)`` or ``(C, H, W)``; Output ``(N, C, H_out, W_out)`` or
    ``(C, H_out, W_out)``.
    """

    def forward(self, input: Tensor) -> Any:
        return F.max_pool2d(input, *self._args())


class AvgPool1d(Module):
    """1-d average pooling (zero padding counted unless ``count_include_pad=False``).

    Shape: Input ``(N, C, L)`` or ``(C, L)``; Output ``(N, C, L_out)`` or ``(C, L_out)``.
    """

    def __init__(
        self,
        kernel_size: _Size,
        stride: _Size | None = None,
        padding: _Size = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """2-d average pooling: each window's sum divided by ``divisor_override`` or by the
    window's size (counting the zero padding with ``count_include_pad``).

    Shape: Input ``(N, C, H, W)`` or ``(C, H, W)``; Output ``(N, C, H_out, W_out)`` or
    ``(C, H_out, W_out)``.
    """

    def __init__(
        self,
        kernel_size: _Size,
        stride: _Size | None = None,
        padding: _Size = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(Module):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average pooling to a fixed length ``output_size``; window ``i`` of an input of
    length ``L`` is ``[⌊i·L/out⌋, ⌈(i+1)·L/out⌉)``.

    Shape: Input ``(N, C, L)`` or ``(C, L)``; Output ``(N, C, out)`` or ``(C, out)``.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average pooling to a fixed ``output_size`` ``(OH, OW)`` (an int for both; ``None``
    keeps that input size).

    Shape: Input ``(N, C, H, W)`` or ``(C, H, W)``; Output ``(N, C, OH, OW)`` or
    ``(C, OH, OW)``.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max pooling to a fixed length ``output_size`` (adaptive windows as
    :class:`AdaptiveAvgPool1d`); ``return_indices`` also gives the argmax positions."""

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max pooling to a fixed ``output_size`` ``(OH, OW)`` (adaptive windows as
    :class:`AdaptiveAvgPool2d`); ``return_indices`` also gives the flat per-plane
    argmax positions."""

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
