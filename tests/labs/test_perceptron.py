"""The perceptron lab: convergence on separable data, not on XOR; linear models and an
MLP on (a subset of) MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from stirpile.labs import perceptron as lab


@pytest.fixture(scope="module")
def results(mnist_dir):
    return lab.run(quick=True, seed=0, data_dir=mnist_dir)


@pytest.fixture
def mnist_rows(results):
    if "mnist" not in results:
        pytest.skip(f"no MNIST: {results.get('mnist_skipped')}")
    return {r["method"]: r for r in results["mnist"]}


def test_perceptron_converges_on_separable_data_within_novikoffs_bound(results):
    sep = results["separable"]
    assert sep["converged"] and sep["mistakes_per_epoch"][-1] == 0
    assert sep["total_mistakes"] <= sep["bound"]
    X, y, w = sep["X"], sep["y"], sep["w"]
    assert (np.sign(X @ w) == y).all()  # zero training errors


def test_perceptron_does_not_converge_on_xor(results):
    m = results["xor"]["mistakes_per_epoch"]
    assert not results["xor"]["converged"]
    assert len(m) == 100 and min(m) > 0


def test_closed_form_is_least_squares():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((50, 5)), rng.standard_normal((50, 3))
    assert np.allclose(lab.closed_form(X, Y, 0.0), np.linalg.lstsq(X, Y, rcond=None)[0])


def test_gradient_descent_converges_to_the_closed_form(results, mnist_rows):
    reg = results["regression"]
    plain, momentum = reg["gd"]["GD"], reg["gd"]["GD + momentum"]
    assert momentum["rel_dist"][-1] < 1e-3
    assert momentum["loss"][-1] - reg["loss_star"] < 1e-6
    # plain GD gets there too, only slowly (condition number ~ 4000): monotone progress
    assert (np.diff(plain["rel_dist"]) < 0).all()
    gap = np.array(plain["loss"]) - reg["loss_star"]
    assert (gap > -1e-9).all() and gap[-1] < gap[0] / 10
    # same weights, same predictions
    closed = mnist_rows["linear regression, closed form"]
    gd = mnist_rows["linear regression, GD + momentum"]
    assert gd["test_acc"] == pytest.approx(closed["test_acc"], abs=0.005)


def test_mlp_beats_softmax_regression_which_matches_the_perceptron(mnist_rows):
    mlp = mnist_rows["MLP 784-256-10 (ReLU)"]["test_acc"]
    softmax = mnist_rows["softmax regression"]["test_acc"]
    perceptron = mnist_rows["perceptron (10 one-vs-rest)"]["test_acc"]
    assert softmax > 0.5  # chance is 10%
    assert perceptron > 0.5
    assert mlp > softmax >= perceptron - 0.02


def test_report_writes_figures_and_table(results, tmp_path):
    names = {p.name for p in lab.report(results, tmp_path)}
    assert {"perceptron.png", "README.md"} <= names
    if "mnist" in results:
        assert {"regression_gd.png", "perceptron_weights.png"} <= names
        assert "| method | train acc | test acc |" in (tmp_path / "README.md").read_text()
