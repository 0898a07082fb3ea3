"""The wider reduction surface: prod (gradient with zeros in the input), cumsum and
cumprod (also at zeros, to second order), nansum/nanmean, var_mean/std_mean,
sort/argsort/topk (ties, nan, stability), median, count_nonzero, aminmax — values,
dtypes, gradients against PyTorch, float64 gradcheck and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile

NAN = float("nan")


def _with_zeros(shape, where, seed=0):
    """Random values with exact zeros at ``where`` (a list of index tuples)."""
    a = np.random.default_rng(seed).uniform(0.5, 1.5, shape) * np.where(
        np.random.default_rng(seed + 1).random(shape) < 0.5, -1, 1
    )
    for idx in where:
        a[idx] = 0.0
    return a


# (name, fn(L, x), shape or array, smooth)
CASES = [
    ("prod_all", lambda L, x: x.prod(), (2, 3), True),
    ("prod_dim", lambda L, x: x.prod(1), (2, 3), True),
    ("prod_neg_keep", lambda L, x: x.prod(-2, keepdim=True), (2, 3, 2), True),
    ("prod_0d", lambda L, x: x.prod(), (), True),
    ("prod_0d_dim", lambda L, x: L.prod(x, -1, keepdim=True), (), True),
    ("prod_one_zero", lambda L, x: x.prod(1), _with_zeros((3, 4), [(0, 1)]), True),
    ("prod_two_zeros", lambda L, x: x.prod(1), _with_zeros((3, 4), [(0, 1), (0, 3), (2, 0)]), True),
    ("prod_all_zero", lambda L, x: x.prod(), _with_zeros((5,), [(2,)]), True),
    ("prod_all_zeros", lambda L, x: L.prod(x), _with_zeros((2, 3), [(0, 0), (1, 2)]), True),
    ("cumsum", lambda L, x: x.cumsum(0), (3, 4), True),
    ("cumsum_neg", lambda L, x: L.cumsum(x, dim=-1), (2, 3, 4), True),
    ("cumsum_0d", lambda L, x: x.cumsum(0), (), True),
    ("cumprod", lambda L, x: x.cumprod(1), (3, 4), True),
    ("cumprod_neg", lambda L, x: L.cumprod(x, -3), (3, 2, 2), True),
    (
        "cumprod_zero",
        lambda L, x: x.cumprod(1),
        _with_zeros((3, 5), [(0, 0), (1, 2), (2, 4)]),
        True,
    ),
    (
        "cumprod_zeros",
        lambda L, x: x.cumprod(0),
        _with_zeros((5, 3), [(1, 0), (3, 0), (0, 2)]),
        True,
    ),
    ("cumprod_0d", lambda L, x: x.cumprod(-1), (), True),
    ("nansum", lambda L, x: L.nansum(x), (3, 4), True),
    ("nansum_dim", lambda L, x: x.nansum(1, keepdim=True), (3, 4), True),
    ("nanmean", lambda L, x: x.nanmean(), (3, 4), True),
    ("nanmean_dims", lambda L, x: L.nanmean(x, (0, 2)), (2, 3, 2), True),
    ("var_mean", lambda L, x: L.var_mean(x), (3, 4), True),
    ("var_mean_dim", lambda L, x: L.var_mean(x, 1, keepdim=True), (3, 4), True),
    ("var_mean_unbiased", lambda L, x: L.var_mean(x, 0, False), (3, 4), True),
    ("std_mean", lambda L, x: L.std_mean(x, dim=(0, 1), correction=0), (3, 4), True),
    ("sort", lambda L, x: tuple(x.sort()), (3, 4), False),
    ("sort_dim_desc", lambda L, x: tuple(L.sort(x, 0, descending=True)), (3, 4), False),
    ("sort_0d", lambda L, x: tuple(x.sort()), (), False),
    ("sort_values", lambda L, x: x.sort(dim=-2).values, (2, 3, 2), False),
    ("topk", lambda L, x: tuple(x.topk(2)), (3, 4), False),
    ("topk_smallest_dim0", lambda L, x: tuple(L.topk(x, 2, dim=0, largest=False)), (3, 4), False),
    ("topk_k0", lambda L, x: tuple(x.topk(0)), (3, 4), False),
    ("topk_all", lambda L, x: x.topk(4, dim=1).values, (3, 4), False),
    ("topk_0d", lambda L, x: tuple(x.topk(1)), (), False),
    ("median", lambda L, x: x.median(), (3, 5), False),
    ("median_even", lambda L, x: L.median(x), (4,), False),
    ("median_dim", lambda L, x: tuple(x.median(1)), (3, 5), False),
    ("median_dim_keep", lambda L, x: tuple(x.median(0, keepdim=True)), (4, 3), False),
    ("aminmax", lambda L, x: tuple(L.aminmax(x)), (3, 4), False),
    ("aminmax_dim", lambda L, x: tuple(x.aminmax(dim=-1, keepdim=True)), (3, 4), False),
]


def _ids(cases):
    return [c[0] for c in cases]


def _arrays(opcheck, shape, seed=0):
    if isinstance(shape, np.ndarray):
        return [shape]
    return opcheck.arrays([shape], seed=seed)


@pytest.mark.parametrize(("name", "fn", "shape", "smooth"), CASES, ids=_ids(CASES))
def test_gradcheck(opcheck, name, fn, shape, smooth):
    if name.startswith(("sort", "topk", "median", "aminmax")) and name.endswith(("0d", "k0")):
        pytest.skip("no differentiable output to check numerically")
    opcheck.gradcheck(fn, _arrays(opcheck, shape), gradgrad=smooth)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "fn", "shape", "smooth"), CASES, ids=_ids(CASES))
def test_vs_torch(torch, opcheck, name, fn, shape, smooth, dtype):
    linear = name.startswith(("cumsum", "nan")) or name.endswith("0d") or name == "prod_0d_dim"
    second = smooth and dtype == "float64" and not linear  # (linear: no second derivative)
    opcheck.vs_torch(torch, fn, _arrays(opcheck, shape, seed=4), dtype, second_order=second)


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("op", ["prod", "nansum", "count_nonzero"])
def test_integer_and_bool_inputs(torch, close, op, dim):
    a = np.array([[1, 0, 3], [-2, 5, 1]], np.int32)
    for data in (a, a > 0):
        args = () if dim is None else (dim,)
        close(getattr(stirpile.tensor(data), op)(*args), getattr(torch.tensor(data), op)(*args))


DTYPES = [
    ("prod_dtype", lambda L, x: x.prod(dtype=L.float64)),
    ("prod_dim_dtype", lambda L, x: L.prod(x, 0, dtype=L.float32)),
    ("cumsum_int", lambda L, x: x.int().cumsum(0)),
    ("cumsum_bool", lambda L, x: (x > 0).cumsum(1)),
    ("cumsum_dtype", lambda L, x: x.int().cumsum(1, dtype=L.float32)),
    ("cumprod_int", lambda L, x: L.cumprod(x.long(), 1)),
    ("cumprod_bool", lambda L, x: (x > 0).cumprod(0)),
    ("nansum_dtype", lambda L, x: L.nansum(x, dtype=L.float64)),
    ("sort_int", lambda L, x: tuple(x.int().sort(descending=True, stable=True))),
    ("argsort_int", lambda L, x: x.long().argsort(dim=0, stable=True)),
    ("topk_int", lambda L, x: tuple(x.int().topk(1))),
    ("sort_bool", lambda L, x: tuple((x > 0).sort(stable=True))),
    ("median_int", lambda L, x: x.long().median()),
    ("aminmax_int", lambda L, x: tuple(x.int().aminmax())),
    ("count_nonzero_dims", lambda L, x: x.count_nonzero(dim=(0, 1))),
]


@pytest.mark.parametrize(("name", "fn"), DTYPES, ids=_ids(DTYPES))
def test_dtypes_match_torch(torch, close, name, fn):
    a = np.array([[3.0, -1.0, 0.0, 2.0], [1.0, 4.0, -5.0, 0.0]], np.float32)
    ours, theirs = fn(stirpile, stirpile.tensor(a)), fn(torch, torch.tensor(a))
    for o, t in zip(ours if isinstance(ours, tuple) else (ours,),
                    theirs if isinstance(theirs, tuple) else (theirs,)):  # fmt: skip
        close(o, t)


def test_prod_gradient_with_zeros_is_torchs(torch, close):
    # one zero: it gets the product of the others; two: everything gets 0
    for values in ([2.0, 0.0, 3.0], [0.0, 2.0, 0.0], [0.0], [4.0]):
        x = stirpile.tensor(values, dtype=stirpile.float64, requires_grad=True)
        t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        x.prod().backward()
        t.prod().backward()
        close(x.grad, t.grad)


def test_cumprod_second_order_at_zeros_matches_torch(torch, close):
    a = np.array([[0.0, 2.0, -1.5, 0.5], [1.5, 0.0, 0.0, 2.0]])
    x = stirpile.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    w = np.arange(8.0).reshape(2, 4) - 3
    (g,) = stirpile.autograd.grad((x.cumprod(1) * stirpile.tensor(w)).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad((t.cumprod(1) * torch.tensor(w)).sum(), t, create_graph=True)
    close(g, gt)
    (h,) = stirpile.autograd.grad((g * g).sum(), x)
    (ht,) = torch.autograd.grad((gt * gt).sum(), t)
    close(h, ht)


def test_nan_reductions_ignore_nan(torch, close):
    a = np.array([[1.0, NAN, 3.0], [NAN, NAN, NAN]])
    for fn in (lambda L, x: x.nansum(1), lambda L, x: L.nanmean(x, 1), lambda L, x: x.nanmean(),
               lambda L, x: x.nansum()):  # fmt: skip
        x = stirpile.tensor(a, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        out, expected = fn(stirpile, x), fn(torch, t)
        close(out, expected)
        out.sum().backward()
        expected.sum().backward()
        close(x.grad, t.grad)


def test_sort_is_stable_and_puts_nan_last(torch, close):
    a = np.array([[2.0, 1.0, NAN, 2.0, 1.0, NAN, -np.inf, np.inf, 2.0]])
    for descending in (False, True):
        ours = stirpile.tensor(a).sort(descending=descending, stable=True)
        theirs = torch.tensor(a).sort(descending=descending, stable=True)
        close(ours.values, theirs.values)
        close(ours.indices, theirs.indices)
        close(stirpile.tensor(a).argsort(descending=descending, stable=True), theirs.indices)
    close(stirpile.tensor(a).topk(3).indices, torch.tensor(a).topk(3).indices)
    close(
        stirpile.tensor(a).topk(3, largest=False).values,
        torch.tensor(a).topk(3, largest=False).values,
    )


def test_sort_of_ties_sends_the_gradient_with_the_indices(torch, close):
    a = [1.0, 3.0, 3.0, 0.0]
    x = stirpile.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    w = [1.0, 2.0, 3.0, 4.0]
    (x.sort(descending=True, stable=True).values * stirpile.tensor(w)).sum().backward()
    (t.sort(descending=True, stable=True).values * torch.tensor(w)).sum().backward()
    close(x.grad, t.grad)


def test_median_shares_the_gradient_among_ties_and_propagates_nan(torch, close):
    for values in ([1.0, 2.0, 2.0, 3.0], [NAN, 1.0, NAN], [5.0]):
        x = stirpile.tensor(values, requires_grad=True)
        t = torch.tensor(values, requires_grad=True)
        out, expected = x.median(), t.median()
        close(out, expected)
        out.backward()
        expected.backward()
        close(x.grad, t.grad)
    a = np.array([[1.0, NAN, 0.0, NAN], [2.0, 0.0, 1.0, 3.0]])
    ours, theirs = stirpile.tensor(a).median(1), torch.tensor(a).median(1)
    close(ours.values, theirs.values)
    close(ours.indices, theirs.indices)
    close(stirpile.zeros(0).median(), torch.zeros(0).median())


def test_return_types_read_by_name():
    x = stirpile.tensor([[3.0, 1.0, 2.0]])
    values, indices = x.sort()
    assert x.sort().values.tolist() == values.tolist() == [[1.0, 2.0, 3.0]]
    assert x.sort().indices.tolist() == indices.tolist() == [[1, 2, 0]]
    assert x.topk(1).indices.tolist() == [[0]]
    assert x.median(1).values.tolist() == [2.0]
    lo, hi = x.aminmax()
    assert (x.aminmax().min.item(), x.aminmax().max.item()) == (lo.item(), hi.item()) == (1, 3)
    assert type(x.sort()) is stirpile.return_types.sort


ERRORS = [
    (lambda L: L.ones(3).topk(4), RuntimeError, "selected index k out of range"),
    (lambda L: L.ones(3).topk(-1), RuntimeError, "selected index k out of range"),
    (lambda L: L.tensor(3.0).topk(2), RuntimeError, "selected index k out of range"),
    (lambda L: L.tensor([True]).topk(1), RuntimeError, "bool"),
    (lambda L: L.ones(2, 3).prod((0, 1)), TypeError, "invalid combination of arguments"),
    (lambda L: L.ones(2).cumsum(1), IndexError, "Dimension out of range"),
    (lambda L: L.ones(2).sort(2), IndexError, "Dimension out of range"),
    (lambda L: L.ones(1).prod(1), IndexError, "Dimension out of range"),
    (lambda L: L.ones(2, dtype=L.int32).nanmean(), RuntimeError, "floating point"),
    (lambda L: L.zeros(2, 0).median(1), IndexError, "non-zero size"),
    (lambda L: L.zeros(0).aminmax(), RuntimeError, "empty"),
    (lambda L: L.ones(2, 2).aminmax(dim=(0, 1)), TypeError, "must be int"),
    (lambda L: L.ones(2, 2).count_nonzero(3), IndexError, "Dimension out of range"),
]


@pytest.mark.parametrize(("fn", "error", "match"), ERRORS)
def test_errors_match_torch(same_error, fn, error, match):
    same_error(fn, error, match)


def test_empty_inputs(torch, close):
    for fn in (lambda L, x: x.prod(0), lambda L, x: x.prod(), lambda L, x: x.cumsum(0),
               lambda L, x: x.cumprod(1), lambda L, x: x.nansum(1), lambda L, x: x.sort(0).values,
               lambda L, x: x.topk(0, 1).values, lambda L, x: x.count_nonzero(0)):  # fmt: skip
        close(fn(stirpile, stirpile.zeros(0, 3)), fn(torch, torch.zeros(0, 3)))
    x = stirpile.zeros(0, 3, requires_grad=True)
    x.prod(0).sum().backward()
    assert x.grad.shape == (0, 3)


def test_aminmax_shares_the_gradient_among_ties_like_torch(close):
    torch = pytest.importorskip("torch")
    for L_dim in (None, 1):
        grads = []
        for L in (stirpile, torch):
            x = L.tensor([[2.0, 2.0, 1.0], [0.0, 0.0, 5.0]], requires_grad=True)
            r = x.aminmax() if L_dim is None else L.aminmax(x, dim=L_dim)
            (r.min * 3 + r.max).sum().backward()
            grads.append(x.grad)
        close(*grads)
