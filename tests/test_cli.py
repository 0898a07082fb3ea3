"""The `stirpile` command end to end on small runs; errors are one line with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stirpile.cli import main

MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


def _run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="offline MNIST not available")
def test_train_evaluate_predict_resume_on_offline_mnist(tmp_path, capsys):
    out_dir = tmp_path / "run"
    base = ["train", "--data-dir", str(MNIST_DIR), "--hidden", "64", "--batch-size", "128",
            "--optimizer", "adam", "--lr", "0.003", "--no-augment",
            "--out", str(out_dir)]  # fmt: skip
    code, out, _ = _run([*base, "--epochs", "2"], capsys)
    assert code == 0
    assert "MNIST (train5k)" in out and "test accuracy" in out
    for name in ("model.ckpt", "last.ckpt", "best.ckpt", "history.csv", "summary.json",
                 "curves.png", "confusion.png", "weights.png", "predictions.png"):  # fmt: skip
        assert (out_dir / name).is_file(), name
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["epochs"] == 2 and summary["test_acc"] > 0.85
    assert summary["config"]["hidden"] == [64] and summary["config"]["optimizer"] == "adam"

    code, out, _ = _run(["evaluate", str(out_dir / "model.ckpt"), "--data-dir", str(MNIST_DIR)],
                        capsys)  # fmt: skip
    assert code == 0 and f"{summary['test_acc']:.2%}" in out

    # a test image written as a PNG: black ink on white paper, as people draw digits
    from PIL import Image

    from stirpile.data.datasets import MNIST

    test = MNIST(root=MNIST_DIR, train=False)
    img = 255 - test.data[0]
    Image.fromarray(img).save(tmp_path / "digit.png")
    code, out, _ = _run(["predict", str(out_dir / "model.ckpt"), str(tmp_path / "digit.png")],
                        capsys)  # fmt: skip
    assert code == 0 and out.split(": ")[1].startswith(str(int(test.targets[0])))


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="offline MNIST not available")
def test_interrupted_train_resumes_to_the_same_result(tmp_path, capsys, monkeypatch):
    from stirpile.train.loop import Trainer

    def args(out):
        return ["train", "--data-dir", str(MNIST_DIR), "--hidden", "32", "--epochs", "3",
                "--batch-size", "256", "--out", str(out)]  # fmt: skip

    assert _run(args(tmp_path / "a"), capsys)[0] == 0
    full = json.loads((tmp_path / "a" / "summary.json").read_text())

    real_epoch = Trainer.train_epoch

    def crash_in_epoch_3(self, loader):
        if self.epoch == 3:
            raise KeyboardInterrupt
        return real_epoch(self, loader)

    monkeypatch.setattr(Trainer, "train_epoch", crash_in_epoch_3)
    code, _, err = _run(args(tmp_path / "b"), capsys)
    assert code == 130 and "--resume" in err
    monkeypatch.setattr(Trainer, "train_epoch", real_epoch)
    resume = ["train", "--data-dir", str(MNIST_DIR), "--out", str(tmp_path / "b"),
              "--resume", str(tmp_path / "b" / "last.ckpt")]  # fmt: skip
    code, out, _ = _run(resume, capsys)
    assert code == 0 and "resumed" in out
    resumed = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert resumed["epochs"] == 3
    assert resumed["test_acc"] == full["test_acc"] and resumed["test_loss"] == full["test_loss"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["train", "--hidden", "abc"], "--hidden"),
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--dropout", "1.5"], "--dropout"),
        (["train", "--optimizer", "lbfgs"], "invalid choice"),
        (["train", "--data-dir", "/nonexistent/dir", "--epochs", "1"], "missing"),
        (["train", "--resume", "/nonexistent.ckpt"], "no such checkpoint"),
        (["evaluate", "/nonexistent.ckpt"], "no such checkpoint"),
        (["frobnicate"], "invalid choice"),
        (["train", "--threads", "0"], "--threads"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args, needle, capsys):
    code, _, err = _run(args, capsys)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err


def test_corrupt_checkpoint_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    code, _, err = _run(["evaluate", str(bad)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(bad) in err


def test_python_dash_m_runs_the_command():
    proc = subprocess.run([sys.executable, "-m", "stirpile", "train", "--epochs", "-1"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "--epochs" in proc.stderr


def test_train_falls_back_to_digits_offline(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn")
    monkeypatch.setenv("STIRPILE_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("STIRPILE_MNIST_MIRROR", "http://127.0.0.1:9/")  # closed port: fails fast
    code, out, _ = _run(["train", "--epochs", "2", "--hidden", "32", "--out",
                         str(tmp_path / "run"), "--no-augment"], capsys)  # fmt: skip
    assert code == 0
    assert "training on the 8x8 digits instead" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["config"]["dataset"] == "digits" and summary["test_acc"] > 0.5
    assert np.isfinite(summary["test_loss"])
