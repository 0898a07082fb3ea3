"""Activations: PyTorch's values and gradients (including at 0 and for huge inputs),
gradcheck for every functional, second derivatives for the smooth ones, and the
behaviours PyTorch does not have (centered softplus, RReLU's random slopes)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

DTYPES = ["float64", "float32"]

# (name, stirpile module, torch module factory by name and arguments)
MODULES = [
    ("ReLU", (), {}),
    ("LeakyReLU", (), {}),
    ("LeakyReLU", (0.1,), {}),
    ("LeakyReLU", (0.5,), {}),
    ("PReLU", (), {}),
    ("PReLU", (3,), {"init": 0.1}),
    ("ELU", (), {}),
    ("ELU", (0.5,), {}),
    ("Softplus", (), {}),
    ("Softplus", (2.0, 5.0), {}),
    ("Softplus", (), {"beta": 0.5}),
    ("Sigmoid", (), {}),
    ("Tanh", (), {}),
    ("Softmax", (1,), {}),
    ("Softmax", (0,), {}),
    ("LogSoftmax", (1,), {}),
    ("LogSoftmax", (-1,), {}),
    ("Softmin", (1,), {}),
    ("GELU", (), {}),
    ("GELU", (), {"approximate": "tanh"}),
    ("SiLU", (), {}),
]
IDS = [f"{n}{a}{k}" for n, a, k in MODULES]


def _input():
    """A (4, 3, 2) batch including zeros, the softplus threshold region and large values."""
    x = np.random.default_rng(0).standard_normal((4, 3, 2)) * 3
    x[0, 0] = [0.0, -0.0]
    x[1, 1] = [25.0, -25.0]
    x[2, 2] = [9.5, 10.5]  # βx on both sides of threshold 20 for β = 2
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args,kwargs", MODULES, ids=IDS)
def test_module_matches_torch(check_module, torch, name, args, kwargs, dtype):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    check_module(ours, theirs, _input(), dtype=dtype)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args,kwargs", MODULES, ids=IDS)
def test_huge_inputs_are_finite_and_match_torch(check_module, torch, name, args, kwargs, dtype):
    """±1e4 (and ±1e30): no overflow warnings (they are errors under pytest), finite
    values and gradients equal to PyTorch's."""
    big = 1e30
    if kwargs.get("approximate") == "tanh" and dtype == "float32":
        big = 1e5  # torch's own float32 tanh-GELU gradient is nan at 1e30 (x³ overflows); ours is 0
    x = np.array([[-1e4, 1e4, -big], [big, -50.0, 50.0]])[..., None].repeat(3, -1)
    x = x.transpose(0, 2, 1)  # (2, 3, 3): channel axis 1 for PReLU(3)
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    out, _ = check_module(ours, theirs, x, dtype=dtype)
    assert np.isfinite(out.detach().numpy()).all()


def test_rrelu_eval_matches_torch(check_module, torch):
    for lower, upper in [(1 / 8, 1 / 3), (0.1, 0.5)]:
        ours, theirs = nn.RReLU(lower, upper), torch.nn.RReLU(lower, upper)
        check_module(ours, theirs, _input(), train=False)
        assert repr(ours) == repr(theirs)


