"""Reductions: sum mean var std max min logsumexp (dim int / tuple / negative, keepdim),
argmax/argmin, and random shapes and dims drawn by hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stirpile

HYP = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# (name, fn(L, x), shape)
CASES = [
    ("sum_all", lambda L, x: x.sum(), (2, 3, 4)),
    ("sum_dim", lambda L, x: x.sum(1), (2, 3, 4)),
    ("sum_neg_keep", lambda L, x: x.sum(dim=-1, keepdim=True), (2, 3, 4)),
    ("sum_tuple", lambda L, x: x.sum(dim=(0, 2)), (2, 3, 4)),
    ("sum_tuple_neg_keep", lambda L, x: x.sum((-1, 0), keepdim=True), (2, 3, 4)),
    ("sum_0d", lambda L, x: x.sum(), ()),
    ("sum_fn", lambda L, x: L.sum(x, 0), (3, 2)),
    ("mean_all", lambda L, x: x.mean(), (2, 3, 4)),
    ("mean_dim", lambda L, x: x.mean(0), (2, 3, 4)),
    ("mean_tuple_keep", lambda L, x: x.mean((1, 2), keepdim=True), (2, 3, 4)),
    ("mean_neg", lambda L, x: x.mean(-2), (2, 3, 4)),
    ("var_all", lambda L, x: x.var(), (3, 4)),
    ("var_dim", lambda L, x: x.var(1), (3, 4)),
    ("var_biased_keep", lambda L, x: x.var(0, keepdim=True, correction=0), (3, 4)),
    ("var_tuple", lambda L, x: x.var(dim=(0, -1)), (2, 3, 4)),
    ("std_all", lambda L, x: x.std(), (3, 4)),
    ("std_dim_neg", lambda L, x: x.std(-1, keepdim=True), (3, 4)),
    ("std_tuple_biased", lambda L, x: x.std((0, 1), correction=0), (2, 3, 2)),
    ("max_all", lambda L, x: x.max(), (3, 4)),
    ("max_dim", lambda L, x: x.max(1), (3, 4)),
    ("max_dim_neg_keep", lambda L, x: x.max(dim=-2, keepdim=True), (2, 3, 4)),
    ("max_values", lambda L, x: x.max(0).values, (3, 4)),
    ("min_all", lambda L, x: x.min(), (3, 4)),
    ("min_dim", lambda L, x: x.min(0), (3, 4)),
    ("min_indices", lambda L, x: x.min(-1).indices, (3, 4)),
    ("amax_tuple", lambda L, x: x.amax((0, 2)), (2, 3, 4)),
    ("amin_keep", lambda L, x: x.amin(1, keepdim=True), (2, 3, 4)),
    ("max_elementwise", lambda L, x: x.max(x.flip(0) if L is not stirpile else x[::-1]), (4,)),
    ("logsumexp_dim", lambda L, x: x.logsumexp(1), (3, 4)),
    ("logsumexp_neg_keep", lambda L, x: x.logsumexp(-1, keepdim=True), (2, 3, 4)),
    ("logsumexp_tuple", lambda L, x: x.logsumexp((0, 2)), (2, 3, 4)),
    ("logsumexp_fn", lambda L, x: L.logsumexp(x, 0), (5,)),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize(("name", "fn", "shape"), CASES, ids=_ids(CASES))
def test_gradcheck(opcheck, name, fn, shape):
    opcheck.gradcheck(fn, opcheck.arrays([shape]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "shape"), CASES, ids=_ids(CASES))
def test_vs_torch(torch, opcheck, dtype, name, fn, shape):
    opcheck.vs_torch(torch, fn, opcheck.arrays([shape]), dtype)


@st.composite
def shape_and_dims(draw, min_side=1):
    """A shape and a reduction ``dim``: None, an int (maybe negative) or a tuple."""
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(min_side, 3)) for _ in range(ndim))
    axes = draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                         unique_by=lambda a: a % ndim))  # fmt: skip
    dim = draw(st.sampled_from([None, axes[0], tuple(axes)]))
    return shape, dim, draw(st.booleans())


RANDOM_DIMS = [
    ("sum", lambda x, d, k: x.sum() if d is None else x.sum(d, keepdim=k)),
    ("mean", lambda x, d, k: x.mean() if d is None else x.mean(d, keepdim=k)),
    ("var", lambda x, d, k: x.var() if d is None else x.var(d, keepdim=k)),
    ("std", lambda x, d, k: x.std() if d is None else x.std(d, keepdim=k, correction=0)),
    ("logsumexp", lambda x, d, k: x.logsumexp(tuple(range(x.ndim)) if d is None else d, k)),
    ("amax", lambda x, d, k: x.amax(tuple(range(x.ndim)) if d is None else d, k)),
]


@pytest.mark.parametrize(("name", "red"), RANDOM_DIMS, ids=_ids(RANDOM_DIMS))
@HYP
@given(case=shape_and_dims(min_side=2), seed=st.integers(0, 2**16))
def test_random_dims_gradcheck_and_torch(torch, opcheck, name, red, case, seed):
    shape, dim, keep = case

    def fn(L, x):
        return red(x, dim, keep)

    arrays = opcheck.arrays([shape], seed=seed)
    opcheck.gradcheck(fn, arrays)
    opcheck.vs_torch(torch, fn, arrays, "float64")


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin(torch, opcheck, close, dim, keepdim, op):
    (a,) = opcheck.arrays([(3, 4)])
    kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    ours = getattr(stirpile.tensor(a), op)(**kwargs)
    close(ours, getattr(torch.tensor(a), op)(**kwargs))
    assert not ours.requires_grad


def test_max_of_ties_splits_the_gradient_like_torch(torch, close):
    x = stirpile.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    tx = torch.tensor([1.0, 3.0, 3.0], requires_grad=True)
    tx.max().backward()
    close(x.grad, tx.grad)


def test_max_dim_of_ties_sends_the_gradient_to_the_returned_index(torch, close):
    x = stirpile.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    values, indices = x.max(1)
    values.sum().backward()
    tx = torch.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    tv, ti = tx.max(1)
    tv.sum().backward()
    close(indices, ti)
    close(x.grad, tx.grad)


def test_reductions_of_a_float32_tensor_stay_float32():
    x = stirpile.ones(2, 3)
    for y in (x.sum(), x.mean(0), x.var(), x.std(1), x.max(), x.logsumexp(0), x.softmax(0)):
        assert y.dtype == stirpile.float32


def test_reduce_over_an_out_of_range_dim_raises():
    with pytest.raises(IndexError, match="Dimension out of range"):
        stirpile.ones(2, 3).sum(2)


def test_mean_of_an_int_tensor_is_refused_like_torch():
    with pytest.raises(RuntimeError, match="floating point"):
        stirpile.arange(3).mean()


def test_logsumexp_of_an_all_minus_inf_row_is_minus_inf(torch, close):
    rows = [[float("-inf")] * 3, [0.0, 1.0, float("-inf")]]
    close(stirpile.tensor(rows).logsumexp(1), torch.tensor(rows).logsumexp(1))
