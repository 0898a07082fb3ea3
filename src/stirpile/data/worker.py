"""Loading in worker processes (``DataLoader(num_workers > 0)``), as PyTorch does it.

The main process sends each worker, round-robin, the task ``(task number, batch
indices)`` on that worker's own queue, keeping ``prefetch_factor`` tasks per worker in
flight; the workers read and collate the batch (:func:`fetcher`, the same code the main
process runs when ``num_workers=0``) and put ``(task number, batch)`` on one shared result
queue; the main process hands batches out in task order (or as they come, with
``in_order=False``). So the batches and their order are those of ``num_workers=0``.

Each worker seeds Python's ``random``, stirpile's default generator and NumPy's legacy
global generator from ``base_seed + worker_id`` (``base_seed`` is drawn once per iterator
from the loader's ``generator``), sets :func:`get_worker_info`, then calls
``worker_init_fn(worker_id)``. An :class:`IterableDataset` is iterated by every worker on
its own copy; a worker whose copy runs out says so and gets no more tasks.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import random
import sys
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import random as stirpile_random
from .collate import default_collate
from .dataset import Dataset, gather

CHECK_INTERVAL = 1.0  # seconds between checks that the other side is still alive


@dataclass(frozen=True)
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker: its ``id`` (0 to
    ``num_workers - 1``), ``num_workers``, the ``seed`` it was seeded with, and its own copy
    of the ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: Dataset


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` of the current DataLoader worker process; ``None`` in the
    main process."""
    return _worker_info


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Sent to persistent workers at the start of each new epoch."""


class _ExceptionWrapper:
    """An exception raised in a worker, carried to the main process as its type and its
    formatted traceback, and raised again there (PyTorch's ``ExceptionWrapper``)."""

    def __init__(self, where: str) -> None:
        exc_type, exc, tb = sys.exc_info()
        self.exc_type = exc_type
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, tb))
        self.where = where

    def reraise(self) -> None:
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        try:
            exception = self.exc_type(msg)
        except Exception:  # an exception type that wants other arguments
            raise RuntimeError(msg) from None
        raise exception


def fetcher(iterable: bool, dataset: Any, auto_collation: bool, collate_fn: Callable,
            drop_last: bool) -> Callable[[Any], Any]:  # fmt: skip
    """A function from what the index sampler yields (a list of indices, or one index when
    not batching) to the batch (PyTorch's ``_MapDatasetFetcher`` and
    ``_IterableDatasetFetcher``)."""
    if iterable:
        it, ended = iter(dataset), False

        def fetch_iterable(index: Any) -> Any:
            nonlocal ended
            if ended:
                raise StopIteration
            if not auto_collation:
                return collate_fn(next(it))
            data = []
            for _ in index:
                try:
                    data.append(next(it))
                except StopIteration:
                    ended = True
                    break
            if not data or (drop_last and len(data) < len(index)):
                raise StopIteration
            return collate_fn(data)

        return fetch_iterable

    getitems = getattr(dataset, "__getitems__", None)
    fast = collate_fn is default_collate

    def fetch_map(index: Any) -> Any:
        if not auto_collation:
            return collate_fn(dataset[index])
        if fast:
            batch = gather(dataset, index)
            if batch is not None:
                return batch
        data = getitems(index) if getitems else [dataset[i] for i in index]
        return collate_fn(data)

    return fetch_map


def _seed_worker(base_seed: int, worker_id: int) -> int:
    seed = base_seed + worker_id
    random.seed(seed)
    stirpile_random.manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))  # noqa: NPY002
    return seed


