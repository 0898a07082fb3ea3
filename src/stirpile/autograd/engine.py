"""The backward pass: walk the recorded graph in reverse and apply the chain rule.

``run_backward`` visits the nodes that lead to the outputs newest first, the way
PyTorch's engine does: every node is numbered when it is created, after the
nodes of its inputs, so taking nodes from a heap by decreasing number reaches
each one only after all of its consumers have sent it their gradients. The walk
is a loop (a chain of 100,000 ops needs no recursion), visits only nodes that
receive a gradient, and is deterministic. Each node gets the sum of the
gradients flowing into each of its outputs, calls its ``backward`` once, and
passes the results on to its inputs. Leaves collect their gradient and add it
to ``.grad`` at the end.

In-place ops (see ``tensor.py``) give a tensor a newer node; a node that used the
tensor before still reaches the one it replaced (``position_at``). Before a node's
backward runs, what it saved is checked against the version counters
(``version.py``) if anything was written in place since the node was made.

Gradients travel as raw arrays in a plain backward. Under ``create_graph=True``
they travel as tensors with recording on, so the backward pass is itself a
graph that can be differentiated again (double backward, Hessian-vector
products).

Without ``retain_graph``, each node lets go of every array it held once its
backward has run: what it saved, its output, and its input tensors (replaced by
stand-ins that keep only the place in the graph, see ``_release``), so a loss
kept for logging keeps its ``grad_fn`` but not the batch's activations. The
walk runs with NumPy's floating-point warnings off (PyTorch computes ``1/0`` in
a backward without a word), and the user's error state back around hooks and
``Function.backward``. Hooks and Functions are checked as PyTorch checks them;
built-in ops are not (that would cost on every node).
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

from .. import backend as B
from ..ops.dual import sum_to
from . import function, grad_mode, quiet, version
from .function import _FREED_MESSAGE, FREED

# ``Tensor`` lives in stirpile.tensor, which imports this module; it registers itself
# here once defined (an import inside each function would cost ~1 µs per op).
Tensor: Any = None


def _output_grads(
    node: Any, grads: list, create_graph: bool, wanted: dict, captured: list, user: Any
) -> None:
    """What happens to a node's output gradients once they are complete: tensor hooks,
    ``retain_grad``, and capture for ``autograd.grad``."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        if node.hooks and i in node.hooks:
            grads[i] = g = _run_hooks(node.hooks[i], g, create_graph, user)
        if node.retained and i in node.retained and (t := node.retained[i]()) is not None:
            t.grad = g.clone() if create_graph else Tensor._make(g.copy())
        for k in wanted.get((node, i), ()):
            captured[k] = g


def _function_backward(node: Any, grads: list, create_graph: bool, user: Any) -> tuple:
    """A user Function's backward: it takes and returns tensors, and is checked as in
    PyTorch: a gradient is a tensor or None, of its input's dtype (cast if not) and shape
    (summed down to it if the input's shape broadcasts to it, an error otherwise)."""
    for i, g in enumerate(grads):  # outputs that got no gradient get zeros (None if not tensors)
        if g is None and node.out_meta[i] is not None:
            z = B.xp.zeros(*node.out_meta[i])
            grads[i] = Tensor._make(z) if create_graph else z
    token = quiet.enter(user)  # user code: with the user's NumPy error state
    try:
        if create_graph:
            result = node.fn.backward(node, *grads)
        else:
            wrapped = (None if g is None else Tensor._make(g) for g in grads)
            result = node.fn.backward(node, *wrapped)
    finally:
        quiet.leave(token)
    if not isinstance(result, tuple):
        result = (result,)
    n_in = len(node.inputs)
    if len(result) < n_in or any(r is not None for r in result[n_in:]):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {n_in}, got {len(result)})"
        )
    checked = []
    for i, (r, meta, needed) in enumerate(zip(result, node.in_meta, node.needs_input_grad)):
        if r is not None:
            r = _checked_gradient(node, i, r, meta)
            if not needed:  # an input that wants no gradient: ignored, as in PyTorch
                r = None
            elif not create_graph:  # a copy: a user's backward may return arrays it still holds
                r = r._data.copy()
        checked.append(r)
    return tuple(checked)


