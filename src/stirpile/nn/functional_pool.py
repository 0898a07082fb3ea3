"""Pooling and channel dropout, the functional forms (re-exported by
:mod:`stirpile.nn.functional`), with PyTorch's arguments, checks and messages.

Every pooling works on the last two axes (1-d pooling is 2-d pooling of a height-1
input); the primitives are in :mod:`stirpile.ops.pool`. Output length along an axis of
size ``n`` (kernel ``k``, stride ``s``, padding ``p``, dilation ``d``):

    out = ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1      (⌈·⌉ with ``ceil_mode``)

>>> import stirpile
>>> import stirpile.nn.functional as F
>>> x = stirpile.arange(16.0).reshape(1, 1, 4, 4)
>>> F.max_pool2d(x, 2)
tensor([[[[ 5.,  7.],
          [13., 15.]]]])
>>> F.avg_pool2d(x, 2, stride=2)
tensor([[[[ 2.5000,  4.5000],
          [10.5000, 12.5000]]]])
>>> F.adaptive_avg_pool2d(x, 1).flatten().tolist()
[7.5]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from .. import backend as B
from ..autograd.function import traced_call
from ..ops import pool as P
from ..tensor import Tensor
from .functional import _apply_inplace

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "dropout1d",
    "dropout2d",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
]

_IntOr2 = int | Sequence[int]


def _half(n: int) -> int:
    """``n / 2`` rounded towards zero (C++'s integer division, as PyTorch's checks)."""
    return math.trunc(n / 2)


def _ints(value: Any, fn: str, arg: str, position: int) -> tuple[int, ...]:
    if not isinstance(value, (int, Sequence)):
        values = (value,)
    else:
        values = (value,) if isinstance(value, int) else tuple(value)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(
                f"{fn}(): argument '{arg}' (position {position}) must be tuple of ints, "
                f"not {type(v).__name__}"
            )
    return values


def _pair(value: Any, fn: str, arg: str, position: int, message: str) -> tuple[int, int]:
    values = _ints(value, fn, arg, position)
    if len(values) not in (1, 2):
        raise RuntimeError(f"{fn}: {arg} {message}")
    return (values[0], values[-1])


def _shape(t: Tensor) -> str:
    return "[" + ", ".join(str(n) for n in t.shape) + "]"


def _check_planes(input: Tensor, name: str = "") -> None:
    """PyTorch's ``pool2d_shape_check`` on the input: 3-d or 4-d, no empty non-batch dim."""
    s = input.shape
    ok = (input.ndim == 3 and 0 not in s) or (input.ndim == 4 and 0 not in s[1:])
    if not ok:
        raise RuntimeError(
            f"{name}Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for "
            f"input, but got:{_shape(input)}"
        )


def _pool_shape(input, kernel, stride, padding, dilation, ceil_mode) -> tuple[int, int]:
    """The output ``(OH, OW)`` of a 2-d pooling, after PyTorch's checks in its order."""
    out = []
    for n, k, s, p, d in zip(input.shape[-2:], kernel, stride, padding, dilation):
        if s == 0:
            raise RuntimeError("stride should not be zero")
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > _half((k - 1) * d + 1):
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation={d}"
            )
        out.append(P.out_size(n, k, s, p, d, ceil_mode))
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kh} kW: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {sh} dW: {sw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(
            f"dilation should be greater than zero, but got dilationH: {dh} dilationW: {dw}"
        )
    _check_planes(input)
    if _half(kw) < pw or _half(kh) < ph:
        raise RuntimeError(
            f"pad should be smaller than or equal to half of kernel size, but got padW = {pw}, "
            f"padH = {ph}, kW = {kw}, kH = {kh}"
        )
    (c, h, w), (oh, ow) = input.shape[-3:], out
    if oh < 1 or ow < 1:
        raise RuntimeError(
            f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{oh}x{ow}). "
            "Output size is too small"
        )
    return oh, ow


# -- max pooling -----------------------------------------------------------------------


def _max_pool(input, kernel, stride, padding, dilation, out_shape, return_indices):
    # (a traced call: stirpile.compile finds the maxima again at every replay)
    values, idx = traced_call(P.max_pool_indices, input, kernel, stride, padding, dilation,
                              out_shape)  # fmt: skip
    # windows that do not overlap read each input position at most once
    unique = all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))
    out = P.Gather.apply(input, idx, values=values, unique=unique)
    return (out, Tensor._make(idx)) if return_indices else out


