"""The backward pass: walk the recorded graph in reverse and apply the chain rule.

``run_backward`` orders the nodes reachable from the outputs with an
iterative depth-first search (no recursion, so a chain of 100,000 ops is fine;
lists, not sets, so the order is deterministic), then visits them outputs
first. Each node gets the sum of the gradients flowing into each of its
outputs, calls its ``backward`` once, and passes the results on to its inputs.
Leaves collect their gradient and add it to ``.grad`` at the end.

Gradients travel as raw arrays in a plain backward. Under ``create_graph=True``
they travel as tensors with recording on, so the backward pass is itself a
graph that can be differentiated again (double backward, Hessian-vector
products).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import backend as B
from . import grad_mode
from .function import Op


def _topo_order(roots: Sequence[Any]) -> list:
    """Nodes reachable from ``roots``, each after every node it depends on."""
    order: list = []
    seen: set[int] = set()
    stack = [(n, False) for n in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for t, needs in zip(node.inputs, node.needs_input_grad):
            if needs and t._node is not None and id(t._node) not in seen:
                stack.append((t._node, False))
    return order


def _accumulate(slot: list, i: int, g: Any) -> None:
    slot[i] = g if slot[i] is None else slot[i] + g


def _call_backward(node: Any, grads: list, create_graph: bool) -> tuple:
    """Run one node's backward; always returns a tuple with one entry per input."""
    from ..tensor import Tensor

    if node._freed:
        raise RuntimeError(
            f"{node.name()}: trying to backward through the graph a second time; its saved "
            "values were freed by the first backward(). Pass retain_graph=True the first time."
        )
    if issubclass(node.fn, Op):
        result = node.fn.backward(node, *grads)
    elif create_graph:
        result = node.fn.backward(node, *grads)
    else:  # a user Function: it speaks tensors
        result = node.fn.backward(node, *(Tensor._make(g) for g in grads))
    if not isinstance(result, tuple):
        result = (result,)
    n_in = len(node.inputs)
    if len(result) < n_in or any(r is not None for r in result[n_in:]):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {n_in}, got {len(result)})"
        )
    if not create_graph:
        result = tuple(r._data if isinstance(r, Tensor) else r for r in result)
    return result


def _materialize(node: Any, grads: list, create_graph: bool) -> list:
    """Tensor outputs that received no gradient get zeros (multi-output Functions only);
    non-tensor outputs get None, as in PyTorch."""
    from ..tensor import Tensor

    for i, g in enumerate(grads):
        if g is None and node.out_meta[i] is not None:
            shape, dtype = node.out_meta[i]
            z = B.xp.zeros(shape, dtype)
            grads[i] = Tensor._make(z) if create_graph else z
    return grads


def _run_hooks(hooks: list, g: Any, create_graph: bool) -> Any:
    from ..tensor import Tensor

    for hook in hooks:
        new = hook(g if create_graph else Tensor._make(g))
        if new is not None:
            g = new if create_graph else new._data
    return g


def run_backward(
    outputs: Sequence[Any],
    grad_outputs: Sequence[Any],
    retain_graph: bool = False,
    create_graph: bool = False,
    inputs: Sequence[Any] | None = None,
) -> list | None:
    """Backpropagate ``grad_outputs`` (arrays, or tensors if ``create_graph``) from
    ``outputs``. With ``inputs``, return their gradients instead of touching ``.grad``."""
    pending: dict[int, list] = {}  # id(node) -> gradient per output
    leaves: dict[int, list] = {}  # id(leaf) -> [leaf, gradient]
    roots = []
    for t, g in zip(outputs, grad_outputs):
        if t._node is None:
            entry = leaves.setdefault(id(t), [t, None])
            entry[1] = g if entry[1] is None else entry[1] + g
        else:
            slot = pending.setdefault(id(t._node), [None] * len(getattr(t._node, "out_meta", (0,))))
            _accumulate(slot, t._idx, g)
            roots.append(t._node)

    wanted: dict[Any, int] = {}  # leaf id or (node id, output index) -> position in inputs
    for k, t in enumerate(inputs or ()):
        wanted[id(t) if t._node is None else (id(t._node), t._idx)] = k
    captured: list = [None] * len(inputs or ())

    with grad_mode.set_grad_enabled(create_graph):
        for node in reversed(_topo_order(roots)):
            grads = pending.pop(id(node), None)
            if grads is None:
                continue
            hooks = node.__dict__.get("hooks")
            for i in range(len(grads)):
                if grads[i] is None:
                    continue
                if hooks and i in hooks:
                    grads[i] = _run_hooks(hooks[i], grads[i], create_graph)
                retained = node.__dict__.get("retained")
                if retained and i in retained and (t := retained[i]()) is not None:
                    t.grad = _as_grad(grads[i], create_graph)
                if wanted and (id(node), i) in wanted:
                    captured[wanted[(id(node), i)]] = grads[i]
            if len(grads) > 1:
                grads = _materialize(node, grads, create_graph)
            result = _call_backward(node, grads, create_graph)
            if not retain_graph:
                node._free()
            for t, needs, g in zip(node.inputs, node.needs_input_grad, result):
                if not needs or g is None:
                    continue
                if t._node is None:
                    entry = leaves.setdefault(id(t), [t, None])
                    entry[1] = g if entry[1] is None else entry[1] + g
                else:
                    n_out = len(getattr(t._node, "out_meta", (0,)))
                    _accumulate(pending.setdefault(id(t._node), [None] * n_out), t._idx, g)

        for leaf, g in leaves.values():
            if leaf._hooks:
                g = _run_hooks(leaf._hooks, g, create_graph)
            if wanted:
                if id(leaf) in wanted:
                    captured[wanted[id(leaf)]] = g
            elif leaf.requires_grad:
                _accumulate_leaf(leaf, g, create_graph)
    return captured if inputs is not None else None


def _as_grad(g: Any, create_graph: bool) -> Any:
    """A ``.grad`` of its own: the same gradient may flow to several tensors (``x + y``)."""
    from ..tensor import Tensor

    return g.clone() if create_graph else Tensor._make(g.copy())


def _accumulate_leaf(leaf: Any, g: Any, create_graph: bool) -> None:
    """``leaf.grad += g``, in place in a plain backward (the buffer is reused)."""
    if leaf.grad is None:
        leaf.grad = _as_grad(g, create_graph)
    elif create_graph or leaf.grad.requires_grad:
        leaf.grad = leaf.grad + g
    else:
        B.xp.add(leaf.grad._data, g, out=leaf.grad._data)
