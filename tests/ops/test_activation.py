"""Activations: relu, sigmoid, tanh, softmax and log_softmax (over any dim), including
inputs large enough to overflow a naive formula."""

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

# (name, fn(L, x), domain): applied to random shapes with at least one dim
CASES = [
    ("relu", lambda L, x: x.relu(), "away0"),
    ("relu_fn", lambda L, x: L.relu(x), "away0"),
    ("sigmoid", lambda L, x: x.sigmoid(), "any"),
    ("sigmoid_fn", lambda L, x: L.sigmoid(x), "any"),
    ("tanh", lambda L, x: x.tanh(), "any"),
    ("tanh_fn", lambda L, x: L.tanh(x), "any"),
    ("softmax_last", lambda L, x: x.softmax(-1), "any"),
    ("softmax_first", lambda L, x: x.softmax(dim=0), "any"),
    ("softmax_fn", lambda L, x: L.softmax(x, dim=-1), "any"),
    ("log_softmax_last", lambda L, x: x.log_softmax(-1), "any"),
    ("log_softmax_first", lambda L, x: x.log_softmax(0), "any"),
    ("log_softmax_fn", lambda L, x: L.log_softmax(x, dim=0), "any"),
    ("softmax_weighted", lambda L, x: x.softmax(-1) * x, "any"),
]
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@pytest.mark.parametrize(("name", "fn", "domain"), CASES, ids=[c[0] for c in CASES])
@HYP
@given(shape=SHAPES, seed=st.integers(0, 2**16))
def test_gradcheck(opcheck, name, fn, domain, shape, seed):
    opcheck.gradcheck(fn, opcheck.arrays([shape], domain, seed))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "domain"), CASES, ids=[c[0] for c in CASES])
@HYP
@given(shape=SHAPES, seed=st.integers(0, 2**16))
def test_vs_torch(torch, opcheck, dtype, name, fn, domain, shape, seed):
    opcheck.vs_torch(torch, fn, opcheck.arrays([shape], domain, seed), dtype)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_dims_on_3d(torch, opcheck, dim):
    arrays = opcheck.arrays([(2, 3, 4)])
    for fn in (lambda L, x: x.softmax(dim), lambda L, x: x.log_softmax(dim)):
        opcheck.gradcheck(fn, arrays)
        opcheck.vs_torch(torch, fn, arrays, "float64")


HUGE = [[1e4, 0.0, -1e4], [1e4, 1e4, 1e4 - 1.0], [-1e4, -1e4 + 2.0, -1e4]]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_huge_logits_give_no_inf_or_nan_and_match_torch(torch, close, dtype, name):
    x = stirpile.tensor(HUGE, dtype=getattr(stirpile, dtype), requires_grad=True)
    t = torch.tensor(HUGE, dtype=getattr(torch, dtype), requires_grad=True)
    out, tout = getattr(x, name)(1), getattr(t, name)(1)
    assert np.isfinite(out.detach().numpy()).all()  # log_softmax: large but finite
    close(out, tout, rtol=1e-6, atol=1e-6)
    g = np.arange(out.numel(), dtype=dtype).reshape(out.shape)
    out.backward(stirpile.tensor(g))
    tout.backward(torch.tensor(g))
    assert np.isfinite(x.grad.numpy()).all()
    close(x.grad, t.grad, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sigmoid_and_tanh_of_large_inputs_saturate_without_overflow(torch, close, dtype):
    values = [-1000.0, -50.0, 0.0, 50.0, 1000.0]
    for name in ("sigmoid", "tanh"):
        x = stirpile.tensor(values, dtype=getattr(stirpile, dtype), requires_grad=True)
        t = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
        getattr(x, name)().sum().backward()
        getattr(t, name)().sum().backward()
        close(x.grad, t.grad, rtol=1e-6, atol=1e-30)
    assert stirpile.tensor(values).sigmoid().tolist() == [0.0, pytest.approx(0.0), 0.5, 1.0, 1.0]


def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log():
    x = stirpile.randn(4, 5, dtype=stirpile.float64)
    p = x.softmax(-1)
    np.testing.assert_allclose(p.sum(-1).numpy(), np.ones(4), rtol=1e-12)
    np.testing.assert_allclose(x.log_softmax(-1).exp().numpy(), p.numpy(), rtol=1e-12)


def test_relu_gradient_is_the_lectures_step():
    """relu' = 1 if x > 0 else 0 (the lectures' table), including 0 at x = 0."""
    x = stirpile.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


def test_sigmoid_gradient_is_sigma_times_one_minus_sigma():
    x = stirpile.tensor([-1.0, 0.5, 2.0], dtype=stirpile.float64, requires_grad=True)
    x.sigmoid().sum().backward()
    s = 1 / (1 + np.exp(-x.detach().numpy()))
    np.testing.assert_allclose(x.grad.numpy(), s * (1 - s), rtol=1e-12)
