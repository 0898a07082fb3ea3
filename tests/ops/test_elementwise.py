"""Elementwise ops: gradients by finite differences and against PyTorch on random
(broadcast) shapes, PyTorch's dtype promotion, and broadcast errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import stirpile

HYP = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
PAIRS = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
SEEDS = st.integers(0, 2**16)

# (name, fn(L, x), value domain)
UNARY = [
    ("neg", lambda L, x: -x, "any"),
    ("neg_method", lambda L, x: x.neg(), "any"),
    ("exp", lambda L, x: x.exp(), "any"),
    ("log", lambda L, x: x.log(), "pos"),
    ("log1p", lambda L, x: x.log1p(), "pos"),
    ("sqrt", lambda L, x: x.sqrt(), "pos"),
    ("abs", lambda L, x: x.abs(), "away0"),
    ("sin", lambda L, x: x.sin(), "any"),
    ("cos", lambda L, x: x.cos(), "any"),
    ("clamp_min", lambda L, x: x.clamp(min=-0.3), "any"),
    ("clamp_max", lambda L, x: x.clamp(max=0.4), "any"),
    ("clamp_both", lambda L, x: x.clamp(-0.5, 0.5), "any"),
    ("clamp_fn", lambda L, x: L.clamp(x, min=0.1, max=0.9), "any"),
    ("exp_fn", lambda L, x: L.exp(x), "any"),
    ("pow_2", lambda L, x: x**2, "any"),
    ("pow_3", lambda L, x: x**3, "any"),
    ("pow_half", lambda L, x: x**0.5, "pos"),
    ("pow_neg", lambda L, x: x**-1.5, "pos"),
    ("rpow", lambda L, x: 2.0**x, "any"),
    ("radd", lambda L, x: 2.0 + x, "any"),
    ("rsub", lambda L, x: 2.5 - x, "any"),
    ("rmul", lambda L, x: 3 * x, "any"),
    ("rdiv", lambda L, x: 2.0 / x, "away0"),
    ("sub_scalar", lambda L, x: x - 1.5, "any"),
    ("div_scalar", lambda L, x: x / 3, "any"),
    ("add_int", lambda L, x: x + 1, "any"),
]

# (name, fn(L, a, b), domains of a and b)
BINARY = [
    ("add", lambda L, a, b: a + b, "any"),
    ("add_alpha", lambda L, a, b: a.add(b, alpha=0.5), "any"),
    ("sub", lambda L, a, b: a - b, "any"),
    ("sub_alpha", lambda L, a, b: a.sub(b, alpha=2), "any"),
    ("mul", lambda L, a, b: a * b, "any"),
    ("div", lambda L, a, b: a / b, ("any", "away0")),
    ("pow", lambda L, a, b: a**b, ("pos", "any")),
    ("maximum", lambda L, a, b: L.maximum(a, b), "any"),
    ("minimum", lambda L, a, b: L.minimum(a, b), "any"),
    ("where", lambda L, a, b: L.where(a > 0, a, b), ("away0", "any")),
    ("where_method", lambda L, a, b: a.where(b < 0, b * 2), ("any", "away0")),
    ("mul_self", lambda L, a, b: a * a + b, "any"),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize(("name", "fn", "domain"), UNARY, ids=_ids(UNARY))
@HYP
@given(shape=SHAPES, seed=SEEDS)
def test_unary_gradcheck(opcheck, name, fn, domain, shape, seed):
    opcheck.gradcheck(fn, opcheck.arrays([shape], domain, seed))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "domain"), UNARY, ids=_ids(UNARY))
@HYP
@given(shape=SHAPES, seed=SEEDS)
def test_unary_vs_torch(torch, opcheck, dtype, name, fn, domain, shape, seed):
    opcheck.vs_torch(torch, fn, opcheck.arrays([shape], domain, seed), dtype)


@pytest.mark.parametrize(("name", "fn", "domain"), BINARY, ids=_ids(BINARY))
@HYP
@given(shapes=PAIRS, seed=SEEDS)
def test_binary_gradcheck_broadcast(opcheck, name, fn, domain, shapes, seed):
    opcheck.gradcheck(fn, opcheck.arrays(shapes.input_shapes, domain, seed))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "domain"), BINARY, ids=_ids(BINARY))
@HYP
@given(shapes=PAIRS, seed=SEEDS)
def test_binary_vs_torch_broadcast(torch, opcheck, dtype, name, fn, domain, shapes, seed):
    opcheck.vs_torch(torch, fn, opcheck.arrays(shapes.input_shapes, domain, seed), dtype)


def test_where_with_a_scalar_branch(torch, opcheck):
    def fn(L, x):
        return L.where(L.tensor([True, False, True]), x, 2.0)

    arrays = opcheck.arrays([(2, 3)])
    opcheck.gradcheck(fn, arrays)
    opcheck.vs_torch(torch, fn, arrays, "float64")


def test_maximum_splits_the_gradient_on_ties(torch, close):
    a = stirpile.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = stirpile.tensor([1.0, 5.0, 0.0], requires_grad=True)
    stirpile.maximum(a, b).sum().backward()
    ta = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tb = torch.tensor([1.0, 5.0, 0.0], requires_grad=True)
    torch.maximum(ta, tb).sum().backward()
    close(a.grad, ta.grad)
    close(b.grad, tb.grad)
    assert a.grad.tolist() == [0.5, 0.0, 1.0]


def test_scalar_operands_keep_the_graph():
    x = stirpile.tensor([1.0, 2.0], requires_grad=True)
    y = 1 - 2 * x / 4 + x**2  # dy/dx = -1/2 + 2x
    y.sum().backward()
    assert x.grad.tolist() == [1.5, 3.5]


# -- dtype rules: compare the result dtype with PyTorch's directly ------------------------

DTYPE_CASES = [
    ("f32*2.0", lambda L: L.ones(3) * 2.0),
    ("2.0*f32", lambda L: 2.0 * L.ones(3)),
    ("f32/3", lambda L: L.ones(3) / 3),
    ("3/f32", lambda L: 3 / L.ones(3)),
    ("f32**2", lambda L: L.ones(3) ** 2),
    ("f32**0.5", lambda L: L.ones(3) ** 0.5),
    ("2.0**f32", lambda L: 2.0 ** L.ones(3)),
    ("f32-1", lambda L: L.ones(3) - 1),
    ("f64*2.0", lambda L: L.ones(3, dtype=L.float64) * 2.0),
    ("int*2.5", lambda L: L.arange(3) * 2.5),
    ("2.5*int", lambda L: 2.5 * L.arange(3)),
    ("int*2", lambda L: L.arange(3) * 2),
    ("int**2", lambda L: L.arange(3) ** 2),
    ("int/int", lambda L: L.arange(1, 4) / L.arange(1, 4)),
    ("int/2", lambda L: L.arange(3) / 2),
    ("2/int", lambda L: 2 / L.arange(1, 4)),
    ("int32+int64", lambda L: L.arange(3).int() + L.arange(3)),
    ("f32*f64_0d", lambda L: L.ones(3) * L.tensor(2.0, dtype=L.float64)),
    ("f64_0d*f32", lambda L: L.tensor(2.0, dtype=L.float64) * L.ones(3)),
    ("f32_0d*f64", lambda L: L.tensor(2.0) * L.ones(3, dtype=L.float64)),
    ("f32*f64", lambda L: L.ones(3) * L.ones(3, dtype=L.float64)),
    ("f32_0d*f64_0d", lambda L: L.tensor(2.0) * L.tensor(3.0, dtype=L.float64)),
    ("int*f64_0d", lambda L: L.arange(3) * L.tensor(2.0, dtype=L.float64)),
    ("int_0d*f64", lambda L: L.tensor(2) * L.ones(3, dtype=L.float64)),
    ("int*f32", lambda L: L.arange(3) * L.ones(3)),
    ("bool*f32", lambda L: (L.arange(3) > 0) * L.ones(3)),
    ("bool+int", lambda L: (L.arange(3) > 0) + L.arange(3)),
    ("f32_where_scalar", lambda L: L.where(L.arange(3) > 0, L.ones(3), 0.5)),
    ("int_sum", lambda L: L.arange(3).sum()),
    ("bool_sum", lambda L: (L.arange(3) > 0).sum()),
    ("f32_mean", lambda L: L.ones(3).mean()),
    ("f64_exp", lambda L: L.ones(3, dtype=L.float64).exp()),
    ("f32_matmul", lambda L: L.ones(2, 3) @ L.ones(3)),
    ("f32_max", lambda L: L.maximum(L.ones(3), L.zeros(3))),
]


@pytest.mark.parametrize(("name", "fn"), DTYPE_CASES, ids=_ids(DTYPE_CASES))
def test_result_dtype_and_value_match_torch(torch, close, name, fn):
    close(fn(stirpile), fn(torch))


MIXED = [
    ("add", lambda L, a, b: a + b),
    ("mul", lambda L, a, b: a * b),
    ("div", lambda L, a, b: a / b),
    ("pow", lambda L, a, b: a.abs() ** b),
    ("maximum", lambda L, a, b: L.maximum(a, b)),
    ("minimum", lambda L, a, b: L.minimum(a, b)),
    ("where", lambda L, a, b: L.where(a > 0, a, b)),
    ("where_0d", lambda L, a, b: L.where(a > 0, a, b.sum())),
    ("cat", lambda L, a, b: L.cat([a, b])),
    ("stack", lambda L, a, b: L.stack([a, b], 1)),
    ("masked_fill_0d", lambda L, a, b: a.masked_fill(a > 0, b.sum())),
]


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")])
@pytest.mark.parametrize(("name", "fn"), MIXED, ids=_ids(MIXED))
def test_mixed_dtypes_promote_like_torch_and_grads_keep_their_dtype(
    torch, opcheck, close, dtypes, name, fn
):
    arrays = opcheck.arrays([(3,), (3,)], "away0")
    xs = [stirpile.tensor(a, dtype=getattr(stirpile, d), requires_grad=True)
          for a, d in zip(arrays, dtypes)]  # fmt: skip
    ts = [torch.tensor(a, dtype=getattr(torch, d), requires_grad=True)
          for a, d in zip(arrays, dtypes)]  # fmt: skip
    out, tout = fn(stirpile, *xs), fn(torch, *ts)
    close(out, tout, rtol=1e-6, atol=1e-6)
    g = np.random.default_rng(1).standard_normal(tout.shape)
    out.backward(stirpile.tensor(g, dtype=out.dtype))
    tout.backward(torch.tensor(g, dtype=tout.dtype))
    for x, t in zip(xs, ts):
        close(x.grad, t.grad, rtol=1e-6, atol=1e-6)


def test_default_dtype_and_python_scalars():
    x = stirpile.ones(2)
    assert x.dtype == stirpile.float32
    for y in (x * 2.0, 2.0 * x, x / 3, x**2, x + 1e300 * 0, x - 0.5, 1.5 / x):
        assert y.dtype == stirpile.float32
    stirpile.set_default_dtype(stirpile.float64)
    assert stirpile.tensor([1.5]).dtype == stirpile.float64
    assert (stirpile.tensor([1, 2]) / 2).dtype == stirpile.float64


def test_gradients_have_the_parameters_dtype(torch, close):
    def fn(L, x, s):
        return ((x * s) ** 2 + 2.0**x + x.double() * 3).sum()

    x = stirpile.tensor([0.5, -1.0, 2.0], requires_grad=True)
    s = stirpile.tensor(1.5, dtype=stirpile.float64, requires_grad=True)
    tx = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    ts = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    out, tout = fn(stirpile, x, s), fn(torch, tx, ts)
    close(out, tout, rtol=1e-6)
    out.backward()
    tout.backward()
    assert x.grad.dtype == stirpile.float32 and s.grad.dtype == stirpile.float64
    close(x.grad, tx.grad, rtol=1e-6)
    close(s.grad, ts.grad, rtol=1e-6)


def test_int_tensor_times_float_is_differentiable_downstream():
    w = stirpile.tensor([1.0, 2.0], requires_grad=True)
    n = stirpile.tensor([3, 4])
    (w * n).sum().backward()
    assert w.grad.dtype == stirpile.float32
    assert w.grad.tolist() == [3.0, 4.0]


def test_broadcast_error_names_the_op_and_shapes():
    a, b = stirpile.ones(2, 3), stirpile.ones(4)
    for op, name in ((lambda: a + b, "add"), (lambda: a * b, "mul"), (lambda: a - b, "sub")):
        with pytest.raises(RuntimeError, match=name) as info:
            op()
        assert "(2, 3)" in str(info.value) and "(4,)" in str(info.value)


def test_pow_with_zero_base_has_a_finite_exponent_gradient(torch, close):
    a = stirpile.tensor([0.0, 2.0])
    b = stirpile.tensor([2.0, 3.0], requires_grad=True)
    (a**b).sum().backward()
    tb = torch.tensor([2.0, 3.0], requires_grad=True)
    (torch.tensor([0.0, 2.0]) ** tb).sum().backward()
    assert np.isfinite(b.grad.numpy()).all()
    close(b.grad, tb.grad, rtol=1e-6)
