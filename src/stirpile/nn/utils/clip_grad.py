"""Gradient clipping, the usual remedy for exploding gradients.

``clip_grad_norm_`` rescales all gradients together so that their joint norm is at
most ``max_norm`` (the direction of the update is kept):

    total = ‖(‖g_1‖_p, …, ‖g_k‖_p)‖_p,   g ← g · min(1, max_norm / (total + 10⁻⁶))

``clip_grad_value_`` clamps every gradient element into ``[−clip_value, clip_value]``.

>>> import stirpile
>>> from stirpile import nn
>>> w = stirpile.tensor([3.0, 4.0], requires_grad=True)
>>> (w * w).sum().backward()         # grad = 2w = (6, 8), norm 10
>>> nn.utils.clip_grad_norm_([w], max_norm=1.0)
tensor(10.)
>>> w.grad
tensor([0.6000, 0.8000])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ... import backend as B
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _as_list(tensors: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(a: Any, p: float) -> Any:
    return B.xp.asarray(B.xp.linalg.norm(a.reshape(-1), p))


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The ``norm_type``-norm of the norms of ``tensors`` (``inf`` for the max-abs norm)."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._make(B.xp.asarray(0.0, B.get_default_dtype()))
    norms = [_vector_norm(t._data, norm_type) for t in tensors]
    dtype = B.xp.result_type(*norms)
    total = _vector_norm(B.xp.stack([n.astype(dtype) for n in norms]), norm_type)
    if error_if_nonfinite and not B.xp.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(total)


def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))``, in place."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else B.xp.asarray(total_norm)
    coef = B.xp.minimum(float(max_norm) / (total + 1e-6), 1.0)
    for g in grads:
        B.xp.multiply(g._data, coef, out=g._data, casting="unsafe")


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Rescale the gradients of ``parameters`` in place so that their total
    ``norm_type``-norm is at most ``max_norm``; returns the total norm *before* clipping
    (a 0-d tensor). ``norm_type`` may be ``inf``. ``foreach`` is accepted and ignored."""
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient element into ``[−clip_value, clip_value]``, in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            B.xp.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
