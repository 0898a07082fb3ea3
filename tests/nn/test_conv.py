"""Convolution, unfold/fold and pad against PyTorch (values, gradients, second derivatives),
float64 gradcheck and gradgradcheck over a grid of options, the modules through the state
dict, and PyTorch's errors."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

DTYPES = ["float64", "float32"]


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _quiet(fn):
    """``fn`` with the "same"-padding UserWarning (both frameworks give it) silenced."""

    def run(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*args)

    return run


# -- conv1d / conv2d: a grid of options ----------------------------------------------------
# (kwargs, kernel): C = 4 input channels, 4 output channels, kernel per spatial dim
CONV2D = [
    ({}, (3, 2)),
    ({"stride": 2}, (3, 3)),
    ({"stride": (2, 1), "padding": 1}, (2, 3)),
    ({"padding": (2, 0)}, (3, 2)),
    ({"padding": "same"}, (3, 3)),
    ({"padding": "same"}, (2, 3)),  # even kernel: one more on the right than the left
    ({"padding": "same", "dilation": 2}, (2, 2)),
    ({"padding": "valid"}, (3, 2)),
    ({"dilation": (2, 1), "padding": 1}, (2, 2)),
    ({"groups": 2}, (2, 2)),
    ({"groups": 4, "stride": 2, "padding": 1, "dilation": 2}, (2, 2)),
]
CONV1D = [
    ({}, (3,)),
    ({"stride": 2, "padding": 2}, (3,)),
    ({"padding": "same"}, (4,)),
    ({"padding": "same", "dilation": 3}, (2,)),
    ({"padding": "valid", "dilation": 2}, (2,)),
    ({"groups": 2, "stride": 3}, (2,)),
]
GRID = [(2, kw, k) for kw, k in CONV2D] + [(1, kw, k) for kw, k in CONV1D]


def _conv_case(d, kwargs, kernel, bias):
    spatial = (5, 4) if d == 2 else (7,)
    groups = kwargs.get("groups", 1)
    shapes = [(2, 4, *spatial), (4, 4 // groups, *kernel)] + ([(4,)] if bias else [])

    def fn(L, x, w, b=None):
        return getattr(L.nn.functional, f"conv{d}d")(x, w, b, **kwargs)

    return _quiet(fn), shapes


def _ids(case):
    d, kw, k = case
    return f"{d}d-{k}-" + "-".join(f"{a}={v}" for a, v in kw.items())


@pytest.mark.parametrize("case", GRID, ids=[_ids(c) for c in GRID])
@pytest.mark.parametrize("bias", [True, False])
def test_conv_matches_torch(opcheck, torch, case, bias):
    fn, shapes = _conv_case(*case, bias)
    arrays = opcheck.arrays(shapes)
    opcheck.vs_torch(torch, fn, arrays, "float64", second_order=True)
    opcheck.vs_torch(torch, fn, arrays, "float32")


@pytest.mark.parametrize("case", GRID, ids=[_ids(c) for c in GRID])
def test_conv_gradcheck_and_gradgradcheck(opcheck, case):
    fn, shapes = _conv_case(*case, True)
    opcheck.gradcheck(fn, opcheck.arrays(shapes), gradgrad=True)


@pytest.mark.parametrize("d", [1, 2])
def test_conv_unbatched_input(opcheck, torch, d):
    spatial = (5, 4)[:d]

    def fn(L, x, w, b):
        return getattr(L.nn.functional, f"conv{d}d")(x, w, b, padding=1)

    arrays = opcheck.arrays([(3, *spatial), (2, 3, *(2,) * d), (2,)])
    opcheck.vs_torch(torch, fn, arrays, "float64", second_order=True)


def test_conv_gradient_of_weight_only_and_of_input_only(torch, close):
    """A first layer (input without gradient) and a frozen layer (weight without one)."""
    x, w = _x(3, 2, 6, 6), _x(4, 2, 3, 3, seed=1)
    for wants in [(False, True), (True, False)]:
        xs = stirpile.tensor(x, requires_grad=wants[0])
        ws = stirpile.tensor(w, requires_grad=wants[1])
        xt = torch.tensor(x, requires_grad=wants[0])
        wt = torch.tensor(w, requires_grad=wants[1])
        F.conv2d(xs, ws, padding=1).square().sum().backward()
        torch.nn.functional.conv2d(xt, wt, padding=1).square().sum().backward()
        for ours, theirs in [(xs, xt), (ws, wt)]:
            assert (ours.grad is None) == (theirs.grad is None)
            if theirs.grad is not None:
                close(ours.grad, theirs.grad)


def test_conv_float32_stays_float32():
    x = stirpile.randn(2, 3, 8, 8, requires_grad=True)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    out = conv(x)
    assert out.dtype == stirpile.float32
    out.sum().backward()
    assert x.grad.dtype == conv.weight.grad.dtype == conv.bias.grad.dtype == stirpile.float32
    assert nn.Conv1d(3, 4, 3)(stirpile.randn(2, 3, 8)).dtype == stirpile.float32


# -- the modules -------------------------------------------------------------------------
MODULES = [
    ("Conv2d", (4, 6, 3), {}, (2, 4, 7, 6)),
    ("Conv2d", (1, 6, 5), {"padding": 2}, (3, 1, 9, 9)),
    ("Conv2d", (4, 6, (3, 2)), {"stride": (2, 1), "dilation": (1, 2), "bias": False}, (2, 4, 9, 8)),
    ("Conv2d", (4, 6, 3), {"groups": 2, "padding": "same"}, (2, 4, 5, 5)),
    ("Conv2d", (2, 4, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 2, 5, 6)),
    ("Conv2d", (2, 4, 3), {"padding": (2, 1), "padding_mode": "replicate"}, (2, 2, 5, 6)),
    ("Conv2d", (2, 4, 4), {"padding": "same", "padding_mode": "circular"}, (2, 2, 5, 6)),
    ("Conv2d", (2, 4, 3), {"padding": 1}, (2, 5, 6)),  # unbatched
    ("Conv1d", (4, 6, 3), {}, (2, 4, 9)),
    ("Conv1d", (4, 6, 4), {"stride": 2, "padding": 3, "groups": 2}, (2, 4, 9)),
    ("Conv1d", (2, 4, 3), {"padding": 2, "padding_mode": "circular"}, (3, 2, 7)),
    ("Conv1d", (2, 4, 3), {"padding": "valid", "dilation": 2, "bias": False}, (2, 7)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args, kwargs, shape", MODULES)
def test_conv_modules_match_torch(check_module, torch, dtype, name, args, kwargs, shape):
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert dict(ours.named_parameters()).keys() == dict(theirs.named_parameters()).keys()
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.shape == tuple(q.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_module(ours, theirs, _x(*shape), dtype=dtype)


def test_conv_default_init_bounds():
    stirpile.manual_seed(0)
    conv = nn.Conv2d(8, 64, 5, groups=2)
    bound = 1 / math.sqrt(4 * 5 * 5)  # fan_in = in/groups · kh · kw
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert conv.weight.shape == (64, 4, 5, 5) and conv.bias.shape == (64,)
    assert 0.95 * bound < np.abs(w).max() <= bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound
    assert conv.weight.dtype == stirpile.float32 and conv.weight.requires_grad


def test_unfold_fold_modules(torch, close):
    x = _x(2, 3, 6, 5)
    ours, theirs = (
        nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=2),
        torch.nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=2),
    )
    assert repr(ours) == repr(theirs)
    cols = ours(stirpile.tensor(x))
    close(cols, theirs(torch.tensor(x)))
    fo, ft = nn.Fold((6, 5), (2, 3), (1, 2), 1, 2), torch.nn.Fold((6, 5), (2, 3), (1, 2), 1, 2)
    assert repr(fo) == repr(ft)
    close(fo(cols), ft(torch.tensor(cols.numpy())))


# -- unfold, fold ------------------------------------------------------------------------
BLOCKS = [
    {"kernel_size": 2},
    {"kernel_size": (2, 3), "stride": 2},
    {"kernel_size": 3, "padding": 1, "dilation": 2},
    {"kernel_size": (3, 1), "padding": (1, 0), "stride": (1, 2), "dilation": (1, 3)},
]


@pytest.mark.parametrize("kw", BLOCKS)
@pytest.mark.parametrize("batched", [True, False])
def test_unfold_matches_torch_and_gradchecks(opcheck, torch, kw, batched):
    shape = (2, 3, 6, 5) if batched else (3, 6, 5)

    def fn(L, x):
        return L.nn.functional.unfold(x, **kw)

    arrays = opcheck.arrays([shape])
    opcheck.vs_torch(torch, fn, arrays, "float64")
    opcheck.vs_torch(torch, fn, arrays, "float32")
    # (linear: its own second derivative is 0, so square it to check the recorded backward)
    opcheck.vs_torch(torch, lambda L, x: fn(L, x).square(), arrays, "float64", second_order=True)
    opcheck.gradcheck(lambda L, x: fn(L, x).square(), arrays, gradgrad=True)


@pytest.mark.parametrize("kw", BLOCKS)
@pytest.mark.parametrize("batched", [True, False])
def test_fold_matches_torch_and_gradchecks(opcheck, torch, kw, batched):
    size = (6, 5)
    blocks = torch.nn.functional.unfold(torch.zeros(1, 2, *size), **kw).shape[1:]
    shape = (2, *blocks) if batched else tuple(blocks)

    def fn(L, c):
        return L.nn.functional.fold(c, size, **kw)

    arrays = opcheck.arrays([shape])
    opcheck.vs_torch(torch, fn, arrays, "float64")
    opcheck.vs_torch(torch, fn, arrays, "float32")
    # (linear: its own second derivative is 0, so square it to check the recorded backward)
    opcheck.vs_torch(torch, lambda L, c: fn(L, c).square(), arrays, "float64", second_order=True)
    opcheck.gradcheck(lambda L, c: fn(L, c).square(), arrays, gradgrad=True)


def test_fold_is_the_adjoint_of_unfold():
    """⟨unfold(x), c⟩ = ⟨x, fold(c)⟩: each is the other's transpose."""
    kw = {"kernel_size": (3, 2), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}
    x = stirpile.tensor(_x(2, 3, 7, 6))
    cols = F.unfold(x, **kw)
    c = stirpile.tensor(_x(*cols.shape, seed=1))
    lhs = (cols * c).sum().item()
    rhs = (x * F.fold(c, (7, 6), **kw)).sum().item()
    assert abs(lhs - rhs) < 1e-10 * max(1.0, abs(lhs))


