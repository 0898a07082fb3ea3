"""Recording a function into a :class:`~stirpile.jit.replay.Program`.

The function runs eagerly, as always, while a :class:`Recorder` watches it at the places
where its work happens:

* the op dispatch (``Op.apply`` calls :meth:`Recorder.op` after each op): which op, on
  which values, with which options;
* ``traced_call`` (:meth:`Recorder.call`): work on arrays outside any op that must run again
  at every replay (dropout masks, batch statistics and running averages);
* ``backward()`` (:meth:`Recorder.backward`, from the engine);
* the stateful methods a training step calls, patched for the time of the recording only:
  ``Optimizer.step``/``zero_grad``, ``Module.zero_grad``, ``LRScheduler.step``.

A value is named by where it comes from: a *slot* (made by an op or a traced call of the
program), an *external* tensor (an argument, a parameter, a buffer: read afresh at every
replay), or a *constant* (a Python number, an option, an array made before the call). What
the recorder cannot replay makes the recording *unsupported* and the function runs eagerly:
a custom ``Function``, an op with several outputs, an in-place write outside the
optimizer (seen through the version counters), hooks on intermediate tensors, reading a
recorded tensor's value into Python (``item()``, ``bool()``, ``tolist()``, ``numpy()``).
What it cannot see (a value computed from a tensor's array outside any op, a random number
drawn outside a traced call, Python branching on data) is caught by recording twice: two
recordings that differ are not replayed (see :mod:`stirpile.jit`).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .. import backend as B
from ..autograd import function, grad_mode
from ..autograd import version as _version
from ..nn.module import Module
from ..optim import lr_scheduler
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .codegen import ARG, BACKWARD, CALL, CONST, EXT, METHOD, OP, SLOT
from .replay import Program, Step, parameter_key, signature_of

# A traced call's tuple result, taken apart: the same getter objects in every recording
# (two recordings are compared step by step, functions by identity).
_ITEMS = tuple(operator.itemgetter(i) for i in range(8))


class Unsupported(Exception):
    """The recording met something a replay cannot reproduce."""


def _rng_state() -> Any:
    """The default generator's state (a draw changes it)."""
    return B.rng().bit_generator.state["state"]


def _overriding(cls: type, name: str) -> list[type]:
    """``cls`` and its subclasses that define ``name`` themselves."""
    found, todo = [], [cls]
    while todo:
        c = todo.pop()
        if name in c.__dict__:
            found.append(c)
        todo.extend(c.__subclasses__())
    return found


