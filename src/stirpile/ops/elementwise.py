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
from ..autograd.quiet import IGNORE, quiet, state
from ..backend import ndarray, round_bfloat16, xp
from .dual import _is_array, call, cast, cos, exp, log, raw, sign, sin, sum_to, where, zeros_like

_INF = float("inf")


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
        # each factor is needed only for the other's gradient (as PyTorch saves them), so an
        # in-place write to an input that needs no gradient's partner is not an error
        na, nb = ctx.needs_input_grad or (False, False)
        ctx.save_for_backward(a if nb else None, b if na else None)
        ctx.shapes = (_shape(a), _shape(b))
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (sum_to(g * b, sa) if na else None, sum_to(g * a, sb) if nb else None)


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        nb = ctx.needs_input_grad[1] if ctx.needs_input_grad else False
        ctx.save_for_backward(a if nb else None, b)  # a only for b's gradient
        ctx.shapes = (_shape(a), _shape(b))
        # x / n for a number 1 <= |n| < inf cannot warn (no 1/0, inf/inf or overflow): the
        # common case pays nothing; anything else runs quietly, as PyTorch divides
        if (type(b) is float or type(b) is int) and 1.0 <= abs(b) < _INF:
            return a / b
        token = state.set(IGNORE)
        try:
            return a / b
        finally:
            state.reset(token)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        # -g (a / b) / b rather than -g a / b²: PyTorch's form, so a second derivative at
        # b = 0 is ±inf as in PyTorch (through b² it would be 0 / 0 = nan)
        return (sum_to(g / b, sa) if na else None, sum_to(-g * (a / b / b), sb) if nb else None)


class Pow(Op):
    """``a ** b``; ``b`` may be a tensor or a Python number."""

    @staticmethod
    def forward(ctx, a, b):
        if isinstance(b, int) and b >= 0:  # no nan from finite inputs, but overflow to inf
            token = state.set(IGNORE)
            try:
                out = a**b
            finally:
                state.reset(token)
        elif isinstance(b, ndarray) and b.dtype.kind in "iu" and xp.result_type(a, b).kind in "iu":
            out = _int_pow(a, b)
        else:  # nan for a negative base, inf at 0 for b < 0: quietly, as in PyTorch
            with xp.errstate(divide="ignore", invalid="ignore"):
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
        with xp.errstate(divide="ignore", invalid="ignore"):  # nan/inf as in PyTorch
            if na:  # 0 where b == 0 (x ** 0 is constant, also at x = 0), as in PyTorch
                if isinstance(b, (int, float)):
                    ga = zeros_like(g) if b == 0 else g * b * a ** (b - 1)
                else:
                    ga = where(raw(b) == 0, 0.0, g * b * a ** (b - 1))
                ga = sum_to(ga, _shape(a))
            if nb:
                # d/db a^b = a^b ln a; define it as 0 where a == 0 (as PyTorch does)
                zero = raw(a) == 0
                gb = sum_to(g * where(zero, 0.0, out * log(where(zero, 1.0, a))), _shape(b))
        return ga, gb


