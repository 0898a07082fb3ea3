"""Replaying a recorded :class:`Program`: the same NumPy work, none of the bookkeeping.

A program is the flat list of what one call did: ops (their ``forward`` on arrays), traced
calls, the backward pass and the optimizer's methods. A replay runs it on the new call's
arrays. Forward, it calls each op's ``forward`` directly, with no tensors made, no graph
nodes created and no Python-level argument handling. Backward, it calls each op's
``backward`` in reverse order, routing gradients along edges worked out once, instead of
the engine's heap and dictionaries. The optimizer's methods are called as they are.
The ops that have a kernel (:mod:`~stirpile.jit.kernels`) run it instead: the same
calls, into buffers allocated when the program is built (:meth:`Program.build`).
The numbers are those of an eager call, op for op, in the same order.
"""

from __future__ import annotations

from typing import Any

from ..autograd import grad_mode
from ..tensor import Tensor
from .codegen import ARG, EXT, SLOT, generate
from .kernels import plan


class Step:
    """One thing the program does: ``kind`` with ``fn`` on ``refs`` (and ``kwargs``), its
    result in slot ``out``; ``ctx`` is the op's recorded node (reused as its ctx), ``needs``
    which inputs want a gradient."""

    __slots__ = ("ctx", "fn", "kind", "kwargs", "needs", "out", "refs")

    def __init__(self, kind: int, fn: Any, refs: tuple, kwargs: dict, out: int, ctx: Any,
                 needs: tuple | None) -> None:  # fmt: skip
        # (an op's ``kwargs`` are references, like ``refs``; a method's are its own)
        self.kind, self.fn, self.refs, self.kwargs = kind, fn, refs, kwargs
        self.out, self.ctx, self.needs = out, ctx, needs


class Program:
    """A recorded call: its steps, its result's template, and the guards under which a
    replay gives what an eager call would."""

    def __init__(self, steps: list[Step], meta: list, result: Any, signature: tuple,
                 guards: list, grad_enabled: bool, kwarg_names: tuple = ()) -> None:  # fmt: skip
        self.steps, self.meta, self.result = steps, meta, result  # (meta: slot -> shape, dtype)
        self.signature, self.guards, self.grad_enabled = signature, guards, grad_enabled
        self.kwarg_names = kwarg_names  # the call's keyword names (their values follow args)
        self._fn: Any = None  # the generated replay (see build)
        self._source = ""
        self.externals: list = []  # (tensor, shape, dtype) the kernels assume
        self.owned: frozenset = frozenset()  # ids of the buffers the kernels write

    # -- guards ------------------------------------------------------------------------------
    def mismatch(self, args: tuple) -> str | None:
        """Why this program does not fit a call with ``args`` (None if it does)."""
        if len(args) != len(self.signature):
            return f"{len(args)} arguments instead of {len(self.signature)}"
        for a, sig in zip(args, self.signature):
            if type(a) is not sig[0]:
                return self._why(args)
            if len(sig) == 4:  # a tensor: (type, shape, dtype, requires_grad)
                d = a._data
                if d.shape != sig[1] or (d.dtype is not sig[2] and d.dtype != sig[2]):
                    return self._why(args)
                if a.requires_grad != sig[3]:
                    return self._why(args)
            elif not _equal(a, sig[1]):
                return self._why(args)
        for m, training, (ids, grads) in self.guards:  # (the recorded parameters)
            if m.training is not training:
                return f"{type(m).__name__} was switched to {'train' if m.training else 'eval'}()"
            if ids:
                ids_now, grads_now = parameter_key(m)
                if ids_now != ids:
                    return f"a parameter of {type(m).__name__} was replaced"
                if grads_now != grads:
                    return f"requires_grad of a parameter of {type(m).__name__} changed"
        for t, shape, dtype in self.externals:
            if t._data.shape != shape or t._data.dtype != dtype:
                return f"a parameter or buffer is now {t._data.shape} {t._data.dtype}"
        if grad_mode._enabled is not self.grad_enabled:
            return "gradient recording was switched " + ("on" if self.grad_enabled else "off")
        return None

    def _why(self, args: tuple) -> str:
        for i, (a, sig) in enumerate(zip(args, self.signature)):
            if isinstance(a, Tensor):
                now = signature_of(a)
                if now != sig:
                    return (f"argument {i} is {now[1]} {now[2]} requires_grad={now[3]}, "
                            f"recorded as {sig[1]} {sig[2]} requires_grad={sig[3]}")  # fmt: skip
            elif type(a) is not sig[0] or not _equal(a, sig[1]):
                return f"argument {i} is {a!r}, recorded as {sig[1]!r}"
        return "the arguments differ"

    # -- the replay --------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The program as the Python function a replay runs (see ``jit.codegen``)."""
        self.build()
        return self._source

    def result_slots(self) -> set[int]:
        """The slots the function's result reads."""
        return _slots(self.result)

    def build(self) -> None:
        """Generate the replay and allocate the kernels' buffers (once)."""
        if self._fn is not None:
            return
        kernels, self.externals = plan(self)
        self._source, namespace, owned = generate(self, kernels)
        self.owned = frozenset(owned)
        exec(compile(self._source, "<stirpile.compile program>", "exec"), namespace)
        self._fn = namespace["replay"]

    def run(self, args: tuple) -> Any:
        """Replay on ``args`` (which passed :meth:`mismatch`): the function's result, or
        :data:`NOT_REPLAYED` if a check at the start of the program failed (the call must
        then run eagerly; nothing was changed)."""
        self.build()
        vals = self._fn(args)
        if vals is None:
            return NOT_REPLAYED
        return _unpack(self.result, vals, args, self.owned)


NOT_REPLAYED = object()


def signature_of(a: Any) -> tuple:
    """What a program assumes of an argument: a tensor's type, shape, dtype and
    ``requires_grad``; anything else's type and value."""
    if isinstance(a, Tensor):
        return type(a), tuple(a.shape), a.dtype, a.requires_grad
    return type(a), a


def parameter_key(m: Any) -> tuple:
    """What a program assumes of a module's own parameters: which tensors they are, and
    which of them require a gradient (a layer frozen since recording records again)."""
    params = m._parameters.values()
    return tuple(map(id, params)), tuple(p is not None and p.requires_grad for p in params)


def _unpack(template: Any, vals: dict, args: tuple, owned: frozenset) -> Any:
    """The function's result: recorded tensors as new tensors (without a graph: the
    replay recorded none), external ones as they are, anything else as recorded. An array
    that may share memory with a buffer the next replay overwrites is copied."""
    head, body = template
    if type(head) is int:
        if head == SLOT:
            array = vals[body]
            if owned and (id(array) in owned or not array.flags.owndata):
                array = array.copy()
            return Tensor._make(array)
        if head == EXT:
            return body
        if head == ARG:
            return args[body]
        return body
    if head is dict:
        return {k: _unpack(v, vals, args, owned) for k, v in body.items()}
    return head(_unpack(v, vals, args, owned) for v in body)


def _slots(template: Any) -> set[int]:
    """The slots a result template reads."""
    head, body = template
    if type(head) is int:
        return {body} if head == SLOT else set()
    items = body.values() if head is dict else body
    found: set[int] = set()
    for t in items:
        found |= _slots(t)
    return found


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return a is b
