"""Convolution and padding, functional forms: ``conv1d``, ``conv2d``, ``unfold``, ``fold``,
``pad`` (re-exported by :mod:`stirpile.nn.functional`).

``conv2d(x, W, b)[n, o, i, j] = b[o] + Σ_{c, p, q} W[o, c, p, q] · x_pad[n, c, s·i + d·p,
s·j + d·q]`` (cross-correlation, as in PyTorch), within groups of channels. The
primitives, their gradients and the measured choice of layout live in
:mod:`stirpile.ops.conv`; this file checks arguments with PyTorch's errors.

>>> import stirpile
>>> import stirpile.nn.functional as F
>>> x = stirpile.ones(1, 1, 4, 4)
>>> F.conv2d(x, stirpile.ones(1, 1, 3, 3), padding=1)[0, 0]
tensor([[4., 6., 6., 4.],
        [6., 9., 9., 6.],
        [6., 9., 9., 6.],
        [4., 6., 6., 4.]])
>>> F.unfold(x, 2, stride=2).shape
(1, 4, 4)
>>> F.pad(stirpile.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect")
tensor([[3., 2., 1., 2., 3., 2.]])
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from .. import backend as B
from ..ops import conv as conv_ops
from ..tensor import Tensor

__all__ = ["conv1d", "conv2d", "fold", "pad", "unfold"]

_Size = int | Sequence[int]


def _tuple(value: Any, d: int, name: str, op: str) -> tuple:
    """An int or a sequence of 1 or ``d`` ints as a ``d``-tuple (PyTorch's rule)."""
    if isinstance(value, int):
        return (value,) * d
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * d
    if len(value) != d:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {d} values to match "
            f"the {op} dimensions, but got {name}={list(value)}"
        )
    return value


def _same_pads(kernel: tuple, dilation: tuple) -> tuple:
    """``padding="same"``: ``d(k−1)`` in all, the extra one (even kernels) on the right."""
    return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                 for k, d in zip(kernel, dilation))  # fmt: skip


def _shape(t: Any) -> list:
    return list(t.shape)


def _conv(
    d: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
    dilation: Any, groups: int,
) -> Tensor:  # fmt: skip
    name = f"conv{d}d"
    if input.ndim not in (d + 1, d + 2):
        raise RuntimeError(
            f"Expected {d + 1}D (unbatched) or {d + 2}D (batched) input to {name}, but got "
            f"input of size: {_shape(input)}"
        )
    if weight.ndim != d + 2:
        raise RuntimeError(
            f"Expected {d + 2}-dimensional weight for {name}, but got weight of size "
            f"{_shape(weight)} instead"
        )
    batched = input.ndim == d + 2
    x = input if batched else input.unsqueeze(0)
    stride = _tuple(stride, d, "stride", "convolution")
    dilation = _tuple(dilation, d, "dilation", "convolution")
    kernel = tuple(weight.shape[2:])
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(v <= 0 for v in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * d
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_pads(kernel, dilation)
            if any(lo != hi for lo, hi in pads):
                warnings.warn(
                    "Using padding='same' with even kernel lengths and odd dilation may require "
                    "a zero-padded copy of the input be created",
                    UserWarning,
                    stacklevel=3,
                )
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = tuple((p, p) for p in _tuple(padding, d, "padding", "convolution"))
        if any(p < 0 for p, _ in pads):
            raise RuntimeError("negative padding is not supported")
    out_channels = weight.shape[0]
    if out_channels % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
            f"0, but got weight of size [{_shape(weight)}] instead"
        )
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {_shape(weight)}, expected input"
            f"{_shape(x)} to have {weight.shape[1] * groups} channels, but got {x.shape[1]} "
            f"channels instead"
        )
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(
            f"Given weight of size {_shape(weight)}, expected bias to be 1-dimensional with "
            f"{out_channels} elements, but got bias of size {_shape(bias)} instead"
        )
    if x.dtype != weight.dtype or (bias is not None and bias.dtype != x.dtype):
        raise RuntimeError(
            f"Input type ({x.dtype}) and weight type ({weight.dtype}) should be the same"
            + ("" if bias is None else f" (bias type {bias.dtype})")
        )
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
    span = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    if any(p < s for p, s in zip(padded, span)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, span))}). Kernel size can't be greater than "
            f"actual input size"
        )
    out = conv_ops.Conv.apply(x, weight, bias, stride=stride, pads=pads, dilation=dilation,
                              groups=groups)  # fmt: skip
    return out if batched else out.squeeze(0)


