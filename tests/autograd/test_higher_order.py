"""Second derivatives: double backward through every op with a non-trivial second
derivative, Hessian-vector products of an MLP, and ``autograd.functional`` against
``torch.autograd.functional``."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile.autograd import functional as F

# (name, fn(L, *xs), shapes, domain): each has a second derivative that is not zero
CASES = [
    ("mul", lambda L, a, b: a * b * a, [(2, 3), (3,)], "any"),
    ("div", lambda L, a, b: a / b, [(2, 3), (3,)], ("any", "away0")),
    ("pow", lambda L, a, b: a**b, [(2, 3), (3,)], ("pos", "any")),
    ("pow_scalar", lambda L, x: x**3 + x**0.5, [(4,)], "pos"),
    ("rpow", lambda L, x: 1.5**x, [(4,)], "any"),
    ("exp", lambda L, x: x.exp(), [(2, 2)], "any"),
    ("log", lambda L, x: x.log(), [(2, 2)], "pos"),
    ("log1p", lambda L, x: x.log1p(), [(2, 2)], "pos"),
    ("sqrt", lambda L, x: x.sqrt(), [(2, 2)], "pos"),
    ("sin", lambda L, x: x.sin(), [(2, 2)], "any"),
    ("cos", lambda L, x: x.cos(), [(2, 2)], "any"),
    ("tanh", lambda L, x: x.tanh(), [(2, 2)], "any"),
    ("sigmoid", lambda L, x: x.sigmoid(), [(2, 2)], "any"),
    ("softmax", lambda L, x: x.softmax(-1), [(2, 3)], "any"),
    ("softmax_dim0", lambda L, x: x.softmax(0), [(2, 3)], "any"),
    ("log_softmax", lambda L, x: x.log_softmax(-1), [(2, 3)], "any"),
    ("logsumexp", lambda L, x: x.logsumexp(1), [(2, 3)], "any"),
    ("logsumexp_all", lambda L, x: x.logsumexp((0, 1), keepdim=True), [(2, 3)], "any"),
    ("matmul", lambda L, a, b: (a @ b) ** 2, [(2, 3), (3, 2)], "any"),
    ("matmul_batched_1d", lambda L, a, b: (a @ b) ** 2, [(2, 2, 3), (3,)], "any"),
    ("matmul_1d_1d", lambda L, a, b: (a @ b) ** 2, [(3,), (3,)], "any"),
    ("getitem_repeated", lambda L, x: x[L.tensor([0, 2, 0, 0])] ** 3, [(3, 2)], "any"),
    ("getitem_slices", lambda L, x: x[:, ::2].exp() * x[0, 1:3], [(2, 4)], "any"),
    ("gather", lambda L, x: x.gather(1, L.tensor([[0, 0], [2, 1]])) ** 2, [(2, 3)], "any"),
    ("where", lambda L, a, b: L.where(a > 0, a * a, b.exp()), [(2, 3), (3,)], ("away0", "any")),
    ("var", lambda L, x: x.var(1), [(2, 4)], "any"),
    ("var_all", lambda L, x: x.var(), [(2, 3)], "any"),
    ("std", lambda L, x: x.std(0, correction=0), [(3, 2)], "any"),
    (
        "mean_sum",
        lambda L, x: x.mean(1, keepdim=True).exp() + x.sum(0, keepdim=True) ** 2,
        [(2, 3)],
        "any",
    ),
    ("amax", lambda L, x: x.amax(1) ** 2, [(2, 3)], "any"),
    ("max_dim", lambda L, x: x.max(1).values ** 2, [(2, 3)], "any"),
    (
        "shapes",
        lambda L, a, b: L.cat([a, b]).permute(1, 0).reshape(-1).exp()[1:] * 2,
        [(2, 3), (1, 3)],
        "any",
    ),
    ("expand_stack", lambda L, a, b: L.stack([a.expand(2, 3), b]).sin(), [(1, 3), (2, 3)], "any"),
    ("clamp_mul", lambda L, x: x.clamp(-0.5, 0.5) * x, [(4,)], "any"),
]


@pytest.mark.parametrize(("name", "fn", "shapes", "domain"), CASES, ids=[c[0] for c in CASES])
def test_gradgradcheck(opcheck, name, fn, shapes, domain):
    opcheck.gradcheck(fn, opcheck.arrays(shapes, domain), gradgrad=True)


@pytest.mark.parametrize(("name", "fn", "shapes", "domain"), CASES, ids=[c[0] for c in CASES])
def test_second_order_vs_torch(torch, opcheck, name, fn, shapes, domain):
    opcheck.vs_torch(torch, fn, opcheck.arrays(shapes, domain), "float64", second_order=True)


# -- a small MLP: Hessian-vector products ----------------------------------------------------

N_IN, N_HID, N_OUT = 3, 4, 2
N_PARAMS = N_HID * N_IN + N_HID + N_OUT * N_HID + N_OUT


def _mlp_loss(theta, X, Y):
    """½ mean ‖W2 tanh(W1 x + b1) + b2 − y‖², parameters packed in one vector."""
    i = 0
    W1 = theta[i : (i := i + N_HID * N_IN)].reshape(N_HID, N_IN)
    b1 = theta[i : (i := i + N_HID)]
    W2 = theta[i : (i := i + N_OUT * N_HID)].reshape(N_OUT, N_HID)
    b2 = theta[i:]
    return _mlp_loss_params(W1, b1, W2, b2, X, Y)


def _mlp_loss_params(W1, b1, W2, b2, X, Y):
    out = (X @ W1.T + b1).tanh() @ W2.T + b2
    return 0.5 * ((out - Y) ** 2).sum(1).mean()


@pytest.fixture(scope="module")
def mlp_data():
    rng = np.random.default_rng(3)
    return (rng.standard_normal(N_PARAMS) * 0.7, rng.standard_normal((5, N_IN)),
            rng.standard_normal((5, N_OUT)), rng.standard_normal(N_PARAMS))  # fmt: skip


def test_mlp_hvp_matches_torch_and_the_full_hessian(torch, close, mlp_data):
    theta, X, Y, v = mlp_data
    Xs, Ys = stirpile.tensor(X, dtype=stirpile.float64), stirpile.tensor(Y, dtype=stirpile.float64)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def f(th):
        return _mlp_loss(th, Xs, Ys)

    th, vs = stirpile.tensor(theta, dtype=stirpile.float64), stirpile.tensor(v)
    loss, hv = F.hvp(f, th, vs.double())
    t_loss, t_hv = torch.autograd.functional.hvp(
        lambda t: _mlp_loss(t, Xt, Yt), torch.tensor(theta), torch.tensor(v)
    )
    close(loss, t_loss, rtol=1e-12)
    close(hv, t_hv, rtol=1e-9, atol=1e-12)

    H = F.hessian(f, th)
    assert H.shape == (N_PARAMS, N_PARAMS)
    np.testing.assert_allclose(H.numpy(), H.numpy().T, atol=1e-12)  # symmetric
    np.testing.assert_allclose(H.numpy() @ v, hv.numpy(), rtol=1e-9, atol=1e-12)
    t_H = torch.autograd.functional.hessian(lambda t: _mlp_loss(t, Xt, Yt), torch.tensor(theta))
    close(H, t_H, rtol=1e-9, atol=1e-12)

    # and by hand: the gradient of gᵀv, g computed with create_graph
    p = th.detach().requires_grad_()
    (g,) = stirpile.autograd.grad(f(p), p, create_graph=True)
    (hv2,) = stirpile.autograd.grad((g * vs.double()).sum(), p)
    np.testing.assert_allclose(hv2.numpy(), hv.numpy(), rtol=1e-12, atol=1e-14)


def test_mlp_hvp_with_parameter_tuples_matches_torch(torch, close, mlp_data):
    theta, X, Y, v = mlp_data
    shapes = [(N_HID, N_IN), (N_HID,), (N_OUT, N_HID), (N_OUT,)]
    cuts = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    params = [theta[a:b].reshape(s) for a, b, s in zip(cuts, cuts[1:], shapes)]
    vecs = [v[a:b].reshape(s) for a, b, s in zip(cuts, cuts[1:], shapes)]
    Xs, Ys = stirpile.tensor(X, dtype=stirpile.float64), stirpile.tensor(Y, dtype=stirpile.float64)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    _, hv = F.hvp(lambda *ps: _mlp_loss_params(*ps, Xs, Ys),
                  tuple(stirpile.tensor(p) for p in params),
                  tuple(stirpile.tensor(w) for w in vecs))  # fmt: skip
    _, t_hv = torch.autograd.functional.hvp(lambda *ps: _mlp_loss_params(*ps, Xt, Yt),
                                            tuple(torch.tensor(p) for p in params),
                                            tuple(torch.tensor(w) for w in vecs))  # fmt: skip
    assert isinstance(hv, tuple) and len(hv) == 4
    for ours, theirs in zip(hv, t_hv):
        close(ours, theirs, rtol=1e-9, atol=1e-12)


# -- autograd.functional against torch.autograd.functional -----------------------------------


def _close_nested(close, ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _close_nested(close, o, t)
    else:
        assert not ours.requires_grad
        close(ours, theirs, rtol=1e-10, atol=1e-12)


def vec_fn(L, x):
    return x.sin() * x.sum()


def tuple_fn(L, x, y):
    return x * y.exp().sum(), (x.unsqueeze(1) * y).tanh()


def scalar_fn(L, x):
    return (x.sin() * x.cos() * x).sum() + (x**2).sum() ** 2


def scalar_tuple_fn(L, x, y):
    return (x.unsqueeze(1) * y).sin().sum() + (x**2).sum() * y.exp().sum()


def _inputs(lib, rng_seed, shapes):
    rng = np.random.default_rng(rng_seed)
    return tuple(lib.tensor(rng.standard_normal(s), dtype=lib.float64) for s in shapes)


FUNCTIONAL = [
    # (name, what, fn, input shapes, v shapes or None)
    ("jacobian_single", "jacobian", vec_fn, [(3,)], None),
    ("jacobian_tuple", "jacobian", tuple_fn, [(2,), (3,)], None),
    ("vjp_single", "vjp", vec_fn, [(3,)], [(3,)]),
    ("vjp_tuple", "vjp", lambda L, x, y: tuple_fn(L, x, y)[1], [(2,), (3,)], [(2, 3)]),
    ("jvp_single", "jvp", vec_fn, [(3,)], [(3,)]),
    ("jvp_tuple", "jvp", lambda L, x, y: tuple_fn(L, x, y)[1], [(2,), (3,)], [(2,), (3,)]),
    ("hessian_single", "hessian", scalar_fn, [(3,)], None),
    ("hessian_tuple", "hessian", scalar_tuple_fn, [(2,), (3,)], None),
    ("hvp_single", "hvp", scalar_fn, [(3,)], [(3,)]),
    ("hvp_tuple", "hvp", scalar_tuple_fn, [(2,), (3,)], [(2,), (3,)]),
    ("vhp_single", "vhp", scalar_fn, [(3,)], [(3,)]),
]


@pytest.mark.parametrize(("name", "what", "fn", "shapes", "vshapes"), FUNCTIONAL,
                         ids=[c[0] for c in FUNCTIONAL])  # fmt: skip
def test_functional_matches_torch(torch, close, name, what, fn, shapes, vshapes):
    def call(lib, module):
        xs = _inputs(lib, 0, shapes)
        xs = xs if len(xs) > 1 else xs[0]
        args = [lambda *a: fn(lib, *a), xs]
        if vshapes is not None:
            vs = _inputs(lib, 1, vshapes)
            args.append(vs if len(vs) > 1 else vs[0])
        return getattr(module, what)(*args)

    _close_nested(close, call(stirpile, F), call(torch, torch.autograd.functional))


def test_functional_of_a_linear_function_gives_zero_second_derivatives(torch, close):
    x, v = stirpile.randn(3, dtype=stirpile.float64), stirpile.randn(3, dtype=stirpile.float64)
    out, hv = F.hvp(lambda t: (2 * t).sum(), x, v)
    assert out.item() == pytest.approx(2 * x.sum().item())
    assert hv.tolist() == [0.0, 0.0, 0.0]
    H = F.hessian(lambda t: (2 * t).sum(), x)
    assert H.shape == (3, 3) and not H.numpy().any()
    _, jv = F.jvp(lambda t: 2 * t, x, v)
    np.testing.assert_allclose(jv.numpy(), 2 * v.numpy())


def test_jvp_without_v_for_a_one_element_input():
    x = stirpile.tensor(0.5, dtype=stirpile.float64)
    out, jv = F.jvp(lambda t: t.exp() * 3, x)
    assert jv.item() == pytest.approx(3 * np.exp(0.5), rel=1e-14)
    assert out.item() == pytest.approx(3 * np.exp(0.5), rel=1e-14)


def test_functional_leaves_its_inputs_untouched():
    x = stirpile.randn(3, dtype=stirpile.float64)
    F.hessian(lambda t: (t**3).sum(), x)
    assert not x.requires_grad and x.grad is None


def test_create_graph_hessian_is_differentiable():
    x = stirpile.tensor([1.0, 2.0], dtype=stirpile.float64, requires_grad=True)
    H = F.hessian(lambda t: (t**4).sum(), x, create_graph=True)  # diag(12 x²)
    assert H.tolist() == [[12.0, 0.0], [0.0, 48.0]]
    (g,) = stirpile.autograd.grad(H.sum(), x)  # d/dx Σ 12 x² = 24 x, through the inputs
    assert g.tolist() == [24.0, 48.0]
    _, vjp = F.vjp(lambda t: t**3, x, stirpile.ones(2, dtype=stirpile.float64), create_graph=True)
    (g,) = stirpile.autograd.grad(vjp.sum(), x)  # d/dx Σ 3 x² = 6 x
    assert g.tolist() == [6.0, 12.0]
    _, hv = F.hvp(lambda t: (t**4).sum(), x, stirpile.ones(2, dtype=stirpile.float64),
                  create_graph=True)  # fmt: skip
    (g,) = stirpile.autograd.grad(hv.sum(), x)
    assert g.tolist() == [24.0, 48.0]
