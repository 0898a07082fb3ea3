"""``stirpile.compile``: record a training step once, replay it without the bookkeeping.

>>> import stirpile
>>> from stirpile import nn
>>> model = nn.Linear(3, 1)
>>> opt = stirpile.optim.SGD(model.parameters(), lr=0.1)
>>> @stirpile.compile
... def step(x, y):
...     opt.zero_grad()
...     loss = nn.functional.mse_loss(model(x), y)
...     loss.backward()
...     opt.step()
...     return loss
>>> x, y = stirpile.randn(8, 3), stirpile.randn(8, 1)
>>> losses = [step(x, y).item() for _ in range(5)]  # calls 1-2 record, 3-5 replay
>>> step.replays
3

The first call runs the function eagerly while recording every op of its forward pass,
its ``backward()`` and the optimizer's ``zero_grad()``/``step()`` (and a scheduler's
``step()``) into a flat program (:mod:`~stirpile.jit.record`). The second call with the
same kind of inputs records again, and the two recordings must agree. That catches what a
recording cannot see: Python branching on data, values computed outside ops, random
numbers drawn outside the ops that replay them. From the third call on, the program is
replayed (:mod:`~stirpile.jit.replay`): each op's ``forward`` and ``backward`` on the new
arrays, in the same order as eagerly, so the numbers are the same bits as eager
execution. Tensors are not wrapped, no graph is built, and no arguments are parsed.
``Linear``, ``ReLU``, cross-entropy, same-shape ``+``/``−``/``·``, dropout and batch
norm run as *kernels* (:mod:`~stirpile.jit.kernels`): the same NumPy calls writing into
arrays allocated once, the ReLU in place on the linear layer's output, and the weights'
gradients written straight into the optimizer's flat gradient buffer. With SGD, Adam or
AdamW (which write their temporaries into scratch buffers) a replayed MLP step
allocates no array memory.

Like CUDA graphs (``torch.compile(mode="reduce-overhead")``), a replay reuses its
buffers: a parameter's ``.grad`` after a replay is a buffer the next replay overwrites
(``clone()`` it to keep it). Results the function returns are always fresh tensors.

A replay first checks its guards. The arguments must have the same shapes, dtypes,
``requires_grad`` and values (non-tensors). Every module the function called must be in
the same train/eval mode and hold the same parameter objects with the same
``requires_grad``, the tensors the kernels read the same shapes and dtypes, and gradient
recording must be in the same state. A call that fails a guard is recorded anew: up to 8
programs per function. Changes that need no new recording are honoured: a learning rate
or other optimizer setting (the optimizer runs as it is), ``p.data = …`` with the same
shape, new values in buffers.
Dropout draws fresh masks at every replay, from the global generator in the order eager
execution draws them. Work on arrays outside the ops is a traced call, run again at every
replay: batch statistics, max pooling's maxima, comparisons (``x > 0``) and logical ops.

What does not replay makes the function run eagerly for those inputs:
- a custom ``autograd.Function`` or an op with several outputs (the fused LSTM layer);
- in-place writes outside the optimizer, and hooks on intermediate tensors;
- ``item()``, ``bool()``, ``tolist()``, ``numpy()`` on a tensor the function computes
  (return it, and read it outside);
- two recordings that differ;
- a call whose cross-entropy targets are not all class indices (``ignore_index``, or an
  out-of-range target, which eager execution reports), checked before the replay starts;
- ``DistributedDataParallel`` (its communication happens in Python);
- returning a tensor made outside the ops during the call, such as a ``.grad``.

Python state that the function changes other than through tensors (a counter in a
module's ``forward``, a list it appends to) is not replayed: only the ops, traced calls
and methods above are.

Set ``stirpile.jit.debug = True`` (or ``STIRPILE_COMPILE_DEBUG=1``) to have each reason
said once on stderr. The result of a replay is the function's result, with recorded
tensors given as new tensors without a graph.

``stirpile.compile`` takes PyTorch's arguments (``fullgraph``, ``dynamic``, ``backend``,
``mode``, ``options``). It accepts them and ignores all but ``disable``. Given a
``Module`` rather than a function, it returns the module unchanged: a forward pass alone
cannot be replayed without the graph its backward needs, so compile the whole training
step.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

from ..autograd import function
from .record import Recorder, same_program
from .replay import NOT_REPLAYED, Program

debug = os.environ.get("STIRPILE_COMPILE_DEBUG", "") not in ("", "0")
MAX_PROGRAMS = 8


class CompiledFunction:
    """What :func:`compile` returns: call it as the function. ``recordings``,
    ``replays`` and ``eager_calls`` count what happened."""

    def __init__(self, fn: Any) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        # [program, state]: "candidate" (recorded once), "ready" (replayed), "eager"
        self.entries: list[list] = []
        self.recordings = self.replays = self.eager_calls = 0
        self._said: set[str] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if function.recorder is not None:  # inside another compiled function's recording:
            return self.fn(*args, **kwargs)  # run eagerly, so that it records these ops
        names, flat = (tuple(kwargs), args + tuple(kwargs.values())) if kwargs else ((), args)
        entry, why = self._find(flat, names)
        if entry is not None and entry[1] == "ready":
            result = entry[0].run(flat)
            if result is not NOT_REPLAYED:
                self.replays += 1
                return result
            self._say("running eagerly: a cross-entropy target that is not a class index")
            self.eager_calls += 1
            return self.fn(*args, **kwargs)
        if entry is not None and entry[1] == "eager":
            self.eager_calls += 1
            return self.fn(*args, **kwargs)
        if entry is None and why is not None:
            self._say(f"recording again: {why}")
        if entry is None and len(self.entries) >= MAX_PROGRAMS:
            self._say(f"{MAX_PROGRAMS} programs recorded already: running eagerly")
            self.eager_calls += 1
            return self.fn(*args, **kwargs)
        return self._record(entry, flat, args, kwargs, names)

    def _find(self, flat: tuple, names: tuple) -> tuple[list | None, str | None]:
        why = None
        for entry in self.entries:
            program = entry[0]
            if program.kwarg_names != names:
                why = "other keyword arguments"
                continue
            why = program.mismatch(flat)
            if why is None:
                return entry, None
        return None, why

    def _record(self, entry: list | None, flat: tuple, args: tuple, kwargs: dict,
                names: tuple) -> Any:  # fmt: skip
        rec = Recorder(flat)
        result = rec.run(self.fn, args, kwargs)
        self.recordings += 1
        program = rec.program(flat, result, names)
        if rec.reason is not None:
            self._say(f"running eagerly: {rec.reason}")
            self._replace(entry, [program, "eager"])
        elif entry is None:
            self._replace(None, [program, "candidate"])
        elif same_program(entry[0], program):
            program.build()
            self._replace(entry, [program, "ready"])
        else:
            self._say(
                "running eagerly: two calls recorded different programs (Python branching "
                "on data, or values computed from tensors outside ops)"
            )
            self._replace(entry, [program, "eager"])
        return result

    def _replace(self, old: list | None, new: list) -> None:
        if old is not None:
            self.entries.remove(old)
        self.entries.append(new)

    def _say(self, message: str) -> None:
        if debug and message not in self._said:
            self._said.add(message)
            name = getattr(self.fn, "__qualname__", repr(self.fn))
            print(f"stirpile.compile: {name}: {message}", file=sys.stderr)


def compile(
    model: Any = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: Any = "inductor",
    mode: str | None = None,
    options: dict | None = None,
    disable: bool = False,
) -> Any:
    """Record ``model`` (a function) on its first calls and replay it after; see
    :mod:`stirpile.jit`. As a decorator, with or without arguments. ``disable=True``
    returns the function itself. A ``Module`` is returned unchanged."""
    from ..nn.module import Module

    def wrap(fn: Any) -> Any:
        if disable or isinstance(fn, Module):
            return fn
        return CompiledFunction(fn)

    return wrap if model is None else wrap(model)


__all__ = ["CompiledFunction", "Program", "compile", "debug"]
