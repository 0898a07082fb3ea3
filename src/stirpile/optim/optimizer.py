"""``Optimizer``: parameter groups, per-parameter state, ``step``, ``zero_grad`` and
state dicts, as in PyTorch.

An optimizer holds a list of *parameter groups*. Each group is a dict with the
key ``"params"`` (a list of tensors) and one entry per hyperparameter (``lr``,
``momentum``, …); a hyperparameter not given for a group takes the optimizer's
default. Learning-rate schedulers work by rewriting ``group["lr"]``.

``state`` maps each parameter to a dict of its buffers (momentum, moments, the
step count), created lazily on the first ``step``.

Subclasses implement :meth:`Optimizer._update`, which receives raw backend
arrays and updates the parameter *in place*: optimizers never build graph
nodes, so the update is plain NumPy with ``out=`` where that keeps it readable.

>>> import stirpile
>>> w = stirpile.tensor([1.0, -2.0], requires_grad=True)
>>> opt = stirpile.optim.SGD([w], lr=0.1)
>>> (w * w).sum().backward()      # grad = 2w
>>> opt.step()
>>> w
tensor([ 0.8000, -1.6000], requires_grad=True)
>>> opt.zero_grad()
>>> w.grad is None
True
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .. import backend as B
from ..autograd.grad_mode import enable_grad
from ..autograd.version import bump
from ..tensor import Tensor
from .flat import FlatGroup

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            (parameter groups: ``{"params": [...], "lr": 0.1, ...}``).
        defaults: the hyperparameters a group gets when it does not set them.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors "
                "or dicts, but got a Tensor"
            )
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self._flat: dict[int, FlatGroup] = {}  # group index -> its flat buffers
        self._scratch_buffers: dict[tuple, Any] = {}  # see _scratch
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __getstate__(self) -> dict[str, Any]:
        # A pickled (or deep-copied) optimizer must not bring its flat buffers: NumPy copies
        # each parameter's view on its own, so the copy's parameters would no longer be views
        # of the copy's buffer and its steps would change nothing. They are rebuilt at the
        # next step from the parameters' values. The scratch buffers hold nothing worth
        # keeping.
        state = self.__dict__.copy()
        state["_flat"] = {}
        state["_scratch_buffers"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # (an optimizer pickled by an earlier version has neither)
        self.__dict__.update({"_flat": {}, "_scratch_buffers": {}, **state})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join([*lines, ")"])

    # -- groups ---------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with optional per-group hyperparameters), e.g. to
        start training layers that were frozen."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):
                names.append(p[0])
                p = p[1]
            tensors.append(p)
        if names and len(names) != len(tensors):
            raise ValueError(
                "all optimizer params should be with/without names. Some param names are missing"
            )
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group["params"] = tensors
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            group.setdefault(name, default)

        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "in future, this will cause an error",
                stacklevel=3,
            )
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing.intersection(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        if self.param_groups and ("param_names" in group) != (
            "param_names" in self.param_groups[0]
        ):
            raise ValueError(
                "all optimizer param groups should be with/without names: cannot add a group "
                "that differs from the existing ones"
            )
        self.param_groups.append(group)

    # -- the training-loop calls ----------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (the default, which saves
        memory and lets ``step`` skip unused parameters) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.requires_grad:  # a grad built with create_graph=True
                        p.grad = p.grad.detach()
                    p.grad._data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient (parameters whose ``grad`` is None
        are skipped).

        ``closure``, if given, re-evaluates the model and returns the loss; it runs
        with gradient recording on (it normally calls ``zero_grad`` and ``backward``),
        before the update, and its value is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for i, group in enumerate(self.param_groups):
            if self._elementwise and self._flat_step(i, group):
                continue
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p._data, p.grad._data, self.state[p], group)
                    bump(p._data)  # a graph that saved p before the step must not use it
        return loss

    # Whether ``_update`` is elementwise: the same on the concatenation of parameters as
    # on each in turn. Then a small group takes its step in one call (see optim.flat).
    _elementwise = False

    # The state entries held as NumPy scalars, as PyTorch holds them in 0-dim tensors
    # (NAdam's ``mu_product``, ASGD's ``eta`` and ``mu``; see ``_scalar_state``).
    _scalar_keys: tuple[str, ...] = ()

    def _flat_step(self, i: int, group: dict) -> bool:
        """Step group ``i`` through its flat buffers, if it can have them."""
        flat = self._flat.get(i)
        if flat is not None and flat.current():
            flat.step(self._update, group)
            return True
        params = group["params"]
        if any(p.grad is None for p in params):
            return False
        states = [self.state[p] for p in params]
        if not FlatGroup.usable(params, states):
            return False
        for p in params:  # the arrays a graph may have saved are left behind: count it
            bump(p._data)
        flat = self._flat[i] = FlatGroup(params, states)
        flat.step(self._update, group)
        return True

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        """Update ``param`` (an array, in place) from ``grad`` (an array: do not modify
        it) and the parameter's ``state``, with ``group``'s hyperparameters."""
        raise NotImplementedError

    def _scratch(self, name: str, like: Any, *operands: Any) -> Any:
        """A buffer for a temporary of ``_update``, to pass as ``out=``: shaped like
        ``like``, of the dtype NumPy gives ``like`` combined with ``operands``, so that the
        ufunc rounds exactly as the expression it replaces (float64 hyperparameters, such
        as a scheduler's ``np.float64`` learning rate, make float64 temporaries).

        Buffers are kept per ``(name, shape, dtype)``, so that once warm a step allocates
        nothing: the compiled replay of ``stirpile.compile`` relies on it, and eager steps
        save the allocations. Parameters of one shape share a buffer. By convention
        ``"grad"`` holds the gradient an update works on (``_decayed_grad``) and ``"tmp"``
        the temporaries of one expression at a time; an ufunc may write into the buffer
        of its own operand (elementwise, the same array in and out is safe)."""
        dtype = B.xp.result_type(like, *operands) if operands else like.dtype
        key = (name, like.shape, dtype)
        buffer = self._scratch_buffers.get(key)
        if buffer is None:
            buffer = self._scratch_buffers[key] = B.xp.empty(like.shape, dtype)
        return buffer

    # -- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout::

            {"state": {0: {"step": 3, "exp_avg": tensor, ...}, 1: {...}},
             "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}

        Parameters are replaced by their index in the order of the groups, so the
        dict can be loaded into a new optimizer built over the same parameters. As
        in PyTorch the state tensors are the live buffers, not copies: save the dict
        (``stirpile.save``) or ``copy.deepcopy`` it to keep a snapshot.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        # (an empty state, e.g. SGD's without momentum, is left out, as PyTorch never makes it)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a dict from :meth:`state_dict` (or ``stirpile.load``), or one of
        ``torch.optim``'s: state tensors may be stirpile tensors, NumPy arrays or anything
        with ``__array__`` (PyTorch tensors on the CPU).

        The groups must match this optimizer's: same number of groups, same number of
        parameters in each. State tensors are copied (cast to their parameter's dtype,
        except the step count). On any mismatch a ``ValueError`` is raised and the
        optimizer is left unchanged.
        """
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                "optimizer state dict must be a dict with keys 'state' and 'param_groups'"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups: "
                f"{len(saved_groups)} in the state dict, {len(self.param_groups)} in the optimizer"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group: group {i} has {len(saved['params'])} parameters in "
                    f"the state dict, {len(group['params'])} in the optimizer"
                )
        id_map = {
            k: p
            for saved, group in zip(saved_groups, self.param_groups)
            for k, p in zip(saved["params"], group["params"])
        }
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for k, value in state_dict["state"].items():
            if k not in id_map:
                raise ValueError(
                    f"loaded state dict has state for parameter {k!r}, which is in none of its "
                    f"parameter groups {[g['params'] for g in saved_groups]}"
                )
            p = id_map[k]
            state[p] = {
                key: _cast_scalar(p, v) if key in self._scalar_keys else _cast(p, v, key)
                for key, v in value.items()
            }
        groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:
                new["param_names"] = group["param_names"]
            for name, default in self.defaults.items():
                new.setdefault(name, default)
            groups.append(new)
        self.state, self.param_groups = state, groups
        self._flat = {}  # rebuilt from the loaded state at the next step
        self._scratch_buffers = {}