def _checked_gradient(node: Any, i: int, r: Any, meta: tuple | None) -> Any:
    """Gradient ``r`` that ``node``'s Function returned for input ``i`` (of ``meta``: shape and
    dtype), made to fit it as PyTorch's engine does (``validate_outputs``), or an error."""
    if not isinstance(r, Tensor):
        raise RuntimeError(
            f"function {node.name()} returned a {type(r).__name__} as gradient {i}: expected "
            "Variable or None (a Tensor)"
        )
    if meta is None:
        raise RuntimeError(
            f"function {node.name()} returned a gradient different than None at position "
            f"{i + 1}, but the corresponding forward input was not a Variable"
        )
    shape, dtype = meta
    if r.shape != shape:
        try:
            fits = B.xp.broadcast_shapes(shape, r.shape) == r.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {i} - got "
                f"{list(r.shape)} but expected shape compatible with {list(shape)}"
            )
        r = sum_to(r, shape)
    if r.dtype != dtype:
        r = r.to(dtype)
    return r


def _run_hooks(hooks: list, g: Any, create_graph: bool, user: Any) -> Any:
    """Call a tensor's hooks in order; each may return a replacement of the same shape and
    dtype (PyTorch's rule), or None."""
    token = quiet.enter(user)  # user code: with the user's NumPy error state
    try:
        for hook in hooks:
            new = hook(g if create_graph else Tensor._make(g))
            if new is None:
                continue
            name = getattr(hook, "__name__", type(hook).__name__)
            if not isinstance(new, Tensor):
                raise TypeError(
                    f"expected Variable, but hook '{name}' returned '{type(new).__name__}' "
                    "(a hook must return a Tensor or None)"
                )
            if new.shape != g.shape:
                raise RuntimeError(
                    f"hook '{name}' has changed the size of value (was {list(g.shape)}, got "
                    f"{list(new.shape)})"
                )
            if new.dtype != g.dtype:
                raise RuntimeError(
                    f"hook '{name}' has changed the type of value (was {B.dtype_name(g.dtype)} "
                    f"got {B.dtype_name(new.dtype)})"
                )
            g = new if create_graph else new._data
    finally:
        quiet.leave(token)
    return g


