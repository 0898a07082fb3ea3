"""The `stirpile` command never loses a run and answers mistakes before doing work:
numbered output directories, resume in place, options and --out checked first,
evaluate/predict with one-line errors on the wrong checkpoint or image."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import stirpile
from stirpile import cli
from stirpile.cli import main
from stirpile.models import mlp

MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="offline MNIST not available")
TINY = ["--dataset", "digits", "--epochs", "2", "--hidden", "8", "--no-augment",
        "--batch-size", "256"]  # fmt: skip


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, err, needle):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, err
    assert needle in lines[0] and "Traceback" not in err, lines[0]


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No cache and no network: only what the test points at is found."""
    monkeypatch.setenv("STIRPILE_DATA", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("STIRPILE_MNIST_MIRROR", "http://127.0.0.1:9/")


# -- no run replaces another -------------------------------------------------------------
def test_a_second_run_into_the_same_out_goes_to_a_numbered_directory(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "run"
    assert _run(["train", *TINY, "--out", out], capsys)[0] == 0
    first = (out / "summary.json").read_bytes()
    code, stdout, _ = _run(["train", *TINY, "--seed", "1", "--out", out], capsys)
    assert code == 0 and "--overwrite" in stdout and f"{out}-2" in stdout
    assert (out / "summary.json").read_bytes() == first  # untouched
    assert json.loads((tmp_path / "run-2" / "summary.json").read_text())["config"]["seed"] == 1
    code, _, _ = _run(["train", *TINY, "--seed", "2", "--out", out, "--overwrite"], capsys)
    assert code == 0 and json.loads((out / "summary.json").read_text())["config"]["seed"] == 2
    assert not (tmp_path / "run-3").exists()


def test_the_default_out_is_numbered_too(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    assert _run(["train", *TINY], capsys)[0] == 0
    assert _run(["train", *TINY], capsys)[0] == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["digits", "digits-2"]


def _interrupted_run(tmp_path, capsys, monkeypatch):
    from stirpile.train.loop import Trainer

    real_epoch = Trainer.train_epoch

    def crash_in_epoch_2(self, loader):
        if self.epoch == 2:
            raise KeyboardInterrupt
        return real_epoch(self, loader)

    monkeypatch.setattr(Trainer, "train_epoch", crash_in_epoch_2)
    run = tmp_path / "run"
    code, _, _ = _run(["train", *TINY, "--out", run], capsys)
    monkeypatch.setattr(Trainer, "train_epoch", real_epoch)
    assert code == 130 and (run / "last.ckpt").is_file()
    assert [p.name for p in run.iterdir() if p.name.endswith(".tmp")] == []
    return run


def test_resume_without_out_continues_in_the_run_directory(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    run = _interrupted_run(tmp_path, capsys, monkeypatch)
    monkeypatch.chdir(tmp_path)  # where a default runs/digits would go
    code, out, _ = _run(["train", "--resume", run / "last.ckpt"], capsys)
    assert code == 0 and "resumed" in out
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2
    assert (run / "model.ckpt").is_file() and not (tmp_path / "runs").exists()

    code, _, err = _run(["train", "--resume", run / "last.ckpt"], capsys)  # finished now
    _one_line_error(code, err, "already finished")
    assert "model.ckpt" in err
    code, _, err = _run(["train", "--resume", run / "model.ckpt"], capsys)
    _one_line_error(code, err, "last.ckpt")


def test_checkpoints_get_the_same_permissions_as_other_outputs(tmp_path, capsys):
    pytest.importorskip("sklearn")
    old = os.umask(0o022)
    try:
        assert _run(["train", *TINY, "--out", tmp_path / "run"], capsys)[0] == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "run").iterdir()}
    assert set(modes.values()) == {0o644}, modes


# -- errors before work ------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, needle",
    [
        (["--lr", "inf"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--momentum", "nan"], "--momentum"),
        (["--momentum", "1.5"], "--momentum"),
        (["--weight-decay", "-1"], "--weight-decay"),
        (["--weight-decay", "inf"], "--weight-decay"),
        (["--seed", "-1"], "--seed"),
        (["--hidden", "0"], "--hidden"),
        (["--hidden", "10000000000"], "GiB"),
        (["--epochs", "100000000000"], "--epochs"),
    ],
)
def test_bad_options_fail_before_any_work(args, needle, tmp_path, capsys, monkeypatch):
    def no_data(*a, **k):
        raise AssertionError("data was loaded before the options were checked")

    monkeypatch.setattr(cli, "load_data", no_data)
    code, _, err = _run(["train", "--dataset", "digits", "--out", tmp_path / "o", *args], capsys)
    _one_line_error(code, err, needle)
    assert not (tmp_path / "o").exists()


def test_an_unusable_out_fails_before_the_first_epoch(tmp_path, capsys, monkeypatch):
    from stirpile.train.loop import Trainer

    def no_training(*a, **k):
        raise AssertionError("training started")

    monkeypatch.setattr(Trainer, "fit", no_training)
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = _run(["train", "--dataset", "digits", "--out", afile], capsys)
    _one_line_error(code, err, "is a file")
    code, _, err = _run(["train", "--dataset", "digits", "--out", afile / "sub"], capsys)
    _one_line_error(code, err, "cannot write")
    code, _, err = _run(["lab", "perceptron", "--quick", "--out", afile], capsys)
    _one_line_error(code, err, "is a file")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, _, err = _run(["train", "--dataset", "digits", "--out", locked, "--overwrite"],
                            capsys)  # fmt: skip
        _one_line_error(code, err, "cannot write")


# -- evaluate and predict ----------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """A 1-epoch MNIST run (train5k) with its --data-dir remembered in the checkpoint."""
    if not MNIST_DIR.is_dir():
        pytest.skip("offline MNIST not available")
    out = tmp_path_factory.mktemp("mnist") / "run"
    code = main(["train", "--data-dir", str(MNIST_DIR), "--hidden", "32", "--epochs", "1",
                 "--batch-size", "128", "--no-augment", "--out", str(out)])  # fmt: skip
    assert code == 0
    return out


@needs_mnist
def test_evaluate_needs_only_the_test_files(mnist_run, tmp_path, capsys, offline):
    test_only = tmp_path / "t10k"
    test_only.mkdir()
    for f in MNIST_DIR.glob("t10k-*"):
        shutil.copy(f, test_only)
    expected = json.loads((mnist_run / "summary.json").read_text())["test_acc"]
    code, out, err = _run(["evaluate", mnist_run / "model.ckpt", "--data-dir", test_only],
                          capsys)  # fmt: skip
    assert code == 0, err
    assert f"{expected:.2%}" in out
    # no --dataset, no --data-dir: both come from the checkpoint
    code, out, err = _run(["evaluate", mnist_run / "model.ckpt"], capsys)
    assert code == 0, err
    assert f"{expected:.2%}" in out


@needs_mnist
def test_evaluate_on_other_data_is_a_one_line_error(mnist_run, capsys, offline):
    code, _, err = _run(["evaluate", mnist_run / "model.ckpt", "--dataset", "digits"], capsys)
    _one_line_error(code, err, "trained on mnist")


def _hand_made(path, **changes):
    """A model.ckpt as `stirpile train` writes it (MLP 784-16-10), with ``changes`` to
    its config or meta (the weights stay)."""
    stirpile.manual_seed(0)
    model = mlp([784, 16, 10], cli.DEFAULTS["activation"], cli.DEFAULTS["dropout"])
    cfg = {**cli.DEFAULTS, "hidden": [16], "dataset": "mnist"}
    meta = {"config": cfg, "image_shape": [28, 28], "classes": 10}
    for k, v in changes.items():
        (cfg if k in cfg else meta)[k] = v
    stirpile.save({"model": model.state_dict(), "meta": meta}, path)
    return path


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda p: stirpile.save([1, 2], p), "not a stirpile train checkpoint"),
        (
            lambda p: stirpile.save({"model": {}, "meta": {"config": {"hidden": [4]}}}, p),
            "not a usable",
        ),
        (lambda p: _hand_made(p, hidden=[10**13]), "not a usable"),  # forged: no allocation
        (lambda p: _hand_made(p, classes=7), "not a usable"),
        (lambda p: _hand_made(p, activation="nonsense"), "activation"),
    ],
)
def test_evaluate_and_predict_refuse_other_files_in_one_line(make, needle, tmp_path, capsys):
    path = tmp_path / "x.ckpt"
    make(path)
    code, _, err = _run(["evaluate", path, "--data-dir", tmp_path], capsys)
    _one_line_error(code, err, needle)
    code, _, err = _run(["predict", path, tmp_path / "none.png"], capsys)
    _one_line_error(code, err, needle)


