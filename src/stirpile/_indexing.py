"""Indexing and shape functions: selecting, scattering, masking, triangles and diagonals,
repeating, flipping and rolling, moving dimensions.

Nearly all are compositions of the recorded primitives (indexing, ``where``,
``reshape``/``expand``/``permute``, ``flip``, ``roll``), so their gradients are those
of the pieces: a selected element gets the gradient of every place it went to, a
scattered-over element gets none. ``scatter`` writes with the ``Place`` primitive and
``scatter_add``/``index_add`` with ``IndexAdd`` (repeated indices add up).

>>> import stirpile
>>> x = stirpile.arange(6.0).reshape(2, 3)
>>> x.index_select(1, stirpile.tensor([2, 0]))
tensor([[2., 0.],
        [5., 3.]])
>>> x.tril(), x.roll(1, 1)
(tensor([[0., 0., 0.],
        [3., 4., 0.]]), tensor([[2., 0., 1.],
        [5., 3., 4.]]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import backend as B
from . import tensor as _T  # (being imported when this module is: used at call time only)
from ._pointwise import inplace_of, torch_name
from .ops import elementwise as ew
from .ops import index as ix
from .ops import shape as sh

Tensor = Any
xp = B.xp


def _make(array: Any) -> Tensor:
    return _T.Tensor._make(array)


def _wrap(dim: int, ndim: int) -> int:
    return _T._wrap_dim(dim, max(ndim, 1))


def _dims(dims: Any) -> tuple:
    return tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)


def _index_vector(name: str, index: Any, size: int, dtypes: str = "int32 or int64") -> Any:
    """``index`` as a 1-d integer array, checked against ``size`` as torch checks it."""
    idx = _T._raw(index)
    idx = xp.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype {dtypes} for index")
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    idx = idx.reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        raise IndexError("index out of range in self")
    return idx


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` along ``dim`` at ``index`` (a vector), in that order."""
    axis = _wrap(dim, input.ndim)
    idx = _index_vector("index_select", index, input.shape[axis] if input.ndim else 1)
    if input.ndim == 0:
        if idx.size != 1:
            raise RuntimeError(
                f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)"
            )
        return input.reshape(1)[idx].reshape(())
    return input[(slice(None),) * axis + (idx,)]


# -- scatter ------------------------------------------------------------------------------


def _scatter_grid(name: str, input: Tensor, dim: int, index: Tensor, src: Any) -> tuple:
    """The positions ``out[..., index[i][j], ...]`` that ``scatter`` writes (an open grid
    with ``index`` along ``dim``), after torch's checks of dtypes, ranks and bounds."""
    idx = xp.asarray(_T._raw(index))
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    if idx.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    axis = _wrap(dim, input.ndim)
    if isinstance(src, _T.Tensor):
        if src.ndim != input.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
        if src.dtype != input.dtype:
            raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
    src_shape = src.shape if isinstance(src, _T.Tensor) else idx.shape
    too_big = any(n > s for d, (n, s) in enumerate(zip(idx.shape, input.shape)) if d != axis)
    if too_big or any(n > s for n, s in zip(idx.shape, src_shape)):
        raise RuntimeError(
            f"Expected index {list(idx.shape)} to be no larger than self {list(input.shape)} "
            f"apart from dimension {axis} and to be no larger size than src {list(src_shape)}"
        )
    size = input.shape[axis] if input.ndim else 1
    bad = idx[(idx < 0) | (idx >= size)]
    if bad.size:
        raise RuntimeError(
            f"index {bad.flat[0]} is out of bounds for dimension {axis} with size {size}"
        )
    grid = list(xp.indices(idx.shape, sparse=True))
    if grid:
        grid[axis] = idx
    return tuple(grid), xp.zeros(input.shape, bool)


def _src_part(src: Tensor, shape: tuple) -> Tensor:
    """The corner of ``src`` that ``index`` covers (torch reads only that much of it)."""
    return src if src.shape == shape else src[tuple(slice(0, n) for n in shape)]


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:  # fmt: skip
    """A copy of ``input`` with ``out[index[i][j]][j] = src[i][j]`` (``dim=0``; likewise for
    any dim), or ``= value``. The overwritten elements of ``input`` get no gradient, ``src``
    gets the gradient of where it went. ``reduce="add"``/``"multiply"`` combine instead of
    overwriting (``multiply`` without a gradient)."""
    if src is None:
        src = value
    if reduce is not None:
        return _scatter_reduce(input, dim, index, src, reduce)
    grid, mask = _scatter_grid("scatter", input, dim, index, src)
    mask[grid] = True
    if isinstance(src, _T.Tensor):
        placed = ix.Place.apply(_src_part(src, _T._raw(index).shape), shape=input.shape,
                                index=grid)  # fmt: skip
    else:
        placed = xp.asarray(_T._raw(src), input.dtype)
    return ew.Where.apply(mask, placed, input)


