"""Training: the ``fit`` loop, callbacks, metrics, history and figures."""

from __future__ import annotations

from .callbacks import Callback, Checkpoint, EarlyStopping, ProgressBar
from .history import History
from .loop import Trainer, fit
from .metrics import accuracy, confusion_matrix

__all__ = [
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "History",
    "ProgressBar",
    "Trainer",
    "accuracy",
    "confusion_matrix",
    "fit",
]
