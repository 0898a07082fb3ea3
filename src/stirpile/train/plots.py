"""Figures with matplotlib (Agg backend, PNG files): training curves, confusion
matrix, first-layer weights as images, and a grid of predictions with the
mistakes marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    """Write the figure as PNG, atomically (an interrupt leaves the old file or none)."""
    import io

    from ..io import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    finally:
        _plt().close(fig)
    atomic_write(path, buf.getvalue())
    return path


def plot_history(history: Any, path: str | Path) -> Path:
    """Loss and accuracy per epoch, train and validation side by side."""
    plt = _plt()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = history["epoch"]
    for key, ax in (("loss", ax_loss), ("acc", ax_acc)):
        for prefix, style in (("train_", "-"), ("val_", "--")):
            values = history[prefix + key]
            if any(v is not None for v in values):
                ax.plot(epochs, values, style, marker="o", ms=3, label=prefix.rstrip("_"))
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_loss.set_yscale("log")
    ax_acc.set_title("accuracy")
    ax_loss.set_title("loss")
    return _save(fig, path)


def plot_confusion(cm: np.ndarray, path: str | Path, classes: Any = None) -> Path:
    """The confusion matrix, counts written in the cells."""
    plt = _plt()
    k = cm.shape[0]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(cm, cmap="Blues")
    for i in range(k):
        for j in range(k):
            color = "white" if cm[i, j] > cm.max() / 2 else "black"
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7, color=color)
    labels = [str(c) for c in (classes if classes is not None else range(k))]
    ax.set_xticks(range(k), labels)
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix (accuracy {np.trace(cm) / max(cm.sum(), 1):.2%})")
    return _save(fig, path)


def plot_weights(weight: np.ndarray, path: str | Path, image_shape: tuple = (28, 28),
                 n: int = 64) -> Path:  # fmt: skip
    """The first ``n`` rows of a first-layer weight matrix, each drawn as an image."""
    plt = _plt()
    w = np.asarray(weight)[:n]
    cols = int(np.ceil(np.sqrt(len(w))))
    rows = int(np.ceil(len(w) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9))
    for ax in np.atleast_1d(axes).ravel():
        ax.axis("off")
    for ax, row in zip(np.atleast_1d(axes).ravel(), w):
        lim = np.abs(row).max() or 1.0
        ax.imshow(row.reshape(image_shape), cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.suptitle("first-layer weights (red +, blue −)")
    return _save(fig, path)


def plot_predictions(
    images: np.ndarray,
    pred: np.ndarray,
    target: np.ndarray,
    path: str | Path,
    image_shape: tuple = (28, 28),
    n: int = 36,
) -> Path:
    """A grid of test images titled with the prediction; mistakes in red with the truth."""
    plt = _plt()
    n = min(n, len(images))
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.25))
    for ax in np.atleast_1d(axes).ravel():
        ax.axis("off")
    for ax, img, p, t in zip(np.atleast_1d(axes).ravel(), images[:n], pred[:n], target[:n]):
        ax.imshow(np.asarray(img).reshape(image_shape), cmap="gray_r")
        wrong = int(p) != int(t)
        ax.set_title(f"{p} (true {t})" if wrong else f"{p}", fontsize=8,
                     color="red" if wrong else "black")  # fmt: skip
    fig.suptitle("test predictions (mistakes in red)")
    return _save(fig, path)
