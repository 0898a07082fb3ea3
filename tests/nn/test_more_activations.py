"""The rest of PyTorch's activations (SELU, CELU, Mish, Hardtanh, ReLU6, Hardsigmoid,
Hardswish, Softsign, Tanhshrink, LogSigmoid, Softshrink, Hardshrink, Threshold, GLU)
and alpha dropout: values and gradients against PyTorch in float32 and float64 (at
the kinks too, where PyTorch's one-sided rules decide), float64 gradchecks, second
derivatives for the smooth ones, huge inputs, ``inplace=``, module reprs and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

DTYPES = ["float64", "float32"]
TOL = {"float64": {"rtol": 1e-10, "atol": 1e-10}, "float32": {"rtol": 1e-5, "atol": 1e-5}}

# name, keyword arguments, kinks (where the function is not differentiable), curved
# (a nonzero second derivative away from the kinks, and PyTorch has a double backward;
# the piecewise-linear ones get a gradgradcheck only: their gradient does not depend
# on the input, so stirpile records no graph for a second backward)
FUNCTIONS = [
    ("selu", {}, [0.0], True),
    ("celu", {}, [0.0], True),
    ("celu", {"alpha": 2.0}, [0.0], True),
    ("celu", {"alpha": 0.5}, [0.0], True),
    ("mish", {}, [], True),
    ("hardtanh", {}, [-1.0, 1.0], False),
    ("hardtanh", {"min_val": -2.0, "max_val": 3.0}, [-2.0, 3.0], False),
    ("relu6", {}, [0.0, 6.0], False),
    ("hardsigmoid", {}, [-3.0, 3.0], False),
    ("hardswish", {}, [-3.0, 3.0], True),
    ("softsign", {}, [0.0], True),
    ("tanhshrink", {}, [], True),
    ("logsigmoid", {}, [], True),
    ("softshrink", {}, [-0.5, 0.5], False),
    ("softshrink", {"lambd": 1.5}, [-1.5, 1.5], False),
    ("hardshrink", {}, [-0.5, 0.5], False),
    ("hardshrink", {"lambd": 2.0}, [-2.0, 2.0], False),
    ("threshold", {"threshold": 0.5, "value": -3.0}, [0.5], False),
    ("threshold", {"threshold": -1.0, "value": 0.0}, [-1.0], False),
    ("glu", {}, [], True),
    ("glu", {"dim": 0}, [], True),
    ("glu", {"dim": 1}, [], True),
]
IDS = [f"{n}{k}" for n, k, _, _ in FUNCTIONS]
_ARGS = "name,kwargs,kinks,curved"


def _input(kinks, seed=0):
    """A (4, 6, 2) batch over [−7, 9] with every kink, ±0.0 and ±3, ±6 in it."""
    x = np.random.default_rng(seed).uniform(-7.0, 9.0, (4, 6, 2))
    special = [*kinks, 0.0, -0.0, 3.0, -3.0, 6.0, 1.0, -1.0]
    x.flat[: len(special)] = special
    return x


def _smooth_input(kinks, seed=0):
    """Like :func:`_input` but at least 0.05 away from every kink (finite differences)."""
    x = np.random.default_rng(seed).uniform(-7.0, 9.0, (4, 6, 2))
    for k in kinks:
        near = np.abs(x - k) < 0.05
        x[near] = k + 0.1
    return x


def _call(L, name, kwargs):
    return lambda x: getattr(L.nn.functional, name)(x, **kwargs)


def _vs_torch(torch, close, fn, tfn, x, dtype, tol=None, grad_tol=None):
    tol = tol or TOL[dtype]
    a = stirpile.tensor(x, dtype=getattr(stirpile, dtype), requires_grad=True)
    t = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    out, tout = fn(a), tfn(t)
    close(out, tout, **tol)
    g = np.random.default_rng(1).standard_normal(tout.shape)
    out.backward(stirpile.tensor(g, dtype=out.dtype))
    tout.backward(torch.tensor(g, dtype=tout.dtype))
    close(a.grad, t.grad, **(grad_tol or tol))
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(_ARGS, FUNCTIONS, ids=IDS)
def test_functional_matches_torch(torch, close, name, kwargs, kinks, curved, dtype):
    """Values and gradients, including exactly at the kinks (one-sided rules as PyTorch)."""
    grad_tol = None
    if name == "hardsigmoid" and dtype == "float64":
        grad_tol = {"rtol": 1e-7, "atol": 1e-10}  # PyTorch's backward uses float32(1/6)
    fn, tfn = _call(stirpile, name, kwargs), _call(torch, name, kwargs)
    _vs_torch(torch, close, fn, tfn, _input(kinks), dtype, grad_tol=grad_tol)


@pytest.mark.parametrize(_ARGS, FUNCTIONS, ids=IDS)
def test_gradcheck_and_second_order(opcheck, torch, name, kwargs, kinks, curved):
    x = _smooth_input(kinks)

    def fn(L, t):
        return getattr(L.nn.functional, name)(t, **kwargs)

    opcheck.gradcheck(fn, [x], gradgrad=True)
    if curved:
        opcheck.vs_torch(torch, fn, [x], "float64", second_order=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(_ARGS, FUNCTIONS, ids=IDS)
def test_huge_inputs_are_finite_and_match_torch(torch, close, name, kwargs, kinks, curved, dtype):
    """±1e4 and ±1e30: no overflow warnings (errors under pytest), PyTorch's values."""
    x = np.array([[-1e4, 1e4, -1e30, 1e30], [-50.0, 50.0, -100.0, 100.0]])
    hard = name == "hardsigmoid" and dtype == "float64"
    grad_tol = {"rtol": 1e-7, "atol": 1e-10} if hard else None
    fn, tfn = _call(stirpile, name, kwargs), _call(torch, name, kwargs)
    out = _vs_torch(torch, close, fn, tfn, x, dtype, grad_tol=grad_tol)
    assert np.isfinite(out.detach().numpy()).all()


