"""``inplace=True`` for every activation and dropout that takes it, against PyTorch.

The input object itself is overwritten and returned. On a tensor computed in the
graph (a non-leaf) the write is recorded, so values and gradients (and second
derivatives, for the smooth ones) equal PyTorch's; a leaf that requires grad, or a view
of one, raises PyTorch's error and is left as it was; an input that does not require
grad (or any input under ``no_grad``) is simply overwritten.
"""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

DTYPES = ["float64", "float32"]
TOL = {"float64": {"rtol": 1e-10, "atol": 1e-10}, "float32": {"rtol": 1e-5, "atol": 1e-5}}
LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation"

# name, keyword arguments, smooth (a second derivative to compare)
CASES = [
    ("relu", {}, False),
    ("leaky_relu", {"negative_slope": 0.2}, False),
    ("elu", {}, True),
    ("elu", {"alpha": 0.5}, True),
    ("silu", {}, True),
    ("rrelu", {"lower": 0.1, "upper": 0.3}, False),  # evaluation: the mean slope
    ("hardtanh", {}, False),
    ("hardtanh", {"min_val": -2.0, "max_val": 0.5}, False),
    ("relu6", {}, False),
    ("selu", {}, True),
    ("celu", {"alpha": 2.0}, True),  # (PyTorch rounds 1/α to float32: α = 0.7 is off 1e-8)
    ("threshold", {"threshold": 0.1, "value": 2.0}, False),
    ("hardswish", {}, False),
    ("hardsigmoid", {}, False),
    ("mish", {}, True),
    ("dropout", {"p": 1.0}, False),  # the deterministic training case: all dropped
    ("alpha_dropout", {"p": 1.0, "training": True}, False),
]
IDS = [n + "".join(f"-{k}={v}" for k, v in kw.items()) for n, kw, _ in CASES]
# (random ones, training: checked against stirpile's own out-of-place form below)
RANDOM = [
    ("dropout", {"p": 0.4}),
    ("alpha_dropout", {"p": 0.3, "training": True}),
    ("rrelu", {"lower": 0.1, "upper": 0.3, "training": True}),
]


def inplace_fn(name, kw):
    """``fn(L, x)``: the activation applied in place to ``1.5 x``, a tensor computed in the
    graph when ``x`` requires grad; it checks that the result is that very tensor."""

    def fn(L, x):
        h = x * 1.5
        out = getattr(L.nn.functional, name)(h, inplace=True, **kw)
        assert out is h
        return out

    return fn


