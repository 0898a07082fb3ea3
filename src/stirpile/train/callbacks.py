"""Callbacks for :func:`stirpile.train.fit`: progress bar, early stopping, checkpoints.

A callback overrides any of the hooks below; ``fit`` calls them with itself
(the :class:`Trainer`), which exposes ``model``, ``optimizer``, ``epoch``,
``history`` and ``stop`` (set it to end training after this epoch).
"""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np


class Callback:
    def on_train_begin(self, trainer: Any) -> None: ...
    def on_epoch_begin(self, trainer: Any) -> None: ...
    def on_batch_end(self, trainer: Any, loss: float, n: int) -> None: ...
    def on_epoch_end(self, trainer: Any, row: dict) -> None: ...
    def on_train_end(self, trainer: Any) -> None: ...


class ProgressBar(Callback):
    """A tqdm bar per epoch with live loss, accuracy and samples/s."""

    def __init__(self, disable: bool | None = None) -> None:
        self.disable = disable
        self.bar = None

    def on_epoch_begin(self, trainer: Any) -> None:
        from tqdm.auto import tqdm

        disable = self.disable if self.disable is not None else not sys.stderr.isatty()
        self.bar = tqdm(
            total=trainer.samples_per_epoch,
            desc=f"epoch {trainer.epoch}/{trainer.epochs}",
            unit="img",
            unit_scale=True,
            leave=False,
            disable=disable,
            dynamic_ncols=True,
        )

    def on_batch_end(self, trainer: Any, loss: float, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)
            post = {"loss": f"{trainer.running_loss:.4f}"}
            if trainer.running_acc is not None:
                post["acc"] = f"{trainer.running_acc:.3f}"
            self.bar.set_postfix(post, refresh=False)

    def on_epoch_end(self, trainer: Any, row: dict) -> None:
        if self.bar is not None:
            self.bar.close()
        cells = [f"epoch {row['epoch']:>3}"] + [
            f"{k} {v:.4f}"
            for k, v in row.items()
            if k not in ("epoch", "time", "lr", "samples_per_s")
        ]
        cells += [f"lr {row['lr']:.2e}", f"{row['samples_per_s']:,.0f} img/s"]
        trainer.log("  ".join(cells))


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs;
    optionally put back the best weights at the end (the course's early stopping)."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "auto",
                 min_delta: float = 0.0, restore_best_weights: bool = True) -> None:  # fmt: skip
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.mode, self.restore = mode, restore_best_weights
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch, self.wait, self.best_state = 0, 0, None

    def _better(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer: Any, row: dict) -> None:
        if self.monitor not in row:
            raise KeyError(f"EarlyStopping: '{self.monitor}' is not logged; have {sorted(row)}")
        value = row[self.monitor]
        if self._better(value):
            self.best, self.best_epoch, self.wait = value, row["epoch"], 0
            if self.restore:
                self.best_state = copy.deepcopy(
                    {k: v.numpy().copy() for k, v in trainer.model.state_dict().items()}
                )
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop = True
                trainer.log(f"early stopping: no {self.monitor} improvement for "
                            f"{self.patience} epochs (best {self.best:.4f} at epoch "
                            f"{self.best_epoch})")  # fmt: skip

    def on_train_end(self, trainer: Any) -> None:
        if self.restore and self.best_state is not None:
            from ..creation import tensor

            trainer.model.load_state_dict({k: tensor(v) for k, v in self.best_state.items()})
            trainer.log(f"restored the weights of epoch {self.best_epoch}")

    def state_dict(self) -> dict:
        """Everything a resumed run needs, the best weights included."""
        return {"monitor": self.monitor, "mode": self.mode, "best": self.best,
                "best_epoch": self.best_epoch, "wait": self.wait,
                "best_state": self.best_state}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        if self.restore and state.get("best_state") is not None:
            self.best_state = {k: np.array(v) for k, v in state["best_state"].items()}


# what "best" means when no monitor is given: the first of these that is logged
_AUTO_MONITORS = ("val_acc", "val_loss", "train_acc", "train_loss")


class Checkpoint(Callback):
    """Save a resumable checkpoint every epoch (``last.ckpt``) and the best one
    (``best.ckpt``, by ``monitor``) into ``directory``; every write is atomic.

    ``monitor=None`` picks a meaningful one from the first epoch's row: the validation
    accuracy of a classifier, else the validation loss (the training metrics when
    there is no validation set). The best score is part of the saved state, so a
    resumed run never replaces ``best.ckpt`` with a worse epoch. ``fit`` runs this
    callback after the others, so ``last.ckpt`` holds their state for the same epoch.
    """

    saves_run = True

    def __init__(self, directory: str | Path, monitor: str | None = None, mode: str = "auto"):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"Checkpoint: mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.dir = Path(directory)
        self.monitor, self._mode = monitor, mode
        self.best: float | None = None

    @property
    def mode(self) -> str | None:
        if self._mode != "auto":
            return self._mode
        return None if self.monitor is None else ("max" if "acc" in self.monitor else "min")

    def on_epoch_end(self, trainer: Any, row: dict) -> None:
        if self.monitor is None:
            self.monitor = next((m for m in _AUTO_MONITORS if m in row), None)
        if self.monitor is not None and self.monitor not in row:
            raise KeyError(f"Checkpoint: '{self.monitor}' is not logged; have {sorted(row)}")
        value = row.get(self.monitor) if self.monitor is not None else None
        improved = value is not None and not math.isnan(value) and (
            self.best is None or (value > self.best if self.mode == "max" else value < self.best)
        )  # fmt: skip
        if improved:
            self.best = value
        self.dir.mkdir(parents=True, exist_ok=True)
        trainer.save_checkpoint(self.dir / "last.ckpt")  # (with the updated best score)
        if improved:
            trainer.save_checkpoint(self.dir / "best.ckpt")

    def state_dict(self) -> dict:
        return {"monitor": self.monitor, "best": self.best}

    def load_state_dict(self, state: dict) -> None:
        if self.monitor is None:
            self.monitor = state.get("monitor")
        if state.get("monitor") == self.monitor:
            self.best = state.get("best")
