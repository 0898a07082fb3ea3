"""Neural-network building blocks, under PyTorch's names: ``Module`` and ``Parameter``,
containers, layers, activations, losses, ``functional`` (``F``), ``init`` and ``utils``.

>>> import stirpile
>>> from stirpile import nn
>>> model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
>>> loss_fn = nn.CrossEntropyLoss()
>>> x, y = stirpile.randn(32, 784), stirpile.randint(0, 10, (32,))
>>> loss = loss_fn(model(x), y)
>>> loss.backward()
>>> model[0].weight.grad.shape
(128, 784)
"""

from . import functional, init, utils
from .activation import (
    APL,
    ELU,
    GELU,
    CenteredSoftplus,
    LeakyReLU,
    LogSoftmax,
    Maxout,
    PReLU,
    ReLU,
    RReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Tanh,
)
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CosineSimilarity,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module, RemovableHandle
from .normalization import BatchNorm1d, LayerNorm
from .parameter import Parameter

__all__ = [
    "APL",
    "ELU",
    "GELU",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "CenteredSoftplus",
    "CosineEmbeddingLoss",
    "CosineSimilarity",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Maxout",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "PReLU",
    "Parameter",
    "RReLU",
    "ReLU",
    "RemovableHandle",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "Softmin",
    "Softplus",
    "Tanh",
    "Unflatten",
    "functional",
    "init",
    "utils",
]
