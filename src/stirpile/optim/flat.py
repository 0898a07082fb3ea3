"""Flat parameter groups: a step in a few NumPy calls instead of a few per parameter.

Every update rule of :mod:`stirpile.optim` is elementwise, so it gives the same
numbers on the concatenation of a group's parameters as on each parameter in
turn. ``FlatGroup`` stores the parameters of a small group as views into one
buffer (``p.data`` becomes a view of it), keeps each state buffer (momentum,
moments) flat the same way, and copies the gradients into one buffer before
the step. The optimizer then calls its ``_update`` once per group.

It pays where NumPy's per-call overhead is the cost (a 784-32-10 MLP: the SGD
step takes about half the time), and not where memory traffic is (copying the
gradients costs more than the calls it saves once a group holds ~10⁵ numbers),
hence :data:`MAX_NUMEL`. Whatever the user does between steps is honoured: a
parameter whose ``data`` was replaced, a state buffer that was replaced, or a
parameter without a gradient sends that step down the per-parameter path, and
the next flat step rebuilds the buffers from the current values.

``grad_views`` are the per-parameter views of the flat gradient buffer. When every
``p.grad`` already is its view (the compiled replay of ``stirpile.compile`` has the
backward write the gradients there), the step skips the copy. The buffer is then the
user's ``.grad``: like any gradient, ``_update`` must not modify it.
"""

from __future__ import annotations

from typing import Any

from .. import backend as B
from ..autograd.version import bump
from ..tensor import Tensor

# Groups up to this many numbers go flat (measured: at 25k numbers in 4 parameters
# the SGD step takes 7 µs flat against 17 µs per parameter; at 100k the gradient copy
# already costs as much as the calls saved).
MAX_NUMEL = 1 << 16


class FlatGroup:
    """One parameter group's parameters, gradients and state in flat buffers."""

    def __init__(self, params: list, states: list[dict]) -> None:
        self.params = params
        self.states = states  # the optimizer's per-parameter state dicts, in order
        self.shapes = [p._data.shape for p in params]
        self.slices = []
        start = 0
        for p in params:
            self.slices.append(slice(start, start + p._data.size))
            start += p._data.size
        self.param = self._flatten([p._data for p in params])
        self.grad = B.xp.empty_like(self.param)
        self.views = self._views(self.param)
        self.grad_views = self._views(self.grad)  # where gradients may be left (see above)
        for p, view in zip(params, self.views):
            p._data = view
        # the state as _update sees it (flat arrays as tensors, shared numbers), and for
        # each array the per-parameter views published from it
        self.state: dict[str, Any] = {}
        self.sources: dict[str, Tensor] = {}
        self.published: dict[str, list[Tensor]] = {}
        for key, value in states[0].items():
            if isinstance(value, Tensor):
                self.state[key] = Tensor._make(self._flatten([s[key]._data for s in states]))
            else:
                self.state[key] = value
        self._publish()

    @staticmethod
    def usable(params: list, states: list[dict]) -> bool:
        """Whether these parameters can share a flat buffer: one float dtype, few numbers,
        no parameter listed twice, and the same state keys and step counts in all."""
        # the size first: large groups ask (and are refused) at every step
        if not params or sum(p._data.size for p in params) > MAX_NUMEL:
            return False
        dtype = params[0]._data.dtype
        if dtype.kind != "f" or any(p._data.dtype != dtype for p in params):
            return False
        if len({id(p) for p in params}) != len(params):
            return False
        first = states[0]
        for s in states:
            if s.keys() != first.keys():
                return False
            for key, value in s.items():
                if isinstance(value, Tensor) != isinstance(first[key], Tensor):
                    return False
                if not isinstance(value, Tensor) and value != first[key]:
                    return False
        return True

    def current(self) -> bool:
        """Still in charge: parameters and state buffers are the views handed out, the
        numbers in the state agree, and every parameter has a gradient."""
        for i, (p, view) in enumerate(zip(self.params, self.views)):
            if p._data is not view or p.grad is None:
                return False
            state = self.states[i]
            if len(state) != len(self.state):
                return False
            for key, value in self.state.items():
                if key in self.published:
                    if state.get(key) is not self.published[key][i]:
                        return False
                elif state.get(key) != value:
                    return False
        return True

    def step(self, update: Any, group: dict) -> None:
        """Gather the gradients (unless they already are ``grad_views``) and run
        ``update(param, grad, state, group)`` once."""
        grads = [p.grad._data for p in self.params]
        if any(g is not view for g, view in zip(grads, self.grad_views)):
            B.xp.concatenate([g.reshape(-1) for g in grads], out=self.grad)
        update(self.param, self.grad, self.state, group)
        bump(self.param)  # the parameters are views of it: one count covers them all
        self._publish()

    def _publish(self) -> None:
        """Hand the flat state out to the per-parameter dicts: array entries as views
        (again only when ``update`` created or replaced the array), numbers by value."""
        for key, value in self.state.items():
            if not isinstance(value, Tensor):
                for state in self.states:
                    state[key] = value
            elif self.sources.get(key) is not value:
                self.sources[key] = value
                self.published[key] = [Tensor._make(v) for v in self._views(value._data)]
                for state, view in zip(self.states, self.published[key]):
                    state[key] = view

    def _flatten(self, arrays: list) -> Any:
        return B.xp.concatenate([a.reshape(-1) for a in arrays])

    def _views(self, flat: Any) -> list:
        return [flat[s].reshape(shape) for s, shape in zip(self.slices, self.shapes)]
