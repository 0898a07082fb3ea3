"""Export chains of stirpile layers to ONNX (``torch.onnx.export``'s job, for our layers).

:func:`export` walks a model made of ``nn.Sequential`` containers (or modules whose
``forward`` applies their children in order, such as :class:`stirpile.models.LeNet5`)
and writes one ONNX node (or a few) per layer, built with ``onnx.helper``: weights
become initializers, the batch dimension is symbolic when ``dynamic_batch``. The graph is
checked with ``onnx.checker.check_model`` before it is written (atomically).

Needs the optional extra: ``pip install stirpile[onnx]``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import nn
from .io import atomic_write
from .tensor import Tensor

__all__ = ["export"]


def _require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("stirpile.onnx needs onnx: pip install stirpile[onnx]") from None
    return onnx


def _tup(v: Any, n: int) -> list[int]:
    return [int(a) for a in v] if isinstance(v, (tuple, list)) else [int(v)] * n


class _Reshape(nn.Module):
    """An internal step: a static reshape keeping the batch dimension (LeNet5's flat input)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], *self.shape)


def _flatten_chain(module: nn.Module, x: Tensor) -> tuple[list[nn.Module], Tensor]:
    """The leaf layers ``module`` applies to ``x``, in order, and its output.

    A non-Sequential module with children is taken to be a chain of them; this is
    checked by comparing the chain's output with ``module(x)``."""
    if isinstance(module, nn.Sequential):
        leaves: list[nn.Module] = []
        for child in module.children():
            sub, x = _flatten_chain(child, x)
            leaves += sub
        return leaves, x
    children = list(module.children())
    if not children or type(module) in _CONVERTERS:
        return [module], module(x)
    leaves, y = [], x
    if getattr(type(module), "__name__", "") == "LeNet5" and x.ndim == 2:
        step = _Reshape((module.in_channels, module.image_size, module.image_size))
        leaves, y = [step], step(x)
    try:
        for child in children:
            sub, y = _flatten_chain(child, y)
            leaves += sub
        same = y.shape == (ref := module(x)).shape and np.allclose(
            y.detach().numpy(), ref.detach().numpy(), rtol=1e-6, atol=1e-7
        )
    except NotImplementedError:
        raise
    except Exception:
        same = False
    if not same:
        raise NotImplementedError(
            f"onnx.export: the forward of {type(module).__name__} is not a plain chain of its "
            "children; only nn.Sequential-like models can be exported"
        )
    return leaves, y


class _Graph:
    """Nodes and initializers under construction, with fresh value names."""

    def __init__(self, onnx: Any, dtype: np.dtype) -> None:
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint: str, value: Any, dtype: Any = None) -> str:
        arr = np.asarray(value.detach().numpy() if isinstance(value, Tensor) else value)
        arr = arr.astype(dtype or self.dtype)
        name = self.name(hint)
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def node(self, op: str, inputs: Sequence[str], hint: str | None = None, **attrs: Any) -> str:
        out = self.name(hint or op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out], **attrs))
        return out


# -- converters: (graph, module, input name, input shape, output shape, opset) -> output name


