"""The PAC-Bayes lab: a finite bound above the stochastic net's test error, a correct kl
inversion, and a vacuous bound for random labels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stirpile.labs import pac_bayes as lab


@pytest.fixture(scope="module")
def results(mnist_dir):
    if not (mnist_dir / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no offline MNIST at {mnist_dir}")
    return lab.run(quick=True, seed=0, data_dir=mnist_dir)


def scalar_kl_inverse(q: float, c: float) -> float:
    """An independent scalar bisection: the largest p ≥ q with kl(q‖p) ≤ c."""

    def kl(a: float, b: float) -> float:
        s = a * math.log(a / b) if a > 0 else 0.0
        return s + ((1 - a) * math.log((1 - a) / (1 - b)) if a < 1 else 0.0)

    lo, hi = q, 1.0 - 1e-15
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if kl(q, mid) <= c else (lo, mid)
    return lo


@pytest.mark.parametrize(("q", "c"), [(0.0, 0.1), (0.03, 0.01), (0.2, 0.5), (0.5, 2.0),
                                      (0.9, 0.001), (0.1, 0.0)])  # fmt: skip
def test_kl_inverse_matches_a_scalar_bisection(q, c):
    p = float(lab.kl_inverse(q, c))
    assert p == pytest.approx(scalar_kl_inverse(q, c), abs=1e-9)
    assert q <= p < 1
    assert float(lab.kl_bernoulli(q, p)) == pytest.approx(c, abs=1e-7) or p == pytest.approx(1)


def test_kl_inverse_known_values_and_vectorised():
    c = np.array([0.05, 0.5, 2.0])
    np.testing.assert_allclose(lab.kl_inverse(0.0, c), 1 - np.exp(-c), atol=1e-12)  # kl(0‖p)
    np.testing.assert_allclose(lab.kl_inverse(0.3, 0.0), 0.3)
    # Pinsker: kl⁻¹(q, c) ≤ q + √(c/2)
    q = np.linspace(0, 0.9, 10)
    assert (lab.kl_inverse(q, 0.1) <= q + np.sqrt(0.05) + 1e-12).all()


def test_kl_bernoulli_values():
    assert float(lab.kl_bernoulli(0.5, 0.5)) == 0.0
    expected = 0.1 * math.log(0.1 / 0.3) + 0.9 * math.log(0.9 / 0.7)
    assert float(lab.kl_bernoulli(0.1, 0.3)) == pytest.approx(expected)


def test_gaussian_kl_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    mu, w0 = rng.standard_normal(7), rng.standard_normal(7)
    log_sigma, log_std = rng.standard_normal(7) * 0.3, -0.5
    ours = float(lab.gaussian_kl([mu], [log_sigma], [w0], log_std))
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(log_sigma)))
    p = torch.distributions.Normal(torch.tensor(w0), torch.tensor(math.exp(log_std)))
    assert ours == pytest.approx(float(torch.distributions.kl_divergence(q, p).sum()))


def test_gaussian_kl_gradcheck():
    import stirpile
    from stirpile.autograd import gradcheck

    rng = np.random.default_rng(1)
    mu = stirpile.tensor(rng.standard_normal(5), requires_grad=True)
    ls = stirpile.tensor(rng.standard_normal(5) * 0.3, requires_grad=True)
    lp = stirpile.tensor(-2.0, dtype=stirpile.float64, requires_grad=True)
    w0 = stirpile.tensor(rng.standard_normal(5))

    def f(mu, ls, lp):
        return lab.gaussian_kl([mu], [ls], [w0], lp) + lab.bound_extra(100, lp)

    assert gradcheck(f, (mu, ls, lp))


def test_binary_labels():
    np.testing.assert_array_equal(lab.binary_labels(np.arange(10)), [-1] * 5 + [1] * 5)


def test_bound_is_finite_below_one_and_above_snn_test_error(results):
    r = results["true"]
    assert np.isfinite(r["bound"]) and r["bound"] < 1
    assert r["bound"] > r["snn_test_error"]
    # the bound sits above its own ingredients: kl⁻¹ of the Monte-Carlo upper bound
    assert r["snn_train_error"] <= r["snn_train_upper"] <= r["bound"] <= r["pinsker_bound"]
    assert r["kl"] > 0


def test_the_network_learned(results):
    r = results["true"]
    assert r["test_error"] < 0.25 and r["snn_test_error"] < 0.5


def test_random_labels_give_a_vacuous_or_much_larger_bound(results):
    rand, true = results["random"]["bound"], results["true"]["bound"]
    assert rand >= 0.5 or rand > 2 * true
    assert results["random"]["snn_test_error"] > 0.3  # nothing to generalise


def test_report_writes_figure_and_readme(results, tmp_path):
    paths = lab.report(results, tmp_path)
    names = {p.name for p in paths}
    assert {"pac_bayes.png", "README.md"} <= names
    text = (tmp_path / "README.md").read_text()
    assert "0.161" in text and "train5k" in text
