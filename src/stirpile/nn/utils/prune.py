"""Pruning: zero out entries of a parameter through a mask, as ``torch.nn.utils.prune``.

Pruning the parameter ``name`` of a module reparameterizes it (PyTorch's scheme, kept
name for name so state dicts match):

* the parameter moves to ``name + "_orig"`` (still the trained ``Parameter``);
* a buffer ``name + "_mask"`` (same dtype, 0 = pruned, 1 = kept) joins the state dict;
* a forward pre-hook (the pruning method itself) recomputes the plain attribute
  ``name = name_mask * name_orig`` before every forward.

Because ``name`` is recomputed from ``name_orig`` through a differentiable product, the
gradient reaching ``name_orig`` is ``mask ⊙ ∂L/∂name``: pruned entries get exactly zero
gradient, so the mask acts in the forward pass *and* on the gradients. Pruning the same
parameter again combines the masks (a :class:`PruningContainer`): the new amount is a
fraction of the entries still unpruned. :func:`remove` makes the pruning permanent.

Unstructured methods only (``identity``, ``random_unstructured``, ``l1_unstructured``,
``global_unstructured``, ``custom_from_mask``); the structured ones are not here.

>>> from stirpile import nn
>>> from stirpile.nn.utils import prune
>>> fc = nn.Linear(4, 3)
>>> _ = prune.l1_unstructured(fc, "weight", amount=0.5)
>>> sorted(fc.state_dict())
['bias', 'weight_mask', 'weight_orig']
>>> int(fc.weight_mask.sum()), prune.is_pruned(fc)
(6, True)
>>> _ = prune.remove(fc, "weight")
>>> sorted(fc.state_dict()), prune.is_pruned(fc)
(['bias', 'weight'], False)
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from ...tensor import Tensor
from ..module import Module

__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "PruningContainer",
    "RandomUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "identity",
    "is_pruned",
    "l1_unstructured",
    "random_unstructured",
    "remove",
]


def _array(t: Any) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, Tensor) else np.asarray(t)


def _tensor(a: np.ndarray) -> Tensor:
    return Tensor._make(np.ascontiguousarray(a))


class BasePruningMethod:
    """A way of computing a mask; an instance is also the forward pre-hook that applies
    it. Subclasses define ``PRUNING_TYPE`` and ``compute_mask(t, default_mask)``."""

    PRUNING_TYPE = "unstructured"
    _tensor_name: str | None = None

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The new mask for ``t``, given the mask ``default_mask`` of earlier pruning."""
        raise NotImplementedError

    def apply_mask(self, module: Module) -> Tensor:
        """``mask ⊙ orig`` (differentiable in ``orig``)."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any, importance_scores: Any = None,
              **kwargs: Any) -> BasePruningMethod:  # fmt: skip
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``: reparameterize it (or
        add to an existing pruning of it) and register the hook."""
        old, keys = None, []
        for k, hook in module._forward_pre_hooks.items():
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                old = hook
                keys.append(k)
        if len(keys) > 1:
            raise AssertionError(
                f"Avoid adding multiple pruning hooks to the same tensor {name} of module "
                f"{module}. Use a PruningContainer."
            )
        for k in keys:
            del module._forward_pre_hooks[k]
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if isinstance(old, PruningContainer):
            old.add_pruning_method(method)
            method = old
        elif old is not None:
            method = PruningContainer(old, method)
        orig = getattr(module, name)
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(orig.shape):
                raise AssertionError(
                    f"importance_scores should have the same shape as parameter {name} of "
                    f"{module}, got {tuple(importance_scores.shape)} vs {tuple(orig.shape)}"
                )
        else:
            importance_scores = orig
        first = not isinstance(method, PruningContainer)
        if first:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = _tensor(np.ones(orig.shape, _array(orig).dtype))
        else:
            default_mask = _tensor(_array(getattr(module, name + "_mask")).copy())
        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if first:  # undo the reparameterization
                module.register_parameter(name, module._parameters.pop(name + "_orig"))
            raise
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None,
              importance_scores: Tensor | None = None) -> Tensor:  # fmt: skip
        """``t`` with this method's mask applied (``t`` itself is left as it is)."""
        scores = t if importance_scores is None else importance_scores
        if default_mask is None:
            default_mask = _tensor(np.ones(t.shape, _array(t).dtype))
        return t * self.compute_mask(scores, default_mask=default_mask)

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``name`` becomes a plain parameter again holding
        ``mask ⊙ orig``; ``name_orig`` and ``name_mask`` go away."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be removed")
        weight = self.apply_mask(module)
        if self._tensor_name in module.__dict__:
            delattr(module, self._tensor_name)
        orig = module._parameters.pop(self._tensor_name + "_orig")
        orig.data = weight.data
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


class PruningContainer(BasePruningMethod):
    """Successive pruning methods of one tensor; the latest one prunes only among the
    entries the earlier ones kept (all of them for ``PRUNING_TYPE == "global"``)."""

    def __init__(self, *args: BasePruningMethod) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        if len(args) == 1 and not isinstance(args[0], BasePruningMethod):  # an iterable
            args = tuple(args[0])
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            if self._tensor_name is not None:
                raise ValueError(
                    "Can only add pruning methods acting on the parameter named "
                    f"'{self._tensor_name}' to PruningContainer {self}. Found "
                    f"'{method._tensor_name}'"
                )
            self._tensor_name = method._tensor_name
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Any:
        return iter(self._pruning_methods)

    def __getitem__(self, idx: int) -> BasePruningMethod:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        method = self._pruning_methods[-1]
        mask = _array(default_mask).astype(_array(t).dtype)  # a copy
        if method.PRUNING_TYPE == "global":  # acts on the whole tensor
            return _tensor(_array(method.compute_mask(t, _tensor(mask))).astype(mask.dtype))
        if method.PRUNING_TYPE != "unstructured":
            raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
        keep = mask == 1  # the new mask is computed on the unpruned entries only
        part = method.compute_mask(_tensor(_array(t)[keep]), _tensor(mask[keep]))
        mask[keep] = _array(part)
        return _tensor(mask)