def run_backward(
    outputs: Sequence[Any],
    grad_outputs: Sequence[Any],
    retain_graph: bool = False,
    create_graph: bool = False,
    inputs: Sequence[Any] | None = None,
) -> list | None:
    """Backpropagate ``grad_outputs`` (arrays, or tensors if ``create_graph``) from
    ``outputs``. With ``inputs``, return their gradients instead of touching ``.grad``.

    Nodes wait in a heap ordered by creation number, newest first: a node is
    created after the nodes of its inputs, so when it comes out of the heap every
    node that uses its outputs has already sent its gradient.
    """
    if function.recorder is not None:  # stirpile.compile is recording (see jit/record.py)
        function.recorder.backward(outputs, grad_outputs, retain_graph, create_graph, inputs)
    pending: dict[Any, list] = {}  # node -> summed gradient of each output
    heap: list[tuple[int, Any]] = []
    leaves: dict[Any, Any] = {}  # leaf tensor -> summed gradient
    # leaf, or (node, output index) -> its positions in ``inputs`` (it may be listed twice)
    wanted: dict[Any, list[int]] = {}
    for k, t in enumerate(inputs or ()):
        wanted.setdefault(t if t._node is None else (t._node, t._idx), []).append(k)
    captured: list = [None] * len(inputs or ())

    # (tensor, wants a gradient, gradient) triples to deliver: first the outputs, then
    # each node's inputs. Delivery is written out in the loop, not called: it runs once
    # per edge of the graph, and a function call would cost as much as the work.
    edges: Any = zip(outputs, itertools.repeat(True), grad_outputs)
    # recording on only under create_graph (the flag is set directly: a context manager
    # costs three Python calls, and this runs once per training step)
    was_enabled, grad_mode._enabled = grad_mode._enabled, create_graph
    # NumPy quiet for the whole walk (PyTorch computes 1/0 or inf-inf in a backward without
    # a warning); the user's error state comes back around hooks and Function.backward
    user = quiet.state.get()
    token = quiet.state.set(quiet.IGNORE)
    # arrays a leaf may keep as its .grad without a copy: fresh ones, given to no one
    # else (not the caller's grad_outputs, not another leaf, not a view)
    handed = set(map(id, grad_outputs))
    # leaves with post-accumulate hooks -> how many gradients they will receive
    early = _leaf_fan_in(outputs) if post_hooks and inputs is None else None
    consumer = 1 << 62  # the sequence number of the node whose inputs are delivered (an int:
    # comparing ints is cheaper than comparing an int with float("inf"))
    try:
        while True:
            for t, needs, g in edges:
                if not needs or g is None:
                    continue
                node = t._node
                if node is None:  # a leaf: summed into a new array, never into a stored one
                    prev = leaves.get(t)
                    leaves[t] = g = g if prev is None else prev + g
                    if early and t in early:  # its last gradient: finish it now (see post_hooks)
                        early[t] -= 1
                        if not early[t]:
                            del leaves[t]
                            _finish_leaf(t, g, create_graph, handed, user)
                    continue
                i = t._idx
                if node.seq > consumer:  # rebased by an in-place op after the consumer used it
                    node, i = position_at(t, consumer)
                    if node is None:
                        continue
                slot = pending.get(node)
                if slot is None:
                    slot = pending[node] = [None] * node.n_out
                    heappush(heap, (-node.seq, node))
                slot[i] = g if slot[i] is None else slot[i] + g
            if not heap:
                break
            node = heappop(heap)[1]
            grads = pending.pop(node)
            if node.hooks or node.retained or wanted:
                _output_grads(node, grads, create_graph, wanted, captured, user)
            if node.saved is FREED:
                raise RuntimeError(f"{node.name()}: {_FREED_MESSAGE}")
            if node.seq < version.last_write and node.saved is not None:
                version.check_saved(node)  # something was written in place since it was saved
            if node.is_op:
                result = node.fn.backward(node, *grads)
                if type(result) is not tuple:
                    result = (result,)
            else:
                result = _function_backward(node, grads, create_graph, user)
            ins, needs = node.inputs, node.needs_input_grad
            if not retain_graph:  # release every array the node holds (see _release)
                node.out = None
                if node.saved is not None:  # a second backward raises before reading inputs
                    node.saved, node.inputs = FREED, _RELEASED
                elif len(ins) == 2:  # (written out for the common case: it runs once per node)
                    a, b = ins
                    na, nb = needs
                    if (not na or a._idx == 0) and (not nb or b._idx == 0):
                        node.inputs = ins = ((a._node or a) if na else None,
                                             (b._node or b) if nb else None)  # fmt: skip
                    else:
                        node.inputs = ins = _release(ins, needs)
                elif len(ins) == 1 and needs[0] and ins[0]._idx == 0:
                    node.inputs = ins = (ins[0]._node or ins[0],)
                else:
                    node.inputs = ins = _release(ins, needs)
            edges = zip(ins, needs, result)
            consumer = node.seq

        for leaf, g in leaves.items():
            if wanted:
                if leaf._hooks:
                    g = _run_hooks(leaf._hooks, g, create_graph, user)
                for k in wanted.get(leaf, ()):
                    captured[k] = g
            else:
                _finish_leaf(leaf, g, create_graph, handed, user)
        if inputs is None:
            run_callbacks()
    finally:
        callbacks.clear()
        grad_mode._enabled = was_enabled
        quiet.state.reset(token)
    return captured if inputs is not None else None


class _Edge:
    """What a released node keeps of an input that is not a leaf: its place in the graph,
    without its array (a kept loss must not keep every activation alive)."""

    __slots__ = ("_idx", "_node", "requires_grad")
    _data = B.xp.empty(0)  # for code that compares memory owners (inplace._view_chain)

    def __init__(self, t: Any) -> None:
        self._node, self._idx, self.requires_grad = t._node, t._idx, True


# The inputs of a released node that had saved values: a second backward raises there before
# reading them. (One stand-in with no array, for code that compares memory owners.)
_RELEASED = (_Edge.__new__(_Edge),)
_RELEASED[0]._node, _RELEASED[0]._idx, _RELEASED[0].requires_grad = None, 0, False


def _release(inputs: tuple, needs: tuple) -> tuple:
    """The inputs of a node that saved nothing, after a backward that did not retain the
    graph: leaves that want a gradient (they receive it; parameters live on anyway), for the
    other tensors that want one the node that made them (a stand-in for a first output, see
    ``Node._node``) or an ``_Edge``, None for the rest. A second backward can still walk the
    graph through such nodes (as in PyTorch); one that saved something raises."""
    return tuple([
        (t if t._node is None else t._node if t._idx == 0 else _Edge(t)) if n else None
        for t, n in zip(inputs, needs)
    ])  # fmt: skip


