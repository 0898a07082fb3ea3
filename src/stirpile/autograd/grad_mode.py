"""Turning the recording of the graph off and on: ``no_grad``, ``enable_grad``,
``set_grad_enabled``.

Each is a context manager and a decorator, as in PyTorch; on a generator
function the mode covers the generator's body each time it resumes (and the
caller's mode is back between two ``next`` calls). The flag is module-global
(stirpile does not run autograd from several threads).
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_enabled = True


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are being recorded."""
    return _enabled


class _Mode:
    """Base of the grad-mode switches: sets the flag on entry, restores it on exit."""

    _value = True

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # ``@no_grad`` without parentheses decorates the function at once, as in PyTorch
        if len(args) == 1 and not kwargs and callable(args[0]):
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self) -> None:
        global _enabled
        self._prev = _enabled
        _enabled = self._value

    def __exit__(self, *exc: object) -> None:
        global _enabled
        _enabled = self._prev

    def __call__(self, fn: F) -> F:
        value = self._value
        if inspect.isgeneratorfunction(fn):
            return _generator_wrapper(fn, value)  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(value):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def _generator_wrapper(fn: Callable, value: bool) -> Callable:
    """A generator function whose body runs with recording set to ``value`` each time it is
    resumed, and the caller's mode between resumptions (PyTorch's
    ``_DecoratorContextManager`` does the same)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gen = fn(*args, **kwargs)
        try:
            with set_grad_enabled(value):
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with set_grad_enabled(value):
                        gen.close()
                    raise
                except BaseException:
                    with set_grad_enabled(value):
                        response = gen.throw(*sys.exc_info()[1:2])
                else:
                    with set_grad_enabled(value):
                        response = gen.send(request)
        except StopIteration as e:
            return e.value

    return wrapper


class no_grad(_Mode):
    """Do not record operations: results have ``requires_grad=False``.

    >>> import stirpile
    >>> x = stirpile.ones(2, requires_grad=True)
    >>> with stirpile.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _value = False


class enable_grad(_Mode):
    """Record operations again inside a ``no_grad`` block."""

    _value = True


class set_grad_enabled(_Mode):
    """Set recording on or off: ``with set_grad_enabled(is_train): ...``.

    Like PyTorch's, it also takes effect when called as a plain function.
    """

    def __init__(self, mode: bool) -> None:
        global _enabled
        self._value = bool(mode)
        self._prev = _enabled
        _enabled = self._value

    def __enter__(self) -> None:
        global _enabled
        _enabled = self._value

    def __call__(self, fn: F) -> F:
        # used as @set_grad_enabled(False): the constructor already flipped the
        # flag, so restore it and apply the mode per call instead.
        self.__exit__()
        return super().__call__(fn)


class inference_mode(no_grad):
    """Same as :class:`no_grad` here (PyTorch's name for its faster variant)."""

    def __init__(self, mode: bool = True) -> None:
        self._value = not mode
