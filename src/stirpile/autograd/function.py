"""Recorded operations: the graph node, user ``Function``\\ s and built-in ``Op``\\ s.

A ``Node`` is both the *ctx* a forward writes to (``ctx.save_for_backward``,
``ctx.needs_input_grad``, any attribute) and the vertex of the dynamic graph:
it remembers its inputs, and every tensor it produced points back at it
through ``Tensor.grad_fn``. Nodes never hold their output tensors, so the
graph is a DAG of strong references from outputs to inputs with no cycles:
dropping the last output frees the whole graph at once.

There are two ways to define an operation:

* ``Function`` (public, PyTorch's API): ``forward`` and ``backward`` take and
  return *tensors*. Forward runs with recording off; backward runs with
  recording on only under ``create_graph=True``.
* ``Op`` (internal, for the built-in primitives): ``forward`` takes and returns
  raw arrays, so the common path pays no tensor wrapping. ``backward`` is
  written once with operators and the helpers of :mod:`stirpile.ops.dual` that
  accept arrays *or* tensors: it gets arrays in a plain backward (fast) and
  tensors under ``create_graph=True``, so the backward itself is recorded and
  can be differentiated again. For that to be right, an ``Op`` saves only its
  inputs, its output, or values whose derivative is zero (masks, indices).
"""

from __future__ import annotations

import itertools
from typing import Any

from .. import backend as B
from . import grad_mode

# ``Tensor`` lives in stirpile.tensor, which imports this module; it registers itself
# here once defined (an import inside each function would cost ~1 µs per op).
Tensor: Any = None
_sequence = itertools.count()

# ``Node.saved`` after backward released it (a node that saved nothing stays at None:
# backward can run through it again, as in PyTorch)
FREED = ("freed",)
_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to read saved tensors after "
    "they were freed). Saved values are freed after backward() to save memory; pass "
    "retain_graph=True to the first backward() if you need to backward twice."
)


class Node:
    """One recorded operation; also the ``ctx`` its forward and backward receive."""

    # What every node sets is a slot; what few nodes set (hooks, retain_grad, a Function's
    # outputs) lives in the instance dict, with the class attribute as default. Creating a
    # node is on the path of every recorded op, so it does five stores and no more.
    __slots__ = ("__dict__", "fn", "inputs", "needs_input_grad", "out", "saved", "seq")
    is_op = True  # a built-in Op (arrays in, arrays out); False for a user Function's ctx
    n_out = 1
    hooks: dict | None = None  # output index -> [hook, ...]
    retained: dict | None = None  # output index -> weakref to a tensor with retain_grad
    # (node, index) a tensor had before an in-place op gave it this node (see engine.position_at)
    replaced: tuple = (None, 0)
    # A node stands in for its first output tensor in the inputs of a node that backward has
    # released (engine.run_backward): it has the place in the graph such a tensor has
    # (``_node``, ``_idx``), no array, and costs nothing to create.
    _idx = 0
    requires_grad = True
    _data = B.xp.empty(0)  # (for code that compares memory owners: inplace._view_chain)

    @property
    def _node(self) -> Node:
        return self

    def __init__(self, fn: type, inputs: tuple, needs_input_grad: tuple) -> None:
        self.fn = fn
        self.inputs = inputs  # the forward's positional arguments (tensors and constants)
        self.needs_input_grad = needs_input_grad
        # what forward saved; None if nothing, FREED once backward has released it
        self.saved: Any = None
        # Creation order: every node is created after the nodes of its inputs, so visiting
        # nodes from the highest sequence number down is a valid backward order.
        self.seq = next(_sequence)

    # -- the ctx API -----------------------------------------------------------------
    def save_for_backward(self, *values: Any) -> None:
        """Keep values for backward (freed after it unless ``retain_graph=True``)."""
        self.saved = values

    @property
    def saved_tensors(self) -> tuple:
        """What forward saved. For built-in Ops: arrays, or tensors under ``create_graph``."""
        saved = self.saved
        if saved is None:
            return ()
        if saved is FREED:
            raise RuntimeError(_FREED_MESSAGE)
        if grad_mode._enabled and self.is_op:
            return tuple(self._as_tensor(v) for v in saved)
        return saved

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Outputs that get no gradient (PyTorch's ctx API): they do not require grad."""
        self.__dict__.setdefault("_non_diff", set()).update(id(t) for t in tensors)

    def _as_tensor(self, value: Any) -> Any:
        """Map a saved array back to the tensor it came from, so a recorded backward
        connects to the graph: an input, this node's output, or a constant."""
        # (a NumPy scalar too: a ufunc on a 0-d array returns one, and an op that saved its
        # 0-d output must still connect to it)
        if not isinstance(value, (B.ndarray, B.xp.generic)):
            return value
        for t in self.inputs:
            if isinstance(t, Tensor) and t._data is value:
                if t._node is not None and t._node.seq > self.seq:  # rebased in place since
                    from .engine import position_at

                    node, idx = position_at(t, self.seq)
                    t = Tensor._make(t._data, node)
                    t._idx, t.requires_grad = idx, node is not None
                return t
        if value is self.out:
            return Tensor._make(value, self)
        return Tensor._make(value)

    def _free(self) -> None:
        if self.saved is not None:
            self.saved = FREED

    def name(self) -> str:
        return self.fn.__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class _NoCtx:
    """The ctx an Op's forward gets when nothing is recorded: it forgets everything."""

    needs_input_grad = ()

    def save_for_backward(self, *values: Any) -> None:
        pass

    def __setattr__(self, name: str, value: Any) -> None:
        pass


_NO_CTX = _NoCtx()


class Op:
    """A built-in primitive: ``forward(ctx, *arrays, **options) -> array`` and
    ``backward(ctx, grad) -> one gradient (or None) per positional input``."""

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        # one plain loop over the arguments (cheaper than comprehensions on the hot path):
        # the arrays the forward computes with, and which inputs want a gradient
        arrays, needs, record = [], [], False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a._data)
                if a.requires_grad:
                    record = True
                needs.append(a.requires_grad)
            else:
                arrays.append(a)
                needs.append(False)
        node = Node(cls, args, tuple(needs)) if record and grad_mode._enabled else None
        try:
            out = cls.forward(node or _NO_CTX, *arrays, **kwargs)
        except ValueError as e:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays if hasattr(a, "shape"))
            # PyTorch reports shape errors as RuntimeError; name the op and the shapes
            raise RuntimeError(f"{cls.__name__.lower()}: {e} (input shapes {shapes})") from None
        if node is None:
            result = Tensor._make(out)
        else:
            node.out = out
            result = Tensor._make(out, node)
        if recorder is not None:  # stirpile.compile is recording a program (see jit/)
            recorder.op(cls, args, kwargs, result, node)
        return result