def test_rrelu_training_draws_slopes_in_range():
    stirpile.manual_seed(0)
    x = stirpile.tensor(np.linspace(-3, 3, 2001), requires_grad=True)
    y = nn.RReLU(0.1, 0.5)(x)
    xv, yv = x.detach().numpy(), y.detach().numpy()
    neg = xv < 0
    slopes = yv[neg] / xv[neg]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.5
    assert slopes.std() > 0.05  # random, not one slope
    assert abs(slopes.mean() - 0.3) < 0.02
    np.testing.assert_array_equal(yv[xv > 0], xv[xv > 0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[neg], slopes)  # gradient = the drawn slope
    stirpile.manual_seed(0)
    again = nn.RReLU(0.1, 0.5)(x).detach().numpy()
    np.testing.assert_array_equal(again, yv)  # reproducible from the global seed
    ev = nn.RReLU(0.1, 0.5).eval()(x).detach().numpy()
    np.testing.assert_allclose(ev[neg], 0.3 * xv[neg])


def test_centered_softplus(torch, close):
    x = _input()
    ours = nn.CenteredSoftplus()(stirpile.tensor(x))
    close(ours, torch.nn.functional.softplus(torch.tensor(x)) - math.log(2))
    assert F.centered_softplus(stirpile.zeros(3)).numpy().tolist() == [0.0, 0.0, 0.0]
    two = F.centered_softplus(stirpile.tensor(x), beta=2.0)
    close(two, torch.nn.functional.softplus(torch.tensor(x), beta=2.0) - math.log(2) / 2)
    assert repr(nn.CenteredSoftplus()) == "CenteredSoftplus(beta=1.0, threshold=20.0)"


def test_very_leaky_relu_is_leaky_relu():
    x = stirpile.tensor([-2.0, 3.0])
    assert nn.LeakyReLU(0.5)(x).tolist() == [-1.0, 3.0]
    assert nn.LeakyReLU(0.1)(x).tolist() == [pytest.approx(-0.2), 3.0]


def test_prelu_per_channel_grad_and_errors(check_module, torch):
    ours, theirs = nn.PReLU(3, init=0.2), torch.nn.PReLU(3, init=0.2)
    check_module(ours, theirs, _input()[:, :, 0])  # (N, C)
    check_module(nn.PReLU(), torch.nn.PReLU(), _input()[0, :, 0])  # (C,), one slope
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        nn.PReLU(4)(stirpile.randn(2, 3))
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        nn.PReLU(3)(stirpile.randn(3))  # a 1-d input has no channel axis (as in torch)


def test_softmax_implicit_dim_warns_like_torch(torch, close):
    x = np.random.default_rng(0).standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        ours = F.softmax(stirpile.tensor(x))
    with pytest.warns(UserWarning):
        theirs = torch.nn.functional.softmax(torch.tensor(x))
    close(ours, theirs)
    close(
        F.log_softmax(stirpile.tensor(x), 1, dtype=stirpile.float32),
        torch.nn.functional.log_softmax(torch.tensor(x), 1, dtype=torch.float32),
        rtol=1e-6,
    )


# -- gradcheck, second derivatives ------------------------------------------------------------

AWAY0 = np.array([[-1.3, 0.4, 2.1], [0.7, -0.2, -2.6]])  # no kinks within finite-difference eps

FUNCTIONALS = {
    "relu": (F.relu, False),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), False),
    "rrelu_eval": (lambda x: F.rrelu(x, 0.1, 0.3), False),
    "elu": (F.elu, True),
    "elu_alpha": (lambda x: F.elu(x, 0.5), True),
    "softplus": (F.softplus, True),
    "softplus_beta": (lambda x: F.softplus(x, beta=3.0, threshold=4.0), True),
    "centered_softplus": (F.centered_softplus, True),
    "sigmoid": (F.sigmoid, True),
    "tanh": (F.tanh, True),
    "logsigmoid": (F.logsigmoid, True),
    "softmax": (lambda x: F.softmax(x, 1), True),
    "softmin": (lambda x: F.softmin(x, 0), True),
    "log_softmax": (lambda x: F.log_softmax(x, -1), True),
    "gelu": (F.gelu, True),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), True),
    "silu": (F.silu, True),
    "normalize": (F.normalize, True),
}


@pytest.mark.parametrize("name", list(FUNCTIONALS))
def test_gradcheck(grad_check, name):
    fn, twice = FUNCTIONALS[name]
    grad_check(fn, AWAY0, gradgrad=twice)


def test_prelu_gradcheck(grad_check):
    grad_check(F.prelu, AWAY0, np.array([0.3]), gradgrad=True)
    grad_check(F.prelu, AWAY0, np.array([0.3, -0.1, 0.5]))


@pytest.mark.parametrize(
    "name", ["elu", "softplus", "sigmoid", "tanh", "gelu", "silu", "logsigmoid"]
)
def test_second_derivative_matches_torch(torch, close, name):
    """d²f/dx² elementwise, against torch's double backward."""
    x = np.array([-30.0, -2.5, -0.3, 0.4, 1.7, 30.0])
    xs = stirpile.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    fs = getattr(F, name)
    ft = getattr(torch.nn.functional, name)
    (gs,) = stirpile.autograd.grad(fs(xs).sum(), xs, create_graph=True)
    (gt,) = torch.autograd.grad(ft(xt).sum(), xt, create_graph=True)
    close(gs, gt)
    (hs,) = stirpile.autograd.grad(gs.sum(), xs)
    (ht,) = torch.autograd.grad(gt.sum(), xt)
    close(hs, ht)


def test_erf_matches_math():
    from stirpile.ops.nn import erf

    x = np.concatenate([np.linspace(-7, 7, 5001), [0.0, 1e-300, 2.5, -2.5000001, 40.0]])
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf(x), ref, rtol=4e-15, atol=4e-16)
    assert erf(x.astype(np.float32)).dtype == np.float32
