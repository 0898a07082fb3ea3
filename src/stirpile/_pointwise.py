"""Elementwise functions beyond the arithmetic operators: special functions, rounding,
two-argument functions, tests for inf/nan, logical ops.

Each is both ``stirpile.X(t, …)`` and ``t.X(…)`` (the Tensor class binds these
functions as methods). Dtype rules are PyTorch's: a floating function of an integer
or bool tensor computes in the default float dtype (``erf(int) → float32``), rounding
functions keep integers as they are, binary functions promote their operands like
the arithmetic operators. The rounding functions (``floor``, ``ceil``, ``round``,
``trunc``, ``sgn``) have a zero gradient, as in torch.

>>> import stirpile
>>> x = stirpile.tensor([0.5, 2.0])
>>> stirpile.logaddexp(x, x)
tensor([1.1931, 2.6931])
>>> x.floor(), x.frac()
(tensor([0., 2.]), tensor([0.5000, 0.0000]))
"""

from __future__ import annotations

from typing import Any

from . import backend as B
from . import tensor as _T  # (being imported when this module is: used at call time only)
from .backend import torch_name
from .ops import elementwise as ew
from .ops import nn as _nn

Tensor = Any  # for the annotations; the class is _T.Tensor
Number = int | float | bool


def _floating(x: Tensor) -> Tensor:
    """``x``, or ``x`` in the default float dtype if it holds integers or bools."""
    return x if x._data.dtype.kind in "fc" else x.to(B.get_default_dtype())


def _not_for_ints(name: str, x: Tensor) -> None:
    if x._data.dtype.kind not in "fc":
        raise NotImplementedError(f"\"{name}\" not implemented for '{torch_name(x.dtype)}'")


def _tensor_input(name: str, input: Any, *others: Any, overloaded: bool = False) -> None:
    """PyTorch's TypeError for a non-tensor ``input`` (``stirpile.atan2(2, t)``); with
    ``overloaded``, the message of a function with several signatures (``fmod(2, t)``)."""
    if isinstance(input, _T.Tensor):
        return
    if overloaded:
        got = ", ".join(type(a).__name__ for a in (input, *others))
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got ({got}), but "
            "expected (Tensor input, Tensor other)"
        )
    raise TypeError(
        f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}"
    )


def _tensor_other(name: str, other: Any) -> None:
    if not isinstance(other, _T.Tensor):
        raise TypeError(
            f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}"
        )


# -- one-argument floating functions ------------------------------------------------------


def erf(input: Tensor) -> Tensor:
    """erf x = 2/√π ∫₀ˣ e^(−t²) dt; derivative 2/√π e^(−x²)."""
    return _nn.Erf.apply(_floating(input))


def erfc(input: Tensor) -> Tensor:
    """1 − erf x, accurate where it is tiny (``erfc(10) = 2.1e-45``)."""
    return ew.Erfc.apply(_floating(input))


def expm1(input: Tensor) -> Tensor:
    """e^x − 1, accurate for small x."""
    return _nn.Expm1.apply(_floating(input))


def exp2(input: Tensor) -> Tensor:
    """2^x."""
    return ew.Exp2.apply(_floating(input))


def log2(input: Tensor) -> Tensor:
    return ew.Log2.apply(_floating(input))


def log10(input: Tensor) -> Tensor:
    return ew.Log10.apply(_floating(input))


def sinh(input: Tensor) -> Tensor:
    return ew.Sinh.apply(_floating(input))


def cosh(input: Tensor) -> Tensor:
    return ew.Cosh.apply(_floating(input))


def tan(input: Tensor) -> Tensor:
    return ew.Tan.apply(_floating(input))


def asin(input: Tensor) -> Tensor:
    """arcsin x for x in [−1, 1] (nan outside); derivative 1/√(1 − x²)."""
    return ew.Asin.apply(_floating(input))


def acos(input: Tensor) -> Tensor:
    return ew.Acos.apply(_floating(input))


def atan(input: Tensor) -> Tensor:
    return ew.Atan.apply(_floating(input))