def conv1d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _Size = 1,
    padding: _Size | str = 0, dilation: _Size = 1, groups: int = 1,
) -> Tensor:  # fmt: skip
    """1-d cross-correlation: ``(N, C, L)`` with ``(O, C/groups, k)`` → ``(N, O, L_out)``,
    ``L_out = ⌊(L + 2p − d(k−1) − 1)/s⌋ + 1``; ``padding`` may be ``"same"`` or ``"valid"``."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _Size = 1,
    padding: _Size | str = 0, dilation: _Size = 1, groups: int = 1,
) -> Tensor:  # fmt: skip
    """2-d cross-correlation: ``(N, C, H, W)`` with ``(O, C/groups, kh, kw)`` →
    ``(N, O, H_out, W_out)``, each size ``⌊(S + 2p − d(k−1) − 1)/s⌋ + 1``; ``padding`` may be
    ``"same"`` (stride 1 only) or ``"valid"``."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def _block_args(kernel_size: Any, dilation: Any, padding: Any, stride: Any, op: str) -> tuple:
    kernel = _tuple(kernel_size, 2, "kernel_size", op)
    dilation = _tuple(dilation, 2, "dilation", op)
    padding = _tuple(padding, 2, "padding", op)
    stride = _tuple(stride, 2, "stride", op)
    if any(k <= 0 for k in kernel):
        raise RuntimeError(
            f"kernel size should be greater than zero, but got kernel_height: {kernel[0]} "
            f"kernel_width: {kernel[1]}"
        )
    if any(s <= 0 for s in stride):
        raise RuntimeError(
            f"stride should be greater than zero, but got stride_height: {stride[0]} "
            f"stride_width: {stride[1]}"
        )
    if any(v <= 0 for v in dilation):
        raise RuntimeError(
            f"dilation should be greater than zero, but got dilation_height: {dilation[0]} "
            f"dilation_width: {dilation[1]}"
        )
    if any(p < 0 for p in padding):
        raise RuntimeError(
            f"padding should be non-negative, but got pad_height: {padding[0]} "
            f"pad_width: {padding[1]}"
        )
    return kernel, dilation, tuple((p, p) for p in padding), stride


def _out_sizes(shape: Sequence[int], kernel: tuple, dilation: tuple, pads: tuple,
               stride: tuple) -> tuple:  # fmt: skip
    return tuple(
        conv_ops.out_size(n, k, dl, lo, hi, s)
        for n, k, dl, (lo, hi), s in zip(shape, kernel, dilation, pads, stride)
    )


def unfold(
    input: Tensor, kernel_size: _Size, dilation: _Size = 1, padding: _Size = 0, stride: _Size = 1
) -> Tensor:
    """Extract sliding blocks (im2col): ``(N, C, H, W) → (N, C·kh·kw, L)``, ``L`` the number
    of blocks; each column holds one block, rows in (channel, kernel row, kernel column)
    order. Unbatched ``(C, H, W)`` input gives ``(C·kh·kw, L)``."""
    if input.ndim not in (3, 4):
        raise RuntimeError(
            f"Expected 3D or 4D (batch mode) tensor for input with possibly 0 batch size and "
            f"non-zero dimensions for input, but got: {_shape(input)}"
        )
    kernel, dilation, pads, stride = _block_args(kernel_size, dilation, padding, stride, "unfold")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    outs = _out_sizes(x.shape[2:], kernel, dilation, pads, stride)
    if any(o < 1 for o in outs):
        raise RuntimeError(
            f"Given input with spatial size {tuple(x.shape[2:])}, kernel_size={kernel}, "
            f"dilation={dilation}, padding={tuple(p for p, _ in pads)}, calculated shape of the "
            f"array of sliding blocks as {outs}, but its components must be at least one."
        )
    out = conv_ops.Unfold.apply(x, kernel, dilation, pads, stride)
    return out if input.ndim == 4 else out.squeeze(0)