def _array_of(value: Any) -> Any:
    """The array behind a state entry: a stirpile tensor's, or that of anything with
    ``__array__`` (a NumPy array, a PyTorch tensor from ``torch.optim``'s state dict);
    None for other values (numbers, and NumPy scalars, which some states hold as such)."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "__array__") and not isinstance(value, B.xp.generic):
        return B.xp.asarray(value)
    return None


def _cast(param: Tensor, value: Any, key: Any = None) -> Any:
    """A deep copy of one state entry: arrays (and array-likes such as PyTorch tensors)
    become tensors (floating ones in the parameter's dtype); ``step`` stays a plain
    number."""
    array = _array_of(value)
    if key == "step":
        value = B.xp.asarray(value if array is None else array).item()
        return int(value) if float(value).is_integer() else float(value)
    if array is not None:
        if array.dtype.kind == "f" and param.dtype.kind == "f":
            return Tensor._make(B.xp.array(array, dtype=param.dtype))
        return Tensor._make(B.xp.array(array))
    if isinstance(value, dict):
        return {k: _cast(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v) for v in value)
    return value


def _cast_scalar(param: Tensor, value: Any) -> Any:
    """A loaded scalar state entry (a 0-dim tensor or array, or a number) as a NumPy
    scalar in its parameter's dtype, as PyTorch casts a loaded state tensor to its
    parameter's dtype (so a float32 ``mu_product`` saved with float64 parameters resumes
    in float64)."""
    array = value._data if isinstance(value, Tensor) else B.xp.asarray(value)
    if param._data.dtype.kind == "f":
        array = array.astype(param._data.dtype)
    return array.reshape(())[()]


def _check_hyperparameters(**values: Any) -> None:
    """PyTorch's range checks of an optimizer's arguments, in the order given: each
    value must be ≥ 0 (NaN fails too), except ``betas``, whose two values must lie in
    ``[0, 1)``. A ``ValueError`` names the first one out of range, with PyTorch's
    message ("Invalid learning rate: …", "Invalid epsilon value: …",
    "Invalid beta parameter at index 1: …", "Invalid <name> value: …")."""
    for name, value in values.items():
        if name == "betas":
            for i, beta in enumerate(value):
                if not 0.0 <= beta < 1.0:
                    raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        elif not 0.0 <= value:
            label = {"lr": "learning rate", "eps": "epsilon value"}.get(name, f"{name} value")
            raise ValueError(f"Invalid {label}: {value}")


def _check_fused(fused: bool | None, foreach: bool | None, differentiable: bool) -> None:
    """PyTorch's checks of ``fused`` (which stirpile accepts and ignores: NumPy has one
    implementation of each update)."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _fresh(name: str, like: Any, *operands: Any) -> Any:
    """``Optimizer._scratch`` for the helpers' callers that keep no buffers: a new array."""
    return B.xp.empty(like.shape, B.xp.result_type(like, *operands))