# -- pad ---------------------------------------------------------------------------------
PADS = {
    "constant": [
        (1, 2),
        (2, 1, -1, 3),
        (-1, -2, 0, 1),
        (1, 1, 1, 1, 1, 1),
        (0, 0, 2, 0, 1, 1, 1, 0),
    ],
    "reflect": [(1, 2), (2, 1, -1, 3), (-1, 3, 0, 1), (3, 3, 2, 2), (-1, 3)],
    "replicate": [(1, 2), (2, 1, -1, 3), (-2, 5, 0, 1), (4, 4, 1, 0)],
    "circular": [(1, 2), (2, 1, -1, 3), (-1, 3, 0, 1), (4, 4, 2, 2), (2, -1)],
}
PAD_CASES = [(m, p) for m, ps in PADS.items() for p in ps]


@pytest.mark.parametrize("mode, amounts", PAD_CASES)
def test_pad_matches_torch_and_gradchecks(opcheck, torch, mode, amounts):
    shape = (2, 3, 5, 4) if len(amounts) > 2 or mode == "constant" else (2, 3, 4)

    def fn(L, x):
        return L.nn.functional.pad(x, amounts, mode=mode)

    arrays = opcheck.arrays([shape])
    opcheck.vs_torch(torch, fn, arrays, "float64")
    opcheck.vs_torch(torch, fn, arrays, "float32")
    # (linear: its own second derivative is 0, so square it to check the recorded backward)
    opcheck.vs_torch(torch, lambda L, x: fn(L, x).square(), arrays, "float64", second_order=True)
    opcheck.gradcheck(lambda L, x: fn(L, x).square(), arrays, gradgrad=True)


