"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` over whole sequences, and their one-step
cells ``RNNCell``, ``LSTMCell``, ``GRUCell``, with PyTorch's parameters, gate orders and
shapes (the math is written out in :mod:`stirpile.ops.rnn`).

Parameters per layer ``k`` and direction (``_reverse`` for the backward one):
``weight_ih_l{k}`` ``(G·H, in)``, ``weight_hh_l{k}`` ``(G·H, H)``, ``bias_ih_l{k}``,
``bias_hh_l{k}`` ``(G·H,)`` with ``G`` = 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n),
plus ``weight_hr_l{k}`` ``(proj_size, H)`` for an LSTM with a projection; all initialized
``U(−1/√H, 1/√H)``. Dropout, when asked for, applies to the outputs of every layer but the
last, in training only.

An LSTM layer without projection runs as one fused op (``ops.rnn.LSTMLayer``); the other
layers and the cells are composed of differentiable ops, one cell per time step.

>>> import stirpile
>>> from stirpile import nn
>>> lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
>>> out, (h, c) = lstm(stirpile.randn(3, 5, 10))
>>> out.shape, h.shape, c.shape
((3, 5, 20), (2, 3, 20), (2, 3, 20))
>>> nn.GRUCell(10, 20)(stirpile.randn(3, 10)).shape
(3, 20)
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from .. import backend as B
from .. import creation
from ..functions import cat, stack
from ..ops import rnn as R
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import _check_device
from .module import Module
from .parameter import Parameter

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class RNNBase(Module):
    """The common part of ``RNN``, ``LSTM`` and ``GRU``: parameters, checks, the layer loop.

    Args:
        mode: ``"LSTM"``, ``"GRU"``, ``"RNN_TANH"`` or ``"RNN_RELU"``.
        input_size, hidden_size: features of the input and of the hidden state ``H``.
        num_layers: stacked layers (default 1).
        bias: learn ``b_ih`` and ``b_hh`` (default ``True``).
        batch_first: input and output as ``(N, L, *)`` instead of ``(L, N, *)``.
        dropout: dropout probability on each layer's output but the last (training only).
        bidirectional: run a second direction from the end; outputs are concatenated.
        proj_size: LSTM only: project ``h`` to this size with ``weight_hr``.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_device(device)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if (
            not isinstance(dropout, numbers.Number)
            or not 0 <= dropout <= 1
            or isinstance(dropout, bool)
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of "
                "an element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                "dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        for name, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {
                    "weight_ih": (gate_size, layer_input),
                    "weight_hh": (gate_size, real_hidden),
                }
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for kind, shape in shapes.items():
                    setattr(self, kind + suffix, Parameter(creation.empty(*shape, dtype=dtype)))
                    names.append(kind + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op (PyTorch packs the weights for cuDNN here; there is no cuDNN)."""

    def reset_parameters(self) -> None:
        """Every parameter ``U(−1/√H, 1/√H)``."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # -- checks (PyTorch's order and messages) ---------------------------------------------
    def _check_dims(self, input: Tensor, hx: Any) -> bool:
        """Whether ``input`` is batched; errors for an input or ``hx`` of the wrong rank."""
        if input.dim() not in (2, 3):
            name = "RNN" if self.mode.startswith("RNN") else self.mode
            tensor = " tensor" if name == "RNN" else ""
            raise ValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tensor} instead"
            )
        batched = input.dim() == 3
        if hx is None:
            return batched
        want = 3 if batched else 2
        kind = "batched 3-D" if batched else "unbatched 2-D"
        if self.mode == "LSTM":
            if hx[0].dim() != want or hx[1].dim() != want:
                raise RuntimeError(
                    f"For {kind} input, hx and cx should also be {want}-D but got "
                    f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                )
        elif hx.dim() != want:
            raise RuntimeError(
                f"For {kind} input, hx should also be {want}-D but got {hx.dim()}-D tensor"
            )
        return batched

    def _check_forward_args(self, input: Tensor, hx: tuple) -> None:
        weight = self._flat_weights[0]
        if input.dtype != weight.dtype:
            ours, theirs = B.dtype_name(input.dtype), B.dtype_name(weight.dtype)
            raise ValueError(
                f"RNN input dtype ({ours}) does not match weight dtype ({theirs}). Convert "
                f"input: input.to({theirs}), or convert model: model.to({ours})"
            )
        if input.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {input.size(-1)}"
            )
        batch = input.size(0) if self.batch_first else input.size(1)
        layers = self.num_layers * (2 if self.bidirectional else 1)
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        expected = [(layers, batch, real_hidden), (layers, batch, self.hidden_size)]
        for k, h in enumerate(hx):
            if tuple(h.shape) != expected[k]:
                what = "hidden" if len(hx) == 1 else f"hidden[{k}]"
                raise RuntimeError(f"Expected {what} size {expected[k]}, got {list(h.shape)}")

    # -- forward -----------------------------------------------------------------------------
    def _layer_weights(self, k: int) -> tuple:
        """``(w_ih, w_hh, b_ih, b_hh, w_hr)`` of layer-direction ``k`` (None where absent)."""
        suffix = self._all_weights[k][0][len("weight_ih") :]
        p = self._parameters
        return tuple(p.get(kind + suffix) for kind in
                     ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))  # fmt: skip

    def forward(self, input: Tensor, hx: Any = None) -> tuple:
        lstm = self.mode == "LSTM"
        if not isinstance(input, Tensor):  # a PackedSequence (a tuple)
            raise NotImplementedError(
                f"{type(self).__name__}: PackedSequence input is not supported yet; pad it with "
                "nn.utils.rnn.pad_packed_sequence and pass the padded tensor"
            )
        batched = self._check_dims(input, hx)
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
            if hx is not None:
                hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
        directions = 2 if self.bidirectional else 1
        if hx is None:
            batch = input.size(batch_dim)
            n = self.num_layers * directions
            real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
            zeros = creation.zeros(n, batch, real_hidden, dtype=input.dtype)
            hx = (zeros, creation.zeros(n, batch, self.hidden_size, dtype=input.dtype))
            hx = hx if lstm else hx[:1]
        elif not lstm:
            hx = (hx,)
        else:
            hx = tuple(hx)
        self._check_forward_args(input, hx)
        x = input.transpose(0, 1) if self.batch_first else input
        states = list(zip(*(h.unbind(0) for h in hx)))
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                w = self._layer_weights(k)
                if lstm and w[4] is None:
                    out, h, c = R.LSTMLayer.apply(x, *states[k], *w[:4], reverse=direction == 1)
                    state = (h, c)
                else:
                    weights = w if w[4] is not None else w[:4]
                    out, state = R.layer(self.mode, x, states[k], weights, direction == 1)
                outs.append(out)
                finals.append(state)
            x = outs[0] if directions == 1 else cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        output = x.transpose(0, 1) if self.batch_first else x
        hidden = tuple(stack(list(s)) for s in zip(*finals))
        if not batched:
            output = output.squeeze(batch_dim)
            hidden = tuple(h.squeeze(1) for h in hidden)
        return output, (hidden if lstm else hidden[0])


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)``, ``act`` = tanh or
    ReLU (``nonlinearity``). Input ``(L, N, in)`` (``(N, L, in)`` with ``batch_first``) or
    ``(L, in)``; ``hx`` ``(D·num_layers, N, H)``. Returns ``(output, h_n)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.__dict__["nonlinearity"] = args[3]
            args = args[:3] + args[4:]
        else:
            self.__dict__["nonlinearity"] = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__("RNN_" + self.nonlinearity.upper(), *args, **kwargs)


class LSTM(RNNBase):
    """LSTM (gates i, f, g, o): ``c_t = σ(f) c_{t−1} + σ(i) tanh(g)``, ``h_t = σ(o) tanh(c_t)``
    (times ``W_hr`` with ``proj_size``). ``hx = (h_0, c_0)``; returns
    ``(output, (h_n, c_n))``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """GRU (gates r, z, n): ``n_t = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``,
    ``h_t = (1 − z) n_t + z h_{t−1}``. Returns ``(output, h_n)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# -- cells -------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """Parameters ``weight_ih`` ``(G·H, in)``, ``weight_hh`` ``(G·H, H)``, ``bias_ih``,
    ``bias_hh`` ``(G·H,)``, all ``U(−1/√H, 1/√H)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        _check_device(device)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        n = num_chunks * hidden_size
        self.weight_ih = Parameter(creation.empty(n, input_size, dtype=dtype))
        self.weight_hh = Parameter(creation.empty(n, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.empty(n, dtype=dtype))
            self.bias_hh = Parameter(creation.empty(n, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input: Tensor, hx: Any, n_states: int) -> tuple:
        """(batched, input as 2-d, the states as 2-d tensors), with PyTorch's checks."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        states = None if hx is None else (tuple(hx) if n_states == 2 else (hx,))
        for k, h in enumerate(states or ()):
            if h.dim() not in (1, 2):
                what = f"hx[{k}]" if n_states == 2 else "hidden"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {h.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if states is None:
            zeros = creation.zeros(input.size(0), self.hidden_size, dtype=input.dtype)
            states = (zeros,) * n_states
        elif not batched:
            states = tuple(h.unsqueeze(0) for h in states)
        if input.size(1) != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.size(1)} expected {self.input_size}"
            )
        for k, h in enumerate(states):
            if h.size(0) != input.size(0):
                raise RuntimeError(
                    f"Input batch size {input.size(0)} doesn't match hidden{k} batch size "
                    f"{h.size(0)}"
                )
            if h.size(1) != self.hidden_size:
                raise RuntimeError(
                    f"hidden{k} has inconsistent hidden_size: got {h.size(1)}, expected "
                    f"{self.hidden_size}"
                )
        return batched, input, states

    def _weights(self) -> tuple:
        p = self._parameters
        return p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"]


class RNNCell(RNNCellBase):
    """One Elman step: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, ``act`` tanh or ReLU.

    >>> import stirpile
    >>> from stirpile import nn
    >>> nn.RNNCell(4, 3, nonlinearity="relu")(stirpile.randn(4)).shape
    (3,)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched, input, (h,) = self._prepare(input, hx, 1)
        out = R.rnn_cell(input, h, *self._weights(), nonlinearity=self.nonlinearity)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:  # fmt: skip
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple[Tensor, Tensor]:
        batched, input, (h, c) = self._prepare(input, hx, 2)
        h, c = R.lstm_cell(input, h, c, *self._weights())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n): ``h' = (1 − z) n + z h``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:  # fmt: skip
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched, input, (h,) = self._prepare(input, hx, 1)
        out = R.gru_cell(input, h, *self._weights())
        return out if batched else out.squeeze(0)
