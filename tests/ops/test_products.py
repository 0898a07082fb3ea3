"""Products beyond ``@``: addmm, baddbmm, outer/ger and einsum (explicit and implicit
output, ellipsis, diagonals, broadcasting of size-1 dims) — values, dtypes and
gradients (to second order) against PyTorch, float64 gradcheck and torch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import stirpile

CASES = [
    ("addmm", lambda L, b, x, w: L.addmm(b, x, w), [(3,), (2, 4), (4, 3)]),
    (
        "addmm_scaled",
        lambda L, b, x, w: b.addmm(x, w, beta=0.5, alpha=-2),
        [(2, 3), (2, 4), (4, 3)],
    ),
    ("addmm_beta0", lambda L, b, x, w: L.addmm(b, x, w, beta=0), [(2, 1), (2, 4), (4, 3)]),
    ("baddbmm", lambda L, b, x, w: L.baddbmm(b, x, w, alpha=0.5), [(3,), (2, 4, 5), (2, 5, 3)]),
    (
        "baddbmm_method",
        lambda L, b, x, w: b.baddbmm(x, w, beta=2),
        [(2, 4, 3), (2, 4, 5), (2, 5, 3)],
    ),
    ("outer", lambda L, a, b: L.outer(a, b), [(3,), (4,)]),
    ("ger", lambda L, a, b: a.ger(b), [(2,), (3,)]),
    ("einsum_mm", lambda L, a, b: L.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)]),
    ("einsum_implicit", lambda L, a, b: L.einsum("ij,kj", a, b), [(2, 3), (4, 3)]),
    ("einsum_implicit_order", lambda L, a: L.einsum("ba", a), [(2, 3)]),
    ("einsum_list", lambda L, a, b: L.einsum("bij,bjk->bik", [a, b]), [(2, 2, 3), (2, 3, 4)]),
    ("einsum_trace", lambda L, a: L.einsum("ii", a), [(3, 3)]),
    ("einsum_diag", lambda L, a: L.einsum("ii->i", a), [(3, 3)]),
    ("einsum_diag_batch", lambda L, a: L.einsum("bii->bi", a), [(2, 3, 3)]),
    ("einsum_sum_all", lambda L, a: L.einsum("ij->", a), [(2, 3)]),
    ("einsum_summed_only_in_one", lambda L, a, b: L.einsum("ij,k->k", a, b), [(2, 3), (4,)]),
    ("einsum_outer", lambda L, a, b: L.einsum("i,j->ji", a, b), [(2,), (3,)]),
    (
        "einsum_three",
        lambda L, a, b, c: L.einsum("ij,jk,kl->il", a, b, c),
        [(2, 3), (3, 4), (4, 2)],
    ),
    ("einsum_ellipsis", lambda L, a, b: L.einsum("...j,j->...", a, b), [(2, 1, 3), (3,)]),
    (
        "einsum_ellipsis_bcast",
        lambda L, a, b: L.einsum("...ij,...jk", a, b),
        [(5, 1, 2, 3), (4, 3, 1)],
    ),
    ("einsum_size1_bcast", lambda L, a, b: L.einsum("i,i->i", a, b), [(1,), (3,)]),
    ("einsum_spaces", lambda L, a, b: L.einsum(" ij , jk -> ik ", a, b), [(2, 3), (3, 2)]),
    ("einsum_upper", lambda L, a, b: L.einsum("Ab,bc", a, b), [(2, 3), (3, 4)]),
    ("einsum_repeat_operand", lambda L, a: L.einsum("i,i", a, a), [(4,)]),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize(("name", "fn", "shapes"), CASES, ids=_ids(CASES))
def test_gradcheck(opcheck, name, fn, shapes):
    opcheck.gradcheck(fn, opcheck.arrays(shapes), gradgrad=True)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "shapes"), CASES, ids=_ids(CASES))
def test_vs_torch(torch, opcheck, name, fn, shapes, dtype):
    bilinear = len(shapes) > 1  # (one operand: linear, no second derivative to compare)
    opcheck.vs_torch(torch, fn, opcheck.arrays(shapes, seed=7), dtype, second_order=bilinear)


def test_addmm_with_beta_zero_ignores_nan_and_gives_a_zero_gradient(torch, close):
    b = stirpile.full((2, 2), float("nan"), requires_grad=True)
    out = stirpile.addmm(b, stirpile.ones(2, 3), stirpile.ones(3, 2), beta=0)
    assert out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    out.sum().backward()
    assert b.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_dtypes(torch, close):
    fns = [
        lambda L: L.addmm(
            L.ones(2, 2, dtype=L.long),
            L.ones(2, 3, dtype=L.long),
            L.ones(3, 2, dtype=L.long),
            alpha=2,
        ),
        lambda L: L.outer(L.ones(2), L.ones(3, dtype=L.long)),
        lambda L: L.outer(L.arange(3), L.arange(2)),
        lambda L: L.einsum("i,j", L.ones(2), L.ones(3, dtype=L.float64)),
        lambda L: L.einsum("i,i", L.arange(3), L.arange(3)),
    ]
    for fn in fns:
        close(fn(stirpile), fn(torch))


def test_einsum_result_does_not_share_memory_with_its_input():
    a = stirpile.eye(3)
    d = stirpile.einsum("ii->i", a)
    d.add_(1)
    assert a.tolist() == np.eye(3).tolist()


ERRORS = [
    (lambda L: L.addmm(L.ones(2), L.ones(3), L.ones(3, 2)), "mat1 must be a matrix"),
    (lambda L: L.addmm(L.ones(2), L.ones(2, 3), L.ones(3)), "mat2 must be a matrix"),
    (lambda L: L.addmm(L.ones(2, 2), L.ones(2, 4), L.ones(3, 2)), "cannot be multiplied"),
    (lambda L: L.addmm(L.ones(3), L.ones(2, 3), L.ones(3, 2)), "expanded size"),
    (lambda L: L.addmm(L.ones(2, 2), L.ones(2, 3).double(), L.ones(3, 2)), "same dtype"),
    (lambda L: L.addmm(L.ones(2, 2).long(), L.ones(2, 3), L.ones(3, 2)), "same dtype"),
    (lambda L: L.baddbmm(L.ones(3), L.ones(1, 3), L.ones(2, 3, 3)), "batch1 must be a 3D"),
    (lambda L: L.baddbmm(L.ones(2, 2, 2), L.ones(2, 2, 3), L.ones(2, 2, 2)), "first two dim"),
    (lambda L: L.outer(L.ones(2, 2), L.ones(3)), "1-D argument self"),
    (lambda L: L.outer(L.ones(2), L.tensor(1.0)), "1-D argument vec2"),
    (lambda L: L.einsum("ij", L.ones(2)), "does not match the number of dimensions"),
    (lambda L: L.einsum("ij,jk", L.ones(2, 3)), "fewer operands"),
    (lambda L: L.einsum("i", L.ones(2), L.ones(2)), "more operands"),
    (lambda L: L.einsum("i,i", L.ones(2), L.ones(3)), "does not broadcast"),
    (lambda L: L.einsum("i->j", L.ones(2)), "does not appear in the equation"),
    (lambda L: L.einsum("i->ii", L.ones(2)), "appears more than once"),
    (lambda L: L.einsum("i2", L.ones(2, 2)), "invalid subscript"),
    (lambda L: L.einsum("...ijk", L.ones(2, 2)), "more than the number of dimensions"),
]


@pytest.mark.parametrize(("fn", "match"), ERRORS)
def test_errors_match_torch(torch, fn, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=match):
            fn(torch)
    with pytest.raises(RuntimeError, match=match):
        fn(stirpile)
