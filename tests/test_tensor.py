"""Tensor basics: factories, seeding, conversions, repr, ``.data``, Python protocols,
comparisons, dtype conversion, and errors that leave no partial state."""

from __future__ import annotations

import re

import numpy as np
import pytest

import stirpile


def L_ids(cases):
    return [c[0] for c in cases]


# -- factories: shape, dtype and values as in PyTorch ----------------------------------------

FACTORIES = [
    ("zeros_varargs", lambda L: L.zeros(2, 3)),
    ("zeros_tuple", lambda L: L.zeros((2, 3))),
    ("zeros_list", lambda L: L.zeros([4])),
    ("zeros_0d", lambda L: L.zeros(())),
    ("zeros_dtype", lambda L: L.zeros(2, dtype=L.float64)),
    ("zeros_int", lambda L: L.zeros(2, dtype=L.int64)),
    ("ones_varargs", lambda L: L.ones(3, 1)),
    ("ones_tuple", lambda L: L.ones((1, 2), dtype=L.float64)),
    ("full_float", lambda L: L.full((2, 3), 1.5)),
    ("full_int", lambda L: L.full((2,), 7)),
    ("full_bool", lambda L: L.full((2,), True)),
    ("full_dtype", lambda L: L.full((2,), 7, dtype=L.float64)),
    ("arange_int", lambda L: L.arange(5)),
    ("arange_start_end", lambda L: L.arange(2, 7)),
    ("arange_step", lambda L: L.arange(1, 10, 3)),
    ("arange_float", lambda L: L.arange(0, 1, 0.25)),
    ("arange_float_end", lambda L: L.arange(2.5)),
    ("arange_dtype", lambda L: L.arange(4, dtype=L.float64)),
    ("linspace", lambda L: L.linspace(0, 1, 5)),
    ("linspace_dtype", lambda L: L.linspace(-1, 1, 3, dtype=L.float64)),
    ("eye", lambda L: L.eye(3)),
    ("eye_rect", lambda L: L.eye(2, 3)),
    ("eye_dtype", lambda L: L.eye(2, dtype=L.float64)),
    ("tensor_float", lambda L: L.tensor([1.5, 2.0])),
    ("tensor_int", lambda L: L.tensor([[1, 2], [3, 4]])),
    ("tensor_bool", lambda L: L.tensor([True, False])),
    ("tensor_mixed", lambda L: L.tensor([1, 2.5])),
    ("tensor_0d", lambda L: L.tensor(3)),
    ("tensor_dtype", lambda L: L.tensor([1, 2], dtype=L.float32)),
    ("zeros_like", lambda L: L.zeros_like(L.tensor([1, 2]))),
    ("ones_like_dtype", lambda L: L.ones_like(L.tensor([1, 2]), dtype=L.float64)),
    ("full_like", lambda L: L.full_like(L.ones(2, 2), 0.5)),
]


@pytest.mark.parametrize(("name", "make"), FACTORIES, ids=L_ids(FACTORIES))
def test_factories_match_torch(torch, close, name, make):
    close(make(stirpile), make(torch))


def test_factory_requires_grad_argument():
    for t in (stirpile.zeros(2, requires_grad=True), stirpile.ones((2,), requires_grad=True),
              stirpile.randn(2, requires_grad=True), stirpile.rand(2, requires_grad=True),
              stirpile.tensor([1.0], requires_grad=True), stirpile.eye(2, requires_grad=True),
              stirpile.full((2,), 1.0, requires_grad=True)):  # fmt: skip
        assert t.requires_grad and t.is_leaf
    assert not stirpile.zeros(2).requires_grad


RANDOM = [
    ("rand", lambda: stirpile.rand(2, 3), stirpile.float32, (2, 3)),
    ("rand_tuple", lambda: stirpile.rand((4,), dtype=stirpile.float64), stirpile.float64, (4,)),
    ("randn", lambda: stirpile.randn(3, 2), stirpile.float32, (3, 2)),
    ("randn_tuple", lambda: stirpile.randn((2, 2)), stirpile.float32, (2, 2)),
    ("randint", lambda: stirpile.randint(0, 10, (3, 4)), stirpile.int64, (3, 4)),
    ("randint_high", lambda: stirpile.randint(5, (6,)), stirpile.int64, (6,)),
    ("randperm", lambda: stirpile.randperm(7), stirpile.int64, (7,)),
    (
        "rand_like",
        lambda: stirpile.rand_like(stirpile.ones(2, dtype=stirpile.float64)),
        stirpile.float64,
        (2,),
    ),
    ("randn_like", lambda: stirpile.randn_like(stirpile.ones(3, 1)), stirpile.float32, (3, 1)),
    ("empty", lambda: stirpile.empty(2, 3), stirpile.float32, (2, 3)),
    ("empty_tuple", lambda: stirpile.empty((2,), dtype=stirpile.int64), stirpile.int64, (2,)),
    (
        "empty_like",
        lambda: stirpile.empty_like(stirpile.ones(2, dtype=stirpile.float64)),
        stirpile.float64,
        (2,),
    ),
]


