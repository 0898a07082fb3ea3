"""The regularization lab, quick version: the lectures' claims checked on its numbers."""

from __future__ import annotations

import pytest

from stirpile.labs import regularization


@pytest.fixture(scope="module")
def results(offline_mnist):
    """The quick run; every test here takes it, so all are skipped without the offline MNIST."""
    return regularization.run(quick=True, data_dir=offline_mnist)


def test_every_setting_ran(results):
    runs = results["runs"]
    assert list(runs) == list(regularization.SETTINGS)
    for r in runs.values():
        assert len(r["curves"]["train_loss"]) == r["epochs_run"] <= results["epochs"]
        assert len(r["curves"]["test_loss"]) == r["epochs_run"]


def test_the_unregularized_net_overfits(results):
    none = results["runs"]["none"]
    assert none["train_acc"] > none["test_acc"]
    assert none["gap"] > 0.02


def test_all_regularizers_together_shrink_the_gap(results):
    runs = results["runs"]
    assert runs["all together"]["gap"] < runs["none"]["gap"]


def test_early_stopping_stops_early_or_keeps_an_earlier_epoch(results):
    es = results["runs"]["early stopping"]
    assert es["epochs_run"] < results["epochs"] or es["best_epoch"] < es["epochs_run"]
    assert 1 <= es["best_epoch"] <= es["epochs_run"]
    # without early stopping every epoch of the budget runs
    assert results["runs"]["none"]["epochs_run"] == results["epochs"]


def test_validation_images_are_held_out_of_training(results):
    assert results["n_val"] > 0
    assert results["n_train"] + results["n_val"] == 1000  # the quick subset


def test_report_writes_figures_and_table(results, tmp_path):
    paths = regularization.report(results, tmp_path)
    assert {p.name for p in paths} == {"overfitting.png", "gap.png", "README.md"}
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0
    readme = (tmp_path / "README.md").read_text()
    for name in regularization.SETTINGS:
        assert f"| {name} |" in readme
