"""Convolution primitives: ``Unfold`` (im2col), ``Fold`` (col2im) and a fused ``Conv``.

``Unfold`` cuts every sliding block of a (zero-padded) input into a column,
``(N, C, *S) → (N, C·∏k, L)``; ``Fold`` sums columns back into place. They are
each other's adjoint, so each one's backward is the other (and both can be
differentiated again). For an input of size ``S``, kernel ``k``, dilation ``d``,
stride ``s`` and padding ``(lo, hi)`` there are ``⌊(S + lo + hi − d(k−1) − 1)/s⌋ + 1``
blocks along that dimension.

``Conv`` is ``out[n, o] = b[o] + Σ_{c, κ} W[o, c, κ] · x_pad[n, g·C/G + c, s·ℓ + d·κ]``
(cross-correlation, in groups of ``C/G`` input channels). With the blocks of
``x`` as columns ``X`` it is one matrix product per group, ``out = W X + b``, so

    ∂L/∂W = g Xᵀ,   ∂L/∂b = Σ g,   ∂L/∂x = fold(Wᵀ g).

The plain (array) backward uses the columns the forward built; a recorded one
(``create_graph=True``) rebuilds them with ``Unfold`` and folds with ``Fold``,
so second derivatives come out of the same rule.

Layout (measured on this machine, 1 BLAS thread, float32, forward + backward with the
input gradient, N = 64; ratio = PyTorch's time / ours, > 1 is faster than PyTorch).
Candidates: the columns in PyTorch's order ``(N, C·∏k, L)`` and a batched matmul (A);
rows ``(N·L, C·∏k)``, one GEMM (B, "NHWC windows @ weight"); ``(C·∏k, N·L)`` from the
input moved to ``(C, N, *S)`` (C); ``(C·∏k, L·N)`` from ``(C, *S, N)``, batch last (D).
C and D do one GEMM per group; in D, col2im adds each kernel offset's ``(C, *out, N)``
block into a slice whose inner ``Wo·N`` floats are contiguous (C walks rows of only
``Wo``), but moving the output ``(O, L, N)`` back to ``(N, O, L)`` costs more than C's
block transpose. So: D when ``x`` needs a gradient, C otherwise (a first layer, or
inference). einsum was 3-4× slower than ``@`` for these shapes; NumPy's stacked matmul
up to 1.6× slower than one 2-d product with a transposed operand.

=================================  =====  =====  =====  =====  ===========================
layer                              A      B      C      D      chosen, through F.conv2d
=================================  =====  =====  =====  =====  ===========================
1→6 5×5, 28×28, pad 2               0.69   0.70   0.71   1.56   1.85 (no input grad: C)
6→16 5×5, 14×14                    0.45   0.38   0.50   0.97   0.76-0.91 (D)
1→32 3×3, 28×28, pad 1             1.82   1.18   2.26   1.09   2.58 (no input grad: C)
32→64 3×3, 28×28, pad 1            0.57   0.40   0.73   0.67   0.64 (D)
32→64 3×3, 14×14, pad 1            0.60   0.47   0.68   0.76   0.77 (D)
64→64 3×3, 14×14, pad 1            0.56   0.41   0.66   0.63   0.68 (D)
=================================  =====  =====  =====  =====  ===========================

(a shared, loaded 2-core machine: ±15 % between runs.) The GEMMs take ~75 % of
the time of the large layers, so the layouts differ mostly in the copies around them.
The columns a forward builds are kept for the weight gradient (one im2col, not two).
"""

from __future__ import annotations

import itertools
import math

from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Op
from ..backend import xp
from .dual import _is_array


