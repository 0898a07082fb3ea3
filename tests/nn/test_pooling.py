"""Pooling (max, average, adaptive; 1-d and 2-d) and channel dropout against PyTorch:
values, indices and gradients (first and second order) over a grid of hyperparameters,
float64 gradcheck/gradgradcheck, ties and NaN as PyTorch's CPU kernels, PyTorch's errors
and reprs; Dropout1d/2d by their statistics."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

torch = pytest.importorskip("torch")

MAX2D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1), "dilation": (2, 1)},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 2, "stride": 1, "dilation": 2, "ceil_mode": True},
    {"kernel_size": (3, 2), "stride": (2, 3), "padding": (1, 0), "ceil_mode": True},
    {"kernel_size": 2, "stride": 3},
]
AVG2D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1), "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": 2, "stride": 1, "divisor_override": 3},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "divisor_override": 2},
]
MAX1D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 1, "padding": 1, "dilation": 2},
    {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "dilation": 2, "ceil_mode": True},
]
AVG1D = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True},
]
SHAPES_2D = [(2, 3, 7, 8), (3, 6, 5)]  # batched and unbatched
SHAPES_1D = [(2, 3, 9), (3, 8)]


def _call(name, **kw):
    return lambda L, x: getattr(L.nn.functional, name)(x, **kw)


def _double_backward_vs_torch(fn, x, close):
    """Pooling is (piece-wise) linear, so its second derivative in ``x`` is zero; what a
    double backward must get right is the gradient of ``Σ v · ∂(u·out)/∂x`` with respect
    to the output gradient ``u`` (the backward's own backward: a gather, or ``A v``)."""
    rng = np.random.default_rng(2)
    xs = stirpile.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, tout = fn(stirpile, xs), fn(torch, xt)
    u = rng.standard_normal(tuple(tout.shape))
    us = stirpile.tensor(u, requires_grad=True)
    ut = torch.tensor(u, requires_grad=True)
    (gs,) = stirpile.autograd.grad(out, xs, us, create_graph=True)
    (gt,) = torch.autograd.grad(tout, xt, ut, create_graph=True)
    v = rng.standard_normal(x.shape)
    (hs,) = stirpile.autograd.grad((gs * stirpile.tensor(v)).sum(), us)
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), ut)
    close(hs, ht)


def _cases(configs, shapes):
    return [(kw, s) for kw in configs for s in shapes]


def _id(case):
    kw, shape = case
    return ",".join(f"{k}={v}" for k, v in kw.items()) + f"-{shape}"


GRID = (
    [("max_pool2d", kw, s) for kw, s in _cases(MAX2D, SHAPES_2D)]
    + [("avg_pool2d", kw, s) for kw, s in _cases(AVG2D, SHAPES_2D)]
    + [("max_pool1d", kw, s) for kw, s in _cases(MAX1D, SHAPES_1D)]
    + [("avg_pool1d", kw, s) for kw, s in _cases(AVG1D, SHAPES_1D)]
)
GRID_IDS = [f"{n}-{_id((kw, s))}" for n, kw, s in GRID]


@pytest.mark.parametrize(("name", "kw", "shape"), GRID, ids=GRID_IDS)
def test_pooling_matches_torch(opcheck, close, name, kw, shape):
    (x,) = opcheck.arrays([shape])
    fn = _call(name, **kw)
    opcheck.vs_torch(torch, fn, [x], "float64")
    _double_backward_vs_torch(fn, x, close)
    opcheck.vs_torch(torch, fn, [x.astype(np.float32)], "float32")


@pytest.mark.parametrize(("name", "kw", "shape"), GRID, ids=GRID_IDS)
def test_pooling_gradcheck(opcheck, name, kw, shape):
    (x,) = opcheck.arrays([shape], seed=3)
    opcheck.gradcheck(_call(name, **kw), [x], gradgrad=True)


@pytest.mark.parametrize(
    ("kw", "shape"), _cases(MAX2D, SHAPES_2D), ids=map(_id, _cases(MAX2D, SHAPES_2D))
)
def test_max_pool2d_indices_match_torch(opcheck, kw, shape):
    (x,) = opcheck.arrays([shape])
    fn = _call("max_pool2d", return_indices=True, **kw)
    opcheck.vs_torch(torch, fn, [x], "float64")


