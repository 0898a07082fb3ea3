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
    bfloat16,  # (emulated: see backend.round_bfloat16)
    finfo,
    float16,
    float32,
    float64,
    get_default_dtype,
    iinfo,
    int8,
    int32,
    int64,
    set_default_dtype,
    set_num_threads,
    uint8,
)
from .backend import (
    bool_ as bool,
)
from .creation import (
    arange,
    as_tensor,
    bernoulli,
    channels_last,
    channels_last_3d,
    contiguous_format,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    layout,
    linspace,
    logspace,
    memory_format,
    multinomial,
    normal,
    ones,
    ones_like,
    poisson,
    preserve_format,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    strided,
    tensor,
    zeros,
    zeros_like,
)
from .creation import range as range  # the deprecated inclusive torch.range
from .device import device, get_default_device, set_default_device
from .functions import *  # noqa: F403  (exp, cat, stack, where, …)
from .functions import cat, one_hot, stack, where
from .io import load, save
from .legacy import *  # noqa: F403  (FloatTensor, LongTensor, …)
from .random import (
    Generator,
    default_generator,
    fork_rng,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .tensor import Tensor

float = float32
double = float64
long = int64
half = float16
int = int32

__version__ = "0.1.0"


def is_tensor(obj: object) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """Whether ``input``'s dtype is a floating-point one (``input.is_floating_point()``)."""
    return input.is_floating_point()


def is_complex(input: Tensor) -> bool:
    """Whether ``input``'s dtype is a complex one (``input.is_complex()``)."""
    return input.is_complex()


__all__ = [
    "Function",
    "Generator",
    "Tensor",
    "accelerator",
    "arange",
    "as_tensor",
    "autograd",
    "backends",
    "bernoulli",
    "cat",
    "channels_last",
    "channels_last_3d",
    "contiguous_format",
    "cuda",
    "default_generator",
    "device",
    "double",
    "empty",
    "empty_like",
    "enable_grad",
    "eye",
    "finfo",
    "float",
    "float16",
    "float32",
    "float64",
    "fork_rng",
    "from_numpy",
    "full",
    "full_like",
    "get_default_device",
    "get_default_dtype",
    "get_rng_state",
    "iinfo",
    "inference_mode",
    "initial_seed",
    "int8",
    "int32",
    "int64",
    "is_complex",
    "is_floating_point",
    "is_grad_enabled",
    "is_tensor",
    "layout",
    "linspace",
    "load",
    "logspace",
    "long",
    "manual_seed",
    "memory_format",
    "multinomial",
    "no_grad",
    "normal",
    "one_hot",
    "ones",
    "ones_like",
    "optim",
    "poisson",
    "preserve_format",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "save",
    "seed",
    "set_default_device",
    "set_default_dtype",
    "set_grad_enabled",
    "set_num_threads",
    "set_rng_state",
    "stack",
    "strided",
    "tensor",
    "uint8",
    "where",
    "zeros",
    "zeros_like",
]

from . import accelerator, backends, cuda, linalg, return_types  # noqa: E402

__all__ += ["bfloat16", "linalg", "return_types"]
# nn builds on everything above; utils holds torch.utils.data's names
from . import nn, utils  # noqa: E402

__all__ += ["nn", "utils"]
from . import distributed as distributed  # noqa: E402  (MPI; mpi4py is imported only to start)
from . import jit as jit  # noqa: E402  (stirpile.compile: record a step, replay it)
from . import onnx as onnx  # noqa: E402  (export; the onnx package is imported lazily)
from . import viz as viz  # noqa: E402  (graph drawings; graphviz is imported only to render)
from .jit import compile as compile  # noqa: E402
