"""The lazy-vs-rich lab: weight change ∝ m^(−1/2) and 1/α, the NTK drifts less when lazy."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile.labs import lazy_vs_rich as lab


@pytest.fixture(scope="module")
def results():
    return lab.run(quick=True, seed=0)


def test_every_run_reaches_the_target_loss(results):
    runs = results["width"] + results["scale"] + results["regimes"]["sine"]
    assert all(r["converged"] and r["loss"] < results["tol"] for r in runs)


def test_relative_weight_change_falls_as_inverse_sqrt_width(results):
    assert abs(results["slope_width"] + 0.5) <= 0.15
    rel = [r["rel_change"] for r in results["width"]]
    assert (np.diff(rel) < 0).all()


def test_weight_change_falls_as_inverse_alpha(results):
    assert abs(results["slope_alpha"] + 1.0) <= 0.15


def test_ntk_changes_less_in_the_lazy_regime(results):
    by_alpha = {r["alpha"]: r for r in results["regimes"]["sine"]}
    lazy, rich = by_alpha[64.0], by_alpha[0.1]
    assert lazy["ntk_change"] < 0.1 * rich["ntk_change"]
    assert lazy["rel_change"] < rich["rel_change"]
    # and it shrinks with width at α = 1
    assert results["slope_ntk_width"] < 0


def test_report_writes_figure_and_readme(results, tmp_path):
    paths = lab.report(results, tmp_path)
    names = {p.name for p in paths}
    assert {"lazy_vs_rich.png", "README.md"} <= names
    text = (tmp_path / "README.md").read_text()
    assert "Width sweep" in text and "Lazy against rich" in text


# -- the pieces ----------------------------------------------------------------------------
def _params(m: int = 7, d: int = lab.D, seed: int = 1):
    rng = np.random.default_rng(seed)
    W = stirpile.tensor(rng.standard_normal((m, d)), requires_grad=True)
    a = stirpile.tensor(rng.standard_normal(m), requires_grad=True)
    x = stirpile.tensor(rng.standard_normal((5, d)) / np.sqrt(d))
    return W, a, x


def test_network_matches_the_formula():
    W, a, x = _params()
    m = W.shape[0]
    expect = np.maximum(x.numpy() @ W.detach().numpy().T, 0) @ a.detach().numpy() / np.sqrt(m)
    assert np.allclose(network_np := lab.network(W, a, x).detach().numpy(), expect)
    assert network_np.shape == (5,)


def test_ntk_gram_matches_closed_form():
    # K = (1/m) [σ σᵀ + (x xᵀ) ∘ (σ' diag(a²) σ'ᵀ)] for f = (1/√m) a·relu(W x)
    W, a, x = _params()
    Wn, an, xn = W.detach().numpy(), a.detach().numpy(), x.numpy()
    pre = xn @ Wn.T
    s, ds = np.maximum(pre, 0), (pre > 0).astype(float)
    K = (s @ s.T + (xn @ xn.T) * ((ds * an**2) @ ds.T)) / len(an)
    G = lab.ntk_gram(W, a, x)
    assert G.shape == (5, 5)
    assert np.allclose(G, K)
    assert np.allclose(G, G.T) and np.linalg.eigvalsh(G).min() > -1e-10


def test_ntk_gram_matches_torch():
    torch = pytest.importorskip("torch")
    W, a, x = _params()
    Wt = torch.tensor(W.detach().numpy())
    at, xt = torch.tensor(a.detach().numpy()), torch.tensor(x.numpy())

    def f(W_, a_):
        return torch.relu(xt @ W_.T) @ a_ / np.sqrt(W_.shape[0])

    JW, Ja = torch.autograd.functional.jacobian(f, (Wt, at))
    J = torch.cat([JW.reshape(5, -1), Ja], dim=1)
    assert np.allclose(lab.ntk_gram(W, a, x), (J @ J.T).numpy())


def test_network_gradcheck():
    W, a, x = _params(m=4)
    W.data += 0.05 * np.sign(W.detach().numpy())  # keep pre-activations off the ReLU kink
    assert stirpile.autograd.gradcheck(lambda W_, a_: lab.network(W_, a_, x), (W, a))


def test_train_moves_weights_by_one_over_alpha():
    task = lab.make_task("sine", seed=0)
    r1 = lab.train(task, m=32, alpha=1.0, tol=2e-2)
    r8 = lab.train(task, m=32, alpha=8.0, tol=2e-2)
    assert r1["converged"] and r8["converged"]
    assert 5 < r1["abs_change"] / r8["abs_change"] < 12


def test_make_task_shapes_and_errors():
    t = lab.make_task("teacher", seed=0)
    assert t["x_train"].shape == (lab.N_TRAIN, lab.D) and t["y_test"].shape == (lab.N_TEST,)
    assert abs(t["y_train"].mean()) < 1e-12
    with pytest.raises(ValueError, match="unknown task"):
        lab.make_task("nope")


def test_loglog_slope():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    assert np.isclose(lab.loglog_slope(x, 3 * x**-0.5), -0.5)
