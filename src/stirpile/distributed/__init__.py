"""``stirpile.distributed``: several processes training one model, over MPI.

PyTorch's names (``torch.distributed``): :func:`init_process_group`,
:func:`get_rank`, :func:`get_world_size`, :func:`barrier`, :func:`all_reduce`,
:func:`broadcast`, :func:`all_gather`, :func:`destroy_process_group`, and
:class:`DistributedDataParallel` (also ``stirpile.nn.parallel``). The transport is MPI
through ``mpi4py`` (``pip install 'stirpile[distributed]'`` brings ``mpi4py`` and the
``mpich`` library), so the same script runs on two cores of a laptop
(``mpiexec -n 2 python train.py``) and on the nodes of a cluster
(``mpiexec -f hostfile -n 16 python train.py``). Ranks and the world size come from
MPI, not from environment variables or a rendezvous store.

Differences from PyTorch: one process group (the world; ``group=`` accepts ``None`` or
:data:`group.WORLD` only); ``backend`` is ``"mpi"`` (``"gloo"`` is accepted as another
name for it, so scripts written for CPU PyTorch run unchanged); ``init_method``,
``timeout``, ``store`` and friends are accepted and ignored. After
:func:`init_process_group`, an exception that escapes on any rank ends the whole job
(``MPI_Abort``) with a last line naming the rank, instead of leaving the other ranks
waiting forever in a collective.
"""

from __future__ import annotations

import sys
import time
import traceback
from typing import Any

import numpy as np

from ..autograd import version as _version
from ..tensor import Tensor

_INSTALL = "stirpile.distributed needs MPI: pip install 'stirpile[distributed]' (mpi4py, mpich)"
_NOT_INITIALIZED = (
    "Default process group has not been initialized, please make sure to call init_process_group."
)