@pytest.mark.parametrize(("name", "make", "dtype", "shape"), RANDOM, ids=L_ids(RANDOM))
def test_random_and_empty_factories_shape_and_dtype(name, make, dtype, shape):
    t = make()
    assert t.shape == shape and t.dtype == dtype


def test_random_values_have_the_right_distribution():
    stirpile.manual_seed(0)
    u = stirpile.rand(20_000).numpy()
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.02
    n = stirpile.randn(20_000).numpy()
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1.0) < 0.03
    k = stirpile.randint(3, 7, (10_000,)).numpy()
    assert set(np.unique(k)) == {3, 4, 5, 6}
    assert sorted(stirpile.randperm(6).tolist()) == list(range(6))


def _draw():
    return (stirpile.rand(3).tolist(), stirpile.randn(2).tolist(),
            stirpile.randint(0, 100, (3,)).tolist(), stirpile.randperm(5).tolist(),
            stirpile.empty(3).normal_().tolist(),
            stirpile.empty(2).uniform_(-1, 1).tolist())  # fmt: skip


def test_manual_seed_reproduces_and_different_seeds_differ():
    stirpile.manual_seed(1234)
    first = _draw()
    stirpile.manual_seed(1234)
    assert _draw() == first
    stirpile.manual_seed(4321)
    assert _draw() != first
    state = stirpile.get_rng_state()
    again = _draw()
    stirpile.set_rng_state(state)
    assert _draw() == again


# -- conversions ------------------------------------------------------------------------------


def test_item_tolist_numpy():
    x = stirpile.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert stirpile.tensor([2.5]).item() == 2.5 and isinstance(stirpile.tensor(3).item(), int)
    with pytest.raises(RuntimeError, match="4 elements"):
        x.item()
    a = x.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[0, 0] = 9.0  # no copy: numpy() shares memory
    assert x[0, 0].item() == 9.0
    w = stirpile.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        w.numpy()
    assert w.detach().numpy().tolist() == [1.0, 1.0]


def test_tensor_copies_and_from_numpy_shares():
    a = np.array([1.0, 2.0], dtype=np.float64)
    t, s = stirpile.tensor(a), stirpile.from_numpy(a)
    a[0] = 5.0
    assert t.tolist() == [1.0, 2.0] and s.tolist() == [5.0, 2.0]
    assert t.dtype == stirpile.float64  # a numpy array keeps its dtype, as in torch.tensor
    assert stirpile.Tensor([1.0, 2.0]).dtype == stirpile.float32


REPRS = [
    "L.tensor([1., 2.])",
    "L.tensor([1.5, 2.25])",
    "L.tensor(3.)",
    "L.tensor([1, 2])",
    "L.tensor([True, False])",
    "L.tensor([[1., 2.], [3., 4.]])",
    "L.tensor([1., 2.], requires_grad=True)",
    "L.tensor([1., 2.], dtype=L.float64)",
    "L.tensor([0.1, -2.0])",
    "L.tensor([1, 2], dtype=L.int32)",
    "L.zeros(0)",
    "L.zeros(0, 3)",
    "L.arange(0)",
]


@pytest.mark.parametrize("expr", REPRS)
def test_repr_looks_like_torch(torch, expr):
    ours = repr(eval(expr, {"L": stirpile})).replace("stirpile.", "")
    assert ours == repr(eval(expr, {"L": torch})).replace("torch.", "")


def test_repr_of_graph_tensors():
    x = stirpile.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert re.fullmatch(r"tensor\(\[2\., 4\.\], grad_fn=<MulBackward\d*>\)", repr(x * 2))
    assert re.fullmatch(r"tensor\(3\., grad_fn=<SumBackward\d*>\)", repr(x.sum()))
    assert repr(stirpile.tensor([[1.0, 2.0], [3.0, 4.0]])) == (
        "tensor([[1., 2.],\n        [3., 4.]])"
    )


# -- .data, detach, clone -----------------------------------------------------------------------