def _scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Any, reduce: str) -> Tensor:
    if reduce == "add":
        if not isinstance(src, _T.Tensor):
            src = _make(xp.full(_T._raw(index).shape, src, input.dtype))
        return scatter_add(input, dim, index, src)
    if reduce != "multiply":
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    if input.requires_grad or getattr(src, "requires_grad", False):
        raise NotImplementedError("scatter(reduce='multiply') has no gradient here")
    grid, _ = _scatter_grid("scatter", input, dim, index, src)
    out = input._data.copy()
    part = _src_part(src, _T._raw(index).shape)._data if isinstance(src, _T.Tensor) else src
    xp.multiply.at(out, grid, part)
    return _make(out)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``out[index[i][j]][j] += src[i][j]`` (``dim=0``); repeated
    indices add up. Gradients: ``input`` all of it, ``src`` what it was added to."""
    grid, _ = _scatter_grid("scatter_add", input, dim, index, src)
    added = ix.IndexAdd.apply(_src_part(src, _T._raw(index).shape), shape=input.shape,
                              index=grid)  # fmt: skip
    return input + added


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *,
              alpha: Any = 1) -> Tensor:  # fmt: skip
    """A copy of ``input`` with ``alpha · source`` added at ``index`` along ``dim``
    (``out[:, index[i]] += alpha · source[:, i]`` for ``dim=1``)."""
    axis = _wrap(dim, input.ndim)
    idx = xp.asarray(_T._raw(index))
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{torch_name(idx.dtype)}")  # fmt: skip
    if idx.ndim > 1:
        raise IndexError(
            f"index_add_(): Index is supposed to be a vector, but got dim: {idx.ndim} with "
            f"type: {torch_name(idx.dtype)} and size: {list(idx.shape)}"
        )
    if source.dtype != input.dtype:
        raise RuntimeError(
            f"index_add_(): self ({torch_name(input.dtype)}) and source "
            f"({torch_name(source.dtype)}) must have the same scalar type"
        )
    if source.ndim and axis >= source.ndim:
        raise RuntimeError(
            f"index_add_(): Indexing dim {axis} is out of bounds of the source tensor with dim "
            f"{source.ndim}"
        )
    n = source.shape[axis] if source.ndim else 1
    if idx.size != n:
        raise RuntimeError(
            f"index_add_(): Number of indices ({idx.size}) should be equal to "
            f"source.size(dim): ({n}), for dim: {axis}"
        )
    if source.ndim != input.ndim or any(
        a != b for d, (a, b) in enumerate(zip(input.shape, source.shape)) if d != axis
    ):
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}"
        )
    idx = _index_vector("index_add_", idx, input.shape[axis] if input.ndim else 1)
    if input.ndim == 0:
        return input + source.reshape(()) * alpha
    where = (slice(None),) * axis + (idx,)
    added = ix.IndexAdd.apply(source if alpha == 1 else source * alpha, shape=input.shape,
                              index=where)  # fmt: skip
    return input + added


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` along ``dim`` set to ``value`` (a
    number or a 0-d tensor, which then gets their gradient)."""
    axis = _wrap(dim, input.ndim)
    idx = xp.asarray(_T._raw(index))
    if idx.dtype.kind not in "iu":
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if idx.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    size = input.shape[axis] if input.ndim else 1
    idx = idx.reshape(-1)
    bad = idx[(idx < -size) | (idx >= size)]
    if bad.size:
        raise IndexError(f"index {bad[0]} is out of bounds for dimension {axis} with size {size}")
    hit = xp.zeros(size, bool)
    hit[idx] = True
    mask = hit.reshape((-1,) + (1,) * (input.ndim - axis - 1)) if input.ndim else hit[0]
    if isinstance(value, _T.Tensor):
        if value.ndim:
            raise RuntimeError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        value = value.to(input.dtype)
    else:
        value = xp.asarray(value, input.dtype)
    return ew.Where.apply(xp.broadcast_to(mask, input.shape), value, input)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements where ``mask`` (broadcast with ``input``) is true, as a 1-d tensor."""
    m = _T._raw(mask)
    if xp.asarray(m).dtype != B.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = xp.broadcast_shapes(input.shape, m.shape)
    return input.expand(shape)[xp.broadcast_to(m, shape)]


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """The indices of the nonzero elements: an ``(n, ndim)`` int64 tensor, or with
    ``as_tuple`` one 1-d tensor per dimension (a 0-d input counts as 1-d)."""
    a = input._data
    found = xp.nonzero(a.reshape(1) if a.ndim == 0 else a)
    if as_tuple:
        return tuple(_make(i.astype(B.int64)) for i in found)
    if a.ndim == 0:
        return _make(xp.zeros((len(found[0]), 0), B.int64))
    return _make(xp.stack(found, axis=1).astype(B.int64))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``."""
    return nonzero(input)


