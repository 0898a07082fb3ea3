"""Recurrent Independent Mechanisms (Goyal et al., arXiv:1909.10893; ICLR 2021).

``n`` recurrent units (LSTM or GRU cells, each with its own weights) share one input
and compete to read it. At each step ``t``, with unit states ``h_j`` (and ``c_j``):

1. **Input attention.** Unit ``j`` queries the input with ``q_j = h_j W^q_j``. The input
   ``x`` and a *null* input ``∅ = 0`` offer keys ``[0, x W^k]`` and values ``[0, x W^v]``
   (bias-free projections of the null input are 0), so the two-way softmax reduces to
   ``p_j = σ(q_j · x W^k / √d_k)``, unit ``j``'s attention on the real input, and the
   unit reads ``a_j = p_j · x W^v``.
2. **Competition.** The ``k`` units with the highest scores (the least attention on the
   null input; ties go to the lower index) are *active* at this step.
3. **Independent dynamics.** Every unit runs its own cell on what it read:
   ``h̃_j, c̃_j = cell_j(a_j, (h_j, c_j))``.
4. **Communication.** Units exchange information through multi-head attention over all
   units' ``h̃`` (per-unit queries, keys, values):
   ``h̃_j ← h̃_j + [⊕_heads softmax(q kᵀ/√d) v] W^o_j``.
5. **Sparse update.** Active units take ``h̃_j, c̃_j``; inactive units keep ``h_j, c_j``
   unchanged (their gradient flows only through that skip connection).

Per-unit weights are stored stacked, ``(num_units, in, out)``, and applied as one batched
matrix product over units (``(n, N, in) @ (n, in, out)``), with the unit axis first in
every intermediate so no step needs a transpose before its products.

>>> import stirpile
>>> from stirpile import nn
>>> _ = stirpile.manual_seed(0)
>>> rims = nn.RIMs(input_size=5, hidden_size=8, num_units=4, k=2)
>>> out, (h, c) = rims(stirpile.randn(7, 3, 5))  # (L, N, input_size)
>>> out.shape, h.shape
((7, 3, 32), (3, 32))
>>> rims.last_active.sum(-1).tolist() == [[2, 2, 2]] * 7  # k of 4 units active per sample
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import creation
from ..ops.rnn import gru_update, lstm_update
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["RIMs"]

_GATES = {"lstm": 4, "gru": 3}


class RIMs(Module):
    """A layer of Recurrent Independent Mechanisms over a sequence.

    Args:
        input_size: features of each input step.
        hidden_size: state size of *each* unit.
        num_units: ``n``, the number of units (mechanisms). Default 6.
        k: how many units are active (updated) per step. Default 4; ``k = n`` turns the
            competition off.
        cell: ``"lstm"`` (default) or ``"gru"``.
        input_key_size: ``d_k`` of the input attention. Default 64.
        input_value_size: size of what a unit reads. Default ``4 · hidden_size``.
        num_comm_heads: heads of the communication attention. Default 4.
        comm_key_size: key/value size per head of the communication attention. Default 16.
        communicate: ``False`` drops step 4 (units never see each other).
        batch_first: input and output as ``(N, L, ·)`` instead of ``(L, N, ·)``.

    Shape:
        input ``(L, N, input_size)``; ``hx`` optional: ``h_0`` (GRU) or ``(h_0, c_0)``
        (LSTM), each ``(N, num_units · hidden_size)``. Output ``(L, N, num_units ·
        hidden_size)`` (every unit's ``h``, concatenated) and the final state(s) as
        ``hx``. After each call ``last_active`` holds the activity pattern, a NumPy bool
        array ``(L, N, num_units)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_units: int = 6,
        k: int = 4,
        cell: str = "lstm",
        input_key_size: int = 64,
        input_value_size: int | None = None,
        num_comm_heads: int = 4,
        comm_key_size: int = 16,
        communicate: bool = True,
        batch_first: bool = False,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if cell not in _GATES:
            raise ValueError(f"RIMs: cell must be 'lstm' or 'gru', got {cell!r}")
        if not 1 <= k <= num_units:
            raise ValueError(f"RIMs: k must be in [1, num_units={num_units}], got {k}")
        self.input_size, self.hidden_size, self.num_units, self.k = (
            input_size, hidden_size, num_units, k)  # fmt: skip
        self.cell, self.communicate, self.batch_first = cell, communicate, batch_first
        self.input_key_size = input_key_size
        self.input_value_size = input_value_size or 4 * hidden_size
        self.num_comm_heads, self.comm_key_size = num_comm_heads, comm_key_size
        n, hs, g = num_units, hidden_size, _GATES[cell] * hidden_size
        comm = num_comm_heads * comm_key_size

        def group(a: int, b: int) -> Parameter:
            return Parameter(creation.empty((n, a, b), dtype=dtype))

        # 1. input attention: per-unit queries, shared keys and values of the input
        self.query = group(hs, input_key_size)
        self.key = Parameter(creation.empty((input_size, input_key_size), dtype=dtype))
        self.value = Parameter(creation.empty((input_size, self.input_value_size), dtype=dtype))
        # 3. the units' cells (PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n)
        self.weight_ih = group(self.input_value_size, g)
        self.weight_hh = group(hs, g)
        self.bias_ih = group(1, g)
        self.bias_hh = group(1, g)
        # 4. communication
        if communicate:
            self.comm_query, self.comm_key = group(hs, comm), group(hs, comm)
            self.comm_value, self.comm_out = group(hs, comm), group(comm, hs)
        self.last_active: np.ndarray | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight ``U(−1/√fan_in, 1/√fan_in)``; the cells' biases as PyTorch's
        LSTM/GRU (``U(−1/√hidden_size, 1/√hidden_size)``)."""
        for name, p in self.named_parameters():
            fan_in = self.hidden_size if name.startswith("bias") else p.shape[-2]
            bound = 1.0 / math.sqrt(fan_in)
            init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.input_size}, {self.hidden_size}, num_units={self.num_units}, k={self.k}, "
             f"cell={self.cell!r}")  # fmt: skip
        if not self.communicate:
            s += ", communicate=False"
        return s + (", batch_first=True" if self.batch_first else "")

    # -- one step ---------------------------------------------------------------------------
    def _read(self, key: Tensor, value: Tensor, h: Tensor) -> tuple[Tensor, np.ndarray]:
        """Steps 1–2 from the input's key ``x W^k`` and value ``x W^v``: what each unit
        reads ``(n, N, value)`` and the active mask ``(n, N)``."""
        q = h @ self.query  # (n, N, d_k)
        score = (q * key).sum(-1) / math.sqrt(self.input_key_size)  # (n, N)
        read = score.sigmoid().unsqueeze(-1) * value
        s = score.detach().numpy()
        if self.k == self.num_units:
            active = np.ones(s.shape, dtype=bool)
        else:  # the k highest scores of each sample (column); ties go to the lower index
            top = np.argsort(-s, axis=0, kind="stable")[: self.k]
            active = np.zeros(s.shape, dtype=bool)
            np.put_along_axis(active, top, True, axis=0)
        return read, active

    def _cell(self, a: Tensor, h: Tensor, c: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """Step 3: every unit's own LSTM or GRU cell, batched over units."""
        gi = a @ self.weight_ih + self.bias_ih
        gh = h @ self.weight_hh + self.bias_hh
        if self.cell == "lstm":
            return lstm_update(gi + gh, c)
        return gru_update(gi, gh, h), None

    def _talk(self, h: Tensor) -> Tensor:
        """Step 4: multi-head attention among the units, added to each unit's state."""
        n, batch = h.shape[0], h.shape[1]
        heads, d = self.num_comm_heads, self.comm_key_size

        def split(w: Parameter) -> Tensor:  # (n, N, heads·d) -> (N, heads, n, d)
            return (h @ w).reshape(n, batch, heads, d).permute(1, 2, 0, 3)

        att = F.scaled_dot_product_attention(
            split(self.comm_query), split(self.comm_key), split(self.comm_value)
        )
        return h + att.permute(2, 0, 1, 3).reshape(n, batch, heads * d) @ self.comm_out

    def step(self, x: Tensor, h: Tensor, c: Tensor | None) -> tuple[Tensor, Tensor | None, Any]:
        """One step on ``x (N, input_size)`` and unit states ``h, c (n, N, hidden)``;
        returns the new states and the active mask ``(n, N)``."""
        return self._step(x @ self.key, x @ self.value, h, c)

    def _step(self, key: Tensor, value: Tensor, h: Tensor, c: Tensor | None) -> tuple:
        read, active = self._read(key, value, h)
        h_new, c_new = self._cell(read, h, c)
        if self.communicate:
            h_new = self._talk(h_new)
        if active.all():
            return h_new, c_new, active
        m = Tensor._make(active[..., None].astype(h._data.dtype))
        keep = 1 - m
        h = m * h_new + keep * h
        c = None if c is None else m * c_new + keep * c
        return h, c, active

    # -- the sequence ---------------------------------------------------------------------
    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Any]:
        if input.ndim != 3 or input.shape[-1] != self.input_size:
            raise ValueError(
                f"RIMs: expected input of shape (L, N, {self.input_size})"
                f"{' with batch_first' if self.batch_first else ''}, got {tuple(input.shape)}"
            )
        x = input.transpose(0, 1) if self.batch_first else input
        batch, n, hs = x.shape[1], self.num_units, self.hidden_size
        lstm = self.cell == "lstm"

        def units(s: Tensor) -> Tensor:  # (N, n·hs) -> (n, N, hs)
            if tuple(s.shape) != (batch, n * hs):
                raise ValueError(
                    f"RIMs: expected hidden state of shape {(batch, n * hs)}, got {tuple(s.shape)}"
                )
            return s.reshape(batch, n, hs).transpose(0, 1)

        if hx is None:
            h = creation.zeros((n, batch, hs), dtype=x.dtype)
            c = creation.zeros((n, batch, hs), dtype=x.dtype) if lstm else None
        else:
            h, c = (units(hx[0]), units(hx[1])) if lstm else (units(hx), None)
        outs, masks = [], []
        keys, values = x @ self.key, x @ self.value  # every step's at once: two products
        for t in range(x.shape[0]):
            h, c, active = self._step(keys[t], values[t], h, c)
            outs.append(h)
            masks.append(active.T)
        self.last_active = np.stack(masks)

        def flat(s: Tensor) -> Tensor:  # (…, n, N, hs) -> (…, N, n·hs)
            return s.transpose(-3, -2).reshape(*s.shape[:-3], batch, n * hs)

        from ..functions import stack

        out = flat(stack(outs))
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, ((flat(h), flat(c)) if lstm else flat(h))