@pytest.mark.parametrize(
    ("kw", "shape"), _cases(MAX1D, SHAPES_1D), ids=map(_id, _cases(MAX1D, SHAPES_1D))
)
def test_max_pool1d_indices_match_torch(opcheck, kw, shape):
    (x,) = opcheck.arrays([shape])
    opcheck.vs_torch(torch, _call("max_pool1d", return_indices=True, **kw), [x], "float64")


def _ties(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)


@pytest.mark.parametrize("kw", MAX2D, ids=str)
def test_max_pool2d_ties_go_to_the_first_maximum(opcheck, kw):
    x = _ties((2, 3, 7, 8))  # values in {0, 1, 2}: most windows tie
    opcheck.vs_torch(torch, _call("max_pool2d", return_indices=True, **kw), [x], "float64")


def test_max_pool_nan_wins_and_the_last_nan_is_taken(opcheck):
    x = _ties((2, 2, 6, 6))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[1, 1, 4, 4] = np.nan
    x[0, 1, 2, 2] = np.inf
    for kw in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}):
        opcheck.vs_torch(torch, _call("max_pool2d", return_indices=True, **kw), [x], "float64")
    opcheck.vs_torch(torch, _call("adaptive_max_pool2d", output_size=(4, 5),
                                  return_indices=True), [x], "float64")  # fmt: skip