# -- triangles and diagonals ---------------------------------------------------------------


def _triangle(name: str, input: Tensor, keep: Any) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    return ew.Where.apply(keep, input, xp.zeros((), input.dtype))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (``j ≤ i + diagonal``), zeros above."""
    n, m = input.shape[-2:] if input.ndim >= 2 else (0, 0)
    return _triangle("tril", input, xp.tri(n, m, diagonal, dtype=bool))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (``j ≥ i + diagonal``), zeros below."""
    n, m = input.shape[-2:] if input.ndim >= 2 else (0, 0)
    return _triangle("triu", input, ~xp.tri(n, m, diagonal - 1, dtype=bool))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``input[..., i, i + offset]`` of dims ``dim1``, ``dim2``, as the last dim."""
    d1, d2 = _T._wrap_dim(dim1, input.ndim), _T._wrap_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    rest = [d for d in range(input.ndim) if d not in (d1, d2)]
    x = input.permute(*rest, d1, d2)
    n1, n2 = input.shape[d1], input.shape[d2]
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    rows = xp.arange(length) + max(-offset, 0)
    return x[..., rows, rows - max(-offset, 0) + max(offset, 0)]


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-d input becomes the ``diagonal``-th diagonal of a square matrix of zeros; a 2-d
    input gives its ``diagonal``-th diagonal."""
    if input.ndim == 2:
        return globals()["diagonal"](input, diagonal)
    if input.ndim != 1:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    n, k = input.shape[0], diagonal
    size = n + abs(k)
    pos = xp.arange(n)
    return ix.IndexAdd.apply(input, shape=(size, size), index=(pos + max(-k, 0), pos + max(k, 0)))


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix (integers sum to int64)."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diagonal(input).sum()


# -- repeating, flipping, rolling, moving ----------------------------------------------------


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """Tile ``input``: ``sizes[i]`` copies along dim i (more sizes than dims add leading
    dims). Made of reshape and expand, so the gradient sums over the copies."""
    if not sizes:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    reps = _T._shape_args(sizes)
    if len(reps) < input.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    shape = (1,) * (len(reps) - input.ndim) + tuple(input.shape)
    inter = tuple(n for s in shape for n in (1, s))
    spread = tuple(n for r, s in zip(reps, shape) for n in (r, s))
    out = input.reshape(inter).expand(spread)
    return out.reshape(tuple(r * s for r, s in zip(reps, shape)))


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:  # fmt: skip
    """Each element (``dim=None``: of the flattened input) or slice along ``dim`` repeated
    ``repeats`` times (a number, or one count per slice). With only an int tensor of counts,
    ``repeat_interleave(counts)`` repeats the indices 0, 1, …."""
    if repeats is None:
        return repeat_interleave(_make(xp.arange(input.shape[0] if input.ndim else 1)), input)
    x, axis = (input.reshape(-1), 0) if dim is None else (input, _wrap(dim, input.ndim))
    if x.ndim == 0:
        x = x.reshape(1)
    n = x.shape[axis]
    reps = xp.asarray(_T._raw(repeats))
    if reps.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if (reps < 0).any():
        raise RuntimeError("repeats can not be negative")
    if reps.ndim == 1 and reps.size != n:
        raise RuntimeError(
            "repeats must have the same size as input along dim, but got "
            f"repeats.size(0) = {reps.size} and input.size({axis}) = {n}"
        )
    idx = xp.repeat(xp.arange(n), reps)
    return x[(slice(None),) * axis + (idx,)]


def flip(input: Tensor, *args: Any, dims: Any = None) -> Tensor:
    """Reverse the order along ``dims`` (``flip(0, 1)``, ``flip((0, 1))`` or ``dims=[0]``);
    a copy, as in torch."""
    given = dims if dims is not None else args[0] if len(args) == 1 else args
    if dims is None and not args:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    axes = tuple(_wrap(d, input.ndim) for d in _dims(given))
    for a in axes:
        if axes.count(a) > 1:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    if input.ndim == 0 or not axes:
        return input.clone()
    return sh.Flip.apply(input, axes=axes)


