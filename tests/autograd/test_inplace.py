"""In-place operations with PyTorch's semantics: recorded on non-leaf tensors, version
counters shared by views and ``detach()``, and the error when a saved value changed.

Every program below runs twice, once with ``L = stirpile`` and once with ``L = torch``,
from the same float64 inputs; the gradients (or the error) must agree.
"""

from __future__ import annotations

import numpy as np
import pytest

import stirpile

torch = pytest.importorskip("torch")

MODIFIED = "modified by an inplace operation"


def _inputs(L, *shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [L.tensor(rng.standard_normal(s), dtype=L.float64, requires_grad=True) for s in shapes]


def _grads(program, *shapes, seed=0):
    """Run ``program(L, *leaves) -> loss`` on both libraries and return both gradient lists."""
    out = []
    for L in (stirpile, torch):
        xs = _inputs(L, *shapes, seed=seed)
        program(L, *xs).backward()
        out.append([None if x.grad is None else np.asarray(x.grad.detach().numpy()) for x in xs])
    return out


# -- recorded in-place chains on non-leaf tensors ----------------------------------------


def _iadd(L, x, y):
    h = x * 2
    h += y
    return (h * h).sum()


def _idiv_imul(L, x, y):
    t = x + 1
    t /= y.abs() + 1
    t *= y
    return t.sum()


def _setitem_sub(L, x, y):
    t = x * y
    t[1:] -= 1
    t[0] = t[0] * 3
    return (t**2).sum()


def _relu_(L, x, y):
    h = x @ y
    h.relu_()
    return (h * h).sum()


def _chain_of_unary(L, x, y):
    h = x + y
    h.mul_(y).add_(x, alpha=0.5).clamp_(min=-0.5, max=0.5)
    h.tanh_()
    return (h * x).sum()


def _view_written(L, x, y):
    b = x * 1
    b[0].mul_(y[0])  # a view of b written in place: b's history must include it
    b.view(-1)[1:3].add_(y[1, :2])
    return (b * b).sum()


def _transposed_view(L, x, y):
    b = x + 0
    b.t()[0].sub_(y[:, 0])
    return (b.exp()).sum()


def _into_plain_buffer(L, x, y):
    buf = L.zeros(3, 4, dtype=L.float64)
    for i in range(3):
        buf[i] = x[i] * y[i]  # a buffer without grad becomes part of the graph
    return (buf**2).sum()


def _masked_fill_copy(L, x, y):
    h = x * y
    h.masked_fill_(x > 0, 0.5)
    g = h * 1
    g.copy_(h * y)
    return g.sum()


CHAINS = [_iadd, _idiv_imul, _setitem_sub, _chain_of_unary, _view_written, _transposed_view,
          _into_plain_buffer, _masked_fill_copy]  # fmt: skip


@pytest.mark.parametrize("program", CHAINS)
def test_inplace_chain_gradients_equal_torch(program):
    ours, theirs = _grads(program, (3, 4), (3, 4))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_relu_inplace_after_matmul():
    ours, theirs = _grads(_relu_, (3, 4), (4, 2))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_inplace_chain_second_order_equals_torch():
    def f(L, x):
        h = x * x
        h.mul_(x)  # x³
        (g,) = L.autograd.grad(h.sum(), x, create_graph=True)
        return (g * g).sum()  # Σ 9x⁴ → 36 x³

    ours, theirs = _grads(f, (5,))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)


@pytest.mark.parametrize("program", CHAINS)
def test_inplace_chain_gradcheck(program):
    x, y = _inputs(stirpile, (3, 4), (3, 4), seed=1)
    assert stirpile.autograd.gradcheck(lambda a, b: program(stirpile, a, b), (x, y))


# -- a value saved for backward changed: the error, each way it can happen ---------------


def _both_raise(program, *shapes):
    """``program`` raises the modified-in-place error in both libraries, at backward."""
    for L in (stirpile, torch):
        xs = _inputs(L, *shapes)
        loss = program(L, *xs)
        with pytest.raises(RuntimeError, match=MODIFIED):
            loss.backward()


def test_saved_input_changed_in_place():
    def f(L, x, w):
        h = x * 1
        y = (h * w).sum()  # mul saved h (for w's gradient)
        h.add_(1)
        return y

    _both_raise(f, (3,), (3,))


def test_saved_output_changed_in_place():
    def f(L, x):
        y = x.exp()  # exp saved its output
        loss = y.sum()
        y.mul_(2)
        return loss

    _both_raise(f, (3,))


