"""Regularization: from memorizing 4,500 digits to learning them.

**Claim** (lectures, "Generalization"): a network big enough to memorize its training
set will — train accuracy goes to 100 % while the test loss, after a first dip,
rises again. Regularizers move it from memorization towards learning: weight decay
(``L(w) + λ‖w‖²``), dropout (random masks ``m_i ∈ {0, 1}`` on the hidden units),
early stopping (stop when the loss on held-out data stops improving, keep the best
weights) and data augmentation (new, slightly moved and rotated digits every epoch).

**Source**: the course's generalization lecture (bottleneck, early stopping, data
augmentation, weight decay, dropout); dropout: Srivastava, Hinton et al. 2014.

**How it is judged**: one MLP, 784-512-512-10 with ReLU (670k weights for 4,500
images), trained with SGD (lr 0.05, momentum 0.9, batch 128) for the same epoch budget
under six settings: none, weight decay, dropout, early stopping, augmentation, and
all four together. The 5,000 ``train5k`` images are split once into 4,500 for training
and 500 for validation (what early stopping watches: never the test set); the test
set is the official 10,000 (t10k). After every epoch the clean (eval mode, no
augmentation) loss on the training and test sets is recorded, which draws the
overfitting curves. Reported per setting: train and test accuracy of the final model
(for early stopping, the restored best epoch) and the generalization gap
(train − test accuracy). Checked: without regularization the train accuracy exceeds
the test accuracy; all four together have a smaller gap than none; early stopping
stops before the budget or restores an earlier epoch. Full: 30 epochs, patience 10,
about 1.5 minutes on 2 cores; quick: 784-256-256-10 on 900 + 100 images (1,000 test),
15 epochs, patience 3.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

import stirpile
from stirpile import optim
from stirpile.data import DataLoader, TensorDataset
from stirpile.data.transforms import RandomAffine
from stirpile.models import mlp
from stirpile.train import Callback, EarlyStopping, Trainer
from stirpile.train.plots import _plt, _save

from . import common

SUMMARY = "none, weight decay, dropout, early stopping, augmentation, all: overfitting on 5k MNIST"

LR, MOMENTUM, BATCH = 0.05, 0.9, 128
WEIGHT_DECAY = 5e-3  # SGD adds wd·w to the gradient: the lectures' λ‖w‖² with λ = wd/2
DROPOUT = 0.5  # on each hidden layer's output, as in Srivastava et al.
PATIENCE = 10  # early stopping: epochs without a better validation loss (500 images: noisy)

# setting -> which regularizers it switches on
SETTINGS = {
    "none": {},
    "weight decay": {"weight_decay": WEIGHT_DECAY},
    "dropout": {"dropout": DROPOUT},
    "early stopping": {"early_stopping": True},
    "augmentation": {"augment": True},
    "all together": {
        "weight_decay": WEIGHT_DECAY,
        "dropout": DROPOUT,
        "early_stopping": True,
        "augment": True,
    },
}


class Evaluate(Callback):
    """After each epoch, the clean loss and accuracy (eval mode: no dropout, no
    augmentation) on each of ``loaders``, e.g. ``{"train": …, "test": …}``."""

    def __init__(self, loaders: dict[str, DataLoader]) -> None:
        self.loaders = loaders
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, trainer: Any, row: dict) -> None:
        for name, loader in self.loaders.items():
            for key, value in trainer.evaluate(loader).items():
                self.history.setdefault(f"{name}_{key}", []).append(value)


def train_setting(
    setting: dict, data: dict, sizes: list[int], epochs: int, seed: int, patience: int
) -> dict[str, Any]:
    """Train one network under ``setting``; its per-epoch curves and final numbers."""
    stirpile.manual_seed(seed)  # every setting starts from the same weights
    model = mlp(sizes, "relu", dropout=setting.get("dropout", 0.0))
    opt = optim.SGD(
        model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=setting.get("weight_decay", 0.0)
    )

    def loader(part: str, **kw: Any) -> DataLoader:
        return DataLoader(TensorDataset(data[f"x_{part}"], data[f"y_{part}"]), **kw)

    train = loader("train", batch_size=BATCH, shuffle=True, generator=seed)
    evaluate = Evaluate(
        {"train": loader("train", batch_size=1000), "test": loader("test", batch_size=1000)}
    )
    callbacks: list[Callback] = [evaluate]
    stopper = None
    if setting.get("early_stopping"):
        stopper = EarlyStopping("val_loss", patience=patience, restore_best_weights=True)
        callbacks.append(stopper)
    augment = None
    if setting.get("augment"):  # small rotations (±10°) and shifts (±2 pixels)
        augment = RandomAffine(
            degrees=10, translate=(0.08, 0.08), image_shape=(28, 28), generator=seed + 1
        )
    trainer = Trainer(model, opt, augment=augment, callbacks=callbacks, log=None)
    t0 = time.perf_counter()
    trainer.fit(train, epochs, val_loader=loader("val", batch_size=1000))
    seconds = time.perf_counter() - t0

    # the final model (early stopping: the restored best epoch), clean
    final = {name: trainer.evaluate(dl) for name, dl in evaluate.loaders.items()}
    return {
        "curves": evaluate.history,  # per epoch: train_loss, train_acc, test_loss, test_acc
        "epochs_run": trainer.epoch,
        "best_epoch": stopper.best_epoch if stopper else trainer.epoch,
        "train_acc": final["train"]["acc"],
        "test_acc": final["test"]["acc"],
        "test_loss": final["test"]["loss"],
        "gap": final["train"]["acc"] - final["test"]["acc"],
        "seconds": seconds,
    }


def run(quick: bool = False, seed: int = 0, data_dir: Any = None) -> dict[str, Any]:
    if quick:  # a smaller net on 1,000 images overfits in a few epochs
        n_train, n_test, sizes, epochs, patience = 1000, 1000, [784, 256, 256, 10], 15, 3
    else:
        n_train, n_test, sizes, epochs, patience = None, None, [784, 512, 512, 10], 30, PATIENCE
    data = common.mnist(data_dir, n_train=n_train, n_test=n_test, seed=seed)
    # hold out 10 % of the training images for validation (early stopping)
    n_val = len(data["y_train"]) // 10
    order = np.random.default_rng(seed).permutation(len(data["y_train"]))
    val, train = order[:n_val], order[n_val:]
    data = {
        "x_train": data["x_train"][train],
        "y_train": data["y_train"][train],
        "x_val": data["x_train"][val],
        "y_val": data["y_train"][val],
        "x_test": data["x_test"],
        "y_test": data["y_test"],
        "split": data["split"],
    }

    runs = {
        name: train_setting(setting, data, sizes, epochs, seed, patience)
        for name, setting in SETTINGS.items()
    }
    return {
        "quick": quick,
        "seed": seed,
        "model": "-".join(map(str, sizes)) + " ReLU",
        "recipe": f"SGD lr {LR}, momentum {MOMENTUM}, batch {BATCH}, {epochs} epochs",
        "epochs": epochs,
        "patience": patience,
        "n_train": len(data["y_train"]),
        "n_val": len(data["y_val"]),
        "n_test": len(data["y_test"]),
        "split": data["split"],
        "runs": runs,
    }


# -- figures and table --------------------------------------------------------------------
def plot_curves(results: dict, path: Path) -> Path:
    """One panel per setting: clean train and test loss per epoch."""
    plt = _plt()
    runs = results["runs"]
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5), sharex=True, sharey=True)
    for ax, (name, r) in zip(axes.ravel(), runs.items()):
        c = r["curves"]
        epochs = range(1, len(c["train_loss"]) + 1)
        ax.plot(epochs, c["train_loss"], "-", marker="o", ms=2.5, label="train loss")
        ax.plot(epochs, c["test_loss"], "-", marker="o", ms=2.5, label="test loss")
        best = int(np.argmin(c["test_loss"]))
        ax.plot(best + 1, c["test_loss"][best], "k*", ms=9, label="lowest test loss")
        if r["epochs_run"] < results["epochs"] or name in ("early stopping", "all together"):
            ax.axvline(
                r["best_epoch"],
                color="tab:green",
                ls="--",
                label=f"kept: epoch {r['best_epoch']} of {r['epochs_run']} run",
            )
        ax.text(
            0.97,
            0.95,
            f"test loss: lowest {c['test_loss'][best]:.3f} (epoch {best + 1}), "
            f"last {c['test_loss'][-1]:.3f}",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
        )
        ax.set_yscale("log")
        ax.set_title(f"{name}: train {r['train_acc']:.1%}, test {r['test_acc']:.1%}", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7.5, loc="lower left")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("cross-entropy (eval mode)")
    fig.suptitle(
        f"overfitting curves: MLP {results['model']}, {results['n_train']:,} training "
        f"images, {results['recipe']}"
    )
    fig.tight_layout()
    return _save(fig, path)


def plot_gap(results: dict, path: Path) -> Path:
    plt = _plt()
    runs = results["runs"]
    names = list(runs)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(x - 0.2, [runs[n]["train_acc"] for n in names], 0.4, label="train accuracy")
    ax.bar(x + 0.2, [runs[n]["test_acc"] for n in names], 0.4, label="test accuracy")
    for i, n in enumerate(names):
        top = max(runs[n]["train_acc"], runs[n]["test_acc"])
        ax.text(i, top + 0.004, f"gap {runs[n]['gap']:.1%}", ha="center", fontsize=8)
    lo = min(min(r["test_acc"], r["train_acc"]) for r in runs.values())
    ax.set_ylim(max(0.0, lo - 0.03), 1.03)
    ax.set_xticks(x, names)
    ax.set_ylabel("accuracy (final model)")
    ax.set_title("train vs test accuracy: the generalization gap")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def report(results: dict, out_dir: str | Path) -> list[Path]:
    out = common.output_dir(out_dir)
    paths = [plot_curves(results, out / "overfitting.png"), plot_gap(results, out / "gap.png")]
    rows = [
        [
            name,
            f"{r['train_acc']:.2%}",
            f"{r['test_acc']:.2%}",
            f"{r['gap']:.2%}",
            r["test_loss"],
            min(r["curves"]["test_loss"]),
            f"{r['best_epoch']} / {r['epochs_run']}",
        ]
        for name, r in results["runs"].items()
    ]
    table = common.markdown_table(
        [
            "setting",
            "train acc",
            "test acc",
            "gap",
            "final test loss",
            "lowest test loss",
            "kept epoch / epochs run",
        ],
        rows,
    )
    flag = " --quick" if results["quick"] else ""
    runs = results["runs"]
    body = f"""