def test_integer_pooling_matches_torch(close):
    a = np.arange(-20, 29).reshape(1, 7, 7)
    for name, kw in (("max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1}),
                     ("avg_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1})):  # fmt: skip
        ours = getattr(F, name)(stirpile.tensor(a), **kw)
        close(ours, getattr(torch.nn.functional, name)(torch.tensor(a), **kw))


# -- adaptive pooling ------------------------------------------------------------------

ADAPTIVE_2D = [(3, 4), (2, None), 1, (7, 8), (5, 11), (1, 2)]


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("size", ADAPTIVE_2D, ids=str)
@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pool2d(opcheck, close, name, size, shape):
    (x,) = opcheck.arrays([shape])
    fn = _call(name, output_size=size)
    opcheck.vs_torch(torch, fn, [x], "float64")
    _double_backward_vs_torch(fn, x, close)
    opcheck.vs_torch(torch, fn, [x.astype(np.float32)], "float32")
    opcheck.gradcheck(fn, [x], gradgrad=True)
    if name == "adaptive_max_pool2d":
        opcheck.vs_torch(torch, _call(name, output_size=size, return_indices=True), [x], "float64")


@pytest.mark.parametrize("size", [1, 3, 4, 9, 12])
@pytest.mark.parametrize("name", ["adaptive_avg_pool1d", "adaptive_max_pool1d"])
def test_adaptive_pool1d(opcheck, close, name, size):
    (x,) = opcheck.arrays([(2, 3, 9)])
    fn = _call(name, output_size=size)
    opcheck.vs_torch(torch, fn, [x], "float64")
    _double_backward_vs_torch(fn, x, close)
    opcheck.gradcheck(fn, [x], gradgrad=True)
    opcheck.vs_torch(torch, fn, [x[0]], "float64")  # unbatched


def test_adaptive_max_pool2d_ties(opcheck):
    fn = _call("adaptive_max_pool2d", output_size=(3, 5), return_indices=True)
    opcheck.vs_torch(torch, fn, [_ties((2, 3, 7, 8))], "float64")


def test_empty_batch_and_zero_output_size(close):
    cases = [("max_pool2d", (2,)), ("avg_pool2d", (2,))]
    cases += [("adaptive_avg_pool2d", ((0, 2),)), ("adaptive_max_pool2d", ((0, 2),))]
    for name, args in cases:
        x = np.zeros((0, 2, 4, 4)) if "adaptive" not in name else np.zeros((2, 3, 4, 4))
        ours = getattr(F, name)(stirpile.tensor(x), *args)
        close(ours, getattr(torch.nn.functional, name)(torch.tensor(x), *args))


# -- errors ----------------------------------------------------------------------------

x4, x3, x2 = np.zeros((2, 3, 9, 9)), np.zeros((3, 9, 9)), np.zeros((3, 9))
ERRORS = [
    ("max_pool2d", x4, (2,), {"padding": 2}),  # padding > half the kernel
    ("max_pool2d", x4, (3,), {"dilation": 2, "padding": 2}),
    ("max_pool2d", x4, ((3, 2),), {"dilation": 2, "padding": (1, 2)}),
    ("max_pool2d", np.zeros((1, 1, 2, 2)), (3,), {}),  # output size 0
    ("max_pool2d", np.zeros((2, 3, 5, 2)), (3,), {}),
    ("max_pool2d", np.zeros((5, 5)), (2,), {}),  # wrong ndim
    ("max_pool2d", np.zeros((1, 2, 3, 5, 5)), (2,), {}),
    ("max_pool2d", np.zeros((2, 0, 4, 4)), (2,), {}),
    ("max_pool2d", x4, (0,), {}),
    ("max_pool2d", x4, (2, 0), {}),
    ("max_pool2d", x4, (2,), {"stride": -1}),
    ("max_pool2d", x4, (2,), {"dilation": 0}),
    ("max_pool2d", x4, (2,), {"padding": -1}),
    ("max_pool2d", x4, ((2, 2, 2),), {}),
    ("max_pool2d", x3, (2,), {"padding": (1, 2, 3)}),
    ("max_pool2d", x3, (2.0,), {}),
    ("avg_pool2d", x4, (2,), {"padding": 2}),
    ("avg_pool2d", np.zeros((1, 1, 2, 2)), (3,), {}),
    ("avg_pool2d", np.zeros((5, 5)), (2,), {}),
    ("avg_pool2d", np.zeros((1, 2, 3, 5, 5)), (2,), {}),
    ("avg_pool2d", x4, (2,), {"divisor_override": 0}),
    ("avg_pool2d", x4, ((2, 2, 2),), {}),
    ("avg_pool2d", x4, (2, 0), {}),
    ("max_pool1d", x2, (3,), {"padding": 2}),
    ("max_pool1d", np.zeros((1, 1, 2)), (3,), {}),
    ("max_pool1d", np.zeros(2), (2,), {}),
    ("max_pool1d", np.zeros((1, 2, 2, 2)), (2,), {}),
    ("max_pool1d", x2, (0,), {}),
    ("max_pool1d", x2, (2, 0), {}),
    ("max_pool1d", x2, (2,), {"dilation": 0}),
    ("max_pool1d", x2, (2,), {"padding": -1}),
    ("max_pool1d", x2, ((2, 2),), {}),
    ("max_pool1d", x2, (2, 1), {"dilation": 10}),
    ("avg_pool1d", x2, (3,), {"padding": 2}),
    ("avg_pool1d", np.zeros((3, 1, 2)), (3,), {}),
    ("avg_pool1d", np.zeros(2), (2,), {}),
    ("avg_pool1d", np.zeros((2, 2, 2, 2)), (2,), {}),
    ("avg_pool1d", x2, ((2, 2),), {}),
    ("adaptive_avg_pool2d", np.zeros((3, 3)), (2,), {}),
    ("adaptive_avg_pool2d", x3, (-1,), {}),
    ("adaptive_avg_pool2d", np.zeros((2, 2, 0, 3)), (2,), {}),
    ("adaptive_avg_pool1d", np.zeros(3), (2,), {}),
    ("adaptive_avg_pool1d", x2, ((5, 5),), {}),
    ("adaptive_avg_pool1d", x2, (-1,), {}),
    ("adaptive_max_pool2d", np.zeros((3, 3)), (2,), {}),
    ("adaptive_max_pool2d", np.zeros((2, 0, 3, 3)), (2,), {}),
    ("adaptive_max_pool2d", np.zeros((2, 1, 0, 3)), (2,), {}),
    ("adaptive_max_pool2d", x3, (-1,), {}),
    ("dropout1d", np.zeros(2), (0.5,), {}),
    ("dropout1d", np.zeros((2, 2, 2, 2)), (0.5,), {}),
    ("dropout2d", x4, (1.5,), {}),
    ("dropout1d", x2, (-0.1,), {}),
]


@pytest.mark.parametrize(
    ("name", "x", "args", "kw"), ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)]
)
def test_errors_match_torch(name, x, args, kw):
    with pytest.raises(Exception) as theirs:  # whatever torch raises
        getattr(torch.nn.functional, name)(torch.tensor(x), *args, **kw)
    with pytest.raises(type(theirs.value), match=re.escape(str(theirs.value))):
        getattr(F, name)(stirpile.tensor(x), *args, **kw)


# -- modules ---------------------------------------------------------------------------

MODULES = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", ((2, 3),), {"stride": (1, 2), "padding": 1, "dilation": 2, "ceil_mode": True}),
    ("MaxPool1d", (3, 2, 1, 2, False, True), {}),
    ("AvgPool2d", (3, 2, 1, True, False, 3), {}),
    ("AvgPool2d", ((2, 3),), {"divisor_override": 2}),
    ("AvgPool1d", (3,), {"count_include_pad": False, "padding": 1}),
    ("AdaptiveAvgPool2d", ((2, None),), {}),
    ("AdaptiveAvgPool1d", (3,), {}),
    ("AdaptiveMaxPool2d", (3,), {}),
    ("AdaptiveMaxPool1d", (4,), {}),
]


