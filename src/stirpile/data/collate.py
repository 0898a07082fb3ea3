"""How samples become a batch: :func:`default_collate` (batched loading) and
:func:`default_convert` (``batch_size=None``), PyTorch's rules
(``torch.utils.data._utils.collate``)."""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor

_STR_OR_OBJECT = re.compile(r"[SaUO]")  # dtype codes of arrays of strings and objects

ERR_FORMAT = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _stack(arrays: list[np.ndarray]) -> Tensor:
    try:
        return Tensor._make(np.stack(arrays))
    except ValueError:
        shapes = [list(a.shape) for a in arrays]
        bad = next(i for i, s in enumerate(shapes) if s != shapes[0])
        raise RuntimeError(
            "stack expects each tensor to be equal size, but got "
            f"{shapes[0]} at entry 0 and {shapes[bad]} at entry {bad}"
        ) from None


def _leaf(batch: Sequence) -> Any:
    """Collate a batch of leaves (tensors, arrays, numbers, strings); NotImplemented if the
    first element is none of those."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([b._data for b in batch])
    if isinstance(elem, np.ndarray):
        if _STR_OR_OBJECT.search(elem.dtype.str):
            raise TypeError(ERR_FORMAT.format(elem.dtype))
        return _stack([np.asarray(b) for b in batch])
    if isinstance(elem, (np.bool_, np.number, np.object_)):
        return Tensor._make(np.asarray(batch))
    if isinstance(elem, float):
        return Tensor._make(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):  # bool too
        # PyTorch: ``torch.tensor(batch)``, which infers the dtype from every element: all
        # bools → bool, ints (and bools) → int64, a float among them → the default dtype
        from ..creation import tensor

        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    return NotImplemented


def _rebuild(elem: Any, values: Callable[[Any], Any], keys: Iterable) -> Any:
    """A container like ``elem`` with ``values(key)`` at each key (PyTorch's cloning rules:
    a mutable container is copied and filled in, another is rebuilt from a dict/list, and a
    type that cannot be rebuilt becomes a plain dict/list)."""
    mapping = isinstance(elem, collections.abc.Mapping)
    filled = {k: values(k) for k in keys} if mapping else [values(k) for k in keys]
    try:
        mutable = collections.abc.MutableMapping if mapping else collections.abc.MutableSequence
        if isinstance(elem, mutable):
            clone = copy.copy(elem)
            if mapping:
                clone.update(filled)
            else:
                for i, v in enumerate(filled):
                    clone[i] = v
            return clone
        return type(elem)(filled)
    except TypeError:
        return filled


def _check_equal_size(batch: Sequence) -> None:
    """PyTorch's error (its exact message) for samples of different lengths."""
    size = len(batch[0])
    if any(len(e) != size for e in batch):
        raise RuntimeError("each element in list of batch should be of equal size")


def default_collate(batch: Sequence) -> Any:
    """Stack a list of samples into a batch with a new first dimension: tensors and NumPy
    arrays → a tensor, Python floats → float64, Python ints and bools as ``tensor(batch)``
    infers (all bools → bool, ints → int64, a float among ints → the default float dtype,
    as PyTorch), NumPy scalars keep their dtype, strings stay a list; dicts, named tuples
    and sequences are collated field by field (a tuple becomes a list, as in PyTorch);
    samples of different lengths are an error (never truncated).

    >>> import stirpile
    >>> default_collate([(stirpile.zeros(2), 1), (stirpile.ones(2), 2)])
    [tensor([[0., 0.],
            [1., 1.]]), tensor([1, 2])]
    """
    out = _leaf(batch)
    if out is not NotImplemented:
        return out
    elem = batch[0]
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild(elem, lambda k: default_collate([d[k] for d in batch]), elem)
    if isinstance(elem, collections.abc.Sequence):
        _check_equal_size(batch)  # zip would silently drop the fields of the longer samples
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple
            return type(elem)(*(default_collate(s) for s in zip(*batch)))
        columns = list(zip(*batch))  # tuples: strings come back as tuples here, as in PyTorch
        if isinstance(elem, tuple):
            return [default_collate(c) for c in columns]
        return _rebuild(elem, lambda i: default_collate(columns[i]), range(len(columns)))
    raise TypeError(ERR_FORMAT.format(type(elem)))


def default_convert(data: Any) -> Any:
    """One sample as the loader gives it when ``batch_size=None``: NumPy arrays and scalars
    become tensors (not arrays of strings or objects), containers are converted element by
    element (a tuple becomes a list), anything else is left as it is.

    >>> import numpy as np
    >>> default_convert((np.arange(2), "a"))
    [tensor([0, 1]), 'a']
    """
    if isinstance(data, Tensor):
        return data
    kind = type(data)
    if kind.__module__ == "numpy" and kind.__name__ not in ("str_", "bytes_", "string_"):
        if isinstance(data, np.ndarray) and _STR_OR_OBJECT.search(data.dtype.str):
            return data
        return Tensor._make(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild(data, lambda k: default_convert(data[k]), data)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return kind(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, lambda i: default_convert(data[i]), range(len(data)))
    return data


__all__ = ["default_collate", "default_convert"]