Command: `stirpile lab regularization{flag}` (seed {results["seed"]}). MLP {results["model"]},
{results["recipe"]}; {results["n_train"]:,} training and {results["n_val"]:,} validation
images (both from {results["split"]}), {results["n_test"]:,} test images. Weight decay
{WEIGHT_DECAY} (SGD's `weight_decay`; λ = {WEIGHT_DECAY / 2:g} in `L + λ‖w‖²`), dropout
{DROPOUT} after each hidden layer, early stopping on the validation loss with patience
{results["patience"]} (best weights restored), augmentation: random rotations up to ±10°
and shifts up to ±2 pixels.

{table}

Accuracies are of the final model (early stopping: the restored epoch) in eval mode on
clean images; gap = train − test accuracy. Smallest gap: {min(runs, key=lambda n: runs[n]["gap"])};
best test accuracy: {max(runs, key=lambda n: runs[n]["test_acc"])}; lowest final test loss:
{min(runs, key=lambda n: runs[n]["test_loss"])}. A small gap alone is not the goal — an
underfitting model has one too — and the regularizers act on the loss as well as on the
accuracy: the unregularized net's test loss climbs back from its lowest value as it grows
confident on the images it memorized.

![overfitting curves](overfitting.png)

![generalization gap](gap.png)
"""
    paths.append(common.write_readme(out, "Lab: regularization", body))
    return paths