# While ``stirpile.compile`` records a function, the recorder that sees every op (and every
# ``traced_call``); None the rest of the time, so eager code pays one global lookup per op.
recorder: Any = None


def traced_call(fn: Any, *args: Any) -> Any:
    """``fn(*arrays)`` for work done on tensors' arrays outside any ``Op`` (drawing a dropout
    mask, batch statistics and running-average updates): eagerly it is just the call, and
    ``stirpile.compile`` records it to run again at every replay, on that call's arrays."""
    if recorder is not None:
        return recorder.call(fn, args)
    return fn(*arrays_of(args))


def arrays_of(args: tuple) -> list:
    """``args`` with each tensor replaced by its array."""
    return [a._data if isinstance(a, Tensor) else a for a in args]


class Function:
    """Base class for custom differentiable operations, exactly as in PyTorch.

    >>> import stirpile
    >>> class MyReLU(stirpile.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x.clamp(min=0)
    ...     @staticmethod
    ...     def backward(ctx, grad_output):
    ...         (x,) = ctx.saved_tensors
    ...         return grad_output * (x > 0)
    >>> x = stirpile.tensor([-1.0, 2.0], requires_grad=True)
    >>> MyReLU.apply(x).sum().backward()
    >>> x.grad
    tensor([0., 1.])
    """

    @staticmethod
    def forward(ctx: Node, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must implement forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: Node, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a Function subclass must implement backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        if recorder is not None:
            recorder.unsupported(f"the custom Function {cls.__name__}")
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = Node(cls, args, needs)
        ctx.is_op = False
        with grad_mode.no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        if not (grad_mode._enabled and True in needs):
            return result
        outs = result if isinstance(result, tuple) else (result,)
        non_diff = ctx.__dict__.get("_non_diff", ())
        wrapped = []
        for i, t in enumerate(outs):
            if isinstance(t, Tensor) and id(t) not in non_diff:
                if any(t is a for a in args):  # returned an input as is: give it a new identity
                    t = Tensor._make(t._data)
                t._node, t._idx, t.requires_grad = ctx, i, True
            wrapped.append(t)
        ctx.out_meta = [(t.shape, t.dtype) if isinstance(t, Tensor) else None for t in outs]
        ctx.in_meta = [(a.shape, a.dtype) if isinstance(a, Tensor) else None for a in args]
        ctx.n_out = len(outs)
        return tuple(wrapped) if isinstance(result, tuple) else wrapped[0]
