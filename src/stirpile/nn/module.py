"""``Module``: the base class of every layer, loss and model.

A module owns three ordered dictionaries, filled by plain attribute assignment:

* ``_parameters``: :class:`Parameter` attributes (learnable; ``parameters()``),
* ``_buffers``: tensors registered with :meth:`Module.register_buffer` (state that
  is not learned, such as BatchNorm's running mean; saved in the state dict
  unless ``persistent=False``),
* ``_modules``: submodules (``children()``; ``named_modules()`` walks the tree).

Everything else follows from those: parameter and buffer iteration with dotted
names (``"0.weight"``, ``"bn.running_mean"``), ``state_dict`` /
``load_state_dict`` for checkpoints, ``train()`` / ``eval()`` propagated to
every submodule, ``to(dtype)``, forward hooks, and a nested ``repr``.

Calling a module (``model(x)``) runs the forward pre-hooks, ``forward``, then
the forward hooks.

>>> import stirpile
>>> from stirpile import nn
>>> class TwoLayer(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc1 = nn.Linear(4, 8)
...         self.fc2 = nn.Linear(8, 2)
...     def forward(self, x):
...         return self.fc2(self.fc1(x).relu())
>>> net = TwoLayer()
>>> [name for name, _ in net.named_parameters()]
['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
>>> net(stirpile.randn(3, 4)).shape
(3, 2)
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, _to_args
from .parameter import Parameter

__all__ = ["Module", "RemovableHandle"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it could not match."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods: ``handle.remove()`` unregisters the
    hook; also a context manager that removes it on exit."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, *extra: dict) -> None:
        self.id = next(RemovableHandle._ids)
        self._dicts = (hooks, *extra)

    def remove(self) -> None:
        for d in self._dicts:
            d.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _check_name(kind: str, name: Any, owner: Module, table: dict) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if hasattr(owner, name) and name not in table:
        raise KeyError(f"attribute '{name}' already exists")


class Module:
    """Base class for all neural-network modules; subclass it and define ``forward``.

    Submodules, :class:`Parameter`\\ s and buffers assigned as attributes in
    ``__init__`` (after ``super().__init__()``) are registered automatically.
    """

    training: bool
    _version: int = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments; Module.__init__ "
                "takes none"
            )
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = {}
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = {}

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # -- calling -------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks):  # the common case
            return self.forward(*args, **kwargs)
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "forward pre-hook with kwargs must return None or a tuple of "
                            f"(new_args, new_kwargs), but got {result}."
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook_id, hook in list(self._forward_hooks.items()):
            if hook_id in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a non-``None`` return value
        replaces the positional arguments (a single value is wrapped in a tuple). With
        ``with_kwargs=True`` it is ``hook(module, args, kwargs) -> None | (args, kwargs)``."""
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        _insert(self._forward_pre_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; a non-``None`` return
        value replaces the output. With ``with_kwargs=True`` the hook is
        ``hook(module, args, kwargs, output)``."""
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs)
        _insert(self._forward_hooks, handle.id, hook, prepend)
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        return handle

    # -- registration --------------------------------------------------------------------
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a ``None`` placeholder, e.g. ``bias=False``) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(stirpile.nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must "
                "be created explicitly; to express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is module state but not a parameter (BatchNorm's running
        statistics). Persistent buffers are saved in :meth:`state_dict`."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name, self, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(stirpile.Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (also done by attribute assignment)."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name("module", name, self, self._modules)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            _discard(name, d, d["_buffers"], d["_modules"], d["_non_persistent_buffers_set"])
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(stirpile.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            modules = d.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            _discard(name, d, d["_parameters"], d["_buffers"], d["_non_persistent_buffers_set"])
            modules[name] = value
        elif name in d.get("_modules", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(stirpile.nn.Module or None expected)"
                )
            d["_modules"][name] = None
        elif name in d.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(stirpile.Tensor or None expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if name in d.get(table, ()):
                del d[table][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list:
        keys = list(super().__dir__())
        keys += list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(set(keys))

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    # -- iteration -----------------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (name ``prefix``) and every
        descendant, depth first, each module once."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(
        self, table: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs in registration order, shared ones once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` (``""`` is this module)."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            if item not in module._modules or module._modules[item] is None:
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            module = module._modules[item]
        return module

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"{module._get_name()} has no parameter `{name}`")
        return module._parameters[name]

    # -- modes and gradients -------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) here and in
        every submodule; returns ``self``."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to ``None`` (default), or to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad_(False)
                p.grad.zero_()

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on ``self``; the
        usual way to run a custom initialization over a model."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- dtype -----------------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Module:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``: cast
        floating-point parameters, their gradients and floating buffers in place (integer
        buffers such as ``num_batches_tracked`` are kept). The CPU is the only device: another
        raises an error naming it. Returns ``self``."""
        _, dtype, _ = _to_args(args, kwargs)  # a device other than the CPU raises here
        if dtype is None:
            return self
        dtype = B.xp.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(
                f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}"
            )
        for module in self.modules():
            for table in (module._parameters, module._buffers):
                for t in table.values():
                    if t is None or t.dtype.kind != "f" or t.dtype == dtype:
                        continue
                    t.data = t.data.to(dtype)
                    if t.grad is not None:
                        t.grad = t.grad.to(dtype)
        return self

    def float(self) -> Module:
        return self.to(B.float32)

    def double(self) -> Module:
        return self.to(B.float64)

    def type(self, dst_type: Any) -> Module:
        return self.to(dst_type)

    def cpu(self) -> Module:
        return self

    def cuda(self, device: Any = None) -> Module:
        """Refused with an error naming the device: stirpile runs on the CPU only."""
        _to_args(("cuda" if device is None or isinstance(device, int) else device,), {})
        return self

    def half(self) -> Module:
        return self.to(B.float16)

    # -- state dict ------------------------------------------------------------------------
    def _local_state(self) -> Iterator[tuple[str, Tensor]]:
        """This module's own saved entries: parameters, then persistent buffers."""
        for name, p in self._parameters.items():
            if p is not None:
                yield name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                yield name, b

    def _state_entries(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for name, t in self._local_state():
            yield prefix + name, t
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_entries(prefix + name + ".")

    def state_dict(
        self, *, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict:
        """Every parameter and persistent buffer under its dotted name, in registration
        order (a module's own entries, then its children's). Values are detached
        tensors sharing memory with the module's (``keep_vars=True``: the tensors)."""
        out = OrderedDict() if destination is None else destination
        for key, t in self._state_entries(prefix):
            out[key] = t if keep_vars else t.detach()
        return out

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        Every key and shape is checked *before* anything is copied, so a load that
        fails leaves the module untouched. Raises ``RuntimeError`` listing all
        problems at once: missing and unexpected keys (when ``strict``) and shape
        mismatches (always). Returns ``(missing_keys, unexpected_keys)``.

        With ``assign=True`` the module's tensors are replaced by the given ones
        (parameters keep their ``requires_grad``) instead of being copied into.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        owners: dict[str, tuple[Module, str]] = {}
        for prefix, module in self.named_modules(remove_duplicate=False):
            for name, _ in module._local_state():
                owners[(prefix + "." if prefix else "") + name] = (module, name)
        missing = [k for k in owners if k not in state_dict]
        unexpected = [k for k in state_dict if k not in owners]
        errors = []
        for key, (module, name) in owners.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            current = module._parameters.get(name)
            if current is None:
                current = module._buffers[name]
            if not isinstance(value, (Tensor, B.ndarray)):
                errors.append(
                    f'While copying the parameter named "{key}", expected Tensor or array from '
                    f"checkpoint but received {type(value).__name__}"
                )
                continue
            shape = tuple(value.shape)
            if shape != tuple(current.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {shape} from "
                    f"checkpoint, the shape in current model is {tuple(current.shape)}."
                )
        if strict:
            if unexpected:
                errors.insert(
                    0,
                    "Unexpected key(s) in state_dict: "
                    + ", ".join(f'"{k}"' for k in unexpected)
                    + ". ",
                )
            if missing:
                errors.insert(
                    0,
                    "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ",
                )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {self._get_name()}:\n\t" + "\n\t".join(errors)
            )
        with no_grad():
            for key, (module, name) in owners.items():
                if key not in state_dict:
                    continue
                value = state_dict[key]
                if name in module._parameters:
                    param = module._parameters[name]
                    if assign:
                        src = value if isinstance(value, Tensor) else Tensor._make(value)
                        module._parameters[name] = Parameter(src, param.requires_grad)
                    else:
                        param.copy_(value)
                else:
                    buf = module._buffers[name]
                    if assign:
                        module._buffers[name] = (
                            value if isinstance(value, Tensor) else Tensor._make(value)
                        )
                    else:
                        buf.copy_(value)
        return _IncompatibleKeys(missing, unexpected)

    # -- repr ------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The hyperparameters shown inside ``Name(...)``; override in subclasses."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({key}): " + _addindent(repr(module), 2) for key, module in self._modules.items()
        ]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"


def _insert(hooks: OrderedDict, key: int, hook: Callable, prepend: bool) -> None:
    hooks[key] = hook
    if prepend:
        hooks.move_to_end(key, last=False)


def _discard(name: str, *tables: Any) -> None:
    for t in tables:
        if name in t:
            if isinstance(t, set):
                t.discard(name)
            else:
                del t[name]
