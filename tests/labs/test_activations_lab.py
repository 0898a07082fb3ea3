"""The activations lab, quick version: the lectures' claims checked on its numbers."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile import nn
from stirpile.labs import activations


@pytest.fixture(scope="module")
def results(offline_mnist):
    """The quick run; every test that takes it is skipped without the offline MNIST."""
    return activations.run(quick=True, data_dir=offline_mnist)


def test_the_table_has_every_row_with_its_year(results):
    rows = results["rows"]
    assert list(rows) == list(activations.ROWS)
    assert len(rows) == 13
    assert rows["sigmoid"]["year"] == "1986" and rows["ELU"]["year"] == "2015"
    for r in rows.values():
        assert len(r["test_acc"]) == len(results["seeds"])


def test_no_activation_means_a_linear_network(results):
    rows = results["rows"]
    assert rows["none"]["linearity_deviation"] < 1e-4  # float32 rounding
    for name, r in rows.items():
        if name != "none":
            assert r["linearity_deviation"] > 1e-2, name
    # a linear map can do no better than softmax regression (up to noise)
    assert rows["none"]["test_acc_mean"] < results["softmax_regression_acc"] + 0.02


def test_every_row_learns_and_relu_is_not_worse_than_sigmoid(results):
    rows = results["rows"]
    for name, r in rows.items():
        assert r["test_acc_mean"] > 0.3, name  # chance is 0.1
    assert rows["ReLU"]["test_acc_mean"] >= rows["sigmoid"]["test_acc_mean"] - 0.02


def test_dead_units_are_counted_for_the_relu_family_only(results):
    rows = results["rows"]
    for name in ("ReLU", "leaky ReLU (α = 0.01)", "PReLU", "ELU"):
        assert 0.0 <= rows[name]["dead_fraction"] <= 1.0
    for name in ("none", "sigmoid", "tanh", "maxout (k = 2)"):
        assert rows[name]["dead_fraction"] is None


def test_dead_fraction_and_linearity_on_a_hand_made_net():
    stirpile.manual_seed(0)
    net = activations.build("ReLU", [4, 3, 2])
    with stirpile.no_grad():
        net[0].bias.fill_(-100.0)  # every unit's input is negative: all dead
    x = np.random.default_rng(0).random((10, 4), dtype=np.float32)
    assert activations.dead_fraction(net, x) == 1.0
    linear = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    assert activations.linearity_deviation(linear, x) < 1e-5


def test_maxout_replaces_the_linear_layer():
    net = activations.build("maxout (k = 2)", [784, 128, 128, 10])
    assert [type(m).__name__ for m in net] == ["Maxout", "Maxout", "Linear"]
    apl = activations.build("APL (S = 2)", [784, 128, 10])
    assert apl[1].hinges == 2


def test_report_writes_figures_and_table(results, tmp_path):
    paths = activations.report(results, tmp_path)
    assert {p.name for p in paths} == {"accuracy.png", "functions.png", "README.md"}
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0
    readme = (tmp_path / "README.md").read_text()
    for name in activations.ROWS:
        assert f"| {name} |" in readme
