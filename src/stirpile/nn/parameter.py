"""``Parameter``: a tensor that a :class:`~stirpile.nn.Module` registers as learnable.

Assigning a ``Parameter`` to a module attribute (``self.weight = Parameter(...)``)
adds it to ``module.parameters()``, which is what optimizers update and what
``state_dict()`` saves. It is an ordinary leaf tensor otherwise, with
``requires_grad=True`` by default.

>>> import stirpile
>>> from stirpile.nn import Parameter
>>> w = Parameter(stirpile.zeros(2))
>>> w
Parameter containing:
tensor([0., 0.], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

from .. import backend as B
from ..tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor that modules register as a learnable parameter.

    Args:
        data: the initial values. A tensor's array is *shared*, not copied (as in
            PyTorch: ``Parameter(t)`` and ``t`` see each other's in-place changes);
            other data (lists, arrays) is converted. ``None`` gives an empty tensor.
        requires_grad: whether the parameter gets gradients (default ``True``).
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            array = B.xp.empty((0,), B.get_default_dtype())
        elif isinstance(data, Tensor):
            array = data._data
        else:
            from ..creation import _to_array

            array = _to_array(data, None)
        self._init(array, None)
        if requires_grad:
            self.requires_grad_()

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_rebuild_parameter, (self._data, self.requires_grad, self.grad))

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        import copy

        p = Parameter(Tensor._make(self._data.copy()), self.requires_grad)
        if self.grad is not None:
            p.grad = copy.deepcopy(self.grad, memo)
        memo[id(self)] = p
        return p


def _rebuild_parameter(data: Any, requires_grad: bool, grad: Any) -> Parameter:
    p = Parameter(Tensor._make(data), requires_grad)
    p.grad = grad
    return p