def _linear(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    w = m.weight
    if len(shape) == 2:  # Gemm: y = x Wᵀ + b
        ins = [x, g.const("weight", w)] + ([g.const("bias", m.bias)] if m.bias is not None else [])
        return g.node("Gemm", ins, "linear", transB=1)
    y = g.node("MatMul", [x, g.const("weight_t", w.detach().numpy().T)], "linear")
    return y if m.bias is None else g.node("Add", [y, g.const("bias", m.bias)], "linear")


def _conv(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    d = len(shape) - 2
    if m.padding_mode != "zeros":
        raise NotImplementedError(f"onnx.export: Conv padding_mode={m.padding_mode!r}")
    k, dil = _tup(m.kernel_size, d), _tup(m.dilation, d)
    if m.padding == "valid":
        begin = end = [0] * d
    elif m.padding == "same":  # torch puts the odd extra pixel at the end
        total = [di * (ki - 1) for di, ki in zip(dil, k)]
        begin = [t // 2 for t in total]
        end = [t - b for t, b in zip(total, begin)]
    else:
        begin = end = _tup(m.padding, d)
    ins = [x, g.const("weight", m.weight)]
    if m.bias is not None:
        ins.append(g.const("bias", m.bias))
    return g.node("Conv", ins, "conv", kernel_shape=k, strides=_tup(m.stride, d),
                  pads=begin + end, dilations=dil, group=int(m.groups))  # fmt: skip


def _maxpool(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    if m.return_indices:
        raise NotImplementedError("onnx.export: MaxPool2d(return_indices=True)")
    p = _tup(m.padding, 2)
    return g.node("MaxPool", [x], "maxpool", kernel_shape=_tup(m.kernel_size, 2),
                  strides=_tup(m.stride or m.kernel_size, 2), pads=p + p,
                  dilations=_tup(m.dilation, 2), ceil_mode=int(m.ceil_mode))  # fmt: skip


def _avgpool(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    if m.divisor_override is not None:
        raise NotImplementedError("onnx.export: AvgPool2d(divisor_override=...) has no ONNX op")
    p = _tup(m.padding, 2)
    return g.node("AveragePool", [x], "avgpool", kernel_shape=_tup(m.kernel_size, 2),
                  strides=_tup(m.stride or m.kernel_size, 2), pads=p + p,
                  ceil_mode=int(m.ceil_mode),
                  count_include_pad=int(m.count_include_pad))  # fmt: skip


def _adaptive_avg(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    if tuple(out[2:]) != (1, 1):
        raise NotImplementedError(
            f"onnx.export: AdaptiveAvgPool2d({m.output_size!r}); only output size (1, 1) "
            "(GlobalAveragePool) is supported"
        )
    return g.node("GlobalAveragePool", [x], "gap")


def _batchnorm(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    if m.running_mean is None:
        raise NotImplementedError(
            "onnx.export: BatchNorm with track_running_stats=False normalizes with batch "
            "statistics even in eval mode; ONNX BatchNormalization needs running statistics"
        )
    c = m.num_features
    scale = m.weight if m.affine else np.ones(c)
    bias = m.bias if m.affine else np.zeros(c)
    ins = [x, g.const("bn_scale", scale), g.const("bn_bias", bias),
           g.const("bn_mean", m.running_mean), g.const("bn_var", m.running_var)]  # fmt: skip
    return g.node("BatchNormalization", ins, "batchnorm", epsilon=float(m.eps))


def _flatten(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    n = len(shape)
    start, end = m.start_dim % n, m.end_dim % n
    if end == n - 1:
        if start == 0:
            return g.node("Reshape", [x, g.const("shape", [-1], np.int64)], "flatten")
        if start == 1:
            return g.node("Flatten", [x], "flatten", axis=1)
    return _reshape_to(g, x, out)


def _reshape_to(g: _Graph, x: str, out: tuple) -> str:
    """Reshape keeping dimension 0 as it is (``0`` in an ONNX shape copies the input's)."""
    return g.node("Reshape", [x, g.const("shape", [0, *out[1:]], np.int64)], "reshape")


def _identity(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    return x


def _gelu(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    if opset >= 20:
        return g.node("Gelu", [x], "gelu", approximate=m.approximate)
    # opsets before 20 have no Gelu: compose x·Φ(x), exactly as torch's definition
    if m.approximate == "tanh":  # 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        x3 = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [x3, g.const("c", 0.044715)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.const("c", math.sqrt(2 / math.pi))])])
    else:  # 0.5·x·(1 + erf(x/√2))
        t = g.node("Erf", [g.node("Mul", [x, g.const("c", 1 / math.sqrt(2))])])
    half_x = g.node("Mul", [x, g.const("half", 0.5)])
    return g.node("Mul", [half_x, g.node("Add", [t, g.const("one", 1.0)])], "gelu")


def _silu(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    return g.node("Mul", [x, g.node("Sigmoid", [x])], "silu")


def _softplus(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    # ONNX Softplus is log(1 + eˣ); torch's (1/β)·log(1 + e^{βx}) switches to x above the
    # threshold, which differs from it by less than e^{-threshold}/β
    if m.beta == 1:
        return g.node("Softplus", [x], "softplus")
    bx = g.node("Mul", [x, g.const("beta", m.beta)])
    return g.node("Div", [g.node("Softplus", [bx]), g.const("beta", m.beta)], "softplus")


def _mish(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    if opset >= 18:
        return g.node("Mish", [x], "mish")
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])], "mish")


def _hardtanh(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
    lo, hi = g.const("min", m.min_val), g.const("max", m.max_val)
    return g.node("Clip", [x, lo, hi], "hardtanh")


def _softmax(op: str) -> Callable[..., str]:
    def convert(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
        if m.dim is None:
            raise NotImplementedError(f"onnx.export: {type(m).__name__}(dim=None); give a dim")
        return g.node(op, [x], op.lower(), axis=int(m.dim))

    return convert


def _simple(op: str, **fixed: Any) -> Callable[..., str]:
    """A converter to one ONNX op whose attributes are module fields (``attr=field name``)
    or constants."""

    def convert(g: _Graph, m: Any, x: str, shape: tuple, out: tuple, opset: int) -> str:
        attrs = {k: float(getattr(m, v)) if isinstance(v, str) else v for k, v in fixed.items()}
        return g.node(op, [x], op.lower(), **attrs)

    return convert


_CONVERTERS: dict[type, Callable[..., str]] = {
    nn.Linear: _linear,
    nn.Conv1d: _conv,
    nn.Conv2d: _conv,
    nn.MaxPool2d: _maxpool,
    nn.AvgPool2d: _avgpool,
    nn.AdaptiveAvgPool2d: _adaptive_avg,
    nn.BatchNorm1d: _batchnorm,
    nn.BatchNorm2d: _batchnorm,
    nn.Flatten: _flatten,
    nn.Identity: _identity,
    nn.Dropout: _identity,  # eval mode: the identity
    nn.Dropout1d: _identity,
    nn.Dropout2d: _identity,
    nn.AlphaDropout: _identity,
    nn.ReLU: _simple("Relu"),
    nn.LeakyReLU: _simple("LeakyRelu", alpha="negative_slope"),
    nn.ELU: _simple("Elu", alpha="alpha"),
    nn.CELU: _simple("Celu", alpha="alpha"),
    nn.SELU: _simple("Selu"),  # ONNX's default α, γ are torch's constants
    nn.Sigmoid: _simple("Sigmoid"),
    nn.Tanh: _simple("Tanh"),
    nn.Softsign: _simple("Softsign"),
    nn.Hardsigmoid: _simple("HardSigmoid", alpha=1 / 6, beta=0.5),
    nn.Hardswish: _simple("HardSwish"),
    nn.GELU: _gelu,
    nn.SiLU: _silu,
    nn.Softplus: _softplus,
    nn.Mish: _mish,
    nn.Hardtanh: _hardtanh,
    nn.ReLU6: _hardtanh,
    nn.Softmax: _softmax("Softmax"),
    nn.LogSoftmax: _softmax("LogSoftmax"),
}


def export(
    model: nn.Module,
    example_input: Tensor,
    path: str | os.PathLike,
    input_names: Sequence[str] = ("input",),
    output_names: Sequence[str] = ("output",),
    opset_version: int = 17,
    dynamic_batch: bool = True,
) -> Any:
    """Write ``model`` as an ONNX model to ``path`` and return the ``onnx.ModelProto``.

    ``model`` is a chain of layers: ``nn.Sequential`` (nested freely), or a module whose
    forward applies its children in order (checked on ``example_input``). Supported
    layers: Linear (Gemm), Conv1d/Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d((1, 1))
    (GlobalAveragePool), BatchNorm1d/2d (BatchNormalization with the running statistics),
    Flatten, Identity, Dropout (the identity), and the activations ReLU, LeakyReLU, ELU,
    CELU, SELU, Sigmoid, Tanh, GELU, SiLU, Softplus, Mish, Softsign, Hardsigmoid,
    Hardswish, Hardtanh, ReLU6, Softmax, LogSoftmax. Anything else raises
    ``NotImplementedError`` naming the module type.

    As ``torch.onnx.export`` does by default (``training=TrainingMode.EVAL``), the model
    is exported in eval mode: it is switched to eval for the export and its previous mode
    restored afterwards. ``example_input`` fixes every dimension but the batch (dimension
    0), which is the symbolic ``"batch"`` when ``dynamic_batch``.
    """
    onnx = _require_onnx()
    from .autograd.grad_mode import no_grad

    if len(input_names) != 1 or len(output_names) != 1:
        raise ValueError("onnx.export: exactly one input name and one output name are supported")
    if not isinstance(example_input, Tensor):
        raise TypeError(
            f"onnx.export: example_input must be a Tensor, got {type(example_input).__name__}"
        )
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            leaves, _ = _flatten_chain(model, example_input)
            dtype = np.dtype(example_input.detach().numpy().dtype)
            g = _Graph(onnx, dtype)
            x, name, shape = example_input, input_names[0], tuple(example_input.shape)
            for layer in leaves:
                convert = _CONVERTERS.get(type(layer))
                if convert is None and not isinstance(layer, _Reshape):
                    raise NotImplementedError(
                        f"onnx.export: no ONNX conversion for {type(layer).__name__}"
                    )
                y = layer(x)
                out = tuple(y.shape)
                if isinstance(layer, _Reshape):
                    name = _reshape_to(g, name, out)
                else:
                    name = convert(g, layer, name, shape, out, opset_version)
                x, shape = y, out
    finally:
        model.train(was_training)
    # the output must be a node's output, never the graph input itself
    g.nodes.append(onnx.helper.make_node("Identity", [name], [output_names[0]]))
    elem = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    batch = "batch" if dynamic_batch else None

    def value_info(vname: str, dims: tuple) -> Any:
        dims = [batch or dims[0], *dims[1:]]
        return onnx.helper.make_tensor_value_info(vname, elem, dims)

    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__, [value_info(input_names[0], tuple(example_input.shape))],
        [value_info(output_names[0], shape)], initializer=g.inits,
    )  # fmt: skip
    proto = onnx.helper.make_model(
        graph, producer_name="stirpile",
        opset_imports=[onnx.helper.make_opsetid("", opset_version)],
    )  # fmt: skip
    proto.ir_version = min(proto.ir_version, 9)  # readable by onnxruntime releases of 2024 on
    onnx.checker.check_model(proto, full_check=True)
    atomic_write(path, proto.SerializeToString())
    return proto
