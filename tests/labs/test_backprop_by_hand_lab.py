"""The backprop-by-hand lab: the lecture's equations equal autograd at every step, the
curves coincide, sensitivities shrink by at most ¼‖W‖₂ per sigmoid layer, and the worked
scalar example."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from stirpile.labs import backprop_by_hand as lab


@pytest.fixture(scope="module")
def results(mnist_dir):
    # without MNIST the lab falls back to two spirals: the claims below hold either way
    return lab.run(quick=True, seed=0, data_dir=mnist_dir)


def _tiny(depth: int = 3, seed: int = 0):
    """A small sigmoid net (5-4-…-3), a batch of 7 samples, one-hot targets."""
    rng = np.random.default_rng(seed)
    sizes = [5] + [4] * (depth - 1) + [3]
    params = [
        (rng.standard_normal((b, a)), rng.standard_normal(b)) for a, b in itertools.pairwise(sizes)
    ]
    X = rng.standard_normal((5, 7))
    Y = np.eye(3)[rng.integers(0, 3, 7)].T
    return params, X, Y


# -- the pieces ------------------------------------------------------------------------------
def test_sigmoid_saturates_without_warnings():
    z = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    s = lab.sigmoid(z)  # a RuntimeWarning would fail the test (pyproject's filterwarnings)
    assert s[0] == 0.0 and s[2] == 0.5 and s[-1] == 1.0
    assert np.allclose(s[1], math.exp(-30) / (1 + math.exp(-30)), rtol=1e-12, atol=0)


def test_rel_diff():
    assert lab.rel_diff(np.zeros(3), np.zeros(3)) == 0.0
    assert lab.rel_diff(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert lab.rel_diff(np.array([3.0, 4.0]), np.array([0.0, 0.0])) == 5.0
    assert lab.rel_diff(np.array([1.0, 1.0]), np.array([2.0, 0.0])) == pytest.approx(0.5**0.5)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_hand_backward_is_the_derivative_of_the_loss(depth):
    """Numerical check in float64: central differences of L along random directions equal
    ⟨∇L, direction⟩ from the hand-written backward pass (weights, biases, λ term)."""
    params, X, Y = _tiny(depth)
    lam = 0.03
    grads, _ = lab.backward(params, lab.forward(params, X), Y, lam)
    rng = np.random.default_rng(1)
    eps = 1e-6
    for _ in range(5):
        dirs = [(rng.standard_normal(W.shape), rng.standard_normal(b.shape)) for W, b in params]

        def L(t, dirs=dirs):
            p = [(W + t * dW, b + t * db) for (W, b), (dW, db) in zip(params, dirs)]
            return lab.loss(p, lab.forward(p, X)[-1], Y, lam)

        numeric = (L(eps) - L(-eps)) / (2 * eps)
        analytic = sum((gW * dW).sum() + (gb * db).sum() for (gW, gb), (dW, db) in zip(grads, dirs))
        assert numeric == pytest.approx(analytic, rel=1e-6, abs=1e-8)


def test_hand_backward_matches_stirpile_autograd():
    _, X, Y = _tiny(3)
    layers = lab.make_layers([5, 4, 4, 3], seed=0)
    params = lab.params_of(layers)  # the same weights in both
    grads, V = lab.backward(params, lab.forward(params, X), Y, 0.02)
    auto = lab.autograd_step(layers, X.T, Y.T, 0.02)
    assert auto["loss"] == pytest.approx(lab.loss(params, lab.forward(params, X)[-1], Y, 0.02),
                                         rel=1e-14)  # fmt: skip
    for (gW, gb), (aW, ab) in zip(grads, auto["grads"]):
        assert lab.rel_diff(gW, aW) < 1e-12 and lab.rel_diff(gb, ab) < 1e-12
    for v, s in zip(V, auto["sens"]):
        assert lab.rel_diff(v / X.shape[1], s) < 1e-12


def test_hand_backward_matches_torch():
    torch = pytest.importorskip("torch")
    params, X, Y = _tiny(3, seed=2)
    lam = 0.05
    grads, V = lab.backward(params, lab.forward(params, X), Y, lam)
    tp = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
          for W, b in params]  # fmt: skip
    a, zs = torch.tensor(X.T), []
    for W, b in tp:
        z = a @ W.T + b
        z.retain_grad()
        zs.append(z)
        a = torch.sigmoid(z)
    L = ((torch.tensor(Y.T) - a) ** 2).sum() / X.shape[1] + lam * sum((W**2).sum() for W, _ in tp)
    L.backward()
    L_hand = lab.loss(params, lab.forward(params, X)[-1], Y, lam)
    assert L_hand == pytest.approx(L.item(), rel=1e-14)
    for (gW, gb), (W, b) in zip(grads, tp):
        assert np.allclose(gW, W.grad.numpy(), rtol=1e-12, atol=1e-15)
        assert np.allclose(gb, b.grad.numpy(), rtol=1e-12, atol=1e-15)
    for v, z in zip(V, zs):
        assert np.allclose(v / X.shape[1], z.grad.numpy().T, rtol=1e-12, atol=1e-15)


def test_two_layer_backward_is_the_lectures_equations():
    """For D = 2, backward() is literally V⁽²⁾ = −2(Y − A⁽³⁾)∗A⁽³⁾∗(1 − A⁽³⁾),
    V⁽¹⁾ = A⁽²⁾∗(1 − A⁽²⁾)∗W⁽²⁾ᵀV⁽²⁾, ∇⁽ˡ⁾ = V⁽ˡ⁾A⁽ˡ⁾ᵀ/m + 2λW⁽ˡ⁾."""
    params, X, Y = _tiny(2)
    (W1, b1), (W2, b2) = params
    lam, m = 0.1, X.shape[1]
    A2 = 1 / (1 + np.exp(-(W1 @ X + b1[:, None])))
    A3 = 1 / (1 + np.exp(-(W2 @ A2 + b2[:, None])))
    V2 = -2 * (Y - A3) * A3 * (1 - A3)
    V1 = A2 * (1 - A2) * (W2.T @ V2)
    (g1, gb1), (g2, gb2) = lab.backward(params, lab.forward(params, X), Y, lam)[0]
    assert np.allclose(g2, V2 @ A2.T / m + 2 * lam * W2, rtol=1e-14, atol=0)
    assert np.allclose(g1, V1 @ X.T / m + 2 * lam * W1, rtol=1e-14, atol=0)
    assert np.allclose(gb2, V2.mean(1), rtol=1e-14) and np.allclose(gb1, V1.mean(1), rtol=1e-14)


# -- the lab's claims on its quick run ------------------------------------------------------
def test_gradients_equal_to_1e_10_at_every_step(results):
    st = results["training"]["steps"]
    n_steps = len(st["loss_hand"])
    assert n_steps >= 100 and len(st["rel_grad"]) == len(st["rel_sens"]) == n_steps
    assert max(st["rel_grad"]) < 1e-10  # weights and biases, every step
    assert max(st["rel_sens"]) < 1e-10  # V⁽ˡ⁾/m vs ∂L/∂Z⁽ˡ⁺¹⁾ from retain_grad


def test_training_curves_coincide(results):
    st, ep = results["training"]["steps"], results["training"]["epochs"]
    np.testing.assert_allclose(st["loss_hand"], st["loss_autograd"], rtol=1e-10, atol=0)
    for split in ("train", "test"):
        np.testing.assert_allclose(ep[f"{split}_loss_hand"], ep[f"{split}_loss_autograd"],
                                   rtol=1e-10, atol=0)  # fmt: skip
        assert ep[f"{split}_acc_hand"] == ep[f"{split}_acc_autograd"]
    assert max(ep["rel_weights"]) < 1e-10  # the two trajectories never drift apart
    # and they are training curves: the loss falls and the net beats chance
    assert ep["train_loss_hand"][-1] < 0.5 * ep["train_loss_hand"][0]
    assert ep["test_acc_hand"][-1] > 2 / results["training"]["classes"]


def test_sensitivities_shrink_by_at_most_a_quarter_norm_W_per_layer(results):
    rows = results["depth"]
    assert sorted({r["depth"] for r in rows}) == list(range(2, 11))
    for r in rows:
        D = r["depth"]
        assert len(r["v_norm"]) == len(r["g_norm"]) == D and len(r["ratio"]) == D - 1
        # each sigmoid layer: ‖V⁽ˡ⁻¹⁾‖ ≤ max σ′ ‖W⁽ˡ⁾‖₂ ‖V⁽ˡ⁾‖ and max σ′ ≤ ¼
        for q, s, w in zip(r["ratio"], r["sp_max"], r["w_spec"][1:]):
            assert s <= 0.25 and q <= s * w <= 0.25 * w
        # compounded over the layers: ‖V⁽¹⁾‖ ≤ ‖V⁽ᴰ⁾‖ Π_{l ≥ 2} ¼ ‖W⁽ˡ⁾‖₂
        bound = r["v_norm"][-1] * np.prod([0.25 * w for w in r["w_spec"][1:]])
        assert r["v_norm"][0] <= bound
        assert r["v_norm"] == sorted(r["v_norm"])  # shrinking toward the input
        assert r["rel_grad"] < 1e-10  # the D-layer equations equal autograd too
    # the first layer's gradient shrinks with every extra sigmoid layer (~7x per layer here)
    first = {D: g[0] for D, g in lab._by_depth(rows, "g_norm").items()}
    depths = sorted(first)
    assert all(first[a] > first[b] for a, b in itertools.pairwise(depths))
    # the bound's prediction for eight extra layers, (¼‖W‖₂)⁸, with ‖W‖₂ < 1.3 here
    assert first[10] < first[2] * (0.25 * 1.3) ** 8


def test_hidden_layer_factor_stays_below_the_bound_during_training(results):
    st = results["training"]["steps"]
    ratio, bound, quarter = (np.array(st[k]) for k in ("ratio", "bound", "quarter_bound"))
    assert len(ratio) == len(st["loss_hand"])
    assert (ratio <= bound).all() and (bound <= quarter).all()
    v = np.array(st["v_norm"])  # ‖V⁽ˡ⁾‖/m per step, l = 1, 2
    np.testing.assert_allclose(v[:, 0] / v[:, 1], ratio, rtol=1e-12)


def test_scalar_example_equals_a_hand_computation(results):
    rows = {r["name"]: r for r in results["scalar"]}
    x, y, w, b, lam = 1.5, 1.0, 0.5, -1.0, 0.1
    assert results["scalar_inputs"] == {"x": x, "y": y, "w": w, "b": b, "lam": lam}
    z = -0.25  # 0.5 · 1.5 − 1
    u = 1 / (1 + math.exp(0.25))  # σ(−0.25) ≈ 0.4378
    expected = {"z": z, "u": u, "l": 0.5 * (1 - u) ** 2, "r": 0.25,
                "L": 0.5 * (1 - u) ** 2 + 0.025, "∂L/∂l": 1.0, "∂L/∂r": 0.1,
                "∂L/∂u": u - 1, "σ′(z)": u * (1 - u), "∂L/∂z": (u - 1) * u * (1 - u),
                "∂L/∂w": 1.5 * (u - 1) * u * (1 - u) + 0.1,
                "∂L/∂b": (u - 1) * u * (1 - u)}  # fmt: skip
    assert list(rows) == list(expected)
    for name, v in expected.items():
        assert rows[name]["hand"] == pytest.approx(v, rel=1e-14, abs=1e-16), name
        assert rows[name]["autograd"] == pytest.approx(v, rel=1e-14, abs=1e-16), name
    assert rows["u"]["hand"] == pytest.approx(0.437823499, abs=1e-9)
    assert rows["∂L/∂w"]["hand"] == pytest.approx(-0.107556, abs=1e-6)


def test_all_judges_pass(results):
    assert lab.judge(results) == dict.fromkeys(lab.judge(results), True)


def test_report_writes_figures_and_tables(results, tmp_path):
    names = {p.name for p in lab.report(results, tmp_path)}
    assert names == {"hand_vs_autograd.png", "vanishing_gradient.png", "README.md"}
    text = (tmp_path / "README.md").read_text()
    assert "| quantity | formula | by hand | autograd (stirpile) | difference |" in text
    assert "| ∂L/∂w | ∂L/∂z · x + ∂L/∂r · 2w |" in text
    assert "| D | ‖∇⁽¹⁾‖ (first)" in text and "| judge | passed |" in text
