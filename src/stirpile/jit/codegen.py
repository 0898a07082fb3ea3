"""A recorded program as straight-line Python: one line per NumPy-level call.

Interpreting the step list costs Python work per value (what kind of reference is this?
which slot?) that an eager call does not have either; generating the program's source
once does that work once. The result reads like the step written out by hand
(``Program.source`` shows it), for a 784-32-10 MLP::

    def replay(args):
        a0 = args[0]._data
        a1 = args[1]._data
        c0.saved = None
        v0 = c0.out = f0(c0, a0, e0._data, e1._data)
        ...
        # backward from v5
        g5 = ones(v5)
        ...
        r = b4(c4, g5)
        ...

Names: ``a`` arguments' arrays, ``v`` slots (values the program makes), ``e`` external
tensors (parameters, buffers: read afresh), ``k`` constants, ``f``/``b`` an op's forward
and backward, ``c`` its ctx (the recorded node, reused), ``g`` gradients, ``L`` leaf
gradients, ``m``/``o`` a method and its object.
"""

from __future__ import annotations

from typing import Any

from .. import backend as B
from ..autograd import engine, grad_mode, quiet
from ..autograd.function import _NO_CTX

OP, CALL, BACKWARD, METHOD = range(4)  # what a step does
SLOT, EXT, CONST, ARG = range(4)  # where a value comes from


class _Names:
    """Objects the generated code refers to, each under a short name."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"NO_CTX": _NO_CTX, "ones": _ones, "grad_mode": grad_mode,
                                   "quiet": quiet, "engine": engine, "ndarray": B.ndarray,
                                   "make": engine.Tensor._make}  # fmt: skip
        self.ids: dict[tuple[str, int], str] = {}

    def name(self, prefix: str, obj: Any) -> str:
        key = (prefix, id(obj))
        if key not in self.ids:
            self.ids[key] = f"{prefix}{sum(k[0] == prefix for k in self.ids)}"
            self.ns[self.ids[key]] = obj
        return self.ids[key]


def _ones(like: Any) -> Any:
    one = B.xp.empty(like.shape, like.dtype)
    one.fill(1)
    return one


def generate(program: Any) -> tuple[str, dict]:
    """The source of ``replay(args)`` for ``program`` and the namespace it runs in."""
    names = _Names()
    lines = ["def replay(args):"]
    args_used = sorted({v for st in program.steps if st.kind != METHOD
                        for kind, v in (*st.refs, *st.kwargs.values()) if kind == ARG})  # fmt: skip
    lines += [f"    a{i} = args[{i}]._data" for i in args_used]

    def value(ref: tuple) -> str:
        kind, v = ref
        if kind == SLOT:
            return f"v{v}"
        if kind == ARG:
            return f"a{v}"
        if kind == EXT:
            return f"{names.name('e', v)}._data"
        return names.name("k", v)

    for i, st in enumerate(program.steps):
        if st.kind == OP:
            call_args = ", ".join(value(r) for r in st.refs)
            if st.kwargs:
                kw = ", ".join(f"{k}={value(r)}" for k, r in st.kwargs.items())
                call_args = f"{call_args}, {kw}" if call_args else kw
            f = names.name("f", st.fn.forward)
            if st.ctx is None:
                lines.append(f"    v{st.out} = {f}(NO_CTX, {call_args})")
            else:
                c = names.name("c", st.ctx)
                lines.append(f"    {c}.saved = None")
                lines.append(f"    v{st.out} = {c}.out = {f}({c}, {call_args})")
        elif st.kind == CALL:
            fn = names.name("f", st.fn)
            lines.append(f"    v{st.out} = {fn}({', '.join(value(r) for r in st.refs)})")
        elif st.kind == BACKWARD:
            lines += _backward(program.steps, i, names, value)
        else:
            obj, method_args = st.refs
            m, o = names.name("m", st.fn), names.name("o", obj)
            a, kw = names.name("k", method_args), names.name("k", st.kwargs)
            lines.append(f"    {m}({o}, *{a}, **{kw})")
    wanted = sorted(_slots(program.result))
    lines.append("    return {" + ", ".join(f"{k}: v{k}" for k in wanted) + "}")
    return "\n".join(lines) + "\n", names.ns


def _backward(steps: list, at: int, names: _Names, value: Any) -> list[str]:
    """``backward()`` from ``steps[at].out``, as the engine walks it: ops newest first, each
    run if its output got a gradient, gradients summed in the engine's order, then the
    leaves' ``.grad`` (with their hooks) and the callbacks queued meanwhile."""
    root = steps[at].out
    ops = [(i, st) for i, st in enumerate(steps[:at]) if st.kind == OP and st.ctx is not None]
    receiving = {root} | {v for _, st in ops for (kind, v), need in zip(st.refs, st.needs)
                          if need and kind == SLOT}  # fmt: skip
    # leaves (external tensors, or arguments by index) in the order they first get a gradient
    leaf_var: dict[tuple, str] = {}
    leaf_of: dict[tuple, tuple] = {}
    for _, st in reversed(ops):
        for (kind, v), need in zip(st.refs, st.needs):
            key = (kind, id(v) if kind == EXT else v)
            if need and kind in (EXT, ARG) and key not in leaf_var:
                leaf_var[key], leaf_of[key] = f"L{len(leaf_var)}", (kind, v)
    out = [f"    # backward from v{root}"]
    out += [f"    g{k} = None" for k in sorted(receiving - {root})]
    out += [f"    {var} = None" for var in leaf_var.values()]
    out += [f"    g{root} = ones(v{root})",
            "    was, grad_mode._enabled = grad_mode._enabled, False",
            "    user = quiet.state.get()",
            "    token = quiet.state.set(quiet.IGNORE)",
            "    try:"]  # fmt: skip
    for _, st in reversed(ops):
        c, b = names.name("c", st.ctx), names.name("b", st.fn.backward)
        out += [f"        if g{st.out} is not None:",
                f"            r = {b}({c}, g{st.out})",
                f"            {c}.saved = {c}.out = g{st.out} = None"]  # fmt: skip
        routes = [(j, ref) for j, (ref, need) in enumerate(zip(st.refs, st.needs)) if need]
        out.append("            r = r if type(r) is tuple else (r,)")
        for j, (kind, v) in routes:
            target = f"g{v}" if kind == SLOT else leaf_var[(kind, id(v) if kind == EXT else v)]
            add = f"                {target} = t if {target} is None else {target} + t"
            out += [f"            t = r[{j}]", "            if t is not None:", add]
    out.append("        handed = set()")
    for key, var in leaf_var.items():
        kind, v = leaf_of[key]
        leaf = names.name("e", v) if kind == EXT else f"args[{v}]"
        # the common case written out (a fresh array becomes .grad), the rest as the engine
        fast = (f"{leaf}.grad is None and not {leaf}._hooks and not engine.post_hooks "
                f"and type({var}) is ndarray and {var}.base is None "
                f"and id({var}) not in handed")  # fmt: skip
        slow = f"engine._finish_leaf({leaf}, {var}, False, handed, user)"
        out += [f"        if {var} is not None:",
                f"            if {fast}:",
                f"                {leaf}.grad = make({var})",
                f"                handed.add(id({var}))",
                "            else:",
                f"                {slow}"]  # fmt: skip
    out += ["        engine.run_callbacks()  # (DistributedDataParallel's reduction)",
            "    finally:",
            "        engine.callbacks.clear()",
            "        grad_mode._enabled = was",
            "        quiet.state.reset(token)"]  # fmt: skip
    return out


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
