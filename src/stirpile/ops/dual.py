"""Functions that take an array *or* a tensor, for writing backward formulas once.

A built-in op's backward gets raw arrays in a plain backward and tensors under
``create_graph=True`` (so that the backward is recorded and can be
differentiated again). Operators (``+ * @ ** -``, indexing, ``.mT``,
``.reshape``, ``.sum(axis=, keepdims=)``) already work on both; the few
functions below fill the gap.
"""

from __future__ import annotations

from typing import Any

from ..backend import ndarray, xp


def _is_array(x: Any) -> bool:
    return isinstance(x, ndarray) or not hasattr(x, "grad_fn")


def raw(x: Any) -> Any:
    """The array behind a tensor (for masks and other values that get no gradient)."""
    return getattr(x, "_data", x)


def exp(x: Any) -> Any:
    return xp.exp(x) if _is_array(x) else x.exp()


def log(x: Any) -> Any:
    return xp.log(x) if _is_array(x) else x.log()


def sin(x: Any) -> Any:
    return xp.sin(x) if _is_array(x) else x.sin()


def cos(x: Any) -> Any:
    return xp.cos(x) if _is_array(x) else x.cos()


def sign(x: Any) -> Any:
    return xp.sign(x) if _is_array(x) else x.sign()


def cast(x: Any, dtype: Any) -> Any:
    if x.dtype == dtype:
        return x
    return x.astype(dtype) if _is_array(x) else x.to(dtype)


def where(cond: Any, a: Any, b: Any) -> Any:
    """``cond ? a : b``; ``cond`` is a boolean array (never differentiated)."""
    if _is_array(a) and _is_array(b):
        return xp.where(cond, a, b)
    from ..ops.elementwise import Where

    return Where.apply(raw(cond), a, b)


def softmax(x: Any, axis: int) -> Any:
    if _is_array(x):
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    return x.softmax(axis)


def expand_to(g: Any, shape: tuple) -> Any:
    """Broadcast ``g`` to ``shape`` (the backward of a sum)."""
    if g.shape == shape:
        return g
    return xp.broadcast_to(g, shape) if _is_array(g) else g.expand(shape)


def sum_to(g: Any, shape: tuple) -> Any:
    """Sum ``g`` down to ``shape``: the backward of broadcasting.

    Adds over the leading axes ``g`` has in excess and over the axes where
    ``shape`` has size 1, in a single ``sum`` call.
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def permute(g: Any, axes: tuple) -> Any:
    return g.transpose(axes) if _is_array(g) else g.permute(*axes)


def index_add(shape: tuple, index: Any, g: Any) -> Any:
    """A zero array of ``shape`` with ``g`` added at ``index`` (repeated indices add up):
    the backward of indexing."""
    if _is_array(g):
        from .index import scatter_add

        return scatter_add(shape, index, g)
    from .index import IndexAdd

    return IndexAdd.apply(g, shape=shape, index=index)


def call(name: str, x: Any) -> Any:
    """``xp.<name>(x)`` on an array, ``x.<name>()`` on a tensor: for the functions without
    a helper of their own above (``cosh``, ``sinh``, ``abs``, ``exp2``, ``floor``, …)."""
    return getattr(xp, name)(x) if _is_array(x) else getattr(x, name)()


def zeros_like(g: Any) -> Any:
    """A zero gradient of ``g``'s shape and dtype (the backward of a rounding op), as an array
    in a plain backward and as a tensor under ``create_graph``."""
    z = xp.zeros(g.shape, g.dtype)
    return z if _is_array(g) else type(g)._make(z)