class ReduceOp:
    """How :func:`all_reduce` combines the ranks' tensors."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class group:
    """Process groups: only the world exists."""

    WORLD = None


class _World:
    """The default process group: an MPI communicator of its own (a duplicate of
    ``COMM_WORLD``, so that our messages never meet the user's)."""

    def __init__(self, MPI: Any) -> None:
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()


_world: _World | None = None
_previous_excepthook: Any = None


def _mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(_INSTALL) from e
    return MPI


def is_available() -> bool:
    """Whether ``mpi4py`` can be imported (it is the optional extra ``distributed``)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_mpi_available() -> bool:
    """Same as :func:`is_available`: MPI is the only backend."""
    return is_available()


def is_initialized() -> bool:
    """Whether :func:`init_process_group` has been called (and not destroyed)."""
    return _world is not None


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: Any = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the job started by ``mpiexec``: every process learns its rank and the world size
    from MPI. ``world_size``/``rank``, when given, must agree with MPI's. Installs an
    exception hook so that an error on one rank ends every rank (see the module docs)."""
    global _world, _previous_excepthook
    if _world is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    name = "mpi" if backend is None else str(backend).lower()
    if name not in ("mpi", "gloo"):
        raise RuntimeError(
            f"stirpile.distributed runs on MPI: backend '{backend}' is not available "
            "(use 'mpi'; 'gloo' is taken as another name for it)"
        )
    world = _World(_mpi())
    for what, given, actual in (("world_size", world_size, world.size), ("rank", rank, world.rank)):
        if given not in (-1, None) and given != actual:
            raise ValueError(
                f"{what}={given} was given, but MPI says {actual} (the launcher sets it)"
            )
    _world = world
    _previous_excepthook = sys.excepthook
    sys.excepthook = _abort_on_error


def _abort_on_error(kind: type, error: BaseException, tb: Any) -> None:
    """An uncaught exception on one rank: print it, say which rank, end the whole job (the
    other ranks would otherwise wait for this one in their next collective)."""
    text = "".join(traceback.format_exception(kind, error, tb))
    world = _world
    if world is None or world.size == 1:
        sys.stderr.write(text)
        return
    message = f"{kind.__name__}: {error}".splitlines()[0] if str(error) else kind.__name__
    text += f"stirpile.distributed: rank {world.rank} of {world.size} failed: {message}\n"
    sys.stderr.write(text)  # (one write: see _abort)
    _abort(1)


def _abort(code: int) -> None:
    """End the whole job with exit status ``code`` (``MPI_Abort``), after a moment for the
    launcher to forward what the ranks printed: the abort kills every process and its
    output pipe at once, and lines still in a pipe were seen lost under load."""
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(0.2)
    _world.MPI.COMM_WORLD.Abort(code)


def destroy_process_group(group: Any = None) -> None:
    """Leave the process group (MPI itself is finalized when the process exits)."""
    global _world
    world = _get(group)
    world.comm.Free()
    _world = None
    if sys.excepthook is _abort_on_error:
        sys.excepthook = _previous_excepthook


def _get(group: Any = None) -> _World:
    if group is not None and group is not _world:
        raise ValueError("stirpile.distributed has one process group, the world: pass group=None")
    if _world is None:
        raise ValueError(_NOT_INITIALIZED)
    return _world


def get_rank(group: Any = None) -> int:
    """This process's rank, ``0 .. world_size - 1``."""
    return _get(group).rank


def get_world_size(group: Any = None) -> int:
    """The number of processes."""
    return _get(group).size


def get_backend(group: Any = None) -> str:
    """``"mpi"``."""
    _get(group)
    return "mpi"


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Any:
    """Wait until every rank has reached this call."""
    world = _get(group)
    if async_op:
        return Work(world.comm.Ibarrier())
    world.comm.Barrier()
    return None


class Work:
    """A collective in flight (``async_op=True``): :meth:`wait` for it."""

    def __init__(self, request: Any, then: Any = None) -> None:
        self._request, self._then = request, then

    def is_completed(self) -> bool:
        """Whether it has finished (also makes MPI progress on it)."""
        done = self._request is None or self._request.Test()
        if done:
            self.wait()
        return done

    def wait(self, timeout: Any = None) -> bool:
        """Block until the collective has finished; returns True."""
        if self._request is not None:
            self._request.Wait()
            self._request = None
        if self._then is not None:
            then, self._then = self._then, None
            then()
        return True


def _buffer(tensor: Tensor, what: str) -> tuple[Any, Any]:
    """The array MPI writes into, and a function that puts it back into ``tensor`` (counted
    as an in-place write, as in PyTorch)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(tensor).__name__}")
    data = tensor._data
    if data.flags.c_contiguous and data.flags.writeable:
        buf = data
    else:
        buf = data.copy(order="C")

    def done() -> None:
        if buf is not data:
            data[...] = buf
        _version.bump(data)

    return buf, done


def _op(world: _World, op: Any) -> Any:
    MPI = world.MPI
    table = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
             ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}  # fmt: skip
    if op not in table:
        raise ValueError(f"all_reduce: unknown op {op!r} (use ReduceOp.SUM/AVG/PRODUCT/MIN/MAX)")
    return table[op]


def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:  # fmt: skip
    """Combine ``tensor`` across ranks, in place: afterwards every rank holds the sum (or
    average, product, minimum, maximum) of all ranks' tensors."""
    world = _get(group)
    buf, write_back = _buffer(tensor, "all_reduce")
    if op == ReduceOp.AVG and buf.dtype.kind not in "fc":
        raise RuntimeError(
            f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got {buf.dtype}"
        )
    mpi_op = _op(world, op)

    def done() -> None:
        if op == ReduceOp.AVG:
            np.divide(buf, world.size, out=buf)
        write_back()

    if async_op:
        return Work(world.comm.Iallreduce(world.MPI.IN_PLACE, buf, op=mpi_op), done)
    world.comm.Allreduce(world.MPI.IN_PLACE, buf, op=mpi_op)
    done()
    return None


def _root(world: _World, src: int | None, group_src: int | None, what: str) -> int:
    """The rank a broadcast comes from: ``src``, else ``group_src``, else 0."""
    root = src if src is not None else group_src if group_src is not None else 0
    if not 0 <= root < world.size:
        raise ValueError(f"{what}: src={root} is not a rank (world size {world.size})")
    return root


def broadcast(tensor: Tensor, src: int | None = None, group: Any = None,
              async_op: bool = False, group_src: int | None = None) -> Work | None:  # fmt: skip
    """Copy rank ``src``'s ``tensor`` into every other rank's ``tensor``, in place."""
    world = _get(group)
    root = _root(world, src, group_src, "broadcast")
    buf, done = _buffer(tensor, "broadcast")
    if async_op:
        return Work(world.comm.Ibcast(buf, root=root), done)
    world.comm.Bcast(buf, root=root)
    done()
    return None


def all_gather(tensor_list: list, tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:  # fmt: skip
    """Fill ``tensor_list[r]`` with rank ``r``'s ``tensor``, on every rank."""
    world = _get(group)
    if len(tensor_list) != world.size:
        raise ValueError(
            f"all_gather: tensor_list has {len(tensor_list)} tensors; the world has "
            f"{world.size} ranks"
        )
    send = np.ascontiguousarray(tensor._data)
    for t in tensor_list:
        if tuple(t.shape) != send.shape or t.dtype != tensor.dtype:
            raise ValueError(
                f"all_gather: every tensor in tensor_list must have the shape {list(send.shape)} "
                f"and dtype {tensor.dtype} of the input; got {list(t.shape)} and {t.dtype}"
            )
    recv = np.empty((world.size, *send.shape), send.dtype)

    def done() -> None:
        for t, part in zip(tensor_list, recv):
            t._data[...] = part
            _version.bump(t._data)

    if async_op:
        return Work(world.comm.Iallgather(send, recv), done)
    world.comm.Allgather(send, recv)
    done()
    return None


def broadcast_object_list(object_list: list, src: int | None = None, group: Any = None,
                          device: Any = None, group_src: int | None = None) -> None:  # fmt: skip
    """Replace ``object_list``'s items by rank ``src``'s (any picklable objects)."""
    world = _get(group)
    root = _root(world, src, group_src, "broadcast_object_list")
    object_list[:] = world.comm.bcast(list(object_list), root=root)


def all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    """Fill ``object_list[r]`` with rank ``r``'s ``obj`` (any picklable object)."""
    world = _get(group)
    if len(object_list) != world.size:
        raise ValueError(
            f"all_gather_object: object_list has {len(object_list)} items; the world has "
            f"{world.size} ranks"
        )
    object_list[:] = world.comm.allgather(obj)


def __getattr__(name: str) -> Any:
    if name == "DistributedDataParallel":  # lazily: nn.parallel imports this module
        from ..nn.parallel import DistributedDataParallel

        return DistributedDataParallel
    raise AttributeError(f"module 'stirpile.distributed' has no attribute '{name}'")


__all__ = [
    "DistributedDataParallel", "ReduceOp", "Work", "all_gather", "all_gather_object",
    "all_reduce", "barrier", "broadcast", "broadcast_object_list", "destroy_process_group",
    "get_backend", "get_rank", "get_world_size", "group", "init_process_group",
    "is_available", "is_initialized", "is_mpi_available",
]  # fmt: skip
