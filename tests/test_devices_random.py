"""Devices, generators and the small names of PyTorch's API that real programs use."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import stirpile

torch = pytest.importorskip("torch")


# -- devices -------------------------------------------------------------------------------


def test_device_objects_like_torch():
    for spec in ("cpu", "cuda", "cuda:1", "mps"):
        ours, theirs = stirpile.device(spec), torch.device(spec)
        assert (repr(ours), str(ours), ours.type, ours.index) == (
            repr(theirs), str(theirs), theirs.type, theirs.index)  # fmt: skip
    assert stirpile.device("cuda", 0) == stirpile.device("cuda:0")
    assert stirpile.device("cpu") != stirpile.device("cuda")
    assert pickle.loads(pickle.dumps(stirpile.device("cuda:2"))) == stirpile.device("cuda:2")
    for bad in ("foo", "cuda:x"):
        with pytest.raises(RuntimeError):
            torch.device(bad)
        with pytest.raises(RuntimeError):
            stirpile.device(bad)


def test_the_usual_device_idiom_picks_the_cpu():
    L = stirpile
    device = L.device("cuda" if L.cuda.is_available() else "cpu")
    assert not L.cuda.is_available() and L.cuda.device_count() == 0
    assert not L.backends.mps.is_available() and not L.accelerator.is_available()
    assert L.accelerator.current_accelerator() is None
    L.backends.cudnn.deterministic = True  # accepted, as real training scripts set it
    L.cuda.manual_seed_all(0)
    model = L.nn.Linear(3, 2).to(device)
    x = L.randn(4, 3, device=device).to(device)
    assert model(x).device == L.device("cpu") and x.device.type == "cpu"
    assert next(model.parameters()).device == device


@pytest.mark.parametrize(
    "make",
    [
        lambda L, d: L.zeros(2, device=d),
        lambda L, d: L.ones(2, 3, device=d),
        lambda L, d: L.tensor([1.0], device=d),
        lambda L, d: L.arange(3, device=d),
        lambda L, d: L.randn(2, device=d),
        lambda L, d: L.full((2,), 1.0, device=d),
        lambda L, d: L.eye(2, device=d),
        lambda L, d: L.zeros(2).to(d),
        lambda L, d: L.zeros(2).cuda() if d == "cuda" else L.zeros(2).cpu(),
        lambda L, d: L.nn.Linear(2, 2).cuda() if d == "cuda" else L.nn.Linear(2, 2).cpu(),
        lambda L, d: L.nn.Linear(2, 2).to(d),
    ],
)
def test_an_unavailable_device_is_an_error_naming_it(make):
    make(stirpile, "cpu")
    with pytest.raises(RuntimeError, match="'cuda'"):
        make(stirpile, "cuda")


def test_to_with_device_dtype_or_both():
    t = stirpile.tensor([1.5, 2.5], requires_grad=True)
    assert t.to("cpu") is t and t.to(stirpile.device("cpu")) is t
    d = t.to("cpu", stirpile.float64)
    assert d.dtype == stirpile.float64 and d.requires_grad
    assert t.to(device="cpu", dtype=stirpile.float64, non_blocking=True).dtype == stirpile.float64
    assert t.to(stirpile.zeros(1, dtype=stirpile.float64)).dtype == stirpile.float64
    assert t.to("cpu", copy=True) is not t
    d.sum().backward()
    assert t.grad.tolist() == [1.0, 1.0]
    m = stirpile.nn.Linear(2, 2).to("cpu", stirpile.float64)
    assert m.weight.dtype == stirpile.float64
    assert m.to(dtype=stirpile.float32).weight.dtype == stirpile.float32


def test_default_device_and_dtype():
    stirpile.set_default_device("cpu")
    stirpile.set_default_device(None)
    assert stirpile.get_default_device() == stirpile.device("cpu")
    with pytest.raises(RuntimeError, match="'cuda'"):
        stirpile.set_default_device("cuda")
    stirpile.set_default_dtype(stirpile.float64)
    try:
        assert stirpile.tensor([1.0]).dtype == stirpile.float64
        assert stirpile.Tensor(2).dtype == stirpile.float64
    finally:
        stirpile.set_default_dtype(stirpile.float32)


# -- generators ----------------------------------------------------------------------------


def _draws(g):
    return [
        stirpile.rand(3, generator=g),
        stirpile.randn(2, 2, generator=g),
        stirpile.randint(0, 10, (4,), generator=g),
        stirpile.randperm(5, generator=g),
        stirpile.normal(0.0, 1.0, (3,), generator=g),
        stirpile.normal(stirpile.zeros(3), stirpile.ones(3), generator=g),
        stirpile.multinomial(stirpile.tensor([0.2, 0.8]), 4, replacement=True, generator=g),
        stirpile.bernoulli(stirpile.full((5,), 0.5), generator=g),
        stirpile.empty(3).uniform_(generator=g),
        stirpile.empty(3).normal_(generator=g),
    ]


def _same(a, b):
    return all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a, b))


def test_generator_seeds_every_random_function():
    a = _draws(stirpile.Generator().manual_seed(7))
    b = _draws(stirpile.Generator().manual_seed(7))
    c = _draws(stirpile.Generator().manual_seed(8))
    assert _same(a, b) and not _same(a, c)


def test_a_generator_does_not_touch_the_default_one():
    stirpile.manual_seed(3)
    first = stirpile.rand(4)
    stirpile.manual_seed(3)
    _draws(stirpile.Generator().manual_seed(1))
    assert np.array_equal(stirpile.rand(4).numpy(), first.numpy())


def test_manual_seed_resets_the_default_generator_and_returns_it():
    g = stirpile.manual_seed(5)
    assert g is stirpile.default_generator and g.initial_seed() == 5
    a = _draws(None)
    stirpile.manual_seed(5)
    assert _same(a, _draws(None))
    assert stirpile.initial_seed() == 5


def test_generator_state_round_trip():
    g = stirpile.Generator().manual_seed(11)
    stirpile.rand(3, generator=g)
    state = g.get_state()
    assert state.dtype == stirpile.uint8 and state.ndim == 1  # a ByteTensor, as PyTorch's
    x = stirpile.rand(5, generator=g)
    g.set_state(state)
    assert np.array_equal(stirpile.rand(5, generator=g).numpy(), x.numpy())
    s = stirpile.get_rng_state()
    y = stirpile.randn(3)
    stirpile.set_rng_state(s)
    assert np.array_equal(stirpile.randn(3).numpy(), y.numpy())
    with stirpile.fork_rng():
        stirpile.randn(10)
    assert not np.array_equal(stirpile.randn(3).numpy(), y.numpy())
    with pytest.raises(RuntimeError, match="uint8"):
        g.set_state(stirpile.zeros(3))


def test_seed_errors_like_torch():
    for L in (stirpile, torch):
        with pytest.raises(RuntimeError):
            L.Generator().manual_seed(1.5)
        with pytest.raises(ValueError):
            L.Generator().manual_seed(2**64)
        assert L.Generator().manual_seed(-1).initial_seed() == 2**64 - 1
    with pytest.raises(TypeError, match="Generator"):
        stirpile.randn(2, generator=3)


def test_normal_overloads_shapes_like_torch():
    cases = [
        lambda L: L.normal(L.zeros(2, 3), L.ones(2, 3)),
        lambda L: L.normal(L.zeros(2, 1), 1.0),
        lambda L: L.normal(2.0, L.ones(3)),
        lambda L: L.normal(0.0, 1.0, size=(4, 2)),
        lambda L: L.normal(L.zeros(3, 1), L.ones(1, 4)),
    ]
    for case in cases:
        ours, theirs = case(stirpile), case(torch)
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype)[6:]


def test_distributions_are_right():
    """Many draws: the empirical moments and frequencies match the asked-for distribution
    (a generator that ignored ``mean``/``std``/``p`` would fail)."""
    g = stirpile.Generator().manual_seed(0)
    z = stirpile.normal(stirpile.full((200_000,), 3.0), stirpile.full((200_000,), 2.0), generator=g)
    assert abs(z.mean().item() - 3.0) < 0.02 and abs(z.std().item() - 2.0) < 0.02
    p = stirpile.tensor([0.1, 0.6, 0.3])
    draws = stirpile.multinomial(p, 100_000, replacement=True, generator=g)
    freq = np.bincount(draws.numpy(), minlength=3) / 100_000
    np.testing.assert_allclose(freq, p.numpy(), atol=0.01)
    no_repeat = stirpile.multinomial(stirpile.ones(2, 6), 6, generator=g)
    assert all(sorted(row) == list(range(6)) for row in no_repeat.tolist())
    b = stirpile.bernoulli(stirpile.full((100_000,), 0.25), generator=g)
    assert abs(b.mean().item() - 0.25) < 0.01


def test_random_errors_like_torch():
    for L in (stirpile, torch):
        with pytest.raises(RuntimeError):
            L.multinomial(L.tensor([0.5, 0.5]), 3)  # more than there are, without replacement
        with pytest.raises(RuntimeError):
            L.multinomial(L.tensor([-1.0, 2.0]), 1)
        with pytest.raises(RuntimeError):
            L.normal(L.zeros(2), L.tensor([1.0, -1.0]))
        with pytest.raises(RuntimeError):
            L.bernoulli(L.tensor([1.5]))
        with pytest.raises(RuntimeError):
            L.arange(0, 5, -1)
        with pytest.raises(RuntimeError):
            L.arange(0, 5, 0)


# -- small names ---------------------------------------------------------------------------


def test_format_like_torch():
    for L in (stirpile, torch):
        t = L.tensor(1.23456)
        assert f"{t:.2f}" == "1.23" and f"{t:+.1f}" == "+1.2"
        assert f"{L.tensor(3):03d}" == "003"
        with pytest.raises(TypeError):
            f"{L.tensor([1.0, 2.0]):.2f}"


def test_legacy_types_like_torch():
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "ByteTensor",
                 "BoolTensor", "HalfTensor"):  # fmt: skip
        ours, theirs = getattr(stirpile, name)([1, 0]), getattr(torch, name)([1, 0])
        assert ours.type() == theirs.type() and ours.tolist() == theirs.tolist()
        assert isinstance(ours, getattr(stirpile, name))
        assert getattr(stirpile, name)(2, 3).shape == (2, 3)
    assert stirpile.LongTensor([1.7, -2.2]).tolist() == torch.LongTensor([1.7, -2.2]).tolist()
    t = stirpile.tensor([1.5])
    assert t.type(stirpile.LongTensor).dtype == stirpile.int64
    assert t.type("torch.DoubleTensor").dtype == stirpile.float64
    assert t.type(stirpile.float64).dtype == stirpile.float64
    assert not isinstance(stirpile.tensor([1]), stirpile.FloatTensor)
    with pytest.raises(TypeError):
        stirpile.FloatTensor(2.5)


def test_tensor_constructor_like_torch():
    for args in [(2, 3), ([1, 2],), ([[1.5], [2.5]],), ()]:
        ours, theirs = stirpile.Tensor(*args), torch.Tensor(*args)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == stirpile.float32
        if theirs.numel() and args and not isinstance(args[0], int):
            assert ours.tolist() == theirs.tolist()
    base = stirpile.zeros(3)
    assert stirpile.Tensor(base).numpy() is base.numpy() or np.shares_memory(
        stirpile.Tensor(base).numpy(), base.numpy())  # fmt: skip
    with pytest.raises(TypeError):
        stirpile.Tensor(2.5)


def test_nelement_and_friends():
    t = stirpile.zeros(2, 3, dtype=stirpile.float64)
    assert t.nelement() == 6 == t.numel() and t.element_size() == 8
    assert t.is_floating_point() and not t.is_cuda and t.get_device() == -1
    for L in (stirpile, torch):
        x = L.tensor([1.0, 100.0, 8.0])
        assert np.allclose(L.log10(x).numpy(), [0, 2, np.log10(8)])
        assert np.allclose(L.log2(x).numpy(), np.log2([1, 100, 8]))


def test_array_protocol_copies_when_asked():
    t = stirpile.zeros(3)
    assert np.shares_memory(np.asarray(t), t.numpy())
    snapshot = np.array(t)  # NumPy 2: np.array copies
    t.add_(1)
    assert snapshot.tolist() == [0.0, 0.0, 0.0]
    assert not np.shares_memory(np.asarray(t, copy=True), t.numpy())
    with pytest.raises(ValueError):
        np.asarray(t, dtype=np.float64, copy=False)


def test_bool_subtraction_refused_like_torch():
    for L in (stirpile, torch):
        b, i = L.tensor([True]), L.tensor([1])
        for left, right in ((b, 1), (2, b), (b, b), (i, True), (i, b)):
            with pytest.raises(RuntimeError, match="Subtraction"):
                left - right
        assert (i - 1).tolist() == [0]