@pytest.mark.parametrize(("name", "args", "kw"), MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(check_module, name, args, kw):
    ours, theirs = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    shape = (2, 3, 8, 9) if name.endswith("2d") else (2, 3, 10)
    x = np.random.default_rng(0).standard_normal(shape)
    check_module(ours, theirs, x)
    check_module(ours, theirs, x[0])  # unbatched
    for attr in vars(theirs):
        if not attr.startswith("_") and attr != "training":
            assert getattr(ours, attr) == getattr(theirs, attr), attr


@pytest.mark.parametrize("name", ["MaxPool2d", "MaxPool1d", "AdaptiveMaxPool2d"])
def test_modules_return_indices(close, name):
    ours, theirs = (
        getattr(nn, name)(2, return_indices=True),
        getattr(torch.nn, name)(2, return_indices=True),
    )
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 7)[: 4 if "2d" in name else 3])
    (v, i), (tv, ti) = ours(stirpile.tensor(x)), theirs(torch.tensor(x))
    close(v, tv)
    close(i, ti)


def test_pooling_on_float32_keeps_float32():
    x = stirpile.randn(2, 3, 8, 8)
    for out in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.adaptive_avg_pool2d(x, 3),
                F.adaptive_max_pool2d(x, 3)):  # fmt: skip
        assert out.dtype == stirpile.float32


# -- channel dropout -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "shape", "dims"),
    [(F.dropout2d, (64, 32, 3, 4), 2), (F.dropout1d, (64, 32, 5), 2), (F.dropout1d, (512, 6), 1)],
)
def test_channel_dropout_statistics(fn, shape, dims):
    p = 0.3
    stirpile.manual_seed(0)
    x = stirpile.ones(shape, requires_grad=True)
    y = fn(x, p)
    maps = y.detach().numpy().reshape(*shape[:dims], -1)
    assert set(np.unique(maps)) <= {0.0, np.float32(1 / (1 - p))}
    assert (maps.min(-1) == maps.max(-1)).all()  # whole channels kept or dropped
    dropped = (maps[..., 0] == 0).mean()
    assert abs(dropped - p) < 0.05
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # grad = mask/(1 − p)


def test_channel_dropout_modules():
    x = stirpile.randn(8, 4, 3, 3)
    for layer in (nn.Dropout2d(0.5), nn.Dropout1d(0.5)):
        inp = x if isinstance(layer, nn.Dropout2d) else x.flatten(2)
        assert repr(layer) == repr(getattr(torch.nn, type(layer).__name__)(0.5))
        layer.eval()
        np.testing.assert_array_equal(layer(inp).numpy(), inp.numpy())
        layer.train()
        out = layer(inp).numpy().reshape(8, 4, -1)
        assert (out.min(-1) == out.max(-1))[np.abs(out).max(-1) == 0].all()
    assert F.dropout2d(x, 1.0).numpy().max() == 0
    assert F.dropout2d(x, 0.0) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)


def test_dropout2d_warnings_as_torch():
    for shape in [(4, 5, 6), (4, 5), (2, 3, 2, 2, 2)]:
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            F.dropout2d(stirpile.ones(shape), 0.5)
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            torch.nn.functional.dropout2d(torch.ones(shape), 0.5)
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    with pytest.warns(UserWarning, match=r"interpreted as shape \(N, C, L\)"):
        y = F.dropout2d(stirpile.ones(64, 32, 5), 0.5).numpy()  # channel-wise per (n, c)
    assert (y.min(-1) == y.max(-1)).all()


def test_channel_dropout_inplace():
    stirpile.manual_seed(1)
    h = stirpile.ones(16, 8, 2, 2, requires_grad=True) * 1
    out = F.dropout2d(h, 0.5, inplace=True)
    assert out is h
    maps = h.detach().numpy().reshape(16, 8, -1)
    assert (maps.min(-1) == maps.max(-1)).all() and set(np.unique(maps)) == {0.0, 2.0}
