"""Attention against PyTorch 2.13 (values, input and parameter gradients, second order for
sdpa, weights copied through the state dict), float64 gradchecks with every kind of mask,
dropout, initialization and error cases: ``F.scaled_dot_product_attention``,
``F.multi_head_attention_forward``, ``nn.MultiheadAttention``,
``nn.TransformerEncoderLayer``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

torch = pytest.importorskip("torch")

TOL = {"rtol": 1e-10, "atol": 1e-10}


def _np(t):
    return t.detach().numpy()


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _mask(L, S, seed=0, dead_row=None):
    """A bool (L, S) mask, True = takes part, with every row keeping at least one key
    (``dead_row``: that row keeps none)."""
    m = np.random.default_rng(seed).random((L, S)) < 0.6
    m[np.arange(L), np.arange(L) % S] = True
    if dead_row is not None:
        m[dead_row] = False
    return m


def _sdpa(**kw):
    """``fn(L, q, k, v)`` for opcheck: the same sdpa call in stirpile and torch, masks
    (numpy) turned into each library's tensors."""

    def fn(L, q, k, v):
        kw2 = dict(kw)
        if isinstance(kw2.get("attn_mask"), np.ndarray):
            kw2["attn_mask"] = L.tensor(kw2["attn_mask"])
        return L.nn.functional.scaled_dot_product_attention(q, k, v, **kw2)

    return fn


# -- scaled_dot_product_attention -------------------------------------------------------------

SDPA_CASES = {
    "plain": ([(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 4)], {}),
    "scale": ([(2, 4, 5), (2, 6, 5), (2, 6, 3)], {"scale": 0.3}),
    "unbatched": ([(4, 5), (6, 5), (6, 3)], {}),
    "five_dims": ([(2, 1, 2, 3, 4), (2, 1, 2, 5, 4), (2, 1, 2, 5, 2)], {}),
    "broadcast_batch": ([(2, 3, 4, 5), (1, 3, 6, 5), (3, 6, 4)], {}),
    "causal_l_lt_s": ([(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 4)], {"is_causal": True}),
    "causal_l_gt_s": ([(2, 6, 5), (2, 4, 5), (2, 4, 3)], {"is_causal": True}),
    "bool_mask": ([(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 4)], {"attn_mask": _mask(4, 6)}),
    "bool_mask_dead_row": (
        [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 4)],
        {"attn_mask": _mask(4, 6, dead_row=2)},
    ),
    "bool_mask_batched": (
        [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 4)],
        {"attn_mask": np.stack([_mask(4, 6, s) for s in range(2)])[:, None]},
    ),
    "float_mask": ([(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 4)], {"attn_mask": _x(4, 6, seed=9)}),
    "float_mask_inf": (
        [(2, 4, 5), (2, 6, 5), (2, 6, 4)],
        {"attn_mask": np.where(_mask(4, 6, dead_row=1), 0.5, -np.inf)},
    ),
    "gqa": ([(2, 4, 3, 5), (2, 2, 6, 5), (2, 1, 6, 4)], {"enable_gqa": True}),
    "gqa_3d": ([(4, 3, 5), (2, 6, 5), (2, 6, 4)], {"enable_gqa": True, "is_causal": True}),
}


@pytest.mark.parametrize("case", list(SDPA_CASES))
def test_sdpa_matches_torch_float64_with_second_order(opcheck, case):
    shapes, kw = SDPA_CASES[case]
    opcheck.vs_torch(torch, _sdpa(**kw), opcheck.arrays(shapes), "float64", second_order=True)


@pytest.mark.parametrize("case", ["plain", "causal_l_gt_s", "bool_mask_dead_row", "gqa"])
def test_sdpa_matches_torch_float32(opcheck, case):
    shapes, kw = SDPA_CASES[case]
    opcheck.vs_torch(torch, _sdpa(**kw), opcheck.arrays(shapes), "float32")


@pytest.mark.parametrize(
    "case", ["plain", "causal_l_lt_s", "bool_mask_dead_row", "float_mask_inf", "gqa_3d"]
)
def test_sdpa_gradcheck_and_gradgradcheck(opcheck, case):
    shapes, kw = SDPA_CASES[case]
    shapes = [s[-3:] for s in shapes]  # keep finite differences cheap
    if "attn_mask" in kw and kw["attn_mask"].ndim > 3:
        kw = {**kw, "attn_mask": kw["attn_mask"][0]}
    opcheck.gradcheck(_sdpa(**kw), opcheck.arrays(shapes), gradgrad=True)


