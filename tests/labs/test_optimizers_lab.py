"""The optimizers lab, quick version: the lectures' claims checked on its numbers."""

from __future__ import annotations

import pytest

from stirpile.labs import optimizers


@pytest.fixture(scope="module")
def results(offline_mnist):
    """The quick run; every test here takes it, so all are skipped without the offline MNIST."""
    return optimizers.run(quick=True, data_dir=offline_mnist)


def test_momentum_and_nesterov_beat_sgd_on_the_quadratic(results):
    lr = results["lr"]["quadratic"]
    assert lr["SGD"] == lr["momentum"] == lr["Nesterov"]  # same lr, same steps
    runs = results["landscapes"]["quadratic"]["runs"]
    assert runs["momentum"]["final_loss"] < runs["SGD"]["final_loss"] / 10
    assert runs["Nesterov"]["final_loss"] < runs["SGD"]["final_loss"] / 10


def test_adaptive_methods_progress_on_rosenbrock(results):
    ros = results["landscapes"]["rosenbrock"]
    for name in ("Adam", "RMSprop"):
        assert ros["runs"][name]["final_loss"] < ros["start_loss"] / 10, name


def test_paths_have_one_point_per_step(results):
    for problem in optimizers.PROBLEMS:
        res = results["landscapes"][problem]
        for r in res["runs"].values():
            assert len(r["path"]) == res["steps"] + 1
            assert all(len(p) == 2 for p in r["path"])


def test_every_optimizer_trains_the_mnist_mlp_above_chance(results):
    runs = results["mnist"]["runs"]
    assert set(runs) == set(optimizers.OPTIMIZERS)
    for name, h in runs.items():
        assert len(h["test_acc"]) == results["mnist"]["epochs"]
        assert h["test_acc"][-1] > 0.3, name  # chance is 0.1


def test_cooling_ends_lower_than_a_constant_large_step(results):
    runs = results["schedules"]["runs"]
    assert len(runs) == 4
    constant = runs["constant"]
    assert constant["lr"] == [constant["lr"][0]] * len(constant["lr"])
    decaying = [h for name, h in runs.items() if name != "constant"]
    for h in decaying:
        assert h["lr"][-1] < h["lr"][0]
    assert min(h["train_loss"][-1] for h in decaying) < constant["train_loss"][-1]


def test_report_writes_figures_and_table(results, tmp_path):
    paths = optimizers.report(results, tmp_path)
    names = {p.name for p in paths}
    assert {"landscapes.png", "mnist.png", "schedules.png", "README.md"} <= names
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0
    readme = (tmp_path / "README.md").read_text()
    for name in optimizers.OPTIMIZERS:
        assert f"| {name} |" in readme
    assert "cosine" in readme and "![trajectories](landscapes.png)" in readme
