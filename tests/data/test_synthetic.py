"""Synthetic data sets: shapes, determinism, and the properties the labs rely on."""

from __future__ import annotations

import numpy as np
import pytest

from stirpile.data.datasets import blobs, linear_teacher, linearly_separable, moons, spirals, xor

CLASSIFIERS = {
    "spirals": lambda seed: spirals(n=101, seed=seed),
    "moons": lambda seed: moons(n=101, seed=seed),
    "blobs": lambda seed: blobs(n=101, centers=4, dim=3, seed=seed),
    "xor": lambda seed: xor(n=101, seed=seed),
    "separable": lambda seed: linearly_separable(n=101, dim=5, seed=seed),
}


def _lstsq_accuracy(X: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the least-squares linear classifier (with bias) on ±1 targets."""
    A = np.hstack([X.astype(np.float64), np.ones((len(X), 1))])
    t = np.where(y > 0, 1.0, -1.0)
    w, *_ = np.linalg.lstsq(A, t, rcond=None)
    return float(np.mean(np.sign(A @ w) == t))


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_shapes_dtypes_and_determinism(name):
    X, y = CLASSIFIERS[name](0)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.ndim == 2 and X.shape[0] == 101 and y.shape == (101,)
    assert np.all(np.isfinite(X))
    X2, y2 = CLASSIFIERS[name](0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = CLASSIFIERS[name](1)
    assert not np.array_equal(X, X3)


@pytest.mark.parametrize("name", ["spirals", "moons", "blobs"])
def test_balanced_and_shuffled(name):
    _, y = CLASSIFIERS[name](0)
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1
    assert len(np.unique(y[:20])) > 1  # shuffled: a prefix mixes classes


def test_blobs_given_centers_and_std():
    C = np.array([[0.0, 0.0], [50.0, 50.0]])
    X, y = blobs(n=2000, centers=C, std=0.5, seed=3)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(0), C[k], atol=0.1)
        np.testing.assert_allclose(X[y == k].std(0), 0.5, rtol=0.1)


def test_spirals_arms_are_half_a_turn_apart():
    X, y = spirals(n=400, noise=0.0, seed=0, turns=1.0)
    r = np.linalg.norm(X, axis=1)
    assert r.max() <= 1.0 + 1e-6
    angle = np.arctan2(X[:, 1], X[:, 0])
    # noise-free: angle = 2π·turns·r + π·y (mod 2π)
    diff = np.angle(np.exp(1j * (angle - 2 * np.pi * r - np.pi * y)))
    np.testing.assert_allclose(diff, 0.0, atol=1e-4)


def test_nonlinear_sets_not_linearly_separable():
    assert _lstsq_accuracy(*xor(n=400, noise=0.1, seed=0)) < 0.8
    assert _lstsq_accuracy(*spirals(n=400, noise=0.0, seed=0)) < 0.8


def test_xor_labels_follow_quadrants_when_noise_is_small():
    X, y = xor(n=200, noise=0.05, seed=0)
    np.testing.assert_array_equal(y, ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64))


def test_linearly_separable_with_margin():
    X, y, w = linearly_separable(n=500, dim=7, margin=0.25, seed=4, return_w=True)
    assert set(np.unique(y)) == {-1, 1}
    assert np.isclose(np.linalg.norm(w), 1.0)
    margins = y * (X.astype(np.float64) @ w)
    assert margins.min() >= 0.25 - 1e-5
    # return_w only adds w: the data are the same
    X2, y2 = linearly_separable(n=500, dim=7, margin=0.25, seed=4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert _lstsq_accuracy(X, y) > 0.95


@pytest.mark.parametrize(
    ("n_in", "n_out", "s", "n"),
    [(8, 5, [3.0, 2.0, 1.0, 0.5], None), (4, 6, [0.1, 5.0], 4), (10, 10, [1.0] * 10, 200)],
)
def test_linear_teacher(n_in, n_out, s, n):
    t = linear_teacher(n_in, n_out, s, n=n, seed=2)
    n = 10 * n_in if n is None else n
    k = len(s)
    assert t.X.shape == (n, n_in) and t.Y.shape == (n, n_out) and t.W.shape == (n_out, n_in)
    assert t.U.shape == (n_out, k) and t.V.shape == (n_in, k) and t.s.shape == (k,)
    assert all(a.dtype == np.float32 for a in t)
    np.testing.assert_array_equal(t.s, np.float32(s))
    # singular values of W are exactly the requested ones (then zeros)
    sv = np.linalg.svd(t.W.astype(np.float64), compute_uv=False)
    expected = np.zeros(min(n_in, n_out))
    expected[:k] = sorted(s, reverse=True)
    np.testing.assert_allclose(sv, expected, atol=1e-5)
    np.testing.assert_allclose(t.U.T @ t.U, np.eye(k), atol=1e-5)
    np.testing.assert_allclose(t.V.T @ t.V, np.eye(k), atol=1e-5)
    np.testing.assert_allclose((t.U * t.s) @ t.V.T, t.W, atol=1e-5)
    # white inputs, and (noise-free) the input-output correlation is W
    X = t.X.astype(np.float64)
    np.testing.assert_allclose(X.T @ X / n, np.eye(n_in), atol=1e-5)
    np.testing.assert_allclose(t.Y.astype(np.float64).T @ X / n, t.W, atol=1e-5)


def test_linear_teacher_noise_and_determinism():
    a = linear_teacher(6, 3, [2.0, 1.0], noise=0.5, seed=7)
    b = linear_teacher(6, 3, [2.0, 1.0], noise=0.5, seed=7)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    resid = a.Y - a.X @ a.W.T
    assert 0.4 < resid.std() < 0.6


def test_linear_teacher_validation():
    with pytest.raises(ValueError, match="singular values"):
        linear_teacher(3, 2, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        linear_teacher(3, 2, [-1.0])
