"""Checking gradients against finite differences.

``gradcheck`` compares the Jacobian autograd computes (one backward per output
element) with central differences ``(f(x + ε) − f(x − ε)) / 2ε`` taken in
float64. ``gradgradcheck`` does the same for the gradient itself, which checks
second derivatives (what ``create_graph=True`` computes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class GradcheckError(RuntimeError):
    """Raised when analytical and numerical gradients disagree."""


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _flat_outputs(func: Callable, inputs: tuple) -> np.ndarray:
    outs = _as_tuple(func(*inputs))
    return np.concatenate([np.asarray(o._data, dtype=np.float64).ravel() for o in outs])


def numerical_jacobian(func: Callable, inputs: tuple, eps: float = 1e-6) -> list[np.ndarray]:
    """One matrix per input that requires grad: d outputs (rows) / d input (columns)."""
    jacobians = []
    for t in inputs:
        if not getattr(t, "requires_grad", False):
            continue
        flat = t._data.reshape(-1)  # a view: perturb in place, then restore
        cols = []
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            plus = _flat_outputs(func, inputs)
            flat[k] = orig - eps
            minus = _flat_outputs(func, inputs)
            flat[k] = orig
            cols.append((plus - minus) / (2 * eps))
        jacobians.append(np.stack(cols, axis=1) if cols else np.zeros((0, 0)))
    return jacobians


def analytical_jacobian(func: Callable, inputs: tuple) -> list[np.ndarray]:
    """The same matrices from autograd: one backward pass per output element."""
    from . import grad

    diff = [t for t in inputs if getattr(t, "requires_grad", False)]
    outs = [o for o in _as_tuple(func(*inputs))]
    rows: list[list[np.ndarray]] = [[] for _ in diff]
    for o in outs:
        for k in range(o.numel()):
            if not o.requires_grad:
                for r, t in zip(rows, diff):
                    r.append(np.zeros(t.numel()))
                continue
            seed = np.zeros(o.shape, dtype=o.dtype)
            seed.reshape(-1)[k] = 1
            gs = grad(o, diff, grad_outputs=seed, retain_graph=True, allow_unused=True)
            for r, t, g in zip(rows, diff, gs):
                r.append(np.zeros(t.numel()) if g is None else g._data.astype(np.float64).ravel())
    return [np.stack(r) if r else np.zeros((0, t.numel())) for r, t in zip(rows, diff)]


def gradcheck(
    func: Callable,
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """True if autograd's gradients of ``func(*inputs)`` match finite differences.

    Use float64 inputs (float32 differences are too coarse). Raises
    :class:`GradcheckError` naming the input and the worst element on mismatch,
    unless ``raise_exception=False``.

    >>> import stirpile
    >>> x = stirpile.randn(3, dtype=stirpile.float64, requires_grad=True)
    >>> stirpile.autograd.gradcheck(lambda t: (t * t.sin()).sum(), (x,))
    True
    """
    inputs = _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if getattr(t, "requires_grad", False) and t.dtype != np.float64:
            raise GradcheckError(
                f"gradcheck: input {i} has dtype {t.dtype}; use float64 inputs for finite "
                "differences"
            )
    numerical = numerical_jacobian(func, inputs, eps)
    analytical = analytical_jacobian(func, inputs)
    for i, (n, a) in enumerate(zip(numerical, analytical)):
        if n.shape != a.shape or not np.allclose(a, n, rtol=rtol, atol=atol):
            if not raise_exception:
                return False
            worst = (
                np.unravel_index(np.argmax(np.abs(a - n)), a.shape) if a.shape == n.shape else None
            )
            raise GradcheckError(
                f"Jacobian mismatch for differentiable input {i}: worst (output, input element) "
                f"{worst}: analytical {a[worst] if worst else a.shape} vs numerical "
                f"{n[worst] if worst else n.shape}\nanalytical:\n{a}\nnumerical:\n{n}"
            )
    return True


def gradgradcheck(
    func: Callable,
    inputs: Any,
    grad_outputs: Sequence[Any] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: gradcheck the map (inputs, v) ↦ vᵀ ∂func/∂inputs."""
    from .. import creation
    from . import grad

    inputs = _as_tuple(inputs)
    outs = _as_tuple(func(*inputs))
    if grad_outputs is None:
        grad_outputs = [creation.randn(o.shape, dtype=np.float64, requires_grad=True) for o in outs]
    grad_outputs = tuple(grad_outputs)
    diff_idx = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]
    n = len(inputs)

    def first_grads(*args: Any) -> tuple:
        xs, vs = args[:n], args[n:]
        ys = _as_tuple(func(*xs))
        gs = grad(ys, [xs[i] for i in diff_idx], grad_outputs=list(vs), create_graph=True,
                  allow_unused=True)  # fmt: skip
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs + grad_outputs, eps, atol, rtol, raise_exception)
