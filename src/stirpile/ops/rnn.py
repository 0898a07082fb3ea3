"""Recurrent layers: the cells composed of differentiable ops, and one fused primitive for
a whole LSTM layer over a sequence.

The composed cells (PyTorch's gate orders, ``σ`` the logistic sigmoid):

* Elman: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, ``act`` tanh or ReLU;
* LSTM (gates i, f, g, o): ``[i f g o] = W_ih x + b_ih + W_hh h + b_hh``,
  ``c' = σ(f) c + σ(i) tanh(g)``, ``h' = σ(o) tanh(c')`` (then ``h' ← W_hr h'`` with a
  projection);
* GRU (gates r, z, n): ``r = σ(W_ir x + b_ir + W_hr h + b_hr)``, ``z`` likewise,
  ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``, ``h' = (1 − z) n + z h``.

``LSTMLayer`` is the same LSTM recurrence as one op, fused because a graph of a dozen
nodes per time step costs more than the arithmetic (measured in ``benchmarks/rnn.py``:
input 28, hidden 128, 28 steps, batch 64, one thread: a training step takes about 4× less
time than composed). Forward: the input projection of every step in one matmul, then a
NumPy loop over time that keeps the activated gates ``a = (σ(i), σ(f), tanh(g), σ(o))``,
the cells ``c_t`` and ``tanh(c_t)``. Backward, through time (``δh``, ``δc`` flowing from
the last step to the first, ``δh`` plus the output's gradient at each step)::

    δo = δh tanh(c) σ'(o)         δc ← δc + δh σ(o) (1 − tanh²(c))
    δi = δc tanh(g) σ'(i)         δg = δc σ(i) (1 − tanh²(g))
    δf = δc c_prev σ'(f)          δc ← δc σ(f),   δh ← δgates W_hh

(``σ' = σ(1 − σ)``), and then in three matmuls over all steps: ``∂W_ih = Σ_t δgatesᵀ x_t``,
``∂W_hh = Σ_t δgatesᵀ h_prev``, ``∂x = δgates W_ih``; both biases get ``Σ δgates``.

The gates are intermediate values, so under ``create_graph`` the backward recomputes
the layer with the composed cell from the op's input tensors and differentiates that:
second derivatives are those of the composed graph.
"""

from __future__ import annotations

from typing import Any

from ..autograd import function as _fn
from ..autograd import grad_mode
from ..autograd.function import _NO_CTX, Node, Op
from ..autograd.quiet import quiet
from ..backend import xp
from .dual import _is_array
from .nn import Linear


def _linear(x: Any, w: Any, b: Any = None) -> Any:
    return Linear.apply(x, w, b)