def test_sdpa_float_mask_is_differentiable(opcheck):
    """A float mask is added to the scores: its gradient matches torch's, and gradchecks."""
    mask = np.where(_mask(4, 6, dead_row=3), _x(4, 6, seed=4), -np.inf)

    def fn(L, q, k, v, m):
        return L.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)

    arrays = [*opcheck.arrays([(2, 4, 5), (2, 6, 5), (2, 6, 3)]), mask]
    opcheck.vs_torch(torch, fn, arrays, "float64")
    finite = [*opcheck.arrays([(2, 4, 5), (2, 6, 5), (2, 6, 3)]), _x(4, 6, seed=4)]
    opcheck.gradcheck(fn, finite, gradgrad=True)


def test_sdpa_float32_mask_on_float64_query(close):
    q, k, v = (_x(2, 4, 5, seed=s) for s in range(3))
    m = _x(4, 4, seed=7).astype(np.float32)
    ours = F.scaled_dot_product_attention(
        *(stirpile.tensor(a) for a in (q, k, v)), attn_mask=stirpile.tensor(m)
    )
    theirs = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), attn_mask=torch.tensor(m)
    )
    close(ours, theirs, **TOL)


def test_sdpa_fully_masked_rows_give_zeros_and_zero_gradient():
    """As torch 2.13 on CPU: a query with no key to attend to gets 0 (not NaN)."""
    q, k, v = (stirpile.tensor(_x(2, 3, 4, seed=s), requires_grad=True) for s in range(3))
    mask = stirpile.ones(3, 3, dtype=stirpile.bool)
    mask[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert not _np(out[:, 1]).any() and np.isfinite(_np(out)).all()
    out.sum().backward()
    assert not q.grad[:, 1].numpy().any()
    assert all(np.isfinite(t.grad.numpy()).all() for t in (q, k, v))


def test_sdpa_empty_sequences():
    q, k, v = stirpile.randn(2, 3, 4), stirpile.randn(2, 0, 4), stirpile.randn(2, 0, 5)
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 5) and not out.numpy().any()
    assert F.scaled_dot_product_attention(q[:, :0], q, q).shape == (2, 0, 4)


def test_sdpa_dropout_always_applied():
    """sdpa applies dropout whenever dropout_p > 0 (the caller passes 0 in evaluation):
    the same expectation, different draws, zeros at p = 1; negative p is ignored, as in
    torch."""
    q, k, v = stirpile.randn(4, 8, 6), stirpile.randn(4, 8, 6), stirpile.randn(4, 8, 6)
    ref = F.scaled_dot_product_attention(q, k, v)
    stirpile.manual_seed(0)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not np.allclose(a.numpy(), ref.numpy()) and not np.allclose(a.numpy(), b.numpy())
    assert not F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy().any()
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v, None, -0.1).numpy(), ref)
    # E[dropout(A)] = A: averaged over many draws the output approaches the plain one
    ones = stirpile.ones(1, 1, 1)
    mean = np.mean(
        [F.scaled_dot_product_attention(ones, ones, ones, dropout_p=0.3).item() for _ in
         range(4000)]
    )  # fmt: skip
    assert abs(mean - 1.0) < 0.05


def test_sdpa_scale_and_gqa_are_keyword_only():
    for L in (torch, stirpile):
        q = L.randn(2, 3, 4)
        with pytest.raises(TypeError, match="positional argument"):
            L.nn.functional.scaled_dot_product_attention(q, q, q, None, 0.0, False, 1.0)
        out = L.nn.functional.scaled_dot_product_attention(
            q, q, q, None, 0.0, False, scale=1.0, enable_gqa=False
        )
        assert tuple(out.shape) == (2, 3, 4)


