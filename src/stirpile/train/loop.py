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

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend as B
from .. import jit
from ..autograd.grad_mode import no_grad
from ..data import require_batches
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


# Which accuracy a loss implies: the class with the largest score (cross-entropy), one
# score thresholded at 0 (a logit) or 0.5 (a probability), or none (regression).
_ARGMAX = {"CrossEntropyLoss", "NLLLoss", "cross_entropy", "nll_loss", "_default_loss"}
_THRESHOLDS = {"BCEWithLogitsLoss": 0.0, "binary_cross_entropy_with_logits": 0.0,
               "BCELoss": 0.5, "binary_cross_entropy": 0.5}  # fmt: skip


def _accuracy_rule(loss_fn: Any) -> str | float | None:
    """``"argmax"``, a threshold, ``None`` (no accuracy: a regression loss), or
    ``"infer"`` (a loss we don't know: argmax when the batch looks like classes)."""
    fn = loss_fn.func if isinstance(loss_fn, functools.partial) else loss_fn
    name = getattr(fn, "__name__", None) or type(fn).__name__
    if name in _ARGMAX or type(fn).__name__ in _ARGMAX:
        return "argmax"
    for key in (name, type(fn).__name__):
        if key in _THRESHOLDS:
            return _THRESHOLDS[key]
    return "infer"