def test_logsigmoid_extremes(torch, close):
    """The existing ``logsigmoid``: −x for very negative x, −e^(−x) for large x."""
    x = np.array([-1e30, -800.0, -40.0, -1e-8, 0.0, 1e-8, 40.0, 800.0, 1e30])
    for dtype in DTYPES:
        _vs_torch(torch, close, F.logsigmoid, torch.nn.functional.logsigmoid, x, dtype)


def test_selu_constants_and_self_normalization():
    x = stirpile.tensor([-1e3, 0.0, 1.0], dtype=stirpile.float64)
    y = F.selu(x).tolist()
    assert y[0] == pytest.approx(-1.6732632423543772 * 1.0507009873554805)
    assert y[1] == 0.0 and y[2] == pytest.approx(1.0507009873554805)
    stirpile.manual_seed(0)
    z = F.selu(stirpile.randn(200_000, dtype=stirpile.float64))
    assert abs(z.mean().item()) < 0.01 and abs(z.std().item() - 1) < 0.01


# -- modules ----------------------------------------------------------------------------

MODULES = [
    ("SELU", (), {}),
    ("SELU", (), {"inplace": True}),
    ("CELU", (), {}),
    ("CELU", (0.5,), {"inplace": True}),
    ("Mish", (), {}),
    ("Mish", (True,), {}),
    ("Hardtanh", (), {}),
    ("Hardtanh", (-2, 3, True), {}),
    ("Hardtanh", (), {"min_val": -0.5, "max_val": 2.5}),
    ("ReLU6", (), {}),
    ("ReLU6", (True,), {}),
    ("Hardsigmoid", (), {}),
    ("Hardswish", (), {"inplace": True}),
    ("Softsign", (), {}),
    ("Tanhshrink", (), {}),
    ("LogSigmoid", (), {}),
    ("Softshrink", (), {}),
    ("Softshrink", (1.0,), {}),
    ("Hardshrink", (), {}),
    ("Hardshrink", (0.3,), {}),
    ("Threshold", (0.1, 20), {}),
    ("Threshold", (-1.0, 0.0, True), {}),
    ("GLU", (), {}),
    ("GLU", (1,), {}),
    ("AlphaDropout", (), {}),
    ("AlphaDropout", (0.2, True), {}),
]
MODULE_IDS = [f"{n}{a}{k}" for n, a, k in MODULES]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args,kwargs", MODULES, ids=MODULE_IDS)
def test_module_matches_torch(check_module, torch, name, args, kwargs, dtype):
    """Same repr, same values and input gradients (AlphaDropout in eval: the identity)."""
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    # in-place on a leaf that requires grad raises (see tests/nn/test_inplace_activations.py)
    ours.inplace = theirs.inplace = False
    x = _input([0.5, -1.0, 3.0])
    hard = name == "Hardsigmoid" and dtype == "float64"
    grad_tol = {"rtol": 1e-7, "atol": 1e-10} if hard else None
    if grad_tol:  # the check_module fixture's tolerance is fixed: compare by hand
        ours.train(False)
        _vs_torch(torch, check_module.close, ours, theirs, x, dtype, grad_tol=grad_tol)
        return
    check_module(ours, theirs, x, dtype=dtype, train=name != "AlphaDropout")


