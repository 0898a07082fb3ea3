"""Regression tests for the argument surface PyTorch's OpInfo samples exercise (see
test_opinfo.py): dims of reductions, 0-d and empty tensors, dtype promotion, rounding
division, tensor bounds for clamp, and the errors PyTorch raises. Each case runs the same
function on stirpile and on torch: same values, shapes and dtypes (and, for the
differentiable ones, gradients and a float64 gradcheck), or the same exception type."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import stirpile

torch = pytest.importorskip("torch")


def _run(L, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's "degrees of freedom <= 0" etc.
        return fn(L)


def _flat(x):
    return [v for item in x for v in _flat(item)] if isinstance(x, (tuple, list)) else [x]


# (id, fn(L)): values, shapes and dtypes must match (inputs built inside, with L.tensor)
SAME = [
    # one dim helper for every reduction: lists, negatives, 0-d tensors, empty dims
    ("sum_dim_list", lambda L: L.tensor([[1.0, 2], [3, 4]]).sum([0, -1])),
    ("sum_0d_dim0", lambda L: L.tensor(3.0).sum(0, keepdim=True)),
    ("sum_0d_dim-1", lambda L: L.tensor(3.0).sum(-1)),
    ("sum_empty_dims", lambda L: L.tensor([[1.0, 2], [3, 4]]).sum(dim=())),
    ("sum_int32_is_int64", lambda L: L.tensor([1, 2], dtype=L.int32).sum()),
    ("sum_uint8_is_int64", lambda L: L.tensor([200, 100], dtype=L.uint8).sum()),
    ("sum_dtype", lambda L: L.tensor([[1, 2], [3, 4]]).sum([0], dtype=L.float32)),
    ("mean_dtype_dims", lambda L: L.tensor([[1.0, 2], [3, 4]]).mean([0, 1], dtype=L.float64)),
    ("mean_0d", lambda L: L.tensor(3.0).mean(-1)),
    ("mean_empty_is_nan", lambda L: L.zeros(2, 0).mean(1)),
    ("amax_0d", lambda L: L.tensor(3.0).amax(0, keepdim=True)),
    ("amax_empty_other_dim", lambda L: L.zeros(2, 0).amax(0)),
    ("amin_tuple", lambda L: L.tensor([[1.0, 2], [3, 4]]).amin((0, 1))),
    ("logsumexp_int", lambda L: L.tensor([[1, 2], [3, 4]]).logsumexp(1)),
    ("logsumexp_0d", lambda L: L.tensor(2.0).logsumexp([0], True)),
    ("logsumexp_empty", lambda L: L.zeros(2, 0).logsumexp(1)),
    ("all_keepdim", lambda L: L.tensor([[1.0, 0], [3, 4]]).all(0, keepdim=True)),
    ("any_tuple", lambda L: L.tensor([[1.0, 0], [3, 4]]).any(dim=(0, 1))),
    ("any_no_dims", lambda L: L.tensor([[1.0, 0], [3, 4]]).any(dim=())),
    ("all_0d", lambda L: L.tensor(2.0).all(-1, keepdim=True)),
    ("all_uint8", lambda L: L.tensor([1, 2], dtype=L.uint8).all()),
    ("max_0d_dim", lambda L: tuple(L.tensor(3.0).max(0))),
    ("min_keepdim", lambda L: tuple(L.tensor([[1.0, 2], [3, 0]]).min(1, True))),
    ("max_binary", lambda L: L.tensor([[1.0, 5], [3, 0]]).max(L.tensor([2.0, 2]))),
    ("argmax_keepdim_nodim", lambda L: L.tensor([[1.0, 5], [3, 0]]).argmax(keepdim=True)),
    ("argmin_0d", lambda L: L.tensor(3.0).argmin(0)),
    ("var_positional_unbiased", lambda L: L.tensor([[1.0, 2], [3, 5]]).var(False)),
    ("std_dim_unbiased_keepdim", lambda L: L.tensor([[1.0, 2], [3, 5]]).std(1, True, True)),
    ("var_correction_float", lambda L: L.tensor([[1.0, 2], [3, 5]]).var((0, 1), correction=0.5)),
    ("var_dof_zero_nan", lambda L: L.tensor([3.0]).var()),
    ("var_dof_negative_inf", lambda L: L.tensor([1.0, 2]).var(correction=3)),
    ("var_empty", lambda L: L.zeros(0, 3).var(0)),
    # softmax and friends: dtype=, 0-d, empty dims
    ("softmax_dtype", lambda L: L.tensor([1.0, 2]).softmax(0, dtype=L.float64)),
    ("log_softmax_0d", lambda L: L.tensor(3.0).log_softmax(-1)),
    ("softmax_empty", lambda L: L.zeros(5, 0, 0).softmax(-1)),
    (
        "F_softmax_dtype_int",
        lambda L: L.nn.functional.softmax(L.tensor([1, 2]), 0, dtype=L.float64),
    ),
    # norm: p = 0, ±inf, "fro", dim tuples, dtype
    ("norm_inf", lambda L: L.tensor([[1.0, -7], [3, 0]]).norm(float("inf"))),
    ("norm_-inf_dim", lambda L: L.tensor([[1.0, -7], [3, 0]]).norm(float("-inf"), 1)),
    ("norm_0", lambda L: L.tensor([[1.0, -7], [3, 0]]).norm(0, dim=1, keepdim=True)),
    ("norm_fro_dims", lambda L: L.tensor([[1.0, -7], [3, 0]]).norm("fro", dim=[0, 1])),
    ("norm_3_tuple", lambda L: L.tensor([[1.0, -7], [3, 0]]).norm(3, dim=(0, 1))),
    ("norm_dtype", lambda L: L.tensor([3.0, 4]).norm(dtype=L.float64)),
    ("norm_0d", lambda L: L.tensor(-3.0).norm(2, 0)),
    # rounding division and remainder (integers stay integers)
    ("div_trunc_int", lambda L: L.tensor([5, -5, 4]).div(2, rounding_mode="trunc")),
    (
        "div_floor_int",
        lambda L: L.tensor([5, -5, 4]).div(L.tensor([2, 2, -3]), rounding_mode="floor"),
    ),
    ("div_trunc_float", lambda L: L.div(L.tensor([5.5, -5.5]), 2.0, rounding_mode="trunc")),
    ("div_floor_float_exact", lambda L: L.tensor([1.0, -1.0]) // 0.1),
    ("floordiv_zero_float", lambda L: L.tensor([1.0, -1, 0]) // 0.0),
    ("rfloordiv", lambda L: 7 // L.tensor([5, -5])),
    ("floor_divide_fn", lambda L: L.floor_divide(L.tensor([5, -5]), 2)),
    ("mod_int", lambda L: L.tensor([5, -5]) % 3),
    ("rmod_float", lambda L: 7.5 % L.tensor([5.0, -5])),
    ("remainder_fn", lambda L: L.remainder(L.tensor([5.0, -5]), L.tensor([3.0, 3]))),
    ("mod_zero_float_nan", lambda L: L.tensor([5.0, -5]) % 0.0),
    # clamp: tensor bounds (broadcast, promoted), a float bound on an integer tensor
    ("clamp_tensors", lambda L: L.tensor([1, 5, 9]).clamp(L.tensor([2, 2, 2]), L.tensor(6))),
    ("clamp_promotes", lambda L: L.tensor([1, 5]).clamp(L.tensor([2.5, 2]))),
    ("clamp_int_float_bound", lambda L: L.tensor([1, 5]).clamp(min=0.5)),
    ("clamp_min_over_max", lambda L: L.tensor([1.0, 5]).clamp(L.tensor([4.0]), L.tensor([2.0]))),
    ("clamp_broadcast", lambda L: L.tensor([[1.0], [5]]).clamp(max=L.tensor([2.0, 3, 4]))),
    # integer and bool inputs of the float-valued functions
    ("exp_bool", lambda L: L.tensor([True, False]).exp()),
    ("sqrt_int", lambda L: L.tensor([1, 4]).sqrt()),
    ("rsqrt_int_zero", lambda L: L.tensor([0, 4]).rsqrt()),
    ("reciprocal_int_zero", lambda L: L.tensor([0, 4]).reciprocal()),
    ("log_bool", lambda L: L.tensor([True, False]).log()),
    ("log1p_int", lambda L: L.tensor([-1, 3]).log1p()),
    ("sigmoid_bool", lambda L: L.tensor([True, False]).sigmoid()),
    (
        "sin_cos_tanh_int",
        lambda L: (L.tensor([1, 2]).sin(), L.tensor([1]).cos(), L.tensor([1]).tanh()),
    ),
    ("square_bool", lambda L: L.tensor([True, False]).square()),
    ("sign_bool", lambda L: L.tensor([True, False]).sign()),
    (
        "pow_int_tensor_negative",
        lambda L: L.tensor([2, 1, -1, -1, 0]) ** L.tensor([-1, -2, -3, -2, 2]),
    ),
    ("pow_negative_base_nan", lambda L: L.tensor([-2.0, 4]) ** 0.5),
    ("rpow_tensor", lambda L: 2.0 ** L.tensor([-1.0, 0.5])),
    (
        "ror_rand_rxor",
        lambda L: (True | L.tensor([False]), 1 & L.tensor([3]), True ^ L.tensor([True])),
    ),
    # where with numbers: PyTorch's dtypes
    ("where_two_floats", lambda L: L.where(L.tensor([True, False]), 1.0, 0.0)),
    ("where_two_ints", lambda L: L.where(L.tensor([True, False]), 1, 0)),
    ("where_int_tensor_float", lambda L: L.where(L.tensor([True, False]), L.tensor([1, 2]), 0.5)),
    (
        "where_float64_int",
        lambda L: L.where(L.tensor([True, False]), L.tensor([1.0, 2], dtype=L.float64), 0),
    ),
    # cat: legacy empty tensors are skipped, dtypes promoted as in PyTorch
    ("cat_legacy_empty", lambda L: L.cat([L.tensor([]), L.tensor([[1.0, 2]])], 1)),
    ("cat_int_float32", lambda L: L.cat([L.tensor([1]), L.tensor([1.5])])),
    ("cat_all_empty", lambda L: L.cat([L.tensor([]), L.tensor([])])),
    # gather on 0-d tensors, empty and smaller indices
    ("gather_0d", lambda L: L.tensor(3.0).gather(0, L.tensor([0, 0]))),
    ("gather_0d_0d", lambda L: L.tensor(3.0).gather(0, L.tensor(0))),
    ("gather_empty_index", lambda L: L.tensor([1.0, 2]).gather(0, L.zeros(2, 0, dtype=L.int64))),
    ("gather_smaller", lambda L: L.tensor([[1.0, 2, 3], [4, 5, 6]]).gather(1, L.tensor([[2]]))),
    (
        "masked_fill_bool_int",
        lambda L: L.tensor([True, False]).masked_fill(L.tensor([False, True]), 10),
    ),
    ("masked_fill_int_float", lambda L: L.tensor([1, 2]).masked_fill(L.tensor([True, False]), 2.7)),
    ("transpose_0d", lambda L: L.tensor(3.0).transpose(0, -1)),
    ("unbind_neg", lambda L: L.tensor([[1.0, 2], [3, 4]]).unbind(-1)),
    ("arange_int_truncates", lambda L: L.arange(0.5, 5.7, 1.5, dtype=L.int64)),
    ("arange_int_from_floats", lambda L: L.arange(0.0, -8.000001, -4.0, dtype=L.int64)),
    ("arange_out_dtype", lambda L: L.arange(0, 3, out=L.empty(0))),
    # nn.functional
    (
        "cosine_similarity_broadcast",
        lambda L: L.nn.functional.cosine_similarity(
            L.tensor([[[1.0, 2, 3], [4, 5, 6]]]), L.tensor([[[1.0, 0, 1]], [[2, 1, 0]]]), dim=-2
        ),
    ),
    (
        "cosine_similarity_0d",
        lambda L: L.nn.functional.cosine_similarity(L.tensor(2.0), L.tensor(-3.0), 0),
    ),
    ("batch_norm_empty", lambda L: L.nn.functional.batch_norm(L.zeros(0), L.zeros(0), L.ones(0))),
    (
        "batch_norm_empty_train",
        lambda L: L.nn.functional.batch_norm(L.zeros(0, 2), L.zeros(2), L.ones(2), training=True),
    ),
    ("normalize_p0", lambda L: L.nn.functional.normalize(L.tensor([[1.0, 0, -2]]), p=0.0, dim=-1)),
]


@pytest.mark.parametrize("fn", [c[1] for c in SAME], ids=[c[0] for c in SAME])
def test_same_as_torch(fn, close):
    ours, theirs = _flat(_run(stirpile, fn)), _flat(_run(torch, fn))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        close(o, t, rtol=1e-6, atol=1e-7)


def test_no_numpy_warnings():
    """Results PyTorch gives quietly (nan, ±inf) come without NumPy RuntimeWarnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        stirpile.tensor([0, 4]).reciprocal()
        stirpile.tensor([-1.0, 0]).log()
        stirpile.tensor([-1.0]).sqrt()
        stirpile.tensor([-2.0]) ** 0.5
        stirpile.zeros(2, 0).mean(1)
        stirpile.tensor([3.0]).var()
        stirpile.tensor([1.0]) // 0.0
        stirpile.tensor([1.0]) % 0.0


