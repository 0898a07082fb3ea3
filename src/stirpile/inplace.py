"""In-place operations, with PyTorch's semantics: the ``Tensor`` methods ending in ``_``,
``x[i] = v``, and the augmented assignments (``+=``…) that call them.

* Every in-place write bumps the version counter of the memory it writes to
  (``autograd/version.py``), so a backward that needs the old values raises
  PyTorch's "modified by an inplace operation" error instead of silently using
  the new ones. Writes through ``.data`` are not counted (PyTorch's escape hatch).
* Without recording (``no_grad``, or nothing requires grad) the write is one
  NumPy call into the tensor's memory.
* While recording, an in-place op on a tensor in the graph is recorded like its
  out-of-place form and the tensor takes the new node as its history
  (``_inplace_recorded``): ``h += x``, ``h[0] = w``, ``x.relu_()`` differentiate.
  Nodes that used the tensor before keep reaching its old place (the new node
  remembers it in ``replaced``; see ``engine.position_at``). If the tensor is a
  view (made by reshape, permute or basic indexing), its base becomes a
  ``ViewScatter`` of the old base and the written values, as PyTorch's
  CopySlices does, and the view is re-derived from the new base.
* A leaf that requires grad, or a view of one, cannot be written while
  recording (PyTorch's error).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import backend as B
from . import tensor as _t  # (partially initialized here: read at call time only)
from .autograd import function as _function
from .autograd import grad_mode as _gm
from .autograd import version as _version
from .ops import elementwise as ew

if TYPE_CHECKING:
    from .tensor import Tensor

Scalar = int | float | bool


class InPlaceMethods:
    """The in-place half of ``Tensor`` (a mixin: ``Tensor`` inherits these methods)."""

    __slots__ = ()

    def _check_inplace(self, name: str) -> None:
        """PyTorch's error for an in-place write to a leaf that requires grad."""
        if self.requires_grad and self._node is None and _gm._enabled:
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad is being used in an in-place "
                "operation; wrap it in `with stirpile.no_grad():` (or use the out-of-place form)"
            )

    def _records(self, *others: Any) -> bool:
        """Whether an in-place op with these operands must be recorded in the graph."""
        if not _gm._enabled:
            return False
        Tensor = _t.Tensor
        return self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)

    def _bump(self) -> None:
        if not getattr(self, "_untracked", False):  # writes through .data are not counted
            _version.bump(self._data)

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's memory has had (PyTorch's ``_version``)."""
        return _version.version(self._data)

    def _inplace(self, name: str, value: Any) -> Tensor:
        """``self[...] = value`` (an array, number or tensor), recorded if it must be."""
        if self._records(value):
            return _inplace_recorded(
                self, name, lambda old: _t._as_tensor(value, old).to(old.dtype).expand(old.shape)
            )
        self._check_inplace(name)
        value = _t._raw(value)
        kind = getattr(value, "dtype", None)  # (a Python number is truncated, as in fill_)
        if kind is not None:
            _check_cast(name, kind, self.dtype)
        self._data[...] = value
        self._bump()
        return self

    def _ufunc_(self, name: str, ufunc: Any, other: Any, method: str | None = None,
                **kwargs: Any) -> Tensor:  # fmt: skip
        """``self = ufunc(self, other)`` in place, or ``self.method(other, **kwargs)`` recorded.
        As in PyTorch, the result must keep ``self``'s shape and dtype kind (no float into an
        int tensor); if not, it raises before writing anything."""
        if self._records(other):
            return _inplace_recorded(self, name, lambda old: getattr(old, method)(other, **kwargs))
        self._check_inplace(name)
        try:
            ufunc(self._data, _t._raw(other), out=self._data, casting="same_kind")
        except (TypeError, ValueError) as e:
            raise RuntimeError(f"{name}: {e}") from None
        self._bump()
        return self

    def _apply_(self, name: str, fn: Callable | str, *args: Any, _clone: bool = False,
                **kwargs: Any) -> Tensor:  # fmt: skip
        """``self = fn(self, *args, **kwargs)`` in place: computed out of place, then written
        (``fn`` a function of a tensor, or the name of a Tensor method). While recording, it
        is recorded like ``fn``; ``_clone`` computes it from a clone of ``self``, for an ``fn``
        made of several ops, any of which may save ``self``'s array that the write overwrites
        (the last op's saved values are taken care of by ``_inplace_recorded``)."""
        if isinstance(fn, str):
            fn = getattr(type(self), fn)
        if self._records(*args, *kwargs.values()):
            if _clone:
                return _inplace_recorded(self, name, lambda old: fn(old.clone(), *args, **kwargs))
            return _inplace_recorded(self, name, lambda old: fn(old, *args, **kwargs))
        self._check_inplace(name)
        with _gm.no_grad():
            result = fn(self, *args, **kwargs)
        return self._inplace(name, result)

    def add_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        if alpha != 1:
            other = other * alpha
        return self._ufunc_("add_", B.xp.add, other, "add")

    def sub_(self, other: Any, alpha: Scalar = 1) -> Tensor:
        if alpha != 1:
            other = other * alpha
        return self._ufunc_("sub_", B.xp.subtract, other, "sub")

    def mul_(self, other: Any) -> Tensor:
        return self._ufunc_("mul_", B.xp.multiply, other, "mul")

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is not None:
            return self._apply_("div_", "div", other, rounding_mode=rounding_mode)
        return self._ufunc_("div_", B.xp.divide, other, "div")

    def pow_(self, exponent: Any) -> Tensor:
        return self._ufunc_("pow_", B.xp.power, exponent, "pow")

    def addcmul_(self, tensor1: Any, tensor2: Any, value: Scalar = 1) -> Tensor:
        if self._records(tensor1, tensor2):
            return self.add_(tensor1 * tensor2 * value)
        return self.add_(_t._raw(tensor1) * _t._raw(tensor2), value)

    def addcdiv_(self, tensor1: Any, tensor2: Any, value: Scalar = 1) -> Tensor:
        if self._records(tensor1, tensor2):
            return self.add_(tensor1 / tensor2 * value)
        return self.add_(_t._raw(tensor1) / _t._raw(tensor2), value)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        if self._records(min, max) or isinstance(min, _t.Tensor) or isinstance(max, _t.Tensor):
            return self._apply_("clamp_", "clamp", min, max)
        self._check_inplace("clamp_")
        B.xp.clip(self._data, min, max, out=self._data)
        self._bump()
        return self

    clip_ = clamp_

    def neg_(self) -> Tensor:
        return self._apply_("neg_", "neg")

    def abs_(self) -> Tensor:
        return self._apply_("abs_", "abs")

    def exp_(self) -> Tensor:
        return self._apply_("exp_", "exp")

    def log_(self) -> Tensor:
        return self._apply_("log_", "log")

    def sqrt_(self) -> Tensor:
        return self._apply_("sqrt_", "sqrt")

    def relu_(self) -> Tensor:
        return self._apply_("relu_", "relu")

    def sigmoid_(self) -> Tensor:
        return self._apply_("sigmoid_", "sigmoid")

    def tanh_(self) -> Tensor:
        return self._apply_("tanh_", "tanh")

    def zero_(self) -> Tensor:
        return self._inplace("zero_", 0)

    def fill_(self, value: Any) -> Tensor:
        if isinstance(value, _t.Tensor) and value.ndim:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
        return self._inplace("fill_", value)

    def copy_(self, src: Any, non_blocking: bool = False) -> Tensor:
        shape = getattr(src, "shape", B.xp.shape(src))
        try:
            B.xp.broadcast_shapes(shape, self.shape)
            if len(shape) > self.ndim or B.xp.broadcast_shapes(shape, self.shape) != self.shape:
                raise ValueError
        except ValueError:
            raise RuntimeError(
                f"copy_: source of shape {tuple(shape)} cannot be broadcast to {tuple(self.shape)}"
            ) from None
        if self._records(src):
            return _inplace_recorded(
                self, "copy_", lambda old: _t._as_tensor(src, old).to(self.dtype).expand(self.shape)
            )
        src = _t._raw(src)
        if getattr(src, "dtype", self.dtype) != self.dtype:  # copy_ casts, as in PyTorch
            src = src.astype(self.dtype)
        return self._inplace("copy_", src)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        if self._records(value):
            return _inplace_recorded(self, "masked_fill_", lambda old: old.masked_fill(mask, value))
        self._check_inplace("masked_fill_")
        self._data[B.xp.broadcast_to(_t._raw(mask), self.shape)] = _t._raw(value)
        self._bump()
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        index = _t._index(index)
        if self._records(value):
            from .ops.write import IndexPut

            def put(old: Tensor) -> Tensor:
                v = _t._as_tensor(value, old)
                return IndexPut.apply(old, v if v.dtype == old.dtype else v.to(old.dtype), index)

            _inplace_recorded(self, "__setitem__", put)
            return
        self._data[index] = _t._raw(value)
        self._bump()

    # random fills, from ``generator`` or the default generator
    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
        return self._inplace("uniform_", B.numpy_rng(generator).uniform(a, b, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        return self._inplace("normal_", B.numpy_rng(generator).normal(mean, std, self.shape))

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Tensor:
        draw = B.numpy_rng(generator).random(self.shape) < _t._raw(p)
        return self._inplace("bernoulli_", draw)

    def bernoulli(self, p: Any = None, *, generator: Any = None) -> Tensor:
        from .creation import bernoulli

        return bernoulli(self, p, generator=generator)

    def random_(self, from_: int = 0, to: int | None = None, *, generator: Any = None) -> Tensor:
        """Integers in [from_, to) (``random_(to)`` means [0, to)); without bounds, [0, 2²⁴]
        for float32 and [0, 2⁵³] for float64, the range where every integer is exact."""
        if to is None:
            if from_ != 0:
                from_, to = 0, from_
            else:
                to = 2 ** (B.xp.finfo(self.dtype).nmant + 1) + 1 if self.dtype.kind == "f" else (
                    B.xp.iinfo(self.dtype).max if self.dtype.kind in "iu" else 2)  # fmt: skip
        draw = B.numpy_rng(generator).integers(from_, to, self.shape)
        return self._inplace("random_", draw)

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
        draw = B.numpy_rng(generator).exponential(1 / lambd, self.shape)
        return self._inplace("exponential_", draw)

    def multinomial(self, num_samples: int, replacement: bool = False, *,
                    generator: Any = None) -> Tensor:  # fmt: skip
        from .creation import multinomial

        return multinomial(self, num_samples, replacement, generator=generator)

    def _resize_to(self, array: Any) -> None:
        """Write ``array`` into this tensor (an ``out=`` argument), taking its shape if needed."""
        if array.shape != self.shape:
            self._data = array.astype(self.dtype, copy=False)
        else:
            self._data[...] = array
        self._bump()


def _view_chain(t: Tensor) -> tuple[list, Tensor]:
    """The view ops that made ``t`` from the tensor owning its memory, newest first, and that
    base (``t`` itself, with an empty chain, if ``t`` is not a view of a graph tensor)."""
    chain = []
    while (
        t._node is not None
        and hasattr(t._node.fn, "view_again")
        and _version.owner(t._data) is _version.owner(t._node.inputs[0]._data)
    ):
        chain.append(t._node)
        t = t._node.inputs[0]
    return chain, t


def _stand_in(t: Tensor) -> Tensor:
    """A new tensor object at ``t``'s place in the graph (same array, same node): the
    "old" input of an in-place op, so that ``t`` itself can take the new node."""
    old = _t.Tensor._make(t._data, t._node)
    old._idx, old.requires_grad = t._idx, t.requires_grad
    return old


def _check_cast(name: str, src: Any, dst: Any) -> None:
    """PyTorch's error for an in-place result that cannot be written into ``dst`` (no float
    into an int tensor, no int into a bool one)."""
    if not B.xp.can_cast(src, dst, "same_kind"):
        raise RuntimeError(
            f"{name}: result type {B.torch_name(src)} can't be cast to the desired output type "
            f"{B.torch_name(dst)}"
        )


def _inplace_recorded(self: Tensor, name: str, compute: Callable[[Tensor], Tensor]) -> Tensor:
    """An in-place op, recorded: ``compute(old)`` gives the new values out of place (as
    recorded ops), they are written into ``self``'s memory, and ``self`` takes the new node as
    its history. If ``self`` is a view, its base becomes a ``ViewScatter`` of the old base and
    the new values, and ``self`` becomes the same view of that (PyTorch's CopySlices)."""
    from .ops.write import ViewScatter

    self._check_inplace(name)
    chain, base = _view_chain(self)
    if chain and base._node is None and base.requires_grad:
        raise RuntimeError(
            f"{name}: a view of a leaf Variable that requires grad is being used in an in-place "
            "operation."
        )
    old = _stand_in(self)
    start = next(_function._sequence)
    result = compute(old)
    if result._node is not None and result._node.seq < start:
        result = ew.Clone.apply(result)  # ``self`` needs a node of its own
    elif result._node is None and self._node is not None:
        # overwritten by constants: still a node (with no gradient to pass on), so that
        # the nodes that used ``self`` before can reach its old place (as PyTorch's ZeroBackward)
        node = _function.Node(ew.Clone, (result,), (False,))
        node.out = result._data
        result = _t.Tensor._make(result._data, node)
    if result.shape != self.shape:
        raise RuntimeError(
            f"{name}: output with shape {list(self.shape)} doesn't match the broadcast shape "
            f"{list(result.shape)}"
        )
    if result.dtype != self.dtype:
        _check_cast(name, result.dtype, self.dtype)
        result = result.to(self.dtype)
    node = result._node
    if node is not None and type(node.saved) is tuple:
        # the op saved the values we are about to overwrite: it keeps a copy of them (and the
        # stand-in points at the copy, so create_graph still connects it)
        if any(s is self._data for s in node.saved):
            copy = self._data.copy()
            old._data = copy
            node.saved = tuple(copy if s is self._data else s for s in node.saved)
    self._data[...] = result._data
    stamp = None
    if node is not None and node.out is result._data:
        # the new node now produces ``self``'s memory: it saves and reports that (freeing the
        # temporary), and the write is counted as its own, so that a later in-place write
        # (not this one) is caught if the node saved its output (PyTorch does the same)
        if type(node.saved) is tuple:
            node.saved = tuple(self._data if s is result._data else s for s in node.saved)
        node.out, stamp = self._data, node.seq
    if not getattr(self, "_untracked", False):
        _version.bump(self._data, stamp)
    if not chain:
        _rebase(self, result)
        return self
    _rebase(base, ViewScatter.apply(_stand_in(base), result, chain))
    _rebase(self, _region_of(chain, base))
    return self


def _rebase(t: Tensor, new: Tensor) -> None:
    """Give ``t`` the history of ``new``, remembering the one it replaces (nodes that used
    ``t`` before still reach that one: see ``engine.position_at``)."""
    if new._node is not None:
        new._node.replaced = (t._node, t._idx)
    t._node, t._idx, t.requires_grad = new._node, new._idx, new.requires_grad


def _region_of(chain: list, base: Tensor) -> Tensor:
    from .ops.write import region

    return region(chain, base)
