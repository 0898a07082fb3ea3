"""A recorded program as straight-line Python: one line per NumPy-level call.

Interpreting the step list costs Python work per value (what kind of reference is this?
which slot?) that an eager call does not have either; generating the program's source
once does that work once. The result reads like the step written out by hand
(``Program.source`` shows it), for a 784-32-10 MLP::

    def replay(args):
        a0 = args[0]._data
        a1 = args[1]._data
        if not K0.ready(a1):
            return None  # (a target that is not a class index)
        v0 = K1.forward(a0, e0._data, e1._data)
        v1 = K2.forward(v0)
        ...
        # backward from v3
        F0 = e0.grad is None and not e0._hooks and not engine.post_hooks
        ...
            r = K3.backward(g2, D2 if F2 else None, D3 if F3 else None)
            g1 = r[0]
        ...

Names: ``a`` arguments' arrays, ``v`` slots (values the program makes), ``e`` external
tensors (parameters, buffers: read afresh), ``k`` constants, ``f``/``b`` an op's forward
and backward, ``c`` its ctx (the recorded node, reused), ``K`` a kernel (``jit.kernels``)
in place of the three, ``g`` gradients, ``L`` leaf gradients, ``D`` a leaf's gradient
buffer and ``F`` whether it is free this time, ``m``/``o`` a method and its object.
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


def generate(program: Any, kernels: dict) -> tuple[str, dict, list]:
    """The source of ``replay(args)`` for ``program`` with ``kernels`` (step index ->
    kernel, see ``jit.kernels``), the namespace it runs in, and the ids of the arrays the
    kernels own (buffers and gradient destinations: never handed out as they are)."""
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

    for i, k in kernels.items():  # checks that decide before anything runs
        if getattr(k, "target_check", False):
            target = value(program.steps[i].refs[1])
            lines.append(f"    if not {names.name('K', k)}.ready({target}):")
            lines.append("        return None  # (a target that is not a class index)")
    owned = [id(b) for k in kernels.values() for b in k.buffers() if b is not None]
    for i, st in enumerate(program.steps):
        if i in kernels:  # (an op, or a traced call)
            kw = [f"{k}={value(st.kwargs[k])}" for k in getattr(kernels[i], "kwargs", ())]
            call_args = ", ".join([*(value(r) for r in st.refs), *kw])
            lines.append(f"    v{st.out} = {names.name('K', kernels[i])}.forward({call_args})")
        elif st.kind == OP:
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
            dests = _destinations(program)
            lines += _backward(program.steps, i, names, kernels, dests, owned)
        else:
            obj, method_args = st.refs
            m, o = names.name("m", st.fn), names.name("o", obj)
            a, kw = names.name("k", method_args), names.name("k", st.kwargs)
            lines.append(f"    {m}({o}, *{a}, **{kw})")
    wanted = sorted(program.result_slots())
    lines.append("    return {" + ", ".join(f"{k}: v{k}" for k in wanted) + "}")
    if owned:
        names.ns["OWNED"] = frozenset(owned)
    return "\n".join(lines) + "\n", names.ns, owned


def _destinations(program: Any) -> dict[int, Any]:
    """Where a parameter's gradient goes when a kernel can write it anywhere: the
    optimizer's flat gradient buffer (its step then copies nothing), else an array of
    the parameter's own, allocated once. Keyed by ``id`` of the parameter."""
    from ..optim.optimizer import Optimizer

    found = {}
    for st in program.steps:
        if st.kind == METHOD and isinstance(st.refs[0], Optimizer):
            for flat in st.refs[0]._flat.values():
                found.update(zip(map(id, flat.params), flat.grad_views))
    return found