def out_size(size: int, k: int, d: int, lo: int, hi: int, s: int) -> int:
    """The number of blocks along one dimension: ``⌊(S + lo + hi − d(k−1) − 1)/s⌋ + 1``."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def _spans(shape, kernel, dilation, pads, stride):
    """Per spatial dimension: the padded size and the number of blocks."""
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(shape, pads))
    outs = tuple(
        out_size(n, k, d, lo, hi, s)
        for n, k, d, (lo, hi), s in zip(shape, kernel, dilation, pads, stride)
    )
    return padded, outs


def _pad_into(x, lead: int, pads, last: int = 0):
    """A zero array with ``x`` copied inside ``pads`` (one pair per axis after ``lead``
    leading axes, with ``last`` unpadded trailing axes); ``x`` itself when no padding."""
    if not any(lo or hi for lo, hi in pads):
        return x
    d = len(pads)
    shape = x.shape[:lead] + tuple(
        n + lo + hi for n, (lo, hi) in zip(x.shape[lead : lead + d], pads)
    ) + x.shape[lead + d :]  # fmt: skip
    out = xp.zeros(shape, x.dtype)
    inner = tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[lead : lead + d], pads))
    out[(slice(None),) * lead + inner] = x
    return out


def _crop(x, lead: int, pads):
    """Undo ``_pad_into``: the part of ``x`` inside ``pads``."""
    if not any(lo or hi for lo, hi in pads):
        return x
    d = len(pads)
    inner = tuple(slice(lo, n - hi) for n, (lo, hi) in zip(x.shape[lead : lead + d], pads))
    return x[(slice(None),) * lead + inner]


def _offsets(kernel, dilation, stride, outs):
    """For each kernel offset κ: (κ, the slices of the padded input it reads)."""
    for kappa in itertools.product(*(range(k) for k in kernel)):
        yield (
            kappa,
            tuple(
                slice(i * d, i * d + s * (o - 1) + 1, s)
                for i, d, s, o in zip(kappa, dilation, stride, outs)
            ),
        )


# -- im2col / col2im in PyTorch's layout (N, C·∏k, L) ---------------------------------
def unfold_array(x, kernel, dilation, pads, stride):
    """``(N, C, *S) → (N, C·∏k, L)``: each column one block, rows in (c, κ) order."""
    n, c, *shape = x.shape
    _, outs = _spans(shape, kernel, dilation, pads, stride)
    xpad = _pad_into(x, 2, pads)
    st = xpad.strides
    blocks = as_strided(
        xpad,
        (n, c, *kernel, *outs),
        (*st[:2], *(a * d for a, d in zip(st[2:], dilation)),
         *(a * s for a, s in zip(st[2:], stride))),
        writeable=False,
    )  # fmt: skip
    return blocks.reshape(n, c * math.prod(kernel), math.prod(outs))


def fold_array(cols, shape, kernel, dilation, pads, stride):
    """``(N, C·∏k, L) → (N, C, *S)``: every column added back where its block lies
    (overlaps sum); one vectorized add per kernel offset."""
    n = cols.shape[0]
    c = cols.shape[1] // math.prod(kernel)
    padded, outs = _spans(shape, kernel, dilation, pads, stride)
    blocks = cols.reshape(n, c, *kernel, *outs)
    out = xp.zeros((n, c, *padded), cols.dtype)
    for kappa, where in _offsets(kernel, dilation, stride, outs):
        out[(slice(None), slice(None), *where)] += blocks[(slice(None), slice(None), *kappa)]
    return _crop(out, 2, pads)


class Unfold(Op):
    """im2col: ``(N, C, *S) → (N, C·∏k, L)``. Backward: ``fold`` of the gradient."""

    @staticmethod
    def forward(ctx, x, kernel, dilation, pads, stride):
        ctx.args = (x.shape[2:], kernel, dilation, pads, stride)
        return unfold_array(x, kernel, dilation, pads, stride)

    @staticmethod
    def backward(ctx, g):
        if _is_array(g):
            return fold_array(g, *ctx.args)
        return Fold.apply(g, *ctx.args)


class Fold(Op):
    """col2im: ``(N, C·∏k, L) → (N, C, *S)``, summing overlaps. Backward: ``unfold``."""

    @staticmethod
    def forward(ctx, cols, shape, kernel, dilation, pads, stride):
        ctx.args = (kernel, dilation, pads, stride)
        return fold_array(cols, shape, kernel, dilation, pads, stride)

    @staticmethod
    def backward(ctx, g):
        if _is_array(g):
            return unfold_array(g, *ctx.args)
        return Unfold.apply(g, *ctx.args)


# -- the fused convolution, in the (C, *S, N) or (C, N, *S) layout ---------------------
def _to_layout(a, batch_last: bool):
    """``(N, C, *S)`` viewed as ``(C, *S, N)`` (batch last) or ``(C, N, *S)``."""
    return xp.moveaxis(a, 0, -1) if batch_last else a.swapaxes(0, 1)


def _from_layout(a, batch_last: bool):
    """Back to a contiguous ``(N, C, *S)``."""
    return xp.ascontiguousarray(xp.moveaxis(a, -1, 0) if batch_last else a.swapaxes(0, 1))


def _columns(x, kernel, dilation, pads, stride, batch_last):
    """``(N, C, *S)`` → the columns ``(C·∏k, L·N)``: rows (c, κ), columns (ℓ, n) when
    ``batch_last``, else (n, ℓ)."""
    d = len(kernel)
    xpad = _pad_into(_to_layout(x, batch_last), 1 if batch_last else 2, pads)
    st = xpad.strides
    space, batch = (st[1 : 1 + d], st[-1]) if batch_last else (st[2 : 2 + d], st[1])
    _, outs = _spans(x.shape[2:], kernel, dilation, pads, stride)
    taps = tuple(a * dl for a, dl in zip(space, dilation))
    steps = tuple(a * s for a, s in zip(space, stride))
    if batch_last:
        shape, strides = (*outs, x.shape[0]), (*steps, batch)
    else:
        shape, strides = (x.shape[0], *outs), (batch, *steps)
    blocks = as_strided(
        xpad, (x.shape[1], *kernel, *shape), (st[0], *taps, *strides), writeable=False
    )
    return blocks.reshape(x.shape[1] * math.prod(kernel), -1), outs


class Conv(Op):
    """``out = W ⋆ x + b`` for 1-d and 2-d inputs ``(N, C, *S)``, weight ``(O, C/G, *k)``;
    ``pads`` is one ``(lo, hi)`` pair per spatial dimension (``"same"`` may need
    ``lo ≠ hi``). See the module docstring for the math and the layout."""

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups):
        n = x.shape[0]
        o, kernel = w.shape[0], w.shape[2:]
        need = ctx.needs_input_grad or (False, False)
        # batch last only when x needs a gradient: col2im is then 2-4x faster, but moving
        # the output back is slower (see the module docstring)
        batch_last = bool(need[0])
        cols, outs = _columns(x, kernel, dilation, pads, stride, batch_last)
        w3 = w.reshape(groups, o // groups, -1)
        out = _group_matmul(w3, cols.reshape(groups, -1, cols.shape[1]))  # (G, O/G, L·N)
        if b is not None:
            out += b.reshape(groups, -1, 1)
        ctx.args = (x.shape, kernel, stride, pads, dilation, groups, outs, batch_last)
        # x and w for a recorded backward; the columns only for a plain one (they are
        # a function of x, so a recorded backward rebuilds them with Unfold instead)
        ctx.save_for_backward(x if need[1] else None, w if need[0] else None,
                              cols if need[1] else None)  # fmt: skip
        out = out.reshape(o, *outs, n) if batch_last else out.reshape(o, n, *outs)
        return _from_layout(out, batch_last)

    @staticmethod
    def backward(ctx, g):
        x, w, cols = ctx.saved_tensors
        need = ctx.needs_input_grad
        if _is_array(g):
            return _backward_arrays(ctx.args, need, g, w, cols)
        return _backward_recorded(ctx.args, need, g, x, w)


def _group_matmul(a, b):
    """``a @ b`` for stacks of ``G`` matrices, one 2-d product (one BLAS call) per group:
    NumPy's stacked matmul is up to 1.6× slower here when an operand is transposed."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    out = xp.empty((a.shape[0], a.shape[1], b.shape[2]), xp.result_type(a, b))
    for i in range(a.shape[0]):
        xp.matmul(a[i], b[i], out=out[i])
    return out


