"""Drawings of the compute graph (issue 15): the DOT text of known graphs, parsed back."""

from __future__ import annotations

import re
import sys
import types

import pytest

import stirpile
from stirpile.viz import Graph, graph

NODE = re.compile(r'^  (\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$')
EDGE = re.compile(r"^  (\w+) -> (\w+)( \[.*\])?$")


def parse(g: Graph) -> tuple[dict, list]:
    """(id -> (label lines, attributes), [(src, dst), ...]) from the DOT text."""
    nodes, edges = {}, []
    lines = g.source.splitlines()
    assert lines[0] == "digraph {" and lines[-1] == "}"
    for line in lines[1:-1]:
        if m := NODE.match(line):
            nodes[m[1]] = (m[2].split("\\n"), m[3])
        elif m := EDGE.match(line):
            edges.append((m[1], m[2]))
    return nodes, edges


def by_label(nodes: dict) -> dict:
    return {label[0]: i for i, (label, _) in nodes.items()}


def scalar_example(L=stirpile):
    """The lectures' worked example L = (w·x + b − y)²."""
    w = L.tensor(2.0, requires_grad=True)
    b = L.tensor(1.0, requires_grad=True)
    x, y = L.tensor(3.0), L.tensor(4.0)
    return (w * x + b - y) ** 2, w, b


def mlp_loss():
    stirpile.manual_seed(0)
    model = stirpile.nn.Sequential(
        stirpile.nn.Linear(3, 4), stirpile.nn.ReLU(), stirpile.nn.Linear(4, 2)
    )
    loss = stirpile.nn.functional.mse_loss(model(stirpile.randn(5, 3)), stirpile.randn(5, 2))
    return loss, model


def test_scalar_example():
    loss, w, b = scalar_example()
    nodes, edges = parse(graph(loss, params={"w": w, "b": b}))
    assert len(nodes) == 6
    ids = by_label(nodes)
    assert sorted(ids) == ["Add", "Mul", "Pow", "Sub", "b", "w"]
    assert sorted(edges) == sorted([
        (ids["w"], ids["Mul"]), (ids["Mul"], ids["Add"]), (ids["b"], ids["Add"]),
        (ids["Add"], ids["Sub"]), (ids["Sub"], ids["Pow"]),
    ])  # fmt: skip
    assert nodes[ids["Pow"]][0][1] == "() float32"
    assert "darkolivegreen1" in nodes[ids["Pow"]][1]  # the output
    assert "ellipse" in nodes[ids["w"]][1] and "lightblue" in nodes[ids["w"]][1]


def test_scalar_example_same_ops_as_torch():
    torch = pytest.importorskip("torch")
    loss, *_ = scalar_example(torch)
    names, todo, seen = [], [loss.grad_fn], set()
    while todo:
        fn = todo.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        names.append(fn.name())
        todo += [f for f, _ in fn.next_functions]
    ops = sorted(n.removesuffix("Backward0") for n in names if not n.endswith("AccumulateGrad"))
    nodes, _ = parse(graph(scalar_example()[0]))
    ours = sorted(label[0] for i, (label, _) in nodes.items() if i.startswith("n"))
    assert ours == ops
    assert sum(n.endswith("AccumulateGrad") for n in names) == sum(i.startswith("l") for i in nodes)


def test_mlp_loss():
    loss, model = mlp_loss()
    nodes, edges = parse(graph(loss, params=dict(model.named_parameters())))
    ops = sorted(label[0] for i, (label, _) in nodes.items() if i.startswith("n"))
    assert ops == ["Linear", "Linear", "Mean", "Mul", "Relu", "Sub"]
    leaves = {label[0]: label[1] for i, (label, _) in nodes.items() if i.startswith("l")}
    assert leaves == {
        "0.weight": "(4, 3) float32", "0.bias": "(4,) float32",
        "2.weight": "(2, 4) float32", "2.bias": "(2,) float32",
    }  # fmt: skip
    assert len(edges) == 10  # Sub feeds Mul twice (d * d)
    ids = by_label(nodes)
    assert edges.count((ids["Sub"], ids["Mul"])) == 2
    assert (ids["Relu"], ids["Mean"]) not in edges
    shapes = sorted(label[1] for i, (label, _) in nodes.items() if i.startswith("n"))
    assert shapes == ["() float32", *["(5, 2) float32"] * 3, *["(5, 4) float32"] * 2]
    # the input batch wants no gradient: not drawn
    assert all(not label[0].startswith("leaf") for label, _ in nodes.values())