SDPA_ERRORS = [
    (lambda L, q: (q[0, 0, 0], q[0, 0, 0], q[0, 0, 0]), {}, RuntimeError,
     "at least 2 dimensional"),
    (lambda L, q: (q, q.float(), q), {}, RuntimeError, "query.dtype: double key.dtype: float"),
    (lambda L, q: (q, q, q), {"attn_mask": "long"}, RuntimeError, "attn_mask.dtype: long int"),
    (lambda L, q: (q, q, q), {"attn_mask": "f64_on_f32"}, RuntimeError, "attn_mask.dtype"),
    # (torch's flash kernel ignores the mask silently where it runs, e.g. with v like q;
    # its other kernels raise, as documented, and so do we always)
    (lambda L, q: (q, q, q[..., :2]), {"is_causal": True, "attn_mask": "bool"}, RuntimeError,
     "Explicit attn_mask should not be set when is_causal=True"),
    (lambda L, q: (q, q, q), {"dropout_p": 1.5}, RuntimeError,
     "dropout probability has to be between 0 and 1, but got 1.5"),
    (lambda L, q: (q, q[:, :3], q[:, :3]), {"enable_gqa": True}, RuntimeError,
     "Number of heads in key and value must divide"),
    (lambda L, q: (q, q[:, :2], q[:, :2]), {}, RuntimeError, "."),
    (lambda L, q: (q[0, 0], q[0, 0], q[0, 0]), {"enable_gqa": True}, IndexError,
     "Dimension out of range"),
    (lambda L, q: (q, q, q), {"attn_mask": "1d"}, IndexError, "Dimension out of range"),
    (lambda L, q: (q, q, q), {"attn_mask": "5d"}, RuntimeError, "doesn't match the broadcast"),
    (lambda L, q: (q, q[..., :3], q), {}, RuntimeError, "."),
]  # fmt: skip


@pytest.mark.parametrize(("args", "kw", "exc", "match"), SDPA_ERRORS)
def test_sdpa_errors_match_torch(args, kw, exc, match):
    masks = {
        "long": lambda L: L.ones(3, 3, dtype=L.int64),
        "f64_on_f32": lambda L: L.zeros(3, 3, dtype=L.float64),
        "bool": lambda L: L.ones(3, 3, dtype=L.bool),
        "1d": lambda L: L.ones(3, dtype=L.bool),
        "5d": lambda L: L.ones(2, 2, 4, 3, 3, dtype=L.bool),
    }
    for L in (torch, stirpile):
        dtype = L.float32 if kw.get("attn_mask") == "f64_on_f32" else L.float64
        q = L.tensor(_x(2, 4, 3, 4), dtype=dtype)
        kw2 = {**kw, "attn_mask": masks[kw["attn_mask"]](L)} if "attn_mask" in kw else kw
        with pytest.raises(exc, match=match):
            L.nn.functional.scaled_dot_product_attention(*args(L, q), **kw2)


# -- nn.MultiheadAttention ---------------------------------------------------------------------


def _pair(E=8, H=2, seed=0, **kw):
    """The same MultiheadAttention in stirpile and torch (float64, torch's weights loaded
    from ours through the state dict)."""
    stirpile.manual_seed(seed)
    ours = nn.MultiheadAttention(E, H, **kw).double()
    theirs = torch.nn.MultiheadAttention(E, H, **kw).double()
    state = {k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)
    return ours, theirs


def _both(a, requires_grad=True):
    a = np.asarray(a)
    grad = requires_grad and a.dtype.kind == "f"
    return stirpile.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _compare_mha(close, ours, theirs, q, k=None, v=None, masks=None, **kw):
    """Call both modules on the same data (``k``/``v`` None: self-attention, the very same
    tensor) and compare outputs, weights and the gradients of inputs and parameters."""
    masks = masks or {}
    xs, ts = zip(*[_both(a) for a in (q, k, v) if a is not None])
    args_o = (xs * 3)[:3] if k is None else xs
    args_t = (ts * 3)[:3] if k is None else ts
    mo = {n: stirpile.tensor(m) for n, m in masks.items()}
    mt = {n: torch.tensor(m) for n, m in masks.items()}
    out, w = ours(*args_o, **mo, **kw)
    tout, tw = theirs(*args_t, **mt, **kw)
    close(out, tout, **TOL)
    assert (w is None) == (tw is None)
    if w is not None:
        close(w, tw, **TOL)
    g = _x(*tout.shape, seed=11)
    loss_o = (out * stirpile.tensor(g)).sum()
    loss_t = (tout * torch.tensor(g)).sum()
    if w is not None:  # the weights' gradient flows too
        gw = _x(*tw.shape, seed=12)
        loss_o = loss_o + (w * stirpile.tensor(gw)).sum()
        loss_t = loss_t + (tw * torch.tensor(gw)).sum()
    loss_o.backward()
    loss_t.backward()
    for x, t in zip(xs, ts):
        close(x.grad, t.grad, **TOL)
    ours_p, theirs_p = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(ours_p) == list(theirs_p)
    for name, p in theirs_p.items():
        close(ours_p[name].grad, p.grad, **TOL)
    return out, w


