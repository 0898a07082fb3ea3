"""Version counters: how autograd notices that a value it saved was changed in place.

PyTorch gives every tensor a version counter, shared by its views and by
``detach()``, and raises at backward if a tensor saved for it was modified
after being saved. Here the counter belongs to the *memory*: an array and all
its NumPy views (reshapes, transposes, slices, ``detach()``, parameters viewing a
flat buffer) share one owner array (``a.base``), and the counter is kept per
owner. Every in-place write goes through :func:`bump`, which also stamps the
owner with the current graph sequence number. A node saved an array
"before" a change if its own sequence number is lower, so the check at
backward is one comparison per saved array, and is skipped entirely for
nodes created after the last in-place write anywhere (the common case:
optimizers write after backward, before the next forward).

``.data`` gives the escape hatch PyTorch has: writes through it are not
counted.
"""

from __future__ import annotations

import weakref
from typing import Any

from ..backend import ndarray
from .function import _sequence

_entries: dict[int, list] = {}  # id(owner) -> [ref to owner, version, seq of last write]
last_write = -1  # the sequence number of the most recent counted in-place write


def owner(array: Any) -> Any:
    """The object that owns ``array``'s memory (the array itself if it owns it)."""
    base = array.base
    while isinstance(base, ndarray) and base.base is not None:
        base = base.base
    return array if base is None else base


def _forget(key: int, ref: Any) -> None:
    entry = _entries.get(key)
    if entry is not None and entry[0] is ref:
        del _entries[key]


def bump(array: Any, seq: int | None = None) -> None:
    """Count one in-place write to ``array`` (and so to every view of its memory), made now
    or, with ``seq``, by the graph node of that number (a recorded in-place op)."""
    global last_write
    if seq is None:
        seq = next(_sequence)
    last_write = max(last_write, seq)
    o = owner(array)
    key = id(o)
    entry = _entries.get(key)
    if entry is not None and entry[0]() is o:
        entry[1] += 1
        entry[2] = seq
        return
    try:
        ref = weakref.ref(o, lambda r, key=key: _forget(key, r))
    except TypeError:  # memory owned by an object without weak references (bytes, mmap)
        ref = (lambda o: lambda: o)(o)
    _entries[key] = [ref, 1, seq]


def version(array: Any) -> int:
    """How many counted in-place writes ``array``'s memory has had."""
    o = owner(array)
    entry = _entries.get(id(o))
    return entry[1] if entry is not None and entry[0]() is o else 0


def written_after(array: Any, seq: int) -> bool:
    """Whether ``array``'s memory was written in place after graph position ``seq``."""
    o = owner(array)
    entry = _entries.get(id(o))
    return entry is not None and entry[2] > seq and entry[0]() is o


def check_saved(node: Any) -> None:
    """Raise PyTorch's error if something ``node`` saved for backward was written since."""
    saved = node.saved
    if not isinstance(saved, tuple):
        return
    for value in saved:
        array = getattr(value, "_data", value)  # a user Function saves tensors
        if isinstance(array, ndarray) and written_after(array, node.seq):
            from .. import backend as B

            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{B.dtype_name(array.dtype)} {list(array.shape)}], which "
                f"{node.name()} saved, is at version {version(array)}; it was modified after "
                "being saved. Hint: the operation that modified it is an in-place one "
                "(a method ending in '_', +=, x[i] = …, or an optimizer step) run between the "
                "forward and this backward; use its out-of-place form or .clone() first."
            )