class Recorder:
    """Watches one eager run of a function and builds its :class:`Program`."""

    def __init__(self, args: tuple) -> None:
        self.steps: list[Step] = []
        self.meta: list[tuple | None] = []  # slot -> (shape, dtype) of its array, if one
        self.slot_of: dict[int, int] = {}  # id(tensor or value) -> slot
        self.keep: list = []  # what the ids above refer to (no id reused while recording)
        self.inputs = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
        self.modules: dict[int, Module] = {}
        self.reason: str | None = None
        self.writes = _version.last_write
        self.draws = _rng_state()
        self.inside = 0  # > 0 while a recorded method runs: what it does is part of it
        self._patches: list[tuple[type, str, Any]] = []

    # -- what the program is made of -------------------------------------------------------
    def _new_slot(self, value: Any, *more: Any) -> int:
        k = len(self.meta)
        array = value._data if isinstance(value, Tensor) else value
        self.meta.append((array.shape, array.dtype) if isinstance(array, np.ndarray) else None)
        for v in (value, *more):
            if v is None or type(v) in (bool, int, float, str):
                continue  # (shared objects: a None returned must not make every None this slot)
            self.slot_of[id(v)] = k
            self.keep.append(v)
        return k

    def ref(self, a: Any) -> tuple[int, Any]:
        """How a replay finds value ``a``: a slot, an external tensor or a constant."""
        if isinstance(a, Tensor):
            k = self.slot_of.get(id(a))
            if k is None:
                k = self.slot_of.get(id(a._data))  # a tensor around a traced call's array
            if k is not None:
                return SLOT, k
            if a._node is not None:
                self.unsupported(
                    "a tensor with a history the program did not record (from outside the "
                    "function, or an output of an op with several outputs such as a fused LSTM)"
                )
            if id(a) in self.inputs:
                return ARG, self.inputs[id(a)]  # (an argument: the replay's own)
            return EXT, a
        k = self.slot_of.get(id(a))
        if k is not None:
            return SLOT, k
        return CONST, a

    def unsupported(self, what: str) -> None:
        if self.reason is None:
            self.reason = what

    def _check_writes(self) -> None:
        """An in-place write or a random draw since the last op, outside what the program
        replays."""
        if _version.last_write != self.writes:
            self.unsupported("an in-place write outside the optimizer (e.g. x.add_(…), relu_)")
            self.writes = _version.last_write
        if _rng_state() != self.draws:
            self.unsupported(
                "a random number drawn outside the ops a replay runs again (e.g. "
                "stirpile.randn inside the function: pass the random tensor in instead)"
            )
            self.draws = _rng_state()

    # -- the hooks -------------------------------------------------------------------------
    def op(self, cls: type, args: tuple, kwargs: dict, result: Tensor, node: Any) -> None:
        """Called by ``Op.apply`` after each op."""
        if self.inside:
            return
        self._check_writes()
        if node is not None and node.n_out != 1:
            self.unsupported(f"the op {cls.__name__}, which has several outputs")
        refs = tuple(self.ref(a) for a in args)
        kw = {k: self.ref(v) for k, v in kwargs.items()}
        out = self._new_slot(result, result._data)  # (ops may be handed the raw array)
        needs = node.needs_input_grad if node is not None else None
        self.steps.append(Step(OP, cls, refs, kw, out, node, needs))

    def call(self, fn: Any, args: tuple) -> Any:
        """``traced_call(fn, *args)``: run it, record it."""
        if self.inside:
            return fn(*function.arrays_of(args))
        self._check_writes()
        refs = tuple(self.ref(a) for a in args)
        value = fn(*function.arrays_of(args))
        self.writes, self.draws = _version.last_write, _rng_state()  # (part of the call)
        out = self._new_slot(value)
        self.steps.append(Step(CALL, fn, refs, {}, out, None, None))
        if type(value) is tuple:  # each array in it gets a slot too (taken out by a step)
            for i, v in enumerate(value[: len(_ITEMS)]):
                if isinstance(v, np.ndarray):
                    k = self._new_slot(v)
                    self.steps.append(Step(CALL, _ITEMS[i], ((SLOT, out),), {}, k, None, None))
        return value

    def backward(self, outputs: list, grad_outputs: list, retain: bool, create: bool,
                 inputs: Any) -> None:  # fmt: skip
        """Called by the engine at the start of a backward pass."""
        if self.inside:
            self.unsupported("a backward pass inside a method (an optimizer's closure?)")
            return
        self._check_writes()
        if create or inputs is not None or len(outputs) != 1:
            self.unsupported("backward() with create_graph, inputs or several outputs")
            return
        kind, root = self.ref(outputs[0])
        if kind != SLOT:
            self.unsupported("backward() from a tensor the program did not make")
            return
        for st in self.steps:
            node = st.ctx
            if node is not None and (node.hooks or node.retained):
                self.unsupported("a hook or retain_grad() on a tensor inside the program")
        g = grad_outputs[0]
        self.steps.append(Step(BACKWARD, None, (), {}, root, None, None))
        if not (g.shape == outputs[0].shape and g.size == 1 and g.item() == 1):
            self.unsupported("backward(gradient=…) with a gradient other than 1")

    def method(self, fn: Any, obj: Any, args: tuple, kwargs: dict) -> Any:
        """A patched stateful method (optimizer step, zero_grad, scheduler step)."""
        if self.inside:  # called by a recorded method: replayed with it
            return fn(obj, *args, **kwargs)
        self._check_writes()
        for a in (*args, *kwargs.values()):
            if callable(a) or self.ref(a)[0] == SLOT:
                self.unsupported(f"{fn.__qualname__} with a closure or a recorded tensor")
        self.inside += 1
        try:
            result = fn(obj, *args, **kwargs)
        finally:
            self.inside -= 1
        self.writes, self.draws = _version.last_write, _rng_state()
        self.steps.append(Step(METHOD, fn, (obj, args), kwargs, -1, None, None))
        return result

    # -- recording a call --------------------------------------------------------------------
    def run(self, fn: Any, args: tuple, kwargs: dict) -> Any:
        """Run ``fn`` eagerly under this recorder; its result."""
        if function.recorder is not None:
            raise RuntimeError("stirpile.compile: a compiled function called another one")
        self._patch()
        function.recorder = self
        try:
            result = fn(*args, **kwargs)
            self._check_writes()
        finally:
            function.recorder = None
            self._unpatch()
        return result

    def _patch(self) -> None:
        rec = self

        def wrap(original: Any) -> Any:
            def method(obj: Any, *args: Any, **kwargs: Any) -> Any:
                return rec.method(original, obj, args, kwargs)

            return method

        for base, name in ((Optimizer, "step"), (Optimizer, "zero_grad"),
                           (Module, "zero_grad"), (lr_scheduler.LRScheduler, "step")):  # fmt: skip
            for cls in _overriding(base, name):
                self._swap(cls, name, wrap(cls.__dict__[name]))
        call = Module.__call__

        def module_call(m: Module, *args: Any, **kwargs: Any) -> Any:
            rec.modules[id(m)] = m
            return call(m, *args, **kwargs)

        self._swap(Module, "__call__", module_call)
        for name in ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__"):
            original = getattr(Tensor, name)
            self._swap(Tensor, name, self._reading(name, original))

    def _reading(self, name: str, original: Any) -> Any:
        rec = self

        def read(t: Tensor, *args: Any, **kwargs: Any) -> Any:
            if id(t) in rec.slot_of or id(t) in rec.inputs:
                rec.unsupported(
                    f"Tensor.{name}() on a tensor the program computes (its value would be "
                    "the first call's at every replay; return the tensor and read it outside)"
                )
            return original(t, *args, **kwargs)

        return read

    def _swap(self, cls: type, name: str, new: Any) -> None:
        self._patches.append((cls, name, cls.__dict__[name]))
        setattr(cls, name, new)

    def _unpatch(self) -> None:
        for cls, name, original in reversed(self._patches):
            setattr(cls, name, original)
        self._patches.clear()

    def program(self, args: tuple, result: Any, kwarg_names: tuple = ()) -> Program:
        """The recorded program, with its guards (``args`` ends with the values of the
        keyword arguments ``kwarg_names``)."""
        # every module called, and its submodules (a parent's forward may use a child's
        # parameter without calling the child)
        modules = {id(sub): sub for m in self.modules.values() for sub in m.modules()}
        guards = [(m, m.training, parameter_key(m)) for m in modules.values()]
        signature = tuple(map(signature_of, args))
        # the tensors a replay may return as they are: parameters and buffers, and what the
        # program reads (not a tensor made during the call, such as a .grad: it is another
        # one at every call)
        stable = {id(t) for m in modules.values()
                  for t in (*m.parameters(recurse=False), *m.buffers(recurse=False))}  # fmt: skip
        for st in self.steps:
            if st.kind != METHOD:
                stable |= {id(v) for kind, v in (*st.refs, *st.kwargs.values()) if kind == EXT}
        template = self._pack(result, stable)
        return Program(self.steps, self.meta, template, signature, guards,
                       grad_mode.is_grad_enabled(), kwarg_names)  # fmt: skip

    def _pack(self, value: Any, stable: set) -> Any:
        """The function's result as a template the replay fills in."""
        if isinstance(value, Tensor):
            kind, v = self.ref(value)
            if kind == EXT and id(v) not in stable:
                self.unsupported(
                    "returns a tensor made during the call outside the ops (e.g. a .grad): "
                    "its replayed value would be the recording's"
                )
            return kind, v
        if isinstance(value, (tuple, list)):
            return (type(value), [self._pack(v, stable) for v in value])
        if isinstance(value, dict):
            return (dict, {k: self._pack(v, stable) for k, v in value.items()})
        return (CONST, value)