MHA_CONFIGS = {
    "default": {},
    "no_bias": {"bias": False},
    "bias_kv_zero_attn": {"add_bias_kv": True, "add_zero_attn": True},
    "kdim_vdim": {"kdim": 3, "vdim": 5},
    "batch_first": {"batch_first": True},
}


@pytest.mark.parametrize("config", list(MHA_CONFIGS))
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_cross_attention_matches_torch(close, config, need_weights):
    kw = MHA_CONFIGS[config]
    ours, theirs = _pair(**kw)
    n_first = kw.get("batch_first", False)
    shape = (lambda L, N, E: (N, L, E)) if n_first else (lambda L, N, E: (L, N, E))
    q = _x(*shape(5, 3, 8), seed=1)
    k = _x(*shape(4, 3, kw.get("kdim", 8)), seed=2)
    v = _x(*shape(4, 3, kw.get("vdim", 8)), seed=3)
    kpm = np.zeros((3, 4), bool)
    kpm[0, 2:] = True
    _compare_mha(close, ours, theirs, q, k, v, {"key_padding_mask": kpm}, need_weights=need_weights)


@pytest.mark.parametrize("config", ["default", "no_bias", "bias_kv_zero_attn", "batch_first"])
def test_mha_self_attention_matches_torch(close, config):
    ours, theirs = _pair(**MHA_CONFIGS[config])
    _, w = _compare_mha(close, ours, theirs, _x(3, 5, 8, seed=1))
    n, l = (3, 5) if config == "batch_first" else (5, 3)
    extra = 2 if config == "bias_kv_zero_attn" else 0  # the bias key and the zero key
    assert w.shape == (n, l, l + extra)


def test_mha_key_and_value_the_same_tensor(close):
    ours, theirs = _pair()
    q, kv = _both(_x(5, 2, 8, seed=1)), _both(_x(4, 2, 8, seed=2))
    out, _ = ours(q[0], kv[0], kv[0])
    tout, _ = theirs(q[1], kv[1], kv[1])
    close(out, tout, **TOL)


MASK_CASES = {
    "bool_2d": lambda: {"attn_mask": ~_mask(5, 5, seed=3)},
    "float_2d": lambda: {"attn_mask": _x(5, 5, seed=3)},
    "bool_3d": lambda: {"attn_mask": np.stack([~_mask(5, 5, s) for s in range(6)])},
    "float_3d": lambda: {"attn_mask": _x(6, 5, 5, seed=3)},
    "kpm_float": lambda: {"key_padding_mask": np.where(_mask(3, 5, seed=2), 0.0, -np.inf)},
    "both_bool": lambda: {
        "attn_mask": ~_mask(5, 5, seed=3),
        "key_padding_mask": ~_mask(3, 5, seed=2),
    },
    "both_float": lambda: {
        "attn_mask": _x(5, 5, seed=3),
        "key_padding_mask": np.where(_mask(3, 5, seed=2), 0.0, -1e9),
    },
}


@pytest.mark.parametrize("case", list(MASK_CASES))
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_masks_match_torch(close, case, need_weights):
    ours, theirs = _pair(E=6, H=2)
    _compare_mha(
        close, ours, theirs, _x(5, 3, 6, seed=1), masks=MASK_CASES[case](),
        need_weights=need_weights,
    )  # fmt: skip


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("with_kpm", [True, False])
def test_mha_is_causal_hint_matches_torch(close, need_weights, with_kpm):
    ours, theirs = _pair()
    causal = np.triu(np.ones((5, 5), bool), 1)  # True = may not attend
    masks = {"attn_mask": causal}
    if with_kpm:
        kpm = np.zeros((3, 5), bool)
        kpm[1, 3:] = True
        masks["key_padding_mask"] = kpm
    _compare_mha(
        close, ours, theirs, _x(5, 3, 8, seed=1), masks=masks, need_weights=need_weights,
        is_causal=True,
    )  # fmt: skip