@pytest.mark.parametrize(
    "name,args",
    [
        ("SELU", ()),
        ("CELU", (2.0,)),
        ("Mish", ()),
        ("Hardtanh", (-1.0, 1.0)),
        ("ReLU6", ()),
        ("Hardsigmoid", ()),
        ("Hardswish", ()),
        ("Threshold", (0.1, 2.0)),
    ],
)
def test_inplace(torch, name, args):
    """``inplace=True`` writes into the input and returns it, whether it requires grad (a
    non-leaf: the write is recorded, as in PyTorch) or not; a leaf that requires grad
    raises PyTorch's error."""
    module = getattr(nn, name)(*args, inplace=True)
    plain = stirpile.tensor([-4.0, -0.5, 0.5, 4.0, 7.0])
    expected = getattr(nn, name)(*args)(plain).tolist()
    out = module(plain)
    assert out is plain and plain.tolist() == expected
    leaf = stirpile.tensor([-4.0, -0.5, 0.5, 4.0, 7.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        module(leaf)
    assert leaf.tolist() == [-4.0, -0.5, 0.5, 4.0, 7.0]
    h = leaf * 1
    out = module(h)
    assert out is h and out.tolist() == expected
    out.sum().backward()
    t = torch.tensor([-4.0, -0.5, 0.5, 4.0, 7.0], requires_grad=True)
    getattr(torch.nn, name)(*args, inplace=True)(t * 1).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), t.grad.numpy(), rtol=1e-5)


def test_functional_inplace_flags():
    x = stirpile.tensor([-1.0, 2.0])
    assert F.relu6(x, inplace=True) is x and x.tolist() == [0.0, 2.0]
    assert F.hardtanh(x, 0.5, 1.0, inplace=True) is x and x.tolist() == [0.5, 1.0]
    assert F.threshold(x, 0.7, -1.0, inplace=True) is x and x.tolist() == [-1.0, 1.0]


def test_hardtanh_deprecated_keywords():
    with pytest.warns(FutureWarning, match="min_value"):
        m = nn.Hardtanh(min_value=-2.0)
    with pytest.warns(FutureWarning, match="max_value"):
        m = nn.Hardtanh(max_value=2.0)
    assert (m.min_val, m.max_val) == (-1.0, 2.0)