def _backward(steps: list, at: int, names: _Names, kernels: dict, flat: dict,
              owned: list) -> list[str]:  # fmt: skip
    """``backward()`` from ``steps[at].out``, as the engine walks it: ops newest first, each
    run if its output got a gradient, gradients summed in the engine's order, then the
    leaves' ``.grad`` (with their hooks) and the callbacks queued meanwhile. A parameter's
    gradient that a kernel alone computes is written into its destination ``D`` when the
    parameter has no ``.grad`` and no hooks (flag ``F``), and then becomes ``.grad``."""
    root = steps[at].out
    ops = [(i, st) for i, st in enumerate(steps[:at]) if st.kind == OP and st.ctx is not None]
    receiving = {root} | {v for _, st in ops for (kind, v), need in zip(st.refs, st.needs)
                          if need and kind == SLOT}  # fmt: skip
    # leaves (external tensors, or arguments by index) in the order they first get a gradient
    leaf_var: dict[tuple, str] = {}
    leaf_of: dict[tuple, tuple] = {}
    arrivals: dict[tuple, int] = {}
    for _, st in reversed(ops):
        for (kind, v), need in zip(st.refs, st.needs):
            key = (kind, id(v) if kind == EXT else v)
            if need and kind != CONST:  # (how many gradients each value receives)
                arrivals[key] = arrivals.get(key, 0) + 1
            if need and kind in (EXT, ARG):
                if key not in leaf_var:
                    leaf_var[key], leaf_of[key] = f"L{len(leaf_var)}", (kind, v)
    # the leaves a kernel writes straight into a destination: one gradient, from a kernel
    dest: dict[tuple, str] = {}
    for i, st in ops:
        for j in getattr(kernels.get(i), "grads_into", ()):
            kind, v = st.refs[j] if j < len(st.refs) else (None, None)
            key = (kind, id(v))
            if kind == EXT and st.needs[j] and arrivals[key] == 1:
                array = flat.get(id(v))
                if array is None:
                    array = B.xp.empty_like(v._data)
                owned.append(id(array))
                dest[key] = names.name("D", array)
    out = [f"    # backward from v{root}"]
    out += [f"    g{k} = None" for k in sorted(receiving - {root})]
    out += [f"    {var} = None" for var in leaf_var.values()]
    for key, d in dest.items():
        e = names.name("e", leaf_of[key][1])
        out.append(f"    F{d[1:]} = {e}.grad is None and not {e}._hooks and not engine.post_hooks")
    out += [f"    g{root} = ones(v{root})",
            "    was, grad_mode._enabled = grad_mode._enabled, False",
            "    user = quiet.state.get()",
            "    token = quiet.state.set(quiet.IGNORE)",
            "    try:"]  # fmt: skip
    for i, st in reversed(ops):
        routes = [(j, ref) for j, (ref, need) in enumerate(zip(st.refs, st.needs)) if need]
        kernel = kernels.get(i)
        if kernel is None:
            c, b = names.name("c", st.ctx), names.name("b", st.fn.backward)
            out += [f"        if g{st.out} is not None:",
                    f"            r = {b}({c}, g{st.out})",
                    f"            {c}.saved = {c}.out = g{st.out} = None",
                    "            r = r if type(r) is tuple else (r,)"]  # fmt: skip
        else:
            into = []
            for j in kernel.grads_into[: len(st.refs) - 1]:
                kind, v = st.refs[j]
                d = dest.get((kind, id(v)))
                into.append(f"{d} if F{d[1:]} else None" if d else "None")
            call = ", ".join([f"g{st.out}", *into])
            out += [f"        if g{st.out} is not None:",
                    f"            r = {names.name('K', kernel)}.backward({call})",
                    f"            g{st.out} = None"]  # fmt: skip
        for j, (kind, v) in routes:
            key = (kind, id(v) if kind == EXT else v)
            target = f"g{v}" if kind == SLOT else leaf_var[key]
            if arrivals[key] == 1:  # its only gradient
                out.append(f"            {target} = r[{j}]")
                continue
            add = f"                {target} = t if {target} is None else {target} + t"
            out += [f"            t = r[{j}]", "            if t is not None:", add]
    out.append("        handed = set(OWNED)" if owned else "        handed = set()")
    for key, var in leaf_var.items():
        kind, v = leaf_of[key]
        leaf = names.name("e", v) if kind == EXT else f"args[{v}]"
        slow = f"engine._finish_leaf({leaf}, {var}, False, handed, user)"
        out.append(f"        if {var} is not None:")
        if key in dest:  # (F: the kernel wrote it into D, which becomes .grad)
            out += [f"            if F{dest[key][1:]}:",
                    f"                {leaf}.grad = make({var})",
                    "            else:",
                    f"                {slow}"]  # fmt: skip
            continue
        # the common case written out (a fresh array becomes .grad), the rest as the engine
        fast = (f"{leaf}.grad is None and not {leaf}._hooks and not engine.post_hooks "
                f"and type({var}) is ndarray and {var}.base is None "
                f"and id({var}) not in handed")  # fmt: skip
        out += [f"            if {fast}:",
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
