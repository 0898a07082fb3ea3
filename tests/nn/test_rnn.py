"""Recurrent layers and cells against PyTorch (weights copied through the state dict; outputs,
final states, and the gradients of the input, the initial state and every parameter),
float64 gradchecks, second order, dropout between layers, clipping, errors, reprs."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import stirpile
from stirpile import nn

torch = pytest.importorskip("torch")

T, N, IN, H = 4, 3, 5, 6
KINDS = {  # name: (stirpile class, torch class, extra constructor arguments)
    "rnn_tanh": (nn.RNN, torch.nn.RNN, {}),
    "rnn_relu": (nn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, torch.nn.LSTM, {}),
    "gru": (nn.GRU, torch.nn.GRU, {}),
}


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _pair(kind, *args, **kwargs):
    """A stirpile module and its torch twin, float64, with the same weights."""
    ours_cls, theirs_cls, extra = KINDS[kind]
    stirpile.manual_seed(0)
    ours = ours_cls(*args, **extra, **kwargs).double()
    theirs = theirs_cls(*args, **extra, **kwargs).double()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})
    return ours, theirs


def _close(a, b, tol=1e-10):
    b = b.detach().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b, rtol=tol, atol=tol)


def _states(hidden):
    return tuple(hidden) if isinstance(hidden, tuple) else (hidden,)


def _run_both(ours, theirs, x, hx=None, seed=3):
    """Forward both with the same input (and initial state), backward the same random
    gradients from the output and the final states; compare everything."""
    xs = stirpile.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    hs = ht = None
    if hx is not None:
        hs = tuple(stirpile.tensor(h, requires_grad=True) for h in hx)
        ht = tuple(torch.tensor(h, requires_grad=True) for h in hx)
    lstm = isinstance(ours, (nn.LSTM, nn.LSTMCell))
    args_s = () if hs is None else ((hs,) if lstm else hs)
    args_t = () if ht is None else ((ht,) if lstm else ht)
    out_s, out_t = ours(xs, *args_s), theirs(xt, *args_t)
    outs_s = (out_s[0], *_states(out_s[1])) if isinstance(out_s, tuple) else (out_s,)
    outs_t = (out_t[0], *_states(out_t[1])) if isinstance(out_t, tuple) else (out_t,)
    if isinstance(ours, nn.LSTMCell):
        outs_s, outs_t = out_s, out_t
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(o.shape) for o in outs_t]
    for a, b in zip(outs_s, outs_t):
        _close(a, b)
    stirpile.autograd.backward(list(outs_s), [stirpile.tensor(g) for g in grads])
    torch.autograd.backward(list(outs_t), [torch.tensor(g) for g in grads])
    _close(xs.grad, xt.grad)
    for a, b in zip(hs or (), ht or ()):
        _close(a.grad, b.grad)
    params_s, params_t = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(params_s) == list(params_t)
    for name, p in params_t.items():
        _close(params_s[name].grad, p.grad)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("layers, bidirectional, batch_first, with_state, bias",
                         list(itertools.product([1, 2], [False, True], [False, True],
                                                [False, True], [True, False])))  # fmt: skip
def test_matches_torch(kind, layers, bidirectional, batch_first, with_state, bias):
    ours, theirs = _pair(kind, IN, H, num_layers=layers, bidirectional=bidirectional,
                         batch_first=batch_first, bias=bias)  # fmt: skip
    x = _rand(N, T, IN) if batch_first else _rand(T, N, IN)
    hx = None
    if with_state:
        n = layers * (2 if bidirectional else 1)
        hx = [_rand(n, N, H, seed=1)] + ([_rand(n, N, H, seed=2)] if kind == "lstm" else [])
    _run_both(ours, theirs, x, hx)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_input(kind, with_state):
    ours, theirs = _pair(kind, IN, H, num_layers=2, bidirectional=True)
    hx = [_rand(4, H, seed=1)] + ([_rand(4, H, seed=2)] if kind == "lstm" else [])
    _run_both(ours, theirs, _rand(T, IN), hx if with_state else None)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_projection(bidirectional):
    ours, theirs = _pair("lstm", IN, H, num_layers=2, proj_size=3, bidirectional=bidirectional)
    d = 2 if bidirectional else 1
    assert ours.weight_hr_l1.shape == (3, H) and ours.weight_hh_l0.shape == (4 * H, 3)
    _run_both(ours, theirs, _rand(T, N, IN), [_rand(2 * d, N, 3, seed=1), _rand(2 * d, N, H)])


def test_state_dict_loads_both_ways():
    ours, _theirs = _pair("gru", IN, H, num_layers=2, bidirectional=True)
    torch.manual_seed(5)
    fresh = torch.nn.GRU(IN, H, num_layers=2, bidirectional=True).double()
    ours.load_state_dict({k: stirpile.tensor(v.numpy()) for k, v in fresh.state_dict().items()})
    x = _rand(T, N, IN)
    _close(ours(stirpile.tensor(x))[0], fresh(torch.tensor(x))[0])


def test_parameters_order_init_and_attributes():
    stirpile.manual_seed(0)
    m = nn.LSTM(IN, 16, num_layers=2, bidirectional=True, proj_size=4)
    names = [n for n, _ in m.named_parameters()]
    assert names == [n for n, _ in torch.nn.LSTM(IN, 16, 2, bidirectional=True,
                                                 proj_size=4).named_parameters()]  # fmt: skip
    assert m._flat_weights_names == names and [id(p) for p in m._flat_weights] == [
        id(p) for p in m.parameters()
    ]
    assert [[id(p) for p in ws] for ws in m.all_weights] == [
        [id(getattr(m, n)) for n in ws] for ws in m._all_weights
    ]
    m.flatten_parameters()
    for p in m.parameters():
        a = p.detach().numpy()
        assert np.abs(a).max() <= 0.25 and p.dtype == stirpile.float32
    big = nn.GRU(50, 400).weight_ih_l0.detach().numpy()
    assert abs(big.std() - 0.05 / np.sqrt(3)) < 0.002  # U(-1/√400, 1/√400)


@pytest.mark.parametrize(
    "cell, bias", list(itertools.product(["rnn_tanh", "rnn_relu", "lstm", "gru"], [True, False]))
)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_cells_match_torch(cell, bias, batched, with_state):
    classes = {"rnn_tanh": (nn.RNNCell, torch.nn.RNNCell, {}),
               "rnn_relu": (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
               "lstm": (nn.LSTMCell, torch.nn.LSTMCell, {}),
               "gru": (nn.GRUCell, torch.nn.GRUCell, {})}  # fmt: skip
    ours_cls, theirs_cls, extra = classes[cell]
    ours = ours_cls(IN, H, bias=bias, **extra).double()
    theirs = theirs_cls(IN, H, bias=bias, **extra).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})  # fmt: skip
    lead = (N,) if batched else ()
    hx = [_rand(*lead, H, seed=1)] + ([_rand(*lead, H, seed=2)] if cell == "lstm" else [])
    _run_both(ours, theirs, _rand(*lead, IN), hx if with_state else None)
    assert repr(ours) == repr(theirs)


# -- gradcheck and second order ----------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_gradcheck_bidirectional_two_layers(kind):
    stirpile.manual_seed(0)
    cls, _, extra = KINDS[kind]
    m = cls(3, 2, num_layers=2, bidirectional=True, **extra).double()
    x = stirpile.tensor(_rand(3, 2, 3), requires_grad=True)
    hx = [stirpile.tensor(_rand(4, 2, 2, seed=k), requires_grad=True) for k in (1, 2)]
    hx = hx if kind == "lstm" else hx[:1]

    def f(x, *rest):
        out, hidden = m(x, tuple(rest[: len(hx)]) if kind == "lstm" else rest[0])
        return (out, *_states(hidden))

    assert stirpile.autograd.gradcheck(f, [x, *hx, *m.parameters()], atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cells_gradcheck_and_gradgradcheck(cls):
    stirpile.manual_seed(0)
    m = cls(3, 2).double()
    x = stirpile.tensor(_rand(2, 3), requires_grad=True)
    h = stirpile.tensor(_rand(2, 2, seed=1), requires_grad=True)
    c = stirpile.tensor(_rand(2, 2, seed=2), requires_grad=True)
    lstm = cls is nn.LSTMCell

    def f(x, h, c, *params):
        return m(x, (h, c)) if lstm else m(x, h)

    inputs = [x, h, c, *m.parameters()]
    assert stirpile.autograd.gradcheck(f, inputs, atol=1e-6, rtol=1e-4)
    assert stirpile.autograd.gradgradcheck(f, inputs, atol=1e-6, rtol=1e-4)


def test_lstm_gradgradcheck():
    stirpile.manual_seed(0)
    m = nn.LSTM(2, 2, bidirectional=True).double()
    x = stirpile.tensor(_rand(3, 2, 2), requires_grad=True)

    def f(x, *params):
        out, (_h, c) = m(x)
        return out, c

    assert stirpile.autograd.gradgradcheck(f, [x, *m.parameters()], atol=1e-6, rtol=1e-4)


def _second_order(ours, theirs, x, lstm_cell=False):
    """The gradient of ``Σ v · ∂⟨u, out⟩/∂(x, params)`` in both frameworks."""
    xs, xt = stirpile.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ps, pt = list(ours.parameters()), list(theirs.parameters())
    outs_s, outs_t = ours(xs), theirs(xt)
    out_s = outs_s[0] if isinstance(outs_s, tuple) else outs_s
    out_t = outs_t[0] if isinstance(outs_t, tuple) else outs_t
    if not lstm_cell and isinstance(outs_s, tuple):  # a sequence model: add the cell state in
        out_s = out_s.sum() + outs_s[1][1].sum() * 0.5
        out_t = out_t.sum() + outs_t[1][1].sum() * 0.5
    rng = np.random.default_rng(4)
    u = rng.standard_normal(out_t.shape)
    gs = stirpile.autograd.grad(out_s, [xs, *ps], stirpile.tensor(u), create_graph=True)
    gt = torch.autograd.grad(out_t, [xt, *pt], torch.tensor(u), create_graph=True)
    vs = [rng.standard_normal(g.shape) for g in gt]
    ss = sum((g * stirpile.tensor(v)).sum() for g, v in zip(gs, vs))
    st = sum((g * torch.tensor(v)).sum() for g, v in zip(gt, vs))
    for a, b in zip(stirpile.autograd.grad(ss, [xs, *ps]), torch.autograd.grad(st, [xt, *pt])):
        _close(a, b, 1e-9)


def test_second_order_cell_matches_torch():
    ours, theirs = nn.LSTMCell(IN, H).double(), torch.nn.LSTMCell(IN, H).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})  # fmt: skip
    _second_order(ours, theirs, _rand(N, IN), lstm_cell=True)
    ours, theirs = nn.GRUCell(IN, H).double(), torch.nn.GRUCell(IN, H).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})  # fmt: skip
    _second_order(ours, theirs, _rand(N, IN))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_second_order_lstm_matches_torch(bidirectional):
    ours, theirs = _pair("lstm", IN, H, num_layers=2, bidirectional=bidirectional)
    _second_order(ours, theirs, _rand(T, N, IN))


# -- dropout, clipping ---------------------------------------------------------------------------


def test_dropout_between_layers_only_in_training():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(IN, H, dropout=0.3)
    ours, theirs = _pair("lstm", IN, H, num_layers=3, dropout=0.5)
    x = stirpile.tensor(_rand(T, N, IN))
    ours.eval()
    theirs.eval()
    _close(ours(x)[0], theirs(torch.tensor(x.numpy()))[0])  # eval: no dropout
    ours.train()
    stirpile.manual_seed(1)
    a = ours(x)[0].detach().numpy()
    b = ours(x)[0].detach().numpy()
    assert not np.allclose(a, b)  # a fresh mask each call
    # nothing after the last layer: with one layer and dropout the output is deterministic
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        one = nn.LSTM(IN, H, dropout=0.9).double()
    np.testing.assert_array_equal(one(x)[0].detach().numpy(), one(x)[0].detach().numpy())
    # the mask applies to the first layer's output only: the first layer's state is unchanged
    ours.eval()
    h_eval = ours(x)[1][0][0].detach().numpy()
    ours.train()
    np.testing.assert_allclose(ours(x)[1][0][0].detach().numpy(), h_eval, rtol=1e-12)


def test_clip_grad_norm_on_lstm_matches_torch():
    ours, theirs = _pair("lstm", IN, H, num_layers=2)
    x = _rand(T, N, IN)
    (ours(stirpile.tensor(x))[0] ** 2).sum().backward()
    (theirs(torch.tensor(x))[0] ** 2).sum().backward()
    total_s = nn.utils.clip_grad_norm_(ours.parameters(), max_norm=0.5)
    total_t = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm=0.5)
    _close(total_s, total_t)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        _close(p.grad, q.grad)


def test_float32_training_step_matches_torch():
    stirpile.manual_seed(0)
    ours = nn.LSTM(IN, H, batch_first=True)
    theirs = torch.nn.LSTM(IN, H, batch_first=True)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})  # fmt: skip
    x = _rand(N, T, IN).astype(np.float32)
    out_s, (h_s, _) = ours(stirpile.tensor(x))
    out_t, (h_t, _) = theirs(torch.tensor(x))
    assert out_s.dtype == stirpile.float32
    _close(out_s, out_t, 1e-5)
    h_s.sum().backward()
    h_t.sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert p.grad.dtype == stirpile.float32
        _close(p.grad, q.grad, 1e-5)


def test_no_grad_records_nothing():
    m = nn.LSTM(IN, H)
    with stirpile.no_grad():
        out, (h, c) = m(stirpile.randn(T, N, IN))
    assert out.grad_fn is None and not h.requires_grad and not c.requires_grad


# -- errors and reprs ---------------------------------------------------------------------------


def _same_error(f_ours, f_theirs):
    with pytest.raises(Exception) as theirs:
        f_theirs()
    with pytest.raises(type(theirs.value)) as ours:
        f_ours()
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("kind", list(KINDS))
def test_forward_errors_match_torch(kind):
    ours, theirs = _pair(kind, 10, 20)
    lstm = kind == "lstm"

    def both(x, *hx):
        def state(lib):
            hs = tuple(lib.zeros(*s, dtype=lib.float64) for s in hx)
            return () if not hs else ((hs,) if lstm else hs[:1])

        xs = stirpile.zeros(*x, dtype=stirpile.float64)
        xt = torch.zeros(*x, dtype=torch.float64)
        _same_error(lambda: ours(xs, *state(stirpile)), lambda: theirs(xt, *state(torch)))

    both((5, 3, 7))  # input.size(-1) must be equal to input_size
    both((5,))  # 1-D input
    both((5, 3, 10), (1, 4, 20), (1, 3, 20))  # hidden batch
    both((5, 3, 10), (1, 3, 5), (1, 3, 20))  # hidden size
    both((5, 3, 10), (3, 20), (3, 20))  # 2-D state for 3-D input
    both((5, 10), (1, 1, 20), (1, 1, 20))  # 3-D state for 2-D input
    if lstm:
        both((5, 3, 10), (1, 3, 20), (1, 3, 5))  # hidden[1]
    with pytest.raises(ValueError, match=r"RNN input dtype \(.*float32\) does not match weight"):
        ours(stirpile.zeros(5, 3, 10))


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_errors_match_torch(name):
    ours, theirs = getattr(nn, name)(10, 20), getattr(torch.nn, name)(10, 20)
    lstm = name == "LSTMCell"

    def both(x, h=None):
        def args(lib):
            if h is None:
                return (lib.zeros(*x),)
            hs = lib.zeros(*h)
            return (lib.zeros(*x), (hs, hs) if lstm else hs)

        _same_error(lambda: ours(*args(stirpile)), lambda: theirs(*args(torch)))

    both((3, 7))
    both((2, 3, 10))
    both((3, 10), (4, 20))
    both((3, 10), (3, 5))
    both((3, 10), (1, 3, 20))
    with pytest.raises(RuntimeError, match="Unknown nonlinearity: sig"):
        nn.RNNCell(10, 20, nonlinearity="sig")(stirpile.zeros(3, 10))


@pytest.mark.parametrize("args, kwargs", [
    ((10, 20), {"dropout": 1.5}), ((10, 20), {"dropout": True}), ((10, 20), {"bias": 1}),
    ((10, 20), {"batch_first": None}), ((10.0, 20), {}), ((0, 20), {}), ((10, 0), {}),
    ((10, 20), {"num_layers": 0}), ((10, 20), {"proj_size": -1}), ((10, 20), {"proj_size": 20}),
])  # fmt: skip
def test_constructor_errors_match_torch(args, kwargs):
    _same_error(lambda: nn.LSTM(*args, **kwargs), lambda: torch.nn.LSTM(*args, **kwargs))


def test_rnn_only_arguments():
    _same_error(lambda: nn.RNN(3, 4, nonlinearity="sig"),
                lambda: torch.nn.RNN(3, 4, nonlinearity="sig"))  # fmt: skip
    _same_error(lambda: nn.GRU(3, 4, proj_size=2), lambda: torch.nn.GRU(3, 4, proj_size=2))
    _same_error(lambda: nn.RNN(3, 4, proj_size=2), lambda: torch.nn.RNN(3, 4, proj_size=2))
    m = nn.RNN(3, 4, 2, "relu")  # nonlinearity as the fourth positional argument
    assert m.nonlinearity == "relu" and m.num_layers == 2 and m.mode == "RNN_RELU"


def test_reprs_match_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for cls, kwargs in [
            ("LSTM", {"num_layers": 2, "dropout": 0.5, "bidirectional": True,
                      "batch_first": True, "proj_size": 5}),
            ("GRU", {"bias": False}),
            ("RNN", {"nonlinearity": "relu"}),
            ("RNN", {"dropout": 0.25}),
        ]:  # fmt: skip
            assert repr(getattr(nn, cls)(10, 20, **kwargs)) == repr(
                getattr(torch.nn, cls)(10, 20, **kwargs)
            )
        assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == repr(
            torch.nn.RNNCell(3, 4, bias=False, nonlinearity="relu")
        )


# -- nn.utils.rnn -------------------------------------------------------------------------------

R_ours, R_torch = stirpile.nn.utils.rnn, torch.nn.utils.rnn


def _seqs(lengths, lib, feat=(2,)):
    return [lib.tensor(_rand(n, *feat, seed=n), requires_grad=True) for n in lengths]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("feat", [(), (2,)])
def test_pad_sequence_matches_torch(batch_first, side, feat):
    xs, ts = _seqs([3, 5, 1], stirpile, feat), _seqs([3, 5, 1], torch, feat)
    kw = {"batch_first": batch_first, "padding_value": -1.5, "padding_side": side}
    a, b = R_ours.pad_sequence(xs, **kw), R_torch.pad_sequence(ts, **kw)
    _close(a, b)
    g = _rand(*b.shape, seed=9)
    a.backward(stirpile.tensor(g))
    b.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        _close(x.grad, t.grad)
    _same_error(lambda: R_ours.pad_sequence(xs, padding_side="mid"),
                lambda: R_torch.pad_sequence(ts, padding_side="mid"))  # fmt: skip


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths, enforce_sorted", [([5, 3, 3, 1], True), ([2, 5, 1, 4], False)])
def test_pack_and_pad_packed_match_torch(batch_first, lengths, enforce_sorted):
    x = _rand(4, 5, 2) if batch_first else _rand(5, 4, 2)
    xs, xt = stirpile.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ps = R_ours.pack_padded_sequence(xs, lengths, batch_first, enforce_sorted)
    pt = R_torch.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted)
    _close(ps.data, pt.data)
    for a, b in zip(ps[1:], pt[1:]):
        assert (a is None and b is None) or a.numpy().tolist() == b.numpy().tolist()
    (padded_s, len_s), (padded_t, len_t) = (
        R_ours.pad_packed_sequence(ps, batch_first, 7.0, total_length=6),
        R_torch.pad_packed_sequence(pt, batch_first, 7.0, total_length=6),
    )
    _close(padded_s, padded_t)
    assert len_s.numpy().tolist() == len_t.numpy().tolist() and len_s.dtype == stirpile.int64
    g = _rand(*padded_t.shape, seed=4)
    padded_s.backward(stirpile.tensor(g))
    padded_t.backward(torch.tensor(g))
    _close(xs.grad, xt.grad)


def test_pack_sequence_errors_and_gradcheck():
    seqs = [_rand(3, 2), _rand(2, 2, seed=1)]
    packed = R_ours.pack_sequence([stirpile.tensor(s) for s in seqs])
    expect = R_torch.pack_sequence([torch.tensor(s) for s in seqs])
    _close(packed.data, expect.data)
    x = _rand(3, 2, 2)
    _same_error(lambda: R_ours.pack_padded_sequence(stirpile.tensor(x), [2, 3]),
                lambda: R_torch.pack_padded_sequence(torch.tensor(x), [2, 3]))  # fmt: skip
    _same_error(lambda: R_ours.pack_padded_sequence(stirpile.tensor(x), [3, 0]),
                lambda: R_torch.pack_padded_sequence(torch.tensor(x), [3, 0]))  # fmt: skip
    p_s = R_ours.pack_padded_sequence(stirpile.tensor(x), [3, 2])
    p_t = R_torch.pack_padded_sequence(torch.tensor(x), [3, 2])
    _same_error(lambda: R_ours.pad_packed_sequence(p_s, total_length=2),
                lambda: R_torch.pad_packed_sequence(p_t, total_length=2))  # fmt: skip
    with pytest.raises(NotImplementedError, match="PackedSequence"):
        nn.LSTM(2, 3).double()(p_s)

    def f(a, b):
        padded = R_ours.pad_sequence([a, b], batch_first=True)
        packed = R_ours.pack_padded_sequence(padded, [3, 2], batch_first=True)
        return R_ours.pad_packed_sequence(packed, total_length=4)[0]

    xs = [stirpile.tensor(s, requires_grad=True) for s in seqs]
    assert stirpile.autograd.gradcheck(f, xs, atol=1e-6, rtol=1e-4)
