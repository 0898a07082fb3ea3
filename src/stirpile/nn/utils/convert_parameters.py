"""Flatten parameters into one vector and back (for second-order methods, evolution
strategies and anything else that treats a model as a point in ``R^n``).

>>> import stirpile
>>> from stirpile import nn
>>> net = nn.Linear(3, 2)
>>> v = nn.utils.parameters_to_vector(net.parameters())
>>> v.shape                       # 2·3 weights + 2 biases
(8,)
>>> nn.utils.vector_to_parameters(stirpile.zeros(8), net.parameters())
>>> float(net.weight.abs().sum())
0.0
"""

from __future__ import annotations

from collections.abc import Iterable

from ...functions import cat
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters, flattened and concatenated in order (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into ``parameters`` (inverse of
    :func:`parameters_to_vector`). As in PyTorch, each parameter's ``data`` becomes a
    view of ``vec``."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected stirpile.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for param in parameters:
        n = param.numel()
        param.data = vec[pointer : pointer + n].view_as(param).data
        pointer += n
