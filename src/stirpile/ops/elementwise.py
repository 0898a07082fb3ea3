"""Elementwise primitives, each forward with its derivative right below it.

Binary ops broadcast like NumPy; their backward sums the gradient back down
to each input's shape (``sum_to``). Local derivatives (out = f(a, b)):

==========  ======================  ======================
op          d out / d a             d out / d b
==========  ======================  ======================
add         1                       1
sub         1                       -1
mul         b                       a
div         1 / b                   -a / b²
pow         b · a^(b-1)             out · ln a
maximum     [a ≥ b]                 [a < b]
exp         out
log         1 / a
sqrt        1 / (2 out)
tanh        1 - out²
sigmoid     out (1 - out)
==========  ======================  ======================
"""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import ndarray, xp
from .dual import cast, cos, log, raw, sign, sin, sum_to, where


def _shape(x):
    """The shape of an array, a tensor or a number (``()``). NumPy's ``np.shape`` does the
    same through its function-dispatch machinery, at four times the cost."""
    return getattr(x, "shape", ())


class Add(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a + b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return sum_to(g, sa), sum_to(g, sb)


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a - b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return sum_to(g, sa), sum_to(-g, sb)


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (
            sum_to(g * b, _shape(a)) if na else None,
            sum_to(g * a, _shape(b)) if nb else None,
        )


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (
            sum_to(g / b, _shape(a)) if na else None,
            sum_to(-g * a / (b * b), _shape(b)) if nb else None,
        )


class Pow(Op):
    """``a ** b``; ``b`` may be a tensor or a Python number."""

    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        if not isinstance(a, ndarray):  # a number base (2 ** x): as an array of out's dtype,
            a = xp.asarray(a, dtype=out.dtype)  # so ln(a) keeps the exponent's gradient dtype
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            ga = sum_to(g * b * a ** (b - 1), _shape(a))
        if nb:
            # d/db a^b = a^b ln a; define it as 0 where a == 0 (as PyTorch does)
            zero = raw(a) == 0
            gb = sum_to(g * where(zero, 0.0, out * log(where(zero, 1.0, a))), _shape(b))
        return ga, gb


class Neg(Op):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Op):
    @staticmethod
    def forward(ctx, a):
        out = xp.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp.log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Log1p(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp.log1p(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / (a + 1)


class Sqrt(Op):
    @staticmethod
    def forward(ctx, a):
        out = xp.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (out * 2)


class Abs(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp.abs(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * sign(a)  # 0 at a == 0, like PyTorch


class Sin(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp.sin(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * cos(a)


class Cos(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp.cos(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return -g * sin(a)


class Clamp(Op):
    """``min(max(a, lo), hi)``; the gradient passes where ``lo <= a <= hi`` (PyTorch's rule)."""

    @staticmethod
    def forward(ctx, a, lo=None, hi=None):
        mask = True
        if lo is not None:
            mask = a >= lo
        if hi is not None:
            mask = mask & (a <= hi)
        ctx.save_for_backward(mask)
        return xp.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask


class Maximum(Op):
    """Elementwise max; on ties the gradient is split in half, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        out = xp.maximum(a, b)
        ctx.save_for_backward(_share(a > b, a == b, out.dtype))
        ctx.shapes = (_shape(a), _shape(b))
        return out

    @staticmethod
    def backward(ctx, g):
        (share,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        return sum_to(g * share, sa), sum_to(g * (1 - share), sb)


class Minimum(Maximum):
    @staticmethod
    def forward(ctx, a, b):
        out = xp.minimum(a, b)
        ctx.save_for_backward(_share(a < b, a == b, out.dtype))
        ctx.shapes = (_shape(a), _shape(b))
        return out


def _share(wins, ties, dtype):
    """The fraction of the gradient that goes to the first input: 1, ½ on ties, else 0."""
    return (wins + 0.5 * ties).astype(dtype)


class Where(Op):
    """``cond ? a : b`` with a boolean ``cond`` that gets no gradient."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.shapes = (_shape(a), _shape(b))
        return xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad[1:]
        return (
            None,
            sum_to(where(cond, g, 0.0), sa) if na else None,
            sum_to(where(cond, 0.0, g), sb) if nb else None,
        )


class Cast(Op):
    """Change dtype; the gradient is cast back (and dropped for non-float targets)."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        ctx.differentiable = dtype.kind == "f"
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return cast(g, ctx.dtype) if ctx.differentiable else None


class Clone(Op):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, g):
        return g
