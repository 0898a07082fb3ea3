"""Recurrent Independent Mechanisms: the paper's equations checked against an
independent PyTorch transcription (weights copied through ``state_dict``), float64
gradcheck, and the properties that define the model (k of n units active, inactive
units unchanged)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stirpile
from stirpile import nn


def _torch_rims(torch, state, x, cell, k, communicate, heads, d):
    """RIMs in PyTorch, written from the module docstring's equations (units first)."""
    w = {name: torch.from_numpy(np.array(v.numpy())).requires_grad_() for name, v in state.items()}
    n, hs = w["weight_hh"].shape[0], w["weight_hh"].shape[1]
    length, batch = x.shape[0], x.shape[1]
    h = torch.zeros(n, batch, hs, dtype=x.dtype)
    c = torch.zeros(n, batch, hs, dtype=x.dtype)
    outs = []
    for t in range(length):
        score = ((h @ w["query"]) * (x[t] @ w["key"])).sum(-1) / math.sqrt(w["key"].shape[1])
        read = torch.sigmoid(score)[..., None] * (x[t] @ w["value"])
        top = torch.sort(score.detach(), dim=0, descending=True, stable=True).indices[:k]
        active = torch.zeros(n, batch, dtype=torch.bool).scatter(0, top, True)
        gi, gh = read @ w["weight_ih"] + w["bias_ih"], h @ w["weight_hh"] + w["bias_hh"]
        if cell == "lstm":
            i, f, g, o = (gi + gh).chunk(4, -1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
        else:
            ir, iz, in_ = gi.chunk(3, -1)
            hr, hz, hn = gh.chunk(3, -1)
            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
            h_new, c_new = (1 - z) * torch.tanh(in_ + r * hn) + z * h, c
        if communicate:

            def split(m, h_new=h_new):
                return (h_new @ m).reshape(n, batch, heads, d).permute(1, 2, 0, 3)

            q, kk, v = split(w["comm_query"]), split(w["comm_key"]), split(w["comm_value"])
            att = torch.softmax(q @ kk.transpose(-1, -2) / math.sqrt(d), -1) @ v
            h_new = h_new + att.permute(2, 0, 1, 3).reshape(n, batch, heads * d) @ w["comm_out"]
        m = active[..., None].to(x.dtype)
        h, c = m * h_new + (1 - m) * h, m * c_new + (1 - m) * c
        outs.append(h.transpose(0, 1).reshape(batch, n * hs))
    return torch.stack(outs), w


@pytest.mark.parametrize(
    "cell,k,communicate", [("lstm", 2, True), ("lstm", 4, True), ("gru", 2, True),
                           ("lstm", 2, False)],
)  # fmt: skip
def test_rims_matches_a_pytorch_transcription_values_and_gradients(torch, close, cell, k,
                                                                   communicate):  # fmt: skip
    stirpile.manual_seed(0)
    rims = nn.RIMs(5, 6, num_units=4, k=k, cell=cell, input_key_size=7, num_comm_heads=2,
                   comm_key_size=3, communicate=communicate, dtype=stirpile.float64)  # fmt: skip
    xa = np.random.default_rng(0).standard_normal((6, 3, 5))
    x = stirpile.tensor(xa, requires_grad=True)
    out, _ = rims(x)
    tx = torch.tensor(xa, requires_grad=True)
    tout, tw = _torch_rims(torch, rims.state_dict(), tx, cell, k, communicate, 2, 3)
    close(out, tout)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(stirpile.tensor(g))
    tout.backward(torch.tensor(g))
    close(x.grad, tx.grad)
    for name, p in rims.named_parameters():
        close(p.grad, tw[name].grad)


def test_k_of_n_units_active_and_the_others_unchanged():
    stirpile.manual_seed(1)
    rims = nn.RIMs(4, 5, num_units=5, k=2, dtype=stirpile.float64)
    with stirpile.no_grad():
        out, _ = rims(stirpile.randn(8, 3, 4, dtype=stirpile.float64))
    active = rims.last_active  # (L, N, n)
    assert active.shape == (8, 3, 5) and (active.sum(-1) == 2).all()
    units = out.numpy().reshape(8, 3, 5, 5)
    for t in range(1, 8):
        still = ~active[t]
        np.testing.assert_array_equal(units[t][still], units[t - 1][still])
        assert (units[t][active[t]] != units[t - 1][active[t]]).any()
    assert len({tuple(a) for a in active.reshape(-1, 5)}) > 1  # the competition varies


def test_k_equal_n_updates_every_unit():
    rims = nn.RIMs(4, 5, num_units=3, k=3)
    rims(stirpile.randn(4, 2, 4))
    assert rims.last_active.all()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_rims_gradcheck_float64(cell):
    stirpile.manual_seed(2)
    rims = nn.RIMs(3, 4, num_units=3, k=2, cell=cell, input_key_size=4, num_comm_heads=2,
                   comm_key_size=2, batch_first=True, dtype=stirpile.float64)  # fmt: skip
    x = stirpile.randn(2, 4, 3, dtype=stirpile.float64, requires_grad=True)
    h0 = stirpile.randn(2, 12, dtype=stirpile.float64, requires_grad=True)
    hx = (h0, stirpile.zeros(2, 12, dtype=stirpile.float64)) if cell == "lstm" else h0
    assert stirpile.autograd.gradcheck(lambda x, h0: rims(x, _with(hx, h0))[0], (x, h0))


def _with(hx, h0):
    return (h0, hx[1]) if isinstance(hx, tuple) else h0


def test_batch_first_and_initial_state_round_trip():
    stirpile.manual_seed(3)
    rims = nn.RIMs(4, 3, num_units=2, k=1, batch_first=True)
    x = stirpile.randn(2, 6, 4)
    out, (h, c) = rims(x)
    assert out.shape == (2, 6, 6) and h.shape == (2, 6) and c.shape == (2, 6)
    np.testing.assert_array_equal(out[:, -1].detach().numpy(), h.detach().numpy())
    # continuing from the final state equals running the whole sequence at once
    _, state = rims(x[:, :3])
    second, _ = rims(x[:, 3:], state)
    np.testing.assert_allclose(second.detach().numpy(), out[:, 3:].detach().numpy(), atol=1e-6)


def test_rims_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="k must be in"):
        nn.RIMs(4, 3, num_units=2, k=3)
    with pytest.raises(ValueError, match="cell must be"):
        nn.RIMs(4, 3, cell="transformer")
    rims = nn.RIMs(4, 3, num_units=2, k=1)
    with pytest.raises(ValueError, match=r"expected input of shape \(L, N, 4\)"):
        rims(stirpile.randn(5, 2, 7))
    with pytest.raises(ValueError, match="hidden state of shape"):
        rims(stirpile.randn(5, 2, 4), (stirpile.zeros(2, 5), stirpile.zeros(2, 6)))
    assert repr(rims) == "RIMs(4, 3, num_units=2, k=1, cell='lstm')"