def test_pad_value_and_integer_input(torch, close):
    x = np.arange(12.0).reshape(3, 4)
    close(F.pad(stirpile.tensor(x), (1, 2, 0, 1), value=-1.5),
          torch.nn.functional.pad(torch.tensor(x), (1, 2, 0, 1), value=-1.5))  # fmt: skip
    i = np.arange(5)
    close(F.pad(stirpile.tensor(i), (1, 1), value=2.5),
          torch.nn.functional.pad(torch.tensor(i), (1, 1), value=2.5))  # fmt: skip
    y = F.pad(stirpile.ones(2, 3, dtype=stirpile.float32), [1, 1])
    assert y.dtype == stirpile.float32 and y.shape == (2, 5)


# -- errors: the same exception as PyTorch, with the same message -----------------------
def _f(lib):
    return lib.nn.functional


ERRORS = [
    lambda L, x, w: _f(L).conv2d(x, L.zeros(6, 3, 3, 3, dtype=x.dtype)),  # in-channels
    lambda L, x, w: _f(L).conv2d(x, w, groups=3),  # channels · groups
    lambda L, x, w: _f(L).conv2d(x, L.zeros(5, 2, 3, 3, dtype=x.dtype), groups=2),
    lambda L, x, w: _f(L).conv2d(x, w, groups=2, padding="same", stride=2),
    lambda L, x, w: _f(L).conv2d(x, w, groups=2, padding="foo"),
    lambda L, x, w: _f(L).conv2d(x, L.zeros(6, 2, 9, 9, dtype=x.dtype), groups=2),
    lambda L, x, w: _f(L).conv2d(x, w, groups=2, dilation=4),  # dilated kernel too big
    lambda L, x, w: _f(L).conv2d(x[0, 0], w, groups=2),
    lambda L, x, w: _f(L).conv2d(x, w, L.zeros(5, dtype=x.dtype), groups=2),
    lambda L, x, w: _f(L).conv2d(x, w, groups=2, stride=0),
    lambda L, x, w: _f(L).conv2d(x, w, groups=2, padding=-1),
    lambda L, x, w: _f(L).conv2d(x, w, groups=2, dilation=0),
    lambda L, x, w: _f(L).conv2d(x, w, groups=0),
    lambda L, x, w: _f(L).conv2d(x, w, groups=2, stride=(1, 2, 3)),
    lambda L, x, w: _f(L).conv1d(x, w[..., 0]),
    lambda L, x, w: _f(L).conv1d(x[0], w[..., 0]),
    lambda L, x, w: _f(L).unfold(x, 9),
    lambda L, x, w: _f(L).unfold(x, 3, stride=0),
    lambda L, x, w: _f(L).unfold(x, 3, padding=-1),
    lambda L, x, w: _f(L).fold(L.zeros(2, 26, 36, dtype=x.dtype), (8, 8), 3),
    lambda L, x, w: _f(L).fold(L.zeros(2, 27, 35, dtype=x.dtype), (8, 8), 3),
    lambda L, x, w: _f(L).fold(x, (8, 8), 3),
    lambda L, x, w: _f(L).pad(x, (1, 2, 3)),
    lambda L, x, w: _f(L).pad(x, (1,) * 10),
    lambda L, x, w: _f(L).pad(x, (1, 2), mode="reflect"),
    lambda L, x, w: _f(L).pad(x[0, 0, 0], (1, 1), mode="replicate"),
    lambda L, x, w: _f(L).pad(x[0], (8, 2), mode="reflect"),
    lambda L, x, w: _f(L).pad(x[0], (9, 2), mode="circular"),
    lambda L, x, w: _f(L).pad(x, (-5, -4)),
    lambda L, x, w: _f(L).pad(x, (1, 1), mode="foo"),
    lambda L, x, w: _f(L).pad(x, (1, 1, 1, 1), mode="reflect", value=2.0),
    lambda L, x, w: L.nn.Conv2d(4, 6, 3, groups=4),
    lambda L, x, w: L.nn.Conv2d(3, 6, 3, groups=2),
    lambda L, x, w: L.nn.Conv2d(4, 6, 3, groups=0),
    lambda L, x, w: L.nn.Conv2d(4, 6, 3, padding="full"),
    lambda L, x, w: L.nn.Conv2d(4, 6, 3, padding="same", stride=2),
    lambda L, x, w: L.nn.Conv1d(4, 6, 3, padding_mode="mirror"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(torch, case):
    fn = ERRORS[case]
    x, w = _x(2, 4, 8, 8), _x(6, 2, 3, 3, seed=1)
    with pytest.raises(Exception) as theirs:
        fn(torch, torch.tensor(x), torch.tensor(w))
    with pytest.raises(type(theirs.value)) as ours:
        fn(stirpile, stirpile.tensor(x), stirpile.tensor(w))
    assert _sets_sorted(str(ours.value)) == _sets_sorted(str(theirs.value))


def _sets_sorted(message):
    """A message with each printed set's items sorted (a set prints in hash order, which
    can differ between two equal sets built differently)."""
    return re.sub(r"\{([^{}]*)\}", lambda m: str(sorted(m.group(1).split(", "))), message)


def test_dtype_mismatch_and_weight_rank_errors():
    x = stirpile.zeros(2, 4, 8, 8)
    with pytest.raises(RuntimeError, match=r"float32.*float64"):
        F.conv2d(x, stirpile.zeros(6, 4, 3, 3, dtype=stirpile.float64))
    with pytest.raises(RuntimeError, match=r"weight of size \[6, 4, 3\]"):
        F.conv2d(x, stirpile.zeros(6, 4, 3))


def test_same_padding_with_even_kernel_warns_as_torch():
    with pytest.warns(UserWarning, match="padding='same' with even kernel"):
        F.conv2d(stirpile.zeros(1, 1, 5, 5), stirpile.zeros(1, 1, 2, 2), padding="same")
