"""Convolution layers: ``Conv1d``, ``Conv2d``, and the block helpers ``Unfold``, ``Fold``.

``Conv2d(C, O, k)`` holds ``weight`` of shape ``(O, C/groups, kh, kw)`` and ``bias`` of
shape ``(O,)``, and computes ``F.conv2d`` (see :mod:`stirpile.nn.functional_conv`).
PyTorch's initialization, kept here so that models train the same:
``kaiming_uniform_(W, a=√5)``, i.e. ``W ~ U(−1/√fan_in, 1/√fan_in)`` with
``fan_in = C/groups · kh · kw``, and the bias on the same bound.

>>> import stirpile
>>> from stirpile import nn
>>> conv = nn.Conv2d(1, 6, 5, padding=2)
>>> conv
Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
>>> conv(stirpile.randn(8, 1, 28, 28)).shape
(8, 6, 28, 28)
"""

from __future__ import annotations

import math
from typing import Any

from .. import creation
from ..tensor import Tensor
from . import functional_conv as F
from . import init
from .linear import _check_device
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Fold", "Unfold"]

# (sets, as PyTorch's messages print them: same order within a process)
_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}
_PADDING_STRINGS = {"same", "valid"}


def _ntuple(value: Any, d: int) -> tuple:
    return (value,) * d if isinstance(value, int) else tuple(value)


class _ConvNd(Module):
    """What ``Conv1d`` and ``Conv2d`` share: checks, parameters, init and repr."""

    _d = 0

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
        padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
        padding_mode: str = "zeros", device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__()
        _check_device(device)
        d = self._d
        kernel_size, stride, dilation = (_ntuple(v, d) for v in (kernel_size, stride, dilation))
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of {_PADDING_STRINGS}"
                )
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _ntuple(padding, d)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {_PADDING_MODES}, but got "
                f"padding_mode='{padding_mode}'"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.padding_mode = dilation, groups, padding_mode
        self.transposed, self.output_padding = False, (0,) * d
        # F.pad's amounts for the non-zero padding modes: last dimension first
        if isinstance(padding, str):
            pairs = F._same_pads(kernel_size, dilation) if padding == "same" else ((0, 0),) * d
        else:
            pairs = tuple((p, p) for p in padding)
        self._reversed_padding_repeated_twice = [a for pair in pairs[::-1] for a in pair]
        self.weight = Parameter(
            creation.empty(out_channels, in_channels // groups, *kernel_size, dtype=dtype)
        )
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: ``kaiming_uniform_(W, a=√5)`` = ``U(−1/√fan_in, 1/√fan_in)``,
        and the same bound for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        conv = F.conv1d if self._d == 1 else F.conv2d
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(input, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        params = self._parameters
        if "weight" in params and "bias" in params:
            return self._conv_forward(input, params["weight"], params["bias"])
        return self._conv_forward(input, self.weight, self.bias)  # reparameterized (prune)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-d convolution (cross-correlation) over ``(N, C_in, L)`` → ``(N, C_out, L_out)``,
    ``L_out = ⌊(L + 2p − d(k−1) − 1)/s⌋ + 1``.

    Args: ``in_channels``, ``out_channels``, ``kernel_size``, ``stride=1``, ``padding=0``
    (an int, a tuple, ``"same"`` or ``"valid"``), ``dilation=1``, ``groups=1``,
    ``bias=True``, ``padding_mode="zeros"`` (or ``"reflect"``, ``"replicate"``,
    ``"circular"``), ``dtype``.
    """

    _d = 1


class Conv2d(_ConvNd):
    """2-d convolution (cross-correlation) over ``(N, C_in, H, W)`` →
    ``(N, C_out, H_out, W_out)``, each ``⌊(S + 2p − d(k−1) − 1)/s⌋ + 1``.

    Args: as :class:`Conv1d`, with ``kernel_size``, ``stride``, ``padding``, ``dilation``
    an int or a pair.

    Attributes:
        weight: ``(out_channels, in_channels / groups, kh, kw)``, ``U(−1/√fan_in, 1/√fan_in)``.
        bias: ``(out_channels,)``, the same bound.
    """

    _d = 2


class Unfold(Module):
    """``F.unfold`` as a module: ``(N, C, H, W) → (N, C·kh·kw, L)`` sliding blocks."""

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:  # fmt: skip
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding},"
            f" stride={self.stride}"
        )


class Fold(Module):
    """``F.fold`` as a module: ``(N, C·kh·kw, L) → (N, C, *output_size)``, overlaps summed."""

    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:  # fmt: skip
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)  # fmt: skip

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )
