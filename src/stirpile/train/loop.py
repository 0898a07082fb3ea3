"""The training loop: ``fit`` (and the ``Trainer`` behind it) with exact resume.

One epoch is the loop every PyTorch user writes::

    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(); loss.backward(); optimizer.step()

plus evaluation, a per-epoch :class:`History` row, callbacks, and a
checkpoint that holds everything needed to continue the run exactly: model,
optimizer, scheduler, every random generator in play, the epoch, the history
and the callbacks' state. ``fit(..., resume=path)`` continues such a run and
ends bit-identical to one that was never interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend as B
from ..autograd.grad_mode import no_grad
from .callbacks import Callback
from .history import History


def _default_loss(output: Any, target: Any) -> Any:
    from ..nn.functional import cross_entropy

    return cross_entropy(output, target)


def _generators(loader: Any, augment: Any) -> dict[str, np.random.Generator]:
    """The private generators a run draws from (besides stirpile's global one)."""
    gens = {}
    sampler = getattr(loader, "sampler", None)
    if isinstance(getattr(sampler, "generator", None), np.random.Generator):
        gens["sampler"] = sampler.generator
    if isinstance(getattr(augment, "rng", None), np.random.Generator):
        gens["augment"] = augment.rng
    return gens


def _n_correct(output: Any, target: Any) -> int:
    """How many rows of ``output`` have their largest score at the target class."""
    return int((output._data.argmax(-1) == target._data).sum())


class Trainer:
    """Holds a model, its optimizer and the run's state; see :func:`fit`."""

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        loss_fn: Callable | None = None,
        scheduler: Any = None,
        callbacks: Sequence[Callback] = (),
        augment: Callable | None = None,
        out_dir: str | Path | None = None,
        log: Callable[[str], None] | None = print,
        scheduler_interval: str | None = None,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.loss_fn = loss_fn or _default_loss
        self.callbacks = list(callbacks)
        self.augment = augment
        self.out_dir = Path(out_dir) if out_dir else None
        self._log = log
        if scheduler_interval is None:  # schedules defined in steps, not epochs
            per_batch = type(scheduler).__name__ in ("OneCycleLR", "CyclicLR")
            scheduler_interval = "batch" if per_batch else "epoch"
        self.scheduler_interval = scheduler_interval
        self.history = History()
        self.meta: dict[str, Any] = {}  # saved with checkpoints (e.g. the model's config)
        self.epoch, self.epochs, self.stop = 0, 0, False
        self.samples_per_epoch = 0
        self.running_loss = self.running_acc = 0.0
        self._train_loader: Any = None

    def log(self, msg: str) -> None:
        if self._log is not None:
            self._log(msg)

    # -- one epoch -----------------------------------------------------------------------
    def train_epoch(self, loader: Iterable) -> dict[str, float]:
        self.model.train()
        total_loss, correct, seen = 0.0, 0, 0
        for x, y in loader:
            if self.augment is not None:
                x = self.augment(x)
            output = self.model(x)
            loss = self.loss_fn(output, y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            if self.scheduler is not None and self.scheduler_interval == "batch":
                self.scheduler.step()
            n = len(y)
            total_loss += loss.item() * n
            correct += _n_correct(output, y)
            seen += n
            self.running_loss, self.running_acc = total_loss / seen, correct / seen
            for cb in self.callbacks:
                cb.on_batch_end(self, self.running_loss, n)
        return {"train_loss": total_loss / max(seen, 1), "train_acc": correct / max(seen, 1)}

    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """Mean loss and accuracy over ``loader``, in eval mode, recording nothing."""
        was_training = self.model.training
        self.model.eval()
        total_loss, correct, seen = 0.0, 0, 0
        with no_grad():
            for x, y in loader:
                output = self.model(x)
                total_loss += self.loss_fn(output, y).item() * len(y)
                correct += _n_correct(output, y)
                seen += len(y)
        self.model.train(was_training)
        return {"loss": total_loss / max(seen, 1), "acc": correct / max(seen, 1)}

    # -- the run -------------------------------------------------------------------------
    def fit(self, train_loader: Any, epochs: int, val_loader: Any = None,
            resume: str | Path | None = None) -> History:  # fmt: skip
        self.epochs, self.stop = epochs, False
        self._train_loader = train_loader
        self.samples_per_epoch = len(getattr(train_loader, "dataset", ()))
        if resume is not None:
            self.load_checkpoint(resume)
            self.log(f"resumed from {resume} after epoch {self.epoch}")
        for cb in self.callbacks:
            cb.on_train_begin(self)
        while self.epoch < epochs and not self.stop:
            self.epoch += 1
            for cb in self.callbacks:
                cb.on_epoch_begin(self)
            t0 = time.perf_counter()
            row: dict[str, Any] = {"epoch": self.epoch, **self.train_epoch(train_loader)}
            seconds = time.perf_counter() - t0
            if val_loader is not None:
                row |= {f"val_{k}": v for k, v in self.evaluate(val_loader).items()}
            row["lr"] = self.optimizer.param_groups[0]["lr"]
            row["time"] = seconds
            row["samples_per_s"] = self.samples_per_epoch / seconds if seconds else 0.0
            if self.scheduler is not None and self.scheduler_interval == "epoch":
                if type(self.scheduler).__name__ == "ReduceLROnPlateau":
                    self.scheduler.step(row.get("val_loss", row["train_loss"]))
                else:
                    self.scheduler.step()
            self.history.append(row)
            for cb in self.callbacks:
                cb.on_epoch_end(self, row)
            if self.out_dir is not None:
                self.history.save(self.out_dir)
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    # -- checkpoints ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        gens = _generators(self._train_loader, self.augment)
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.epoch,
            "history": self.history.rows,
            "meta": self.meta,
            "rng": {
                "global": B.get_rng_state(),
                **{k: g.bit_generator.state for k, g in gens.items()},
            },
            "callbacks": [
                cb.state_dict() if hasattr(cb, "state_dict") else None for cb in self.callbacks
            ],
        }

    def save_checkpoint(self, path: str | Path) -> None:
        from ..io import save

        save(self.state_dict(), path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a run saved by :meth:`save_checkpoint` (validated before anything changes)."""
        from ..io import load

        state = load(path)
        missing = {"model", "optimizer", "epoch", "rng"} - set(state)
        if missing:
            raise ValueError(f"{path}: not a training checkpoint (missing {sorted(missing)})")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.history = History(state.get("history", []))
        B.set_rng_state(state["rng"]["global"])
        for name, gen in _generators(self._train_loader, self.augment).items():
            if name in state["rng"]:
                gen.bit_generator.state = state["rng"][name]
        for cb, cb_state in zip(self.callbacks, state.get("callbacks") or []):
            if cb_state is not None and hasattr(cb, "load_state_dict"):
                cb.load_state_dict(cb_state)


def fit(
    model: Any,
    optimizer: Any,
    train_loader: Any,
    epochs: int = 10,
    *,
    val_loader: Any = None,
    loss_fn: Callable | None = None,
    scheduler: Any = None,
    callbacks: Sequence[Callback] = (),
    augment: Callable | None = None,
    out_dir: str | Path | None = None,
    resume: str | Path | None = None,
    log: Callable[[str], None] | None = print,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return the :class:`History`.

    ``loss_fn`` defaults to cross-entropy on logits; ``augment`` is applied to
    each input batch; ``scheduler`` steps per epoch (per batch for
    ``OneCycleLR``); ``resume`` continues from a checkpoint written by the
    :class:`~stirpile.train.callbacks.Checkpoint` callback.
    """
    trainer = Trainer(model, optimizer, loss_fn, scheduler, callbacks, augment, out_dir, log)
    return trainer.fit(train_loader, epochs, val_loader, resume)
