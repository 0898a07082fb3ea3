"""Metrics: "% correct" and the confusion matrix, on tensors or arrays."""

from __future__ import annotations

from typing import Any

import numpy as np


def _np(x: Any) -> np.ndarray:
    return np.asarray(getattr(x, "_data", x))


def accuracy(output: Any, target: Any, threshold: float | None = None) -> float:
    """Fraction of rows whose largest score (or given label) equals the target.

    With ``threshold``, ``output`` holds one score per sample (shape ``(N,)`` or
    ``(N, 1)``, a binary classifier): the prediction is ``output > threshold``
    (0 for logits, 0.5 for probabilities) and the target is ``target >= 0.5``.

    >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
    0.5
    >>> accuracy(np.array([[2.0], [-1.0], [0.5]]), np.array([[1.0], [1.0], [1.0]]), threshold=0)
    0.6666666666666666
    """
    n_right, n = n_correct(output, target, threshold)
    return n_right / n if n else 0.0


def n_correct(output: Any, target: Any, threshold: float | None = None) -> tuple[int, int]:
    """``(number of correct predictions, number of samples)``; see :func:`accuracy`."""
    out, tgt = _np(output), _np(target)
    if threshold is not None:
        if out.size != tgt.size:
            raise ValueError(
                f"accuracy: {out.shape} scores for {tgt.shape} targets; a threshold needs "
                "one score per target"
            )
        pred = out.reshape(tgt.shape) > threshold
        return int((pred == (tgt >= 0.5)).sum()), int(tgt.size)
    pred = out.argmax(axis=-1) if out.ndim > tgt.ndim else out
    if pred.shape != tgt.shape:
        raise ValueError(f"accuracy: predictions {pred.shape} and targets {tgt.shape} differ")
    return int((pred == tgt).sum()), int(tgt.size)


def confusion_matrix(pred: Any, target: Any, num_classes: int | None = None) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class ``i`` predicted as ``j``.

    >>> confusion_matrix([0, 1, 1], [0, 0, 1], num_classes=2).tolist()
    [[1, 1], [0, 1]]
    """
    p, t = _np(pred).astype(np.int64).ravel(), _np(target).astype(np.int64).ravel()
    k = num_classes or int(max(p.max(initial=0), t.max(initial=0))) + 1
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)