def same_program(a: Program, b: Program) -> bool:
    """Whether two recordings of a function are the same program: the same steps on the
    same slots, external tensors and constants (arrays compared by value)."""
    if len(a.steps) != len(b.steps) or a.meta != b.meta:
        return False
    for s, t in zip(a.steps, b.steps):
        if (s.kind, s.fn, s.out, s.needs) != (t.kind, t.fn, t.out, t.needs):
            return False
        if s.kind == METHOD:
            if s.refs[0] is not t.refs[0] or not _same(s.refs[1], t.refs[1]):
                return False
            if not _same(s.kwargs, t.kwargs):
                return False
        elif not _same_refs(s.refs, t.refs) or s.kwargs.keys() != t.kwargs.keys():
            return False
        elif not _same_refs(tuple(s.kwargs.values()), tuple(t.kwargs.values())):
            return False
    return True


def _same_refs(r: tuple, s: tuple) -> bool:
    if len(r) != len(s):
        return False
    for (k1, v1), (k2, v2) in zip(r, s):
        if k1 != k2:
            return False
        if k1 in (SLOT, ARG) and v1 != v2:
            return False
        if k1 == EXT and v1 is not v2:
            # an external tensor made during the call is a constant of that call: equal by value
            tensors = isinstance(v1, Tensor) and isinstance(v2, Tensor)
            if not (tensors and _same(v1._data, v2._data)):
                return False
        if k1 == CONST and not _same(v1, v2):
            return False
    return True


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
            return False
        nan = x.dtype.kind in "fc"
        return x.dtype == y.dtype and x.shape == y.shape and bool(B.xp.array_equal(x, y, nan))
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return type(x) is type(y) and len(x) == len(y) and all(map(_same, x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        return x is y
    try:
        return type(x) is type(y) and bool(x == y)
    except Exception:
        return x is y
