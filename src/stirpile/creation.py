"""Making tensors: ``tensor`` from data, and the factories (``zeros``, ``randn``, …).

Dtype rules follow PyTorch: Python floats become the default float dtype
(float32), Python ints become int64, bools stay bool; a NumPy array keeps its
dtype (``tensor(np.float64 array)`` is float64, as ``torch.tensor`` does).
Every factory takes PyTorch's keyword arguments: ``dtype``, ``device`` (the
CPU; another device is an error naming it), ``requires_grad``, ``layout``
(strided), ``pin_memory`` (accepted, meaningless without a GPU) and ``out``.
Random factories draw from ``generator=`` or the default generator
(:func:`stirpile.manual_seed`).
"""

from __future__ import annotations

import math
from typing import Any

from . import backend as B
from ._out import check_internal_overlap
from .device import check as _check_device
from .tensor import Tensor, _raw, _shape_args


class layout:
    """A memory layout; stirpile's tensors are all ``strided`` (dense NumPy arrays)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"stirpile.{self.name}"


strided = layout("strided")


class memory_format:  # (PyTorch's name)
    """A memory format (``memory_format=`` arguments): accepted and ignored, since stirpile's
    tensors are dense NumPy arrays with no layout to choose."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"stirpile.{self.name}"


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def _to_array(data: Any, dtype: Any) -> Any:
    """A fresh backend array from nested lists, numbers, arrays or tensors."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is B.bfloat16:  # emulated: float32 values rounded to bfloat16
        return B.round_bfloat16(B.xp.array(data, dtype=B.float32))
    if dtype is not None:
        return B.xp.array(data, dtype=dtype)
    if isinstance(data, B.ndarray):
        return data.copy()
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        data = [x._data if isinstance(x, Tensor) else x for x in data]
    arr = B.xp.array(data)
    if arr.dtype.kind == "f":
        return arr.astype(B.get_default_dtype(), copy=False)
    if arr.dtype.kind in "iu" and arr.dtype != B.uint8:
        return arr.astype(B.int64, copy=False)
    if arr.dtype.kind not in "bcu":
        raise TypeError(f"tensor(): can't make a tensor from data of type {arr.dtype}")
    return arr


def _finish(array: Any, requires_grad: bool, device: Any = None, out: Tensor | None = None,
            layout: Any = None) -> Tensor:  # fmt: skip
    """The common tail of every factory: check the device and layout, honour ``out=`` and
    ``requires_grad``."""
    if device is not None:
        _check_device(device)
    if layout is not None and layout is not strided:
        raise RuntimeError(f"layout {layout} is not supported: stirpile tensors are strided")
    if out is not None:
        check_internal_overlap(out)
        out._resize_to(array)
        return out
    t = Tensor._make(array)
    return t.requires_grad_() if requires_grad else t


def _float(dtype: Any) -> Any:
    return B.get_default_dtype() if dtype is None else B.xp.dtype(dtype)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:  # fmt: skip
    """A new tensor holding a copy of ``data``.

    >>> import stirpile
    >>> stirpile.tensor([1.5, 2.0]).dtype == stirpile.float32
    True
    >>> stirpile.tensor([1, 2]).dtype == stirpile.int64
    True
    """
    return _finish(_to_array(data, dtype), requires_grad, device)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like :func:`tensor`, but shares memory with a NumPy array (or tensor) when it can."""
    _check_device(device)
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    if isinstance(data, B.ndarray) and (dtype is None or data.dtype == dtype):
        return Tensor._make(data)
    return tensor(data, dtype)


def from_numpy(array: Any) -> Tensor:
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, B.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._make(array)


def zeros(*size: Any, out: Tensor | None = None, dtype: Any = None, layout: Any = None,
          device: Any = None, requires_grad: bool = False,
          pin_memory: bool = False) -> Tensor:  # fmt: skip
    array = B.xp.zeros(_shape_args(size), _float(dtype))
    return _finish(array, requires_grad, device, out, layout)


