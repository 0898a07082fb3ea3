"""``DistributedDataParallel``: one replica of the model per process, gradients averaged.

Every rank runs the forward and backward pass on its own share of the batch. When the
backward pass is over, every parameter's ``.grad`` is the average of the ranks' gradients,
so the optimizer steps are identical everywhere and the replicas stay equal. With the
loss a mean over the batch, K ranks with batch b compute the gradient of one batch of
K·b:

.. math:: \\frac{1}{K} \\sum_{r=1}^{K} \\nabla \\frac{1}{b} \\sum_{i \\in B_r} \\ell_i
          = \\nabla \\frac{1}{Kb} \\sum_{i \\in B_1 \\cup \\dots \\cup B_K} \\ell_i

As in PyTorch, the reduction overlaps the backward pass. Parameters are grouped into
buckets in reverse order of ``module.parameters()`` (roughly the order in which backward
finishes them; the first bucket is kept small, 1 MiB, so it starts early). Each parameter
has a post-accumulate-grad hook that copies its gradient into its bucket's flat buffer;
when a bucket is full, a non-blocking ``MPI_Iallreduce`` starts on it, while backward
goes on through the earlier layers. A callback at the end of backward waits for the
buckets, divides by the world size and writes the averages back into ``.grad``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ... import distributed as dist
from ...autograd import engine, function, grad_mode
from ...tensor import Tensor
from ..module import Module

_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer."""

    def __init__(self, params: list, names: list[str]) -> None:
        self.params, self.names = params, names
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.buffer = np.zeros(self.offsets[-1], params[0]._data.dtype)
        self.ready = [False] * len(params)
        self.n_ready = 0
        self.request: Any = None

    def put(self, i: int, grad: np.ndarray) -> None:
        self.buffer[self.offsets[i] : self.offsets[i + 1]] = grad.reshape(-1)
        if not self.ready[i]:
            self.ready[i] = True
            self.n_ready += 1

    @property
    def full(self) -> bool:
        return self.n_ready == len(self.params)


def _assign_buckets(params: list, names: list[str], cap_bytes: int) -> list[_Bucket]:
    """Reverse parameter order, one dtype per bucket, a bucket closes once it holds at least
    its cap (at most 1 MiB for the first, ``cap_bytes`` after), as PyTorch assigns them."""
    buckets: list[_Bucket] = []
    open_: dict[Any, tuple[list, list, int]] = {}
    for p, name in zip(reversed(params), reversed(names)):
        ps, ns, size = open_.get(p.dtype, ([], [], 0))
        ps.append(p)
        ns.append(name)
        size += p._data.nbytes
        limit = min(_FIRST_BUCKET_BYTES, cap_bytes) if not buckets else cap_bytes
        if size >= limit:
            buckets.append(_Bucket(ps, ns))
            open_.pop(p.dtype, None)
        else:
            open_[p.dtype] = (ps, ns, size)
    buckets += [_Bucket(ps, ns) for ps, ns, _ in open_.values()]
    return buckets