def fold(
    input: Tensor, output_size: _Size, kernel_size: _Size, dilation: _Size = 1,
    padding: _Size = 0, stride: _Size = 1,
) -> Tensor:  # fmt: skip
    """Combine sliding blocks into an image (col2im), summing where blocks overlap:
    ``(N, C·kh·kw, L) → (N, C, *output_size)``; the adjoint of :func:`unfold`."""
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
            f"non-zero dimensions for input, but got: {_shape(input)}"
        )
    size = _tuple(output_size, 2, "output_size", "fold")
    kernel, dilation, pads, stride = _block_args(kernel_size, dilation, padding, stride, "fold")
    x = input if input.ndim == 3 else input.unsqueeze(0)
    if x.shape[1] % math.prod(kernel):
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={x.shape[1]} and kernel_size={kernel}."
        )
    outs = _out_sizes(size, kernel, dilation, pads, stride)
    if any(o < 1 for o in outs) or x.shape[2] != math.prod(outs):
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={kernel}, dilation={dilation}, "
            f"padding={tuple(p for p, _ in pads)}, stride={stride}, expected size of input's "
            f"dimension 2 to match the calculated number of sliding blocks "
            f"{outs[0]} * {outs[1]} = {math.prod(outs)}, but got input.size(2)={x.shape[2]}."
        )
    out = conv_ops.Fold.apply(x, size, kernel, dilation, pads, stride)
    return out if input.ndim == 3 else out.squeeze(0)


_PAD_SIZES = (
    "Supported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
)


def _pad_index(n: int, lo: int, hi: int, mode: str) -> Any:
    """Where each output position along one axis reads from (PyTorch's rule, negative
    amounts included): output ``j`` is input position ``j − lo`` mirrored at the edges
    (reflect) or clamped to them (replicate); circular first crops the negative amounts,
    then wraps around what is left."""
    if mode == "circular":
        start, stop = max(-lo, 0), n - max(-hi, 0)
        return start + B.xp.arange(-max(lo, 0), stop - start + max(hi, 0)) % (stop - start)
    i = B.xp.arange(-lo, n + hi)
    if mode == "replicate":
        return B.xp.clip(i, 0, n - 1)
    period = 2 * (n - 1)
    i = B.xp.abs(i) % period if period else i * 0
    return B.xp.where(i >= n, period - i, i)


def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    """Pad (or, with negative amounts, crop) the last ``len(pad) // 2`` dimensions.

    ``pad`` lists amounts from the last dimension backwards: ``(left, right)`` pads the last,
    ``(left, right, top, bottom)`` the last two, and so on. Modes: ``"constant"``
    (``value``, default 0), ``"reflect"`` (mirror without repeating the edge), ``"replicate"``
    (repeat the edge), ``"circular"`` (wrap around); the last three pad 1 to 3 trailing
    dimensions of a batched or unbatched input.
    """
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > input.ndim:
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input dimension but "
            f"got padding length {len(pad)} and input of dimension {input.ndim}"
        )
    pairs = tuple((pad[2 * i], pad[2 * i + 1]) for i in range(k))[::-1]  # first axis first
    lead = input.ndim - k
    if mode == "constant":
        for n, (lo, hi) in zip(input.shape[lead:], pairs):
            if n - max(-lo, 0) - max(-hi, 0) < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
        return conv_ops.ConstantPad.apply(input, pairs, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if not (1 <= k <= 3 and k + 1 <= input.ndim <= k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
            + _PAD_SIZES
        )
    out = input
    for axis, (n, (lo, hi)) in enumerate(zip(input.shape[lead:], pairs), start=lead):
        m = n - max(-lo, 0) - max(-hi, 0)
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({lo}, {hi}) at dimension {axis} of input "
                f"{_shape(input)}"
            )
        if mode == "circular" and (lo > m or hi > m):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        # replicate reads the clamped positions of the *uncropped* input, as PyTorch does,
        # so cropping everything away and padding again is defined there
        if m <= 0 and (lo > 0 or hi > 0) and mode != "replicate":
            raise RuntimeError(f"{mode} padding of an empty dimension ({axis})")
        if lo or hi:
            out = out[(slice(None),) * axis + (_pad_index(n, lo, hi, mode),)]
    return out
