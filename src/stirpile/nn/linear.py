"""Affine layers and shape helpers: ``Linear``, ``Identity``, ``Flatten``, ``Unflatten``.

``Linear`` computes ``y = x Wᵀ + b`` (the lectures' ``W x + b`` applied to each
row of a batch). PyTorch's default initialization, kept here so that models
train the same: ``W ~ U(−1/√in, 1/√in)`` (that is ``kaiming_uniform_`` with
``a = √5``) and ``b ~ U(−1/√in, 1/√in)``.

>>> import stirpile
>>> from stirpile import nn
>>> fc = nn.Linear(20, 30)
>>> fc(stirpile.randn(128, 20)).shape
(128, 30)
>>> fc.weight.shape, fc.bias.shape
((30, 20), (30,))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import creation
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Flatten", "Identity", "Linear", "Unflatten"]


def _check_device(device: Any) -> None:
    if device is not None and str(device) != "cpu":
        raise RuntimeError(f"stirpile runs on the CPU only; cannot create parameters on {device!r}")


class Identity(Module):
    """``f(x) = x``; accepts and ignores any constructor arguments (a placeholder)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Linear(Module):
    """``y = x Wᵀ + b``.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias (default ``True``).
        dtype: parameter dtype (default: the default float dtype).

    Shape:
        Input ``(*, in_features)``; Output ``(*, out_features)``.

    Attributes:
        weight: ``(out_features, in_features)``, ``U(−1/√in, 1/√in)``.
        bias: ``(out_features,)``, ``U(−1/√in, 1/√in)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_device(device)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: ``kaiming_uniform_(W, a=√5)`` = ``U(−1/√in, 1/√in)``, and
        the same bound for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        # one dict read instead of two attribute misses: ``self.weight`` goes through
        # Module.__getattr__ after a failed lookup (~0.45 µs each, as in PyTorch)
        params = self._parameters
        if "weight" in params and "bias" in params:
            return F.linear(input, params["weight"], params["bias"])
        return F.linear(input, self.weight, self.bias)  # reparameterized (nn.utils.prune)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` into one: ``(N, 1, 28, 28) → (N, 784)``.

    >>> import stirpile
    >>> from stirpile import nn
    >>> nn.Flatten()(stirpile.zeros(2, 1, 28, 28)).shape
    (2, 784)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dimension ``dim`` into ``unflattened_size``: ``(N, 784) → (N, 1, 28, 28)``."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        d = self.dim % input.ndim
        return input.reshape(*input.shape[:d], *self.unflattened_size, *input.shape[d + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
