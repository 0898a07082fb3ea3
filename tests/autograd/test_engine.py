"""The backward pass and its semantics: accumulation, retain_graph, grad modes, detach,
hooks, retain_grad, ``autograd.grad``, aliasing, deep graphs and freeing the graph."""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

import stirpile
from stirpile.autograd import Node


def leaf(*values, dtype=stirpile.float64):
    return stirpile.tensor(list(values), dtype=dtype, requires_grad=True)


# -- the lectures' worked example ------------------------------------------------------------


def test_course_worked_example_matches_the_hand_chain_rule():
    """L = ½ (y − σ(w x + b))² + λ w²; backward by the formulas of the lectures."""
    x, y, lam = 1.5, 1.0, 0.1
    w = stirpile.tensor(0.8, dtype=stirpile.float64, requires_grad=True)
    b = stirpile.tensor(-0.3, dtype=stirpile.float64, requires_grad=True)
    z = w * x + b
    u = z.sigmoid()
    loss = 0.5 * (y - u) ** 2 + lam * w**2
    loss.backward()

    z_ = 0.8 * x - 0.3
    u_ = 1 / (1 + math.exp(-z_))
    dL_du = u_ - y
    dL_dz = dL_du * u_ * (1 - u_)
    assert loss.item() == pytest.approx(0.5 * (y - u_) ** 2 + lam * 0.8**2, rel=1e-14)
    assert w.grad.item() == pytest.approx(dL_dz * x + 2 * lam * 0.8, rel=1e-14)
    assert b.grad.item() == pytest.approx(dL_dz, rel=1e-14)


# -- accumulation and retain_graph -----------------------------------------------------------


def test_gradients_accumulate_over_two_backward_calls():
    x = leaf(1.0, 2.0)
    (x * x).sum().backward()
    (3 * x).sum().backward()
    assert x.grad.tolist() == [2.0 + 3.0, 4.0 + 3.0]
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_second_backward_without_retain_graph_says_so():
    x = leaf(1.0, 2.0)
    loss = (x * x).exp().sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf(1.0, 2.0)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_diamond_graph_accumulates_both_paths():
    x = leaf(3.0)
    a = x * 2  # used twice below
    y = a * a + a.sin()  # dy/dx = (2a + cos a) · 2
    y.sum().backward()
    a_ = 6.0
    assert x.grad.item() == pytest.approx((2 * a_ + math.cos(a_)) * 2, rel=1e-14)


def test_same_tensor_twice_in_one_op():
    x = leaf(1.5, -2.0)
    (x * x * x).sum().backward()
    assert x.grad.tolist() == [3 * 1.5**2, 3 * 4.0]


def test_leaf_grads_are_not_aliased():
    x, y = leaf(1.0, 2.0), leaf(3.0, 4.0)
    (x + y).sum().backward()
    with stirpile.no_grad():
        x.grad.mul_(2)
    assert y.grad.tolist() == [1.0, 1.0]
    assert x.grad.tolist() == [2.0, 2.0]
    # a leaf that was the loss itself, and a retained non-leaf, get their own buffers too
    z = x * 1
    z.retain_grad()
    w = z + y
    w.backward(stirpile.ones(2, dtype=stirpile.float64))
    with stirpile.no_grad():
        z.grad.add_(10)
    assert y.grad.tolist() == [2.0, 2.0]


def test_grad_buffer_is_reused_in_place_but_not_shared_with_the_graph():
    x = leaf(1.0, 2.0)
    (x * 2).sum().backward()
    buffer = x.grad
    (x * 3).sum().backward()
    assert x.grad is buffer and buffer.tolist() == [5.0, 5.0]


# -- backward's arguments ----------------------------------------------------------------------


def test_backward_on_a_non_scalar_needs_a_gradient():
    x = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()


def test_backward_with_an_explicit_gradient():
    x = leaf(1.0, 2.0, 3.0)
    (x * x).backward(stirpile.tensor([1.0, 0.5, -1.0], dtype=stirpile.float64))
    assert x.grad.tolist() == [2.0, 2.0, -6.0]
    with pytest.raises(RuntimeError, match="shape"):
        (x * x).backward(stirpile.ones(2, dtype=stirpile.float64))