def exact_hardsigmoid(L, x):
    """PyTorch's ``hardsigmoid_`` in float64 multiplies its gradient by 1/6 rounded to
    float32 (off by 3e-8); this is the same in place, with an exact gradient."""
    h = x * 1.5
    return L.nn.functional.hardtanh(h.add_(3), 0.0, 6.0, inplace=True).div_(6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw,smooth", CASES, ids=IDS)
def test_non_leaf_values_and_gradients_match_torch(opcheck, torch, name, kw, smooth, dtype):
    (x,) = opcheck.arrays([(3, 4)], "away0")
    theirs = exact_hardsigmoid if name == "hardsigmoid" and dtype == "float64" else None
    opcheck.vs_torch(torch, inplace_fn(name, kw), [x], dtype, theirs, second_order=smooth)


@pytest.mark.parametrize("name,kw,smooth", CASES, ids=IDS)
def test_gradcheck(opcheck, name, kw, smooth):
    (x,) = opcheck.arrays([(3, 4)], "away0")
    opcheck.gradcheck(inplace_fn(name, kw), [x], gradgrad=smooth)


@pytest.mark.parametrize("name,kw,smooth", CASES, ids=IDS)
def test_the_input_object_is_overwritten(name, kw, smooth):
    x = stirpile.tensor([[-4.0, -0.5, 0.05, 0.5, 4.0, 7.0]], requires_grad=True)
    h = x * 1
    expected = getattr(F, name)(h, **kw).detach().numpy().copy()  # out of place
    assert h.tolist() == x.tolist()  # (the out-of-place form left it alone)
    fn = getattr(F, name)
    out = fn(h, inplace=True, **kw)
    assert out is h and h.requires_grad and h.grad_fn is not None
    np.testing.assert_array_equal(h.detach().numpy(), expected)
    assert h._version >= 1


@pytest.mark.parametrize("name,kw,smooth", CASES, ids=IDS)
def test_leaf_that_requires_grad_raises_torchs_error(torch, name, kw, smooth):
    values = [[-1.0, 0.5, 2.0]]
    t = torch.tensor(values, requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF_ERROR):
        getattr(torch.nn.functional, name)(t, inplace=True, **kw)
    x = stirpile.tensor(values, requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF_ERROR):
        getattr(F, name)(x, inplace=True, **kw)
    assert x.tolist() == values and x.grad_fn is None and x._version == 0
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        getattr(F, name)(x[:, 1:], inplace=True, **kw)
    assert x.tolist() == values


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw,smooth", CASES, ids=IDS)
def test_inputs_without_grad_are_overwritten(close, torch, name, kw, smooth, dtype):
    values = np.array([[-4.0, -0.5, 0.05, 0.5, 4.0, 7.0]])
    theirs = torch.tensor(values, dtype=getattr(torch, dtype))
    getattr(torch.nn.functional, name)(theirs, inplace=True, **kw)
    plain = stirpile.tensor(values, dtype=getattr(stirpile, dtype))
    assert getattr(F, name)(plain, inplace=True, **kw) is plain
    close(plain, theirs, **TOL[dtype])
    assert not plain.requires_grad

    # under no_grad even a leaf that requires grad may be overwritten (PyTorch's rule)
    leaf = stirpile.tensor(values, dtype=getattr(stirpile, dtype), requires_grad=True)
    with stirpile.no_grad():
        assert getattr(F, name)(leaf, inplace=True, **kw) is leaf
    close(leaf, theirs, **TOL[dtype])
    assert leaf.requires_grad and leaf.grad_fn is None


@pytest.mark.parametrize("name,kw", RANDOM, ids=[n for n, _ in RANDOM])
def test_random_ones_equal_their_out_of_place_form(name, kw):
    x = stirpile.randn(4, 5, dtype=stirpile.float64, requires_grad=True)
    g = stirpile.randn(4, 5, dtype=stirpile.float64)
    stirpile.manual_seed(3)
    expected = getattr(F, name)(x * 1, **kw)
    expected.backward(g)
    expected_grad, x.grad = x.grad, None
    stirpile.manual_seed(3)
    h = x * 1
    assert getattr(F, name)(h, inplace=True, **kw) is h
    np.testing.assert_array_equal(h.detach().numpy(), expected.detach().numpy())
    h.backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), expected_grad.numpy())
    assert (h != x).any()  # something was dropped or scaled


@pytest.mark.parametrize("name,kw", RANDOM, ids=[n for n, _ in RANDOM])
def test_random_ones_gradcheck(opcheck, name, kw):
    fn = inplace_fn(name, kw)

    def seeded(L, x):  # the same mask for every evaluation of the finite differences
        stirpile.manual_seed(5)
        return fn(L, x)

    (x,) = opcheck.arrays([(3, 4)], "away0")
    opcheck.gradcheck(seeded, [x])


@pytest.mark.parametrize(
    "name,kw",
    [("dropout", {"p": 0.5, "training": False}), ("dropout", {"p": 0.0}),
     ("alpha_dropout", {"p": 0.5}), ("alpha_dropout", {"p": 0.0, "training": True})],
)  # fmt: skip
def test_dropout_that_changes_nothing_returns_the_input(torch, name, kw):
    """In evaluation, or with p = 0, dropout is the identity: the input is returned even
    when it is a leaf that requires grad (PyTorch writes nothing, so does not raise)."""
    x = stirpile.tensor([1.0, -2.0], requires_grad=True)
    assert getattr(F, name)(x, inplace=True, **kw) is x and x._version == 0
    t = torch.tensor([1.0, -2.0], requires_grad=True)
    assert getattr(torch.nn.functional, name)(t, inplace=True, **kw) is t