def _add_linear(x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> Any:
    return _linear(x, w_ih, b_ih) + _linear(h, w_hh, b_hh)


def rnn_cell(x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
             nonlinearity: str = "tanh") -> Any:  # fmt: skip
    """One Elman step on tensors: ``act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)``."""
    z = _add_linear(x, h, w_ih, w_hh, b_ih, b_hh)
    if nonlinearity == "tanh":
        return z.tanh()
    if nonlinearity == "relu":
        return z.relu()
    raise RuntimeError(f"Unknown nonlinearity: {nonlinearity}")


def lstm_cell(x: Any, h: Any, c: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,
              b_hh: Any = None, w_hr: Any = None) -> tuple[Any, Any]:  # fmt: skip
    """One LSTM step on tensors: ``(h', c')`` (gates i, f, g, o)."""
    h, c = lstm_update(_add_linear(x, h, w_ih, w_hh, b_ih, b_hh), c)
    if w_hr is not None:
        h = _linear(h, w_hr)
    return h, c


def gru_cell(x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None) -> Any:
    """One GRU step on tensors (gates r, z, n; ``r`` applied to ``W_hn h + b_hn``)."""
    return gru_update(_linear(x, w_ih, b_ih), _linear(h, w_hh, b_hh), h)


def lstm_update(gates: Any, c: Any) -> tuple[Any, Any]:
    """The LSTM's gating from its pre-activations ``gates`` (i, f, g, o along the last
    axis) and the cell ``c``: ``(h', c')``. Shared with :class:`~stirpile.nn.RIMs`."""
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def gru_update(gi: Any, gh: Any, h: Any) -> Any:
    """The GRU's gating from the input's and the state's pre-activations ``gi``, ``gh``
    (r, z, n along the last axis): ``h'``. Shared with :class:`~stirpile.nn.RIMs`."""
    xr, xz, xn = gi.chunk(3, -1)
    hr, hz, hn = gh.chunk(3, -1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)  # (1 − z) n + z h


def layer(mode: str, x: Any, hx: tuple, weights: tuple, reverse: bool = False) -> tuple:
    """One direction of one layer over a sequence ``x`` of shape ``(T, B, in)``, composed of
    cells: ``(output (T, B, H), final state)`` with the state a tuple (``(h,)`` or
    ``(h, c)``). ``weights``: ``(w_ih, w_hh, b_ih, b_hh[, w_hr])``, biases possibly None."""
    steps = x.unbind(0)
    if reverse:
        steps = steps[::-1]
    outs = []
    for xt in steps:
        if mode == "LSTM":
            hx = lstm_cell(xt, *hx, *weights)
        elif mode == "GRU":
            hx = (gru_cell(xt, *hx, *weights),)
        else:
            hx = (rnn_cell(xt, *hx, *weights, nonlinearity=mode[4:].lower()),)
        outs.append(hx[0])
    if reverse:
        outs = outs[::-1]
    return _stack(outs), hx


def _stack(ts: list) -> Any:
    from ..functions import stack  # (functions sits above ops)

    return stack(ts)


def _gate_order(H: int) -> Any:
    """Row order ``i, f, o, g`` from PyTorch's ``i, f, g, o``: the three sigmoid gates side by
    side. (Swapping two blocks: the permutation is its own inverse.)"""
    r = xp.arange(H)
    return xp.concatenate([r, r + H, r + 3 * H, r + 2 * H])


class LSTMLayer(Op):
    """One direction of an LSTM layer: ``(x (T, B, in), h0 (B, H), c0 (B, H), W_ih, W_hh,
    b_ih, b_hh) → (output (T, B, H), h_n, c_n)`` (biases may be None); see the module
    docstring for the forward and the backward through time.

    Inside, the gate rows are reordered to ``i, f, o, g`` and scaled by ``−1`` (and ``−2``
    for ``g``), so that one pass ``s = 1 / (1 + e^a)`` over all four gates gives ``σ`` of
    i, f, o and ``σ(2g)``, and ``tanh(g) = 2σ(2g) − 1``: four NumPy passes per step for the
    activations instead of one call per gate (``e^a`` may overflow to ``inf``: ``s = 0``,
    exactly the limit).
    """

    @classmethod
    def apply(cls, *args: Any, reverse: bool = False) -> tuple:  # type: ignore[override]
        # Op.apply for three outputs: one node, the outputs numbered 0, 1, 2
        Tensor = _fn.Tensor
        arrays = _fn.arrays_of(args)
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        node = Node(cls, args, needs) if True in needs and grad_mode._enabled else None
        outs = cls.forward(node or _NO_CTX, *arrays, reverse=reverse)
        if node is None:
            return tuple(Tensor._make(o) for o in outs)
        node.n_out, node.out = 3, outs[0]
        result = []
        for k, o in enumerate(outs):
            t = Tensor._make(o, node)
            t._idx = k
            result.append(t)
        return tuple(result)

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        T, B = x.shape[:2]
        H = w_hh.shape[1]
        dtype = x.dtype
        order = _gate_order(H)
        scale = xp.full((4 * H, 1), -1.0, dtype)
        scale[3 * H :] = -2.0
        gates = (x.reshape(T * B, -1) @ (w_ih[order] * scale).T).reshape(T, B, 4 * H)
        if b_ih is not None:
            gates += (b_ih + b_hh)[order] * scale[:, 0]
        w_hh_t = (w_hh[order] * scale).T
        out = xp.empty((T, B, H), dtype)
        cs, tanh_cs = xp.empty((T, B, H), dtype), xp.empty((T, B, H), dtype)
        tmp, ig = xp.empty((B, 4 * H), dtype), xp.empty((B, H), dtype)
        h, c = h0, c0
        with quiet:
            for t in range(T - 1, -1, -1) if reverse else range(T):
                a = gates[t]
                xp.matmul(h, w_hh_t, out=tmp)
                a += tmp
                xp.exp(a, out=a)
                a += 1.0
                xp.reciprocal(a, out=a)  # σ(i), σ(f), σ(o), σ(2g)
                g = a[:, 3 * H :]
                g *= 2.0
                g -= 1.0  # tanh(g)
                xp.multiply(a[:, H : 2 * H], c, out=cs[t])
                c = cs[t]
                xp.multiply(a[:, :H], g, out=ig)
                c += ig
                xp.tanh(c, out=tanh_cs[t])
                h = out[t]
                xp.multiply(a[:, 2 * H : 3 * H], tanh_cs[t], out=h)
        ctx.reverse = reverse
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, gates, cs, tanh_cs, out)
        return out, h.copy(), c.copy()

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        if not all(g is None or _is_array(g) for g in (g_out, g_h, g_c)):
            return _recomputed_backward(ctx, (g_out, g_h, g_c))
        x, h0, c0, w_ih, w_hh, gates, cs, tanh_cs, out = ctx.saved
        reverse, need = ctx.reverse, ctx.needs_input_grad
        T, B, H = out.shape
        order = _gate_order(H)
        w_hh_o = w_hh[order]
        dh = xp.zeros((B, H), out.dtype) if g_h is None else g_h.copy()
        dc = xp.zeros((B, H), out.dtype) if g_c is None else g_c.copy()
        dgates = xp.empty_like(gates)  # ∂L/∂(pre-activation), rows i, f, o, g
        tmp = xp.empty((B, H), out.dtype)
        for t in range(T) if reverse else range(T - 1, -1, -1):
            if g_out is not None:
                dh += g_out[t]
            a, d, tc = gates[t], dgates[t], tanh_cs[t]
            i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            di, df, do, dg = d[:, :H], d[:, H : 2 * H], d[:, 2 * H : 3 * H], d[:, 3 * H :]
            # δc += δh σ(o) (1 − tanh² c)
            xp.multiply(tc, tc, out=tmp)
            xp.subtract(1.0, tmp, out=tmp)
            tmp *= o
            tmp *= dh
            dc += tmp
            # σ' = σ(1 − σ) for i, f, o in one pass, then each times its factor
            s3, d3 = a[:, : 3 * H], d[:, : 3 * H]
            xp.subtract(1.0, s3, out=d3)
            d3 *= s3
            xp.multiply(dc, g, out=tmp)
            di *= tmp  # δi = δc tanh(g) σ'(i)
            xp.multiply(dc, _prev(cs, t, reverse, c0), out=tmp)
            df *= tmp  # δf = δc c_prev σ'(f)
            xp.multiply(dh, tc, out=tmp)
            do *= tmp  # δo = δh tanh(c) σ'(o)
            # δg = δc σ(i) (1 − tanh² g)
            xp.multiply(g, g, out=tmp)
            xp.subtract(1.0, tmp, out=tmp)
            tmp *= i
            xp.multiply(tmp, dc, out=dg)
            dc *= f
            xp.matmul(d, w_hh_o, out=dh)
        d2 = dgates.reshape(T * B, 4 * H)
        gx = gw_ih = gw_hh = gb = None
        if need[0]:
            gx = (d2 @ w_ih[order]).reshape(x.shape)
        if need[3]:
            gw_ih = (d2.T @ x.reshape(T * B, -1))[order]
        if need[4]:
            h_prev = xp.empty_like(out)
            if reverse:
                h_prev[:-1], h_prev[-1] = out[1:], h0
            else:
                h_prev[1:], h_prev[0] = out[:-1], h0
            gw_hh = (d2.T @ h_prev.reshape(T * B, H))[order]
        if len(need) > 5 and (need[5] or need[6]):
            gb = xp.add.reduce(d2, axis=0)[order]
        return (gx, dh if need[1] else None, dc if need[2] else None, gw_ih, gw_hh,
                gb if need[5] else None, gb if need[6] else None)  # fmt: skip


def _prev(cs: Any, t: int, reverse: bool, c0: Any) -> Any:
    """The cell state before step ``t``: ``c0`` at the first step of the direction."""
    if reverse:
        return c0 if t == cs.shape[0] - 1 else cs[t + 1]
    return c0 if t == 0 else cs[t - 1]


def _recomputed_backward(ctx: Any, grads: tuple) -> tuple:
    """Under ``create_graph``: the layer recomputed with the composed cell from the op's
    input tensors, and differentiated (so the gradient is itself differentiable)."""
    from ..autograd import grad

    x, h0, c0, *weights = ctx.inputs
    outs = layer("LSTM", x, (h0, c0), tuple(weights), reverse=ctx.reverse)
    outs = (outs[0], *outs[1])
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
    wrt = [k for k, need in enumerate(ctx.needs_input_grad) if need]
    found = grad([o for o, _ in pairs], [ctx.inputs[k] for k in wrt], [g for _, g in pairs],
                 create_graph=True, allow_unused=True)  # fmt: skip
    result: list = [None] * len(ctx.inputs)
    for k, g in zip(wrt, found):
        result[k] = g
    return tuple(result)