def _int_pow(a, b):
    """Integer ``a ** b`` for an integer tensor ``b``: as in PyTorch a negative exponent
    gives ``1 / a^|b|`` truncated (1 for a = 1, ±1 for a = −1, else 0), where NumPy raises."""
    neg = b < 0
    if not neg.any():
        return a**b
    out = a ** xp.where(neg, 0, b)
    odd = xp.where(b % 2 == 1, -1, 1)
    return xp.where(neg, xp.where(a == 1, 1, xp.where(a == -1, odd, 0)), out).astype(out.dtype)


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
        token = state.set(IGNORE)  # inf beyond the dtype's range, quietly as in PyTorch
        try:
            out = xp.exp(a)
        finally:
            state.reset(token)
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
        with xp.errstate(divide="ignore", invalid="ignore"):  # -inf at 0, nan below (PyTorch)
            return xp.log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Log1p(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with xp.errstate(divide="ignore", invalid="ignore"):  # -inf at -1, nan below
            return xp.log1p(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / (a + 1)


class Sqrt(Op):
    @staticmethod
    def forward(ctx, a):
        with xp.errstate(invalid="ignore"):  # nan below 0, as in PyTorch
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
        with quiet:  # nan at ±inf, quietly as in PyTorch
            return xp.sin(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * cos(a)


class Cos(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with quiet:  # nan at ±inf, quietly as in PyTorch
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
        return astype(a, dtype)

    @staticmethod
    def backward(ctx, g):
        return cast(g, ctx.dtype) if ctx.differentiable else None


def astype(a, dtype):
    """``a.astype(dtype)``, quietly where NumPy would warn and PyTorch does not: a float to a
    narrower float (±inf beyond its range) or to an integer (inf and nan: unspecified)."""
    if a.dtype.kind == "f" and (dtype.kind in "iu" or dtype.itemsize < a.dtype.itemsize):
        with quiet:
            return a.astype(dtype)
    return a.astype(dtype)


class Clone(Op):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, g):
        return g


# -- more elementwise functions (PyTorch's wider surface) --------------------------------
# Each saves its input or output; derivatives are those of the table above the module
# plus: tan' = 1 + out², sinh' = cosh, cosh' = sinh, asin' = 1/√(1−a²), acos' = −asin',
# atan' = 1/(1+a²), exp2' = out·ln 2, log2' = 1/(a ln 2), log10' = 1/(a ln 10),
# erfc' = −2/√π e^(−a²). Where a derivative is infinite (asin at ±1), it is inf as in torch.

_LN2, _LN10 = 0.6931471805599453, 2.302585092994046


class Tan(Op):
    @staticmethod
    def forward(ctx, a):
        with quiet:  # nan at ±inf, quietly as in PyTorch
            out = xp.asarray(xp.tan(a))  # (a 0-d result must be an array: it is saved)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (out * out + 1)


class Sinh(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with xp.errstate(over="ignore"):  # ±inf beyond ±710, as in torch
            return xp.sinh(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        with xp.errstate(over="ignore"):
            return g * call("cosh", a)


class Cosh(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with xp.errstate(over="ignore"):
            return xp.cosh(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        with xp.errstate(over="ignore"):
            return g * call("sinh", a)


class Asin(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with xp.errstate(invalid="ignore"):  # nan outside [-1, 1], as in torch
            return xp.arcsin(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        with xp.errstate(divide="ignore", invalid="ignore"):
            return g / (1 - a * a) ** 0.5


class Acos(Asin):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with xp.errstate(invalid="ignore"):
            return xp.arccos(a)

    @staticmethod
    def backward(ctx, g):
        return -Asin.backward(ctx, g)


class Atan(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp.arctan(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / (a * a + 1)


class Exp2(Op):
    @staticmethod
    def forward(ctx, a):
        with xp.errstate(over="ignore"):
            out = xp.asarray(xp.exp2(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * _LN2


class Log2(Op):
    """log₂ a (exact at powers of two, unlike ``log(a) / ln 2``)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with xp.errstate(divide="ignore", invalid="ignore"):  # -inf at 0, nan below
            return xp.log2(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        with xp.errstate(divide="ignore", over="ignore"):
            return g / (a * _LN2)


class Log10(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.log10(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        with xp.errstate(divide="ignore", over="ignore"):
            return g / (a * _LN10)


class Erfc(Op):
    """1 − erf a, computed without the cancellation of ``1 - erf(a)`` for large ``a``
    (``erfc(10) = 2.1e-45`` is exact here, 0 by subtraction)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _erfc(a)

    @staticmethod
    def backward(ctx, g):
        from .nn import Erf

        return -Erf.backward(ctx, g)


def _erfc(a):
    """erfc on an array: ``1 − erf`` below 2.5 (where erfc > 4e-4: no digits lost), and
    beyond it the continued fraction ``e^(−x²)/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …))))``
    directly (the one :func:`stirpile.ops.nn.erf` uses, 35 levels: relative error ~1e-15)."""
    from .nn import erf

    x = a.astype(xp.float64)
    out = xp.array(1.0 - erf(x), dtype=xp.float64)
    big = x > 2.5
    xl = x[big]
    frac = xl.copy()
    for k in range(35, 0, -1):
        frac = xl + (k / 2.0) / frac
    with xp.errstate(under="ignore"):
        out[big] = xp.exp(-xl * xl) / (1.7724538509055159 * frac)
    return out.astype(a.dtype, copy=False)


class Logit(Op):
    """log(a / (1 − a)), with ``a`` first clamped to [eps, 1 − eps] when ``eps`` is given.

    Backward ``g / (a (1 − a))``; as in torch it is 0 where the clamp cut ``a`` off, and
    nan outside [0, 1] when there is no ``eps``.
    """

    @staticmethod
    def forward(ctx, a, eps=None):
        ctx.save_for_backward(a)
        ctx.eps = eps
        x = a if eps is None else xp.clip(a, eps, 1 - eps)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.log(x / (1 - x))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        r, eps = raw(a), ctx.eps
        with xp.errstate(divide="ignore", invalid="ignore"):
            d = g / (a * (1 - a))
            if eps is None:
                return where((r < 0) | (r > 1), xp.nan, d)
            return where((r < eps) | (r > 1 - eps), 0.0, d)


class Rounding(Op):
    """A piecewise-constant function (floor, ceil, round, trunc, sign): zero gradient, as
    torch's (the output still requires grad, so a graph through it stays connected)."""

    @staticmethod
    def forward(ctx, a, fn):
        return fn(a)

    @staticmethod
    def backward(ctx, g):
        return zeros_like(g)


class Atan2(Op):
    """atan2(a, b), the angle of the point (b, a). ∂/∂a = b / (a² + b²), ∂/∂b = −a / (a² + b²),
    both 0 at the origin (as in torch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        zero = raw(r2) == 0
        scale = where(zero, 0.0, g / where(zero, 1.0, r2))
        return sum_to(scale * b, _shape(a)), sum_to(-scale * a, _shape(b))


class Hypot(Op):
    """√(a² + b²) without overflow; ∂/∂a = a / out (nan at the origin, as in torch)."""

    @staticmethod
    def forward(ctx, a, b):
        out = xp.asarray(xp.hypot(a, b))
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        with xp.errstate(divide="ignore", invalid="ignore"):
            q = g / out
            return sum_to(q * a, _shape(a)), sum_to(q * b, _shape(b))


class LogAddExp(Op):
    """log(e^a + e^b) without overflow; ∂/∂a = e^(a − out) (a softmax of the pair)."""

    @staticmethod
    def forward(ctx, a, b):
        out = xp.asarray(xp.logaddexp(a, b))
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        with xp.errstate(invalid="ignore"):  # -inf − (-inf): nan, as in torch
            return sum_to(g * exp(a - out), _shape(a)), sum_to(g * exp(b - out), _shape(b))


class LogAddExp2(Op):
    """log₂(2^a + 2^b); ∂/∂a = 2^(a − out)."""

    @staticmethod
    def forward(ctx, a, b):
        out = xp.asarray(xp.logaddexp2(a, b))
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        with xp.errstate(invalid="ignore"):
            return (
                sum_to(g * exp((a - out) * _LN2), _shape(a)),
                sum_to(g * exp((b - out) * _LN2), _shape(b)),
            )


class XLogY(Op):
    """a · log b, defined as 0 where a = 0 (unless b is nan). ∂/∂a = log b (0 where a = 0),
    ∂/∂b = a / b, as in torch."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.where((a == 0) & ~xp.isnan(b), 0.0, a * xp.log(b)).astype(
                xp.result_type(a, b), copy=False
            )

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        with xp.errstate(divide="ignore", invalid="ignore"):
            ga = gb = None
            if na:
                ga = where((raw(a) == 0) & ~xp.isnan(raw(b)), 0.0, g * log(b))
                ga = sum_to(ga, _shape(a))
            if nb:
                gb = sum_to(g * a / b, _shape(b))
            return ga, gb


class Fmod(Op):
    """C's fmod: a − trunc(a / b) · b (the sign of a). ∂/∂a = 1, ∂/∂b = −trunc(a / b)."""

    @staticmethod
    def forward(ctx, a, b, _fn=xp.fmod, _q=xp.trunc):
        with xp.errstate(divide="ignore", invalid="ignore"):
            out = _fn(a, b)
            ctx.save_for_backward(_q(a / b).astype(out.dtype, copy=False))  # zero derivative
        ctx.shapes = (_shape(a), _shape(b))
        return out

    @staticmethod
    def backward(ctx, g):
        (q,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        return sum_to(g, sa), sum_to(-g * q, sb)


class Remainder(Fmod):
    """Python's %: a − floor(a / b) · b (the sign of b). ∂/∂a = 1, ∂/∂b = −floor(a / b)."""

    @staticmethod
    def forward(ctx, a, b):
        return Fmod.forward(ctx, a, b, _fn=xp.remainder, _q=xp.floor)


# -- argument surface: rounded division, tensor bounds for clamp -------------------------


class DivRounded(Op):
    """``a / b`` rounded toward zero (``mode="trunc"``) or down (``"floor"``): PyTorch's
    ``div(rounding_mode=)`` and ``//``. Integers stay integers (a zero divisor raises, as
    in PyTorch); floats give ±inf or nan at a zero divisor, quietly. The floor of floats is
    NumPy's ``floor_divide`` (exact, like PyTorch's: ``1 // 0.1`` is 9, not ⌊1 / 0.1⌋ = 10).

    A step function: the gradient is zero for both inputs, as in PyTorch (the output still
    requires grad, so the graph stays connected).
    """

    @staticmethod
    def forward(ctx, a, b, mode):
        ctx.shapes = (_shape(a), _shape(b))
        if xp.result_type(a, b).kind in "biu":
            if not xp.all(b):
                raise RuntimeError("ZeroDivisionError")
            q = a // b
            if mode == "trunc":  # round the negative quotients with a remainder up
                q = q + ((q < 0) & (q * b != a))
            return q
        with xp.errstate(divide="ignore", invalid="ignore"):
            return xp.floor_divide(a, b) if mode == "floor" else xp.trunc(a / b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        zero = zeros_like(g)
        return (sum_to(zero, sa) if na else None), (sum_to(zero, sb) if nb else None)


class ClampTensor(Op):
    """``min(max(a, lo), hi)`` with tensor bounds (either may be None), all three
    broadcast together; where ``lo > hi`` the result is ``hi``.

    Gradients as PyTorch's: to ``a`` where ``lo ≤ a ≤ hi``, to ``lo`` where
    ``a < lo < hi``, to ``hi`` where ``a > hi`` or ``hi < lo``.
    """

    @staticmethod
    def forward(ctx, a, lo, hi):
        out, keep, to_lo, to_hi = a, True, None, None
        if lo is not None:
            out, keep, to_lo = xp.maximum(out, lo), a >= lo, a < lo
            if hi is not None:
                to_lo = to_lo & (lo < hi)
        if hi is not None:
            out, keep, to_hi = xp.minimum(out, hi), keep & (a <= hi), a > hi
            if lo is not None:
                to_hi = to_hi | (hi < lo)
        ctx.shapes = (_shape(a), _shape(lo), _shape(hi))
        ctx.save_for_backward(keep, to_lo, to_hi)  # masks: zero derivative
        return out

    @staticmethod
    def backward(ctx, g):
        masks = ctx.saved_tensors
        return tuple(
            sum_to(g * m, s) if need else None
            for m, s, need in zip(masks, ctx.shapes, ctx.needs_input_grad)
        )


class ToBFloat16(Op):
    """Values rounded to bfloat16, held as float32 (the emulation of
    :data:`stirpile.bfloat16`). The gradient is rounded the same way (in torch it is a
    bfloat16 tensor) and cast back to the input's dtype."""

    @staticmethod
    def forward(ctx, a):
        ctx.dtype = a.dtype
        return round_bfloat16(a)

    @staticmethod
    def backward(ctx, g):
        rounded = round_bfloat16(g) if _is_array(g) else ToBFloat16.apply(g)
        return cast(rounded, ctx.dtype)