def test_data_is_a_detached_tensor_sharing_memory():
    w = stirpile.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert not d.requires_grad and d.grad_fn is None
    d.mul_(3)  # allowed: .data is outside the graph (what optimizers use)
    assert w.tolist() == [3.0, 6.0] and w.requires_grad
    w.data = stirpile.tensor([5.0, 5.0])
    assert w.tolist() == [5.0, 5.0] and w.requires_grad and w.is_leaf
    (w * w).sum().backward()
    assert w.grad.tolist() == [10.0, 10.0]


def test_clone_copies_and_stays_in_the_graph():
    x = stirpile.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None
    with stirpile.no_grad():
        c[0] = 100.0
    assert x.tolist() == [1.0, 2.0]
    (x.clone() * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_dtype_conversions_are_differentiable():
    x = stirpile.tensor([1.5, -2.5], requires_grad=True)
    y = x.double()
    assert y.dtype == stirpile.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == stirpile.float32 and x.grad.tolist() == [3.0, -5.0]
    assert x.to(stirpile.float32) is x
    assert x.long().tolist() == [1, -2] and not x.long().requires_grad
    assert x.detach().bool().dtype == stirpile.bool
    assert x.type_as(stirpile.ones(1, dtype=stirpile.float64)).dtype == stirpile.float64
    assert x.to("cpu") is x
    with pytest.raises(RuntimeError, match="CPU"):
        x.to("cuda")


# -- Python protocols -------------------------------------------------------------------------


def test_len_iter_bool_float_int_index():
    x = stirpile.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3 and rows[1].tolist() == [3.0, 4.0]
    with pytest.raises(TypeError):
        len(stirpile.tensor(1.0))
    assert bool(stirpile.tensor(1.0)) and not bool(stirpile.tensor([0.0]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    assert float(stirpile.tensor(2.5)) == 2.5 and int(stirpile.tensor([7])) == 7
    assert [10, 20, 30][stirpile.tensor(1)] == 20
    with pytest.raises(TypeError):
        [10, 20][stirpile.tensor(1.0)]
    assert x.shape == (3, 2) and x.size() == (3, 2) and x.size(1) == 2
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and str(x.device) == "cpu"


def test_iterating_a_tensor_that_requires_grad_keeps_the_graph():
    x = stirpile.tensor([1.0, 2.0, 3.0], requires_grad=True)
    total = sum(v * v for v in x)
    total.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_comparisons_return_bool_tensors_without_grad():
    x = stirpile.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for m in (x > 1, x >= 2, x < 2, x <= 1, x == 2, x != 2, x.gt(1), x.eq(x), (x > 1) & (x < 3)):
        assert m.dtype == stirpile.bool and not m.requires_grad and m.grad_fn is None
    assert (x > 1).tolist() == [False, True, True]
    assert (x == 2).tolist() == [False, True, False]
    assert (x < stirpile.tensor([2.0, 2.0, 2.0])).tolist() == [True, False, False]
    assert (~(x > 1)).tolist() == [True, False, False]
    assert ((x > 2) | (x < 2)).tolist() == [True, False, True]
    assert x.equal(x.detach().clone()) and not x.equal(x + 1)
    assert x.allclose(x + 1e-9)


def test_tensors_are_hashable_by_identity():
    a, b = stirpile.ones(2), stirpile.ones(2)
    assert len({a, b, a}) == 2


# -- errors leave no partial state ------------------------------------------------------------


def test_failed_in_place_op_modifies_nothing():
    x = stirpile.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="add_"):
        x.add_(stirpile.ones(2, 3))  # the result would not fit in x
    assert x.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match="mul_"):
        x.mul_(stirpile.ones(2))
    assert x.tolist() == [1.0, 2.0, 3.0]
    n = stirpile.tensor([1, 2])
    with pytest.raises(RuntimeError):
        n.add_(0.5)  # a float result can't go into an int tensor (PyTorch refuses too)
    assert n.tolist() == [1, 2] and n.dtype == stirpile.int64
    with pytest.raises(RuntimeError, match="copy_"):
        x.copy_(stirpile.ones(2))
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_failed_requires_grad_and_failed_ops_leave_flags_alone():
    n = stirpile.tensor([1, 2])
    with pytest.raises(RuntimeError):
        n.requires_grad_()
    assert not n.requires_grad
    w = stirpile.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        w @ stirpile.ones(2, 3)
    with pytest.raises(RuntimeError):
        w.add_(1)
    assert w.requires_grad and w.is_leaf and w.grad is None and w.tolist() == [[1.0] * 3] * 2


def test_a_failing_backward_accumulates_nothing():
    class Broken(stirpile.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("broken backward")

    x = stirpile.ones(2, requires_grad=True)
    loss = (x * 3).sum() + Broken.apply(x).sum()
    with pytest.raises(ValueError, match="broken"):
        loss.backward()
    assert x.grad is None