def test_unnamed_leaves_and_quoting():
    a = stirpile.ones(2, requires_grad=True)
    b = stirpile.ones(2, requires_grad=True)
    nodes, _ = parse(graph(a * 2 + b, params={'say "hi"\\': b}))
    labels = sorted(label[0] for label, _ in nodes.values())
    assert labels == ["Add", "Mul", "leaf", 'say \\"hi\\"\\\\']


def test_show_saved():
    loss, *_ = scalar_example()
    plain = parse(graph(loss))[0]
    nodes, edges = parse(graph(loss, show_saved=True))
    saved = {i: label for i, (label, _) in nodes.items() if "_s" in i}
    assert len(nodes) == len(plain) + len(saved) and saved
    assert any(label[1] == "() float32, 4 B" for label in saved.values())
    for i in saved:
        assert (i, i.split("_s")[0]) in edges


def test_deep_chain_is_iterative_and_deterministic():
    x = stirpile.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    g1, g2 = graph(y), graph(y)
    assert g1.source == g2.source
    nodes, edges = parse(g1)
    assert len(nodes) == 5001 and len(edges) == 5000


def test_several_outputs_and_a_leaf_output():
    x = stirpile.ones(3, requires_grad=True)
    nodes, edges = parse(graph([x.sum(), x.exp()], params={"x": x}))
    assert sorted(label[0] for label, _ in nodes.values()) == ["Exp", "Sum", "x"]
    assert sum("darkolivegreen1" in attrs for _, attrs in nodes.values()) == 2
    nodes, edges = parse(graph(x))
    assert len(nodes) == 1 and not edges


def test_custom_function_node():
    class Twice(stirpile.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = stirpile.ones(2, 3, requires_grad=True)
    nodes, _ = parse(graph(Twice.apply(x)))
    assert ["Twice", "(2, 3) float32"] in [label for label, _ in nodes.values()]


def test_in_place_op():
    x = stirpile.ones(3, requires_grad=True)
    h = x * 2
    h.add_(1)
    nodes, edges = parse(graph(h.sum(), params={"x": x}))
    ids = by_label(nodes)
    assert len(nodes) == 4
    assert (ids["Mul"], ids["Add"]) in edges and (ids["x"], ids["Mul"]) in edges


def test_after_backward():
    loss, *_ = scalar_example()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"freed by backward\(\).*retain_graph=True"):
        graph(loss)
    loss, *_ = scalar_example()
    before = graph(loss).source
    loss.backward(retain_graph=True)
    assert graph(loss).source == before


def test_errors():
    with pytest.raises(ValueError, match="requires_grad=False"):
        graph(stirpile.ones(2))
    with pytest.raises(TypeError, match="expected a Tensor"):
        graph([1.0])
    x = stirpile.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"params\['w'\] is a float"):
        graph(x * 2, params={"w": 1.0})
    with pytest.raises(ValueError, match="format must be"):
        graph(x * 2).render("out.pdf", format="pdf")


def test_render_without_graphviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    g = graph(stirpile.ones(2, requires_grad=True) * 2)
    for call in (g._repr_svg_, lambda: g.render("x.svg")):
        with pytest.raises(ImportError, match=r"pip install graphviz.*`dot`|`dot`.*pip install"):
            call()


def _fake_graphviz(monkeypatch, pipe):
    calls = []

    class Source:
        def __init__(self, source):
            calls.append(source)

        def pipe(self, format):
            return pipe(format)

    class ExecutableNotFound(RuntimeError):
        pass

    mod = types.SimpleNamespace(Source=Source, ExecutableNotFound=ExecutableNotFound)
    monkeypatch.setitem(sys.modules, "graphviz", mod)
    return calls, ExecutableNotFound


def test_render_with_graphviz(monkeypatch, tmp_path):
    calls, _ = _fake_graphviz(monkeypatch, lambda fmt: f"<{fmt}/>".encode())
    g = graph(stirpile.ones(2, requires_grad=True) * 2)
    assert g._repr_svg_() == "<svg/>"
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"] == "<svg/>" and "Graph" in bundle["text/plain"]
    path = tmp_path / "g.png"
    assert g.render(str(path), format="png") == str(path)
    assert path.read_bytes() == b"<png/>"
    assert calls[0] == g.source


def test_render_without_dot(monkeypatch):
    def pipe(fmt):
        raise missing("failed to execute PosixPath('dot')")

    _, missing = _fake_graphviz(monkeypatch, pipe)
    with pytest.raises(RuntimeError, match="install Graphviz"):
        graph(stirpile.ones(2, requires_grad=True) * 2)._repr_svg_()