def _window(kernel_size: Any, stride: Any, padding: Any, fn: str) -> tuple:
    """A 2-d pool's kernel, strides (the kernel's when omitted) and padding as pairs,
    with PyTorch's errors."""
    one_or_two = "must either be a single int, or a tuple of two ints"
    kernel = _pair(kernel_size, fn, "kernel_size", 2, one_or_two)
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        strides = kernel
    else:
        strides = _pair(stride, fn, "stride", 3,
                        "must either be omitted, a single int, or a tuple of two ints")  # fmt: skip
    return kernel, strides, _pair(padding, fn, "padding", 4, one_or_two)


def max_pool2d(
    input: Tensor,
    kernel_size: _IntOr2,
    stride: _IntOr2 | None = None,
    padding: _IntOr2 = 0,
    dilation: _IntOr2 = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """2-d max pooling of ``(N, C, H, W)`` or ``(C, H, W)``:
    ``out[n, c, i, j] = max_{a < kH, b < kW} x[n, c, s_H·i + d_H·a − p_H, s_W·j + d_W·b − p_W]``
    with the input padded by −∞ (``padding`` at most half the effective kernel).

    ``stride`` defaults to ``kernel_size``. With ``return_indices`` also the int64 flat
    index ``row · W + col`` of each maximum within its plane (what ``MaxUnpool2d``
    takes); ties go to the first maximum in the window (row-major), as in PyTorch.

    Gradient: ``g`` flows to the position of each window's maximum (summed where
    windows overlap).
    """
    kernel, strides, pad = _window(kernel_size, stride, padding, "max_pool2d")
    dil = _pair(dilation, "max_pool2d", "dilation", 5, "must be either a single int, or a tuple of "
                "two ints")  # fmt: skip
    if input.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    out_shape = _pool_shape(input, kernel, strides, pad, dil, ceil_mode)
    return _max_pool(input, kernel, strides, pad, dil, out_shape, return_indices)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size: _IntOr2,
    stride: _IntOr2 | None = None,
    padding: _IntOr2 = 0,
    dilation: _IntOr2 = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """:func:`max_pool2d` that always returns ``(values, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _one(value: Any, arg: str, position: int, message: str, fn: str = "max_pool1d") -> int:
    values = _ints(value, fn, arg, position)
    if len(values) != 1:
        raise RuntimeError(message.format(n=len(values)))
    return values[0]


def max_pool1d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """1-d max pooling of ``(N, C, L)`` or ``(C, L)``:
    ``out[n, c, i] = max_{a < k} x[n, c, s·i + d·a − p]`` (−∞ padding, at most half the
    kernel); ``stride`` defaults to ``kernel_size``. ``return_indices`` adds the int64
    position of each maximum along ``L``."""
    if input.ndim not in (2, 3) or 0 in input.shape[input.ndim - 2 :]:
        raise RuntimeError(
            "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size "
            f"for input, but got:{_shape(input)}"
        )
    k = _one(kernel_size, "kernel_size", 2, "max_pool1d() kernel_size must be an int, list of "
             "ints or tuple of ints of size 1 but got size {n}")  # fmt: skip
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        s = k
    else:
        s = _one(stride, "stride", 3, "max_pool1d() stride must be None, an int, list of ints, "
                 "or tuple of ints of size 1 but got size {n}")  # fmt: skip
    p = _one(padding, "padding", 4, "max_pool1d() padding must be an int, list of ints, or "
             "tuple of ints of size 1 but got size {n}")  # fmt: skip
    d = _one(dilation, "dilation", 5, "max_pool1d() dilation must be an int, list of ints or "
             "tuple of ints of size 1 but got size {n}")  # fmt: skip
    for value, what, ok in ((k, "kernel_size", k > 0), (s, "stride", s > 0)):
        if not ok:
            raise RuntimeError(f"max_pool1d() {what} must be greater than zero, but got {value}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if p > _half(k):
        raise RuntimeError(
            f"max_pool1d() padding should be at most half of kernel size, but got padding={p} "
            f"and kernel_size={k}"
        )
    if d <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d}")
    length = P.out_size(input.shape[-1], k, s, p, d, ceil_mode)
    if length <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {length}")
    out = _max_pool(
        input.unsqueeze(-2), (1, k), (1, s), (0, p), (1, d), (1, length), return_indices
    )
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """:func:`max_pool1d` that always returns ``(values, indices)``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# -- average pooling -------------------------------------------------------------------


def _avg_pool(input, kernel, strides, pad, ceil_mode, count_include_pad, divisor_override):
    out_shape = _pool_shape(input, kernel, strides, pad, (1, 1), ceil_mode)
    divisor = P.avg_divisor(
        input.shape[-2:], out_shape, kernel, strides, pad, count_include_pad, divisor_override
    )
    return P.AvgPool.apply(input, kernel, strides, pad, out_shape, divisor)


def avg_pool2d(
    input: Tensor,
    kernel_size: _IntOr2,
    stride: _IntOr2 | None = None,
    padding: _IntOr2 = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-d average pooling of ``(N, C, H, W)`` or ``(C, H, W)``: each window's sum over
    the zero-padded input divided by ``divisor_override``, else by the window's size —
    counting the padding (``count_include_pad``, clipped to the padded input) or not.

    Gradient: each window's ``g / divisor`` added back over the window.
    """
    kernel, strides, pad = _window(kernel_size, stride, padding, "avg_pool2d")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if input.ndim < 3:
        n = max(input.ndim, 1)
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got -3)"
        )
    return _avg_pool(input, kernel, strides, pad, ceil_mode, count_include_pad, divisor_override)


def _check_1d(input: Tensor, fn: str) -> None:
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument "
            f"#1 'self' (while checking arguments for {fn})"
        )


def avg_pool1d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-d average pooling of ``(N, C, L)`` or ``(C, L)``: :func:`avg_pool2d` of the
    input seen as height 1."""
    _check_1d(input, "avg_pool1d")

    def one(value, arg, position):
        msg = "avg_pool1d() argument '" + arg + "' should contain one int (got {n})"
        return _one(value, arg, position, msg, "avg_pool1d")

    k = one(kernel_size, "kernel_size", 2)
    empty = stride is None or (not isinstance(stride, int) and len(stride) == 0)
    s = k if empty else one(stride, "stride", 3)
    p = one(padding, "padding", 4)
    out = _avg_pool(input.unsqueeze(-2), (1, k), (1, s), (0, p), ceil_mode, count_include_pad, None)
    return out.squeeze(-2)


# -- adaptive pooling ------------------------------------------------------------------


def _adaptive_size(output_size: Any, input: Tensor, fn: str) -> tuple[int, int]:
    sizes = (output_size,) * 2 if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != 2:
        raise RuntimeError(f"{fn}: output_size must be 2")
    h, w = input.shape[-2:]
    oh, ow = (h if sizes[0] is None else sizes[0]), (w if sizes[1] is None else sizes[1])
    return oh, ow


def _check_adaptive(input: Tensor, fn: str, first: int, output_size: Any = None) -> None:
    if isinstance(output_size, (list, tuple)) and input.ndim <= len(output_size):
        # PyTorch's Python wrapper checks this first (a ValueError), then its kernel
        raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    if input.ndim not in (3, 4):
        sep = ": " if fn.startswith("adaptive_max") else " "
        raise RuntimeError(f"{fn}(): Expected 3D or 4D tensor, but got{sep}{_shape(input)}")
    for i in range(max(first, input.ndim - 3), input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(
                f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {_shape(input)} with dimension {i} being empty"
            )


def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """2-d adaptive average pooling to ``output_size`` ``(OH, OW)`` (``None``: keep the
    input's size): window ``i`` along an axis of size ``n`` is
    ``[⌊i·n/OH⌋, ⌈(i+1)·n/OH⌉)``, and ``out = A_H x A_Wᵀ`` with ``A`` averaging each
    window (composed of matmuls, so the gradient is ``A_Hᵀ g A_W``)."""
    _check_adaptive(input, "adaptive_avg_pool2d", input.ndim - 2, output_size)
    oh, ow = _adaptive_size(output_size, input, "adaptive_avg_pool2d")
    if oh < 0 or ow < 0:
        raise RuntimeError(
            "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 "
            f"but received {{{oh}, {ow}}}"
        )
    h, w = input.shape[-2:]
    if (oh, ow) == (1, 1):  # global average pooling
        return input.mean((-2, -1), keepdim=True)
    if oh and ow and h % oh == 0 and w % ow == 0 and (h // oh) * (w // ow) <= 16:
        # equal small windows: plain average pooling is faster than the matmuls
        k = (h // oh, w // ow)
        return P.AvgPool.apply(input, k, k, (0, 0), (oh, ow), k[0] * k[1])
    a_h = Tensor._make(P.adaptive_avg_matrix(h, oh, input.dtype))
    a_w = Tensor._make(P.adaptive_avg_matrix(w, ow, input.dtype).T)
    return a_h @ (input @ a_w)


def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int]) -> Tensor:
    """1-d adaptive average pooling of ``(N, C, L)`` or ``(C, L)`` to ``output_size``."""
    _check_1d(input, "adaptive_avg_pool1d")
    o = _one(output_size, "output_size", 2, "adaptive_avg_pool1d() argument 'output_size' "
             "should contain one int (got {n})", "adaptive_avg_pool1d")  # fmt: skip
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, o)).squeeze(-2)


def adaptive_max_pool2d(
    input: Tensor, output_size: int | Sequence[int | None], return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """2-d adaptive max pooling to ``output_size`` (PyTorch's adaptive windows, see
    :func:`adaptive_avg_pool2d`); ``return_indices`` adds the flat per-plane index of
    each maximum. Gradient: ``g`` to each window's maximum."""
    _check_adaptive(input, "adaptive_max_pool2d", 1 if input.ndim == 4 else 0, output_size)
    oh, ow = _adaptive_size(output_size, input, "adaptive_max_pool2d")
    if oh < 0 or ow < 0:
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(oh, ow)}: "
            f"[{', '.join(str(n) for n in (*input.shape[:-2], oh, ow))}]"
        )
    h, w = input.shape[-2:]
    if oh and ow and h % oh == 0 and w % ow == 0:  # equal windows: plain max pooling
        k = (h // oh, w // ow)
        return _max_pool(input, k, k, (0, 0), (1, 1), (oh, ow), return_indices)
    idx = traced_call(P.adaptive_max_indices, input, (oh, ow))
    out = P.Gather.apply(input, idx)
    return (out, Tensor._make(idx)) if return_indices else out


def adaptive_max_pool2d_with_indices(
    input: Tensor, output_size: int | Sequence[int | None], return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """:func:`adaptive_max_pool2d` that always returns ``(values, indices)``."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool1d(
    input: Tensor, output_size: int | Sequence[int], return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """1-d adaptive max pooling of ``(N, C, L)`` or ``(C, L)`` to ``output_size``."""
    _check_1d(input, "adaptive_max_pool1d")
    o = _one(output_size, "output_size", 2, "adaptive_max_pool1d() argument 'output_size' "
             "should contain one int (got {n})", "adaptive_max_pool1d")  # fmt: skip
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, o), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


# -- channel dropout -------------------------------------------------------------------


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool, dims: int) -> Tensor:
    """Zero whole feature maps: one keep/drop draw per index of the first ``dims`` axes,
    survivors scaled by ``1/(1 − p)``."""
    if not training or p == 0.0:
        return input
    if inplace:
        return _apply_inplace(
            input, "feature_dropout_", lambda x: _feature_dropout(x, p, True, False, dims)
        )
    if p == 1.0:
        return input * 0.0
    shape = tuple(input.shape[:dims]) + (1,) * (input.ndim - dims)
    keep = B.rng().random(shape) >= p
    return input * Tensor._make(keep.astype(input.dtype) * (1.0 / (1.0 - p)))


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Channel dropout for ``(N, C, L)`` or unbatched ``(C, L)``: in training each whole
    channel is zeroed with probability ``p`` (stirpile's global generator) and the kept
    ones scaled by ``1/(1 − p)``; the identity otherwise."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note "
            "that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs)."
        )
    return _feature_dropout(input, p, training, inplace, input.ndim - 1)


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Channel dropout for ``(N, C, H, W)``: in training each whole channel ``(n, c)`` is
    zeroed with probability ``p`` and the kept ones scaled by ``1/(1 − p)``; the identity
    otherwise. As in PyTorch 2.13, a 3-d input is read as ``(N, C, L)`` (with PyTorch's
    warning) and other ranks drop per ``(dim 0, dim 1)`` index (with its deprecation
    warning)."""
    _check_p(p)
    ndim = input.ndim
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret "
            "the input as one without a batch dimension, i.e. shape (C, H, W). To maintain "
            "the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _feature_dropout(input, p, training, inplace, min(2, ndim))