def ones(*size: Any, out: Tensor | None = None, dtype: Any = None, layout: Any = None,
         device: Any = None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:  # fmt: skip
    array = B.xp.ones(_shape_args(size), _float(dtype))
    return _finish(array, requires_grad, device, out, layout)


def empty(*size: Any, out: Tensor | None = None, dtype: Any = None, layout: Any = None,
          device: Any = None, requires_grad: bool = False, pin_memory: bool = False,
          memory_format: Any = None) -> Tensor:  # fmt: skip
    """Uninitialized in PyTorch; zeros here (reading garbage helps no one)."""
    array = B.xp.zeros(_shape_args(size), _float(dtype))
    return _finish(array, requires_grad, device, out, layout)


def full(size: Any, fill_value: Any, *, out: Tensor | None = None, dtype: Any = None,
         layout: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:  # fmt: skip
    if dtype is None:
        dtype = _to_array(fill_value, None).dtype
    array = B.xp.full(_shape_args((size,)), _raw(fill_value), dtype)
    return _finish(array, requires_grad, device, out, layout)


def _like(fn: Any, t: Tensor, *args: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
    kwargs.pop("memory_format", None)
    return fn(t.shape, *args, dtype=t.dtype if dtype is None else dtype, **kwargs)


def zeros_like(input: Tensor, **kwargs: Any) -> Tensor:
    return _like(zeros, input, **kwargs)


def ones_like(input: Tensor, **kwargs: Any) -> Tensor:
    return _like(ones, input, **kwargs)


def empty_like(input: Tensor, **kwargs: Any) -> Tensor:
    return _like(empty, input, **kwargs)


def full_like(input: Tensor, fill_value: Any, **kwargs: Any) -> Tensor:
    return _like(full, input, fill_value, **kwargs)


def rand_like(input: Tensor, **kwargs: Any) -> Tensor:
    return _like(rand, input, **kwargs)


def randn_like(input: Tensor, **kwargs: Any) -> Tensor:
    return _like(randn, input, **kwargs)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, **kwargs: Any) -> Tensor:
    if high is None:
        low, high = 0, low
    return _like(lambda shape, **kw: randint(low, high, shape, **kw), input, **kwargs)


def arange(start: Any, end: Any = None, step: Any = 1, *, out: Tensor | None = None,
           dtype: Any = None, layout: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``arange(5)`` → 0…4 (int64); any float argument makes it float32, as in PyTorch."""
    if end is None:
        start, end = 0, start
    start, end, step = (_raw(v).item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None and out is not None:
        dtype = out.dtype
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = B.get_default_dtype() if is_float else B.int64
    if B.xp.dtype(dtype).kind in "biu":  # PyTorch truncates the bounds and step to integers
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = max(0, math.ceil((end - start) / step))  # PyTorch's count, computed in double
    array = (start + B.xp.arange(n, dtype=B.float64) * step).astype(dtype)
    if B.xp.dtype(dtype).kind in "iu":
        array = B.xp.arange(n, dtype=B.int64).astype(dtype) * step + start
        array = array.astype(dtype)
    return _finish(array, requires_grad, device, out, layout)


def range(start: Any, end: Any = None, step: Any = 1, **kwargs: Any) -> Tensor:
    """The deprecated inclusive ``torch.range``: float values from ``start`` to ``end``."""
    if end is None:
        start, end = 0, start
    kwargs.setdefault("dtype", B.get_default_dtype())
    return arange(start, end + step / 2 if step > 0 else end - abs(step) / 2, step, **kwargs)


def _endpoints(name: str, start: Any, end: Any) -> tuple:
    """``start`` and ``end`` as Python numbers (a 0-d tensor gives its value, read in
    double precision as torch does); a tensor with dimensions is refused."""
    dims = [v.ndim for v in (start, end) if isinstance(v, Tensor)]
    if any(dims):
        shown = [v.ndim if isinstance(v, Tensor) else 0 for v in (start, end)]
        raise RuntimeError(
            f"{name} only supports 0-dimensional start and end tensors, but got start with "
            f"{shown[0]} dimension(s) and end with {shown[1]} dimension(s)."
        )
    return tuple(v.item() if isinstance(v, Tensor) else v for v in (start, end))


def _spaced(name: str, start: Any, end: Any, steps: int, dtype: Any) -> tuple:
    """torch's linspace kernel: ``steps`` points from ``start`` to ``end``, the first half
    counted up from ``start`` (start + i·step) and the second half down from ``end``
    (end − (steps − 1 − i)·step), so that both ends are exact. Floating dtypes compute in
    that dtype; integer dtypes first truncate ``start`` and ``end`` to integers and compute
    in double precision. Returns the points (float64 for integer dtypes, not yet cast) and
    the dtype."""
    start, end = _endpoints(name, start, end)
    if isinstance(steps, Tensor) and steps.ndim == 0 and steps.dtype.kind in "iu":
        steps = int(steps.item())
    if not isinstance(steps, int):
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got steps of type "
            f"{type(steps).__name__}, but expected (Number start, Number end, int steps)"
        )
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = _float(dtype)
    if dtype.kind == "b":
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
    work = dtype if dtype.kind in "fc" else B.float64
    if dtype.kind in "iu":
        start, end = int(start), int(end)
    s, e = work.type(start), work.type(end)
    i = B.xp.arange(steps).astype(work)
    step = (e - s) / work.type(max(steps - 1, 1))
    up, down = s + step * i, e - step * (work.type(steps - 1) - i)
    return B.xp.where(B.xp.arange(steps) < steps // 2, up, down), dtype


def linspace(start: Any, end: Any, steps: int, *, out: Tensor | None = None,
             dtype: Any = None, layout: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included); an integer
    ``dtype`` truncates the ends and then each value toward zero, as torch.

    >>> import stirpile
    >>> stirpile.linspace(0, 1, 5)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    values, dtype = _spaced("linspace", start, end, steps, dtype)
    if values.size == 1:  # torch fills with start itself
        values = B.xp.full(1, _endpoints("linspace", start, end)[0])
    return _finish(values.astype(dtype), requires_grad, device, out, layout)


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *,
             out: Tensor | None = None, dtype: Any = None, layout: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``base ** linspace(start, end, steps)``: the exponents as :func:`linspace` computes
    them (for an integer ``dtype``: from the truncated ends), the powers in double precision
    for integer dtypes and in ``dtype`` otherwise, then truncated toward zero.

    >>> import stirpile
    >>> stirpile.logspace(0, 2, 3)
    tensor([  1.,  10., 100.])
    """
    exponents, dtype = _spaced("logspace", start, end, steps, dtype)
    if exponents.size == 1:  # torch fills with base ** start, the start not truncated
        exponents = B.xp.full(1, _endpoints("logspace", start, end)[0], B.float64)
    work = exponents.dtype
    with B.xp.errstate(over="ignore", invalid="ignore"):  # (inf, as torch; ints: as cast)
        values = B.xp.power(work.type(base), exponents).astype(dtype)
    return _finish(values, requires_grad, device, out, layout)


def eye(n: int, m: int | None = None, *, out: Tensor | None = None, dtype: Any = None,
        layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # fmt: skip
    """The ``n × m`` (default ``n × n``) identity matrix."""
    for name, size in (("n", n), ("m", m)):
        if size is not None and size < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {size}")
    return _finish(B.xp.eye(n, m, dtype=_float(dtype)), requires_grad, device, out, layout)


# -- random ------------------------------------------------------------------------------


def rand(*size: Any, generator: Any = None, out: Tensor | None = None, dtype: Any = None,
         layout: Any = None, device: Any = None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:  # fmt: skip
    """Uniform on [0, 1)."""
    d = _float(dtype)
    array = B.numpy_rng(generator).random(_shape_args(size), dtype=d)
    return _finish(array, requires_grad, device, out, layout)


def randn(*size: Any, generator: Any = None, out: Tensor | None = None, dtype: Any = None,
          layout: Any = None, device: Any = None, requires_grad: bool = False,
          pin_memory: bool = False) -> Tensor:  # fmt: skip
    """Standard normal."""
    d = _float(dtype)
    array = B.numpy_rng(generator).standard_normal(_shape_args(size), dtype=d)
    return _finish(array, requires_grad, device, out, layout)


def randint(low: int, high: Any = None, size: Any = None, *, generator: Any = None,
            out: Tensor | None = None, dtype: Any = None, layout: Any = None,
            device: Any = None, requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Integers in [low, high) (``randint(high, size)`` also works, as in PyTorch)."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")  # fmt: skip
    d = B.int64 if dtype is None else B.xp.dtype(dtype)
    array = B.numpy_rng(generator).integers(low, high, _shape_args((size,))).astype(d)
    return _finish(array, requires_grad, device, out, layout)


def randperm(n: int, *, generator: Any = None, out: Tensor | None = None, dtype: Any = None,
             layout: Any = None, device: Any = None, requires_grad: bool = False,
             pin_memory: bool = False) -> Tensor:  # fmt: skip
    array = B.numpy_rng(generator).permutation(n).astype(dtype or B.int64)
    return _finish(array, requires_grad, device, out, layout)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           out: Tensor | None = None, dtype: Any = None, layout: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Normal samples, in PyTorch's four forms: ``normal(mean_tensor, std_tensor)``,
    ``normal(mean_tensor, std=1.0)``, ``normal(mean=0.0, std_tensor)`` (the result takes the
    broadcast shape of the tensors) and ``normal(mean, std, size)`` with numbers."""
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal(): with float mean and std, the size argument is required")
        shape, d = _shape_args((size,)), _float(dtype)
    else:
        if size is not None:
            raise TypeError("normal(): size is only allowed when mean and std are numbers")
        shape = B.xp.broadcast_shapes(*(t.shape for t in tensors))
        d = tensors[0].dtype if dtype is None else B.xp.dtype(dtype)
    s = _raw(std)
    if B.xp.any(B.xp.asarray(s) < 0):
        raise RuntimeError(f"normal expects all elements of std >= 0.0, got std={std}")
    z = B.numpy_rng(generator).standard_normal(shape)
    return _finish((_raw(mean) + s * z).astype(d), requires_grad, device, out, layout)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Any = None, out: Tensor | None = None) -> Tensor:  # fmt: skip
    """Indices drawn from the (unnormalized) categorical distribution in each row."""
    p = _raw(input)
    if p.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if p.dtype.kind != "f":
        raise RuntimeError(
            "multinomial only supports floating-point dtypes for input, got: "
            f"{B.torch_name(p.dtype)}"
        )
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if out is not None and out.dtype != B.int64:
        raise RuntimeError(f"multinomial expects Long tensor out, got: {B.torch_name(out.dtype)}")
    rows = p.reshape(-1, p.shape[-1]).astype(B.float64)
    if (rows < 0).any() or not B.xp.isfinite(rows).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (rows.sum(-1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > p.shape[-1]:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    rng = B.numpy_rng(generator)
    if replacement:
        cdf = B.xp.cumsum(rows, -1)
        u = rng.random((rows.shape[0], num_samples)) * cdf[:, -1:]
        picks = B.xp.stack([B.xp.searchsorted(c, v, side="right") for c, v in zip(cdf, u)])
    else:  # Gumbel top-k: k draws without replacement, in order, in one pass
        with B.xp.errstate(divide="ignore"):
            keys = B.xp.log(rows) - B.xp.log(-B.xp.log(rng.random(rows.shape)))
        picks = B.xp.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]
    picks = B.xp.minimum(picks, p.shape[-1] - 1).astype(B.int64)
    return _finish(picks.reshape(*p.shape[:-1], num_samples), False, None, out)


def bernoulli(input: Tensor, p: Any = None, *, generator: Any = None,
              out: Tensor | None = None) -> Tensor:  # fmt: skip
    """0/1 samples with probability ``input`` (or ``p``), in ``input``'s dtype."""
    prob = _raw(input) if p is None else B.xp.broadcast_to(_raw(p), input.shape)
    if B.xp.any((prob < 0) | (prob > 1)):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    draw = B.numpy_rng(generator).random(input.shape) < prob
    return _finish(draw.astype(input.dtype), False, None, out)


def poisson(input: Tensor, generator: Any = None) -> Tensor:
    return Tensor._make(B.numpy_rng(generator).poisson(_raw(input)).astype(input.dtype))