arcsin, arccos, arctan = asin, acos, atan


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(p / (1 − p)), the inverse of ``sigmoid``; with ``eps``, p is first clamped to
    [eps, 1 − eps] (and gets no gradient where it was cut)."""
    return ew.Logit.apply(_floating(input), eps=eps)


# -- rounding: zero gradient, integers unchanged ------------------------------------------


def _rounding(x: Tensor, name: str, fn: Any) -> Tensor:
    if x._data.dtype.kind == "b":
        raise NotImplementedError(f"\"{name}_vml_cpu\" not implemented for 'Bool'")
    if x._data.dtype.kind in "iu":
        return _T.Tensor._make(x._data.copy())
    return ew.Rounding.apply(x, fn=fn)


def floor(input: Tensor) -> Tensor:
    return _rounding(input, "floor", B.xp.floor)


def ceil(input: Tensor) -> Tensor:
    return _rounding(input, "ceil", B.xp.ceil)


def trunc(input: Tensor) -> Tensor:
    """Round toward zero."""
    return _rounding(input, "trunc", B.xp.trunc)


fix = trunc


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even, to ``decimals`` places: ``rint(x · 10^d) / 10^d`` for d > 0 and
    ``rint(x / 10^−d) · 10^−d`` for d < 0, computed in the tensor's dtype as torch does."""
    if decimals == 0:
        return _rounding(input, "round", B.xp.rint)
    if input._data.dtype.kind not in "f":
        raise NotImplementedError(f"\"round_cpu\" not implemented for '{torch_name(input.dtype)}'")

    def fn(a: Any) -> Any:
        p = a.dtype.type(10.0 ** abs(decimals))
        with B.xp.errstate(over="ignore", invalid="ignore"):
            return B.xp.rint(a * p) / p if decimals > 0 else B.xp.rint(a / p) * p

    return ew.Rounding.apply(input, fn=fn)


def frac(input: Tensor) -> Tensor:
    """x − trunc(x) (the sign of x); gradient 1."""
    _not_for_ints("frac_cpu", input)
    return input - trunc(input)


def sgn(input: Tensor) -> Tensor:
    """The sign (−1, 0 or 1; for real tensors the same as ``sign``), zero gradient."""
    if input._data.dtype.kind in "biu":
        return _T.Tensor._make(B.xp.sign(input._data) if input._data.dtype.kind != "b"
                               else input._data.copy())  # fmt: skip
    return ew.Rounding.apply(input, fn=B.xp.sign)


# -- two-argument functions ---------------------------------------------------------------


def _floats(input: Any, other: Any) -> tuple:
    """Operands promoted as by ``/`` (integers become the default float dtype); either
    may be a Python number."""
    if isinstance(input, _T.Tensor):
        return _T._pair(input, other, true_div=True)
    return _T._pair(other, input, reflected=True, true_div=True)


def _same_kind(input: Any, other: Any) -> tuple:
    """Operands promoted as by ``*`` (integers stay integers)."""
    if isinstance(input, _T.Tensor):
        return _T._pair(input, other)
    return _T._pair(other, input, reflected=True)


def atan2(input: Tensor, other: Tensor) -> Tensor:
    """The angle of the point (other, input) in (−π, π]; gradient 0 at the origin."""
    _tensor_input("atan2", input)
    _tensor_other("atan2", other)
    return ew.Atan2.apply(*_floats(input, other))


arctan2 = atan2


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """√(input² + other²) without overflow."""
    _tensor_input("hypot", input)
    _tensor_other("hypot", other)
    _not_for_ints("hypot_cpu", input)
    return ew.Hypot.apply(*_same_kind(input, other))


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """log(e^input + e^other) without overflow."""
    _tensor_input("logaddexp", input)
    _tensor_other("logaddexp", other)
    _not_for_ints("logaddexp_cpu", input)
    return ew.LogAddExp.apply(*_same_kind(input, other))


def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """log₂(2^input + 2^other)."""
    _tensor_input("logaddexp2", input)
    _tensor_other("logaddexp2", other)
    _not_for_ints("logaddexp2_cpu", input)
    return ew.LogAddExp2.apply(*_same_kind(input, other))


def xlogy(input: Any, other: Any) -> Tensor:
    """input · log(other), and 0 where input is 0 (so ``xlogy(0, 0) = 0``); either argument
    may be a number, not both."""
    if not isinstance(other, _T.Tensor):
        _tensor_input("xlogy", input, other, overloaded=True)
    return ew.XLogY.apply(*_floats(input, other))


def fmod(input: Tensor, other: Any) -> Tensor:
    """C's remainder: input − trunc(input / other) · other, with the sign of ``input``."""
    _tensor_input("fmod", input, other, overloaded=True)
    return ew.Fmod.apply(*_same_kind(input, other))


def remainder(input: Any, other: Any) -> Tensor:
    """Python's ``%``: input − floor(input / other) · other, with the sign of ``other``;
    ``input`` may be a number when ``other`` is a tensor, as in torch."""
    if not isinstance(other, _T.Tensor):
        _tensor_input("remainder", input, other, overloaded=True)
    return ew.Remainder.apply(*_same_kind(input, other))


