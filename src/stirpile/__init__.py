"""stirpile: a deep-learning framework you can read in an afternoon.

NumPy-backed tensors with reverse-mode autograd by operator overloading, under
PyTorch's names: ``import stirpile as torch`` runs most MLP code unchanged.

>>> import stirpile
>>> w = stirpile.tensor([2.0], requires_grad=True)
>>> loss = ((w * 3.0 - 1.0) ** 2).sum()
>>> loss.backward()
>>> w.grad  # 2 (3w − 1) · 3
tensor([30.])
"""

from __future__ import annotations

from . import autograd, optim
from .autograd import (
    Function,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import (
    bool_ as bool,
)
from .backend import (
    float16,
    float32,
    float64,
    get_default_dtype,
    get_rng_state,
    int8,
    int32,
    int64,
    manual_seed,
    seed,
    set_default_dtype,
    set_num_threads,
    set_rng_state,
    uint8,
)
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .functions import *  # noqa: F403  (exp, cat, stack, where, …)
from .functions import cat, one_hot, stack, where
from .io import load, save
from .tensor import Tensor

float = float32
double = float64
long = int64
half = float16
int = int32

__version__ = "0.1.0"


def is_tensor(obj: object) -> bool:
    return isinstance(obj, Tensor)


__all__ = [
    "Function",
    "Tensor",
    "arange",
    "as_tensor",
    "autograd",
    "cat",
    "double",
    "empty",
    "empty_like",
    "enable_grad",
    "eye",
    "float",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "get_default_dtype",
    "get_rng_state",
    "inference_mode",
    "int8",
    "int32",
    "int64",
    "is_grad_enabled",
    "is_tensor",
    "linspace",
    "load",
    "long",
    "manual_seed",
    "no_grad",
    "one_hot",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "save",
    "seed",
    "set_default_dtype",
    "set_grad_enabled",
    "set_num_threads",
    "set_rng_state",
    "stack",
    "tensor",
    "uint8",
    "where",
    "zeros",
    "zeros_like",
]

from . import nn  # noqa: E402  (nn builds on everything above)

__all__ += ["nn"]
