"""Activation functions as modules: every row of the lectures' table.

==================  =====================================  ======  ==================
name                f(x)                                    year    module
==================  =====================================  ======  ==================
none                x                                       —       ``Identity``
sigmoid             1 / (1 + e^(−x))                        1986    ``Sigmoid``
tanh                tanh x                                  1986    ``Tanh``
ReLU                max(x, 0)                               2010    ``ReLU``
centered SoftPlus   ln(eˣ + 1) − ln 2                       2011    ``CenteredSoftplus``
leaky ReLU          max(x, αx), α ≈ 0.01                    2011    ``LeakyReLU``
maxout              max(W₁x + b₁, W₂x + b₂)                 2013    ``Maxout``
APL                 max(x, 0) + Σ_s a_s max(0, −x + b_s)    2014    ``APL``
very leaky ReLU     α ∈ {0.1, 0.5}                          2014    ``LeakyReLU(0.1)``
RReLU               α ~ U(lower, upper) in training         2015    ``RReLU``
PReLU               α learnable                             2015    ``PReLU``
ELU                 x if x > 0 else α(eˣ − 1)               2015    ``ELU``
==================  =====================================  ======  ==================

Plus ``Softplus``, ``Softmax``, ``LogSoftmax``, ``GELU``, ``SiLU`` and the rest of
PyTorch's: ``SELU``, ``CELU``, ``Mish``, ``Hardtanh``, ``ReLU6``, ``Hardsigmoid``,
``Hardswish``, ``Softsign``, ``Tanhshrink``, ``LogSigmoid``, ``Softshrink``,
``Hardshrink``, ``Threshold``, ``GLU`` (and ``AlphaDropout`` in dropout.py). Notes from the
lectures: ReLU is cheap and piecewise linear but a unit whose input stays negative
"dies" (zero gradient); the leaky variants keep a small slope there. The step
function has zero gradient everywhere, so backpropagation cannot train it. Softmax
acts on a whole vector, not elementwise.

Shape (elementwise ones): Input ``(*)``, Output ``(*)``, the same shape.

>>> import stirpile
>>> from stirpile import nn
>>> nn.LeakyReLU(0.1)(stirpile.tensor([-1.0, 2.0]))
tensor([-0.1000,  2.0000])
>>> nn.ELU()
ELU(alpha=1.0)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from .. import creation
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = [
    "APL",
    "CELU",
    "ELU",
    "GELU",
    "GLU",
    "SELU",
    "CenteredSoftplus",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "LogSoftmax",
    "Maxout",
    "Mish",
    "PReLU",
    "RReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softmin",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Threshold",
]


def _inplace(inplace: bool) -> str:
    return "inplace=True" if inplace else ""


class _InplaceActivation(Module):
    """An elementwise activation whose one option is ``inplace``: ``forward`` is the
    functional form ``_functional(input, inplace)``."""

    _functional: Callable[[Tensor, bool], Tensor]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._functional(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class ReLU(_InplaceActivation):
    """``ReLU(x) = max(x, 0)``; derivative 1 if x > 0 else 0.

    With ``inplace=True`` the input is overwritten and returned (as in PyTorch: allowed
    on a tensor computed in the graph, an error on a leaf that requires grad). Every
    activation that takes ``inplace`` does the same (see :func:`F.relu`).
    """

    _functional = F.relu


class LeakyReLU(Module):
    """``x if x > 0 else negative_slope · x``. "Very leaky" ReLU is
    ``LeakyReLU(0.1)`` or ``LeakyReLU(0.5)``."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """Parametric ReLU (He et al. 2015): ``x if x > 0 else a · x`` with a learnable slope
    ``a`` (one shared, or one per channel: ``num_parameters = C``, axis 1), initialized
    to ``init``.

    Shape: Input ``(*)`` or ``(N, C, *)`` with ``num_parameters = C``. Output: same.

    >>> from stirpile import nn
    >>> nn.PReLU().weight
    Parameter containing:
    tensor([0.2500], requires_grad=True)
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(creation.empty(num_parameters, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU (Xu et al. 2015): ``x if x ≥ 0 else a · x`` where, in
    training, ``a ~ U(lower, upper)`` afresh for every element and call, and in
    evaluation ``a = (lower + upper) / 2``."""

    def __init__(
        self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False
    ) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (
            ", inplace=True" if self.inplace else ""
        )


class ELU(Module):
    """Exponential linear unit (Clevert et al. 2015): ``x if x > 0 else α (eˣ − 1)``.
    Smooth for α = 1 (twice differentiable away from 0), saturates at −α."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """``(1/β) log(1 + e^(βx))``, a smooth ReLU; linear (``x``) where ``βx > threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class CenteredSoftplus(Softplus):
    """The lectures' centered SoftPlus (2011): ``ln(e^x + 1) − ln 2``, i.e.
    ``softplus(x) − ln 2 / β``, which passes through the origin like ReLU. Not in
    PyTorch (there: ``nn.Softplus()(x) - math.log(2)``).

    >>> import stirpile
    >>> from stirpile import nn
    >>> nn.CenteredSoftplus()(stirpile.tensor([0.0]))
    tensor([0.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.centered_softplus(input, self.beta, self.threshold)


class Sigmoid(Module):
    """``σ(x) = 1 / (1 + e^(−x))``; ``σ' = σ (1 − σ) ≤ ¼``, hence vanishing gradients
    through deep sigmoid networks."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh x = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)``; zero-centered, ``tanh' = 1 − tanh²``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class GELU(Module):
    """``x Φ(x)`` (Φ the standard normal CDF); ``approximate="tanh"`` uses
    ``½ x (1 + tanh(√(2/π)(x + 0.044715 x³)))``."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_InplaceActivation):
    """``x σ(x)`` (also called swish)."""

    _functional = F.silu


class SELU(_InplaceActivation):
    """Scaled ELU (Klambauer et al. 2017): ``λ (x if x > 0 else α (eˣ − 1))`` with
    α ≈ 1.6733, λ ≈ 1.0507: self-normalizing (zero mean, unit variance is a fixed point);
    pair it with :class:`AlphaDropout`. ``inplace``: see :func:`F.selu`."""

    _functional = F.selu


class CELU(Module):
    """Continuously differentiable ELU: ``x if x > 0 else α (e^(x/α) − 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Mish(_InplaceActivation):
    """``x tanh(softplus(x))`` (Misra 2019)."""

    _functional = F.mish


class Hardtanh(Module):
    """``clamp(x, min_val, max_val)``: linear in between (gradient 1), flat outside
    (gradient 0, also at the two ends). ``min_value``/``max_value`` are PyTorch's
    deprecated spellings."""

    def __init__(
        self,
        min_val: float = -1.0,
        max_val: float = 1.0,
        inplace: bool = False,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> None:
        super().__init__()
        if min_value is not None:
            warnings.warn(
                "keyword argument `min_value` is deprecated and renamed to `min_val`",
                FutureWarning,
                stacklevel=2,
            )
            min_val = min_value
        if max_value is not None:
            warnings.warn(
                "keyword argument `max_value` is deprecated and renamed to `max_val`",
                FutureWarning,
                stacklevel=2,
            )
            max_val = max_value
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace
        if self.max_val <= self.min_val:
            raise AssertionError(
                f"max_val ({self.max_val}) must be greater than min_val ({self.min_val})"
            )

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)`` (``Hardtanh(0, 6)``)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class Hardsigmoid(_InplaceActivation):
    """``relu6(x + 3) / 6``: a piecewise-linear sigmoid (0 below −3, 1 above 3)."""

    _functional = F.hardsigmoid

    def extra_repr(self) -> str:
        return ""  # PyTorch's shows no inplace here


class Hardswish(_InplaceActivation):
    """``x · relu6(x + 3) / 6`` (Howard et al. 2019, MobileNetV3): a cheap swish."""

    _functional = F.hardswish

    def extra_repr(self) -> str:
        return ""  # PyTorch's shows no inplace here


class Softsign(Module):
    """``x / (1 + |x|)``: tanh-shaped, approaching ±1 polynomially."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class Tanhshrink(Module):
    """``x − tanh x``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)


class LogSigmoid(Module):
    """``log σ(x) = −softplus(−x)``, without overflow."""

    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class _Shrink(Module):
    """A thresholding activation with its threshold ``lambd`` (λ): ``forward`` is the
    functional form ``_functional(input, lambd)``."""

    _functional: Callable[[Tensor, float], Tensor]

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._functional(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Softshrink(_Shrink):
    """Soft thresholding: ``x − λ`` above λ, ``x + λ`` below −λ, 0 in between."""

    _functional = F.softshrink


class Hardshrink(_Shrink):
    """Hard thresholding: ``x`` where ``|x| > λ``, else 0."""

    _functional = F.hardshrink


class Threshold(Module):
    """``x if x > threshold else value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"threshold={self.threshold}, value={self.value}{inplace}"


class GLU(Module):
    """Gated linear unit: ``a ⊗ σ(b)`` for the two halves ``a``, ``b`` of the input
    along ``dim``.

    Shape: Input ``(*₁, N, *₂)``; Output ``(*₁, N/2, *₂)``.

    >>> import stirpile
    >>> from stirpile import nn
    >>> nn.GLU()(stirpile.randn(4, 6)).shape
    (4, 3)
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(Module):
    """``softmax(x)_i = e^(x_i) / Σ_j e^(x_j)`` along ``dim``: a probability vector.

    Don't put it before :class:`CrossEntropyLoss`, which applies log-softmax itself.

    Shape: Input ``(*)``; Output: same shape, summing to 1 along ``dim``.
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(Softmax):
    """``softmax(−x)`` along ``dim``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim, _stacklevel=5)


class LogSoftmax(Module):
    """``log softmax(x)_i = x_i − log Σ_j e^(x_j)`` along ``dim`` (pair it with
    :class:`NLLLoss`; ``CrossEntropyLoss`` is the two in one)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Maxout(Module):
    """Maxout units (Goodfellow et al. 2013), a learned piecewise-linear convex activation:

        y_j = max_{k=1..K} (W_k x + b_k)_j

    i.e. ``pieces`` = K linear layers ``in_features → out_features`` and the elementwise
    maximum of their outputs. With K = 2, ``W₂ = 0, b₂ = 0`` it is ``ReLU(W₁x + b₁)``.
    Not in PyTorch.

    Parameters: ``weight`` ``(pieces, out_features, in_features)`` (``weight[k] = W_k``)
    and ``bias`` ``(pieces, out_features)``, each piece initialized like
    :class:`Linear` (``U(−1/√in, 1/√in)``).

    Shape: Input ``(*, in_features)``; Output ``(*, out_features)``.

    >>> import stirpile
    >>> from stirpile import nn
    >>> nn.Maxout(4, 3, pieces=2)(stirpile.randn(5, 4)).shape
    (5, 3)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        pieces: int = 2,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: pieces must be at least 1, got {pieces}")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.weight = Parameter(creation.empty(pieces, out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(pieces, out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.maxout(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"pieces={self.pieces}, bias={self.bias is not None}"
        )


class APL(Module):
    """Adaptive piecewise linear unit (Agostinelli et al. 2014):

        f(x) = max(0, x) + Σ_{s=1..S} a_s · max(0, −x + b_s)

    a ReLU plus S hinges, each with a learnable slope ``a_s`` and location ``b_s``, per
    unit (``S = hinges``). Not in PyTorch.

    Parameters: ``a`` and ``b``, shape ``(hinges, num_features)``. Initialization: ``a = 0``
    (the unit starts as a ReLU) and ``b ~ U(−1, 1)`` (random hinge locations, so that
    the hinges of a unit differ). ``a`` receives gradient from the start; ``b`` does
    once its ``a`` is nonzero.

    Shape: Input ``(N, num_features)``, ``(N, num_features, *)`` or ``(num_features,)``;
    Output: same.

    >>> import stirpile
    >>> from stirpile import nn
    >>> nn.APL(3, hinges=2)(stirpile.randn(4, 3)).shape
    (4, 3)
    """

    def __init__(
        self, num_features: int, hinges: int = 1, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.num_features, self.hinges = num_features, hinges
        self.a = Parameter(creation.empty(hinges, num_features, dtype=dtype))
        self.b = Parameter(creation.empty(hinges, num_features, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.zeros_(self.a)
        init.uniform_(self.b, -1.0, 1.0)

    def forward(self, input: Tensor) -> Tensor:
        return F.apl(input, self.a, self.b)

    def extra_repr(self) -> str:
        return f"num_features={self.num_features}, hinges={self.hinges}"
