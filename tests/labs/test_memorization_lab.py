"""The memorization lab (Zhang et al. 2017): an MLP fits random MNIST labels, test stays at
chance, and label noise costs epochs and test accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from stirpile.labs import memorization as lab


@pytest.fixture(scope="module")
def results(offline_mnist):
    return lab.run(quick=True, seed=0, data_dir=offline_mnist)


@pytest.fixture(scope="module")
def runs(results):
    return {r["p"]: r for r in results["runs"]}


def test_random_labels_are_memorized_and_test_stays_at_chance(runs):
    rnd = runs[1.0]
    assert rnd["wrong_labels"] > 0.8  # the labels really are noise
    assert rnd["final_train_acc"] >= 0.95
    assert abs(rnd["final_test_acc"] - lab.CHANCE) <= 0.03


def test_true_labels_generalize(runs):
    assert runs[0.0]["final_train_acc"] >= 0.99
    assert runs[0.0]["final_test_acc"] >= 0.8


def test_epochs_to_fit_grow_with_noise_by_a_small_factor(results, runs):
    epochs = [runs[p]["epochs_to_fit"] for p in sorted(runs)]
    assert all(e is not None for e in epochs)
    assert np.all(np.diff(epochs) > 0)
    assert 1 < results["slowdown"] <= 30


def test_test_error_rises_with_noise(runs):
    errors = [runs[p]["test_error"] for p in sorted(runs)]
    assert np.all(np.diff(errors) > 0)


def test_report_writes_figures_and_readme(results, tmp_path):
    paths = lab.report(results, tmp_path)
    assert {p.name for p in paths} == {"curves.png", "noise_sweep.png", "README.md"}
    text = (tmp_path / "README.md").read_text()
    assert "**Claim.**" in text and "train5k" in text and "| judge |" in text


def test_corrupt_labels_replaces_the_expected_fraction():
    y = np.arange(10).repeat(2000)
    assert (lab.corrupt_labels(y, 0.0) == y).all()
    for p in (0.2, 0.5, 1.0):
        noisy = lab.corrupt_labels(y, p, seed=1)
        assert noisy.dtype == y.dtype and noisy.min() >= 0 and noisy.max() <= 9
        assert abs((noisy != y).mean() - 0.9 * p) < 0.02  # a uniform class is right 1 in 10
    counts = np.bincount(lab.corrupt_labels(y, 1.0, seed=2), minlength=10)
    assert counts.min() > 1700  # fully random labels are uniform over the classes
    assert (lab.corrupt_labels(y, 0.5, seed=3) == lab.corrupt_labels(y, 0.5, seed=3)).all()


def test_corrupt_labels_rejects_bad_levels():
    with pytest.raises(ValueError, match="corruption level"):
        lab.corrupt_labels(np.arange(5), 1.5)


def test_fit_stops_at_the_fit_threshold():
    rng = np.random.default_rng(0)
    x = rng.random((64, 20), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    h = lab.fit(x, y, x[:16], y[:16], hidden=64, max_epochs=200, lr=1e-2, batch_size=16,
                test_every=0)  # fmt: skip
    assert h["epochs_to_fit"] is not None and h["epochs_to_fit"] == len(h["train_loss"])
    assert h["final_train_acc"] >= lab.FIT_ACC
    assert h["test_epoch"] == [h["epochs_to_fit"]]  # test_every=0: only at the end
    assert h["params"] == 20 * 64 + 64 + 64 * 10 + 10


def test_fit_reports_none_when_not_fitted():
    rng = np.random.default_rng(1)
    x = rng.random((64, 20), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    h = lab.fit(x, y, x, y, hidden=8, max_epochs=2, lr=1e-4, test_every=1)
    assert h["epochs_to_fit"] is None and h["test_epoch"] == [1, 2]
    assert len(h["train_acc"]) == 2


def test_registered():
    from stirpile.labs import LABS, get

    assert LABS["memorization"] == "memorization" and get("memorization") is lab


def test_report_says_when_epochs_to_fit_are_not_monotone(results, tmp_path):
    import copy

    fake = copy.deepcopy(results)
    fake["runs"][0]["epochs_to_fit"] = 10**6  # true labels "slower" than random ones
    lab.report(fake, tmp_path)
    assert (
        "**not** monotone: p = 0% took longer than p = 100%" in (tmp_path / "README.md").read_text()
    )
    assert not dict((j[0], j[2]) for j in lab.judges(fake))["epochs-to-fit rises with corruption"]