def test_mha_weights_per_head_and_averaged(close):
    ours, theirs = _pair(E=8, H=4)
    x = _x(5, 2, 8, seed=1)
    _, w = _compare_mha(close, ours, theirs, x, average_attn_weights=False)
    assert w.shape == (2, 4, 5, 5)
    _, avg = ours(*(stirpile.tensor(x),) * 3)
    close(avg, _np(w).mean(1), **TOL)
    np.testing.assert_allclose(_np(w).sum(-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched_matches_torch(close, need_weights):
    ours, theirs = _pair(kdim=3, vdim=4)
    kpm = np.array([False, False, True, False])
    _compare_mha(
        close, ours, theirs, _x(5, 8, seed=1), _x(4, 3, seed=2), _x(4, 4, seed=3),
        {"key_padding_mask": kpm, "attn_mask": ~_mask(5, 4)}, need_weights=need_weights,
    )  # fmt: skip
    ours, theirs = _pair(batch_first=True)  # batch_first is ignored for unbatched inputs
    _compare_mha(close, ours, theirs, _x(5, 8, seed=1), masks={"attn_mask": _x(2, 5, 5)})


def test_mha_fully_masked_row_as_torch(close):
    """Need weights: PyTorch's plain softmax gives NaN on a fully masked row (we match);
    without weights sdpa gives zeros."""
    ours, theirs = _pair()
    mask = np.zeros((5, 5), bool)
    mask[1] = True
    x = _x(5, 2, 8, seed=1)
    for need_weights in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out, _ = ours(*(stirpile.tensor(x),) * 3, attn_mask=stirpile.tensor(mask),
                          need_weights=need_weights)  # fmt: skip
        tout, _ = theirs(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(mask),
                          need_weights=need_weights)  # fmt: skip
        close(out, tout, **TOL)  # (NaN equals NaN here)
        assert np.isnan(_np(out[1])).all() == need_weights


def test_mha_gradcheck_inputs_with_masks(grad_check):
    stirpile.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, add_bias_kv=True, kdim=3).double()
    self_mha = nn.MultiheadAttention(4, 2).double()
    mask = stirpile.tensor(~_mask(3, 4, seed=1))
    kpm = stirpile.tensor(np.array([[False, False, False, True], [True, False, False, False]]))

    def fn(q, k, v):
        out, w = mha(q, k, v, key_padding_mask=kpm, attn_mask=mask)
        return out, w

    grad_check(fn, _x(3, 2, 4, seed=1), _x(4, 2, 3, seed=2), _x(4, 2, 4, seed=3))

    def fn_causal(q):
        causal = stirpile.tensor(np.triu(np.ones((3, 3), bool), 1))
        return self_mha(q, q, q, attn_mask=causal, need_weights=False, is_causal=True)[0]

    grad_check(fn_causal, _x(3, 2, 4, seed=4), gradgrad=True)


def test_multi_head_attention_forward_gradcheck_parameters(grad_check):
    """Gradients of every parameter of the functional form, float64 finite differences."""
    E, H = 4, 2
    q, k = stirpile.tensor(_x(3, 2, E, seed=1)), stirpile.tensor(_x(2, 2, E, seed=2))
    float_mask = stirpile.tensor(_x(3, 2, seed=8))

    def fn(w_in, b_in, bias_k, bias_v, w_out, b_out):
        return F.multi_head_attention_forward(
            q, k, k, E, H, w_in, b_in, bias_k, bias_v, True, 0.0, w_out, b_out,
            attn_mask=float_mask, average_attn_weights=False,
        )  # fmt: skip

    grad_check(
        fn, _x(3 * E, E, seed=3), _x(3 * E, seed=4), _x(1, 1, E, seed=5), _x(1, 1, E, seed=6),
        _x(E, E, seed=7), _x(E, seed=9),
    )  # fmt: skip


def test_mha_dropout_only_in_training(close):
    x = stirpile.tensor(_x(5, 3, 8, seed=1))
    stirpile.manual_seed(0)
    drop = nn.MultiheadAttention(8, 2, dropout=0.5).double()
    plain = nn.MultiheadAttention(8, 2).double()
    plain.load_state_dict(drop.state_dict())
    drop.eval()
    for need_weights in (True, False):
        a = drop(x, x, x, need_weights=need_weights)[0]
        close(a, _np(plain(x, x, x, need_weights=need_weights)[0]), **TOL)
    drop.train()
    for need_weights in (True, False):
        a = drop(x, x, x, need_weights=need_weights)[0]
        assert not np.allclose(_np(a), _np(plain(x, x, x)[0]))
    _, w = drop(x, x, x)  # dropped weights: zeros or scaled by 1/(1 − p) per head
    assert (_np(w) == 0).any()


def test_mha_parameters_init_and_repr():
    stirpile.manual_seed(0)
    mha = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    t = torch.nn.MultiheadAttention(64, 4, add_bias_kv=True)
    assert repr(mha) == repr(t)
    assert list(mha.state_dict()) == list(t.state_dict())
    for name, p in t.named_parameters():
        ours = dict(mha.named_parameters())[name]
        assert ours.shape == tuple(p.shape) and ours.dtype == stirpile.float32
    bound = math.sqrt(6 / (64 + 3 * 64))  # xavier_uniform_ over the packed (3E, E) weight
    w = mha.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert not _np(mha.in_proj_bias).any() and not _np(mha.out_proj.bias).any()
    assert abs(_np(mha.bias_k).std() - math.sqrt(2 / (1 + 64))) < 0.1
    assert isinstance(mha.out_proj, nn.Linear)
    sep = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False)
    tsep = torch.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False)
    assert repr(sep) == repr(tsep) and list(sep.state_dict()) == list(tsep.state_dict())
    assert sep.in_proj_weight is None and sep.bias_k is None and sep.head_dim == 4
    assert sep.k_proj_weight.shape == (8, 3) and sep.v_proj_weight.shape == (8, 5)


