"""A training step leaves no graph alive (tinygrad's test_gc habit): after the step only
the model's parameters, their gradients, the optimizer's state and the data remain."""

from __future__ import annotations

import gc

import stirpile
import stirpile.nn.functional as F
from stirpile import nn, optim
from stirpile.autograd.function import Node


def _live(kind):
    gc.collect()
    # check the type's module first: isinstance() on arbitrary objects can trigger
    # other libraries' lazy attributes (torch warns about deprecated ones)
    return sum(
        str(type(o).__module__).startswith("stirpile") and isinstance(o, kind)
        for o in gc.get_objects()
    )


def _step(model, opt, x, y):
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def test_training_steps_leave_no_graph_and_no_stray_tensors():
    elsewhere = _live(stirpile.Tensor)  # what other tests in this process keep alive
    stirpile.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = stirpile.randn(8, 20), stirpile.randint(0, 3, (8,))
    _step(model, opt, x, y)
    before = _live(stirpile.Tensor)
    for _ in range(5):
        _step(model, opt, x, y)
    assert _live(Node) == 0
    # parameters, their .grad and momentum buffers, x and y: a constant count (plus
    # the flat momentum buffer the per-parameter ones are views of: see optim.flat)
    assert _live(stirpile.Tensor) == before
    n_params = len(list(model.parameters()))
    assert before - elsewhere == 3 * n_params + 2 + 1


def test_graph_is_freed_without_gc_when_the_loss_is_dropped():
    """Nodes hold inputs, never outputs, so the graph has no cycles: reference counting
    alone frees it (no gc pass needed)."""
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
    x = stirpile.randn(3, 4)
    gc.collect()
    gc.disable()
    try:
        loss = model(x).sum()
        assert sum(type(o) is Node for o in gc.get_objects()) >= 3
        del loss
        assert sum(type(o) is Node for o in gc.get_objects()) == 0
    finally:
        gc.enable()