def test_saved_output_of_an_inplace_op_changed_again():
    def f(L, x, y):
        h = x + y
        h.sigmoid_()  # saves its output: h itself
        h.mul_(y)
        return h.sum()

    _both_raise(f, (3,), (3,))


def test_saved_value_changed_through_a_view():
    def f(L, x, w):
        h = x * 1
        loss = (h.sigmoid() * w).sum() + (h * w).sum()
        h.view(-1)[0] = 5.0
        return loss

    _both_raise(f, (2, 3), (2, 3))


def test_saved_value_changed_through_detach():
    def f(L, x):
        s = x.tanh()  # tanh saved its output
        loss = s.sum()
        s.detach().zero_()  # detach() shares the version counter
        return loss

    _both_raise(f, (4,))


def test_saved_parameter_changed_by_an_optimizer_step():
    for L in (stirpile, torch):
        L.manual_seed(0)
        model = L.nn.Sequential(L.nn.Linear(3, 4), L.nn.Tanh(), L.nn.Linear(4, 1)).double()
        opt = L.optim.SGD(model.parameters(), lr=0.1)
        x = L.tensor(np.ones((2, 3)), dtype=L.float64)
        loss = model(x).pow(2).sum()
        loss.backward(retain_graph=True)
        opt.step()  # the second layer's weight was saved for the hidden layer's gradient
        with pytest.raises(RuntimeError, match=MODIFIED):
            loss.backward()


def test_unsaved_input_may_change():
    """Writing to an input that no node saved is fine (add saves nothing; mul by a constant
    saves only the constant), in PyTorch too."""
    for L in (stirpile, torch):
        (x,) = _inputs(L, (3,))
        h = x * 1
        loss = (h + 1).sum() + (h * 2).sum()
        h.zero_()
        loss.backward()
        np.testing.assert_allclose(np.asarray(x.grad.numpy()), 3.0)


def test_writes_through_data_are_not_checked():
    """``.data`` is PyTorch's unchecked escape hatch: no error, the new values are used."""
    results = []
    for L in (stirpile, torch):
        x, w = _inputs(L, (3,), (3,))
        loss = (x * w).sum()
        w.data.mul_(2)
        loss.backward()
        results.append(np.asarray(x.grad.numpy()))
    np.testing.assert_allclose(results[0], results[1])


# -- version counters ----------------------------------------------------------------------


def test_version_counter_shared_by_views_and_detach_not_data():
    for L in (stirpile, torch):
        t = L.zeros(2, 3)
        assert t._version == 0
        t.add_(1)
        assert t._version == 1
        v = t.view(6)
        v[0] = 3.0
        assert t._version == 2 and v._version == 2
        t.detach().mul_(2)
        assert t._version == 3
        t[0].fill_(1.0)
        assert t._version == 4
        t.data.zero_()  # not counted in either library
        assert t._version == 4


# -- errors ----------------------------------------------------------------------------------


def test_leaf_and_view_of_leaf_refused():
    for L in (stirpile, torch):
        (x,) = _inputs(L, (2, 3))
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x.add_(1)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x[0].mul_(2)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x[0] = 1.0
        with L.no_grad():
            x.add_(1)  # fine without recording


def test_inplace_result_must_fit():
    for L in (stirpile, torch):
        i = L.tensor([1, 2])
        with pytest.raises(RuntimeError):
            i.add_(1.5)  # a float result cannot be written into an int tensor
        (x,) = _inputs(L, (3,))
        h = x * 1
        with pytest.raises(RuntimeError):
            h.add_(L.ones(2, 3, dtype=L.float64))  # would need to grow


def test_inplace_with_an_operand_that_requires_grad_is_recorded():
    """A plain tensor written in place from a tensor that requires grad joins the graph."""
    results = []
    for L in (stirpile, torch):
        (w,) = _inputs(L, (3,))
        buf = L.zeros(3, dtype=L.float64)
        buf.add_(w * 2)
        buf.clamp_(min=w * 0.5)
        (buf * buf).sum().backward()
        results.append(np.asarray(w.grad.numpy()))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def test_no_float_into_an_int_tensor():
    for L in (stirpile, torch):
        i = L.tensor([4, 9])
        with pytest.raises(RuntimeError):
            i.sqrt_()
        with pytest.raises(RuntimeError):
            i.add_(L.tensor([1.5, 2.5]))
        i.copy_(L.tensor([1.5, 2.5]))  # copy_ casts, in both
        assert i.tolist() == [1, 2]
        i.fill_(2.7)  # a number is truncated, in both
        assert i.tolist() == [2, 2]
