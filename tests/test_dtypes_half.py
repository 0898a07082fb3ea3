"""Half precision: float16 tensors (conversion, arithmetic, promotion, gradients), the
bfloat16 emulation (float32 values rounded exactly as torch rounds: ties, inf, nan,
subnormals, overflow) and the ``new_*`` factories."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile

torch = pytest.importorskip("torch")


def _bits_f32(values):
    return np.asarray(values, np.float32).view(np.uint32)


def _special_float32():
    """Values where rounding to 16 bits is delicate: exact ties (both parities), just
    above and below them, the float32 and bfloat16 extremes, subnormals, zeros, inf, nan."""
    rng = np.random.default_rng(0)
    hi = rng.integers(0, 2**16, 4000, dtype=np.uint32) << 16
    ties = hi | 0x8000  # exactly halfway between two bfloat16 values
    near = np.concatenate([ties - 1, ties + 1, hi | rng.integers(0, 2**16, 4000, dtype=np.uint32)])
    extremes = _bits_f32([3.4028235e38, -3.4028235e38, 3.3895314e38, 1e-45, -1e-45, 1.17549435e-38,
                          9.1835e-41, 0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, 65504.0, 65520.0,
                          6.1e-5, 5.96e-8, 2.98e-8])  # fmt: skip
    bits = np.concatenate([hi, ties, near, extremes]).astype(np.uint32)
    return bits.view(np.float32)


def test_bfloat16_rounds_bit_for_bit_like_torch():
    values = _special_float32()
    ours = stirpile.tensor(values).bfloat16().numpy()
    theirs = torch.tensor(values).bfloat16().float().numpy()
    assert ours.dtype == np.float32
    nan = np.isnan(theirs)
    assert (np.isnan(ours) == nan).all()
    assert (ours.view(np.uint32)[~nan] == theirs.view(np.uint32)[~nan]).all()


def test_bfloat16_of_float64_rounds_through_float32_like_torch():
    rng = np.random.default_rng(1)
    f32 = _special_float32()
    with np.errstate(invalid="ignore"):  # (signalling nan bit patterns among the values)
        wide = f32.astype(np.float64) * (1 + rng.uniform(-1e-9, 1e-9, f32.size))
    values = np.concatenate([wide, 1.0 + 2.0**-8 + np.array([2.0**-30, -(2.0**-30), 0.0])])
    ours = stirpile.tensor(values, dtype=stirpile.float64).bfloat16().numpy()
    theirs = torch.tensor(values, dtype=torch.float64).bfloat16().float().numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_bfloat16_dtype_object_and_conversions():
    assert repr(stirpile.bfloat16) == "stirpile.bfloat16"
    x = stirpile.tensor([1.00390625, 1.01171875, 3.0e38])
    expected = torch.tensor([1.00390625, 1.01171875, 3.0e38]).bfloat16().float().tolist()
    assert x.to(stirpile.bfloat16).tolist() == expected
    assert x.to(dtype=stirpile.bfloat16).tolist() == expected
    assert stirpile.tensor([1.00390625, 1.01171875, 3.0e38], dtype=stirpile.bfloat16).tolist() \
        == expected  # fmt: skip
    assert stirpile.zeros(2, dtype=stirpile.bfloat16).dtype == stirpile.float32  # (emulated)
    assert stirpile.tensor([1, 3]).bfloat16().tolist() == [1.0, 3.0]


def test_bfloat16_gradient_is_the_rounded_upstream_gradient():
    x = stirpile.tensor([1.5, -2.25], dtype=stirpile.float64, requires_grad=True)
    t = torch.tensor([1.5, -2.25], dtype=torch.float64, requires_grad=True)
    g = [1.00390625, 1.01171875]
    x.bfloat16().backward(stirpile.tensor(g))
    t.bfloat16().backward(torch.tensor(g, dtype=torch.bfloat16))
    assert x.grad.dtype == stirpile.float64
    assert x.grad.tolist() == t.grad.tolist()


def test_half_conversion_matches_torch():
    values = _special_float32()
    ours = stirpile.tensor(values).half().numpy()
    theirs = torch.tensor(values).half().numpy()
    assert ours.dtype == np.float16
    nan = np.isnan(theirs)
    assert (np.isnan(ours) == nan).all()
    assert (ours.view(np.uint16)[~nan] == theirs.view(np.uint16)[~nan]).all()
    tie = 1.0 + 2.0**-11 + 2.0**-40  # float64 → float16 rounds through float32, as torch
    assert stirpile.tensor([tie], dtype=stirpile.float64).half().tolist() == \
        torch.tensor([tie], dtype=torch.float64).half().tolist()  # fmt: skip
    assert stirpile.tensor([1, 2]).half().dtype == stirpile.float16 == stirpile.half


FLOAT16_OPS = [
    ("add_scalar", lambda L, x, y: x + 1.5),
    ("mul", lambda L, x, y: x * y),
    ("div", lambda L, x, y: x / (y.abs() + 1)),
    ("exp", lambda L, x, y: (x * 0.5).exp()),
    ("tanh", lambda L, x, y: x.tanh() * y),
    ("sigmoid", lambda L, x, y: x.sigmoid()),
    ("sum", lambda L, x, y: (x * y).sum(1)),
    ("erf", lambda L, x, y: L.erf(x)),
    ("floor", lambda L, x, y: x.floor() + y),
    ("cumsum", lambda L, x, y: x.cumsum(1)),
    ("sort", lambda L, x, y: x.sort(1).values),
    ("clamp_min", lambda L, x, y: x.clamp_min(0.1)),
]


@pytest.mark.parametrize(("name", "fn"), FLOAT16_OPS, ids=[c[0] for c in FLOAT16_OPS])
def test_float16_ops_and_gradients_match_torch(close, name, fn):
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal((3, 4)).astype(np.float16) for _ in range(2))
    x, y = (stirpile.tensor(v, requires_grad=True) for v in (a, b))
    t, u = (torch.tensor(v, requires_grad=True) for v in (a, b))
    out, expected = fn(stirpile, x, y), fn(torch, t, u)
    close(out, expected, rtol=2e-3, atol=2e-3)
    w = rng.standard_normal(expected.shape).astype(np.float16)
    out.backward(stirpile.tensor(w))
    expected.backward(torch.tensor(w))
    for ours, theirs in ((x, t), (y, u)):
        if theirs.grad is None:
            assert ours.grad is None or not ours.grad.numpy().any()
        else:
            assert ours.grad.dtype == stirpile.float16
            close(ours.grad, theirs.grad, rtol=2e-3, atol=2e-3)


def test_float16_promotion_like_torch(close):
    h = [1.5, -2.0]
    cases = [
        lambda L: L.tensor(h, dtype=L.float16) + L.tensor(h),
        lambda L: L.tensor(h, dtype=L.float16) * 2.5,
        lambda L: L.tensor(h, dtype=L.float16) + L.tensor([1, 2]),
        lambda L: L.tensor(h, dtype=L.float16) * L.tensor(2.0, dtype=L.float64),
        lambda L: L.tensor([1, 2]).half() / 3,
    ]
    for fn in cases:
        close(fn(stirpile), fn(torch), rtol=1e-3, atol=1e-3)


# -- new_* ---------------------------------------------------------------------------------


def _lib(x):
    return torch if isinstance(x, torch.Tensor) else stirpile


NEW = [
    ("new_zeros", lambda x: x.new_zeros(2, 3)),
    ("new_zeros_tuple", lambda x: x.new_zeros((2,))),
    ("new_ones_dtype", lambda x: x.new_ones([2], dtype=_lib(x).long)),
    ("new_full", lambda x: x.new_full((2, 2), 3)),
    ("new_full_list", lambda x: x.new_full([3], 1.5)),
    ("new_empty_shape", lambda x: x.new_empty(0, 2).shape),
    ("new_tensor_ints", lambda x: x.new_tensor([1, 2])),
    ("new_tensor_scalar", lambda x: x.new_tensor(3)),
    ("new_tensor_nested", lambda x: x.new_tensor([[1.5], [2.5]])),
]  # fmt: skip


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16"])
@pytest.mark.parametrize(("name", "fn"), NEW, ids=[c[0] for c in NEW])
def test_new_factories_match_torch(close, name, fn, dtype):
    ours = fn(stirpile.tensor([1.0, 2.0], dtype=getattr(stirpile, dtype)))
    theirs = fn(torch.tensor([1.0, 2.0], dtype=getattr(torch, dtype)))
    if name.endswith("shape"):
        assert tuple(ours) == tuple(theirs)
    else:
        close(ours, theirs)


def test_new_factories_options_and_errors():
    x = stirpile.tensor([1.0, 2.0])
    z = x.new_zeros(2, requires_grad=True)
    assert z.requires_grad and z.is_leaf
    assert x.long().new_tensor([1.5]).tolist() == [1]
    assert x.new_ones(2, dtype=stirpile.bool).tolist() == [True, True]
    t = x.new_tensor(stirpile.tensor([3, 4]))
    assert t.dtype == stirpile.float32 and not t.requires_grad
    assert x.new_full((1,), 1.00390625, dtype=stirpile.bfloat16).tolist() == [1.0]
    with pytest.raises(TypeError, match="tuple of ints"):
        x.new_full(2, 1.0)
    with pytest.raises(TypeError, match="size"):
        x.new_zeros()