class _Reducer:
    """Starts each bucket's allreduce as its last gradient arrives, and finishes them all
    when backward ends. Buckets start in order on every rank (MPI needs the same order of
    collectives everywhere; the ranks' graphs are the same, so their order of readiness is
    too, but the order is enforced rather than assumed)."""

    def __init__(self, module: Module, world: Any, cap_bytes: int, find_unused: bool) -> None:
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self.world, self.find_unused = world, find_unused
        self.buckets = _assign_buckets([p for _, p in named], [n for n, _ in named], cap_bytes)
        self.where = {id(p): (b, i) for b in self.buckets for i, p in enumerate(b.params)}
        self.armed = self.queued = False
        self.next_start = 0
        # seconds this rank spent waiting for reductions at the end of backward (the part of
        # the communication that backward did not hide)
        self.wait_seconds = 0.0
        for _, p in named:
            p.register_post_accumulate_grad_hook(self._ready)

    def arm(self) -> None:
        """The next backward pass reduces (called by a forward that is not under ``no_sync``)."""
        for b in self.buckets:
            b.ready = [False] * len(b.params)
            b.n_ready, b.request = 0, None
        self.next_start, self.armed = 0, True

    def _ready(self, p: Tensor) -> None:
        if not self.armed:
            return
        if not self.queued:
            engine.queue_callback(self._finish)
            self.queued = True
        bucket, i = self.where[id(p)]
        bucket.put(i, p.grad._data)
        if bucket.full:
            self._start_full()
        else:  # let MPI move the buckets in flight along (it progresses only inside MPI calls)
            for b in self.buckets[: self.next_start]:
                if b.request is not None and b.request.Test():
                    b.request = None

    def _start_full(self) -> None:
        MPI = self.world.MPI
        while self.next_start < len(self.buckets) and self.buckets[self.next_start].full:
            b = self.buckets[self.next_start]
            b.request = self.world.comm.Iallreduce(MPI.IN_PLACE, b.buffer, op=MPI.SUM)
            self.next_start += 1

    def _finish(self) -> None:
        """End of backward: start what is left, wait, average, write ``.grad``."""
        self.armed = self.queued = False
        missing = [n for b in self.buckets for n, r in zip(b.names, b.ready) if not r]
        if missing and not self.find_unused:
            raise RuntimeError(
                "DistributedDataParallel: these parameters received no gradient in this "
                f"backward pass: {', '.join(missing)}. Pass find_unused_parameters=True if "
                "the model does not use all its parameters in every step."
            )
        for b in self.buckets:  # unused parameters contribute zeros
            for i, r in enumerate(b.ready):
                if not r:
                    b.put(i, np.zeros(b.params[i]._data.size, b.buffer.dtype))
        self._start_full()
        start = time.perf_counter()
        for b in self.buckets:
            if b.request is not None:
                b.request.Wait()
                b.request = None
        self.wait_seconds += time.perf_counter() - start
        scale = 1.0 / self.world.size
        for b in self.buckets:
            b.buffer *= scale
            for p, lo, hi in zip(b.params, b.offsets, b.offsets[1:]):
                avg = b.buffer[lo:hi].reshape(p._data.shape)
                if p.grad is None:
                    p.grad = Tensor._make(avg.copy())
                elif p.grad._data.flags.writeable:
                    np.copyto(p.grad._data, avg)
                else:
                    p.grad = Tensor._make(avg.copy())


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` averages its gradients across all ranks.

    At construction, rank 0's parameters and buffers are copied to every rank
    (``init_sync``). With ``broadcast_buffers`` (the default), every forward pass
    copies rank 0's buffers (batch-norm running statistics) to the others first. Inside
    :meth:`no_sync`, gradients only accumulate locally; the first backward after it
    reduces the sum. ``bucket_cap_mb`` (25 MiB by default) sizes the buckets.

    Accepted and ignored (CPU only, one process group): ``device_ids``,
    ``output_device``, ``dim``, ``gradient_as_bucket_view``, ``static_graph``,
    ``check_reduction`` and PyTorch's other tuning arguments.
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool | None = True, init_sync: bool = True,
                 process_group: Any = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 **ignored: Any) -> None:  # fmt: skip
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a Module, got {type(module).__name__}")
        world = dist._get(process_group)
        self.module = module
        self.broadcast_buffers = broadcast_buffers is not False
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        if init_sync:
            self._broadcast(list(module.parameters()) + list(module.buffers()))
        self._reducer = _Reducer(module, world, cap, find_unused_parameters)

    @staticmethod
    def _broadcast(tensors: list) -> None:
        for t in tensors:
            dist.broadcast(t, src=0)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if function.recorder is not None:  # its communication is Python a replay would skip
            function.recorder.unsupported("DistributedDataParallel (its communication)")
        if self.broadcast_buffers and self.training:
            self._broadcast(list(self.module.buffers()))
        if self.require_backward_grad_sync and grad_mode.is_grad_enabled():
            self._reducer.arm()
        return self.module(*args, **kwargs)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside accumulate gradients locally, without communication; the
        first backward outside reduces everything accumulated (gradient accumulation)."""
        before = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    @property
    def communication_wait_seconds(self) -> float:
        """Seconds this rank has waited at the end of backward passes for gradient reductions
        (communication that the backward pass did not hide)."""
        return self._reducer.wait_seconds

    def bucket_sizes(self) -> list[int]:
        """The buckets' sizes in bytes, in the order they are reduced."""
        return [b.buffer.nbytes for b in self._reducer.buckets]
