"""Weight initialization, in place, under PyTorch's names and formulas.

Why it matters (the lectures): for ``z_i = Σ_j W_ij z_j`` with independent
zero-mean weights, ``var(z^(L)) = n_in var(w) var(z^(L−1))``, so signals
vanish or explode with depth unless ``n_in var(w) ≈ 1``. Random values also
break the symmetry between units (identical weights get identical gradients).

* Xavier / Glorot (for tanh and sigmoid): ``var(w) = 2 / (n_in + n_out)``,
  times ``gain²``. The uniform version draws from ``U(−a, a)`` with
  ``a = gain · √(6 / (n_in + n_out))`` (a uniform on ``[−a, a]`` has variance a²/3).
* He / Kaiming (for ReLU): ``var(w) = 2 / n_in``; in general
  ``std = gain / √fan`` with ``gain = calculate_gain(nonlinearity, a)`` and ``fan``
  = ``n_in`` (``mode="fan_in"``, preserves forward variance) or ``n_out``
  (``"fan_out"``, preserves backward variance). ``gain = √2`` for ReLU gives the
  lecture's ``2 / n_in``.

For a weight of shape ``(out, in, *k)``: ``fan_in = in · Πk``,
``fan_out = out · Πk`` (:func:`_calculate_fan_in_and_fan_out`).

Every function fills the tensor in place without recording a graph, draws
from stirpile's global generator (``stirpile.manual_seed``; or the
``generator`` given: a ``stirpile.Generator``, or a NumPy one) and returns the tensor.

>>> import stirpile
>>> from stirpile.nn import init
>>> w = stirpile.empty(256, 128)
>>> _ = stirpile.manual_seed(0)
>>> init.kaiming_normal_(w, nonlinearity="relu").shape
(256, 128)
>>> round(float(w.std()) * 128**0.5 / 2**0.5, 1)  # std ≈ √(2 / n_in)
1.0
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (the factor that keeps the variance of
    activations constant through a layer followed by it).

    ================= ======================================
    nonlinearity      gain
    ================= ======================================
    linear, conv*     1
    sigmoid           1
    tanh              5/3
    relu              √2
    leaky_relu        √(2 / (1 + negative_slope²)) (param; default 0.01)
    selu              3/4
    ================= ======================================

    >>> from stirpile.nn import init
    >>> init.calculate_gain("relu") == 2**0.5
    True
    """
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *receptive_field)``."""
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values: Any) -> Tensor:
    with no_grad():
        tensor.copy_(values)
    return tensor


def _rng(generator: Any) -> Any:
    """The NumPy generator behind ``generator=`` (None, a ``stirpile.Generator`` or NumPy's)."""
    return B.numpy_rng(generator)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with ``U(a, b)``."""
    return _fill(tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with ``N(mean, std²)``."""
    return _fill(tensor, _rng(generator).normal(mean, std, tensor.shape))


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Any = None,
) -> Tensor:
    """Fill with ``N(mean, std²)`` conditioned on ``[a, b]`` (values outside are redrawn)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    rng = _rng(generator)
    values = rng.normal(mean, std, tensor.shape)
    bad = (values < a) | (values > b)
    while bad.any():
        values[bad] = rng.normal(mean, std, int(bad.sum()))
        bad = (values < a) | (values > b)
    return _fill(tensor, values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity (ones on the diagonal)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, B.xp.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot & Bengio (2010): ``U(−a, a)``, ``a = gain · √(6 / (fan_in + fan_out))``, so
    ``var(w) = gain² · 2 / (fan_in + fan_out)``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot & Bengio (2010): ``N(0, std²)``, ``std = gain · √(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He et al. (2015): ``U(−bound, bound)``, ``bound = gain · √(3 / fan)``, so
    ``var(w) = gain² / fan`` (``2 / n_in`` for ReLU). ``a`` is the negative slope of
    a leaky ReLU (used when ``nonlinearity="leaky_relu"``)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He et al. (2015): ``N(0, std²)``, ``std = gain / √fan`` (``√(2 / n_in)`` for ReLU)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Any = None) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014: the initial
    conditions under which deep linear networks learn in decoupled modes). The tensor
    is viewed as ``(shape[0], numel / shape[0])``; Q of the QR decomposition of a
    Gaussian matrix, with signs fixed so that the distribution is uniform."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = B.xp.linalg.qr(flat)
    q = q * B.xp.sign(B.xp.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a {3, 4, 5}-d convolution weight ``(out, in, *kernel)`` with the Dirac delta:
    in each of the ``groups``, output channel ``d`` is 1 at input channel ``d`` and the
    kernel's centre (for ``d < min(out / groups, in)``), 0 elsewhere, so the convolution
    passes those channels through unchanged."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = sizes[0] // groups
    centre = tuple(k // 2 for k in sizes[2:])
    values = B.xp.zeros(sizes)
    for g in range(groups):
        for d in range(min(per_group, sizes[1])):
            values[(g * per_group + d, d, *centre)] = 1
    return _fill(tensor, values)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    """Martens (2010): a 2-d tensor of ``N(0, std²)`` values with ``⌈sparsity · rows⌉``
    entries of every column, at random rows, set to zero. (PyTorch draws the rows from
    its global generator even when given ``generator``; here both come from it.)"""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    rng = _rng(generator)
    values = rng.normal(0.0, std, (rows, cols))
    for col in range(cols):
        values[rng.permutation(rows)[:num_zeros], col] = 0
    return _fill(tensor, values)


def _deprecated(new: Any) -> Any:
    """PyTorch's old names without the trailing underscore: they warn, then call ``new``."""
    old = new.__name__[:-1]

    def deprecated_init(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(
            f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new.__name__}`.",
            FutureWarning,
            stacklevel=2,
        )
        return new(*args, **kwargs)

    deprecated_init.__name__ = old
    deprecated_init.__doc__ = f"Deprecated: use :func:`{new.__name__}` (this warns)."
    return deprecated_init


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