def test_backward_of_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        stirpile.ones(2).sum().backward()


# -- grad modes ------------------------------------------------------------------------------


def test_no_grad_and_enable_grad_as_context_managers():
    x = leaf(1.0)
    with stirpile.no_grad():
        assert not stirpile.is_grad_enabled()
        y = x * 2
        with stirpile.enable_grad():
            z = x * 2
        assert not stirpile.is_grad_enabled()
    assert stirpile.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError), stirpile.no_grad():
        raise ValueError
    assert stirpile.is_grad_enabled()


def test_grad_modes_as_decorators():
    x = leaf(1.0)

    @stirpile.no_grad()
    def off(t):
        return t * 2

    @stirpile.no_grad
    def off_bare(t):
        return t * 2

    @stirpile.enable_grad()
    def on(t):
        return t * 2

    @stirpile.set_grad_enabled(False)
    def set_off(t):
        return t * 2

    assert stirpile.is_grad_enabled()  # making the decorators changed nothing
    assert not off(x).requires_grad and not off_bare(x).requires_grad
    assert not set_off(x).requires_grad
    with stirpile.no_grad():
        assert on(x).requires_grad
    assert off.__name__ == "off"


def test_set_grad_enabled_as_context_manager_and_function():
    x = leaf(1.0)
    with stirpile.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert stirpile.is_grad_enabled()
    with stirpile.no_grad(), stirpile.set_grad_enabled(True):
        assert (x * 2).requires_grad
    stirpile.set_grad_enabled(False)
    try:
        assert not stirpile.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        stirpile.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_inference_mode():
    x = leaf(1.0)
    with stirpile.inference_mode():
        assert not (x * 2).requires_grad
    with stirpile.inference_mode(False):
        assert (x * 2).requires_grad


# -- detach, requires_grad, in place ---------------------------------------------------------


def test_detach_shares_memory_and_has_no_grad():
    x = leaf(1.0, 2.0)
    y = (x * 2).detach()
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert not y.requires_grad and y.grad_fn is None
    d[0] = 7.0
    assert x.tolist() == [7.0, 2.0]
    (y * x).sum().backward()  # the detached factor is a constant
    assert x.grad.tolist() == y.tolist()


def test_requires_grad_on_an_integer_tensor_is_refused():
    with pytest.raises(RuntimeError, match="floating point"):
        stirpile.tensor([1, 2], requires_grad=True)
    t = stirpile.tensor([1, 2])
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad_()
    assert not t.requires_grad


def test_requires_grad_flags():
    x = leaf(1.0)
    y = x * 2
    assert x.is_leaf and not y.is_leaf and y.requires_grad
    assert stirpile.ones(1).is_leaf and not stirpile.ones(1).requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    assert (stirpile.ones(2) * x).requires_grad
    assert not (stirpile.ones(2) * 2).requires_grad


def test_in_place_on_a_leaf_that_requires_grad():
    x = leaf(1.0, 2.0)
    for op in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(),
               lambda: x.__setitem__(0, 5.0), lambda: x.fill_(1.0)):  # fmt: skip
        with pytest.raises(RuntimeError, match="in-place"):
            op()
        assert x.tolist() == [1.0, 2.0]
    with stirpile.no_grad():
        x.add_(1)
        x -= 0.5
        x[1] = 10.0
    assert x.tolist() == [1.5, 10.0]
    assert x.requires_grad and x.is_leaf


def test_in_place_ops_on_plain_tensors_work():
    t = stirpile.ones(3)
    t.add_(stirpile.tensor([1.0, 2.0, 3.0]), alpha=2).mul_(2)
    t += 1
    assert t.tolist() == [7.0, 11.0, 15.0]
    t.clamp_(max=10.0).div_(5)
    assert t.tolist() == [pytest.approx(1.4), 2.0, 2.0]


# -- retain_grad and hooks -------------------------------------------------------------------


