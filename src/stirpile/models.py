"""Ready-made models: the multilayer perceptron of the course.

``N(x) = W_k σ(⋯ σ(W_2 σ(W_1 x + b_1) + b_2) ⋯) + b_k``
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from . import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "prelu": nn.PReLU,
    "rrelu": nn.RReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "none": nn.Identity,
}


def mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    dropout: float = 0.0,
    batchnorm: bool = False,
) -> nn.Sequential:
    """An MLP with layer widths ``sizes`` (input, hidden…, output), returning logits.

    Each hidden layer is ``Linear → [BatchNorm1d] → activation → [Dropout]``.

    >>> mlp([784, 128, 10])
    Sequential(
      (0): Linear(in_features=784, out_features=128, bias=True)
      (1): ReLU()
      (2): Linear(in_features=128, out_features=10, bias=True)
    )
    """
    if len(sizes) < 2:
        raise ValueError(f"mlp: need at least input and output sizes, got {list(sizes)}")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"mlp: unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}"
        )
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)
