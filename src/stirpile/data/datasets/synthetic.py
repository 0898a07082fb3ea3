"""Small synthetic data sets for the labs, deterministic given ``seed``.

Every generator draws from ``np.random.default_rng(seed)`` only, so the same
arguments always give the same arrays. Inputs are float32; class labels are
int64. Rows are shuffled so that any slice mixes the classes.

=======================  ===============================  =====================
generator                inputs ``X``                     targets
=======================  ===============================  =====================
``spirals``              ``(n, 2)``                       ``y`` in {0, 1}
``moons``                ``(n, 2)``                       ``y`` in {0, 1}
``blobs``                ``(n, dim)``                     ``y`` in {0..k-1}
``xor``                  ``(n, 2)``                       ``y`` in {0, 1}
``linearly_separable``   ``(n, dim)``                     ``y`` in {-1, +1}
``linear_teacher``       ``(n, n_in)``, white             ``Y (n, n_out)``
=======================  ===============================  =====================

Example::

    >>> X, y = spirals(n=100, noise=0.1, seed=0)
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((100, 2), dtype('float32'), (100,), dtype('int64'))
    >>> bool((spirals(n=100, seed=0)[0] == X).all())   # same seed, same data
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["Teacher", "blobs", "linear_teacher", "linearly_separable", "moons", "spirals", "xor"]


def _split(n: int, k: int) -> np.ndarray:
    """Labels for ``n`` points in ``k`` classes as equal as possible."""
    return np.arange(n, dtype=np.int64) % k


def _shuffled(
    rng: np.random.Generator, X: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    perm = rng.permutation(len(X))
    return X[perm].astype(np.float32), y[perm].astype(np.int64)


def spirals(
    n: int = 200, noise: float = 0.1, seed: int = 0, turns: float = 1.5
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals in the plane (binary classification).

    A point at parameter ``t`` in [0, 1] of class ``c`` lies at radius ``t``
    and angle ``2π·turns·t + π·c``: the second arm is the first rotated by
    half a turn. Gaussian noise of std ``noise`` is added to the coordinates.

    Returns:
        ``X`` float32 ``(n, 2)``, ``y`` int64 ``(n,)`` in {0, 1}.
    """
    rng = np.random.default_rng(seed)
    y = _split(n, 2)
    # sqrt spreads points evenly along the arm's length instead of
    # crowding them at the centre.
    t = np.sqrt(rng.uniform(0.0, 1.0, n))
    angle = 2 * np.pi * turns * t + np.pi * y
    X = t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X += noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's ``make_moons`` shape).

    Class 0 is the upper half circle of radius 1 centred at (0, 0), class 1
    the lower one centred at (1, 0.5); angles are uniform on [0, π] and
    Gaussian noise of std ``noise`` is added.

    Returns:
        ``X`` float32 ``(n, 2)``, ``y`` int64 ``(n,)`` in {0, 1}.
    """
    rng = np.random.default_rng(seed)
    y = _split(n, 2)
    theta = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    lower = np.stack([1 - np.cos(theta), 0.5 - np.sin(theta)], axis=1)
    X = np.where(y[:, None] == 0, upper, lower)
    X += noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def blobs(
    n: int = 300,
    centers: int | Sequence[Sequence[float]] | np.ndarray = 3,
    std: float = 1.0,
    dim: int = 2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters.

    Args:
        n: number of points, split as equally as possible between clusters.
        centers: number of clusters (centres drawn uniformly in
            ``[-10, 10]^dim``) or an array of centres ``(k, dim)``.
        std: standard deviation of each cluster.
        dim: input dimension (ignored when ``centers`` is an array).
        seed: random seed.

    Returns:
        ``X`` float32 ``(n, dim)``, ``y`` int64 ``(n,)`` in {0, ..., k-1}.
    """
    rng = np.random.default_rng(seed)
    if isinstance(centers, (int, np.integer)):
        C = rng.uniform(-10.0, 10.0, (int(centers), dim))
    else:
        C = np.asarray(centers, dtype=np.float64)
        if C.ndim != 2:
            raise ValueError(
                f"blobs: centers must be an int or a (k, dim) array, got shape {C.shape}"
            )
    y = _split(n, len(C))
    X = C[y] + std * rng.standard_normal((n, C.shape[1]))
    return _shuffled(rng, X, y)