def test_retain_grad_on_a_non_leaf():
    x = leaf(1.0, 2.0)
    h = x * 3
    h.retain_grad()
    other = x * 4
    (h * h + other).sum().backward()
    assert h.retains_grad and not other.retains_grad
    assert h.grad.tolist() == [6.0, 12.0]  # 2h
    assert other.grad is None
    assert x.grad.tolist() == [2 * 9 * 1.0 + 4, 2 * 9 * 2.0 + 4]


def test_hook_on_a_leaf_modifies_its_gradient():
    x = leaf(1.0, 2.0)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    handle = x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    assert seen == [[2.0, 4.0]]
    assert x.grad.tolist() == [20.0, 40.0]
    handle.remove()
    handle.remove()  # twice is harmless
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    assert seen == [[2.0, 4.0], [2.0, 4.0]]


def test_hook_on_a_non_leaf_changes_what_flows_back():
    x = leaf(1.0, 2.0)
    h = x * 3
    handle = h.register_hook(lambda g: g * 0 + 1)  # replace d loss/dh by ones
    (h * h).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    handle.remove()
    x.grad = None
    h = x * 3
    (h * h).sum().backward()
    assert x.grad.tolist() == [18.0, 36.0]


def test_hook_on_a_tensor_without_grad_is_refused():
    with pytest.raises(RuntimeError, match="require grad"):
        stirpile.ones(2).register_hook(lambda g: g)


# -- autograd.grad ---------------------------------------------------------------------------


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x, y = leaf(1.0, 2.0), leaf(3.0)
    out = (x * y).sum()
    gx, gy = stirpile.autograd.grad(out, (x, y))
    assert gx.tolist() == [3.0, 3.0] and gy.tolist() == [3.0]
    assert x.grad is None and y.grad is None
    assert not gx.requires_grad