def _lerp_(a: Any, b: Any, weight: float, scratch: Callable[..., Any] = _fresh) -> None:
    """``a ← a + weight (b − a)`` in place, rounded as PyTorch's ``lerp_`` rounds it
    (from the nearer end, so that weight 1 gives exactly ``b``). The temporaries go to
    ``scratch("tmp", …)`` (see ``Optimizer._scratch``)."""
    diff = B.xp.subtract(b, a, out=scratch("tmp", b, a))
    if abs(weight) < 0.5:  # a += weight * (b - a)
        a += B.xp.multiply(diff, weight, out=scratch("tmp", diff, weight))
    else:  # a = b - (b - a) * (1 - weight)
        scaled = B.xp.multiply(diff, 1 - weight, out=scratch("tmp", diff, 1 - weight))
        B.xp.subtract(b, scaled, out=a)


def _zeros(param: Any) -> Tensor:
    return Tensor._make(B.xp.zeros_like(param))


def _init_state(state: dict[str, Any], param: Any, *buffers: str) -> None:
    """A parameter's first state: ``step`` 0 and a zero buffer shaped like ``param``
    for each name in ``buffers``."""
    state["step"] = 0
    for name in buffers:
        state[name] = _zeros(param)


def _decayed_grad(
    param: Any,
    grad: Any,
    group: dict,
    decoupled: bool = False,
    scratch: Callable[..., Any] = _fresh,
) -> Any:
    """The gradient an update uses, after the two steps most optimizers begin with::

        g ← −g                          if maximize
        w ← w (1 − lr · weight_decay)   if decoupled (AdamW's weight decay, in place)
        g ← g + weight_decay · w        elif weight_decay ≠ 0 (L2)

    ``grad`` itself is never modified (it is the parameter's ``.grad``): a new ``g`` is
    written to ``scratch("grad", …)`` (see ``Optimizer._scratch``)."""
    g = B.xp.negative(grad, out=scratch("grad", grad)) if group["maximize"] else grad
    wd = group["weight_decay"]
    if wd != 0:
        if decoupled:
            param *= 1 - float(group["lr"]) * wd
        else:  # g = g + wd * param
            decay = B.xp.multiply(param, wd, out=scratch("tmp", param, wd))
            g = B.xp.add(g, decay, out=scratch("grad", g, decay))
    return g


def _scalar_state(value: float, like: Any = None) -> Any:
    """``value`` as PyTorch holds a 0-dim state tensor such as NAdam's ``mu_product``
    or ASGD's ``eta``: rounded to the default dtype (what ``torch.as_tensor`` of a
    Python float gives), then to the dtype of ``like`` (the entry it replaces)."""
    value = B.get_default_dtype().type(value)
    return value if like is None else like.dtype.type(value)
