"""The fit loop: learning, exact resume, callbacks, history files, real MNIST accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import stirpile
from stirpile import nn, optim
from stirpile.data import DataLoader, TensorDataset
from stirpile.data.datasets import spirals
from stirpile.data.transforms import RandomShift
from stirpile.train import Checkpoint, EarlyStopping, History, Trainer, fit

MNIST_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist"


def _toy_setup(seed: int, with_aug: bool = True):
    """A small MLP with dropout, a shuffled loader with its own generator, a per-batch
    schedule and an augmentation: every source of randomness a real run has."""
    rng = np.random.default_rng(0)
    x = rng.random((96, 16), dtype=np.float32)
    y = (x[:, :8].sum(1) > x[:, 8:].sum(1)).astype(np.int64)
    stirpile.manual_seed(seed)
    model = nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Dropout(0.3), nn.Linear(12, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=7)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.02, epochs=4, steps_per_epoch=len(loader))
    aug = RandomShift(1, image_shape=(4, 4), generator=3) if with_aug else None
    return model, opt, loader, sched, aug


def test_resumed_run_is_bit_identical_to_uninterrupted(tmp_path):
    model, opt, loader, sched, aug = _toy_setup(seed=1)
    Trainer(model, opt, scheduler=sched, augment=aug, log=None).fit(loader, 4)
    reference = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    model, opt, loader, sched, aug = _toy_setup(seed=1)
    ckpt = Checkpoint(tmp_path)
    Trainer(model, opt, scheduler=sched, augment=aug, callbacks=[ckpt], log=None).fit(loader, 2)
    # a fresh process would rebuild everything, even with another init seed
    model2, opt2, loader2, sched2, aug2 = _toy_setup(seed=99)
    trainer = Trainer(model2, opt2, scheduler=sched2, augment=aug2, log=None)
    history = trainer.fit(loader2, 4, resume=tmp_path / "last.ckpt")
    assert [r["epoch"] for r in history.rows] == [1, 2, 3, 4]
    for k, v in model2.state_dict().items():
        assert np.array_equal(v.numpy(), reference[k]), k


def test_resume_without_the_rng_state_would_differ(tmp_path):
    """Guard for the test above: skipping the RNG restore must change the result."""
    model, opt, loader, sched, aug = _toy_setup(seed=1)
    Trainer(model, opt, scheduler=sched, augment=aug, log=None).fit(loader, 4)
    reference = model.state_dict()["0.weight"].numpy().copy()
    model, opt, loader, sched, aug = _toy_setup(seed=1)
    Trainer(model, opt, scheduler=sched, augment=aug, callbacks=[Checkpoint(tmp_path)],
            log=None).fit(loader, 2)  # fmt: skip
    model2, opt2, loader2, sched2, aug2 = _toy_setup(seed=99)
    t = Trainer(model2, opt2, scheduler=sched2, augment=aug2, log=None)
    t._train_loader = loader2
    state = stirpile.load(tmp_path / "last.ckpt")
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["optimizer"])
    sched2.load_state_dict(state["scheduler"])
    t.epoch = state["epoch"]
    t.fit(loader2, 4)
    assert not np.array_equal(model2.state_dict()["0.weight"].numpy(), reference)


def test_fit_learns_spirals_and_writes_history(tmp_path):
    x, y = spirals(n=400, noise=0.05, seed=0)
    stirpile.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                          nn.Linear(64, 2))  # fmt: skip
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=0)
    opt = optim.Adam(model.parameters(), lr=0.01)
    history = fit(model, opt, loader, epochs=40, val_loader=loader, out_dir=tmp_path, log=None)
    assert history.last["val_acc"] > 0.95
    assert history["train_loss"][-1] < history["train_loss"][0] / 4
    rows = json.loads((tmp_path / "history.json").read_text())
    assert len(rows) == 40 and rows[-1]["val_acc"] == history.last["val_acc"]
    csv = (tmp_path / "history.csv").read_text().splitlines()
    assert csv[0].startswith("epoch,train_loss,train_acc,val_loss,val_acc,lr")
    assert len(csv) == 41


def test_early_stopping_stops_and_restores_best_weights():
    x, y = spirals(n=100, seed=1)
    stirpile.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    loader = DataLoader(TensorDataset(x, y), batch_size=100)
    # a learning rate so large that the validation loss gets worse after the first epochs
    opt = optim.SGD(model.parameters(), lr=50.0)
    snapshots = []

    class Snap(EarlyStopping):
        def on_epoch_end(self, trainer, row):
            snapshots.append(trainer.model.state_dict()["0.weight"].numpy().copy())
            super().on_epoch_end(trainer, row)

    es = Snap(monitor="val_loss", patience=2)
    history = fit(model, opt, loader, epochs=50, val_loader=loader, callbacks=[es], log=None)
    assert len(history) < 50 and es.wait == 2
    best = int(np.argmin(history["val_loss"]))
    assert history.rows[best]["epoch"] == es.best_epoch
    assert np.array_equal(model.state_dict()["0.weight"].numpy(), snapshots[best])


def test_history_indexing():
    h = History([{"epoch": 1, "a": 2.0}, {"epoch": 2, "b": 3.0}])
    assert h["a"] == [2.0, None] and h.columns() == ["epoch", "a", "b"] and len(h) == 2


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="offline MNIST not available")
def test_short_run_on_mnist_train5k_reaches_92_percent_on_t10k():
    from stirpile.data.datasets import MNIST

    xtr, ytr = MNIST(root=MNIST_DIR, split="train5k").arrays()
    xte, yte = MNIST(root=MNIST_DIR, train=False).arrays()
    stirpile.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(xtr, ytr), batch_size=64, shuffle=True, generator=0)
    test = DataLoader(TensorDataset(xte, yte), batch_size=2000)
    history = fit(model, opt, loader, epochs=6, val_loader=test, log=None)
    assert history.last["val_acc"] >= 0.92, history.last


def test_compiled_fit_is_eager_bit_for_bit_and_resumes_either_way(tmp_path):
    """fit(compile=True) on a run with dropout, a per-batch schedule, a shuffled loader and
    augmentation (the last batch a different size: two programs): the same history and
    weights as eager; a compiled run's checkpoint resumes eagerly, and the other way."""
    x_rows = {}
    for compiled in (False, True):
        model, opt, loader, sched, aug = _toy_setup(seed=1)
        trainer = Trainer(model, opt, scheduler=sched, augment=aug, log=None, compile=compiled)
        history = trainer.fit(loader, 4)
        if compiled:  # 6 batches of 16 per epoch: replayed from the third on
            assert trainer._step.recordings == 2 and trainer._step.replays == 22
        x_rows[compiled] = (
            [{k: v for k, v in r.items() if k not in ("time", "samples_per_s")}
             for r in history.rows],
            {k: v.numpy().copy() for k, v in model.state_dict().items()},
        )  # fmt: skip
    assert x_rows[True][0] == x_rows[False][0]
    for k, v in x_rows[False][1].items():
        assert np.array_equal(x_rows[True][1][k], v), k

    for first, second in ((True, False), (False, True)):
        model, opt, loader, sched, aug = _toy_setup(seed=1)
        ckpt = Checkpoint(tmp_path / str(first))
        Trainer(model, opt, scheduler=sched, augment=aug, callbacks=[ckpt], log=None,
                compile=first).fit(loader, 2)  # fmt: skip
        model2, opt2, loader2, sched2, aug2 = _toy_setup(seed=99)
        Trainer(model2, opt2, scheduler=sched2, augment=aug2, log=None, compile=second).fit(
            loader2, 4, resume=tmp_path / str(first) / "last.ckpt"
        )
        for k, v in model2.state_dict().items():
            assert np.array_equal(v.numpy(), x_rows[False][1][k]), (first, k)
