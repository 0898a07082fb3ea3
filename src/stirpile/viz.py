"""Drawings of the recorded compute graph (torchviz's ``make_dot``, with no dependency).

``graph(t)`` walks back from ``t.grad_fn`` the way backward would and returns a
:class:`Graph`: one box per recorded op (its name, output shape and dtype), one
ellipse per leaf that requires grad (named from ``params``, a ``name -> tensor``
dict such as ``dict(model.named_parameters())``), optionally one note per saved
value, and an edge from each input to the op that consumed it. ``Graph.source``
is Graphviz DOT text built here; showing it in Jupyter or rendering it to a file
needs the optional ``graphviz`` package (``pip install stirpile[viz]``) and
Graphviz's ``dot`` binary.

The walk is a loop over a work list (no recursion: a 100,000-op chain draws),
and nodes are numbered in the order first reached from the output, inputs left
to right, so the same graph always gives the same text.

>>> import stirpile
>>> w = stirpile.tensor(2.0, requires_grad=True)
>>> g = graph(w * 3.0, params={"w": w})
>>> print(g.source)  # doctest: +NORMALIZE_WHITESPACE
digraph {
  graph [rankdir=BT]
  node [fontname=monospace fontsize=10 shape=box style=filled]
  n0 [label="Mul\\n() float32" fillcolor=darkolivegreen1]
  l0 [label="w\\n() float32" fillcolor=lightblue shape=ellipse]
  l0 -> n0
}
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from .autograd.engine import position_at
from .autograd.function import FREED
from .backend import dtype_name
from .tensor import Tensor

_INSTALL = (
    "drawing a graph needs the graphviz package and Graphviz's `dot` binary: "
    "pip install graphviz (or stirpile[viz]) and install Graphviz (e.g. apt install graphviz)"
)
_FREED = (
    "graph(): the graph behind this tensor was freed by backward() (the {} node let go of "
    "its inputs); draw it before backward(), or call backward(retain_graph=True)"
)


def _quote(text: str) -> str:
    """A DOT string literal (newlines become DOT's ``\\n``)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _meta(shape: Any, dtype: Any) -> str:
    return f"{tuple(shape)} {dtype_name(dtype).removeprefix('stirpile.')}"


def _describe(value: Any) -> str:
    """Shape, dtype and size of a saved value (an array or a tensor), else its type."""
    data = value._data if isinstance(value, Tensor) else value
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return f"{_meta(data.shape, data.dtype)}, {int(getattr(data, 'nbytes', 0))} B"
    return f"{type(value).__name__} {value!r}"[:40]


def _output_meta(node: Any, idx: int = 0) -> str:
    """``(shape) dtype`` of a node's output (``?`` if backward released it)."""
    meta = getattr(node, "out_meta", None)  # a user Function's ctx
    if meta is not None and meta[idx] is not None:
        return _meta(*meta[idx])
    out = getattr(node, "out", None)  # a built-in Op: its output array
    return "?" if out is None else _meta(out.shape, out.dtype)


class Graph:
    """A drawn compute graph: ``source`` (DOT text), shown by Jupyter as SVG,
    written to a file by :meth:`render`."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        n = sum(1 for line in self.source.splitlines() if "[label=" in line)
        return f"<stirpile.viz.Graph with {n} nodes>"

    def _source(self) -> Any:
        try:
            import graphviz
        except ImportError:
            raise ImportError(_INSTALL) from None
        return graphviz.Source(self.source)

    def pipe(self, format: str = "svg") -> bytes:
        """The drawing as bytes in ``format`` (``"svg"``, ``"png"``, …), made by ``dot``."""
        src = self._source()
        try:
            return src.pipe(format=format)
        except RuntimeError as e:  # graphviz.ExecutableNotFound: no `dot` on the PATH
            if type(e).__name__ == "ExecutableNotFound":
                raise RuntimeError(_INSTALL) from None
            raise

    def render(self, path: str, format: str = "svg") -> str:
        """Write the drawing to ``path`` as ``"svg"`` or ``"png"``; return ``path``."""
        if format not in ("svg", "png"):
            raise ValueError(f"render(): format must be 'svg' or 'png', got {format!r}")
        data = self.pipe(format)
        with open(path, "wb") as f:
            f.write(data)
        return str(path)

    def _repr_svg_(self) -> str:
        return self.pipe("svg").decode("utf-8")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"image/svg+xml": self._repr_svg_(), "text/plain": repr(self)}


def graph(
    tensor: Tensor | Sequence[Tensor],
    params: Mapping[str, Tensor] | None = None,
    show_saved: bool = False,
) -> Graph:
    """The recorded graph behind ``tensor`` (or several outputs) as a :class:`Graph`.

    Ops are boxes labelled with the op's name and its output's ``(shape) dtype``
    (outputs drawn green); leaves that require grad are blue ellipses labelled
    with their name in ``params`` (else ``leaf``) and shape; with ``show_saved``,
    each value an op saved for backward is an orange note with its shape, dtype
    and bytes. Edges run from each input to the op that consumed it (once per
    use: ``x * x`` has two). Inputs that want no gradient (constants, tensors
    with ``requires_grad=False``) are not drawn, as in PyTorch's graph.
    """
    outputs = list(tensor) if isinstance(tensor, (list, tuple)) else [tensor]
    names: dict[int, str] = {}
    for name, p in (params or {}).items():
        if not isinstance(p, Tensor):
            raise TypeError(f"graph(): params[{name!r}] is a {type(p).__name__}, not a Tensor")
        names[id(p)] = name
    for t in outputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"graph(): expected a Tensor, got {type(t).__name__}")
        if not t.requires_grad:
            raise ValueError(
                "graph(): this tensor has no recorded graph (requires_grad=False); compute it "
                "from tensors with requires_grad=True, outside no_grad()"
            )

    ops: dict[int, tuple[str, Any]] = {}  # id(node) -> (dot id, node), in order reached
    leaves: dict[int, tuple[str, Any]] = {}  # id(tensor) -> (dot id, tensor)
    edges: list[str] = []
    lines: list[str] = []

    def ident(t: Any, seq: int) -> str | None:
        """The DOT id of input ``t`` of the node numbered ``seq``, registering it."""
        node, _ = position_at(t, seq)
        if node is None:
            if not isinstance(t, Tensor):  # an _Edge stand-in that leads nowhere
                return None
            if id(t) not in leaves:
                leaves[id(t)] = (f"l{len(leaves)}", t)
            return leaves[id(t)][0]
        if id(node) not in ops:
            ops[id(node)] = (f"n{len(ops)}", node)
            todo.append(node)
        return ops[id(node)][0]

    todo: deque[Any] = deque()
    roots = [ident(t, 1 << 62) for t in outputs]
    while todo:  # a work list, not recursion; each node is expanded once
        node = todo.popleft()
        if node.saved is FREED or (node.is_op and getattr(node, "out", None) is None):
            raise RuntimeError(_FREED.format(node.fn.__name__))
        me = ops[id(node)][0]
        for t, needs in zip(node.inputs, node.needs_input_grad):
            if needs and t is not None:
                src = ident(t, node.seq)
                if src is not None:
                    edges.append(f"  {src} -> {me}")

    for dot_id, node in ops.values():
        label = f"{node.fn.__name__}\n{_output_meta(node)}"
        extra = " fillcolor=darkolivegreen1" if dot_id in roots else ""
        lines.append(f"  {dot_id} [label={_quote(label)}{extra}]")
        if show_saved and node.saved:
            for k, value in enumerate(node.saved):
                if value is None:
                    continue
                sid = f"{dot_id}_s{k}"
                slabel = f"saved {k}\n{_describe(value)}"
                lines.append(f"  {sid} [label={_quote(slabel)} fillcolor=orange shape=note]")
                edges.append(f"  {sid} -> {dot_id} [style=dashed arrowhead=none]")
    for dot_id, t in leaves.values():
        label = f"{names.get(id(t), 'leaf')}\n{_meta(t.shape, t.dtype)}"
        fill = "darkolivegreen1" if dot_id in roots else "lightblue"
        lines.append(f"  {dot_id} [label={_quote(label)} fillcolor={fill} shape=ellipse]")
    head = [
        "digraph {",
        "  graph [rankdir=BT]",
        "  node [fontname=monospace fontsize=10 shape=box style=filled]",
    ]
    return Graph("\n".join([*head, *lines, *edges, "}"]) + "\n")
