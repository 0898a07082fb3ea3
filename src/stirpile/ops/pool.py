"""Pooling primitives over the last two axes of an array ``(*, H, W)`` (1-d pooling is
2-d pooling with ``H = 1``): max pooling as a gather, average pooling as a linear map.

Both are computed with a short Python loop over the *kernel offsets* ``(i, j)``: each
offset is one strided view ``x[..., i·d : … : s, j·d : … : s]`` of the (padded) input,
holding that offset's value for every window at once, so nothing loops over pixels,
planes or batch items. (Measured on (64, 32, 28, 28) float32, kernel 2: the running max
over the four views takes 16 ms, the argmax over a copied (…, OH, OW, 4) window array
19 ms, and ``reshape(N, C, 14, 2, 14, 2).max(axis=(3, 5))`` 35 ms for the values alone.)

Local derivatives, and why each pair of ops closes under differentiation:

==============  =================================================================
op              gradient
==============  =================================================================
Gather          x: g scattered (added) back to the positions read  → Scatter
Scatter         g: gg read at the same positions                    → Gather
AvgPool         x: Aᵀ g, each window's g/divisor spread over it     → AvgPoolT
AvgPoolT        g: A gg, the average pooling itself                 → AvgPool
==============  =================================================================

Max pooling is ``Gather`` at the argmax positions :func:`max_pool_indices` finds
(PyTorch's flat per-plane indices, ``row · W + col`` in unpadded coordinates); the
positions have zero derivative, so the backward is a scatter of ``g`` and its own
derivative a gather.
"""

from __future__ import annotations

import math

from ..autograd.function import Op
from ..backend import xp
from .dual import _is_array


def out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooled length: ``⌊(n + 2p − d(k − 1) − 1 [+ s − 1]) / s⌋ + 1``, the
    bracket with ``ceil_mode``, where a last window starting past ``n + p`` is dropped."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _views(xpad, oh, ow, kernel, stride, dilation):
    """``((i, j), view)`` per kernel offset, row-major: the strided view of ``xpad``
    holding offset ``(i, j)`` of every window."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    for i in range(kh):
        for j in range(kw):
            r, c = i * dh, j * dw
            yield (i, j), xpad[..., r : r + sh * (oh - 1) + 1 : sh, c : c + sw * (ow - 1) + 1 : sw]


def _padded(x, fill, padding, rows, cols):
    """``x`` inside a ``(*, rows, cols)`` array of ``fill``, shifted by ``padding``
    (``x`` itself when nothing is added)."""
    (ph, pw), (h, w) = padding, x.shape[-2:]
    if (ph, pw) == (0, 0) and rows <= h and cols <= w:
        return x
    out = xp.full((*x.shape[:-2], max(rows, h + ph), max(cols, w + pw)), fill, dtype=x.dtype)
    out[..., ph : ph + h, pw : pw + w] = x
    return out


def _extent(n, o, k, s, p, d):
    """Rows (or columns) the padded input needs so that every window fits."""
    return max(n + 2 * p, (o - 1) * s + d * (k - 1) + 1)


# -- max pooling -----------------------------------------------------------------------


def max_pool_indices(x, kernel, stride, padding, dilation, out_shape):
    """The max of each window of ``x`` (padded with −∞) and its flat per-plane index.

    Ties go to the first maximum in row-major kernel order and a NaN wins over
    numbers (the last NaN over earlier ones), as PyTorch's CPU kernel.

    Two passes over the kernel offsets, both with cheap ufuncs (``copyto(where=)`` and
    ``where`` cost ~8× a ``maximum`` here): the maximum ``m``, then the winning offset
    as the count of offsets before the first one equal to ``m``.
    """
    (h, w), (oh, ow) = x.shape[-2:], out_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    fill = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
    rows, cols = _extent(h, oh, kh, sh, ph, dh), _extent(w, ow, kw, sw, pw, dw)
    views = [v for _, v in _views(_padded(x, fill, padding, rows, cols), oh, ow, kernel,
                                  stride, dilation)]  # fmt: skip
    best = views[0].copy()
    for v in views[1:]:
        xp.maximum(best, v, out=best)  # (propagates NaN)
    count = xp.int8 if len(views) < 127 else xp.int32
    which = xp.zeros(best.shape, dtype=count)  # winning kernel offset, row-major
    if len(views) > 1:
        missing = views[0] != best
        for v in views[1:-1]:
            which += missing
            missing &= v != best
        which += missing
    if x.dtype.kind == "f":
        nan = best != best
        if nan.any():  # the last NaN wins, as in PyTorch (`val > max || isnan(val)`)
            for k, v in enumerate(views):
                xp.copyto(which, k, where=v != v)
    # index = (oh·sh − ph + i·dh)·W + (ow·sw − pw + j·dw), with (i, j) the winning offset
    base = (xp.arange(oh) * sh - ph)[:, None] * w + (xp.arange(ow) * sw - pw)
    ks = xp.arange(kh * kw)
    offset = (ks // kw) * dh * w + (ks % kw) * dw
    return best, base + offset.take(which)


def _flat(a):
    """``(*, H, W)`` → ``(planes, H·W)``."""
    return a.reshape(math.prod(a.shape[:-2]), a.shape[-2] * a.shape[-1])


def gather(x, idx):
    """``x``'s planes read at the flat per-plane positions ``idx`` (shape ``(*, OH, OW)``)."""
    return xp.take_along_axis(_flat(x), _flat(idx), axis=1).reshape(idx.shape)


