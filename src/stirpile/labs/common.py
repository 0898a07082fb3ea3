"""Shared pieces of the labs: data, a small training loop, markdown tables."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def mnist(data_dir: str | Path | None = None, n_train: int | None = None,
          n_test: int | None = None, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """MNIST arrays (flat float32 in [0, 1], int64 labels) for a lab.

    Looks in ``data_dir`` (``--data-dir``) and the cache (``$STIRPILE_DATA`` or the
    platform cache directory), and without ``data_dir`` downloads into the cache;
    never anywhere else. Uses the full training set when present, else the
    5,000-image ``train5k`` subset. ``n_train``/``n_test``
    take a seeded, class-balanced-in-expectation random subset (for quick runs).
    """
    from ..data.datasets import MNIST

    download = data_dir is None
    try:
        test = MNIST(root=data_dir, train=False, download=download)
        try:
            train = MNIST(root=data_dir, split="train", download=download)
        except FileNotFoundError:
            train = MNIST(root=data_dir, split="train5k")
    except FileNotFoundError as e:
        where = f"--data-dir {data_dir}" if data_dir is not None else "the cache"
        raise FileNotFoundError(
            f"the labs need MNIST: {str(e).splitlines()[0]} (looked in {where}; give "
            "--data-dir DIR or set $STIRPILE_DATA)"
        ) from None
    xtr, ytr = train.arrays()
    xte, yte = test.arrays()
    rng = np.random.default_rng(seed)
    if n_train is not None and n_train < len(xtr):
        idx = rng.permutation(len(xtr))[:n_train]
        xtr, ytr = xtr[idx], ytr[idx]
    if n_test is not None and n_test < len(xte):
        idx = rng.permutation(len(xte))[:n_test]
        xte, yte = xte[idx], yte[idx]
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte,
            "split": train.split}  # fmt: skip


def train_classifier(model: Any, optimizer: Any, data: dict[str, Any], epochs: int,
                     batch_size: int = 64, seed: int = 0, scheduler: Any = None,
                     augment: Any = None) -> dict[str, list[float]]:  # fmt: skip
    """Train with cross-entropy; per-epoch train loss, train and test accuracy."""
    from ..data import DataLoader, TensorDataset
    from ..train import Trainer

    loader = DataLoader(TensorDataset(data["x_train"], data["y_train"]), batch_size=batch_size,
                        shuffle=True, generator=seed)  # fmt: skip
    test = DataLoader(TensorDataset(data["x_test"], data["y_test"]), batch_size=2000)
    trainer = Trainer(model, optimizer, scheduler=scheduler, augment=augment, log=None)
    history = trainer.fit(loader, epochs, val_loader=test)
    return {"train_loss": history["train_loss"], "train_acc": history["train_acc"],
            "test_loss": history["val_loss"], "test_acc": history["val_acc"]}  # fmt: skip


def model_scores(model: Any, x: Any, batch: int | None = None) -> np.ndarray:
    """``model``'s outputs on the rows of ``x`` (an array or a tensor) as an array, in
    batches of ``batch`` rows (all at once by default), with no graph recorded."""
    import stirpile

    step = max(len(x) if batch is None else batch, 1)
    with stirpile.no_grad():
        return np.concatenate([model(stirpile.as_tensor(x[i : i + step])).numpy()
                               for i in range(0, len(x), step)])  # fmt: skip


def model_accuracy(model: Any, x: Any, y: Any, batch: int | None = None) -> float:
    """Fraction of the rows of ``x`` whose largest output of ``model`` is at ``y``."""
    return float((model_scores(model, x, batch).argmax(1) == np.asarray(y)).mean())


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; floats get 4 significant digits."""

    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def output_dir(out_dir: str | Path) -> Path:
    """The folder a lab's report goes to, created (with its parents) if missing."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_readme(out_dir: str | Path, title: str, body: str) -> Path:
    path = output_dir(out_dir) / "README.md"
    path.write_text(f"# {title}\n\n{body.strip()}\n")
    return path