def test_forged_config_is_refused_before_a_model_is_built(tmp_path, capsys, monkeypatch):
    path = _hand_made(tmp_path / "x.ckpt", hidden=[10**13])

    def no_model(*a, **k):
        raise AssertionError("a model was built")

    monkeypatch.setattr("stirpile.models.mlp", no_model)
    code, _, err = _run(["predict", path, tmp_path / "none.png"], capsys)
    _one_line_error(code, err, "where the config has")


def _digit_image():
    """A 28x28 '1'-ish stroke: 255 where the ink is."""
    a = np.zeros((28, 28), np.uint8)
    a[5:23, 12:16] = 255
    a[5:9, 9:13] = 200
    return a


def test_predict_composites_transparency_over_white(tmp_path, capsys):
    from PIL import Image

    ckpt = _hand_made(tmp_path / "m.ckpt")
    ink = _digit_image()
    Image.fromarray(255 - ink).save(tmp_path / "paper.png")  # black ink on white
    rgba = np.zeros((28, 28, 4), np.uint8)  # black everywhere, transparent but the ink
    rgba[..., 3] = ink
    Image.fromarray(rgba, "RGBA").save(tmp_path / "transparent.png")
    la = np.stack([np.zeros_like(ink), ink], -1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    answers = []
    for name in ("paper.png", "transparent.png", "la.png"):
        code, out, err = _run(["predict", ckpt, tmp_path / name], capsys)
        assert code == 0, err
        answers.append(out.split(": ", 1)[1])
    assert answers[0] == answers[1] == answers[2]
    x = cli._read_image(str(tmp_path / "transparent.png"), (28, 28))
    np.testing.assert_allclose(x.reshape(28, 28), ink / 255.0, atol=1 / 255)


def test_predict_refuses_huge_images_in_one_line(tmp_path, capsys):
    from PIL import Image

    ckpt = _hand_made(tmp_path / "m.ckpt")
    Image.new("L", (4100, 4100)).save(tmp_path / "huge.png")
    code, _, err = _run(["predict", ckpt, tmp_path / "huge.png"], capsys)
    _one_line_error(code, err, "too large")