# (id, fn(L, *xs), shapes): values, dtypes and gradients vs torch, and float64 gradcheck
GRAD = [
    ("sum_dims", lambda L, x: x.sum([0, -1], keepdim=True), [(2, 3, 2)]),
    ("mean_0d", lambda L, x: x.mean(0), [()]),
    ("amax_list", lambda L, x: x.amax([0, 2]), [(2, 3, 2)]),
    ("max_0d", lambda L, x: x.max(-1)[0], [()]),
    ("var_unbiased_positional", lambda L, x: x.var(0, False, True), [(4, 3)]),
    ("std_correction", lambda L, x: x.std((0, 1), correction=2), [(3, 4)]),
    ("logsumexp_0d", lambda L, x: x.logsumexp([0]), [()]),
    ("softmax_dtype", lambda L, x: x.softmax(1, dtype=L.float64), [(2, 3)]),
    ("log_softmax_0d", lambda L, x: x.log_softmax(0), [()]),
    ("norm_inf", lambda L, x: x.norm(float("inf"), dim=1), [(3, 4)]),
    ("norm_3_dims", lambda L, x: x.norm(3, dim=(0, 1), keepdim=True), [(3, 4)]),
    ("norm_fro", lambda L, x: x.norm("fro"), [(3, 4)]),
    ("clamp_tensor_bounds", lambda L, x, lo, hi: x.clamp(lo, hi), [(3, 4), (4,), (3, 1)]),
    ("clamp_tensor_min", lambda L, x, lo: x.clamp(min=lo), [(3, 4), (3, 4)]),
    ("clamp_tensor_max", lambda L, x, hi: L.clamp(x, max=hi), [(3, 4), ()]),
    ("remainder", lambda L, a, b: a % (b.abs() + 0.5), [(3, 4), (4,)]),
    (
        "cosine_similarity",
        lambda L, a, b: L.nn.functional.cosine_similarity(a, b, dim=-1),
        [(2, 1, 3), (1, 4, 3)],
    ),
    ("gather_0d", lambda L, x: x.gather(0, L.tensor([0, 0, 0])), [()]),
    ("where_scalar", lambda L, x: L.where(x > 0, x, 0.5), [(3, 4)]),
]


