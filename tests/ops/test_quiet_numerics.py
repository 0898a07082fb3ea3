"""Quiet numerics (issue 11): ops on inf, NaN or empty inputs give PyTorch's values without
a NumPy ``RuntimeWarning`` (PyTorch is silent there), in the forward and the backward, and
leave the user's own NumPy error state as it was. Also the input checks of ``gather`` and
``binary_cross_entropy``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import stirpile

torch = pytest.importorskip("torch")

INF, NAN = float("inf"), float("nan")

# name -> fn(L): a tensor computed with L = stirpile or torch (float32 unless said)
CASES = {
    "softmax_inf": lambda L: L.tensor([INF, 1.0]).softmax(0),
    "softmax_all_inf": lambda L: L.tensor([[INF, INF], [1.0, 2.0]]).softmax(1),
    "softmax_all_neg_inf": lambda L: L.tensor([-INF, -INF]).softmax(0),
    "log_softmax_inf": lambda L: L.tensor([INF, 1.0]).log_softmax(0),
    "log_softmax_all_neg_inf": lambda L: L.tensor([-INF, -INF]).log_softmax(0),
    "cross_entropy_inf_logit": lambda L: L.nn.functional.cross_entropy(
        L.tensor([[INF, 0.0], [1.0, 2.0]]), L.tensor([1, 0]), reduction="none"
    ),
    "cross_entropy_inf_smoothed": lambda L: L.nn.functional.cross_entropy(
        L.tensor([[INF, 0.0]]), L.tensor([0]), label_smoothing=0.1
    ),
    "max_nan": lambda L: L.tensor([NAN, 1.0]).max(),
    "min_nan": lambda L: L.tensor([NAN, 1.0]).min(),
    "amax_nan": lambda L: L.tensor([[NAN, 1.0], [2.0, 3.0]]).amax(1),
    "amin_nan": lambda L: L.tensor([[NAN, 1.0], [2.0, 3.0]]).amin(1),
    "mean_empty": lambda L: L.zeros(0).mean(),
    "mean_empty_dim": lambda L: L.zeros(0, 3).mean(0),
    "exp_overflow": lambda L: L.tensor([1000.0, 1.0]).exp(),
    "exp_overflow_f64": lambda L: L.tensor([1000.0], dtype=L.float64).exp(),
    "cast_inf_nan_to_int64": lambda L: L.tensor([INF, NAN, 1.5]).to(L.int64)[2:],
    "cast_inf_nan_to_int32": lambda L: L.tensor([INF, NAN, 2.5]).int()[2:],
    "cast_big_to_float16": lambda L: L.tensor([1e10, -1e10, 1.0]).half(),
    "cast_big_f64_to_f32": lambda L: L.tensor([1e39, 1.0], dtype=L.float64).float(),
    "log_0": lambda L: L.tensor([0.0, -1.0]).log(),
    "div_by_zero": lambda L: L.tensor([1.0, 0.0, -1.0]) / L.tensor([0.0, 0.0, 0.0]),
    "div_by_zero_number": lambda L: L.tensor([1.0, 0.0]) / 0.0,
    "number_div_by_zero": lambda L: 1.0 / L.tensor([0.0]),
    "div_inf_by_inf": lambda L: L.tensor([INF]) / INF,
    "div_overflow_small_number": lambda L: L.tensor([3e38]) / 0.01,
    "int_div_by_zero": lambda L: L.tensor([1, 0]) / L.tensor([0, 0]),
    "pow_overflow": lambda L: L.tensor([1e30]) ** 2,
    "prod_overflow": lambda L: L.tensor([1e30, 1e30]).prod(),
    "cumsum_overflow": lambda L: L.tensor([3e38, 3e38]).cumsum(0),
    "sin_inf": lambda L: L.tensor([INF]).sin(),
    "cos_inf": lambda L: L.tensor([INF]).cos(),
    "tan_inf": lambda L: L.tensor([INF]).tan(),
    "norm_inf": lambda L: L.tensor([INF, 1.0]).norm(),
    "sqrt_negative": lambda L: L.tensor([-1.0]).sqrt(),
}


def _values(L, name):
    out = CASES[name](L)
    return out.detach().numpy() if L is torch else out.numpy()


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_is_quiet_and_as_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = _values(stirpile, name)
    theirs = _values(torch, name)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, equal_nan=True)


# name -> fn(L, x): differentiated at x (float64), gradients compared with torch
BACKWARD = {
    "sqrt_at_0": (lambda L, x: x.sqrt(), [0.0, 1.0]),
    "log_at_0": (lambda L, x: x.log(), [0.0, 1.0]),
    "div_by_0": (lambda L, x: L.ones(2, dtype=L.float64) / x, [0.0, 2.0]),
    "zero_div_by_0": (lambda L, x: x / x, [0.0, 2.0]),
    "exp_overflow": (lambda L, x: x.exp(), [1000.0, 0.0]),
    "softmax_inf": (lambda L, x: x.softmax(0), [INF, 1.0]),
    "log_softmax_inf": (lambda L, x: x.log_softmax(0), [INF, 1.0]),
    "max_nan": (lambda L, x: x.max(), [NAN, 1.0, NAN]),
    "amax_nan": (lambda L, x: x.reshape(1, 3).amax(1), [NAN, 1.0, 2.0]),
    "mean_empty": (lambda L, x: x[:0].mean(), [1.0, 2.0]),
    "rsqrt_at_0": (lambda L, x: x.rsqrt(), [0.0, 1.0]),
    "pow_neg_at_0": (lambda L, x: x**-0.5, [0.0, 1.0]),
}


def _gradient(L, name):
    fn, values = BACKWARD[name]
    x = L.tensor(values, dtype=L.float64, requires_grad=True)
    fn(L, x).sum().backward()
    return x.grad.numpy()


@pytest.mark.parametrize("name", sorted(BACKWARD))
def test_backward_is_quiet_and_as_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = _gradient(stirpile, name)
    np.testing.assert_allclose(ours, _gradient(torch, name), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", ["sqrt_at_0", "div_by_0", "log_at_0", "exp_overflow"])
def test_double_backward_is_quiet(name):
    fn, values = BACKWARD[name]

    def grad(L):  # the first and second derivatives
        x = L.tensor(values, dtype=L.float64, requires_grad=True)
        (g,) = L.autograd.grad(fn(L, x).sum(), x, create_graph=True)
        (gg,) = L.autograd.grad(g.sum(), x)
        return np.stack([g.detach().numpy(), gg.numpy()])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = grad(stirpile)
    np.testing.assert_allclose(ours, grad(torch), rtol=1e-12, equal_nan=True)


def test_the_users_numpy_error_state_is_left_alone():
    before = np.geterr()
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        x = stirpile.tensor([0.0, 1000.0], requires_grad=True)
        (x.exp().sum() + (1 / x).sum()).backward()
        assert np.geterr()["divide"] == "raise"
        with pytest.raises(FloatingPointError):
            np.float64(1.0) / np.float64(0.0)
    assert np.geterr() == before


def test_an_op_that_fails_restores_the_error_state():
    before = np.geterr()
    with pytest.raises(TypeError):
        stirpile.ops.elementwise.Exp.apply(np.array(["a"], dtype=object))  # no exp for str
    assert np.geterr() == before


# -- gather and binary_cross_entropy check their inputs as PyTorch does -------------------------


@pytest.mark.parametrize("index, dim", [([[-1], [0]], 1), ([[-3, 0, 0]], 0), ([[3], [0]], 1)])
def test_gather_out_of_bounds_index_raises(same_error, index, dim):
    same_error(
        lambda L: L.arange(6.0).reshape(2, 3).gather(dim, L.tensor(index)),
        RuntimeError,
        rf"index {index[0][0]} is out of bounds for dimension {dim} with size",
    )


@pytest.mark.parametrize(
    "x, y, which",
    [
        ([0.5], [1.5], "target"),
        ([0.5], [-0.5], "target"),
        ([0.5], [NAN], "target"),
        ([1.5], [1.0], "input"),
        ([-0.1], [1.0], "input"),
        ([NAN], [1.0], "input"),
    ],
)
def test_binary_cross_entropy_outside_0_1_raises(same_error, x, y, which):
    same_error(
        lambda L: L.nn.functional.binary_cross_entropy(L.tensor(x), L.tensor(y)),
        RuntimeError,
        f"all elements of {which} should be between 0 and 1",
    )


def test_binary_cross_entropy_at_the_bounds_is_as_torch():
    def run(L):
        x = L.tensor([0.0, 1.0, 0.3], dtype=L.float64, requires_grad=True)
        loss = L.nn.functional.binary_cross_entropy(x, L.tensor([1.0, 0.0, 1.0], dtype=L.float64))
        loss.backward()
        return loss.item(), x.grad.tolist()

    ours, theirs = run(stirpile), run(torch)
    assert ours[0] == pytest.approx(theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10)