def clamp_min(input: Tensor, min: Any) -> Tensor:
    """max(input, min); ``min`` a number or a tensor (broadcast, promoted): ``clamp(min=)``,
    with its gradients (to ``input`` where input ≥ min, ties included, else to ``min``)."""
    _tensor_input("clamp_min", input, min, overloaded=True)
    return input.clamp(min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:
    """min(input, max): ``clamp(max=)``."""
    _tensor_input("clamp_max", input, max, overloaded=True)
    return input.clamp(max=max)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Number = 1) -> Tensor:
    """input + value · tensor1 · tensor2 (broadcast)."""
    prod = tensor1 * tensor2
    return input + (prod if value == 1 else prod * value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Number = 1) -> Tensor:
    """input + value · tensor1 / tensor2 (broadcast); integer ``tensor1`` and ``tensor2`` are
    refused, as in torch."""
    if tensor1._data.dtype.kind in "biu" and tensor2._data.dtype.kind in "biu":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2."
        )
    quot = tensor1 / tensor2
    return input + (quot if value == 1 else quot * value)


def true_divide(input: Tensor, other: Any) -> Tensor:
    """input / other, always a floating result."""
    return input / other


# -- tests: boolean results, no gradient ---------------------------------------------------


def _bool(array: Any) -> Tensor:
    return _T.Tensor._make(B.xp.asarray(array))


def isinf(input: Tensor) -> Tensor:
    return _bool(B.xp.isinf(input._data))


def isposinf(input: Tensor) -> Tensor:
    return _bool(B.xp.isposinf(input._data) if input._data.dtype.kind in "fc"
                 else B.xp.zeros(input.shape, bool))  # fmt: skip


def isneginf(input: Tensor) -> Tensor:
    return _bool(B.xp.isneginf(input._data) if input._data.dtype.kind in "fc"
                 else B.xp.zeros(input.shape, bool))  # fmt: skip


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:  # fmt: skip
    """|input − other| ≤ atol + rtol · |other| elementwise (infinities close to themselves).
    The two dtypes must be the same, and the tolerances not negative, as in torch."""
    _tensor_input("isclose", input)
    _tensor_other("isclose", other)
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if tol < 0:
            raise RuntimeError(f"{name} must be greater than or equal to zero, but got {tol}")
    if input.dtype != other.dtype:
        raise RuntimeError(f"{torch_name(input.dtype)} did not match {torch_name(other.dtype)}")
    a, b = input._data, other._data
    if a.dtype.kind == "b":
        return _bool(a == b)
    return _bool(B.xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:  # fmt: skip
    """nan, +inf and −inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and
    the dtype's largest and smallest finite values); the gradient passes where the input
    was finite."""
    a = input._data
    if a.dtype.kind not in "fc":
        return _T.Tensor._make(a.copy())
    filled = B.xp.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)
    return ew.Where.apply(B.xp.isfinite(a), input, filled)


def _logical(fn: Any, name: str, input: Tensor, other: Tensor) -> Tensor:
    _tensor_input(name, input)
    _tensor_other(name, other)
    return _bool(fn(input._data, other._data))


def logical_not(input: Tensor) -> Tensor:
    """Elementwise ``not input`` of the truth values: bool."""
    return _bool(B.xp.logical_not(input._data))


def logical_and(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise ``input and other`` of the truth values (nonzero is true): bool."""
    return _logical(B.xp.logical_and, "logical_and", input, other)


def logical_or(input: Tensor, other: Tensor) -> Tensor:
    return _logical(B.xp.logical_or, "logical_or", input, other)


def logical_xor(input: Tensor, other: Tensor) -> Tensor:
    return _logical(B.xp.logical_xor, "logical_xor", input, other)


# -- in place: computed out of place, then written by Tensor._inplace ----------------------


def inplace_of(fn: Any) -> Any:
    """The in-place method ``fn_``: ``fn`` computed out of place, then written into the
    tensor by Tensor's in-place machinery (``Tensor._apply_``), recorded like ``fn`` itself
    while recording."""

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self._apply_(fn.__name__ + "_", fn, *args, **kwargs)

    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    method.__doc__ = f"In-place :func:`{fn.__name__}`."
    return method


clamp_min_ = inplace_of(clamp_min)
clamp_max_ = inplace_of(clamp_max)
floor_ = inplace_of(floor)
ceil_ = inplace_of(ceil)
trunc_ = inplace_of(trunc)
round_ = inplace_of(round)
nan_to_num_ = inplace_of(nan_to_num)
