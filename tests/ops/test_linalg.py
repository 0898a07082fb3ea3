"""Matrix products in every shape combination PyTorch's ``matmul`` accepts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import stirpile

HYP = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def matmul(L, a, b):
    return a @ b


# (name, fn(L, a, b), shapes)
CASES = [
    ("1d_1d", matmul, [(3,), (3,)]),
    ("1d_2d", matmul, [(3,), (3, 4)]),
    ("2d_1d", matmul, [(2, 3), (3,)]),
    ("2d_2d", matmul, [(2, 3), (3, 4)]),
    ("batched", matmul, [(5, 2, 3), (5, 3, 4)]),
    ("batched_2d", matmul, [(5, 2, 3), (3, 4)]),
    ("2d_batched", matmul, [(2, 3), (5, 3, 4)]),
    ("broadcast_batch", matmul, [(2, 1, 2, 3), (3, 3, 2)]),
    ("1d_batched", matmul, [(3,), (2, 3, 4)]),
    ("batched_1d", matmul, [(2, 2, 3), (3,)]),
    ("method", lambda L, a, b: a.matmul(b), [(2, 3), (3, 2)]),
    ("fn", lambda L, a, b: L.matmul(a, b), [(4, 3), (3,)]),
    ("mm", lambda L, a, b: a.mm(b), [(2, 3), (3, 2)]),
    ("bmm", lambda L, a, b: L.bmm(a, b), [(2, 2, 3), (2, 3, 2)]),
    ("dot", lambda L, a, b: a.dot(b), [(4,), (4,)]),
    ("self", lambda L, a, b: a @ a.T + b, [(3, 2), (3, 3)]),
    ("mT", lambda L, a, b: a.mT @ b, [(2, 3, 2), (2, 3, 4)]),
]


@pytest.mark.parametrize(("name", "fn", "shapes"), CASES, ids=[c[0] for c in CASES])
def test_gradcheck(opcheck, name, fn, shapes):
    opcheck.gradcheck(fn, opcheck.arrays(shapes))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "shapes"), CASES, ids=[c[0] for c in CASES])
def test_vs_torch(torch, opcheck, dtype, name, fn, shapes):
    opcheck.vs_torch(torch, fn, opcheck.arrays(shapes), dtype)


@st.composite
def matmul_shapes(draw):
    """Two shapes ``matmul`` accepts: 1-d or n-d operands with broadcast batch dims."""
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=2))
    ba, bb = batch.input_shapes
    a = (k,) if draw(st.booleans()) else (*ba, n, k)
    b = (k,) if draw(st.booleans()) else (*bb, k, m)
    return a, b


@HYP
@given(shapes=matmul_shapes(), seed=st.integers(0, 2**16))
def test_random_shapes_gradcheck_and_torch(torch, opcheck, shapes, seed):
    arrays = opcheck.arrays(shapes, seed=seed)
    opcheck.gradcheck(matmul, arrays)
    opcheck.vs_torch(torch, matmul, arrays, "float64")


def test_matmul_with_one_side_constant_gets_one_gradient():
    w = stirpile.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = stirpile.tensor([1.0, -1.0])
    (w @ v).sum().backward()  # d/dW_ij Σ_i (W v)_i = v_j
    assert w.grad.tolist() == [[1.0, -1.0], [1.0, -1.0]]
    assert v.grad is None


def test_lectures_matrix_vector_rule():
    """For z = W v: ∂L/∂v_i = Σ_j ∂L/∂z_j W_ji."""
    rng = np.random.default_rng(0)
    W, v, g = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    tv = stirpile.tensor(v, requires_grad=True)
    (stirpile.tensor(W) @ tv).backward(stirpile.tensor(g))
    expected = [sum(g[j] * W[j, i] for j in range(3)) for i in range(4)]
    np.testing.assert_allclose(tv.grad.numpy(), expected, rtol=1e-12)


def test_shape_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(RuntimeError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        stirpile.ones(2, 3) @ stirpile.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"matmul.*\(3,\).*\(4,\)"):
        stirpile.ones(3) @ stirpile.ones(4)
    with pytest.raises(RuntimeError, match="matmul"):
        stirpile.ones(2, 2, 3) @ stirpile.ones(3, 3, 4)  # batch dims 2 and 3 don't broadcast
    with pytest.raises(RuntimeError, match="matmul"):
        stirpile.tensor(1.0) @ stirpile.ones(3)


def test_dot_refuses_non_vectors():
    with pytest.raises(RuntimeError, match="dot"):
        stirpile.ones(2, 2).dot(stirpile.ones(2))
