"""Initializers: the statistics the lectures' formulas predict (Xavier
var = 2/(n_in + n_out), He var = 2/n_in, times gain²), uniform bounds, PyTorch's gains
and fans, in-place semantics and the global generator."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stirpile
from stirpile import nn
from stirpile.nn import init

SHAPES = [(400, 300), (256, 64), (50, 800), (32, 16, 3, 3)]


def _fans(shape):
    rf = math.prod(shape[2:])
    return shape[1] * rf, shape[0] * rf


def _stats(t):
    a = t.detach().numpy()
    return a, float(a.mean()), float(a.std())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 5 / 3, math.sqrt(2)])
def test_xavier(shape, gain):
    stirpile.manual_seed(0)
    fan_in, fan_out = _fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    a, mean, s = _stats(init.xavier_normal_(stirpile.empty(*shape), gain=gain))
    assert abs(mean) < 0.05 * std and abs(s / std - 1) < 0.03
    a, mean, s = _stats(init.xavier_uniform_(stirpile.empty(*shape), gain=gain))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.99 * bound
    assert abs(mean) < 0.05 * std and abs(s / std - 1) < 0.03


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "mode,nonlinearity,a",
    [
        ("fan_in", "relu", 0),
        ("fan_out", "relu", 0),
        ("fan_in", "leaky_relu", 0.2),
        ("fan_in", "leaky_relu", math.sqrt(5)),
        ("fan_out", "tanh", 0),
        ("fan_in", "linear", 0),
    ],
)
def test_kaiming(shape, mode, nonlinearity, a):
    stirpile.manual_seed(1)
    fan_in, fan_out = _fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = init.calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    if nonlinearity == "relu":
        assert std**2 == pytest.approx(2 / fan)  # the lecture's He: var = 2 / n_in
    w = stirpile.empty(*shape)
    _, mean, s = _stats(init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlinearity))
    assert abs(mean) < 0.05 * std and abs(s / std - 1) < 0.03
    arr, mean, s = _stats(init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity))
    bound = math.sqrt(3.0) * std
    assert np.abs(arr).max() <= bound and np.abs(arr).max() > 0.99 * bound
    assert abs(mean) < 0.05 * std and abs(s / std - 1) < 0.03


def test_calculate_gain_matches_torch(torch):
    names = [
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
        "tanh",
        "relu",
        "selu",
        "leaky_relu",
    ]
    for name in names:
        assert init.calculate_gain(name) == torch.nn.init.calculate_gain(name), name
    for slope in [0, 0.01, 0.2, 1, math.sqrt(5)]:
        assert init.calculate_gain("leaky_relu", slope) == torch.nn.init.calculate_gain(
            "leaky_relu", slope
        )
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 4), (5, 3, 2, 2), (7, 1, 9)])
def test_fans_match_torch(torch, shape):
    ours = init._calculate_fan_in_and_fan_out(stirpile.empty(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fan_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(stirpile.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(stirpile.empty(3, 3), mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(stirpile.empty(0, 3))


def test_simple_fills_and_in_place_semantics():
    lin = nn.Linear(3, 4)
    w = lin.weight
    assert init.constant_(w, 0.5) is w  # returns the same tensor, filled in place
    assert (w.detach().numpy() == 0.5).all()
    assert w.requires_grad and w.grad_fn is None  # no graph recorded, still a parameter
    assert not init.zeros_(stirpile.empty(2, 2)).numpy().any()
    assert (init.ones_(stirpile.empty(2, 2)).numpy() == 1).all()
    np.testing.assert_array_equal(init.eye_(stirpile.empty(3, 5)).numpy(), np.eye(3, 5))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(stirpile.empty(3))
    stirpile.manual_seed(0)
    u = init.uniform_(stirpile.empty(10_000), -2.0, 3.0).numpy()
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.05
    n = init.normal_(stirpile.empty(10_000), 1.0, 0.5).numpy()
    assert abs(n.mean() - 1) < 0.02 and abs(n.std() - 0.5) < 0.02
    t = init.trunc_normal_(stirpile.empty(10_000), 0.0, 1.0, -1.0, 2.0).numpy()
    assert t.min() >= -1 and t.max() <= 2 and (t < -0.9).any()
    assert init.uniform_(stirpile.empty(3, dtype=stirpile.float64)).dtype == stirpile.float64


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3)])
def test_orthogonal(shape):
    stirpile.manual_seed(0)
    w = init.orthogonal_(stirpile.empty(*shape, dtype=stirpile.float64), gain=2.0).numpy()
    m = w.reshape(shape[0], -1)
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)


def test_generator_and_reproducibility():
    stirpile.manual_seed(42)
    a = init.kaiming_uniform_(stirpile.empty(4, 4)).numpy().copy()
    stirpile.manual_seed(42)
    b = init.kaiming_uniform_(stirpile.empty(4, 4)).numpy().copy()
    np.testing.assert_array_equal(a, b)
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    c = init.xavier_normal_(stirpile.empty(3, 3), generator=g1).numpy()
    d = init.xavier_normal_(stirpile.empty(3, 3), generator=g2).numpy()
    np.testing.assert_array_equal(c, d)
    # the same seed gives the same model
    stirpile.manual_seed(3)
    m1 = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    stirpile.manual_seed(3)
    m2 = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_apply_custom_init():
    """The usual pattern: ``model.apply(fn)`` re-initializes every Linear."""
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))

    def fn(m):
        if isinstance(m, nn.Linear):
            init.xavier_uniform_(m.weight)
            init.zeros_(m.bias)

    assert model.apply(fn) is model
    assert not model[0].bias.detach().numpy().any() and not model[2].bias.detach().numpy().any()
