"""Metrics: "% correct" and the confusion matrix, on tensors or arrays."""

from __future__ import annotations

from typing import Any

import numpy as np


def _np(x: Any) -> np.ndarray:
    return np.asarray(getattr(x, "_data", x))


def accuracy(output: Any, target: Any) -> float:
    """Fraction of rows whose largest score (or given label) equals the target.

    >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
    0.5
    """
    out, tgt = _np(output), _np(target)
    pred = out.argmax(axis=-1) if out.ndim > tgt.ndim else out
    if pred.shape != tgt.shape:
        raise ValueError(f"accuracy: predictions {pred.shape} and targets {tgt.shape} differ")
    return float((pred == tgt).mean()) if tgt.size else 0.0


def confusion_matrix(pred: Any, target: Any, num_classes: int | None = None) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class ``i`` predicted as ``j``.

    >>> confusion_matrix([0, 1, 1], [0, 0, 1], num_classes=2).tolist()
    [[1, 1], [0, 1]]
    """
    p, t = _np(pred).astype(np.int64).ravel(), _np(target).astype(np.int64).ravel()
    k = num_classes or int(max(p.max(initial=0), t.max(initial=0))) + 1
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)
