"""Indexing and shape functions: index_select, scatter/scatter_add/index_add/index_fill
(and their in-place forms), masked_select, nonzero/argwhere, tril/triu, diag/diagonal/
trace, repeat/repeat_interleave, flip/roll, meshgrid, narrow, movedim, take_along_dim
— values, gradients against PyTorch, float64 gradcheck, and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile


def _t(L, data):
    return L.tensor(data)


# (name, fn(L, *xs), shapes)
CASES = [
    ("index_select", lambda L, x: x.index_select(1, _t(L, [2, 0, 2])), [(3, 4)]),
    ("index_select_neg_dim", lambda L, x: L.index_select(x, -2, _t(L, [1])), [(2, 3, 2)]),
    ("index_select_0d_index", lambda L, x: x.index_select(0, _t(L, 1)), [(3, 4)]),
    ("index_select_0d_input", lambda L, x: x.index_select(0, _t(L, [0])), [()]),
    ("scatter", lambda L, x, s: x.scatter(0, _t(L, [[0, 1, 2, 0]]), s), [(3, 4), (1, 4)]),
    (
        "scatter_dim1",
        lambda L, x, s: L.scatter(x, 1, _t(L, [[3, 0], [1, 2], [0, 3]]), s),
        [(3, 4), (3, 2)],
    ),
    ("scatter_value", lambda L, x: x.scatter(1, _t(L, [[0], [1], [3]]), 2.5), [(3, 4)]),
    ("scatter_value_kw", lambda L, x: x.scatter(0, _t(L, [[2, 2]]), value=-1.0), [(3, 2)]),
    (
        "scatter_add",
        lambda L, x, s: x.scatter_add(0, _t(L, [[0, 1, 2, 0], [0, 0, 0, 0]]), s),
        [(3, 4), (2, 4)],
    ),
    (
        "scatter_add_fn",
        lambda L, x, s: L.scatter_add(x, -1, _t(L, [[0, 0], [1, 1]]), s),
        [(2, 3), (2, 2)],
    ),
    ("index_add", lambda L, x, s: x.index_add(1, _t(L, [0, 0, 3]), s), [(3, 4), (3, 3)]),
    (
        "index_add_alpha",
        lambda L, x, s: L.index_add(x, 0, _t(L, [2, 0]), s, alpha=-2),
        [(3, 4), (2, 4)],
    ),
    ("index_fill", lambda L, x: x.index_fill(1, _t(L, [0, 2]), -1.0), [(3, 4)]),
    ("index_fill_tensor", lambda L, x, v: L.index_fill(x, 0, _t(L, [2]), v), [(3, 4), ()]),
    ("masked_select", lambda L, x: x.masked_select(x > 0), [(3, 4)]),
    ("masked_select_bcast", lambda L, x: L.masked_select(x, _t(L, [[True], [False]])), [(2, 3)]),
    (
        "masked_select_bcast_input",
        lambda L, x: x.masked_select(_t(L, [[True, False, True]] * 2)),
        [(3,)],
    ),
    ("tril", lambda L, x: x.tril(), [(3, 4)]),
    ("tril_pos", lambda L, x: L.tril(x, 1), [(2, 3, 4)]),
    ("triu_neg", lambda L, x: x.triu(-1), [(4, 3)]),
    ("triu_big", lambda L, x: L.triu(x, 5), [(3, 3)]),
    ("diag_vec", lambda L, x: L.diag(x), [(3,)]),
    ("diag_vec_off", lambda L, x: x.diag(-2), [(3,)]),
    ("diag_mat", lambda L, x: x.diag(1), [(3, 4)]),
    ("diag_mat_far", lambda L, x: L.diag(x, -5), [(3, 4)]),
    ("diagonal", lambda L, x: x.diagonal(), [(3, 4)]),
    ("diagonal_3d", lambda L, x: L.diagonal(x, 1, 1, 2), [(2, 3, 4)]),
    ("diagonal_swapped", lambda L, x: x.diagonal(offset=-1, dim1=-1, dim2=0), [(3, 4, 2)]),
    ("trace", lambda L, x: x.trace(), [(3, 4)]),
    ("trace_fn", lambda L, x: L.trace(x), [(4, 2)]),
    ("repeat", lambda L, x: x.repeat(2, 3), [(2, 3)]),
    ("repeat_more_dims", lambda L, x: x.repeat(2, 1, 3), [(2, 3)]),
    ("repeat_tuple", lambda L, x: x.repeat((3, 2)), [(2,)]),
    ("repeat_0d", lambda L, x: x.repeat(4), [()]),
    ("repeat_zero", lambda L, x: x.repeat(0, 2), [(2, 3)]),
    ("repeat_interleave", lambda L, x: x.repeat_interleave(2), [(2, 3)]),
    ("repeat_interleave_dim", lambda L, x: L.repeat_interleave(x, 3, dim=-1), [(2, 3)]),
    (
        "repeat_interleave_counts",
        lambda L, x: x.repeat_interleave(_t(L, [1, 0, 2]), dim=0),
        [(3, 2)],
    ),
    ("flip", lambda L, x: x.flip(0), [(3, 4)]),
    ("flip_many", lambda L, x: x.flip(0, -1), [(2, 3, 4)]),
    ("flip_list", lambda L, x: L.flip(x, [1]), [(2, 3)]),
    ("flip_kw", lambda L, x: L.flip(x, dims=(0, 1)), [(2, 3)]),
    ("fliplr", lambda L, x: x.fliplr(), [(2, 3, 2)]),
    ("flipud", lambda L, x: L.flipud(x), [(3,)]),
    ("roll", lambda L, x: x.roll(1, 0), [(3, 4)]),
    ("roll_flat", lambda L, x: L.roll(x, -5), [(3, 4)]),
    ("roll_multi", lambda L, x: x.roll((1, -2), (0, 1)), [(3, 4)]),
    ("roll_big", lambda L, x: x.roll(7, -1), [(2, 3)]),
    ("roll_0d", lambda L, x: x.roll(2), [()]),
    ("narrow", lambda L, x: x.narrow(1, 1, 2), [(3, 4)]),
    ("narrow_neg", lambda L, x: L.narrow(x, -1, -2, 2), [(3, 4)]),
    ("narrow_tensor_start", lambda L, x: x.narrow(0, _t(L, 1), 2), [(3, 4)]),
    ("narrow_empty", lambda L, x: x.narrow(0, 3, 0), [(3, 4)]),
    ("movedim", lambda L, x: x.movedim(0, -1), [(2, 3, 4)]),
    ("movedim_tuple", lambda L, x: L.movedim(x, (0, 1), (2, 0)), [(2, 3, 4)]),
    ("moveaxis", lambda L, x: L.moveaxis(x, -1, 0), [(2, 3, 4)]),
    ("take_along_dim", lambda L, x: x.take_along_dim(_t(L, [[0], [3], [-1]]), 1), [(3, 4)]),
    ("take_along_dim_flat", lambda L, x: L.take_along_dim(x, _t(L, [0, 5, 11, 5])), [(3, 4)]),
    ("take_along_dim_bcast", lambda L, x: x.take_along_dim(_t(L, [[0, 2]]), 0), [(3, 1)]),
    ("meshgrid_ij", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), [(2,), (3,)]),
    ("meshgrid_xy", lambda L, a, b, c: L.meshgrid([a, b, c], indexing="xy"), [(2,), (3,), (4,)]),
    ("meshgrid_0d", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), [(), (3,)]),
    ("meshgrid_one", lambda L, a: L.meshgrid(a, indexing="xy"), [(3,)]),
]


def _ids(cases):
    return [c[0] for c in cases]


EMPTY_OUTPUT = {"diag_mat_far", "repeat_zero", "narrow_empty"}


@pytest.mark.parametrize(("name", "fn", "shapes"), CASES, ids=_ids(CASES))
def test_gradcheck(opcheck, name, fn, shapes):
    # (gradgradcheck cannot take an empty output: its Jacobian shapes disagree)
    opcheck.gradcheck(fn, opcheck.arrays(shapes), gradgrad=name not in EMPTY_OUTPUT)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "shapes"), CASES, ids=_ids(CASES))
def test_vs_torch(torch, opcheck, name, fn, shapes, dtype):
    opcheck.vs_torch(torch, fn, opcheck.arrays(shapes, seed=5), dtype)


def test_scatter_reads_only_the_part_of_src_the_index_covers(close):
    # torch agrees on the value but its own backward refuses a src larger than the index
    x = stirpile.zeros(3, 4, requires_grad=True)
    src = stirpile.arange(12.0).reshape(3, 4).requires_grad_()
    out = x.scatter(0, stirpile.tensor([[0, 1, 2, 0]]), src)
    assert out.tolist() == [[0, 0, 0, 3], [0, 1, 0, 0], [0, 0, 2, 0]]
    (out * stirpile.arange(12.0).reshape(3, 4)).sum().backward()
    assert src.grad.tolist() == [[0, 5, 10, 3], [0] * 4, [0] * 4]
    assert x.grad.tolist() == [[0, 1, 2, 0], [4, 0, 6, 7], [8, 9, 0, 11]]


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_add_and_index_add_accumulate_repeated_indices(torch, close):
    ours = stirpile.zeros(3).index_add(0, stirpile.tensor([1, 1, 1]), stirpile.ones(3))
    assert ours.tolist() == [0, 3, 0]
    ours = stirpile.zeros(2).scatter_add(0, stirpile.tensor([0, 0, 1]), stirpile.ones(3))
    assert ours.tolist() == [2, 1]
    for reduce in ("add", "multiply"):  # (torch has no gradient for these)
        for L in (stirpile, torch):
            out = L.full((2, 2), 2.0).scatter(
                0, L.tensor([[1, 1]]), L.ones(1, 2) * 3, reduce=reduce
            )
            value = L.full((2,), 2.0).scatter(0, L.tensor([0, 0]), 3.0, reduce=reduce)
            if L is stirpile:
                ours = (out, value)
        close(ours[0], out)
        close(ours[1], value)
    x = stirpile.zeros(2, 2, requires_grad=True)
    s = stirpile.ones(1, 2, requires_grad=True)
    x.scatter(0, stirpile.tensor([[1, 1]]), s, reduce="add").sum().backward()
    assert x.grad.tolist() == [[1, 1], [1, 1]] and s.grad.tolist() == [[1, 1]]


def test_integer_and_bool_tensors(torch, close):
    a = np.arange(12).reshape(3, 4)
    fns = [
        lambda L, x: x.index_select(0, L.tensor([2, 0])),
        lambda L, x: x.scatter(1, L.tensor([[0], [1], [2]]), 2.5),
        lambda L, x: x.index_fill(1, L.tensor([0]), 2.5),
        lambda L, x: x.tril(-1),
        lambda L, x: (x > 4).triu(),
        lambda L, x: x.diag(),
        lambda L, x: x.trace(),
        lambda L, x: x.int().trace(),
        lambda L, x: x.repeat(2, 1),
        lambda L, x: (x > 3).flip(1),
        lambda L, x: x.roll(2),
        lambda L, x: x.masked_select(x % 2 == 0),
        lambda L, x: L.meshgrid(x[0], x[1], indexing="ij")[1],
    ]
    for fn in fns:
        close(fn(stirpile, stirpile.tensor(a)), fn(torch, torch.tensor(a)))


def test_nonzero_and_argwhere(torch, close):
    for data in ([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]], [0, 1, 1], 5.0, 0.0, [[True]],
                 np.zeros((2, 0, 3))):  # fmt: skip
        x, t = stirpile.tensor(data), torch.tensor(data)
        close(x.nonzero(), t.nonzero())
        close(stirpile.argwhere(x), torch.argwhere(t))
        ours, theirs = stirpile.nonzero(x, as_tuple=True), t.nonzero(as_tuple=True)
        assert len(ours) == len(theirs)
        for o, e in zip(ours, theirs):
            close(o, e)


def test_flip_roll_and_narrow_do_not_share_or_do_like_torch():
    x = stirpile.arange(6.0).reshape(2, 3)
    y = x.flip(0)
    y.add_(1)  # a copy, as in torch
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    n = x.narrow(1, 0, 2)
    n.mul_(0)  # a view, as in torch
    assert x.tolist() == [[0, 0, 2], [0, 0, 5]]


def test_in_place_forms(torch, close):
    fns = [
        lambda L, x: x.scatter_(1, L.tensor([[0], [2]]), L.tensor([[9.0], [8.0]])),
        lambda L, x: x.scatter_(0, L.tensor([[1, 0, 1]]), 7.0),
        lambda L, x: x.scatter_add_(0, L.tensor([[1, 0, 1]]), L.ones(1, 3)),
        lambda L, x: x.index_add_(1, L.tensor([2, 2]), L.ones(2, 2), alpha=3),
        lambda L, x: x.index_fill_(0, L.tensor([1]), -5.0),
        lambda L, x: x.tril_(),
        lambda L, x: x.triu_(1),
    ]
    for fn in fns:
        x, t = stirpile.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
        assert fn(stirpile, x) is x
        fn(torch, t)
        close(x, t)


def test_in_place_scatter_in_the_graph_differentiates_like_torch(torch, close):
    def f(L, x, s):
        h = x * 1.5
        h.scatter_(1, L.tensor([[0], [2]]), s)
        h.index_fill_(0, L.tensor([0]), 0.5)
        return (h * h).sum()

    a, b = np.arange(6.0).reshape(2, 3), np.array([[2.0], [3.0]])
    x, s = stirpile.tensor(a, requires_grad=True), stirpile.tensor(b, requires_grad=True)
    tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    f(stirpile, x, s).backward()
    f(torch, tx, ts).backward()
    close(x.grad, tx.grad)
    close(s.grad, ts.grad)
    leaf = stirpile.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        leaf.scatter_(0, stirpile.tensor([[0, 1, 0]]), 1.0)


ERRORS = [
    (lambda L: L.ones(3, 4).index_select(0, L.tensor([[0]])), IndexError, "vector"),
    (lambda L: L.ones(3, 4).index_select(0, L.tensor([0.0])), RuntimeError, "int32 or int64"),
    (lambda L: L.ones(3, 4).index_select(0, L.tensor([5])), IndexError, "out of range"),
    (lambda L: L.ones(3, 4).scatter(0, L.tensor([[0.0]]), 1.0), RuntimeError, "int32/int64"),
    (lambda L: L.ones(3, 4).scatter(0, L.tensor([0]), 1.0), RuntimeError, "same number of dim"),
    (lambda L: L.ones(3, 4).scatter(0, L.tensor([[3]]), 1.0), RuntimeError, "out of bounds"),
    (lambda L: L.ones(3, 4).scatter(0, L.tensor([[-1]]), 1.0), RuntimeError, "out of bounds"),
    (lambda L: L.ones(3, 4).scatter(0, L.zeros(4, 4, dtype=L.long), L.ones(3, 4)),
     RuntimeError, "no larger than self"),
    (lambda L: L.ones(3, 4).scatter(0, L.zeros(1, 4, dtype=L.long), L.ones(3, 4).double()),
     RuntimeError, "dtype"),
    (lambda L: L.ones(3).index_add(0, L.tensor([0]), L.ones(1).double()), RuntimeError,
     "same scalar type"),
    (lambda L: L.ones(3).index_add(0, L.tensor([0, 1]), L.ones(1)), RuntimeError,
     "Number of indices"),
    (lambda L: L.ones(3).index_add(0, L.tensor([5]), L.ones(1)), IndexError, "out of range"),
    (lambda L: L.ones(3).index_fill(0, L.tensor([0]), L.ones(1)), RuntimeError, "0-dimensional"),
    (lambda L: L.ones(3).index_fill(0, L.tensor([3]), 1.0), IndexError, "out of bounds"),
    (lambda L: L.ones(3).masked_select(L.ones(3, dtype=L.long)), RuntimeError, "BoolTensor"),
    (lambda L: L.ones(3).tril(), RuntimeError, "at least 2 dimensions"),
    (lambda L: L.ones(3).triu(), RuntimeError, "at least 2 dimensions"),
    (lambda L: L.ones(2, 2, 2).diag(), RuntimeError, "1D or 2D"),
    (lambda L: L.tensor(1.0).diag(), RuntimeError, "1D or 2D"),
    (lambda L: L.ones(2, 2).diagonal(0, 1, 1), RuntimeError, "cannot be identical"),
    (lambda L: L.ones(2, 2).diagonal(0, 0, 2), IndexError, "Dimension out of range"),
    (lambda L: L.ones(3).trace(), RuntimeError, "expected a matrix"),
    (lambda L: L.ones(2, 3).repeat(2), RuntimeError, "can not be smaller"),
    (lambda L: L.ones(2).repeat_interleave(-1), RuntimeError, "negative"),
    (lambda L: L.ones(3).repeat_interleave(L.tensor([1, 2])), RuntimeError, "same size"),
    (lambda L: L.ones(2, 3).flip(0, 0), RuntimeError, "appears multiple times"),
    (lambda L: L.ones(2, 3).flip(2), IndexError, "Dimension out of range"),
    (lambda L: L.ones(3).fliplr(), RuntimeError, ">= 2-d"),
    (lambda L: L.ones(2, 3).roll((1, 2), 0), RuntimeError, "must align"),
    (lambda L: L.tensor(1.0).roll(1, 0), IndexError, "no dimensions"),
    (lambda L: L.ones(3, 4).narrow(0, 2, 2), RuntimeError, "exceeds dimension size"),
    (lambda L: L.ones(3, 4).narrow(0, 4, 1), IndexError, "start out of range"),
    (lambda L: L.ones(3, 4).narrow(0, 1, -1), RuntimeError, "non-negative"),
    (lambda L: L.ones(2, 3).movedim((0, 0), (1, 0)), RuntimeError, "repeated dim"),
    (lambda L: L.ones(2, 3).movedim((0, 1), (1,)), RuntimeError, "same number of dims"),
    (lambda L: L.ones(3, 4).take_along_dim(L.tensor([[0.0]]), 1), RuntimeError, "Long"),
    (lambda L: L.ones(3, 4).take_along_dim(L.tensor([0]), 0), RuntimeError,
     "same number of dimensions"),
    (lambda L: L.ones(3, 4).take_along_dim(L.tensor([[0, 1]]), 0), RuntimeError, "must match"),
    (lambda L: L.meshgrid(L.ones(2, 2), indexing="ij"), RuntimeError, "0D or 1D"),
    (lambda L: L.meshgrid(L.ones(2), indexing="foo"), RuntimeError, "indexing must be one of"),
    (lambda L: L.meshgrid(L.ones(2), L.ones(2).double(), indexing="ij"), RuntimeError,
     "same dtype"),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "error", "match"), ERRORS)
def test_errors_match_torch(same_error, fn, error, match):
    same_error(fn, error, match)


def test_empty_inputs(torch, close):
    fns = [
        lambda L, x: x.index_select(0, L.tensor([], dtype=L.long)),
        lambda L, x: x.tril(),
        lambda L, x: x.repeat(2, 2),
        lambda L, x: x.flip(0),
        lambda L, x: x.roll(1, 1),
        lambda L, x: x.diagonal(),
        lambda L, x: x.masked_select(x > 0),
        lambda L, x: x.movedim(0, 1),
    ]
    for fn in fns:
        close(fn(stirpile, stirpile.zeros(0, 3)), fn(torch, torch.zeros(0, 3)))