def xor(n: int = 200, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: four clusters at (±1, ±1), not linearly separable.

    Each point picks a corner at random; its label is 1 when the corner's
    coordinates have opposite signs (``x0 > 0`` xor ``x1 > 0``), else 0.
    Gaussian noise of std ``noise`` is added to the position (the label
    stays the corner's).

    Returns:
        ``X`` float32 ``(n, 2)``, ``y`` int64 ``(n,)`` in {0, 1}.
    """
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, (n, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.int64)
    X = (2.0 * corners - 1.0) + noise * rng.standard_normal((n, 2))
    return X.astype(np.float32), y


def linearly_separable(
    n: int = 100, dim: int = 2, margin: float = 0.1, seed: int = 0, return_w: bool = False
) -> tuple[np.ndarray, ...]:
    """Points separated by a hyperplane through the origin, with a margin.

    A unit vector ``w`` is drawn at random; points ``x ~ N(0, I)`` are pushed
    away from the plane ``w·x = 0`` by ``margin`` along ``w``, so every point
    satisfies ``y (w·x) >= margin`` with ``y = sign(w·x)``. The perceptron
    algorithm (no bias needed) therefore converges.

    Returns:
        ``X`` float32 ``(n, dim)``, ``y`` int64 ``(n,)`` in {-1, +1}, and,
        if ``return_w``, ``w`` float64 ``(dim,)`` of unit norm.
    """
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(dim)
    w /= np.linalg.norm(w)
    X = rng.standard_normal((n, dim))
    side = np.where(X @ w >= 0, 1, -1)
    X += (side * margin)[:, None] * w
    out = (X.astype(np.float32), side.astype(np.int64))
    return (*out, w) if return_w else out


class Teacher(NamedTuple):
    """A linear teacher ``W = U diag(s) Vᵀ`` and the data it labels.

    Fields: ``X`` float32 ``(n, n_in)`` with ``XᵀX/n = I``; ``Y`` float32
    ``(n, n_out)`` = ``X Wᵀ`` + noise; ``W`` float32 ``(n_out, n_in)``;
    ``U`` ``(n_out, k)`` and ``V`` ``(n_in, k)`` with orthonormal columns;
    ``s`` ``(k,)`` the singular values as given (in the given order).
    """

    X: np.ndarray
    Y: np.ndarray
    W: np.ndarray
    U: np.ndarray
    s: np.ndarray
    V: np.ndarray


def _orthonormal_columns(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A random ``(rows, cols)`` matrix with orthonormal columns (Haar)."""
    Q, R = np.linalg.qr(rng.standard_normal((rows, cols)))
    # Fixing the signs by diag(R) makes Q uniformly (Haar) distributed.
    return Q * np.sign(np.diag(R))


def linear_teacher(
    n_in: int,
    n_out: int,
    singular_values: Sequence[float] | np.ndarray,
    n: int | None = None,
    noise: float = 0.0,
    seed: int = 0,
) -> Teacher:
    """A linear map with chosen singular values, and white inputs it labels.

    The setting of Saxe, McClelland & Ganguli (2014) for deep linear networks:
    with white inputs and no noise the input-output correlation
    ``YᵀX/n`` equals ``W``, so its SVD modes are exactly ``(U, s, V)``.

    Args:
        n_in, n_out: input and output dimensions; ``W`` is ``(n_out, n_in)``.
        singular_values: ``k <= min(n_in, n_out)`` non-negative values.
        n: number of samples (default ``10 * n_in``). When ``n >= n_in`` the
            inputs are exactly white, ``XᵀX/n = I`` (up to float32 rounding);
            otherwise they are plain standard normal.
        noise: std of Gaussian noise added to ``Y``.
        seed: random seed.

    Returns:
        A :class:`Teacher` ``(X, Y, W, U, s, V)``.

    Example::

        >>> t = linear_teacher(n_in=8, n_out=4, singular_values=[3.0, 1.0], n=100)
        >>> t.X.shape, t.Y.shape, t.W.shape
        ((100, 8), (100, 4), (4, 8))
        >>> np.linalg.svd(t.W, compute_uv=False).round(4).tolist()
        [3.0, 1.0, 0.0, 0.0]
        >>> bool(np.allclose(t.X.T @ t.X / 100, np.eye(8), atol=1e-5))
        True
    """
    s = np.asarray(singular_values, dtype=np.float64).ravel()
    k = len(s)
    if k > min(n_in, n_out):
        raise ValueError(
            f"linear_teacher: {k} singular values but W is {n_out}x{n_in} "
            f"(at most {min(n_in, n_out)})"
        )
    if np.any(s < 0):
        raise ValueError("linear_teacher: singular values must be non-negative")
    n = 10 * n_in if n is None else n
    rng = np.random.default_rng(seed)
    U = _orthonormal_columns(rng, n_out, k)
    V = _orthonormal_columns(rng, n_in, k)
    W = (U * s) @ V.T
    Z = rng.standard_normal((n, n_in))
    if n >= n_in:
        # Symmetric (ZCA) whitening: X = Z C^(-1/2) with C = ZᵀZ/n, so that
        # XᵀX/n = I exactly while X stays as "Gaussian-looking" as Z.
        evals, evecs = np.linalg.eigh(Z.T @ Z / n)
        X = Z @ (evecs / np.sqrt(evals)) @ evecs.T
    else:
        X = Z
    Y = X @ W.T + noise * rng.standard_normal((n, n_out))
    f = np.float32
    return Teacher(X.astype(f), Y.astype(f), W.astype(f), U.astype(f), s.astype(f), V.astype(f))
