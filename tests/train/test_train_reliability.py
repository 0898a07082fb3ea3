"""The fit loop never reports a meaningless number and never loses state on a resume:
accuracy only where the loss gives it a meaning, "best" by a meaningful metric,
every callback's state in the checkpoint, no temporary files left by an interrupt."""

from __future__ import annotations

import os

import numpy as np
import pytest

import stirpile
from stirpile import nn, optim
from stirpile.data import DataLoader, TensorDataset
from stirpile.data.datasets import spirals
from stirpile.train import Checkpoint, EarlyStopping, Trainer, accuracy, fit


def _binary_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype(np.float32)  # (N, 1) float targets
    return x, y


@pytest.mark.parametrize("probabilities", [False, True])
def test_single_logit_accuracy_is_thresholded(probabilities):
    x, y = _binary_data()
    stirpile.manual_seed(0)
    layers = [nn.Linear(4, 1)] + ([nn.Sigmoid()] if probabilities else [])
    model = nn.Sequential(*layers)
    loss = nn.BCELoss() if probabilities else nn.BCEWithLogitsLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    h = fit(model, optim.SGD(model.parameters(), lr=0.5), loader, epochs=5, val_loader=loader,
            loss_fn=loss, log=None)  # fmt: skip
    with stirpile.no_grad():
        out = model(stirpile.tensor(x)).numpy()
    expected = np.mean((out > (0.5 if probabilities else 0.0)) == (y > 0.5))
    assert 0.0 <= h.last["val_acc"] <= 1.0 and h.last["train_acc"] <= 1.0
    assert h.last["val_acc"] == pytest.approx(expected)
    assert h.last["val_acc"] > 0.8  # it learns a linear boundary


def test_functional_bce_with_logits_also_thresholds_at_zero():
    x, y = _binary_data()
    stirpile.manual_seed(0)
    model = nn.Linear(4, 1)
    loader = DataLoader(TensorDataset(x, y), batch_size=64)
    h = fit(model, optim.SGD(model.parameters(), lr=0.5), loader, epochs=3, val_loader=loader,
            loss_fn=nn.functional.binary_cross_entropy_with_logits, log=None)  # fmt: skip
    assert 0.0 <= h.last["val_acc"] <= 1.0


def test_regression_logs_no_accuracy_and_checkpoints_by_val_loss(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((70, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    stirpile.manual_seed(0)
    model = nn.Linear(3, 1)
    loader = DataLoader(TensorDataset(x, y), batch_size=10)
    ckpt = Checkpoint(tmp_path)
    # a learning rate high enough that the loss goes up and down
    h = fit(model, optim.SGD(model.parameters(), lr=0.3), loader, epochs=6, val_loader=loader,
            loss_fn=nn.MSELoss(), callbacks=[ckpt], log=None)  # fmt: skip
    assert all("train_acc" not in r and "val_acc" not in r for r in h.rows)
    assert ckpt.monitor == "val_loss"
    best = stirpile.load(tmp_path / "best.ckpt")
    assert best["epoch"] == 1 + int(np.argmin(h["val_loss"]))


def test_accuracy_metric_with_threshold():
    out = np.array([[3.0], [-1.0], [0.2], [-0.1]])
    tgt = np.array([[1.0], [0.0], [0.0], [0.0]])
    assert accuracy(out, tgt, threshold=0.0) == 0.75
    with pytest.raises(ValueError, match="one score per target"):
        accuracy(np.zeros((4, 2)), tgt, threshold=0.0)


# -- resume keeps every callback's state ------------------------------------------------
def _diverging_run(tmp_path, epochs, order, resume=None):
    """SGD with a learning rate so large the validation loss is best at epoch 3 and early
    stopping (patience 3) ends the run after epoch 6 (see the guard below)."""
    x, y = spirals(n=100, seed=1)
    stirpile.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    loader = DataLoader(TensorDataset(x, y), batch_size=100)
    opt = optim.SGD(model.parameters(), lr=50.0)
    es = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    ckpt = Checkpoint(tmp_path, monitor="val_loss")
    cbs = [es, ckpt] if order == "es-first" else [ckpt, es]
    trainer = Trainer(model, opt, callbacks=cbs, log=None)
    history = trainer.fit(loader, epochs, loader, resume=resume)
    return model, history, es, ckpt


@pytest.mark.parametrize("order", ["es-first", "checkpoint-first"])
def test_early_stopping_and_best_checkpoint_survive_a_resume(tmp_path, order):
    model, history, es, _ = _diverging_run(tmp_path / "full", 50, order)
    assert (es.best_epoch, len(history)) == (3, 6)  # guard: best at 3, stop after 6
    reference = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    best_full = stirpile.load(tmp_path / "full" / "best.ckpt")

    _diverging_run(tmp_path / "cut", 4, order)  # "interrupted" after epoch 4
    model, history, es, ckpt = _diverging_run(
        tmp_path / "cut", 50, order, resume=tmp_path / "cut" / "last.ckpt"
    )
    assert len(history) == 6 and es.best_epoch == 3
    for k, v in model.state_dict().items():  # the restored best weights, as uninterrupted
        assert np.array_equal(v.numpy(), reference[k]), k
    best = stirpile.load(tmp_path / "cut" / "best.ckpt")
    assert best["epoch"] == 3 == best_full["epoch"]  # not replaced by the worse epoch 5
    assert ckpt.best == pytest.approx(history.rows[2]["val_loss"])


def test_resuming_an_early_stopped_run_trains_no_more(tmp_path):
    model, _, _, _ = _diverging_run(tmp_path, 50, "es-first")
    final = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    model, history, _, _ = _diverging_run(tmp_path, 50, "es-first", resume=tmp_path / "last.ckpt")
    assert len(history) == 6
    for k, v in model.state_dict().items():
        assert np.array_equal(v.numpy(), final[k]), k


def test_an_interrupted_history_write_leaves_no_temp_files(tmp_path, monkeypatch):
    x, y = _binary_data()
    model = nn.Linear(4, 1)
    loader = DataLoader(TensorDataset(x, y), batch_size=64)
    real_replace = os.replace

    def interrupted(src, dst):
        if str(dst).endswith("history.json"):
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit(model, optim.SGD(model.parameters(), lr=0.1), loader, epochs=1,
            loss_fn=nn.BCEWithLogitsLoss(), out_dir=tmp_path, log=None)  # fmt: skip
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_class_scores_along_dim_1_for_extra_dimensions():
    """cross_entropy's (N, C, d) scores with (N, d) targets: the class is dim 1."""
    from stirpile.train.loop import _n_correct

    out = np.random.default_rng(0).standard_normal((4, 3, 5))
    tgt = out.argmax(1)
    tgt[0, 0] = (tgt[0, 0] + 1) % 3
    assert _n_correct(out, tgt, "argmax") == 19
    assert _n_correct(out, tgt.astype(np.float32), "argmax") is None  # not class indices


def test_resuming_from_a_weights_only_file_names_last_ckpt(tmp_path):
    from stirpile.io import CheckpointError

    model = nn.Linear(2, 2)
    stirpile.save({"model": model.state_dict()}, tmp_path / "model.ckpt")
    loader = DataLoader(TensorDataset(np.zeros((4, 2), np.float32), np.zeros(4, np.int64)))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), log=None)
    with pytest.raises(CheckpointError, match=r"last\.ckpt"):
        trainer.fit(loader, 2, resume=tmp_path / "model.ckpt")