@pytest.mark.parametrize("fn,shapes", [c[1:] for c in GRAD], ids=[c[0] for c in GRAD])
def test_gradients(fn, shapes, opcheck):
    arrays = opcheck.arrays(shapes, "away0", seed=3)
    opcheck.vs_torch(torch, fn, arrays, "float64")
    opcheck.vs_torch(torch, fn, arrays, "float32")
    opcheck.gradcheck(fn, arrays)


# steps and counts: zero gradient, but still in the graph (as in PyTorch)
ZERO_GRAD = [
    ("sign", lambda L, x: x.sign()),
    ("div_floor", lambda L, x: x.div(0.3, rounding_mode="floor")),
    ("div_trunc_tensor", lambda L, x: L.div(x, x.abs() + 1, rounding_mode="trunc")),
    ("floordiv", lambda L, x: x // 0.7),
    ("norm_0", lambda L, x: x.norm(0)),
]


@pytest.mark.parametrize("fn", [c[1] for c in ZERO_GRAD], ids=[c[0] for c in ZERO_GRAD])
def test_zero_gradient_keeps_graph(fn, close):
    x = stirpile.tensor(np.linspace(-2, 2, 7), dtype=stirpile.float64, requires_grad=True)
    xt = torch.tensor(np.linspace(-2, 2, 7), dtype=torch.float64, requires_grad=True)
    out, out_t = fn(stirpile, x), fn(torch, xt)
    assert out.requires_grad and out_t.requires_grad
    close(out, out_t)
    out.sum().backward()
    assert x.grad is not None and not x.grad.numpy().any()


# (id, fn(L)): PyTorch raises; stirpile must raise the same exception type
ERRORS = [
    ("sum_repeated_dims", lambda L: L.ones(2, 3).sum((0, -2))),
    ("mean_dim_out_of_range", lambda L: L.ones(2, 3).mean(2)),
    ("sum_0d_dim1", lambda L: L.tensor(1.0).sum(1)),
    ("amax_repeated", lambda L: L.ones(2, 3).amax([1, 1])),
    ("amax_empty_dim", lambda L: L.zeros(2, 0).amax(1)),
    ("amax_empty_all", lambda L: L.zeros(2, 0).amax()),
    ("max_empty_dim", lambda L: L.zeros(2, 0).max(1)),
    ("max_empty_all", lambda L: L.zeros(2, 0).max()),
    ("argmax_empty", lambda L: L.zeros(2, 0).argmax()),
    ("argmin_empty_dim", lambda L: L.zeros(2, 0).argmin(1)),
    ("permute_repeated", lambda L: L.ones(2, 3).permute(0, 0)),
    ("unbind_0d", lambda L: L.tensor(1.0).unbind(0)),
    ("transpose_out_of_range", lambda L: L.ones(2).transpose(0, 1)),
    ("div_bad_rounding_mode", lambda L: L.ones(2).div(2, rounding_mode="round")),
    ("div_int_by_zero", lambda L: L.tensor([1, 2]).div(0, rounding_mode="floor")),
    ("floordiv_int_by_zero", lambda L: L.tensor([1, 2]) // L.tensor([1, 0])),
    ("mod_int_by_zero", lambda L: L.tensor([1, 2]) % 0),
    ("neg_bool", lambda L: -L.tensor([True])),
    ("clamp_no_bounds", lambda L: L.ones(2).clamp()),
    ("pow_int_negative_number", lambda L: L.tensor([2, 3]) ** -1),
    ("norm_fro_three_dims", lambda L: L.ones(2, 2, 2).norm("fro", dim=(0, 1, 2))),
    ("cat_empty_list", lambda L: L.cat([])),
    ("cat_none", lambda L: L.cat([L.ones(2), None])),
    ("gather_ndim", lambda L: L.ones(2, 3).gather(1, L.tensor([0, 1]))),
    ("gather_out_of_bounds", lambda L: L.ones(2, 3).gather(1, L.tensor([[3]]))),
    ("gather_negative", lambda L: L.ones(2, 3).gather(1, L.tensor([[-1]]))),
    ("gather_index_too_big", lambda L: L.ones(2, 3).gather(0, L.tensor([[1, 1, 1, 1]]))),
    ("masked_fill_1d_value", lambda L: L.ones(2).masked_fill(L.tensor(True), L.ones(1))),
    ("masked_fill_complex", lambda L: L.ones(2).masked_fill(L.tensor(True), 1j)),
    ("where_float_condition", lambda L: L.where(L.ones(2), 1.0, 0.0)),
    ("arange_zero_step", lambda L: L.arange(0, 5, 0)),
    ("arange_wrong_sign", lambda L: L.arange(0, 5, -1)),
    ("arange_inf", lambda L: L.arange(0, math.inf)),
    ("arange_nan", lambda L: L.arange(0, math.nan)),
    ("arange_int_step_truncates_to_zero", lambda L: L.arange(0, 4, 0.5, dtype=L.int64)),
    ("huber_delta_zero", lambda L: L.nn.functional.huber_loss(L.ones(2), L.ones(2), delta=0)),
    ("huber_delta_negative", lambda L: L.nn.functional.huber_loss(L.ones(2), L.ones(2), delta=-1)),
    ("prelu_2d_weight", lambda L: L.nn.functional.prelu(L.ones(2, 8, 3), L.ones(2, 4))),
    ("rrelu_bounds", lambda L: L.nn.functional.rrelu(L.ones(2), 0.3, 0.1)),
    (
        "batch_norm_stats_size",
        lambda L: L.nn.functional.batch_norm(L.ones(3, 2), L.zeros(3), L.ones(2)),
    ),
    (
        "batch_norm_weight_size",
        lambda L: L.nn.functional.batch_norm(L.ones(3, 2), L.zeros(2), L.ones(2), weight=L.ones(3)),
    ),
    ("batch_norm_eval_no_stats", lambda L: L.nn.functional.batch_norm(L.ones(3, 2), None, None)),
    (
        "batch_norm_one_value",
        lambda L: L.nn.functional.batch_norm(L.ones(1, 2), None, None, training=True),
    ),
]


@pytest.mark.parametrize("fn", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_same_error_as_torch(fn):
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(theirs.type):
        fn(stirpile)


# -- the second round of OpInfo fixes ------------------------------------------------------


def _into_input(L):
    y = L.tensor([1.0, 2, 3, 4, 5, 6])
    return L.masked_select(y, y > 3, out=y)


def _into_mask(L):
    mask = L.tensor([True, False, True])
    return L.masked_select(mask.clone(), mask, out=mask)


def _into_index_view(L):
    ind = L.tensor([2, 1, 0])
    return L.gather(ind.clone(), 0, ind[1:], out=ind[:2])


def _partial_overlap(L):
    a = L.tensor([1.0, 2, 3])
    return L.add(a[:2], a[1:], out=a[:2])


def _cat_into_input_view(L):
    z = L.zeros(4, 6)
    return L.cat((L.ones(4, 6), z), out=z[:2, :])


def _out_of(L, name, *args, out_dtype=None, **kwargs):
    """``L.<name>(*args, out=<empty of out_dtype>)``, returning the result and the out tensor
    (which must be the same object)."""
    out = L.empty(0, dtype=out_dtype or args[0].dtype)
    got = getattr(L, name)(*args, out=out, **kwargs)
    assert got is out
    return out


def _exp_into_itself(L):
    a = L.tensor([0.0, 1.0])
    assert L.exp(a, out=a) is a
    return a


def _max_out(L):
    x = L.tensor([[1.0, 5], [3, 0]])
    got = L.max(x, 1, out=(L.empty(0), L.empty(0, dtype=L.int64)))
    return tuple(got), got.values, got.indices


def _aminmax_out(L):
    x = L.tensor([[1.0, 5], [3, 0]])
    return tuple(L.aminmax(x, dim=0, out=(L.empty(0), L.empty(0))))


F = "nn.functional"
SAME_2 = [
    # var_mean / std_mean: a bool in the place of dim is ``unbiased``
    ("var_mean_bool_dim", lambda L: L.var_mean(L.tensor([[1.0, 2], [3, 5]]), False)),
    ("std_mean_bool_dim", lambda L: L.std_mean(L.tensor([[1.0, 2], [3, 5]]), True)),
    # a number as the first argument where torch takes one
    ("remainder_number_first", lambda L: L.remainder(2, L.tensor([3, -3]))),
    ("remainder_float_first", lambda L: L.remainder(2.5, L.tensor([3, -3]))),
    ("sub_number_first", lambda L: L.sub(2, L.tensor([3.0, 1.5]))),
    ("pow_number_first", lambda L: L.pow(2, L.tensor([3, 1]))),
    ("div_number_first_int", lambda L: L.div(3, L.tensor([2, 4]))),
    ("add_number_first_0d", lambda L: L.add(2.5, L.tensor(1.0, dtype=L.float64))),
    ("floor_divide_number_first", lambda L: L.floor_divide(7, L.tensor([2, -2]))),
    ("xlogy_number_first", lambda L: L.xlogy(2, L.tensor([3.0, 1.0]))),
    # sort with stable=True keeps the order of ties (so does stirpile's sort always)
    ("sort_stable_ties", lambda L: tuple(L.tensor([1, 0, 1, 0, 1]).sort(stable=True))),
    (
        "sort_stable_descending",
        lambda L: tuple(L.tensor([1, 0, 1, 0, 1]).sort(dim=0, descending=True, stable=True)),
    ),
    ("argsort_stable_bool", lambda L: L.tensor([True, False, True]).argsort(stable=True)),
    ("topk_values_ties", lambda L: L.tensor([1, 3, 3, 2]).topk(3).values),
    # linspace / logspace: integer dtypes truncate like torch, tensor ends read in double
    ("linspace_int", lambda L: L.linspace(4.7, -3, 50, dtype=L.int64)),
    ("linspace_int_up", lambda L: L.linspace(4.7, 50, 50, dtype=L.int64)),
    ("linspace_float32_end_f64", lambda L: L.linspace(L.tensor(0.3), 0, 50, dtype=L.float64)),
    ("linspace_one_step", lambda L: L.linspace(0.5, 3, 1, dtype=L.int64)),
    ("linspace_no_steps", lambda L: L.linspace(0, 3, 0)),
    ("linspace_float32", lambda L: L.linspace(-2.5, 7.3, 101)),
    ("logspace_int_truncated_end", lambda L: L.logspace(0, 1.2, 2, dtype=L.int64)),
    ("logspace_int_truncated_start", lambda L: L.logspace(4.3, 0, 4, dtype=L.int64)),
    ("logspace_int_one_step", lambda L: L.logspace(2.5, 1, 1, dtype=L.int64)),
    ("logspace_base", lambda L: L.logspace(0, 5, 4, base=2.5, dtype=L.int64)),
    ("logspace_float32_end_f64", lambda L: L.logspace(4.3, L.tensor(2.7), 4, dtype=L.float64)),
    # the factories of new tensors take device= (the CPU), the conversions memory_format=
    ("zero_fn", lambda L: L.zero_(L.tensor([1.0, 2]))),
    ("new_zeros_device", lambda L: L.tensor([1.0]).new_zeros((2, 3), device="cpu")),
    ("new_ones_device_dtype", lambda L: L.tensor([1]).new_ones([2], dtype=L.float64, device="cpu")),
    ("new_full_device", lambda L: L.tensor([True]).new_full([2, 2], True, device="cpu")),
    ("new_empty_device_shape", lambda L: L.tensor([1.0]).new_empty([2, 3], device="cpu").shape),
    ("half_memory_format", lambda L: L.tensor([1.0, 2.5]).half(memory_format=L.contiguous_format)),
    ("float_memory_format", lambda L: L.tensor([1, 2]).float(memory_format=L.contiguous_format)),
    # integer inputs keep integer dtypes where torch does (scalars truncated to integers)
    (
        "baddbmm_int",
        lambda L: L.baddbmm(
            L.ones(2, 2, 3, dtype=L.int64),
            L.ones(2, 2, 4, dtype=L.int64),
            L.ones(2, 4, 3, dtype=L.int64),
            beta=0.2,
            alpha=1.6,
        ),
    ),
    (
        "addmm_int",
        lambda L: L.addmm(
            L.ones(2, 3, dtype=L.int64),
            L.ones(2, 4, dtype=L.int64),
            L.ones(4, 3, dtype=L.int64),
            beta=2.5,
            alpha=-1.5,
        ),
    ),
    ("hardtanh_int", lambda L: L.nn.functional.hardtanh(L.tensor([-3, -1, 0, 1, 2, 7]), -1.5, 2.7)),
    ("hardtanh_int_default", lambda L: L.nn.functional.hardtanh(L.tensor([-3, 0, 7]))),
    ("relu6_int", lambda L: L.nn.functional.relu6(L.tensor([-3, 0, 2, 7]))),
    ("softsign_int", lambda L: L.nn.functional.softsign(L.tensor([-3, 0, 2]))),
    ("softsign_int_empty", lambda L: L.nn.functional.softsign(L.zeros(1, 0, 3, dtype=L.int64))),
    ("prod_bool_dtype", lambda L: L.tensor([[True, False], [True, True]]).prod(1, dtype=L.bool)),
    ("narrow_tensor_start", lambda L: L.arange(15.0).reshape(5, 3).narrow(0, L.tensor(2), 2)),
    ("index_add_ok", lambda L: L.index_add(L.ones(3, 2), 0, L.tensor([0, 2]), L.ones(2, 2))),
    # out=: written into the given tensor, resized, cast where torch casts
    (
        "masked_select_out",
        lambda L: _out_of(L, "masked_select", L.tensor([1.0, 2, 3]), L.tensor([True, False, True])),
    ),
    ("index_select_out", lambda L: _out_of(L, "index_select", L.ones(3, 2), 0, L.tensor([2]))),
    ("add_out_cast", lambda L: _out_of(L, "add", L.tensor([1, 2]), 3, out_dtype=L.float64)),
    ("cat_out_cast", lambda L: _out_of(L, "cat", [L.ones(2)], out_dtype=L.float64)),
    ("sum_out", lambda L: _out_of(L, "sum", L.ones(2, 3), 1)),
    ("exp_out_itself", _exp_into_itself),
    ("max_out_tuple", _max_out),
    ("aminmax_out_tuple", _aminmax_out),
    # the singular-value norms
    ("svdvals", lambda L: L.linalg.svdvals(L.tensor([[3.0, 1], [2, -4], [0, 1]]))),
    ("svdvals_empty", lambda L: L.linalg.svdvals(L.zeros(2, 3, 0))),
    ("matrix_norm_2", lambda L: L.linalg.matrix_norm(L.tensor([[3.0, 1], [2, -4]]), 2)),
    (
        "matrix_norm_-2_keepdim",
        lambda L: L.linalg.matrix_norm(
            L.tensor(
                [
                    [[3.0, 1, 0, 2], [2, -4, 1, 0]],
                    [[1.0, 0, 5, 1], [0, 2, 1, -3]],
                    [[2.0, 2, 0, 1], [1, 0, -1, 4]],
                ]
            ),
            -2,
            (0, 2),
            True,
        ),
    ),
    ("matrix_norm_nuc_empty", lambda L: L.linalg.matrix_norm(L.zeros(5, 0), "nuc")),
    ("matrix_norm_2_empty", lambda L: L.linalg.matrix_norm(L.zeros(0, 5), 2)),
    ("matrix_norm_1_empty", lambda L: L.linalg.matrix_norm(L.zeros(5, 0), 1)),
    ("matrix_norm_inf_empty", lambda L: L.linalg.matrix_norm(L.zeros(2, 0, 3), float("inf"))),
    ("linalg_norm_nuc", lambda L: L.linalg.norm(L.tensor([[3.0, 1], [2, -4]]), "nuc")),
    ("tensor_norm_nuc_dims", lambda L: L.tensor([[[3.0, 1], [2, -4]]]).norm("nuc", (1, 2), True)),
]


@pytest.mark.parametrize("fn", [c[1] for c in SAME_2], ids=[c[0] for c in SAME_2])
def test_same_as_torch_2(fn, close):
    ours, theirs = _flat(_run(stirpile, fn)), _flat(_run(torch, fn))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        if isinstance(t, torch.Tensor):
            assert isinstance(o, stirpile.Tensor)
            assert o.requires_grad == t.requires_grad
        close(o, t, rtol=1e-6, atol=1e-7)


def test_linspace_float32_like_torch_to_float32_precision(close):
    """Float32 points computed in float32 from both ends, as torch's kernel."""
    close(stirpile.linspace(4.7, -3, 50), torch.linspace(4.7, -3, 50), rtol=1e-6, atol=1e-6)


GRAD_2 = [
    ("var_mean_bool_dim", lambda L, x: L.var_mean(x, False), [(3, 4)]),
    ("std_mean_bool_dim", lambda L, x: L.std_mean(x, True), [(3, 4)]),
    ("svdvals", lambda L, x: L.linalg.svdvals(x), [(3, 4)]),
    ("svdvals_batched", lambda L, x: L.linalg.svdvals(x), [(2, 4, 3)]),
    ("matrix_norm_nuc", lambda L, x: L.linalg.matrix_norm(x, "nuc"), [(3, 4)]),
    ("matrix_norm_2", lambda L, x: L.linalg.matrix_norm(x, 2), [(2, 3, 3)]),
    ("matrix_norm_-2_dims", lambda L, x: L.linalg.matrix_norm(x, -2, (0, 2), True), [(3, 2, 4)]),
    ("linalg_norm_2", lambda L, x: L.linalg.norm(x, 2), [(4, 3)]),
    ("norm_nuc", lambda L, x: x.norm("nuc"), [(3, 3)]),
    ("softsign", lambda L, x: L.nn.functional.softsign(x), [(3, 4)]),
]


@pytest.mark.parametrize("fn,shapes", [c[1:] for c in GRAD_2], ids=[c[0] for c in GRAD_2])
def test_gradients_2(fn, shapes, opcheck):
    arrays = opcheck.arrays(shapes, "away0", seed=5)
    opcheck.vs_torch(torch, fn, arrays, "float64")
    opcheck.vs_torch(torch, fn, arrays, "float32")
    opcheck.gradcheck(fn, arrays)


def test_nuclear_norm_gradient_at_zero(close):
    """The subgradient torch picks at the zero matrix (U Vᵀ = I from LAPACK)."""
    x = stirpile.zeros(3, 3, dtype=stirpile.float64, requires_grad=True)
    xt = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    stirpile.linalg.matrix_norm(x, "nuc").backward()
    torch.linalg.matrix_norm(xt, "nuc").backward()
    close(x.grad, xt.grad)


def test_singular_values_refuse_double_backward():
    """Gradients of the SVD gradient would need the derivatives of U and V: refused, not
    silently wrong."""
    x = stirpile.tensor([[3.0, 1], [2, -4]], dtype=stirpile.float64, requires_grad=True)
    (g,) = stirpile.autograd.grad(stirpile.linalg.svdvals(x).sum(), [x])  # first order: fine
    assert g.shape == (2, 2)
    with pytest.raises(NotImplementedError, match="create_graph"):
        stirpile.autograd.grad(stirpile.linalg.svdvals(x).sum(), [x], create_graph=True)


def test_new_tensors_refuse_other_devices():
    with pytest.raises(RuntimeError, match="cuda"):
        stirpile.ones(2).new_zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="cuda"):
        stirpile.ones(2).new_full([2], 1.0, device="cuda:0")


def test_bce_second_order_after_maximum_takes_tensors_only(close):
    """The BCE backward's clamp of x(1 − x) under create_graph (Tensor.maximum with a 0-d
    tensor, now that it refuses numbers, as torch's does) still gives torch's Hessian."""
    p, y = np.array([0.2, 0.9, 0.5]), np.array([0.0, 1.0, 1.0])
    x = stirpile.tensor(p, requires_grad=True)
    xt = torch.tensor(p, requires_grad=True)
    loss = stirpile.nn.functional.binary_cross_entropy(x, stirpile.tensor(y))
    loss_t = torch.nn.functional.binary_cross_entropy(xt, torch.tensor(y))
    (g,) = stirpile.autograd.grad(loss, x, create_graph=True)
    (gt,) = torch.autograd.grad(loss_t, xt, create_graph=True)
    close(g, gt)
    (h,) = stirpile.autograd.grad((g * g).sum(), x)
    (ht,) = torch.autograd.grad((gt * gt).sum(), xt)
    close(h, ht)


def test_out_resize_warns_like_torch():
    """A non-empty ``out`` of another shape is resized, with torch's deprecation warning."""
    out = stirpile.zeros(5)
    with pytest.warns(UserWarning, match="resized"):
        stirpile.add(stirpile.ones(3), 1, out=out)
    assert out.shape == (3,) and out.tolist() == [2.0, 2.0, 2.0]


ERRORS_2 = [
    # the function forms refuse a number first argument where torch does
    ("atan2_number_first", lambda L: L.atan2(2, L.tensor([3.0]))),
    ("hypot_number_first", lambda L: L.hypot(2, L.tensor([3.0]))),
    ("logaddexp_number_first", lambda L: L.logaddexp(2, L.tensor([3.0]))),
    ("logical_and_number_first", lambda L: L.logical_and(2, L.tensor([3]))),
    ("logical_xor_number_first", lambda L: L.logical_xor(2, L.tensor([3]))),
    ("clamp_min_number_first", lambda L: L.clamp_min(2, L.tensor([3]))),
    ("clamp_max_numbers", lambda L: L.clamp_max(2, 3)),
    ("fmod_number_first", lambda L: L.fmod(2, L.tensor([3]))),
    ("xlogy_two_numbers", lambda L: L.xlogy(2, 3)),
    ("remainder_two_numbers", lambda L: L.remainder(2, 3)),
    ("isclose_number_first", lambda L: L.isclose(2, L.tensor([3]))),
    ("maximum_number_first", lambda L: L.maximum(2, L.tensor([3]))),
    ("maximum_number_other", lambda L: L.maximum(L.tensor([3.0]), 2)),
    ("minimum_method_number", lambda L: L.tensor([3.0]).minimum(2.5)),
    ("isclose_negative_rtol", lambda L: L.isclose(L.ones(2), L.ones(2), rtol=-0.4)),
    ("isclose_negative_atol", lambda L: L.isclose(L.ones(2), L.ones(2), atol=-0.4)),
    # factories
    ("eye_negative_n", lambda L: L.eye(-1)),
    ("eye_negative_m", lambda L: L.eye(0, -3)),
    ("normal_negative_std", lambda L: L.zeros(3).normal_(0, -1)),
    ("multinomial_int", lambda L: L.multinomial(L.tensor([[1, 2]]), 2)),
    ("multinomial_zero_samples", lambda L: L.multinomial(L.tensor([1.0, 2.0]), 0)),
    ("multinomial_negative_samples", lambda L: L.multinomial(L.tensor([1.0, 2.0]), -1)),
    (
        "multinomial_float_out",
        lambda L: L.multinomial(L.tensor([[1.0, 2.0]]), 2, out=L.zeros(1, 2)),
    ),
    ("bernoulli_expanded_out", lambda L: L.bernoulli(L.ones(6) / 2, out=L.rand(1).expand(6))),
    ("linspace_1d_ends", lambda L: L.linspace(L.tensor([1, 2]), L.tensor([1, 2]), 1)),
    ("logspace_1d_end", lambda L: L.logspace(0, L.tensor([1.0, 2.0]), 3)),
    ("linspace_float_steps", lambda L: L.linspace(0, 3, 1.0)),
    ("linspace_negative_steps", lambda L: L.linspace(0, 3, -1)),
    ("linspace_bool", lambda L: L.linspace(0, 3, 4, dtype=L.bool)),
    # indexing
    ("narrow_0d", lambda L: L.narrow(L.tensor(1.0), 0, 0, 1)),
    ("narrow_bool_start", lambda L: L.ones(5, 3).narrow(0, L.tensor(True), 1)),
    ("narrow_1d_start", lambda L: L.ones(5, 3).narrow(0, L.tensor([2]), 1)),
    ("index_add_source_shape", lambda L: L.index_add(L.ones(3, 2), 0, L.tensor([0, 2]), L.ones(2))),
    ("index_add_source_ndim", lambda L: L.index_add(L.ones(3), 0, L.tensor([0]), L.tensor(1.0))),
    ("aminmax_empty_dim", lambda L: L.aminmax(L.zeros(5, 0, 5), dim=1)),
    ("aminmax_empty_all", lambda L: L.aminmax(L.zeros(5, 0, 5))),
    # out=: dtype, overlap, autograd
    ("masked_select_into_input", _into_input),
    ("masked_select_into_mask", _into_mask),
    ("gather_into_index_view", _into_index_view),
    ("add_partial_overlap", _partial_overlap),
    ("cat_into_input_view", _cat_into_input_view),
    (
        "index_select_expanded_out",
        lambda L: L.index_select(L.ones(3, 6), 1, L.tensor([0, 1]), out=L.rand(1, 6).expand(2, 6)),
    ),
    (
        "gather_out_dtype",
        lambda L: L.gather(
            L.ones(2, 2), 1, L.tensor([[0], [1]]), out=L.empty(2, 1, dtype=L.float64)
        ),
    ),
    (
        "aminmax_out_dtype",
        lambda L: L.aminmax(L.ones(3, 3), dim=0, out=(L.empty(3), L.empty(3, dtype=L.float64))),
    ),
    ("add_out_cast_float_to_int", lambda L: L.add(L.ones(2), 1, out=L.empty(2, dtype=L.int64))),
    ("exp_out_requires_grad", lambda L: L.exp(L.ones(2, requires_grad=True), out=L.empty(2))),
    ("cat_tensor_not_sequence", lambda L: L.cat(L.ones(2, 3), out=L.empty(2, 3))),
    # singular values
    ("svdvals_1d", lambda L: L.linalg.svdvals(L.ones(3))),
    ("svdvals_int", lambda L: L.linalg.svdvals(L.ones(3, 3, dtype=L.int64))),
    ("matrix_norm_-2_empty", lambda L: L.linalg.matrix_norm(L.zeros(5, 0), -2)),
    ("matrix_norm_-1_empty", lambda L: L.linalg.matrix_norm(L.zeros(5, 0), -1)),
    ("norm_nuc_one_dim", lambda L: L.ones(3, 3).norm("nuc", dim=[1])),
]


@pytest.mark.parametrize("fn", [c[1] for c in ERRORS_2], ids=[c[0] for c in ERRORS_2])
def test_same_error_as_torch_2(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(Exception) as theirs:
            fn(torch)
        with pytest.raises(theirs.type):
            fn(stirpile)