def _worker_loop(iterable: bool, dataset: Any, index_queue: Any, data_queue: Any,
                 done_event: Any, auto_collation: bool, collate_fn: Callable, drop_last: bool,
                 base_seed: int, init_fn: Callable | None, worker_id: int,
                 num_workers: int) -> None:  # fmt: skip
    """The body of one worker process."""
    global _worker_info
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)  # fmt: skip
        init_error = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetch = fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_error = _ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
        ended, parent = False, os.getppid()
        while os.getppid() == parent:  # stop if the main process has died
            try:
                task = index_queue.get(timeout=CHECK_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(task, _ResumeIteration):
                data_queue.put((task, None))
                ended = False
                fetch = fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
                continue
            if task is None:
                break
            if done_event.is_set() or ended:
                continue
            idx, index = task
            if init_error is not None:
                data, init_error = init_error, None
            else:
                try:
                    data = fetch(index)
                except StopIteration:
                    if not iterable:
                        data = _ExceptionWrapper(f"in DataLoader worker process {worker_id}")
                    else:
                        data, ended = _IterableDatasetStopIteration(worker_id), True
                except Exception:
                    data = _ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            data_queue.put((idx, data))
            del data, idx, index, task
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()


def len_warning(dataset: Any, reported: int | None, yielded: int, workers: int) -> None:
    """Warn when an IterableDataset gives more batches than ``len(loader)`` said."""
    if reported is None or yielded <= reported:
        return
    msg = (
        f"Length of IterableDataset {dataset} was reported to be {reported}"
        f"(when accessing len(dataloader)), but {yielded} samples have been fetched. "
    )
    if workers > 0:
        msg += (
            "For multiprocessing data-loading, this could be caused by not properly configuring "
            "the IterableDataset replica at each worker. Please see "
            "https://pytorch.org/docs/stable/data.html#torch.utils.data.IterableDataset for "
            "examples."
        )
    warnings.warn(msg, stacklevel=3)


class MultiProcessingIter:
    """One pass over a :class:`DataLoader` with worker processes (kept across passes when
    ``persistent_workers``)."""

    def __init__(self, loader: Any, base_seed: int) -> None:
        self._dataset = loader.dataset
        self._iterable = loader._is_iterable
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._index_sampler = loader._index_sampler
        if self._prefetch_factor <= 0:
            raise AssertionError(
                "prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter"
            )
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        self._result_queue = ctx.Queue()
        self._done_event = ctx.Event()
        self._index_queues: list[Any] = []
        self._workers: list[Any] = []
        self._shutdown = False
        for worker_id in range(self._num_workers):
            index_queue = ctx.Queue()
            index_queue.cancel_join_thread()
            args = (self._iterable, loader.dataset, index_queue, self._result_queue,
                    self._done_event, loader._auto_collation, loader.collate_fn, loader.drop_last,
                    base_seed, loader.worker_init_fn, worker_id, self._num_workers)  # fmt: skip
            w = ctx.Process(target=_worker_loop, args=args, daemon=True)
            w.start()
            self._index_queues.append(index_queue)
            self._workers.append(w)
        self._reset(loader, first=True)

    def _reset(self, loader: Any, first: bool = False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._len_reported = loader._IterableDataset_len_called
        self._send_idx = self._rcvd_idx = 0
        # task number → (worker,) while in flight, (worker, data) once it came out of order
        self._task_info: dict[int, tuple] = {}
        self._active = [True] * self._num_workers  # False once a worker's iterable ran out
        self._worker_tasks = [0] * self._num_workers
        self._cycle = itertools.cycle(range(self._num_workers))
        if not first:  # persistent workers: restart them and drop what the last pass left
            for q in self._index_queues:
                q.put(_ResumeIteration())
            pending = self._num_workers
            while pending:
                idx, _ = self._get()
                pending -= isinstance(idx, _ResumeIteration)
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def __iter__(self) -> MultiProcessingIter:
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __next__(self) -> Any:
        data = self._next_data()
        self._num_yielded += 1
        if self._iterable:
            len_warning(self._dataset, self._len_reported, self._num_yielded, self._num_workers)
        return data

    def _get(self) -> tuple:
        """The next ``(task number, data)`` from the result queue."""
        if self._timeout > 0:
            try:
                return self._result_queue.get(timeout=self._timeout)
            except queue.Empty:
                self._check_workers()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
        while True:
            try:
                return self._result_queue.get(timeout=CHECK_INTERVAL)
            except queue.Empty:
                self._check_workers()

    def _check_workers(self) -> None:
        failed = [w for w, on in zip(self._workers, self._active) if on and not w.is_alive()]
        if failed:
            self._shutdown_workers()
            pids = ", ".join(str(w.pid) for w in failed)
            raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly")

    def _next_data(self) -> Any:
        while True:
            # skip tasks given to workers whose iterable ran out before they could do them
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info and (len(info) == 2 or self._active[info[0]]):
                    break
                self._task_info.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:  # arrived earlier, out of order
                worker, data = self._task_info.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                return self._process(data, worker)
            idx, data = self._get()
            if isinstance(data, _IterableDatasetStopIteration):
                self._active[data.worker_id] = False
                if not self._persistent:
                    self._index_queues[data.worker_id].put(None)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx and self._in_order:
                self._task_info[idx] += (data,)
                continue
            worker = self._task_info.pop(idx)[0]
            if idx == self._rcvd_idx:
                self._rcvd_idx += 1
            return self._process(data, worker)

    def _try_put_index(self) -> None:
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        cap = self._prefetch_factor * self._num_workers // max(sum(self._active), 1)
        for _ in range(self._num_workers):  # the next active worker (with room, if unordered)
            w = next(self._cycle)
            if self._active[w] and (self._in_order or self._worker_tasks[w] < cap):
                break
        else:
            return
        self._index_queues[w].put((self._send_idx, index))
        self._task_info[self._send_idx] = (w,)
        self._worker_tasks[w] += 1
        self._send_idx += 1

    def _process(self, data: Any, worker: int) -> Any:
        self._worker_tasks[worker] -= 1
        self._try_put_index()
        if isinstance(data, _ExceptionWrapper):
            data.reraise()
        return data

    def _shutdown_workers(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        self._done_event.set()
        for q in self._index_queues:
            q.put(None)
        for w in self._workers:
            w.join(timeout=CHECK_INTERVAL)
        for w in self._workers:
            if w.is_alive():
                w.terminate()
                w.join(timeout=CHECK_INTERVAL)
        for q in (*self._index_queues, self._result_queue):
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        if sys is None or sys.is_finalizing() or not hasattr(self, "_shutdown"):
            return
        try:
            self._shutdown_workers()
        except Exception:
            pass
