"""Layers against PyTorch (same weights through the state dict; values and gradients),
gradchecks, and hand-computed cases for the layers PyTorch lacks (Maxout, APL)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

DTYPES = ["float64", "float32"]


def _x(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


# -- Linear -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(check_module, torch, dtype, shape, bias):
    ours, theirs = nn.Linear(4, 3, bias=bias), torch.nn.Linear(4, 3, bias=bias)
    check_module(ours, theirs, _x(*shape), dtype=dtype)


def test_linear_gradcheck_and_second_order(grad_check):
    grad_check(F.linear, _x(3, 4), _x(2, 4, seed=1), _x(2, seed=2), gradgrad=True)
    grad_check(F.linear, _x(2, 3, 4), _x(2, 4, seed=1), gradgrad=True)
    grad_check(F.linear, _x(4), _x(2, 4, seed=1), _x(2, seed=2))


def test_linear_default_init_bounds():
    stirpile.manual_seed(0)
    fc = nn.Linear(50, 200)
    bound = 1 / math.sqrt(50)
    w, b = fc.weight.detach().numpy(), fc.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound  # U(-a, a) has std a/√3
    assert fc.weight.dtype == stirpile.float32 and fc.weight.requires_grad


def test_linear_dtype_and_shape_errors():
    fc = nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        fc(stirpile.randn(2, 5))
    with pytest.raises(RuntimeError, match="same dtype"):
        fc(stirpile.randn(2, 4, dtype=stirpile.float64))
    assert nn.Linear(4, 3, dtype=stirpile.float64).weight.dtype == stirpile.float64


def test_linear_repr_matches_torch(torch):
    assert repr(nn.Linear(4, 3, bias=False)) == repr(torch.nn.Linear(4, 3, bias=False))


# -- shape helpers --------------------------------------------------------------------------


def test_identity_flatten_unflatten(check_module, torch):
    check_module(nn.Flatten(), torch.nn.Flatten(), _x(2, 3, 4))
    check_module(nn.Flatten(0, 1), torch.nn.Flatten(0, 1), _x(2, 3, 4))
    check_module(nn.Unflatten(1, (3, 4)), torch.nn.Unflatten(1, (3, 4)), _x(2, 12))
    check_module(nn.Identity(7, k=1), torch.nn.Identity(7, k=1), _x(2, 3))
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())


# -- Dropout --------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_statistics(p):
    stirpile.manual_seed(0)
    x = stirpile.ones(200_000, requires_grad=True)
    y = nn.Dropout(p)(x)
    values = y.detach().numpy()
    dropped = values == 0
    assert abs(dropped.mean() - p) < 0.005
    np.testing.assert_allclose(values[~dropped], 1 / (1 - p), rtol=1e-6)
    assert abs(values.mean() - 1) < 0.02  # inverted dropout keeps the expectation
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), values, rtol=1e-6)  # gradient = mask / (1-p)


def test_dropout_eval_is_identity_and_edge_cases():
    x = stirpile.randn(4, 5)
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert not nn.Dropout(1.0)(x).numpy().any()
    assert F.dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)
    assert repr(nn.Dropout(0.3)) == "Dropout(p=0.3, inplace=False)"


def test_dropout_draws_from_global_generator():
    x = stirpile.ones(100)
    stirpile.manual_seed(3)
    a = F.dropout(x, 0.5).numpy()
    stirpile.manual_seed(3)
    b = F.dropout(x, 0.5).numpy()
    c = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


# -- BatchNorm1d ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"momentum": None},
        {"affine": False},
        {"momentum": 0.3, "eps": 1e-3},
        {"track_running_stats": False},
    ],
)
def test_batchnorm_train_then_eval_matches_torch(check_module, torch, dtype, shape, kwargs):
    ours, theirs = nn.BatchNorm1d(3, **kwargs), torch.nn.BatchNorm1d(3, **kwargs)
    if ours.affine:  # non-trivial affine parameters
        with stirpile.no_grad():
            ours.weight.copy_(_x(3, seed=7) + 1)
            ours.bias.copy_(_x(3, seed=8))
    for step in range(3):  # several training steps: running stats evolve
        ours.zero_grad()
        theirs.zero_grad()
        check_module(ours, theirs, _x(*shape, seed=step, scale=2.0) + step, dtype=dtype)
        for name, b in theirs.named_buffers():
            assert dict(ours.named_buffers())[name].dtype.name == str(b.dtype)[6:]
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked) == 3
    # eval: running statistics (state copied from ours, which must equal torch's anyway)
    check_module(ours, theirs, _x(*shape, seed=9), dtype=dtype, train=False)


def test_batchnorm_errors_and_repr(torch):
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(stirpile.randn(1, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        bn(stirpile.randn(2, 3, 4, 5))
    bn.eval()(stirpile.randn(1, 3))  # fine in eval
    assert repr(bn) == repr(torch.nn.BatchNorm1d(3))
    assert repr(nn.BatchNorm1d(4, momentum=None, affine=False)) == repr(
        torch.nn.BatchNorm1d(4, momentum=None, affine=False)
    )


def test_batchnorm_functional_gradcheck(grad_check):
    w, b = _x(3, seed=1) + 1, _x(3, seed=2)

    def fn(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True)

    grad_check(fn, _x(4, 3), w, b, gradgrad=True)
    grad_check(fn, _x(2, 3, 2), w, b)
    rm, rv = stirpile.tensor(_x(3)), stirpile.tensor(np.abs(_x(3)) + 0.5)
    grad_check(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), _x(4, 3), w, b)


# -- LayerNorm ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape,norm,kwargs",
    [
        ((4, 6), 6, {}),
        ((2, 3, 4), (3, 4), {}),
        ((3, 5), 5, {"elementwise_affine": False}),
        ((3, 5), [5], {"bias": False, "eps": 1e-3}),
    ],
)
def test_layernorm_matches_torch(check_module, torch, dtype, shape, norm, kwargs):
    ours, theirs = nn.LayerNorm(norm, **kwargs), torch.nn.LayerNorm(norm, **kwargs)
    if ours.weight is not None:
        with stirpile.no_grad():
            ours.weight.copy_(_x(*ours.normalized_shape, seed=3) + 1)
            if ours.bias is not None:
                ours.bias.copy_(_x(*ours.normalized_shape, seed=4))
    check_module(ours, theirs, _x(*shape, scale=3.0), dtype=dtype)
    assert repr(ours) == repr(theirs)


def test_layernorm_gradcheck_and_shape_error(grad_check):
    grad_check(
        lambda x, w, b: F.layer_norm(x, (4,), w, b),
        _x(3, 4),
        _x(4, seed=1),
        _x(4, seed=2),
        gradgrad=True,
    )
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(stirpile.randn(3, 4), (5,))


# -- Maxout ---------------------------------------------------------------------------------


def test_maxout_by_hand():
    m = nn.Maxout(2, 2, pieces=3)
    W = np.array([[[1.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [1.0, 1.0]], [[0.5, 0.5], [0.0, -2.0]]])
    b = np.array([[0.0, 0.0], [0.0, -1.0], [1.0, 0.0]])
    with stirpile.no_grad():
        m.weight.copy_(W)
        m.bias.copy_(b)
    x = np.array([[2.0, -1.0], [-3.0, 4.0]])
    # y_j = max_k (W_k x + b_k)_j, written out
    expected = np.array(
        [[max(x[n] @ W[k, j] + b[k, j] for k in range(3)) for j in range(2)] for n in range(2)]
    )
    # sample 0: unit 0: max(2, -2, 1.5) = 2; unit 1: max(-1, 0, 2) = 2
    np.testing.assert_allclose(expected, [[2.0, 2.0], [3.0, 4.0]])
    xt = stirpile.tensor(x, dtype=stirpile.float32, requires_grad=True)
    y = m(xt)
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-6)
    y.sum().backward()
    # the gradient goes to the winning piece: sample 0 → pieces (0, 2), sample 1 → (1, 0)
    win = np.array([[0, 2], [1, 0]])
    gx = sum(W[win[n, j], j] * (np.arange(2) == n)[:, None] for n in range(2) for j in range(2))
    np.testing.assert_allclose(xt.grad.numpy(), gx, rtol=1e-6)
    assert m.weight.grad.numpy()[1, 0].tolist() == [-3.0, 4.0]  # piece 1 won once: x of sample 1
    assert not m.weight.grad.numpy()[1, 1].any()  # piece 1 of unit 1 never won


def test_maxout_two_pieces_with_zero_piece_is_relu():
    stirpile.manual_seed(0)
    m = nn.Maxout(3, 4, pieces=2)
    with stirpile.no_grad():
        m.weight[1] = 0.0
        m.bias[1] = 0.0
    x = stirpile.randn(5, 3)
    np.testing.assert_allclose(
        m(x).detach().numpy(),
        F.linear(x, m.weight[0], m.bias[0]).relu().detach().numpy(),
        rtol=1e-6,
    )


def test_maxout_gradcheck_shapes_and_init(grad_check):
    W = _x(3, 2, 4, seed=1)
    b = _x(3, 2, seed=2)
    grad_check(F.maxout, _x(5, 4), W, b)
    grad_check(F.maxout, _x(2, 3, 4), W)
    m = nn.Maxout(16, 5, pieces=4)
    assert m.weight.shape == (4, 5, 16) and m.bias.shape == (4, 5)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / 4
    assert m(stirpile.randn(7, 16)).shape == (7, 5)
    assert repr(m) == "Maxout(in_features=16, out_features=5, pieces=4, bias=True)"


# -- APL ------------------------------------------------------------------------------------


def test_apl_by_hand():
    apl = nn.APL(2, hinges=2)
    a = np.array([[0.5, -1.0], [2.0, 0.25]])
    b = np.array([[1.0, 0.0], [-1.0, 2.0]])
    with stirpile.no_grad():
        apl.a.copy_(a)
        apl.b.copy_(b)
    x = np.array([[0.5, -2.0], [-3.0, 1.0], [2.0, 3.0]])
    # f(x) = max(0, x) + Σ_s a_s max(0, −x + b_s), per unit j
    expected = np.maximum(0, x) + sum(a[s] * np.maximum(0, -x + b[s]) for s in range(2))
    # sample 0, unit 0: 0.5 + 0.5·0.5 + 2·0 = 0.75; unit 1: 0 + (−1)·2 + 0.25·4 = −1
    np.testing.assert_allclose(expected[0], [0.75, -1.0])
    xt = stirpile.tensor(x, dtype=stirpile.float64, requires_grad=True)
    apl.double()
    y = apl(xt)
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=1e-12)
    y.sum().backward()
    gx = (x > 0) - sum(a[s] * (-x + b[s] > 0) for s in range(2))
    np.testing.assert_allclose(xt.grad.numpy(), gx)
    np.testing.assert_allclose(
        apl.a.grad.numpy(), [np.maximum(0, -x + b[s]).sum(0) for s in range(2)]
    )
    np.testing.assert_allclose(
        apl.b.grad.numpy(), [(a[s] * (-x + b[s] > 0)).sum(0) for s in range(2)]
    )


def test_apl_gradcheck_init_and_shapes(grad_check):
    x = np.array([[0.3, -1.2, 2.0], [-0.7, 0.9, -2.5]])  # away from the hinges below
    a, b = _x(2, 3, seed=1), np.array([[0.5, -0.5, 1.0], [-1.5, 1.5, 0.0]])
    grad_check(F.apl, x, a, b, gradgrad=True)
    grad_check(F.apl, _x(2, 3, 2) + 0.05, a, b + 0.01)
    apl = nn.APL(3, hinges=2)
    assert not apl.a.detach().numpy().any()  # starts as a ReLU
    x = stirpile.randn(4, 3)
    np.testing.assert_allclose(apl(x).detach().numpy(), x.relu().numpy())
    assert apl(stirpile.randn(4, 3, 5)).shape == (4, 3, 5)
    assert apl(stirpile.randn(3)).shape == (3,)
    assert [n for n, _ in apl.named_parameters()] == ["a", "b"]
    with pytest.raises(RuntimeError, match="units"):
        apl(stirpile.randn(4, 2))
