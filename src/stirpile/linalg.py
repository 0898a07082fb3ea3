"""``stirpile.linalg``: vector and matrix norms, as ``torch.linalg``.

``vector_norm(x, ord)`` is ‖x‖_ord = (Σ|x|^ord)^(1/ord) over ``dim`` (all elements by
default); ``ord=inf``/``-inf`` give max/min |x|, ``ord=0`` the number of nonzeros.
``matrix_norm(A, ord)`` is the Frobenius norm (``"fro"``) or the largest (``1``/``inf``)
or smallest (``-1``/``-inf``) absolute column/row sum over the two dims in ``dim``.
``ord=2``/``-2`` give the largest/smallest singular value and ``"nuc"`` their sum (the
nuclear norm), from :func:`svdvals`. ``norm`` picks one or the other from ``ord`` and
``dim``. The gradient of a norm at the zero vector is 0, as in torch.

>>> import stirpile
>>> x = stirpile.tensor([[3.0, -4.0], [0.0, 0.0]])
>>> stirpile.linalg.vector_norm(x, dim=1)
tensor([5., 0.])
>>> stirpile.linalg.norm(x, "fro"), stirpile.linalg.matrix_norm(x, 1)
(tensor(5.), tensor(4.))
"""

from __future__ import annotations

from typing import Any

from . import backend as B
from ._pointwise import torch_name
from .ops import linalg as _linalg
from .ops import reduce as _reduce
from .tensor import Tensor, _wrap_dim

_INF = float("inf")


def _floating_input(name: str, x: Tensor, dtype: Any) -> Tensor:
    if x.dtype.kind not in "fc":
        raise RuntimeError(
            f"linalg.{name}: Expected a floating point or complex tensor as input. "
            f"Got {torch_name(x.dtype)}"
        )
    if dtype is None:
        return x
    dtype = B.xp.dtype(dtype)
    if B.xp.promote_types(x.dtype, dtype) != dtype:
        raise RuntimeError(
            f"linalg.{name}: the dtype of the input ({torch_name(x.dtype)}) should be "
            f"convertible without narrowing to the specified dtype ({torch_name(dtype)})"
        )
    return x.to(dtype)


def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:  # fmt: skip
    """‖x‖_ord over ``dim`` (None: every element; an int or a tuple), optionally computed in
    ``dtype``."""
    if isinstance(ord, str) or not isinstance(ord, (int, float)):
        raise TypeError(
            f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not "
            f"{type(ord).__name__}"
        )
    x = _floating_input("vector_norm", x, dtype)
    axes = _reduce._axes(x.ndim, dim)
    if ord in (_INF, -_INF) and any(x.shape[a] == 0 for a in axes):
        raise RuntimeError(
            f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor because the "
            "operation does not have an identity"
        )
    return _linalg.VectorNorm.apply(x, ord=float(ord), axes=axes, keepdims=keepdim)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:  # fmt: skip
    """The norm of the matrices in the two dims ``dim``: ``"fro"`` √(Σ|a|²); ``1``/``-1``:
    the largest/smallest Σ|a| down a column; ``inf``/``-inf``: along a row."""
    A = _floating_input("matrix_norm", A, dtype)
    if A.ndim < 2:
        raise RuntimeError(
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
        )
    d0, d1 = (_wrap_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got {tuple(dim)}")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        return _singular_norm(A, ord, d0, d1, keepdim)
    if ord not in (1, -1, _INF, -_INF):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    summed, extreme = (d0, d1) if ord in (1, -1) else (d1, d0)
    sums = A.abs().sum(summed, keepdim=True)
    if ord > 0 and sums.shape[extreme] == 0:  # the largest of no sums: a constant 0, as torch
        sums = sums.detach().sum(extreme, keepdim=True)
    out = sums.amax(extreme, keepdim=True) if ord > 0 else sums.amin(extreme, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


def svdvals(A: Tensor) -> Tensor:
    """The singular values σ₁ ≥ σ₂ ≥ … ≥ 0 of each matrix in the last two dims of ``A``
    (``min(m, n)`` of them for m × n matrices), as ``torch.linalg.svdvals``. The gradient is
    ``U diag(g) Vᵀ`` (:class:`stirpile.ops.linalg.SingularValues`); it is undefined where
    singular values repeat (as torch warns), and it cannot be differentiated again.

    >>> import stirpile
    >>> stirpile.linalg.svdvals(stirpile.tensor([[3.0, 0.0], [0.0, -4.0]]))
    tensor([4., 3.])
    """
    if A.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    if A.dtype.kind not in "fc":
        raise RuntimeError(
            f"linalg.svd: Expected a floating point or complex tensor as input. Got "
            f"{torch_name(A.dtype)}"
        )
    return _linalg.SingularValues.apply(A)


def _singular_norm(A: Tensor, ord: Any, d0: int, d1: int, keepdim: bool) -> Tensor:
    """``ord`` 2 (σ_max), −2 (σ_min) or ``"nuc"`` (Σσ) of the matrices in dims ``d0, d1``:
    those dims moved last, then a reduction of :func:`svdvals` (as torch computes them, so
    the gradient of tied extreme values is shared evenly, as ``amax``'s)."""
    rest = [d for d in range(A.ndim) if d not in (d0, d1)]
    sigma = svdvals(A.permute(*rest, d0, d1))
    if ord == "nuc":
        out = sigma.sum(-1)
    elif sigma.shape[-1] == 0:  # no singular values: σ_max is a constant 0 (as torch's),
        if ord == -2:  # σ_min has no identity
            raise IndexError("amin(): Expected reduction dim -1 to have non-zero size.")
        out = sigma.detach().sum(-1)
    else:
        out = sigma.amax(-1) if ord == 2 else sigma.amin(-1)
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:  # fmt: skip
    """A vector or a matrix norm, as ``torch.linalg.norm``: with ``dim`` an int (or one
    dim) a vector norm, with two dims a matrix norm; with neither ``dim`` nor ``ord``
    the 2-norm of all elements; with ``ord`` only, a vector norm of a 1-d and a matrix
    norm of a 2-d input."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 2 or isinstance(ord, str):
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.ndim != 1:
        raise RuntimeError(
            "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
            f"Got {A.ndim}D."
        )
    return vector_norm(A, ord, None, keepdim, dtype=dtype)


__all__ = ["matrix_norm", "norm", "svdvals", "vector_norm"]