def position_at(t: Any, seq: int) -> tuple:
    """The place in the graph, ``(node, output index)``, that ``t`` had when the node numbered
    ``seq`` used it. An in-place op gives a tensor a newer node and records the one it
    replaced (``node.replaced``); nodes that used the tensor before must still reach the old
    one. ``(None, 0)`` if ``t`` was then a tensor outside the graph."""
    node, idx = t._node, t._idx
    while node is not None and node.seq > seq:
        node, idx = node.replaced
    return node, idx


def _finish_leaf(leaf: Any, g: Any, create_graph: bool, handed: set, user: Any) -> None:
    """A leaf's complete gradient: its tensor hooks, then ``.grad``, then its
    post-accumulate-grad hooks."""
    if leaf._hooks:
        g = _run_hooks(leaf._hooks, g, create_graph, user)
        owned = False
    else:
        owned = type(g) is B.ndarray and g.base is None and id(g) not in handed
    if not leaf.requires_grad:
        return
    if owned and leaf.grad is None:  # the common case: .grad is the array itself
        leaf.grad = Tensor._make(g)
    else:
        _accumulate_leaf(leaf, g, create_graph, owned)
    handed.add(id(g))
    entry = post_hooks.get(id(leaf)) if post_hooks else None
    if entry and entry[1]:
        hooks = entry[1]
        token = quiet.enter(user)
        try:
            for hook in list(hooks):
                hook(leaf)
        finally:
            quiet.leave(token)


# Post-accumulate-grad hooks (``Tensor.register_post_accumulate_grad_hook``): leaf -> hooks.
# A leaf that has them gets its ``.grad`` as soon as its last gradient arrives, in the middle
# of the walk (DistributedDataParallel starts reducing a bucket there), not at the end.
# Keyed by id (a WeakKeyDictionary would compare tensors with ``==``, which is elementwise).
post_hooks: dict[int, tuple] = {}  # id(leaf) -> (weak reference to it, [hook, ...])


def add_post_hook(leaf: Any, hook: Any) -> list:
    """Register ``hook(leaf)`` to run after ``leaf.grad`` is accumulated; returns the list
    that holds it (for a removable handle)."""
    key = id(leaf)
    if key not in post_hooks:
        post_hooks[key] = (weakref.ref(leaf, lambda _, d=post_hooks: d.pop(key, None)), [])
    return post_hooks[key][1]


# Functions to call once the current backward has finished (``queue_callback``).
callbacks: list = []


def queue_callback(fn: Any) -> None:
    """Call ``fn()`` when the running backward pass ends (PyTorch's
    ``Variable._execution_engine.queue_callback``)."""
    callbacks.append(fn)


def run_callbacks() -> None:
    """Call what was queued during this backward (DistributedDataParallel's wait), including
    what those calls queue in turn."""
    while callbacks:
        callbacks.pop(0)()


def _leaf_fan_in(outputs: Sequence[Any]) -> dict:
    """For each leaf with post-accumulate hooks, the number of graph edges that will bring it
    a gradient from ``outputs`` (a walk of the graph before the backward)."""
    count: dict = {}
    seen: set = set()
    stack = []
    for t in outputs:
        if t._node is None:
            if id(t) in post_hooks:
                count[t] = count.get(t, 0) + 1
        else:
            stack.append(t._node)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for t, needs in zip(node.inputs, node.needs_input_grad):
            if not needs:
                continue
            if t._node is None:
                if id(t) in post_hooks:
                    count[t] = count.get(t, 0) + 1
            else:
                parent, _ = position_at(t, node.seq)
                if parent is not None:
                    stack.append(parent)
    return count


def _accumulate_leaf(leaf: Any, g: Any, create_graph: bool, owned: bool = False) -> None:
    """``leaf.grad += g``, in place in a plain backward (the buffer is reused). A first
    gradient is copied, since the same array may flow to several tensors (``x + y``),
    unless the engine knows it is ``owned`` by this leaf alone (PyTorch "steals" it too)."""
    if leaf.grad is None:
        if create_graph:
            leaf.grad = g.clone()
        else:
            leaf.grad = Tensor._make(g if owned else g.copy())
    elif create_graph or leaf.grad.requires_grad:
        leaf.grad = leaf.grad + g
    else:
        B.xp.add(leaf.grad._data, g, out=leaf.grad._data)
