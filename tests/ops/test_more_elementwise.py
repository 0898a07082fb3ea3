"""The wider elementwise surface: special functions, rounding, two-argument functions,
inf/nan tests, logical ops, addcmul/addcdiv and the in-place variants — values,
dtypes and gradients against PyTorch, float64 gradcheck (and gradgradcheck for the
smooth ones), the gradients at kinks and singular points, and torch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import stirpile

SHAPES = [(), (3,), (2, 3)]

# (name, fn(L, x), domain, smooth); the domain keeps finite differences valid
UNARY = [
    ("erf", lambda L, x: L.erf(x), "any", True),
    ("erf_method", lambda L, x: x.erf(), "any", True),
    ("erfc", lambda L, x: x.erfc(), "any", True),
    ("expm1", lambda L, x: L.expm1(x), "any", True),
    ("exp2", lambda L, x: x.exp2(), "any", True),
    ("log2", lambda L, x: L.log2(x), "pos", True),
    ("log10", lambda L, x: x.log10(), "pos", True),
    ("sinh", lambda L, x: x.sinh(), "any", True),
    ("cosh", lambda L, x: L.cosh(x), "any", True),
    ("tan", lambda L, x: x.tan(), "any", True),
    ("asin", lambda L, x: (x * 0.4).asin(), "any", True),
    ("acos", lambda L, x: L.acos(x * 0.4), "any", True),
    ("atan", lambda L, x: x.atan(), "any", True),
    ("arcsin", lambda L, x: L.arcsin(x * 0.4), "any", True),
    ("logit", lambda L, x: (x / 3).logit(), "pos", True),
    ("logit_eps", lambda L, x: L.logit(x / 3, eps=0.3), "pos", False),
    ("frac", lambda L, x: (x * 3).frac(), "any", False),
    ("floor", lambda L, x: x.floor() + x, "any", False),
    ("ceil", lambda L, x: L.ceil(x * 2) * x, "any", False),
    ("trunc", lambda L, x: x.trunc() + x, "any", False),
    ("fix", lambda L, x: L.fix(x * 2) + x, "any", False),
    ("round", lambda L, x: (x * 3).round() * x, "any", False),
    ("round_decimals", lambda L, x: x.round(decimals=1) + x, "any", False),
    ("round_neg_decimals", lambda L, x: L.round(x * 100, decimals=-1) + x, "any", False),
    ("clamp_min", lambda L, x: x.clamp_min(0.2), "any", False),
    ("clamp_max_fn", lambda L, x: L.clamp_max(x, -0.1), "any", False),
    ("nan_to_num", lambda L, x: L.nan_to_num(x, nan=1.0), "any", False),
]

# (name, fn(L, a, b), domains, smooth, shapes of a and b)
BINARY = [
    ("atan2", lambda L, a, b: L.atan2(a, b), "any", True),
    ("atan2_method", lambda L, a, b: a.atan2(b), "away0", True),
    ("arctan2", lambda L, a, b: L.arctan2(a, b), "any", True),
    ("hypot", lambda L, a, b: L.hypot(a, b), "away0", True),
    ("logaddexp", lambda L, a, b: L.logaddexp(a, b), "any", True),
    ("logaddexp2", lambda L, a, b: a.logaddexp2(b), "any", True),
    ("xlogy", lambda L, a, b: L.xlogy(a, b), ("any", "pos"), True),
    ("xlogy_method", lambda L, a, b: a.xlogy(b), ("any", "pos"), True),
    ("fmod", lambda L, a, b: L.fmod(a * 3, b), ("any", "away0"), False),
    ("remainder", lambda L, a, b: L.remainder(a * 3, b), ("any", "away0"), False),
    ("clamp_min_tensor", lambda L, a, b: L.clamp_min(a, b), "any", False),
    ("clamp_max_tensor", lambda L, a, b: a.clamp_max(b), "any", False),
    ("true_divide", lambda L, a, b: L.true_divide(a, b), ("any", "away0"), True),
]
PAIRS = [((2, 3), (2, 3)), ((2, 3), (3,)), ((), (2, 1)), ((3, 1), (1, 2))]

TERNARY = [
    ("addcmul", lambda L, x, a, b: L.addcmul(x, a, b), "any"),
    ("addcmul_value", lambda L, x, a, b: x.addcmul(a, b, value=-0.5), "any"),
    ("addcdiv", lambda L, x, a, b: L.addcdiv(x, a, b, value=2), ("any", "any", "away0")),
    ("addcdiv_method", lambda L, x, a, b: x.addcdiv(a, b), ("any", "any", "away0")),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("name", "fn", "domain", "smooth"), UNARY, ids=_ids(UNARY))
def test_unary_gradcheck(opcheck, name, fn, domain, smooth, shape):
    opcheck.gradcheck(fn, opcheck.arrays([shape], domain), gradgrad=smooth)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("name", "fn", "domain", "smooth"), UNARY, ids=_ids(UNARY))
def test_unary_vs_torch(torch, opcheck, name, fn, domain, smooth, shape, dtype):
    arrays = opcheck.arrays([shape], domain, seed=3)
    opcheck.vs_torch(torch, fn, arrays, dtype, second_order=smooth and dtype == "float64")


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize(("name", "fn", "domain", "smooth"), BINARY, ids=_ids(BINARY))
def test_binary_gradcheck_broadcast(opcheck, name, fn, domain, smooth, shapes):
    opcheck.gradcheck(fn, opcheck.arrays(list(shapes), domain, seed=1), gradgrad=smooth)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize(("name", "fn", "domain", "smooth"), BINARY, ids=_ids(BINARY))
def test_binary_vs_torch_broadcast(torch, opcheck, name, fn, domain, smooth, shapes, dtype):
    arrays = opcheck.arrays(list(shapes), domain, seed=2)
    opcheck.vs_torch(torch, fn, arrays, dtype, second_order=smooth and dtype == "float64")


@pytest.mark.parametrize(("name", "fn", "domain"), TERNARY, ids=_ids(TERNARY))
def test_addcmul_addcdiv(torch, opcheck, name, fn, domain):
    arrays = opcheck.arrays([(2, 3), (3,), (2, 1)], domain)
    opcheck.gradcheck(fn, arrays, gradgrad=True)
    for dtype in ("float64", "float32"):
        opcheck.vs_torch(torch, fn, arrays, dtype)


def test_sgn_has_a_zero_gradient(torch, close):
    x = stirpile.tensor([-1.5, 0.0, 2.0], requires_grad=True)
    y = x.sgn()
    close(y, torch.tensor([-1.5, 0.0, 2.0]).sgn())
    assert y.requires_grad
    (y * x).sum().backward()
    assert x.grad.tolist() == [-1.0, 0.0, 1.0]  # only through the product's other factor
    assert stirpile.sgn(stirpile.tensor([-3, 0, 2])).tolist() == [-1, 0, 1]


# -- dtypes ------------------------------------------------------------------------------

INT = np.array([[1, 2, -3], [0, 4, 5]])
DTYPE_CASES = [
    ("erf_int", lambda L, i, f: L.erf(i)),
    ("exp2_bool", lambda L, i, f: (i > 0).exp2()),
    ("log2_int", lambda L, i, f: L.log2(i.abs() + 1)),
    ("sinh_int", lambda L, i, f: i.sinh()),
    ("atan_bool", lambda L, i, f: L.atan(i > 1)),
    ("logit_int_eps", lambda L, i, f: L.logit(i, eps=0.25)),
    ("floor_int", lambda L, i, f: i.floor()),
    ("round_int", lambda L, i, f: L.round(i)),
    ("sgn_int", lambda L, i, f: i.sgn()),
    ("atan2_ints", lambda L, i, f: L.atan2(i, i + 10)),
    ("atan2_int_float", lambda L, i, f: L.atan2(i, f)),
    ("xlogy_ints", lambda L, i, f: L.xlogy(i, i.abs() + 1)),
    ("xlogy_number_first", lambda L, i, f: L.xlogy(2, f.abs())),
    ("xlogy_float_number_int", lambda L, i, f: L.xlogy(2.0, i.abs() + 1)),
    ("xlogy_tensor_number", lambda L, i, f: L.xlogy(f, 3)),
    ("fmod_ints", lambda L, i, f: L.fmod(i, 2)),
    ("fmod_int_float", lambda L, i, f: i.fmod(2.5)),
    ("fmod_f64", lambda L, i, f: L.fmod(f, f.double() + 3)),
    ("remainder_ints", lambda L, i, f: L.remainder(i, 3)),
    ("hypot_f64", lambda L, i, f: L.hypot(f, f.double())),
    ("logaddexp_f64", lambda L, i, f: L.logaddexp(f, f.double())),
    ("clamp_min_int_float", lambda L, i, f: L.clamp_min(i, 0.5)),
    ("clamp_min_int_int", lambda L, i, f: i.clamp_min(1)),
    ("clamp_max_int_tensor", lambda L, i, f: L.clamp_max(i, L.tensor(1.5))),
    ("clamp_min_f32_f64", lambda L, i, f: L.clamp_min(f, f.double())),
    ("addcmul_ints", lambda L, i, f: L.addcmul(i, i, i, value=2)),
    ("addcmul_int_float", lambda L, i, f: L.addcmul(i, f, i, value=2)),
    ("addcdiv_float", lambda L, i, f: L.addcdiv(f, i, f + 10)),
    ("true_divide_ints", lambda L, i, f: L.true_divide(i, 2)),
    ("nan_to_num_int", lambda L, i, f: L.nan_to_num(i)),
    ("isinf_int", lambda L, i, f: L.isinf(i)),
    ("isposinf_int", lambda L, i, f: i.isposinf()),
    ("isneginf_bool", lambda L, i, f: L.isneginf(i > 0)),
    ("isclose_int", lambda L, i, f: L.isclose(i, i + 1, atol=1)),
    ("logical_and", lambda L, i, f: L.logical_and(i, f)),
    ("logical_or", lambda L, i, f: i.logical_or(f > 0)),
    ("logical_xor", lambda L, i, f: L.logical_xor(f, i > 1)),
    ("logical_not", lambda L, i, f: L.logical_not(i)),
]


@pytest.mark.parametrize(("name", "fn"), DTYPE_CASES, ids=_ids(DTYPE_CASES))
def test_result_dtype_and_value_match_torch(torch, close, name, fn):
    f = np.array([[0.5, -1.5, 2.0], [0.0, 3.25, -0.75]], np.float32)
    ours = fn(stirpile, stirpile.tensor(INT), stirpile.tensor(f))
    theirs = fn(torch, torch.tensor(INT), torch.tensor(f))
    close(ours, theirs, rtol=1e-6, atol=1e-6)


def test_float_functions_of_ints_follow_the_default_dtype():
    stirpile.set_default_dtype(stirpile.float64)
    assert stirpile.erf(stirpile.tensor([1, 2])).dtype == stirpile.float64
    assert stirpile.atan2(stirpile.tensor([1]), stirpile.tensor([2])).dtype == stirpile.float64


ERRORS = [
    (lambda L: L.logaddexp(L.tensor([1, 2]), L.tensor([1, 2])), NotImplementedError, "Long"),
    (lambda L: L.hypot(L.tensor([1]), L.tensor([2])), NotImplementedError, "hypot"),
    (lambda L: L.atan2(L.tensor([1.0]), 2), TypeError, "must be Tensor"),
    (lambda L: L.logaddexp(L.tensor([1.0]), 2.0), TypeError, "must be Tensor"),
    (lambda L: L.tensor([1.0]).frac().sum() + L.tensor([1]).frac(), NotImplementedError, "Long"),
    (lambda L: L.floor(L.tensor([True])), NotImplementedError, "Bool"),
    (lambda L: L.tensor([1, 2]).round(decimals=1), NotImplementedError, "Long"),
    (lambda L: L.isclose(L.tensor([1.0]), L.tensor([1.0]).double()), RuntimeError, "did not match"),
    (lambda L: L.tensor([1.0]).logical_or(0.0), TypeError, "must be Tensor"),
    (lambda L: L.addcdiv(L.tensor([1]), L.tensor([1]), L.tensor([2])), RuntimeError,
     "Integer division"),
    (lambda L: L.tensor([1, 2]).clamp_min_(0.5), RuntimeError, "can't be cast"),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "error", "match"), ERRORS)
def test_errors_match_torch(same_error, fn, error, match):
    same_error(fn, error, match)


# -- special values and gradients at singular points ----------------------------------------

INF, NAN = float("inf"), float("nan")
SPECIAL = [
    ("logaddexp", lambda L, a, b: L.logaddexp(a, b), [-INF, INF, 1.0, -INF, 800.0],
     [-INF, INF, 1.0, 0.0, 799.0]),
    ("logaddexp2", lambda L, a, b: L.logaddexp2(a, b), [-INF, INF, 1.0], [-INF, INF, -3.0]),
    ("hypot_origin", lambda L, a, b: L.hypot(a, b), [0.0, 3.0, 1e300], [0.0, 4.0, 1e300]),
    ("atan2_origin", lambda L, a, b: L.atan2(a, b), [0.0, 1.0, -0.0], [0.0, 0.0, -1.0]),
    ("xlogy_zeros", lambda L, a, b: L.xlogy(a, b), [0.0, 0.0, 1.0, 0.0, NAN, 2.0],
     [0.0, 1.0, 0.0, NAN, 1.0, INF]),
    ("clamp_min_ties", lambda L, a, b: L.clamp_min(a, b), [1.0, 2.0, 3.0, NAN],
     [2.0, 2.0, 2.0, 1.0]),
    ("clamp_max_ties", lambda L, a, b: L.clamp_max(a, b), [1.0, 2.0, 3.0, NAN],
     [2.0, 2.0, 2.0, 1.0]),
    ("fmod_signs", lambda L, a, b: L.fmod(a, b), [5.0, -5.0, 5.0, -5.0], [3.0, 3.0, -3.0, -3.0]),
    ("remainder_signs", lambda L, a, b: L.remainder(a, b), [5.0, -5.0, 5.0, -5.0],
     [3.0, 3.0, -3.0, -3.0]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fn", "a", "b"), SPECIAL, ids=_ids(SPECIAL))
def test_values_and_gradients_at_special_points(torch, close, name, fn, a, b):
    xs = [stirpile.tensor(v, dtype=stirpile.float64, requires_grad=True) for v in (a, b)]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy RuntimeWarnings at inf, nan or 0/0
        out = fn(stirpile, *xs)
        out.backward(stirpile.ones_like(out))
    t = fn(torch, *ts)
    t.backward(torch.ones_like(t))
    close(out, t)
    for x, tx in zip(xs, ts):
        close(x.grad, tx.grad)


UNARY_SPECIAL = [
    ("erfc_tails", lambda L, x: L.erfc(x), [-30.0, -3.0, 0.0, 5.0, 10.0, 26.5, 30.0, INF, -INF]),
    ("erf_tails", lambda L, x: L.erf(x), [-INF, -6.0, -1e-8, 0.0, 3.0, INF]),
    ("asin_edges", lambda L, x: L.asin(x), [-1.0, 1.0, 0.5, 1.5]),
    ("acos_edges", lambda L, x: L.acos(x), [-1.0, 1.0, 0.5]),
    ("logit_edges", lambda L, x: L.logit(x), [0.0, 0.5, 1.0, -0.5, 1.5]),
    ("logit_eps", lambda L, x: L.logit(x, eps=0.1), [0.0, 0.1, 0.5, 0.9, 1.0, -0.5, NAN]),
    ("log2_edges", lambda L, x: L.log2(x), [0.0, 8.0, 2.0**-1074, -1.0]),
    ("log10_edges", lambda L, x: L.log10(x), [0.0, 1000.0, INF]),
    ("exp2_big", lambda L, x: L.exp2(x), [-1100.0, 1023.0, 1100.0]),
    ("sinh_big", lambda L, x: L.sinh(x), [-800.0, 800.0, 0.0]),
    ("cosh_big", lambda L, x: L.cosh(x), [-800.0, 800.0, 0.0]),
    ("nan_to_num", lambda L, x: L.nan_to_num(x), [NAN, INF, -INF, 1.0]),
    ("nan_to_num_values", lambda L, x: x.nan_to_num(1.0, posinf=2.0, neginf=-2.0),
     [NAN, INF, -INF]),
    ("round_half_even", lambda L, x: L.round(x), [0.5, 1.5, 2.5, -0.5, -2.5, 3.7]),
    ("floor_inf", lambda L, x: x.floor() + x.ceil() + x.trunc(), [INF, -INF, NAN, -0.5]),
    ("frac_signs", lambda L, x: x.frac(), [1.5, -1.5, 0.0, -2.0]),
]  # fmt: skip


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "values"), UNARY_SPECIAL, ids=_ids(UNARY_SPECIAL))
def test_unary_special_values_and_gradients(torch, close, name, fn, values, dtype):
    x = stirpile.tensor(values, dtype=getattr(stirpile, dtype), requires_grad=True)
    t = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fn(stirpile, x)
        out.backward(stirpile.ones_like(out))
    expected = fn(torch, t)
    expected.backward(torch.ones_like(expected))
    tol = 1e-12 if dtype == "float64" else 1e-6
    close(out, expected, rtol=tol, atol=0)
    close(x.grad, t.grad, rtol=tol, atol=0)


def test_round_with_decimals_matches_torch_on_many_values(torch, close):
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.standard_normal(2000) * 10.0 ** rng.integers(-3, 6, 2000),
                             np.arange(-20, 20) / 8 + 0.0625])  # fmt: skip
    for dtype in ("float32", "float64"):
        for decimals in (-2, -1, 1, 2, 3):
            ours = stirpile.tensor(values, dtype=getattr(stirpile, dtype)).round(decimals=decimals)
            theirs = torch.tensor(values, dtype=getattr(torch, dtype)).round(decimals=decimals)
            close(ours, theirs, rtol=0, atol=0)


def test_isinf_isnan_isfinite_and_isclose(torch, close):
    values = [1.0, INF, -INF, NAN, 0.0, 1.0 + 1e-9]
    x, t = stirpile.tensor(values), torch.tensor(values)
    for name in ("isinf", "isposinf", "isneginf", "isnan", "isfinite"):
        close(getattr(x, name)(), getattr(torch, name)(t))
    other = [1.0, INF, INF, NAN, 1e-9, 1.0]
    y, u = stirpile.tensor(other), torch.tensor(other)
    close(stirpile.isclose(x, y), torch.isclose(t, u))
    close(x.isclose(y, equal_nan=True, rtol=0, atol=1e-6),
          t.isclose(u, equal_nan=True, rtol=0, atol=1e-6))  # fmt: skip
    b = stirpile.tensor([True, False])
    assert stirpile.isclose(b, b).tolist() == [True, True]


def test_empty_inputs(torch, close):
    for name in ("erf", "erfc", "floor", "sgn", "isinf", "nan_to_num", "logit", "exp2"):
        close(
            getattr(stirpile, name)(stirpile.zeros(0, 3)), getattr(torch, name)(torch.zeros(0, 3))
        )
    ours = stirpile.atan2(stirpile.zeros(0), stirpile.zeros(1))
    close(ours, torch.atan2(torch.zeros(0), torch.zeros(1)))


# -- in place ------------------------------------------------------------------------------

INPLACE = [
    ("floor_", lambda x: x.floor_()),
    ("ceil_", lambda x: x.ceil_()),
    ("trunc_", lambda x: x.trunc_()),
    ("round_", lambda x: x.round_()),
    ("round_decimals", lambda x: x.round_(decimals=1)),
    ("clamp_min_", lambda x: x.clamp_min_(0.3)),
    ("clamp_max_", lambda x: x.clamp_max_(-0.2)),
    ("nan_to_num_", lambda x: x.nan_to_num_(posinf=5.0)),
    ("addcmul_", lambda x: x.addcmul_(x * 2, x + 1, value=0.5)),
    ("addcdiv_", lambda x: x.addcdiv_(x * 2, x.abs() + 1, value=0.5)),
]


@pytest.mark.parametrize(("name", "fn"), INPLACE, ids=_ids(INPLACE))
def test_in_place_values(torch, close, name, fn):
    values = np.array([[-1.25, 0.5, 2.75], [INF if "nan" in name else 7.5, 0.3, -0.6]])
    x, t = stirpile.tensor(values), torch.tensor(values)
    assert fn(x) is x
    fn(t)
    close(x, t)


@pytest.mark.parametrize(("name", "fn"), INPLACE[:8], ids=_ids(INPLACE[:8]))
def test_in_place_on_a_leaf_that_requires_grad_raises(name, fn):
    x = stirpile.tensor([0.5, 1.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        fn(x)


def test_in_place_inside_the_graph_differentiates_like_torch(torch, close):
    def f(L, x):
        h = x * 2
        h.clamp_min_(0.1)
        h.nan_to_num_()
        return (h * x).sum()

    x = stirpile.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    t = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    f(stirpile, x).backward()
    f(torch, t).backward()
    close(x.grad, t.grad)