def _backward_arrays(args, need, g, w, cols):
    shape, kernel, stride, pads, dilation, groups, outs, batch_last = args
    n, c = shape[:2]
    o = g.shape[1]
    g3 = _to_layout(g, batch_last).reshape(groups, o // groups, -1)  # (G, O/G, L·N)
    gx = gw = gb = None
    if need[1]:
        gw = _group_matmul(g3, cols.reshape(groups, -1, g3.shape[-1]).transpose(0, 2, 1)).reshape(
            o, c // groups, *kernel
        )
    if len(need) > 2 and need[2]:
        gb = xp.add.reduce(g3, axis=-1).reshape(o)
    if need[0]:
        gc = _group_matmul(w.reshape(groups, o // groups, -1).transpose(0, 2, 1), g3)
        blocks = gc.reshape(c, *kernel, *outs, n)
        padded, _ = _spans(shape[2:], kernel, dilation, pads, stride)
        gxp = xp.zeros((c, *padded, n), g.dtype)
        for kappa, where in _offsets(kernel, dilation, stride, outs):
            gxp[(slice(None), *where)] += blocks[(slice(None), *kappa)]
        gx = _from_layout(_crop(gxp, 1, pads), True)
    return gx, gw, gb


def _backward_recorded(args, need, g, x, w):
    """The same rule on tensors, in PyTorch's column layout, so it is recorded."""
    shape, kernel, stride, pads, dilation, groups = args[:6]
    n, c = shape[:2]
    o = g.shape[1]
    g4 = g.reshape(n, groups, o // groups, -1)  # (N, G, O/G, L)
    gx = gw = gb = None
    if need[1]:
        cols = Unfold.apply(x, kernel, dilation, pads, stride)
        cols = cols.reshape(n, groups, -1, cols.shape[-1])  # (N, G, C/G·∏k, L)
        gw = (g4 @ cols.mT).sum(axis=0).reshape(o, c // groups, *kernel)
    if len(need) > 2 and need[2]:
        gb = g4.sum(axis=(0, 3)).reshape(o)
    if need[0]:
        gc = w.reshape(groups, o // groups, -1).mT @ g4  # (N, G, C/G·∏k, L)
        gx = Fold.apply(gc.reshape(n, -1, gc.shape[-1]), shape[2:], kernel, dilation, pads,
                        stride)  # fmt: skip
    return gx, gw, gb


# -- constant padding (F.pad's default mode) ---------------------------------------------
def constant_pad_array(x, pads, value=0):
    """Pad the last ``len(pads)`` axes of ``x`` by ``(lo, hi)`` pairs (first pair: the first
    of those axes) with ``value``; a negative amount crops instead."""
    lead = x.ndim - len(pads)
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0))
                 for n, (lo, hi) in zip(x.shape[lead:], pads))  # fmt: skip
    inner = x[(slice(None),) * lead + crop]
    shape = x.shape[:lead] + tuple(
        n + max(lo, 0) + max(hi, 0) for n, (lo, hi) in zip(inner.shape[lead:], pads)
    )
    out = xp.full(shape, value, dtype=x.dtype)
    place = tuple(slice(max(lo, 0), max(lo, 0) + n) for n, (lo, _) in zip(inner.shape[lead:], pads))
    out[(slice(None),) * lead + place] = inner
    return out


class ConstantPad(Op):
    """Pad with a constant (crop where an amount is negative). Backward: the same with
    every amount negated and 0 as the value: it crops what was padded and puts zeros
    back where the forward cropped."""

    @staticmethod
    def forward(ctx, x, pads, value=0):
        ctx.back = tuple((-lo, -hi) for lo, hi in pads)
        return constant_pad_array(x, pads, value)

    @staticmethod
    def backward(ctx, g):
        if _is_array(g):
            return constant_pad_array(g, ctx.back)
        return ConstantPad.apply(g, ctx.back)
