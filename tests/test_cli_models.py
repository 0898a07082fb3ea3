"""`stirpile train --model lenet|lstm`: the same outputs as the MLP runs (checkpoint,
curves, summary), and checkpoints that evaluate and predict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stirpile.cli import main

MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


def _run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="offline MNIST not available")
@pytest.mark.parametrize("model, label, floor", [("lenet", "LeNet-5", 0.9), ("lstm", "LSTM", 0.6)])
def test_train_evaluate_predict_other_models(tmp_path, capsys, model, label, floor):
    out_dir = tmp_path / model
    code, out, _ = _run(["train", "--model", model, "--data-dir", str(MNIST_DIR), "--epochs", "2",
                         "--optimizer", "adam", "--lr", "0.003", "--no-augment",
                         "--out", str(out_dir)], capsys)  # fmt: skip
    assert code == 0 and f"training {label}" in out
    for name in ("model.ckpt", "last.ckpt", "history.csv", "summary.json", "curves.png",
                 "confusion.png", "predictions.png"):  # fmt: skip
        assert (out_dir / name).is_file(), name
    assert (out_dir / "weights.png").is_file() == (model == "lenet")  # first conv's kernels
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["config"]["model"] == model and summary["test_acc"] > floor
    code, out, _ = _run(["evaluate", str(out_dir / "model.ckpt"), "--data-dir", str(MNIST_DIR)],
                        capsys)  # fmt: skip
    assert code == 0 and f"{summary['test_acc']:.2%}" in out

    from PIL import Image

    from stirpile.data.datasets import MNIST

    test = MNIST(root=MNIST_DIR, train=False)
    Image.fromarray(255 - test.data[1]).save(tmp_path / "digit.png")
    code, out, _ = _run(["predict", str(out_dir / "model.ckpt"), str(tmp_path / "digit.png")],
                        capsys)  # fmt: skip
    assert code == 0 and out.split(": ")[1][0].isdigit()


def test_lenet_on_8x8_digits_is_a_one_line_error(tmp_path, capsys):
    pytest.importorskip("sklearn")
    code, _, err = _run(["train", "--model", "lenet", "--dataset", "digits", "--epochs", "1",
                         "--out", str(tmp_path / "run")], capsys)  # fmt: skip
    assert code == 2 and "too small" in err and len(err.strip().splitlines()) == 1
    assert not any((tmp_path / "run").glob("*.ckpt"))  # nothing trained


def test_unknown_model_is_refused(capsys):
    code, _, err = _run(["train", "--model", "resnet"], capsys)
    assert code == 2 and "--model" in err and "invalid choice" in err