def scatter(g, idx, shape, unique=False):
    """Zeros of ``shape`` with ``g`` added at the flat per-plane positions ``idx``
    (repeated positions add up: overlapping windows). ``unique``: no position repeats
    (windows that do not overlap), so a plain assignment does (3× faster)."""
    flat_idx = _flat(idx)
    planes, size = flat_idx.shape[0], shape[-2] * shape[-1]
    where = (flat_idx + (xp.arange(planes) * size)[:, None]).ravel()
    if unique:
        out = xp.zeros(planes * size, dtype=g.dtype)
        out[where] = g.ravel()
        return out.reshape(shape)
    # one bincount over all planes (NumPy's fastest scatter-add; sums in float64)
    out = xp.bincount(where, weights=g.ravel(), minlength=planes * size)
    return out.astype(g.dtype, copy=False).reshape(shape)


class Gather(Op):
    """``out = x[..., idx]`` per plane. ``values``, when the caller has them already (max
    pooling found them with the indices), are taken as the result instead of re-reading;
    ``unique`` says that no position is read twice.

    Backward: ``g`` added back to the positions read (:class:`Scatter`)."""

    @staticmethod
    def forward(ctx, x, idx, values=None, unique=False):
        ctx.shape, ctx.unique = x.shape, unique
        ctx.save_for_backward(idx)
        return gather(x, idx) if values is None else values

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        idx = getattr(idx, "_data", idx)
        if _is_array(g):
            return scatter(g, idx, ctx.shape, ctx.unique), None
        return Scatter.apply(g, idx, ctx.shape, unique=ctx.unique), None


class Scatter(Op):
    """``zeros(shape)`` with ``g`` added at ``idx`` per plane: max pooling's backward.
    Backward: ``gg`` read at the same positions (:class:`Gather`)."""

    @staticmethod
    def forward(ctx, g, idx, shape, unique=False):
        ctx.save_for_backward(idx)
        return scatter(g, idx, shape, unique)

    @staticmethod
    def backward(ctx, gg):
        (idx,) = ctx.saved_tensors
        idx = getattr(idx, "_data", idx)
        if _is_array(gg):
            return gather(gg, idx), None, None
        return Gather.apply(gg, idx), None, None


# -- average pooling -------------------------------------------------------------------


def avg_divisor(in_shape, out_shape, kernel, stride, padding, count_include_pad, override):
    """The ``(OH, OW)`` divisor of each window, as PyTorch: the window clipped to the
    padded input (``count_include_pad``) or to the input itself, or ``override``."""
    if override is not None:
        return override

    def sizes(n, o, k, s, p):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        if count_include_pad:
            return end - start
        return xp.minimum(end, n) - xp.maximum(start, 0)

    (h, w), (oh, ow) = in_shape, out_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    return sizes(h, oh, kh, sh, ph)[:, None] * sizes(w, ow, kw, sw, pw)


def _divide(total, divisor, dtype):
    if xp.dtype(dtype).kind in "iu":  # integer pooling truncates, as PyTorch's
        return xp.trunc(total / divisor).astype(dtype)
    return (total / xp.asarray(divisor, dtype=dtype)).astype(dtype, copy=False)


