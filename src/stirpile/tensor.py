"""``Tensor``: an n-d array, its gradient, and its place in the autograd graph.

A tensor wraps one backend array (``numpy()`` gives it back without copying).
Every operator and method below delegates to a primitive in
:mod:`stirpile.ops` (or composes several), which records a graph node when
an input requires grad. ``backward()`` hands the graph to the engine.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import backend as B
from .autograd import backward as _autograd_backward
from .autograd import engine as _engine
from .autograd import function as _function
from .autograd import grad_mode as _gm
from .ops import activation as act
from .ops import elementwise as ew
from .ops import index as ix
from .ops import linalg, reduce
from .ops import shape as sh

Scalar = int | float | bool
_new = object.__new__  # for Tensor._make: module globals are the cheapest lookups
_ndarray = B.ndarray


def _dim(dim: Any, axis: Any) -> Any:
    """PyTorch's ``dim`` with NumPy's ``axis`` accepted as an alias (as PyTorch does)."""
    return axis if dim is None else dim


def _wrap_dim(dim: int, ndim: int) -> int:
    """``dim`` in ``[-ndim, ndim)`` as an index from 0; PyTorch's IndexError otherwise."""
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
            f"but got {dim})"
        )
    return dim % ndim


def _shape_args(args: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` both mean shape (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(int(n) for n in args)


class Tensor:
    """A NumPy-backed n-d array that records the operations applied to it.

    >>> import stirpile
    >>> x = stirpile.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([[2., 4.],
            [6., 8.]])
    """

    __slots__ = ("__weakref__", "_data", "_hooks", "_idx", "_node", "grad", "requires_grad")

    # Make NumPy defer to us: ``ndarray * tensor`` calls Tensor.__rmul__ instead of
    # turning the tensor into an array (which would drop it from the graph).
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        from .creation import _to_array

        self._init(_to_array(data, None), None)
        if requires_grad:
            self.requires_grad_()

    def _init(self, array: Any, node: Any) -> None:
        self._data = array
        self.grad: Tensor | None = None
        self._node = node
        self._idx = 0
        self._hooks: list | None = None
        self.requires_grad = node is not None

    @classmethod
    def _make(cls, array: Any, node: Any = None) -> Tensor:
        """Wrap an array (no copy); ``node`` is the operation that produced it, if recorded."""
        # the hot path of every op: the body of _init, inlined
        t = _new(cls)
        t._data = array if type(array) is _ndarray else B.xp.asarray(array)
        t.grad = t._hooks = None
        t._node = node
        t._idx = 0
        t.requires_grad = node is not None
        return t

    # -- attributes ----------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """The same values, detached from the graph (shares memory, as in PyTorch)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value._data if isinstance(value, Tensor) else B.xp.asarray(value)

    @property
    def shape(self) -> tuple:
        return self._data.shape

    def size(self, dim: int | None = None) -> Any:
        return self._data.shape if dim is None else self._data.shape[dim]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    @property
    def dtype(self) -> Any:
        return self._data.dtype

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def grad_fn(self) -> Any:
        return self._node

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    # Hashed by identity, as in PyTorch (``__eq__`` is elementwise). object's own C-level
    # hash: tensors key the engine's and the optimizers' dicts on every step.
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        a = self._data
        whole = a.dtype.kind != "f" or not a.size or B.xp.all(B.xp.mod(a[B.xp.isfinite(a)], 1) == 0)
        body = B.xp.array2string(
            a, separator=", ", prefix="tensor(", precision=4, threshold=1000,
            floatmode="maxprec" if whole else "fixed",
        )  # fmt: skip
        extra = ""
        if not a.size and a.ndim != 1:
            extra += f", size={a.shape}"
        # an empty tensor shows any dtype but the default: there are no values to tell
        implied = (B.get_default_dtype(), B.int64, B.bool_) if a.size else (B.get_default_dtype(),)
        if self.dtype not in implied:
            extra += f", dtype={B.dtype_name(self.dtype)}"
        if self._node is not None:
            extra += f", grad_fn={self._node!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- conversion ----------------------------------------------------------------------
    def numpy(self) -> Any:
        """The underlying array (no copy). Refused on a tensor that requires grad, as in
        PyTorch: use ``detach().numpy()``."""
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on a tensor that requires grad. Use tensor.detach().numpy()."
            )
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self) -> Scalar:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to a Scalar"
            )
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iub":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous"
            )
        return bool(self._data)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to("cpu")``, ``to(other_tensor)``; differentiable."""
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif not isinstance(a, str):
                dtype = a
            elif a != "cpu":
                raise RuntimeError(f"stirpile runs on the CPU only; cannot move to {a!r}")
        if dtype is None or B.xp.dtype(dtype) == self.dtype:
            return self
        dtype = B.xp.dtype(dtype)
        if dtype.kind != "f":  # integer and bool results carry no gradient
            return Tensor._make(self._data.astype(dtype))
        return ew.Cast.apply(self, dtype=dtype)

    def type(self, dtype: Any) -> Tensor:
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(B.float32)

    def double(self) -> Tensor:
        return self.to(B.float64)

    def long(self) -> Tensor:
        return self.to(B.int64)

    def int(self) -> Tensor:
        return self.to(B.int32)

    def bool(self) -> Tensor:
        return self.to(B.bool_)

    def cpu(self) -> Tensor:
        return self

    def contiguous(self) -> Tensor:
        return self

    # -- autograd ------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.dtype.kind not in "fc":
            raise RuntimeError(
                f"only tensors of floating point dtype can require gradients (got {self.dtype})"
            )
        if not requires_grad and self._node is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables; use detach()"
            )
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """The same values, out of the graph (shares memory)."""
        return Tensor._make(self._data)

    def detach_(self) -> Tensor:
        self._node, self.requires_grad = None, False
        return self

    def clone(self) -> Tensor:
        """A copy that stays in the graph (its gradient flows back to ``self``)."""
        return ew.Clone.apply(self)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        import weakref

        if self._node is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on a tensor that doesn't require grad")
            return
        if self._node.retained is None:
            self._node.retained = {}
        self._node.retained[self._idx] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        node = self._node
        return node is not None and self._idx in (node.retained or {})

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require grad")
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self._node.hooks is None:
                self._node.hooks = {}
            hooks = self._node.hooks.setdefault(self._idx, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Sequence[Tensor] | None = None,
    ) -> None:
        """Accumulate d self / d leaf into every leaf's ``.grad`` (see :mod:`autograd.engine`),
        or only into those of ``inputs``."""
        _autograd_backward(self, gradient, retain_graph, create_graph, inputs)

    # -- operators -----------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return ew.Add.apply(*_pair(self, other))

    def __radd__(self, other: Any) -> Tensor:
        return ew.Add.apply(*_pair(self, other, reflected=True))

    def __sub__(self, other: Any) -> Tensor:
        return ew.Sub.apply(*_pair(self, other))

    def __rsub__(self, other: Any) -> Tensor:
        return ew.Sub.apply(*_pair(self, other, reflected=True))

    def __mul__(self, other: Any) -> Tensor:
        return ew.Mul.apply(*_pair(self, other))

    def __rmul__(self, other: Any) -> Tensor:
        return ew.Mul.apply(*_pair(self, other, reflected=True))

    def __truediv__(self, other: Any) -> Tensor:
        return ew.Div.apply(*_pair(self, other, true_div=True))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ew.Div.apply(*_pair(self, other, reflected=True, true_div=True))

    def __pow__(self, other: Any) -> Tensor:
        return ew.Pow.apply(*_pair(self, other))

    def __rpow__(self, other: Any) -> Tensor:
        return ew.Pow.apply(*_pair(self, other, reflected=True))

    def __matmul__(self, other: Any) -> Tensor:
        return linalg.MatMul.apply(self, _as_tensor(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return linalg.MatMul.apply(_as_tensor(other, self), self)

    def __neg__(self) -> Tensor:
        return ew.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    # In-place operators: refused on tensors that require grad while recording (the
    # graph may have saved the old values); fine on everything else.
    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    # comparisons: no gradient, boolean results
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._make(self._data == _raw(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._make(self._data != _raw(other))

    def __lt__(self, other: Any) -> Tensor:
        return Tensor._make(self._data < _raw(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor._make(self._data <= _raw(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._make(self._data > _raw(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._make(self._data >= _raw(other))

    def __and__(self, other: Any) -> Tensor:
        return Tensor._make(self._data & _raw(other))

    def __or__(self, other: Any) -> Tensor:
        return Tensor._make(self._data | _raw(other))

    def __xor__(self, other: Any) -> Tensor:
        return Tensor._make(self._data ^ _raw(other))

    def __invert__(self) -> Tensor:
        return Tensor._make(~self._data)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def logical_not(self) -> Tensor:
        return Tensor._make(B.xp.logical_not(self._data))

    def isnan(self) -> Tensor:
        return Tensor._make(B.xp.isnan(self._data))

    def isfinite(self) -> Tensor:
        return Tensor._make(B.xp.isfinite(self._data))

    def allclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        return bool(B.xp.allclose(self._data, _raw(other), rtol=rtol, atol=atol))

    def equal(self, other: Tensor) -> bool:
        return self.shape == other.shape and bool((self._data == other._data).all())

    # -- arithmetic methods --------------------------------------------------------------
    def add(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def neg(self) -> Tensor:
        return -self

    def matmul(self, other: Tensor) -> Tensor:
        return self @ other

    mm = bmm = matmul

    def dot(self, other: Tensor) -> Tensor:
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"dot: 1D tensors expected, got {self.ndim}D and {other.ndim}D")
        return self @ other

    def exp(self) -> Tensor:
        return ew.Exp.apply(self)

    def log(self) -> Tensor:
        return ew.Log.apply(self)

    def log1p(self) -> Tensor:
        return ew.Log1p.apply(self)

    def sqrt(self) -> Tensor:
        return ew.Sqrt.apply(self)

    def rsqrt(self) -> Tensor:
        return 1 / self.sqrt()

    def square(self) -> Tensor:
        return self * self

    def reciprocal(self) -> Tensor:
        return 1 / self

    def abs(self) -> Tensor:
        return ew.Abs.apply(self)

    def sign(self) -> Tensor:
        return Tensor._make(B.xp.sign(self._data))

    def sin(self) -> Tensor:
        return ew.Sin.apply(self)

    def cos(self) -> Tensor:
        return ew.Cos.apply(self)

    def tanh(self) -> Tensor:
        return act.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return act.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return act.Relu.apply(self)

    def clamp(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        return ew.Clamp.apply(self, lo=min, hi=max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return ew.Maximum.apply(*_pair(self, other))

    def minimum(self, other: Any) -> Tensor:
        return ew.Minimum.apply(*_pair(self, other))

    def where(self, condition: Any, other: Any) -> Tensor:
        """``self`` where ``condition`` holds, else ``other`` (PyTorch's method form)."""
        from .functions import where

        return where(condition, self, other)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        return self + (end - self) * weight

    # -- reductions ----------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None, dtype: Any = None) -> Tensor:  # fmt: skip
        x = self if dtype is None else self.to(dtype)
        if x.dtype == B.bool_:
            x = x.long()
        keep = keepdim if keepdims is None else keepdims
        return reduce.Sum.apply(x, axis=_dim(dim, axis), keepdims=keep)

    def mean(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None, dtype: Any = None) -> Tensor:  # fmt: skip
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind not in "fc":
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be floating point, "
                f"got {B.dtype_name(x.dtype)}"
            )
        keep = keepdim if keepdims is None else keepdims
        return reduce.Mean.apply(x, axis=_dim(dim, axis), keepdims=keep)

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> Tensor:  # fmt: skip
        """Variance Σ(x − mean)² / (N − correction); ``correction=1`` (Bessel) by default."""
        if correction is None:
            correction = 0 if unbiased is False else 1
        centered = self - self.mean(dim, keepdim=True)
        n = self.numel() // max(1, centered.mean(dim, keepdim=keepdim).numel())
        return (centered * centered).sum(dim, keepdim=keepdim) / max(0, n - correction)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> Tensor:  # fmt: skip
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Any:
        """``max()`` → the largest value; ``max(dim)`` → ``(values, indices)``; ``max(t)`` →
        elementwise maximum, as in PyTorch."""
        return self._extreme(reduce.Max, B.xp.argmax, dim, axis, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Any:
        return self._extreme(reduce.Min, B.xp.argmin, dim, axis, keepdim)

    def _extreme(self, op: Any, arg: Callable, dim: Any, axis: Any, keepdim: bool) -> Any:
        dim = _dim(dim, axis)
        if isinstance(dim, Tensor):
            return self.maximum(dim) if op is reduce.Max else self.minimum(dim)
        if dim is None:
            return op.apply(self, axis=dim, keepdims=keepdim)
        # the values are gathered at the returned indices, so that (as in PyTorch) the
        # gradient goes to that one element even when the extreme value is tied
        indices = arg(self._data, axis=dim, keepdims=True)
        values = self.gather(dim, Tensor._make(indices))
        if not keepdim:
            values, indices = values.squeeze(dim), indices.squeeze(axis=dim)
        return _MinMax((values, Tensor._make(indices)))

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return reduce.Max.apply(self, axis=dim, keepdims=keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return reduce.Min.apply(self, axis=dim, keepdims=keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor._make(B.xp.argmax(self._data, axis=dim, keepdims=keepdim))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor._make(B.xp.argmin(self._data, axis=dim, keepdims=keepdim))

    def logsumexp(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return reduce.LogSumExp.apply(self, axis=dim, keepdims=keepdim)

    def softmax(self, dim: int = -1) -> Tensor:
        return act.Softmax.apply(self, axis=dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return act.LogSoftmax.apply(self, axis=dim)

    def all(self, dim: Any = None) -> Tensor:
        return Tensor._make(B.xp.all(self._data, axis=dim))

    def any(self, dim: Any = None) -> Tensor:
        return Tensor._make(B.xp.any(self._data, axis=dim))

    def norm(self, p: float = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
        if p == 2:
            return (self * self).sum(dim, keepdim=keepdim).sqrt()
        if p == 1:
            return self.abs().sum(dim, keepdim=keepdim)
        return (self.abs() ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)

    # -- shape ---------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        shape = _shape_args(shape)
        if shape == self.shape:
            return self
        return sh.Reshape.apply(self, shape=shape)

    view = reshape

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _wrap_dim(start_dim, self.ndim), _wrap_dim(end_dim, self.ndim)
        return self.reshape(*self.shape[:s], -1, *self.shape[e + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        dim = _wrap_dim(dim, self.ndim + 1)
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim: Any = None) -> Tensor:
        if dim is None:
            return self.reshape(*(n for n in self.shape if n != 1))
        dims = {_wrap_dim(d, max(self.ndim, 1)) for d in ((dim,) if isinstance(dim, int) else dim)}
        return self.reshape(*(n for i, n in enumerate(self.shape) if not (i in dims and n == 1)))

    def permute(self, *dims: Any) -> Tensor:
        dims = _shape_args(dims)
        if dims == tuple(range(self.ndim)):
            return self
        return sh.Permute.apply(self, axes=dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        dims = list(range(self.ndim))
        dim0, dim1 = _wrap_dim(dim0, self.ndim), _wrap_dim(dim1, self.ndim)
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self.permute(*dims)

    swapaxes = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self.T

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _shape_args(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
                f"to the number of dimensions in the tensor ({self.ndim})"
            )
        target = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
        if target == self.shape:
            return self
        return sh.Expand.apply(self, shape=target)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    broadcast_to = expand

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        n = self.shape[dim]
        if isinstance(split_size, int):
            sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else [])
        else:
            sizes = list(split_size)
            if sum(sizes) != n:
                raise RuntimeError(f"split: sizes {sizes} do not add up to {n} (dim {dim})")
        lead = (slice(None),) * (dim % self.ndim)
        out, start = [], 0
        for s in sizes:
            out.append(self[(*lead, slice(start, start + s))])
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        n = self.shape[dim]
        return self.split(-(-n // chunks) if n else 1, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        lead = (slice(None),) * (dim % self.ndim)
        return tuple(self[(*lead, i)] for i in range(self.shape[dim]))

    # -- indexing ------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> Tensor:
        return ix.GetItem.apply(self, index=_index(index))

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_inplace("__setitem__")
        self._data[_index(index)] = _raw(value)

    def gather(self, dim: int, index: Tensor) -> Tensor:
        """``out[i][j] = self[i][index[i][j]]`` for ``dim=1`` (and likewise for any dim)."""
        idx = _raw(index)
        if idx.ndim != self.ndim:
            raise RuntimeError(
                f"gather: index has {idx.ndim} dims but input has {self.ndim}; they must match"
            )
        grid = list(B.xp.indices(idx.shape, sparse=True))
        grid[_wrap_dim(dim, self.ndim)] = idx
        return self[tuple(grid)]

    def masked_fill(self, mask: Any, value: Scalar) -> Tensor:
        from .functions import where

        if isinstance(value, Tensor):  # the result keeps self's dtype, as in PyTorch
            value = value.to(self.dtype)
        return where(mask, value, self)

    def masked_fill_(self, mask: Any, value: Scalar) -> Tensor:
        self._check_inplace("masked_fill_")
        self._data[B.xp.broadcast_to(_raw(mask), self.shape)] = value
        return self

    # -- in place (for optimizers and init) ----------------------------------------------
    def _check_inplace(self, name: str) -> None:
        if self.requires_grad and _gm._enabled:
            kind = "a leaf Variable" if self._node is None else "a tensor"
            raise RuntimeError(
                f"{name}: {kind} that requires grad is being used in an in-place operation; "
                "wrap it in `with stirpile.no_grad():` (or use the out-of-place form)"
            )

    def _inplace(self, name: str, value: Any) -> Tensor:
        self._check_inplace(name)
        self._data[...] = value
        return self

    def _ufunc_(self, name: str, ufunc: Any, other: Any) -> Tensor:
        """``self = ufunc(self, other)`` in place. As in PyTorch, the result must keep
        ``self``'s shape and dtype kind (no float into an int tensor); if not, it raises
        before writing anything."""
        self._check_inplace(name)
        try:
            ufunc(self._data, _raw(other), out=self._data, casting="same_kind")
        except (TypeError, ValueError) as e:
            raise RuntimeError(f"{name}: {e}") from None
        return self

    def add_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self._ufunc_("add_", B.xp.add, other if alpha == 1 else _raw(other) * alpha)

    def sub_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._ufunc_("mul_", B.xp.multiply, other)

    def div_(self, other: Any) -> Tensor:
        return self._ufunc_("div_", B.xp.divide, other)

    def addcmul_(self, t1: Any, t2: Any, value: Scalar = 1) -> Tensor:
        return self.add_(_raw(t1) * _raw(t2), value)

    def addcdiv_(self, t1: Any, t2: Any, value: Scalar = 1) -> Tensor:
        return self.add_(_raw(t1) / _raw(t2), value)

    def clamp_(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:
        self._check_inplace("clamp_")
        B.xp.clip(self._data, min, max, out=self._data)
        return self

    def zero_(self) -> Tensor:
        return self._inplace("zero_", 0)

    def fill_(self, value: Any) -> Tensor:
        return self._inplace("fill_", _raw(value))

    def copy_(self, src: Any) -> Tensor:
        src = _raw(src)
        if B.xp.shape(src) != self.shape:
            try:
                B.xp.broadcast_to(src, self.shape)
            except ValueError:
                raise RuntimeError(
                    f"copy_: source of shape {tuple(B.xp.shape(src))} cannot be broadcast to "
                    f"{tuple(self.shape)}"
                ) from None
        return self._inplace("copy_", src)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        return self._inplace("uniform_", B.rng().uniform(a, b, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        return self._inplace("normal_", B.rng().normal(mean, std, self.shape))

    def bernoulli_(self, p: float = 0.5) -> Tensor:
        return self._inplace("bernoulli_", B.rng().random(self.shape) < p)


class _MinMax(tuple):
    """``(values, indices)`` from ``max(dim)``/``min(dim)``, readable by name too."""

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


class _HookHandle:
    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


# -- helpers for operators ---------------------------------------------------------------


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _as_tensor(x: Any, like: Tensor) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from .creation import _to_array

    return Tensor._make(_to_array(x, like.dtype if isinstance(x, numbers.Number) else None))


def _pair(a: Tensor, b: Any, reflected: bool = False, true_div: bool = False) -> tuple:
    """Operands for a binary op, with PyTorch's promotion of Python scalars: a number
    never changes a float tensor's dtype, but a float turns an integer tensor into the
    default float dtype, and true division of integers gives floats."""
    # (dtypes read from the arrays: ``Tensor.dtype`` is a property call, on every op)
    if isinstance(b, (bool, int, float)):
        if (isinstance(b, float) or true_div) and a._data.dtype.kind in "biu":
            a = a.to(B.get_default_dtype())
    else:
        b = _as_tensor(b, a)
        if a._data.dtype != b._data.dtype:
            a, b = _promote(a, b)
        if true_div and a._data.dtype.kind in "biu":
            a, b = a.to(B.get_default_dtype()), b.to(B.get_default_dtype())
    return (b, a) if reflected else (a, b)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _promote(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """PyTorch's type promotion for two tensors of different dtypes: the higher category
    (bool < int < float) wins, with its own dtype (``int64 * float64 0-d`` is float64);
    within a category a 0-d tensor defers to one with dimensions, so
    ``float32 tensor * float64 scalar tensor`` stays float32."""
    ca, cb = _CATEGORY[a.dtype.kind], _CATEGORY[b.dtype.kind]
    if ca != cb:
        dtype = a.dtype if ca > cb else b.dtype
    elif (a.ndim == 0) != (b.ndim == 0):
        dtype = b.dtype if a.ndim == 0 else a.dtype
    else:
        dtype = B.xp.result_type(a.dtype, b.dtype)
    return a.to(dtype), b.to(dtype)


def _index(index: Any) -> Any:
    """Tensors inside an index become arrays; lists of ints become integer arrays."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return B.xp.asarray(index)
    return index


# the autograd machinery needs the class but is imported before it exists
_function.Tensor = _engine.Tensor = Tensor