class Identity(BasePruningMethod):
    """Prunes nothing: a mask of ones (the reparameterization alone)."""

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> BasePruningMethod:  # type: ignore[override]
        return super().apply(module, name)


def _check_amount(amount: Any) -> None:
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
        not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)
    ):
        raise ValueError(
            f"amount={amount} should either be a float in the range [0, 1] or a non-negative "
            "integer"
        )


def _n_to_prune(amount: Any, size: int) -> int:
    """``amount`` as a count: ints as they are, fractions rounded (half to even)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(
                f"amount={amount} should be smaller than the number of parameters to prune={size}"
            )
        return int(amount)
    return round(amount * size)


class _Unstructured(BasePruningMethod):
    def __init__(self, amount: int | float) -> None:
        _check_amount(amount)
        self.amount = amount

    def _scores(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        a = _array(t)
        k = _n_to_prune(self.amount, a.size)
        mask = _array(default_mask).copy()
        if k:  # zero the k entries of smallest score
            idx = np.argsort(self._scores(a).reshape(-1), kind="stable")[:k]
            mask.reshape(-1)[idx] = 0
        return _tensor(mask)

    @classmethod
    def apply(cls, module: Module, name: str, amount: int | float,  # type: ignore[override]
              importance_scores: Any = None) -> BasePruningMethod:  # fmt: skip
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomUnstructured(_Unstructured):
    """Prunes ``amount`` (a fraction or a count) of the unpruned entries at random (from
    stirpile's global generator)."""

    def _scores(self, t: np.ndarray) -> np.ndarray:
        from ... import rand

        return rand(*t.shape).numpy()


class L1Unstructured(_Unstructured):
    """Prunes ``amount`` (a fraction or a count) of the unpruned entries of smallest
    ``|t|``: magnitude pruning."""

    def _scores(self, t: np.ndarray) -> np.ndarray:
        return np.abs(t)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is 0 (combined with any earlier mask)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Any) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        d, m = _array(default_mask), _array(self.mask)
        if d.shape != m.shape:
            raise AssertionError(
                f"default_mask shape {tuple(d.shape)} must match self.mask shape {tuple(m.shape)}"
            )
        return _tensor(d * m.astype(d.dtype))

    @classmethod
    def apply(cls, module: Module, name: str, mask: Any) -> BasePruningMethod:  # type: ignore[override]
        return super().apply(module, name, mask=mask)


def identity(module: Module, name: str) -> Module:
    """Reparameterize ``module.<name>`` with a mask of ones (prunes nothing)."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: int | float) -> Module:
    """Prune ``amount`` of the unpruned entries of ``module.<name>`` at random."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount: int | float,
                    importance_scores: Any = None) -> Module:  # fmt: skip
    """Prune the ``amount`` unpruned entries of ``module.<name>`` of smallest magnitude
    (of ``|importance_scores|`` when given). A float is a fraction of the unpruned
    entries (rounded), an int a count."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def global_unstructured(parameters: Iterable[tuple[Module, str]], pruning_method: type,
                        importance_scores: dict | None = None, **kwargs: Any) -> None:  # fmt: skip
    """Prune the ``(module, name)`` pairs together: ``pruning_method(**kwargs)`` ranks the
    unpruned entries of all of them at once (one threshold for every tensor), then each
    gets its slice of the mask through :func:`custom_from_mask`.

    >>> from stirpile import nn
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    >>> global_unstructured([(net[0], "weight"), (net[1], "weight")],
    ...                     pruning_method=L1Unstructured, amount=9)
    >>> int(net[0].weight_mask.sum() + net[1].weight_mask.sum())
    9
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    scores = importance_scores if importance_scores is not None else {}
    if not isinstance(scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    flat = np.concatenate([_array(scores.get((m, n), getattr(m, n))).reshape(-1)
                           for m, n in parameters])  # fmt: skip
    default = np.concatenate([
        _array(getattr(m, n + "_mask")).reshape(-1) if hasattr(m, n + "_mask")
        else np.ones(getattr(m, n).numel(), flat.dtype) for m, n in parameters
    ])  # fmt: skip
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(
            'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
            f"{pruning_method} of type {method.PRUNING_TYPE}"
        )
    method._tensor_name = "temp"
    final = _array(PruningContainer(method).compute_mask(_tensor(flat), _tensor(default)))
    start = 0
    for module, name in parameters:
        shape = tuple(getattr(module, name).shape)
        size = int(np.prod(shape))
        custom_from_mask(module, name, mask=_tensor(final[start : start + size].reshape(shape)))
        start += size


def custom_from_mask(module: Module, name: str, mask: Any) -> Module:
    """Prune ``module.<name>`` where ``mask`` is 0."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent and drop its hook, mask and
    ``_orig`` (the pruned entries stay 0)."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(
        f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed"
    )


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or a submodule carries a pruning hook."""
    return any(
        isinstance(hook, BasePruningMethod)
        for _, sub in module.named_modules()
        for hook in sub._forward_pre_hooks.values()
    )