def test_mha_loads_torch_state_dict(close):
    t = torch.nn.MultiheadAttention(8, 2, add_bias_kv=True).double()
    ours = nn.MultiheadAttention(8, 2, add_bias_kv=True).double()
    ours.load_state_dict(
        {k: stirpile.tensor(v.detach().numpy()) for k, v in t.state_dict().items()}
    )
    x = _x(4, 2, 8)
    with torch.no_grad():
        tout = t(*(torch.tensor(x),) * 3)[0]
    close(ours(*(stirpile.tensor(x),) * 3)[0], tout, **TOL)


MHA_ERRORS = [
    ("ctor", {"embed_dim": 10, "num_heads": 3}, AssertionError,
     "embed_dim must be divisible by num_heads"),
    ("ctor", {"embed_dim": 0, "num_heads": 3}, ValueError, "must be greater than 0"),
    ("call", {"q": (2, 5, 2, 8)}, AssertionError, "received 4-D query tensor"),
    ("call", {"k": (5, 8), "v": (5, 8)}, AssertionError, "expected `key` and `value` to be 3-D"),
    ("call", {"key_padding_mask": np.zeros((2, 5, 1), bool)}, AssertionError,
     "`key_padding_mask` to be `None` or 2-D"),
    ("call", {"attn_mask": np.zeros((1, 1, 5, 5), bool)}, AssertionError,
     "expected `attn_mask` to be `None`, 2-D or 3-D"),
    ("call", {"attn_mask": np.zeros((4, 5), bool)}, RuntimeError,
     r"The shape of the 2D attn_mask is torch.Size\(\[4, 5\]\), but should be \(5, 5\)."),
    ("call", {"attn_mask": np.zeros((3, 5, 5), bool)}, RuntimeError,
     r"The shape of the 3D attn_mask is torch.Size\(\[3, 5, 5\]\), but should be \(4, 5, 5\)."),
    ("call", {"key_padding_mask": np.zeros((2, 4), bool)}, AssertionError,
     r"Expected key_padded_mask.shape\[1\] to be 5, but got 4"),
    ("call", {"key_padding_mask": np.zeros((3, 5), bool)}, AssertionError,
     r"Expected key_padded_mask.shape\[0\] to be 2, but got 3"),
    ("call", {"attn_mask": np.zeros((5, 5), np.int64)}, AssertionError,
     "only bool and floating types of attn_mask are supported"),
    ("call", {"is_causal": True}, RuntimeError, "Need attn_mask if specifying the is_causal"),
    ("call", {"q": (5, 2, 6), "k": (5, 2, 6), "v": (5, 2, 6)}, AssertionError,
     "was expecting embedding dimension of 8, but got 6"),
    ("call", {"v": (4, 2, 8)}, AssertionError,
     r"key shape torch.Size\(\[5, 2, 8\]\) does not match value shape torch.Size\(\[4, 2, 8\]\)"),
    ("call", {"q": (5, 8), "k": (5, 8), "v": (5, 8), "attn_mask": np.zeros((4, 5, 5), bool)},
     AssertionError, r"Expected `attn_mask` shape to be \(2, 5, 5\)"),
]  # fmt: skip


