"""``DataLoader``: batches from a dataset, in order or shuffled, in the main process or in
worker processes, with PyTorch's arguments, checks and semantics
(``torch.utils.data.dataloader``).

With the default ``collate_fn`` a batch of a :class:`TensorDataset` (or of a
:class:`Subset` of one) costs one indexing call per tensor; other datasets are read sample
by sample (or with their ``__getitems__``) and collated.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from .. import accelerator
from .collate import default_collate, default_convert
from .dataset import IterableDataset, gather, gatherable
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, draw_seed
from .sampler import own_generator as _own_generator
from .worker import MultiProcessingIter, fetcher, get_worker_info, len_warning

T_co = TypeVar("T_co", covariant=True)


# what cannot change once a loader is built (PyTorch's list)
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the sampler of an :class:`IterableDataset`, which ignores keys."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style :class:`Dataset` (``__getitem__``/``__len__``) or an
            :class:`IterableDataset`.
        batch_size: samples per batch; ``None`` turns batching off (samples come one by one
            through :func:`default_convert`).
        shuffle: a new order every epoch (map-style datasets only).
        sampler / batch_sampler: the order of the keys, or of lists of keys (exclusive
            with ``shuffle``, and ``batch_sampler`` with ``batch_size``/``drop_last`` too).
        num_workers: worker processes that read and collate batches (0: the main process
            does it). The batches and their order are those of ``num_workers=0``; each
            worker seeds Python's ``random``, the default generator and NumPy's global one
            from ``base_seed + worker_id``, sets :func:`get_worker_info` and calls
            ``worker_init_fn(worker_id)``; an :class:`IterableDataset` is iterated by every
            worker on its own copy (shard it with :func:`get_worker_info`). Workers pay
            off when reading a sample costs Python work (per-sample transforms); a
            :class:`TensorDataset` is faster with ``num_workers=0``, where a batch is one
            gather (batches then cross a pipe for nothing).
        collate_fn: list of samples → batch (:func:`default_collate`).
        pin_memory / pin_memory_device: accepted; there is no accelerator memory to pin
            here, so iterating warns as PyTorch does on a machine without one.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        timeout: seconds to wait for a batch from the workers (0: forever).
        multiprocessing_context: a start method name (``"fork"``, ``"spawn"``, …) or a
            context; with ``spawn``/``forkserver`` the dataset, ``collate_fn`` and
            ``worker_init_fn`` must be picklable.
        generator: draws each pass's worker ``base_seed`` and, with ``shuffle``, the order:
            a ``stirpile.Generator`` (or a NumPy one, or an int seed, kept for backward
            compatibility). Without one both come from the default generator, so
            ``stirpile.manual_seed`` fixes them.
        prefetch_factor: batches in flight per worker (2 when ``num_workers > 0``).
        persistent_workers: keep the workers (and their dataset copies) between epochs.
        in_order: with ``False``, workers' batches are handed out as they arrive.

    >>> import stirpile
    >>> from stirpile.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(stirpile.arange(10).float(), stirpile.arange(10))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=4)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    __initialized = False

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; "
                "use num_workers=0 to disable multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            if shuffle not in {False, None}:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, "
                    f"but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler option, "
                    f"but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive "
                "with drop_last"
            )

        generator = _own_generator(generator)  # an int seed: one generator, shared below
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        self._IterableDataset_len_called: int | None = None
        self._iterator: Any = None
        self.check_worker_number_rationality()

    @property
    def multiprocessing_context(self) -> Any:
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context: Any) -> None:
        if context is not None:
            if self.num_workers == 0:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading "
                    f"(num_workers > 0), but got num_workers={self.num_workers}"
                )
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(
                        "multiprocessing_context option should specify a valid start method "
                        f"in {methods!r}, but got multiprocessing_context={context!r}"
                    )
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError(
                    "multiprocessing_context option should be a valid context object or a "
                    f"string specifying the start method, but got "
                    f"multiprocessing_context={context}"
                )
        self.__multiprocessing_context = context

    def __setattr__(self, attr: str, val: Any) -> None:
        if self.__initialized and attr in _FROZEN:
            raise ValueError(
                f"{attr} attribute should not be set after {type(self).__name__} is initialized"
            )
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> Iterator[Any]:
        _warn_pin_memory(self)
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return MultiProcessingIter(self, draw_seed(self.generator))
        if self._iterator is None:
            self._iterator = MultiProcessingIter(self, draw_seed(self.generator))
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self) -> int:
        if self._is_iterable:  # a guess from the dataset's length, as in PyTorch
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                div = length // self.batch_size
                length = div if self.drop_last else math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self) -> None:
        """Warn when there are more workers than CPUs this process may use."""
        if not self.num_workers:
            return
        cpuset = hasattr(os, "sched_getaffinity")
        cpus = len(os.sched_getaffinity(0)) if cpuset else os.cpu_count()
        if cpus is None or self.num_workers > cpus:
            suggestion = (
                f"Our suggested max number of worker in current system is {cpus}"
                f"{'' if cpuset else ' (`cpuset` is not taken into account)'}, which is "
                "smaller than what this DataLoader is going to create."
                if cpus is not None
                else "DataLoader is not able to compute a suggested max number of worker in "
                "current system."
            )
            warnings.warn(
                f"This DataLoader will create {self.num_workers} worker processes in total. "
                f"{suggestion} Please be aware that excessive worker creation might get "
                "DataLoader running slow or even freeze, lower the worker number to avoid "
                "potential slowness/freeze if necessary.",
                stacklevel=2,
            )


def require_batches(loader: Iterable, name: str = "loader") -> int | None:
    """How many batches one pass over ``loader`` yields, or an error before any work when
    that is none (a loop over an empty loader would report an epoch of ``loss 0.0``).

    A PyTorch ``DataLoader`` of an empty dataset is legal and yields nothing; training
    loops call this before their first epoch. ``None`` when the length cannot be known
    ahead (an iterable dataset without ``__len__``, a generator): the loop must then
    check that the epoch saw a batch.

    >>> require_batches(DataLoader(list(range(5)), batch_size=2), "train_loader")
    3
    >>> require_batches(DataLoader([], batch_size=2), "train_loader")
    Traceback (most recent call last):
    ...
    ValueError: train_loader yields no batches: its dataset is empty (0 samples)
    """
    try:
        n = len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None
    if n > 0:
        return n
    dataset = getattr(loader, "dataset", None)
    try:
        size = len(dataset) if dataset is not None else None
    except TypeError:
        size = None
    if size == 0 or dataset is None:
        why = "its dataset is empty (0 samples)" if dataset is not None else "it is empty"
    elif getattr(loader, "drop_last", False):
        why = (f"its {size} sample(s) are fewer than batch_size={loader.batch_size} "  # type: ignore[attr-defined]
               "and drop_last=True")  # fmt: skip
    else:
        why = "its sampler yields no indices"
    raise ValueError(f"{name} yields no batches: {why}")


def _warn_pin_memory(loader: DataLoader) -> None:
    if loader.pin_memory and loader.pin_memory_device:
        warnings.warn(
            "pin_memory_device is deprecated, the current accelerator will be used as the "
            f"device,ignore pin_memory_device='{loader.pin_memory_device}'.",
            stacklevel=3,
        )
    if loader.pin_memory and not accelerator.is_available():
        warnings.warn(
            "'pin_memory' argument is set as true but no accelerator is found, then device "
            "pinned memory won't be used.",
            stacklevel=3,
        )


class _SingleProcessIter:
    """One pass over a :class:`DataLoader` with ``num_workers=0``."""

    def __init__(self, loader: DataLoader) -> None:
        self._index_sampler = loader._index_sampler
        self._sampler_iter = iter(self._index_sampler)
        if loader.timeout != 0:
            raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
        self._base_seed = draw_seed(loader.generator)  # as PyTorch: one draw per pass
        self._fetch = fetcher(loader._is_iterable, loader.dataset, loader._auto_collation,
                              loader.collate_fn, loader.drop_last)  # fmt: skip
        sampler = loader.batch_sampler
        if (type(sampler) is BatchSampler and sampler._whole_epochs() and gatherable(loader.dataset)
                and loader.collate_fn is default_collate):  # fmt: skip
            # the same batches, without index arrays becoming lists and back (~25% of a pass)
            self._sampler_iter = sampler._arrays()
            self._fetch = functools.partial(gather, loader.dataset)
        self._dataset = loader.dataset
        self._len_reported = loader._IterableDataset_len_called if loader._is_iterable else None
        self._num_yielded = 0

    def __iter__(self) -> _SingleProcessIter:
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __next__(self) -> Any:
        data = self._fetch(next(self._sampler_iter))
        self._num_yielded += 1
        if self._len_reported is not None:
            len_warning(self._dataset, self._len_reported, self._num_yielded, 0)
        return data


__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info", "require_batches"]
