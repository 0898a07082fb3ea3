"""``Tensor``: an n-d array, its gradient, and its place in the autograd graph.

A tensor wraps one backend array (``numpy()`` gives it back without copying).
Every operator and method below delegates to a primitive in
:mod:`stirpile.ops` (or composes several), which records a graph node when
an input requires grad. ``backward()`` hands the graph to the engine.
"""

from __future__ import annotations

import numbers
import operator as _op
from collections.abc import Callable, Iterator, Sequence
from typing import Any

# (the modules of PyTorch's wider surface, bound as methods below; they read Tensor from
# this module at call time)
from . import _indexing as _ixm
from . import _new_tensors as _newt
from . import _pointwise as _pw
from . import _products as _prod
from . import _reductions as _red
from . import backend as B
from . import device as _device
from .autograd import backward as _autograd_backward
from .autograd import engine as _engine
from .autograd import function as _function
from .inplace import InPlaceMethods
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
    """``dim`` in ``[-ndim, ndim)`` as an index from 0; PyTorch's IndexError otherwise.
    As in PyTorch a 0-d tensor takes ``0`` and ``-1`` (both give 0) as if it had one dim."""
    n = ndim if ndim > 0 else 1
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def _shape_args(args: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` both mean shape (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(int(n) for n in args)


class Tensor(InPlaceMethods):
    """A NumPy-backed n-d array that records the operations applied to it.

    >>> import stirpile
    >>> x = stirpile.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([[2., 4.],
            [6., 8.]])
    """

    __slots__ = (
        "__weakref__", "_data", "_hooks", "_idx", "_node", "_untracked", "grad", "requires_grad",
    )  # fmt: skip

    # Make NumPy defer to us: ``ndarray * tensor`` calls Tensor.__rmul__ instead of
    # turning the tensor into an array (which would drop it from the graph).
    __array_ufunc__ = None

    def __init__(self, *args: Any, device: Any = None, requires_grad: bool = False) -> None:
        """PyTorch's legacy constructor: ``Tensor(2, 3)`` is a (2, 3) tensor of zeros (PyTorch
        leaves it uninitialized), ``Tensor([1, 2])`` copies data as the default float dtype,
        ``Tensor(t)`` shares ``t``'s memory. Prefer :func:`stirpile.tensor` and the factories."""
        from .creation import _finish, _to_array

        dtype = B.get_default_dtype()
        if len(args) == 1 and isinstance(args[0], Tensor):
            array = args[0]._data
        elif all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            array = B.xp.zeros(args or (0,), dtype)  # sizes (no args: an empty 1-d tensor)
        elif len(args) == 1 and not isinstance(args[0], (int, float, bool)):
            array = _to_array(args[0], None)
            if array.dtype.kind in "biuf":
                array = array.astype(dtype, copy=False)
        else:
            raise TypeError(
                f"Tensor(): expected sizes (ints), data (a sequence) or a tensor, got "
                f"{', '.join(type(a).__name__ for a in args)}"
            )
        self._init(_finish(array, False, device)._data, None)
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
        """The same values, detached from the graph (shares memory, as in PyTorch). Unlike
        :meth:`detach`, in-place writes through it are not version-counted: autograd will
        not notice them (PyTorch's escape hatch, kept as it is)."""
        t = Tensor._make(self._data)
        t._untracked = True
        return t

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
    def device(self) -> Any:
        return _device.CPU

    is_cuda = is_mps = is_meta = is_quantized = is_sparse = False

    def get_device(self) -> int:
        return -1  # PyTorch's answer for a CPU tensor

    def nelement(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return bool(self._data.flags.c_contiguous)

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
        """NumPy's view of the tensor: no copy unless ``copy=True`` or a dtype change asks
        for one (NumPy 2's protocol; ``np.array(t)`` copies, ``np.asarray(t)`` does not)."""
        if copy is False and dtype is not None and B.xp.dtype(dtype) != self.dtype:
            raise ValueError("Unable to avoid copy while creating an array as requested.")
        a = self._data if dtype is None else self._data.astype(dtype, copy=False)
        return a.copy() if copy and a is self._data else a

    def __format__(self, format_spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as in PyTorch."""
        if self.ndim == 0:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)

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
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``, with
        PyTorch's keywords (``dtype``, ``device``, ``non_blocking``, ``copy``); differentiable.
        A device other than the CPU raises an error naming it. Returns ``self`` when nothing
        changes (unless ``copy=True``)."""
        _, dtype, copy = _to_args(args, kwargs)  # (the device is checked there)
        if dtype is B.bfloat16:  # emulated: float32 values rounded to bfloat16
            return self.bfloat16()
        if dtype is None or B.xp.dtype(dtype) == self.dtype:
            return self.clone() if copy else self
        dtype = B.xp.dtype(dtype)
        if dtype.kind != "f":  # integer and bool results carry no gradient
            return Tensor._make(ew.astype(self._data, dtype))
        return ew.Cast.apply(self, dtype=dtype)

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """Without an argument, PyTorch's type string (``"torch.FloatTensor"``); with one (a
        dtype, a legacy type like ``stirpile.LongTensor`` or its name), a converted tensor."""
        from . import legacy

        if dtype is None:
            return legacy.type_name(self.dtype)
        return self.to(legacy.dtype_of(dtype))

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        _device.check("cuda" if device is None else _device.device("cuda", device)
                      if isinstance(device, int) else device)  # fmt: skip
        return self

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    # (``memory_format`` is accepted and ignored: stirpile has no strided layouts to choose)
    def float(self, memory_format: Any = None) -> Tensor:
        return self.to(B.float32)

    def double(self, memory_format: Any = None) -> Tensor:
        return self.to(B.float64)

    def long(self, memory_format: Any = None) -> Tensor:
        return self.to(B.int64)

    def int(self, memory_format: Any = None) -> Tensor:
        return self.to(B.int32)

    def bool(self, memory_format: Any = None) -> Tensor:
        return self.to(B.bool_)

    def cpu(self, memory_format: Any = None) -> Tensor:
        return self

    def pin_memory(self, device: Any = None) -> Tensor:
        return self

    def is_pinned(self, device: Any = None) -> bool:
        return False

    def contiguous(self, memory_format: Any = None) -> Tensor:
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

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> Any:
        """Call ``hook(self)`` right after this leaf's ``.grad`` has been accumulated in a
        backward pass (as soon as its last gradient arrives, while the rest of the graph is
        still being walked). Returns a handle with ``remove()``."""
        if self._node is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require grad")
        hooks = _engine.add_post_hook(self, hook)
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
        _no_bool_sub(self, other)
        return ew.Sub.apply(*_pair(self, other))

    def __rsub__(self, other: Any) -> Tensor:
        _no_bool_sub(self, other)
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
        try:
            return ew.Neg.apply(self)
        except TypeError:
            if self._data.dtype.kind != "b":
                raise
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            ) from None

    def __floordiv__(self, other: Any) -> Tensor:
        return ew.DivRounded.apply(*_pair(self, other), mode="floor")

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ew.DivRounded.apply(*_pair(self, other, reflected=True), mode="floor")

    def __mod__(self, other: Any) -> Tensor:
        return _remainder(*_pair(self, other))

    def __rmod__(self, other: Any) -> Tensor:
        return _remainder(*_pair(self, other, reflected=True))

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    # In-place operators: see the in-place section below.
    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def __ipow__(self, other: Any) -> Tensor:
        return self.pow_(other)

    # comparisons: no gradient, boolean results (traced calls: stirpile.compile computes
    # them again at every replay, e.g. leaky_relu's mask)
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._make(_function.traced_call(_op.eq, self, other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._make(_function.traced_call(_op.ne, self, other))

    def __lt__(self, other: Any) -> Tensor:
        return Tensor._make(_function.traced_call(_op.lt, self, other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor._make(_function.traced_call(_op.le, self, other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._make(_function.traced_call(_op.gt, self, other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._make(_function.traced_call(_op.ge, self, other))

    def __and__(self, other: Any) -> Tensor:
        return Tensor._make(_function.traced_call(_op.and_, self, other))

    def __or__(self, other: Any) -> Tensor:
        return Tensor._make(_function.traced_call(_op.or_, self, other))

    def __xor__(self, other: Any) -> Tensor:
        return Tensor._make(_function.traced_call(_op.xor, self, other))

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__  # (commutative)

    def __invert__(self) -> Tensor:
        return Tensor._make(_function.traced_call(_op.invert, self))

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def logical_not(self) -> Tensor:
        return Tensor._make(_function.traced_call(B.xp.logical_not, self))

    def isnan(self) -> Tensor:
        return Tensor._make(_function.traced_call(B.xp.isnan, self))

    def isfinite(self) -> Tensor:
        return Tensor._make(_function.traced_call(B.xp.isfinite, self))

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

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """``self / other`` (true division: integers give floats); with ``rounding_mode``
        ``"trunc"`` or ``"floor"`` the quotient rounded toward zero or down (integers then
        stay integers), with a zero gradient."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise RuntimeError(
                "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                f"{rounding_mode!r}"
            )
        return ew.DivRounded.apply(*_pair(self, other), mode=rounding_mode)

    divide = div

    def floor_divide(self, other: Any) -> Tensor:
        """``self // other``: the quotient rounded down (``div(rounding_mode="floor")``)."""
        return self // other

    def remainder(self, other: Any) -> Tensor:
        """``self % other`` = self − other·⌊self / other⌋: the sign of ``other``, as Python's."""
        return self % other

    def _floating(self) -> Tensor:
        """Self, cast to the default float dtype if it is integer or bool: PyTorch's
        promotion for the functions whose values are not integers (exp, log, sin, …)."""
        return self if self._data.dtype.kind in "fc" else self.to(B.get_default_dtype())

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
        return ew.Exp.apply(self if self._data.dtype.kind == "f" else self._floating())

    def log(self) -> Tensor:
        return ew.Log.apply(self if self._data.dtype.kind == "f" else self._floating())

    def log1p(self) -> Tensor:
        return ew.Log1p.apply(self._floating())

    def sqrt(self) -> Tensor:
        return ew.Sqrt.apply(self._floating())

    def rsqrt(self) -> Tensor:
        return self._floating() ** -0.5  # (inf at 0, quietly, as in PyTorch)

    def square(self) -> Tensor:
        x = self.long() if self._data.dtype.kind == "b" else self  # bool² is int64 in PyTorch
        return x * x

    def reciprocal(self) -> Tensor:
        return self._floating() ** -1

    def abs(self) -> Tensor:
        return ew.Abs.apply(self)

    def sign(self) -> Tensor:
        """−1, 0 or 1; zero gradient, but the result stays in the graph (as in PyTorch)."""
        if self._data.dtype.kind == "b":
            return Tensor._make(self._data.copy())
        return ew.Rounding.apply(self, fn=B.xp.sign)

    def sin(self) -> Tensor:
        return ew.Sin.apply(self._floating())

    def cos(self) -> Tensor:
        return ew.Cos.apply(self._floating())

    def tanh(self) -> Tensor:
        return act.Tanh.apply(self if self._data.dtype.kind == "f" else self._floating())

    def sigmoid(self) -> Tensor:
        return act.Sigmoid.apply(self if self._data.dtype.kind == "f" else self._floating())

    def relu(self) -> Tensor:
        return act.Relu.apply(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """``min(max(self, min), max)``, where ``min > max`` gives ``max``. The bounds are
        numbers, or tensors (broadcast with ``self``, and differentiable)."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            return _clamp_tensor(self, min, max)
        x = self
        if x._data.dtype.kind in "biu" and (isinstance(min, float) or isinstance(max, float)):
            x = x.to(B.get_default_dtype())  # a float bound makes the result float
        return ew.Clamp.apply(x, lo=min, hi=max)

    clip = clamp

    def maximum(self, other: Tensor) -> Tensor:
        """The elementwise larger of two tensors (a number is refused, as in torch)."""
        _tensor_arg("maximum", other)
        return ew.Maximum.apply(*_pair(self, other))

    def minimum(self, other: Tensor) -> Tensor:
        _tensor_arg("minimum", other)
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
        if dtype is None and x._data.dtype.kind in "biu" and x._data.dtype != B.int64:
            x = x.long()  # bool and every integer dtype sum to int64, as in PyTorch
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
            correction: float | None = None) -> Tensor:  # fmt: skip
        """Variance Σ(x − mean)² / max(0, N − correction) over ``dim`` (every dim by
        default); ``correction=1`` (Bessel's) unless ``unbiased=False`` or given. As in
        PyTorch ``var(False)`` reads the bool as ``unbiased``, and N ≤ correction gives
        inf or nan (quietly)."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        if correction is None:
            correction = 0 if unbiased is False else 1
        axes = reduce._axes(self.ndim, dim)
        n = 1
        for i in axes:
            n *= self.shape[i]
        centered = self - self.mean(axes, keepdim=True)
        total = (centered * centered).sum(axes, keepdim=keepdim)
        if n - correction > 0:
            return total / (n - correction)
        with B.xp.errstate(divide="ignore", invalid="ignore"):
            return total / 0.0

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: float | None = None) -> Tensor:  # fmt: skip
        """√var (same arguments as :meth:`var`)."""
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
            return op.apply(self, axis=None, keepdims=False)
        d = _wrap_dim(dim, self.ndim)
        x = self.reshape(1) if self.ndim == 0 else self  # a 0-d tensor reduces as 1 element
        _nonempty(arg.__name__[3:], x.shape, d)
        # the values are gathered at the returned indices, so that (as in PyTorch) the
        # gradient goes to that one element even when the extreme value is tied
        indices = arg(x._data, axis=d, keepdims=True)
        values = x.gather(d, Tensor._make(indices))
        if self.ndim == 0:
            values, indices = values.reshape(()), indices.reshape(())
        elif not keepdim:
            values, indices = values.squeeze(d), indices.squeeze(axis=d)
        return _MinMax((values, Tensor._make(indices)))

    def amax(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        """The largest values over ``dim`` (an int or a sequence; all dims by default); the
        gradient is shared among tied maxima, as in PyTorch."""
        return reduce.Max.apply(self, axis=dim, keepdims=keepdim)

    def amin(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        return reduce.Min.apply(self, axis=dim, keepdims=keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg(B.xp.argmax, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg(B.xp.argmin, dim, keepdim)

    def _arg(self, fn: Callable, dim: int | None, keepdim: bool) -> Tensor:
        a = self._data
        if dim is None:  # the index into the flattened tensor
            if a.size == 0:
                raise IndexError(
                    f"{fn.__name__}(): Expected reduction dim to be specified for "
                    "input.numel() == 0."
                )
            return Tensor._make(B.xp.asarray(fn(a)).reshape((1,) * a.ndim if keepdim else ()))
        d = _wrap_dim(dim, a.ndim)
        if a.ndim == 0:
            return Tensor._make(B.xp.zeros((), B.int64))
        _nonempty(fn.__name__, a.shape, d)
        return Tensor._make(fn(a, axis=d, keepdims=keepdim))

    def logsumexp(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return reduce.LogSumExp.apply(self._floating(), axis=dim, keepdims=keepdim)

    def softmax(self, dim: int = -1, dtype: Any = None) -> Tensor:
        """``e^x / Σ e^x`` along ``dim``, computed in ``dtype`` if given."""
        x = self if dtype is None else self.to(dtype)
        return act.Softmax.apply(x, axis=_wrap_dim(dim, x.ndim) if x.ndim else None)

    def log_softmax(self, dim: int = -1, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        return act.LogSoftmax.apply(x, axis=_wrap_dim(dim, x.ndim) if x.ndim else None)

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Whether every element over ``dim`` (an int or a sequence; all by default) is
        nonzero; bool (uint8 for a uint8 input, as in PyTorch)."""
        return self._logical(B.xp.all, dim, keepdim)

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return self._logical(B.xp.any, dim, keepdim)

    def _logical(self, fn: Callable, dim: Any, keepdim: bool) -> Tensor:
        a = self._data
        empty = isinstance(dim, (tuple, list)) and not dim  # dim=(): no reduction, here
        axes = () if empty else reduce._axes(a.ndim, dim)
        out = B.xp.asarray(fn(a, axis=axes, keepdims=keepdim))
        return Tensor._make(out.astype(B.uint8) if a.dtype == B.uint8 else out)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False,
             dtype: Any = None) -> Tensor:  # fmt: skip
        """PyTorch's ``norm``: the vector p-norm (Σ |x|^p)^(1/p) of the elements over ``dim``
        (an int or a sequence; all of them by default). ``p=inf``/``-inf``: the largest /
        smallest |x|; ``p=0``: the number of nonzero elements (zero gradient); ``"fro"``
        (the default): the 2-norm, over at most two dims; ``"nuc"``: the nuclear norm (the
        sum of the singular values) of the matrices in two dims (all, by default, if there
        are two), :func:`stirpile.linalg.matrix_norm`'s."""
        x = self if dtype is None else self.to(dtype)
        if isinstance(p, str):
            if p == "nuc":
                dims = tuple(range(x.ndim)) if dim is None else tuple(
                    dim if isinstance(dim, (tuple, list)) else (dim,))  # fmt: skip
                if len(dims) != 2:
                    shown = " ".join(str(d) for d in dims)
                    raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {shown}")
                from .linalg import matrix_norm

                return matrix_norm(x, "nuc", dims, keepdim)
            if p != "fro":
                raise RuntimeError(f"norm: unknown p={p!r} (expected a number, 'fro' or 'nuc')")
            if isinstance(dim, (tuple, list)) and len(dim) > 2:
                shown = " ".join(str(d) for d in dim)
                raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {shown}")
            p = 2
        if p not in (0, 1) and abs(p) != float("inf") and x.dtype.kind == "f":
            # fused: its gradient is 0 at the zero vector, as in PyTorch (composed, it is nan)
            axes = reduce._axes(x.ndim, None if isinstance(dim, (tuple, list)) and not dim
                                else dim)  # fmt: skip
            return linalg.VectorNorm.apply(x, ord=float(p), axes=axes, keepdims=keepdim)
        if p == 2:
            return (x * x).sum(dim, keepdim=keepdim).sqrt()
        if p == 0:  # the indicator [x ≠ 0] is a step function: zero gradient
            nonzero = ew.Rounding.apply(x, fn=lambda a: (a != 0).astype(a.dtype))
            return nonzero.sum(dim, keepdim=keepdim)
        a = x.abs()
        if p == float("inf"):
            return a.amax(() if dim is None else dim, keepdim)
        if p == float("-inf"):
            return a.amin(() if dim is None else dim, keepdim)
        if p == 1:
            return a.sum(dim, keepdim=keepdim)
        return (a**p).sum(dim, keepdim=keepdim) ** (1.0 / p)

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
        if dim0 == dim1:  # (also every transpose of a 0-d tensor)
            return self
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
        if self.ndim == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        lead = (slice(None),) * _wrap_dim(dim, self.ndim)
        return tuple(self[(*lead, i)] for i in range(self.shape[dim]))

    # -- indexing ------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> Tensor:
        return ix.GetItem.apply(self, index=_index(index))

    def gather(self, dim: int, index: Tensor) -> Tensor:
        """``out[i][j] = self[i][index[i][j]]`` for ``dim=1`` (and likewise for any dim).
        The output has the index's shape; as in PyTorch the index may be smaller than
        ``self`` in the other dims, and a 0-d tensor (or index) counts as 1-d."""
        idx = _raw(index)
        d = _wrap_dim(dim, self.ndim)
        x = self.reshape(1) if self.ndim == 0 else self
        flat = idx.reshape(1) if idx.ndim == 0 else idx
        if flat.size == 0:  # nothing to read (PyTorch checks no dims or dtype then)
            return x.reshape(-1)[B.xp.zeros(0, B.int64)].reshape(idx.shape)
        if flat.ndim != x.ndim:
            raise RuntimeError(
                "gather(): Index tensor must have the same number of dimensions as input tensor"
            )
        if flat.dtype.kind not in "iu":
            raise RuntimeError(f"gather(): Expected dtype int64 for index, got {flat.dtype}")
        for i, (m, n) in enumerate(zip(flat.shape, x.shape)):
            if i != d and m > n:
                raise RuntimeError(
                    f"Size does not match at dimension {i} expected index {list(flat.shape)} to "
                    f"be no larger than self {list(x.shape)} apart from dimension {d}"
                )
        bad = (flat < 0) | (flat >= x.shape[d])
        if bad.any():
            raise RuntimeError(
                f"index {flat[bad].flat[0]} is out of bounds for dimension {d} with size "
                f"{x.shape[d]}"
            )
        grid = list(B.xp.indices(flat.shape, sparse=True))
        grid[d] = flat
        return x[tuple(grid)].reshape(idx.shape)

    def masked_fill(self, mask: Any, value: Scalar) -> Tensor:
        from .functions import where

        # the result keeps self's dtype, as in PyTorch: the value is cast to it
        if isinstance(value, Tensor):
            if value.ndim:
                raise RuntimeError(
                    "masked_fill_ only supports a 0-dimensional value tensor, but got tensor "
                    f"with {value.ndim} dimension(s)."
                )
            value = value.to(self.dtype)
        elif isinstance(value, complex) and self._data.dtype.kind != "c":
            raise RuntimeError(f"value cannot be converted to type {self.dtype} without overflow")
        else:
            value = Tensor._make(B.xp.asarray(value).astype(self._data.dtype))
        return where(mask, value, self)

    # -- more math (PyTorch's wider surface) ----------------------------------------------
    # The bodies live in _pointwise, _reductions, _indexing, _products and _new_tensors;
    # each function there is also the functional form ``stirpile.X(t, …)``.
    erf, erfc, expm1, exp2, log2 = _pw.erf, _pw.erfc, _pw.expm1, _pw.exp2, _pw.log2
    log10, sinh, cosh, tan, asin, acos = _pw.log10, _pw.sinh, _pw.cosh, _pw.tan, _pw.asin, _pw.acos
    atan, logit, floor, ceil, trunc = _pw.atan, _pw.logit, _pw.floor, _pw.ceil, _pw.trunc
    round, frac, sgn, atan2, hypot = _pw.round, _pw.frac, _pw.sgn, _pw.atan2, _pw.hypot
    logaddexp, logaddexp2, xlogy, fmod = _pw.logaddexp, _pw.logaddexp2, _pw.xlogy, _pw.fmod
    clamp_min, clamp_max, true_divide = _pw.clamp_min, _pw.clamp_max, _pw.true_divide
    addcmul, addcdiv, isinf, isposinf = _pw.addcmul, _pw.addcdiv, _pw.isinf, _pw.isposinf
    isneginf, isclose, nan_to_num = _pw.isneginf, _pw.isclose, _pw.nan_to_num
    logical_and, logical_or, logical_xor = _pw.logical_and, _pw.logical_or, _pw.logical_xor
    clamp_min_, clamp_max_, nan_to_num_ = _pw.clamp_min_, _pw.clamp_max_, _pw.nan_to_num_
    floor_, ceil_, trunc_, round_ = _pw.floor_, _pw.ceil_, _pw.trunc_, _pw.round_
    prod, cumsum, cumprod, nansum = _red.prod, _red.cumsum, _red.cumprod, _red.nansum
    nanmean, sort, argsort, topk = _red.nanmean, _red.sort, _red.argsort, _red.topk
    median, count_nonzero, aminmax = _red.median, _red.count_nonzero, _red.aminmax
    index_select, masked_select = _ixm.index_select, _ixm.masked_select
    take_along_dim, scatter, scatter_add = _ixm.take_along_dim, _ixm.scatter, _ixm.scatter_add
    index_add, index_fill, scatter_ = _ixm.index_add, _ixm.index_fill, _ixm.scatter_
    scatter_add_, index_add_, index_fill_ = _ixm.scatter_add_, _ixm.index_add_, _ixm.index_fill_
    nonzero, argwhere, tril, triu = _ixm.nonzero, _ixm.argwhere, _ixm.tril, _ixm.triu
    tril_, triu_, diag, diagonal = _ixm.tril_, _ixm.triu_, _ixm.diag, _ixm.diagonal
    trace, repeat, repeat_interleave = _ixm.trace, _ixm.repeat, _ixm.repeat_interleave
    narrow, flip, fliplr, flipud, roll = _ixm.narrow, _ixm.flip, _ixm.fliplr, _ixm.flipud, _ixm.roll
    movedim = _ixm.movedim
    addmm, baddbmm, outer = _prod.addmm, _prod.baddbmm, _prod.outer
    new_zeros, new_ones, new_empty = _newt.new_zeros, _newt.new_ones, _newt.new_empty
    new_full, new_tensor, half = _newt.new_full, _newt.new_tensor, _newt.half
    bfloat16 = _newt.bfloat16
    arcsin, arccos, arctan, arctan2, fix = asin, acos, atan, atan2, trunc
    moveaxis, ger = movedim, outer


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


def _no_bool_sub(a: Any, b: Any) -> None:
    """Refuse ``a - b`` as PyTorch does if either operand is boolean."""
    # (on every subtraction: the common case, no bool, is decided in two cheap tests)
    a_bool = a._data.dtype.kind == "b"
    b_bool = type(b) is bool or (type(b) is not float and isinstance(b, Tensor)
                                 and b._data.dtype.kind == "b")  # fmt: skip
    if not (a_bool or b_bool):
        return
    if a_bool and b_bool:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead."
        )
    raise RuntimeError(
        "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
        "trying to invert a mask, use the `~` or `logical_not()` operator instead."
    )


def _to_args(args: tuple, kwargs: dict) -> tuple:
    """``(device, dtype, copy)`` from the arguments of ``Tensor.to`` / ``Module.to``: a device
    (object or string), a dtype, a tensor (both of its), keywords, and the positional
    ``non_blocking``/``copy`` flags. A device other than the CPU raises here, naming it."""
    kwargs = dict(kwargs)
    dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif _device.is_device(a):
            device = a
        elif isinstance(a, bool) or a is None:  # the positional non_blocking / copy flags
            continue
        else:
            dtype = a
    return _device.check(device), dtype, copy


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _nonempty(name: str, shape: tuple, dim: int) -> None:
    """PyTorch's IndexError for reducing (max, argmax, …) over a dimension of size 0."""
    if shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")


def _remainder(a: Any, b: Any) -> Tensor:
    """``a % b`` for operands from :func:`_pair`; an integer zero divisor raises, as in
    PyTorch."""
    if B.xp.result_type(_raw(a), _raw(b)).kind in "biu" and not B.xp.all(_raw(b)):
        raise RuntimeError("ZeroDivisionError")
    return ew.Remainder.apply(a, b)


def _clamp_tensor(x: Tensor, lo: Any, hi: Any) -> Tensor:
    """``clamp`` with tensor bounds (a number beside one is made a tensor of ``x``'s dtype):
    all three promoted to one dtype (PyTorch's rules)."""
    lo, hi = (b if b is None or isinstance(b, Tensor) else _as_tensor(b, x) for b in (lo, hi))
    for b in (lo, hi):
        if b is not None and b._data.dtype != x._data.dtype:
            x = _promote(x, b)[0]
    lo, hi = (None if b is None else b.to(x.dtype) for b in (lo, hi))
    return ew.ClampTensor.apply(x, lo, hi)


def _tensor_arg(name: str, other: Any) -> None:
    """PyTorch's TypeError for a non-tensor ``other`` of a method that takes tensors only."""
    if not isinstance(other, Tensor):
        raise TypeError(
            f"{name}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}"
        )


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
