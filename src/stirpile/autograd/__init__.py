"""Reverse-mode automatic differentiation: ``backward``, ``grad``, custom ``Function``\\ s,
grad modes, higher-order helpers and gradient checking."""

from __future__ import annotations

from typing import Any

from .. import backend as B
from . import engine as _engine
from . import functional
from .engine import _accumulate_leaf, run_backward
from .function import Function, Node
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck

__all__ = [
    "Function",
    "Node",
    "backward",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]


def _seq(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _grad_outputs(outputs: list, grad_outputs: Any, create_graph: bool) -> list:
    """One starting gradient per output: given, or 1 for a scalar output."""
    Tensor = _engine.Tensor  # registered there by stirpile.tensor (avoids an import cycle)

    if grad_outputs is None and len(outputs) == 1:  # loss.backward(): the common case
        out = outputs[0]
        if isinstance(out, Tensor) and out.requires_grad and out._data.size == 1:
            one = B.xp.empty(out.shape, out.dtype)  # two C calls; np.ones is Python code
            one.fill(1)
            return [Tensor._make(one) if create_graph else one]
    given = _seq(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    if len(given) != len(outputs):
        raise RuntimeError(
            f"grad: got {len(given)} grad_outputs for {len(outputs)} outputs; they must match"
        )
    result = []
    for out, g in zip(outputs, given):
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this output has "
                    f"shape {tuple(out.shape)}: pass gradient= (a tensor of that shape)"
                )
            g = Tensor._make(B.xp.ones(out.shape, out.dtype))
        elif not isinstance(g, Tensor):
            g = Tensor._make(B.xp.asarray(g, dtype=out.dtype))
        if g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output has shape {tuple(g.shape)} and output has "
                f"shape {tuple(out.shape)}"
            )
        if g.dtype != out.dtype:  # cast to the output's dtype, as PyTorch does
            g = g.to(out.dtype) if create_graph else Tensor._make(g._data.astype(out.dtype))
        result.append(g if create_graph else g._data)
    return result


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the graph's leaves
    (only into those of ``inputs``, if given)."""
    outputs = _seq(tensors)
    grads = _grad_outputs(outputs, grad_tensors, create_graph)
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is None:
        run_backward(outputs, grads, retain_graph=retain, create_graph=create_graph)
        return
    ins = _seq(inputs)
    found = run_backward(outputs, grads, retain, create_graph, inputs=ins)
    for t, g in zip(ins, found):
        if g is not None:
            _accumulate_leaf(t, g, create_graph)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` untouched).

    With ``create_graph=True`` the result is itself differentiable:

    >>> import stirpile
    >>> x = stirpile.tensor(3.0, requires_grad=True)
    >>> (dy,) = stirpile.autograd.grad(x**3, x, create_graph=True)  # 3x² = 27
    >>> (d2y,) = stirpile.autograd.grad(dy, x)  # 6x = 18
    >>> dy.item(), d2y.item()
    (27.0, 18.0)
    """
    from ..tensor import Tensor

    outs, ins = _seq(outputs), _seq(inputs)
    for t in ins:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("grad: one of the differentiated Tensors does not require grad")
    grads = _grad_outputs(outs, grad_outputs, create_graph)
    retain = create_graph if retain_graph is None else retain_graph
    found = run_backward(outs, grads, retain, create_graph, inputs=ins)
    result = []
    for g in found:
        if g is None and not allow_unused:
            raise RuntimeError(
                "One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
        if g is not None and not isinstance(g, Tensor):
            g = Tensor._make(g.copy())
        result.append(g)
    return tuple(result)