def test_errors():
    x = stirpile.ones(2, 3)
    with pytest.raises(RuntimeError, match="alpha cannot be 0 for CELU"):
        F.celu(x, 0.0)
    with pytest.raises(RuntimeError, match=r"lambda must be in range \[0, 3.40282e\+38\]"):
        F.softshrink(x, -1.0)
    with pytest.raises(RuntimeError, match=r"Double, but found -0\.5"):
        F.softshrink(x.double(), -0.5)
    assert F.hardshrink(x, -1.0).tolist() == x.tolist()  # PyTorch allows it: |x| > λ
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(AssertionError, match=r"max_val \(1\) must be greater than min_val \(1\)"):
        nn.Hardtanh(1, 1)
    with pytest.raises(RuntimeError, match="dimension 1 is size 3"):
        F.glu(x)
    with pytest.raises(RuntimeError, match="does not support scalars"):
        F.glu(stirpile.tensor(1.0))
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.glu(x, 2)
    with pytest.raises(ValueError, match=r"between 0 and 1, but got 1\.5"):
        F.alpha_dropout(x, 1.5, training=True)
    with pytest.raises(ValueError, match=r"between 0 and 1, but got -0\.1"):
        nn.AlphaDropout(-0.1)


def test_glu_halves():
    x = stirpile.tensor([[1.0, 2.0, 0.0, 100.0]])
    np.testing.assert_allclose(F.glu(x).numpy(), [[0.5, 2.0]])
    assert F.glu(stirpile.zeros(3, 0)).shape == (3, 0)


# -- alpha dropout ----------------------------------------------------------------------

_SAT = 1.6732632423543772 * 1.0507009873554805


def _alpha_affine(p):
    a = 1 / math.sqrt((_SAT**2 * p + 1) * (1 - p))
    return a, a * _SAT * p  # kept: a x + b; dropped: −a λα (1 − p)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_alpha_dropout_statistics_and_values(torch, p):
    """Zero mean and unit variance kept; dropped elements take one value, as PyTorch's."""
    stirpile.manual_seed(0)
    x = stirpile.randn(400_000, dtype=stirpile.float64)
    y = F.alpha_dropout(x, p, training=True)
    assert abs(y.mean().item()) < 0.01 and abs(y.std().item() - 1) < 0.01
    a, b = _alpha_affine(p)
    dropped = np.isclose(y.numpy(), -a * _SAT * (1 - p), rtol=0, atol=1e-12)
    assert abs(dropped.mean() - p) < 0.005
    np.testing.assert_allclose(y.numpy()[~dropped], a * x.numpy()[~dropped] + b, rtol=1e-12)
    theirs = torch.nn.functional.alpha_dropout(torch.ones(20_000, dtype=torch.float64), p, True)
    ours = F.alpha_dropout(stirpile.ones(20_000, dtype=stirpile.float64), p, training=True)
    np.testing.assert_allclose(np.unique(ours.numpy()), np.unique(theirs.numpy()), rtol=1e-12)


def test_alpha_dropout_gradient_and_generator():
    x = stirpile.randn(1000, requires_grad=True)
    stirpile.manual_seed(3)
    y = F.alpha_dropout(x, 0.3, training=True)
    y.sum().backward()
    a, _ = _alpha_affine(0.3)
    kept = x.grad.numpy() != 0
    np.testing.assert_allclose(x.grad.numpy()[kept], a, rtol=1e-6)
    stirpile.manual_seed(3)  # the masks come from the global generator
    np.testing.assert_array_equal(
        F.alpha_dropout(x, 0.3, training=True).detach().numpy(), y.detach().numpy()
    )

    def fn(t):
        stirpile.manual_seed(7)
        return F.alpha_dropout(t, 0.4, training=True)

    xs = stirpile.randn(3, 4, dtype=stirpile.float64, requires_grad=True)
    assert stirpile.autograd.gradcheck(fn, [xs])


def test_alpha_dropout_identity_cases():
    x = stirpile.randn(5)
    assert F.alpha_dropout(x) is x  # training=False by default in the functional form
    assert F.alpha_dropout(x, 0.0, training=True) is x
    assert F.alpha_dropout(x, 1.0, training=True).tolist() == [0.0] * 5
    m = nn.AlphaDropout(0.5).eval()
    assert m(x) is x
    empty = stirpile.zeros(0)
    assert F.alpha_dropout(empty, 0.5, training=True) is empty