def avg_pool(x, kernel, stride, padding, out_shape, divisor):
    """Sum over each window (zero padded), divided by ``divisor``."""
    (h, w), (oh, ow) = x.shape[-2:], out_shape
    rows = _extent(h, oh, kernel[0], stride[0], padding[0], 1)
    cols = _extent(w, ow, kernel[1], stride[1], padding[1], 1)
    xpad = _padded(x, 0, padding, rows, cols)
    acc = xp.int64 if x.dtype.kind in "iub" else x.dtype
    total = None
    for _, v in _views(xpad, oh, ow, kernel, stride, (1, 1)):
        total = v.astype(acc, copy=True) if total is None else xp.add(total, v, out=total)
    return _divide(total, divisor, x.dtype)


def avg_pool_t(g, kernel, stride, padding, in_shape, divisor):
    """The transpose of :func:`avg_pool`: each window's ``g / divisor`` added back over
    the window, and the padding cut off."""
    (h, w), (oh, ow) = in_shape[-2:], g.shape[-2:]
    rows = _extent(h, oh, kernel[0], stride[0], padding[0], 1)
    cols = _extent(w, ow, kernel[1], stride[1], padding[1], 1)
    gd = g / xp.asarray(divisor, dtype=g.dtype)
    out = xp.zeros((*g.shape[:-2], rows, cols), dtype=g.dtype)
    for _, v in _views(out, oh, ow, kernel, stride, (1, 1)):
        v += gd
    ph, pw = padding
    return out[..., ph : ph + h, pw : pw + w]


class AvgPool(Op):
    """Average pooling ``A x`` (linear in ``x``); backward ``Aᵀ g`` (:class:`AvgPoolT`)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, out_shape, divisor):
        ctx.args = (kernel, stride, padding, x.shape, divisor)
        return avg_pool(x, kernel, stride, padding, out_shape, divisor)

    @staticmethod
    def backward(ctx, g):
        if _is_array(g):
            return (avg_pool_t(g, *ctx.args),) + (None,) * 5
        return (AvgPoolT.apply(g, *ctx.args),) + (None,) * 5


class AvgPoolT(Op):
    """``Aᵀ g``: average pooling's backward. Backward: ``A gg`` (:class:`AvgPool`)."""

    @staticmethod
    def forward(ctx, g, kernel, stride, padding, in_shape, divisor):
        ctx.args = (kernel, stride, padding, g.shape[-2:], divisor)
        return avg_pool_t(g, kernel, stride, padding, in_shape, divisor)

    @staticmethod
    def backward(ctx, gg):
        if _is_array(gg):
            return (avg_pool(gg, *ctx.args),) + (None,) * 5
        return (AvgPool.apply(gg, *ctx.args),) + (None,) * 5


# -- adaptive pooling ------------------------------------------------------------------


def adaptive_windows(n: int, o: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: ``[⌊i·n/o⌋, ⌈(i+1)·n/o⌉)`` for ``i < o``."""
    return [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]


def adaptive_avg_matrix(n: int, o: int, dtype) -> object:
    """The ``(o, n)`` matrix averaging each adaptive window: row ``i`` is ``1/len`` on
    window ``i``. Adaptive average pooling is ``A_H x A_Wᵀ`` (the windows are products
    of intervals, so the average separates)."""
    a = xp.zeros((o, n), dtype=dtype)
    for i, (s, e) in enumerate(adaptive_windows(n, o)):
        a[i, s:e] = 1.0 / (e - s)
    return a


def adaptive_max_indices(x, out_shape):
    """The max of each adaptive window of ``x`` and its flat per-plane index (ties and
    NaN as :func:`max_pool_indices`); a loop over the output positions."""
    h, w = x.shape[-2:]
    oh, ow = out_shape
    idx = xp.empty((*x.shape[:-2], oh, ow), dtype=xp.int64)
    for i, (r0, r1) in enumerate(adaptive_windows(h, oh)):
        for j, (c0, c1) in enumerate(adaptive_windows(w, ow)):
            win = x[..., r0:r1, c0:c1].reshape(*x.shape[:-2], -1)
            k = win.argmax(-1)
            if win.dtype.kind == "f":
                nan = win != win
                if nan.any():  # the last NaN wins, as in PyTorch
                    last = win.shape[-1] - 1 - nan[..., ::-1].argmax(-1)
                    k = xp.where(nan.any(-1), last, k)
            idx[..., i, j] = (r0 + k // (c1 - c0)) * w + c0 + k % (c1 - c0)
    return idx