def fliplr(input: Tensor) -> Tensor:
    """Flip dim 1 (left and right of a matrix)."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    """Flip dim 0 (up and down)."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements cyclically by ``shifts`` along ``dims`` (``dims=None``: the
    flattened tensor, then the shape is restored)."""
    shifts = tuple(int(s) for s in _dims(shifts))
    if not shifts:
        raise RuntimeError("`shifts` required")
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return sh.Roll.apply(input.reshape(-1), shifts, (0,)).reshape(input.shape)
    axes = tuple(_T._wrap_dim(d, input.ndim) if input.ndim else _no_dims(d)
                 for d in _dims(dims))  # fmt: skip
    if len(axes) != len(shifts):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(axes)}"
        )
    return sh.Roll.apply(input, shifts, axes)


def _no_dims(d: int) -> int:
    raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (ints or sequences); the other
    dims keep their order."""
    src = [_T._wrap_dim(d, max(input.ndim, 1)) for d in _dims(source)]
    dst = [_T._wrap_dim(d, max(input.ndim, 1)) for d in _dims(destination)]
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(_dims(source))} "
            f"dims) should contain the same number of dims as destination "
            f"({list(_dims(destination))} dims)"
        )
    for name, ds, given in (("source", src, source), ("destination", dst, destination)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(_dims(given))})")
    if input.ndim == 0:
        return input
    order = [d for d in range(input.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return input.permute(*order)


moveaxis = movedim


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """``length`` elements along ``dim`` from ``start`` (negative counts from the end; a
    number or a 0-d integer tensor): a slice of ``input``."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if isinstance(start, _T.Tensor) and (start.ndim or start.dtype.kind not in "iu"):
        raise RuntimeError("start must be an 0-dim integral Tensor.")
    axis = _T._wrap_dim(dim, input.ndim)
    size, start = input.shape[axis], int(start)
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    start %= size if size else 1
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return input[(slice(None),) * axis + (slice(start, start + length),)]


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``input`` read at ``indices`` along ``dim`` (``gather``, with the other dims
    broadcast); ``dim=None`` reads the flattened input at the flattened indices."""
    idx = xp.asarray(_T._raw(indices))
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            f"torch.take_along_dim(): dtype of indices should be Long but got "
            f"{torch_name(idx.dtype)}"
        )
    if dim is None:
        return input.reshape(-1)[idx.reshape(-1)]
    if idx.ndim != input.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {input.ndim} dimensions for input, and {idx.ndim} dimensions "
            "for indices"
        )
    axis = _T._wrap_dim(dim, input.ndim)
    idx = xp.where(idx < 0, idx + input.shape[axis], idx)  # negative indices count from the end
    shape = []
    for d, (a, b) in enumerate(zip(input.shape, idx.shape)):
        if d != axis and a != b and 1 not in (a, b):
            raise RuntimeError(
                f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                f"non-singleton dimension {d}"
            )
        shape.append(max(a, b))
    x_shape = tuple(input.shape[d] if d == axis else n for d, n in enumerate(shape))
    i_shape = tuple(idx.shape[d] if d == axis else n for d, n in enumerate(shape))
    return input.expand(x_shape).gather(axis, _make(xp.broadcast_to(idx, i_shape)))


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-d (or 0-d) tensors: with ``indexing="ij"`` (the default)
    output ``i`` varies along dim ``i``; with ``"xy"`` the first two dims are swapped
    (Cartesian ``x, y``). Expanded views: the gradient sums over each grid."""
    if len(tensors) == 1 and isinstance(tensors[0], Sequence):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing not in (None, "ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(
                "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a "
                f"{t.ndim}-d tensor of shape {tuple(t.shape)}"
            )
        if t.dtype != tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for t, a in zip(tensors, axes):
        shape[a] = t.numel()
    return tuple(
        t.reshape(tuple(-1 if d == a else 1 for d in range(len(shape)))).expand(shape)
        for t, a in zip(tensors, axes)
    )


# -- in place ------------------------------------------------------------------------------

scatter_ = inplace_of(scatter)
scatter_add_ = inplace_of(scatter_add)
index_add_ = inplace_of(index_add)
index_fill_ = inplace_of(index_fill)
tril_ = inplace_of(tril)
triu_ = inplace_of(triu)