@pytest.mark.parametrize(
    "name,kw,view",
    [("elu", {"alpha": 0.5}, (slice(None), slice(1, None))), ("hardtanh", {}, 0),
     ("silu", {}, (slice(None), 2))],
)  # fmt: skip
def test_inplace_on_a_view_of_a_non_leaf(close, torch, name, kw, view):
    """The base sees the write, and the gradient flows through both parts."""

    def run(L, x):
        h = x * 2
        out = getattr(L.nn.functional, name)(h[view], inplace=True, **kw)
        (h * h).sum().backward()
        return h, out

    values = np.random.default_rng(0).standard_normal((3, 4))
    x, t = stirpile.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    (h, out), (th, tout) = run(stirpile, x), run(torch, t)
    close(h, th)
    close(out, tout)
    close(x.grad, t.grad)


def test_overwriting_a_value_that_backward_needs_raises(torch):
    """exp and sigmoid save their output; overwriting it in place makes the backward
    raise, in both frameworks."""
    for name in ["relu", "silu", "hardtanh"]:
        for lib, functional in [(torch, torch.nn.functional), (stirpile, F)]:
            x = lib.tensor([0.5, -1.0], requires_grad=True)
            h = x.exp()
            getattr(functional, name)(h, inplace=True)
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                h.sum().backward()


# -- modules -----------------------------------------------------------------------------

MODULES = [
    ("ReLU", (True,), {}),
    ("LeakyReLU", (0.1, True), {}),
    ("RReLU", (), {"inplace": True}),  # evaluation: the mean slope
    ("ELU", (), {"alpha": 0.5, "inplace": True}),
    ("SiLU", (True,), {}),
    ("SELU", (True,), {}),
    ("CELU", (), {"alpha": 2.0, "inplace": True}),
    ("Mish", (True,), {}),
    ("Hardtanh", (-0.5, 0.5, True), {}),
    ("ReLU6", (True,), {}),
    ("Hardsigmoid", (True,), {}),
    ("Hardswish", (True,), {}),
    ("Threshold", (0.1, -1.0, True), {}),
    ("Dropout", (1.0, True), {}),  # training, all dropped
    ("AlphaDropout", (0.5, True), {}),  # evaluation: the identity
]
MODULE_IDS = [n for n, _, _ in MODULES]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args,kwargs", MODULES, ids=MODULE_IDS)
def test_module_inside_sequential_matches_torch(check_module, torch, name, args, kwargs, dtype):
    """``Linear → activation(inplace=True) → Linear``: the same outputs and gradients
    (inputs, weights) as PyTorch."""
    if name == "Hardsigmoid" and dtype == "float64":
        pytest.skip("PyTorch's float64 hardsigmoid gradient uses 1/6 rounded to float32")
    train = name == "Dropout"
    stirpile.manual_seed(0)
    ours = nn.Sequential(nn.Linear(4, 6), getattr(nn, name)(*args, **kwargs), nn.Linear(6, 3))
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 6), getattr(torch.nn, name)(*args, **kwargs), torch.nn.Linear(6, 3)
    )
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(1).standard_normal((5, 4))
    check_module(ours, theirs, x, dtype=dtype, train=train)


def test_relu_inplace_in_a_training_step_matches_torch(torch):
    """A few SGD steps of ``Linear → ReLU(inplace=True) → Linear``: the same weights."""
    stirpile.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 8), nn.ReLU(inplace=True), nn.Linear(8, 1)).double()
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(inplace=True), torch.nn.Linear(8, 1)
    ).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    opt = stirpile.optim.SGD(ours.parameters(), lr=0.1)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(5):
        for lib, model, o in [(stirpile, ours, opt), (torch, theirs, topt)]:
            o.zero_grad()
            ((model(lib.tensor(x)) - lib.tensor(y)) ** 2).mean().backward()
            o.step()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("name,args,kwargs", MODULES, ids=MODULE_IDS)
def test_module_on_a_leaf_that_requires_grad_raises(name, args, kwargs):
    module = getattr(nn, name)(*args, **kwargs)
    if name == "AlphaDropout":
        module.train()  # in evaluation it writes nothing
    x = stirpile.tensor([[-1.0, 0.5, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF_ERROR):
        module(x)
    assert x.tolist() == [[-1.0, 0.5, 2.0]]
