"""Products beyond ``@``: ``addmm``/``baddbmm`` (β·input + α·A B), ``outer`` and
``einsum``. Compositions of the recorded matrix product and arithmetic, except
``einsum``, which has its own primitive (:mod:`stirpile.ops.einsum`).

>>> import stirpile
>>> a, b = stirpile.tensor([1.0, 2.0]), stirpile.tensor([3.0, 4.0, 5.0])
>>> stirpile.outer(a, b)
tensor([[ 3.,  4.,  5.],
        [ 6.,  8., 10.]])
>>> stirpile.einsum("i,j->", a, b)
tensor(36.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import backend as B
from . import tensor as _T  # (being imported when this module is: used at call time only)
from ._pointwise import torch_name
from .ops import einsum as _einsum
from .ops import elementwise as ew

Tensor = Any
Number = int | float | bool


def _matrix(name: str, t: Tensor, ndim: int = 2) -> None:
    if t.ndim != ndim:
        kind = "a matrix" if ndim == 2 else f"a {ndim}D tensor"
        got = f", got {t.ndim}-D tensor" if ndim == 2 else ""
        raise RuntimeError(f"{name} must be {kind}{got}")


def _same_dtype(a: Tensor, b: Tensor, names: str) -> None:
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"{names} must have the same dtype, but got {torch_name(a.dtype)} and "
            f"{torch_name(b.dtype)}"
        )


def _scaled_sum(input: Tensor, prod: Tensor, beta: Number, alpha: Number) -> Tensor:
    """β·input + α·prod, with ``input`` broadcast to ``prod``'s shape; β = 0 ignores the
    values of ``input`` (nan and inf included) and gives it a zero gradient, as torch."""
    try:
        B.xp.broadcast_to(B.xp.empty(input.shape, bool), prod.shape)
    except ValueError:
        raise RuntimeError(
            f"The expanded size of the tensor ({prod.shape[-1]}) must match the existing size "
            f"({input.shape[-1]}) at non-singleton dimension {input.ndim - 1}.  Target sizes: "
            f"{list(prod.shape)}.  Tensor sizes: {list(input.shape)}"
        ) from None
    if prod._data.dtype.kind in "iu":  # torch converts the scalars to the integer dtype
        alpha, beta = int(alpha), int(beta)
    scaled = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return ew.Where.apply(B.xp.zeros((), bool), input, scaled)
    return scaled + (input if beta == 1 else input * beta)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Number = 1,
          alpha: Number = 1) -> Tensor:  # fmt: skip
    """β·input + α·(mat1 @ mat2) for matrices ``mat1`` (n×m), ``mat2`` (m×p) and ``input``
    broadcastable to n×p (a linear layer's bias, ``addmm(b, x, Wᵀ)``)."""
    _matrix("mat1", mat1)
    _matrix("mat2", mat2)
    _same_dtype(mat1, mat2, "mat1 and mat2")
    _same_dtype(input, mat2, "self and mat2")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
            f"{mat2.shape[0]}x{mat2.shape[1]})"
        )
    return _scaled_sum(input, mat1 @ mat2, beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Number = 1,
            alpha: Number = 1) -> Tensor:  # fmt: skip
    """β·input + α·(batch1 @ batch2) for batches of matrices (b×n×m and b×m×p)."""
    _matrix("batch1", batch1, 3)
    _matrix("batch2", batch2, 3)
    _same_dtype(batch1, batch2, "batch1 and batch2")
    _same_dtype(input, batch1, "self and batch1")
    want = [batch1.shape[0], batch1.shape[2]]
    if list(batch2.shape[:2]) != want:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: {want} but got: "
            f"{list(batch2.shape[:2])}."
        )
    return _scaled_sum(input, batch1 @ batch2, beta, alpha)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product ``out[i, j] = input[i] · vec2[j]`` of two vectors."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation: the letters of ``equation`` name dimensions; those repeated
    across operands are multiplied, those missing from the output summed
    (``"ij,jk->ik"`` is ``@``, ``"ii"`` the trace, ``"bij,bjk->bik"`` ``bmm``). ``...``
    stands for broadcast dims; without ``->`` the output is the letters used once, in
    alphabetical order. Operands may also be given as one list; dtypes are promoted.
    """
    if len(operands) == 1 and isinstance(operands[0], Sequence):
        operands = tuple(operands[0])
    tensors = [
        t if isinstance(t, _T.Tensor) else _T.Tensor._make(B.xp.asarray(t)) for t in operands
    ]
    if tensors:
        dtype = B.xp.result_type(*(t.dtype for t in tensors))
        tensors = [t.to(dtype) for t in tensors]
    return _einsum.Einsum.apply(*tensors, equation=equation)
