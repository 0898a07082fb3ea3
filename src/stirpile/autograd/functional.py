"""Higher-order helpers in PyTorch's ``torch.autograd.functional`` form.

For ``f: inputs ↦ outputs``: ``vjp`` = vᵀJ (one backward), ``jvp`` = Jv (two
backwards: the "double-vjp" trick, since gᵀ ↦ Jᵀg is linear in g, its own vjp
with v is Jv), ``jacobian`` (one backward per output element), ``hessian`` (the
Jacobian of the gradient) and ``hvp`` = Hv (a gradient of a gradient).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import backend as B


def _prep(inputs: Any, create_graph: bool = False) -> tuple[tuple, bool]:
    """The inputs as tensors to differentiate with respect to: detached copies, except
    that with ``create_graph`` an input that requires grad stays connected (through a
    ``clone``), so the result can be differentiated with respect to it, as in PyTorch."""
    is_tuple = isinstance(inputs, (tuple, list))
    xs = tuple(inputs) if is_tuple else (inputs,)
    return tuple(
        x.clone() if create_graph and x.requires_grad else x.detach().requires_grad_() for x in xs
    ), is_tuple


def _out(xs: tuple, is_tuple: bool) -> Any:
    return xs if is_tuple else xs[0]


def _zeros_for_none(gs: tuple, xs: tuple) -> tuple:
    from ..creation import zeros_like

    return tuple(zeros_like(x) if g is None else g for g, x in zip(gs, xs))


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False) -> tuple:
    """``(func(inputs), vᵀ J)``."""
    from . import grad

    xs, is_tuple = _prep(inputs, create_graph)
    out = func(*xs)
    gs = grad(out, xs, grad_outputs=v, create_graph=create_graph, allow_unused=True)
    gs = _zeros_for_none(gs, xs)
    detach = (lambda t: t) if create_graph else (lambda t: t.detach())
    return detach(out), _out(tuple(detach(g) for g in gs), is_tuple)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False) -> tuple:
    """``(func(inputs), J v)`` by the double-vjp trick."""
    from ..creation import zeros_like
    from . import grad

    xs, _ = _prep(inputs, create_graph)
    out = func(*xs)
    u = zeros_like(out).requires_grad_()
    gs = grad(out, xs, grad_outputs=u, create_graph=True, allow_unused=True)
    vs = v if isinstance(v, (tuple, list)) else (v,)
    if v is None:
        if any(x.numel() != 1 for x in xs):
            raise RuntimeError("jvp: v can only be omitted when every input has one element")
        vs = tuple(B.xp.ones(x.shape, x.dtype) for x in xs)
    pairs = [(g, w) for g, w in zip(gs, vs) if g is not None]
    (jv,) = grad([g for g, _ in pairs], u, grad_outputs=[w for _, w in pairs],
                 create_graph=create_graph, allow_unused=True)  # fmt: skip
    jv = zeros_like(out) if jv is None else jv
    return (out if create_graph else out.detach()), (jv if create_graph else jv.detach())


def jacobian(func: Callable, inputs: Any, create_graph: bool = False) -> Any:
    """d outputs / d inputs, shaped ``output.shape + input.shape``.

    One input and one output give a tensor; tuples give tuples (nested
    ``[output][input]`` when both are tuples), as in PyTorch.
    """
    from ..creation import zeros
    from ..functions import stack
    from . import grad

    xs, in_tuple = _prep(inputs, create_graph)
    result = func(*xs)
    out_tuple = isinstance(result, (tuple, list))
    outs = tuple(result) if out_tuple else (result,)
    table = []
    for o in outs:
        rows: list[list] = [[] for _ in xs]
        for k in range(o.numel()):
            seed = B.xp.zeros(o.shape, o.dtype)
            seed.reshape(-1)[k] = 1
            if o.requires_grad:
                gs = grad(o, xs, grad_outputs=seed, retain_graph=True,
                          create_graph=create_graph, allow_unused=True)  # fmt: skip
            else:
                gs = (None,) * len(xs)
            for r, g in zip(rows, _zeros_for_none(gs, xs)):
                r.append(g)
        table.append(tuple(
            (stack(r) if r else zeros(0, *x.shape, dtype=x.dtype)).reshape(*o.shape, *x.shape)
            for r, x in zip(rows, xs)
        ))  # fmt: skip
    if not create_graph:
        table = [tuple(j.detach() for j in row) for row in table]
    if out_tuple:
        return tuple(row if in_tuple else row[0] for row in table)
    return table[0] if in_tuple else table[0][0]


def hessian(func: Callable, inputs: Any, create_graph: bool = False) -> Any:
    """Second derivatives of a scalar ``func``: the Jacobian of its gradient."""
    from . import grad

    xs, is_tuple = _prep(inputs, create_graph)

    def gradient(*args: Any) -> Any:
        gs = grad(func(*args), args, create_graph=True, allow_unused=True)
        gs = _zeros_for_none(gs, args)
        return gs if is_tuple else gs[0]

    return jacobian(gradient, _out(xs, is_tuple), create_graph=create_graph)


def hvp(func: Callable, inputs: Any, v: Any, create_graph: bool = False) -> tuple:
    """``(func(inputs), H v)`` for a scalar ``func``: a gradient of ``gᵀv``."""
    from . import grad

    xs, is_tuple = _prep(inputs, create_graph)
    out = func(*xs)
    gs = grad(out, xs, create_graph=True, allow_unused=True)
    vs = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    # a gradient that is constant in the inputs (f linear in them) adds nothing to H v
    pairs = [(g, w) for g, w in zip(gs, vs) if g is not None and g.requires_grad]
    hv = (None,) * len(xs)
    if pairs:
        hv = grad([g for g, _ in pairs], xs, grad_outputs=[w for _, w in pairs],
                  create_graph=create_graph, allow_unused=True)  # fmt: skip
    hv = _zeros_for_none(hv, xs)
    detach = (lambda t: t) if create_graph else (lambda t: t.detach())
    return detach(out), _out(tuple(detach(h) for h in hv), is_tuple)


def vhp(func: Callable, inputs: Any, v: Any, create_graph: bool = False) -> tuple:
    """``(func(inputs), vᵀ H)``; equal to :func:`hvp` since the Hessian is symmetric."""
    return hvp(func, inputs, v, create_graph)