def test_grad_allow_unused():
    x, unused = leaf(1.0), leaf(2.0)
    out = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        stirpile.autograd.grad(out, (x, unused), retain_graph=True)
    gx, gu = stirpile.autograd.grad(out, (x, unused), allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None


def test_grad_with_respect_to_non_leaves():
    x = leaf(1.0, 2.0)
    h = x * x
    k = h.sin()
    out = (k * 2 + h).sum()
    gh, gk = stirpile.autograd.grad(out, (h, k))
    np.testing.assert_allclose(gh.numpy(), 2 * np.cos([1.0, 4.0]) + 1, rtol=1e-14)
    assert gk.tolist() == [2.0, 2.0]


def test_grad_create_graph_gives_differentiable_gradients():
    x = stirpile.tensor(2.0, dtype=stirpile.float64, requires_grad=True)
    (g,) = stirpile.autograd.grad(x**4, x, create_graph=True)
    assert g.requires_grad and g.item() == 32.0  # 4x³
    (h,) = stirpile.autograd.grad(g, x, create_graph=True)
    assert h.item() == 48.0  # 12x²
    (k,) = stirpile.autograd.grad(h, x)
    assert k.item() == 48.0  # 24x


def test_grad_of_several_outputs_with_grad_outputs():
    x = leaf(1.0, 2.0)
    a, b = x * 2, x * x
    (g,) = stirpile.autograd.grad(
        [a, b], x, grad_outputs=[stirpile.ones(2, dtype=stirpile.float64), [1.0, -1.0]]
    )
    assert g.tolist() == [2.0 + 2.0, 2.0 - 4.0]


def test_backward_create_graph_then_differentiate_the_gradient():
    x = leaf(1.0, 3.0)
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.tolist() == [3.0, 27.0]
    (h,) = stirpile.autograd.grad(g.sum(), x)
    assert h.tolist() == [6.0, 18.0]


# -- deep graphs and memory ------------------------------------------------------------------


def test_a_100000_op_chain_backpropagates_without_recursion():
    x = stirpile.tensor(1.0, dtype=stirpile.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    assert x.grad.item() == pytest.approx(1.00001**100_000, rel=1e-9)
    del y  # freeing a deep graph must not blow the C stack either


def _nodes_alive():
    return sum(type(o) is Node for o in gc.get_objects())


def test_backward_frees_the_graph():
    gc.collect()
    before = _nodes_alive()
    w = stirpile.randn(3, 4, requires_grad=True)
    x = stirpile.randn(5, 3)
    loss = ((x @ w).tanh().softmax(-1)[:, 1:].log() ** 2).mean()
    assert _nodes_alive() > before
    loss.backward()
    del loss
    assert _nodes_alive() == before  # freed at once, by reference counting (no cycles)
    assert w.grad is not None and w.grad.grad_fn is None


def test_intermediate_tensors_do_not_keep_a_freed_graph():
    gc.collect()
    before = _nodes_alive()
    w = stirpile.randn(3, requires_grad=True)
    h = w.exp()
    loss = (h * h).sum()
    loss.backward()
    del loss, h
    assert _nodes_alive() == before


def test_create_graph_graph_is_collectable():
    gc.collect()
    before = _nodes_alive()
    x = stirpile.randn(3, dtype=stirpile.float64, requires_grad=True)
    (g,) = stirpile.autograd.grad((x.sin() * x).sum(), x, create_graph=True)
    (h,) = stirpile.autograd.grad(g.sum(), x)
    del g, h
    gc.collect()
    assert _nodes_alive() == before


def test_leaf_grads_are_not_aliased_under_create_graph():
    x, y = leaf(1.0, 2.0), leaf(3.0, 4.0)
    (x + y).sum().backward(create_graph=True)
    assert x.grad is not y.grad
    with stirpile.no_grad():
        x.grad.mul_(2)
    assert y.grad.tolist() == [1.0, 1.0]


def test_backward_inputs_accumulates_only_into_those():
    x, y = leaf(1.0, 2.0), leaf(3.0)
    h = x * y
    (h * h).sum().backward(inputs=[y, h])
    assert x.grad is None
    assert y.grad.tolist() == [2 * (1.0 * 1.0 + 4.0) * 3.0]  # Σ 2 x² y
    assert h.grad.tolist() == [6.0, 12.0]  # 2h, on a non-leaf named in inputs


def test_leaf_grad_never_aliases_inputs_or_other_leaves():
    """The engine lets a leaf keep a fresh gradient array without copying it; check it
    never keeps one that something else can still see or change."""
    import numpy as np

    import stirpile

    class PassSaved(stirpile.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return x  # returns an array the caller still owns

    x = stirpile.tensor([1.0, 2.0], requires_grad=True)
    PassSaved.apply(x).sum().backward()
    x.grad.mul_(10)
    assert x.tolist() == [1.0, 2.0]

    a = stirpile.tensor([1.0, 2.0], requires_grad=True)
    b = stirpile.tensor([3.0, 4.0], requires_grad=True)
    (a.clone() + b).sum().backward()
    a.grad.mul_(3)
    assert b.grad.tolist() == [1.0, 1.0]

    g = stirpile.tensor([5.0, 6.0])
    c = stirpile.tensor([0.0, 0.0], requires_grad=True)
    c.clone().backward(g)
    c.grad.zero_()
    assert g.tolist() == [5.0, 6.0]

    w = stirpile.randn(3, 2, requires_grad=True)
    xin = stirpile.randn(4, 3)
    (xin @ w).sum().backward()
    first = w.grad.numpy().copy()
    (xin @ w).sum().backward()  # accumulates in place into the kept buffer
    assert np.allclose(w.grad.numpy(), 2 * first)


def test_grad_with_the_same_input_listed_twice_returns_it_twice():
    import stirpile

    w = stirpile.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    gw1, gw2 = stirpile.autograd.grad((w * w).sum(), [w, w], retain_graph=True)
    assert gw1.tolist() == gw2.tolist() == [2.0, 4.0]
    gh1, gw3, gh2 = stirpile.autograd.grad((h * h).sum(), [h, w, h])
    assert gh1.tolist() == gh2.tolist() == [6.0, 12.0] and gw3.tolist() == [18.0, 36.0]
