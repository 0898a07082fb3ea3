"""The init lab: vanishing/exploding signals through depth, on its quick run."""

from __future__ import annotations

import numpy as np
import pytest

from stirpile.labs import init as lab


@pytest.fixture(scope="module")
def results(mnist_dir):
    return lab.run(quick=True, seed=0, data_dir=mnist_dir)


def test_xavier_tanh_and_he_relu_keep_gradients_within_a_factor_10(results):
    for key in ("tanh/xavier", "relu/he"):
        g = results["probe"][key]["grad_std"]
        assert len(g) == results["depth"] >= 30
        assert max(g) / min(g) < 10, key


def test_too_small_init_makes_gradients_vanish(results):
    for act in lab.ACTIVATIONS:
        p = results["probe"][f"{act}/small"]
        assert p["grad_std"][-1] / p["grad_std"][0] > 1e3  # last layer ≫ first layer
        assert p["act_std"][0] / p["act_std"][-1] > 1e3


def test_too_large_init_explodes_relu_and_saturates_tanh(results):
    relu = results["probe"]["relu/large"]
    assert relu["act_std"][-1] / relu["act_std"][0] > 1e3
    assert relu["grad_std"][0] / relu["grad_std"][-1] > 1e3
    tanh = results["probe"]["tanh/large"]
    assert tanh["saturated"] > 0.5  # most units sit in the flat tails, |h| > 0.99
    assert results["probe"]["tanh/xavier"]["saturated"] < 0.05


def test_per_layer_growth_is_the_lectures_n_var_w(results):
    # var(z^(L)) = n_in var(w) var(z^(L−1)); a ReLU halves the second moment
    for init in ("small", "large"):
        p = results["probe"][f"relu/{init}"]
        a = np.array(p["act_std"])
        per_layer = (a[-1] / a[0]) ** (1 / (len(a) - 1))
        assert per_layer == pytest.approx(np.sqrt(p["n_var_w"] / 2), rel=0.1)
    assert results["probe"]["relu/xavier"]["n_var_w"] == pytest.approx(1, rel=0.05)
    assert results["probe"]["relu/he"]["n_var_w"] == pytest.approx(2, rel=0.05)


def test_good_inits_train_on_mnist_and_bad_ones_stall(results):
    if not results["mnist"]:
        pytest.skip(f"no MNIST: {results.get('mnist_skipped')}")
    acc = {k: c["test_acc"][-1] for k, c in results["mnist"].items()}
    assert acc["tanh/xavier"] > 0.4 and acc["relu/he"] > 0.4
    for act in lab.ACTIVATIONS:
        assert acc[f"{act}/small"] < 0.2 and acc[f"{act}/large"] < 0.2


def test_report_writes_figures_and_table(results, tmp_path):
    names = {p.name for p in lab.report(results, tmp_path)}
    assert {"signal.png", "README.md"} <= names
    if results["mnist"]:
        assert "mnist.png" in names
    readme = (tmp_path / "README.md").read_text()
    assert "| activation | init |" in readme