@pytest.mark.parametrize(("where", "kw", "exc", "match"), MHA_ERRORS)
def test_mha_errors_match_torch(where, kw, exc, match):
    for L in (torch, stirpile):
        if where == "ctor":
            with pytest.raises(exc, match=match):
                L.nn.MultiheadAttention(**kw)
            continue
        mha = L.nn.MultiheadAttention(8, 2)
        shapes = {"q": (5, 2, 8), "k": (5, 2, 8), "v": (5, 2, 8)}
        shapes.update({n: kw[n] for n in ("q", "k", "v") if n in kw})
        q, k, v = (L.randn(*shapes[n]) for n in ("q", "k", "v"))
        rest = {n: (L.tensor(m) if isinstance(m, np.ndarray) else m)
                for n, m in kw.items() if n not in ("q", "k", "v")}  # fmt: skip
        with pytest.raises(exc, match=match):
            mha(q, k, v, **rest)


def test_mha_mismatched_mask_types_warn_as_torch():
    for L in (torch, stirpile):
        mha = L.nn.MultiheadAttention(8, 2)
        x = L.randn(5, 2, 8)
        with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn"):
            mha(x, x, x, attn_mask=L.zeros(5, 5, dtype=L.bool), key_padding_mask=L.zeros(2, 5))


# -- nn.TransformerEncoderLayer ----------------------------------------------------------------


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_layer_matches_torch(check_module, norm_first, activation,
                                                 batch_first):  # fmt: skip
    kw = {"dim_feedforward": 16, "dropout": 0.0, "activation": activation,
          "norm_first": norm_first, "batch_first": batch_first}  # fmt: skip
    stirpile.manual_seed(0)
    check_module(
        nn.TransformerEncoderLayer(8, 2, **kw), torch.nn.TransformerEncoderLayer(8, 2, **kw),
        _x(5, 3, 8, seed=1),
    )  # fmt: skip


def test_transformer_encoder_layer_masks_and_unbatched(check_module, close):
    kw = {"dim_feedforward": 12, "dropout": 0.0}
    stirpile.manual_seed(0)
    ours = nn.TransformerEncoderLayer(8, 2, **kw).double()
    theirs = check_module.copy_state(ours, torch.nn.TransformerEncoderLayer(8, 2, **kw)).double()
    causal = np.triu(np.ones((5, 5), bool), 1)
    kpm = np.zeros((3, 5), bool)
    kpm[2, 3:] = True
    x, t = _both(_x(5, 3, 8, seed=2))
    for masks, causal_hint in (({"src_mask": causal}, True),
                               ({"src_mask": causal, "src_key_padding_mask": kpm}, False),
                               ({"src_key_padding_mask": kpm}, False)):  # fmt: skip
        out = ours(x, **{n: stirpile.tensor(m) for n, m in masks.items()}, is_causal=causal_hint)
        tout = theirs(t, **{n: torch.tensor(m) for n, m in masks.items()}, is_causal=causal_hint)
        close(out, tout, **TOL)
    check_module(ours, theirs, _x(5, 8, seed=3))  # unbatched


def test_transformer_encoder_layer_gradcheck(grad_check):
    stirpile.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="gelu",
                                       norm_first=True).double()  # fmt: skip
    kpm = stirpile.tensor(np.array([[False, False, True], [False, False, False]]))
    grad_check(lambda x: layer(x, src_key_padding_mask=kpm), _x(3, 2, 4, seed=1))


def test_transformer_encoder_layer_init_repr_and_errors():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    t = torch.nn.TransformerEncoderLayer(8, 2, 16)
    assert repr(layer) == repr(t)
    assert list(layer.state_dict()) == list(t.state_dict())
    assert layer.activation_relu_or_gelu == 1 and layer.activation is F.relu
    assert nn.TransformerEncoderLayer(8, 2, activation=nn.GELU()).activation_relu_or_gelu == 2
    assert nn.TransformerEncoderLayer(8, 2, activation=F.tanh).activation_relu_or_gelu == 0
    for L in (torch, stirpile):
        with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
            L.nn.TransformerEncoderLayer(8, 2, activation="tanh")
    assert nn.TransformerEncoderLayer(8, 2, bias=False).norm1.bias is None
