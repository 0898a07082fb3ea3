"""NumPy's floating-point warnings switched off for a moment, cheaply.

PyTorch computes ``inf - inf``, ``1 / 0`` or ``exp(1000)`` without a word; NumPy
prints a ``RuntimeWarning`` for each. Ops whose inputs can produce those values
run under :data:`quiet`, which sets NumPy's error state for the current context
only (the user's own NumPy settings are restored on exit, nothing is changed
process-wide). ``np.errstate`` does the same but builds a new object per use
(1–4 µs); this sets NumPy's context variable directly (~0.2 µs), falling back to
``np.seterr`` if a NumPy version lacks it.

>>> import numpy as np
>>> with quiet:
...     float(np.divide(1.0, np.zeros(())))
inf
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # NumPy 2: the error state is a context variable holding an "extobj"
    from numpy._core._multiarray_umath import _extobj_contextvar as state
    from numpy._core._multiarray_umath import _make_extobj

    IGNORE: Any = _make_extobj(all="ignore")
except ImportError:  # pragma: no cover - a NumPy without them: the public, slower way

    class _SetErr:
        """``np.seterr`` behind the context variable's interface (process-wide while set)."""

        def set(self, value: Any) -> dict:
            return np.seterr(**value)

        def reset(self, token: dict) -> None:
            np.seterr(**token)

        def get(self) -> dict:
            return np.geterr()

    state = _SetErr()
    IGNORE = {"all": "ignore"}

# The hot ops inline ``token = state.set(IGNORE)`` … ``state.reset(token)`` (in try/finally):
# two C calls, where a ``with`` block adds two Python calls.


def enter(value: Any = None) -> Any:
    """Switch to error state ``value`` (default: every floating-point warning ignored);
    returns the token to pass to :func:`leave`."""
    return state.set(IGNORE if value is None else value)


def leave(token: Any) -> None:
    """Undo the :func:`enter` that returned ``token``."""
    state.reset(token)


def current() -> Any:
    """The error state in force now, to :func:`enter` again later (around user code)."""
    return state.get()


class _Quiet:
    """``with quiet: ...`` ignores overflow, underflow, divide and invalid in the block
    (reentrant: one shared instance)."""

    __slots__ = ("_tokens",)

    def __init__(self) -> None:
        self._tokens: list = []

    def __enter__(self) -> None:
        self._tokens.append(enter())

    def __exit__(self, *exc: object) -> None:
        leave(self._tokens.pop())


quiet = _Quiet()
