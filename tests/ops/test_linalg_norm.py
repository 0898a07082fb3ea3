"""``stirpile.linalg``: vector_norm (every ord, dims, keepdim, dtype), matrix_norm and
norm — values and gradients against PyTorch (the zero vector, ties of the inf norm),
float64 gradcheck and gradgradcheck, and torch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import stirpile

INF = float("inf")

# (name, fn(L, x), shape, smooth)
CASES = [
    ("vn_all", lambda L, x: L.linalg.vector_norm(x), (3, 4), True),
    ("vn_dim", lambda L, x: L.linalg.vector_norm(x, dim=1), (3, 4), True),
    ("vn_neg_keep", lambda L, x: L.linalg.vector_norm(x, dim=-1, keepdim=True), (2, 3, 4), True),
    ("vn_tuple", lambda L, x: L.linalg.vector_norm(x, 2, (0, 2)), (2, 3, 4), True),
    ("vn_0d", lambda L, x: L.linalg.vector_norm(x), (), False),
    ("vn_ord1", lambda L, x: L.linalg.vector_norm(x, 1, dim=0), (3, 4), False),
    ("vn_ord3", lambda L, x: L.linalg.vector_norm(x, 3), (3, 4), True),
    ("vn_ord1_5", lambda L, x: L.linalg.vector_norm(x, 1.5, dim=(0, 1)), (3, 4), True),
    ("vn_ord_half", lambda L, x: L.linalg.vector_norm(x, 0.5, dim=1), (3, 4), True),
    ("vn_ord_neg1", lambda L, x: L.linalg.vector_norm(x, -1, dim=1), (3, 4), True),
    ("vn_inf", lambda L, x: L.linalg.vector_norm(x, INF, dim=1), (3, 4), False),
    ("vn_neg_inf", lambda L, x: L.linalg.vector_norm(x, -INF), (3, 4), False),
    ("vn_0", lambda L, x: L.linalg.vector_norm(x, 0, dim=1) * x.sum(), (3, 4), False),
    ("vn_dtype", lambda L, x: L.linalg.vector_norm(x, dtype=L.float64), (3, 4), True),
    ("norm_default", lambda L, x: L.linalg.norm(x), (2, 3, 4), True),
    ("norm_dim", lambda L, x: L.linalg.norm(x, dim=0), (3, 4), True),
    ("norm_ord_dim", lambda L, x: L.linalg.norm(x, 3, dim=(1,), keepdim=True), (3, 4), True),
    ("norm_vec_ord", lambda L, x: L.linalg.norm(x, INF), (5,), False),
    ("norm_fro", lambda L, x: L.linalg.norm(x, "fro"), (3, 4), True),
    ("norm_mat_1", lambda L, x: L.linalg.norm(x, 1), (3, 4), False),
    ("norm_two_dims", lambda L, x: L.linalg.norm(x, dim=(0, 2)), (2, 3, 4), True),
    ("mn_fro", lambda L, x: L.linalg.matrix_norm(x), (2, 3, 4), True),
    ("mn_1", lambda L, x: L.linalg.matrix_norm(x, 1), (3, 4), False),
    ("mn_neg1", lambda L, x: L.linalg.matrix_norm(x, -1, keepdim=True), (2, 3, 4), False),
    ("mn_inf", lambda L, x: L.linalg.matrix_norm(x, INF, dim=(0, 2)), (3, 2, 4), False),
    ("mn_neg_inf", lambda L, x: L.linalg.matrix_norm(x, -INF, dim=(-1, 0)), (3, 4), False),
    ("mn_fro_swapped", lambda L, x: L.linalg.matrix_norm(x, "fro", dim=(1, 0)), (3, 4), True),
    # the singular-value norms: first-order gradients only (no gradgradcheck)
    ("mn_nuc", lambda L, x: L.linalg.matrix_norm(x, "nuc"), (3, 4), False),
    ("mn_2_batched", lambda L, x: L.linalg.matrix_norm(x, 2), (2, 3, 3), False),
    ("mn_neg2_dims", lambda L, x: L.linalg.matrix_norm(x, -2, (0, 2), True), (3, 2, 4), False),
    ("norm_2_matrix", lambda L, x: L.linalg.norm(x, 2), (4, 3), False),
    ("svdvals", lambda L, x: L.linalg.svdvals(x), (2, 4, 3), False),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize(("name", "fn", "shape", "smooth"), CASES, ids=_ids(CASES))
def test_gradcheck(opcheck, name, fn, shape, smooth):
    opcheck.gradcheck(fn, opcheck.arrays([shape], "away0"), gradgrad=smooth)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "shape", "smooth"), CASES, ids=_ids(CASES))
def test_vs_torch(torch, opcheck, name, fn, shape, smooth, dtype):
    arrays = opcheck.arrays([shape], "away0", seed=6)
    opcheck.vs_torch(torch, fn, arrays, dtype, second_order=smooth and dtype == "float64")


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, -1, INF, -INF, 0])
def test_gradient_at_the_zero_vector_and_at_zeros_is_torchs(torch, close, ord):
    for values in ([0.0, 0.0, 0.0], [0.0, 1.0, -2.0], [2.0, -2.0, 1.0]):
        x = stirpile.tensor(values, dtype=stirpile.float64, requires_grad=True)
        t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = stirpile.linalg.vector_norm(x, ord)
            out.backward()
        expected = torch.linalg.vector_norm(t, ord)
        expected.backward()
        close(out, expected)
        if t.grad is None:
            assert x.grad is None or not x.grad.numpy().any()
        else:
            close(x.grad, t.grad)


def test_second_derivative_of_the_two_norm_matches_torch(torch, close):
    a = np.array([[3.0, -4.0, 1.0], [0.5, 2.0, -1.0]])
    x, t = stirpile.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (g,) = stirpile.autograd.grad(stirpile.linalg.vector_norm(x, dim=1).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad(torch.linalg.vector_norm(t, dim=1).sum(), t, create_graph=True)
    (h,) = stirpile.autograd.grad((g * stirpile.tensor(a)).sum(), x)
    (ht,) = torch.autograd.grad((gt * torch.tensor(a)).sum(), t)
    close(h, ht)


def test_empty_inputs(torch, close):
    fns = [
        lambda L, x: L.linalg.vector_norm(x),
        lambda L, x: L.linalg.vector_norm(x, dim=0),
        lambda L, x: L.linalg.vector_norm(x, 1, dim=1),
        lambda L, x: L.linalg.norm(x),
    ]
    for fn in fns:
        close(fn(stirpile, stirpile.zeros(0, 3)), fn(torch, torch.zeros(0, 3)))


ERRORS = [
    (lambda L: L.linalg.vector_norm(L.tensor([1, 2])), RuntimeError, "floating point"),
    (lambda L: L.linalg.vector_norm(L.ones(2).double(), dtype=L.float32), RuntimeError,
     "without narrowing"),
    (lambda L: L.linalg.vector_norm(L.ones(2), "fro"), TypeError, "must be Number"),
    (lambda L: L.linalg.vector_norm(L.zeros(0), INF), RuntimeError, "does not have an identity"),
    (lambda L: L.linalg.vector_norm(L.ones(2), dim=2), IndexError, "Dimension out of range"),
    (lambda L: L.linalg.matrix_norm(L.ones(2)), RuntimeError, "at least 2 dimensions"),
    (lambda L: L.linalg.matrix_norm(L.ones(2, 2), 3), RuntimeError, "Order 3 not supported"),
    (lambda L: L.linalg.matrix_norm(L.ones(2, 2), dim=(0, 0)), RuntimeError, "dims must be"),
    (lambda L: L.linalg.matrix_norm(L.ones(2, 2, dtype=L.long)), RuntimeError, "floating"),
    (lambda L: L.linalg.norm(L.ones(2, 2, 2), 1), RuntimeError, "must be 1D or 2D"),
    (lambda L: L.linalg.norm(L.ones(2), "fro"), RuntimeError, "at least 2 dimensions"),
    (lambda L: L.linalg.norm(L.ones(2, 2), 0), RuntimeError, "Order 0 not supported"),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "error", "match"), ERRORS)
def test_errors_match_torch(torch, fn, error, match):
    with pytest.raises(error, match=match):
        fn(torch)
    with pytest.raises(error, match=match):
        fn(stirpile)


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
def test_singular_value_norms_refuse_a_second_derivative(ord):
    """Their gradient (U diag(g) Vᵀ) is not differentiable again here: a clear error."""
    x = stirpile.tensor([[3.0, 1.0], [2.0, -4.0]], requires_grad=True)
    with pytest.raises(NotImplementedError, match="create_graph"):
        stirpile.autograd.grad(stirpile.linalg.matrix_norm(x, ord), x, create_graph=True)