def _n_correct(output: Any, target: Any, rule: str | float | None) -> int | None:
    """How many predictions in the batch are right under ``rule``; None where accuracy
    means nothing (a regression, or scores that don't match the targets' shape)."""
    from .metrics import n_correct

    out = getattr(output, "_data", output)
    tgt = np.asarray(getattr(target, "_data", target))
    if rule is None:
        return None
    if isinstance(rule, float):
        return n_correct(out, tgt, rule)[0] if out.size == tgt.size else None
    # class scores: (N, C) for targets (N,), or (N, C, d1, ...) for (N, d1, ...) as in
    # cross_entropy; the targets are class indices
    axis = 1 if out.ndim > 2 else -1
    is_classes = np.issubdtype(tgt.dtype, np.integer) and out.ndim == tgt.ndim + 1
    is_classes = is_classes and np.delete(out.shape, axis).tolist() == list(tgt.shape)
    if not is_classes or (rule == "infer" and out.shape[axis] < 2):
        return None
    return int((out.argmax(axis) == tgt).sum())


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
        compile: bool = False,
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
        self.running_loss = 0.0
        self.running_acc: float | None = 0.0  # None where accuracy means nothing
        self._train_loader: Any = None
        # data-parallel: the replicas' metrics are summed over ranks, and the state saved is
        # the wrapped model's (a checkpoint resumes with or without DistributedDataParallel)
        self.world_size = _world_size(model)
        # stirpile.compile: the step (forward, loss, backward, optimizer) recorded, replayed
        self._step = jit.compile(self._train_step) if compile else self._train_step

    def log(self, msg: str) -> None:
        if self._log is not None:
            self._log(msg)

    # -- one epoch -----------------------------------------------------------------------
    def train_epoch(self, loader: Iterable) -> dict[str, float]:
        self.model.train()
        total_loss, correct, seen = 0.0, 0, 0
        rule = _accuracy_rule(self.loss_fn)
        for x, y in loader:  # (correct becomes None once a batch has no accuracy)
            if self.augment is not None:
                x = self.augment(x)
            output, loss = self._step(x, y)
            if self.scheduler is not None and self.scheduler_interval == "batch":
                self.scheduler.step()
            n = len(y)
            total_loss += loss.item() * n
            correct = _add(correct, _n_correct(output, y, rule))
            seen += n
            self.running_loss = total_loss / seen
            self.running_acc = None if correct is None else correct / seen
            for cb in self.callbacks:  # (samples of every rank: the bar counts the epoch's)
                cb.on_batch_end(self, self.running_loss, n * self.world_size)
        if self.world_size > 1:
            total_loss, correct, seen = _sum_over_ranks(total_loss, correct, seen)
        return _metrics("train_", total_loss, correct, seen)

    def _train_step(self, x: Any, y: Any) -> tuple:
        output = self.model(x)
        loss = self.loss_fn(output, y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return output, loss

    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """Mean loss and accuracy over ``loader``, in eval mode, recording nothing."""
        was_training = self.model.training
        self.model.eval()
        total_loss, correct, seen = 0.0, 0, 0
        rule = _accuracy_rule(self.loss_fn)
        with no_grad():
            for x, y in loader:
                output = self.model(x)
                total_loss += self.loss_fn(output, y).item() * len(y)
                correct = _add(correct, _n_correct(output, y, rule))
                seen += len(y)
        self.model.train(was_training)
        return _metrics("", total_loss, correct, seen)

    # -- the run -------------------------------------------------------------------------
    def fit(self, train_loader: Any, epochs: int, val_loader: Any = None,
            resume: str | Path | None = None) -> History:  # fmt: skip
        self.epochs, self.stop = epochs, False
        require_batches(train_loader, "train_loader")  # an empty loader is an error, not
        if val_loader is not None:  # an epoch of "train_loss 0.0"
            require_batches(val_loader, "val_loader")
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
            sampler = getattr(train_loader, "sampler", None)
            if hasattr(sampler, "set_epoch"):  # DistributedSampler: a new order every epoch
                sampler.set_epoch(self.epoch - 1)
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
            # callbacks that save the run go last, so they save every other one's state
            for cb in sorted(self.callbacks, key=lambda c: getattr(c, "saves_run", False)):
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
            "model": _unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.epoch,
            "history": self.history.rows,
            "meta": self.meta,
            "rng": {
                "global": B.get_rng_state(),
                **{k: g.bit_generator.state for k, g in gens.items()},
            },
            "stopped": bool(self.stop),
            "callbacks": [
                {"type": type(cb).__name__, "state": getattr(cb, "state_dict", _none)()}
                for cb in self.callbacks
            ],
        }

    def save_checkpoint(self, path: str | Path) -> None:
        from ..io import save

        save(self.state_dict(), path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a run saved by :meth:`save_checkpoint` (validated before anything changes)."""
        from ..io import CheckpointError, load

        state = load(path)
        have = set(state) if isinstance(state, dict) else set()
        missing = {"model", "optimizer", "epoch", "rng"} - have
        if missing:
            raise CheckpointError(
                f"{path}: not a training checkpoint (missing {sorted(missing)}); resume from "
                "the last.ckpt that the Checkpoint callback writes"
            )
        _unwrap(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.history = History(state.get("history", []))
        B.set_rng_state(state["rng"]["global"])
        for name, gen in _generators(self._train_loader, self.augment).items():
            if name in state["rng"]:
                gen.bit_generator.state = state["rng"][name]
        self.stop = bool(state.get("stopped", False))
        self._load_callbacks(state.get("callbacks") or [])

    def _load_callbacks(self, saved: list) -> None:
        """Give each callback the state of the saved callback of its type (the first
        EarlyStopping gets the first saved EarlyStopping's state, and so on)."""
        by_type: dict[str, list] = {}
        for i, entry in enumerate(saved):
            if isinstance(entry, dict) and "type" in entry:
                by_type.setdefault(entry["type"], []).append(entry.get("state"))
            elif i < len(self.callbacks):  # files written before types were stored
                by_type.setdefault(type(self.callbacks[i]).__name__, []).append(entry)
        for cb in self.callbacks:
            states = by_type.get(type(cb).__name__)
            cb_state = states.pop(0) if states else None
            if cb_state is not None and hasattr(cb, "load_state_dict"):
                cb.load_state_dict(cb_state)


def _unwrap(model: Any) -> Any:
    """The model inside a ``DistributedDataParallel``, or ``model``."""
    from ..nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def _world_size(model: Any) -> int:
    if _unwrap(model) is model:
        return 1
    from .. import distributed

    return distributed.get_world_size()


def _sum_over_ranks(total_loss: float, correct: int | None, seen: int) -> tuple:
    """An epoch's loss sum, correct count and sample count, summed over all ranks."""
    from .. import distributed
    from ..creation import tensor

    sums = tensor([total_loss, -1.0 if correct is None else correct, seen], dtype=B.float64)
    distributed.all_reduce(sums)
    total, right, n = sums.tolist()
    return total, None if correct is None else int(right), int(n)


def _none() -> None:
    return None


def _add(total: int | None, n: int | None) -> int | None:
    return None if total is None or n is None else total + n


def _metrics(prefix: str, total_loss: float, correct: int | None, seen: int) -> dict:
    if not seen:  # a loader without a length that turned out empty
        raise ValueError(f"the {prefix.rstrip('_') or 'validation'} loader yielded no batches")
    row = {f"{prefix}loss": total_loss / max(seen, 1)}
    if correct is not None:
        row[f"{prefix}acc"] = correct / max(seen, 1)
    return row


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
    compile: bool = False,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return the :class:`History`.

    ``loss_fn`` defaults to cross-entropy on logits. Accuracy (``train_acc``,
    ``val_acc``) is logged only where the loss gives it a meaning: the largest
    score for cross-entropy and NLL, one score thresholded at 0 for
    ``BCEWithLogitsLoss`` and at 0.5 for ``BCELoss``, none for a regression loss
    (or an unknown loss on outputs that are not class scores). ``augment`` is applied to
    each input batch; ``scheduler`` steps per epoch (per batch for
    ``OneCycleLR``); ``resume`` continues from a checkpoint written by the
    :class:`~stirpile.train.callbacks.Checkpoint` callback. ``compile=True`` runs each
    training step through :func:`stirpile.compile` (recorded on the first two batches of
    each shape, then replayed).
    """
    trainer = Trainer(model, optimizer, loss_fn, scheduler, callbacks, augment, out_dir, log,
                      compile=compile)  # fmt: skip
    return trainer.fit(train_loader, epochs, val_loader, resume)
