"""stirpile.compile's kernels (jit/kernels.py): Linear, ReLU and cross-entropy replayed
into buffers allocated once, gradients written into the optimizer's flat buffer, and
what they must not change: eager's numbers, fresh results, accumulation, the guards."""

from __future__ import annotations

import functools
import tracemalloc

import numpy as np
import pytest
from test_compile import _data
from test_compile import _step_of as _step

import stirpile as st
import stirpile.nn.functional as F
from stirpile import nn
from stirpile.jit.kernels import BinaryKernel, CrossEntropyKernel, LinearKernel, ReluKernel


def _mlp(sizes=(12, 32, 4), dropout=0.0, bn=False):
    st.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers += [nn.BatchNorm1d(sizes[i + 1])] if bn else []
            layers += [nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
    return nn.Sequential(*layers)


def _kernels(fn):
    """The kernels of a compiled function's (only) program."""
    program = fn.entries[0][0]
    return [v for k, v in program._fn.__globals__.items() if k.startswith("K")]


def test_an_mlp_step_runs_on_kernels_with_gradients_in_the_flat_buffer():
    model = _mlp()
    opt = st.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fn = st.compile(_step(model, opt))
    xs, ys = _data(4)
    for x, y in zip(xs, ys):
        fn(x, y)
    kinds = sorted(type(k).__name__ for k in _kernels(fn))
    assert kinds == ["CrossEntropyKernel", "LinearKernel", "LinearKernel", "ReluKernel"]
    relu = next(k for k in _kernels(fn) if isinstance(k, ReluKernel))
    assert relu.in_place  # bias add and ReLU on one array
    (flat,) = opt._flat.values()
    for p, view in zip(model.parameters(), flat.grad_views):
        assert p.grad._data is view  # backward wrote it where the step reads it


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: st.optim.SGD(ps, lr=0.05, momentum=0.9),
        lambda ps: st.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda ps: st.optim.Adam(ps, lr=1e-3),
        lambda ps: st.optim.AdamW(ps, lr=1e-3),
    ],
    ids=["sgd_momentum", "sgd_nesterov_wd", "adam", "adamw"],
)
@pytest.mark.parametrize(
    "sizes, dropout, bn",
    [((64, 128, 10), 0.0, False), ((300, 256, 10), 0.0, False), ((64, 128, 10), 0.3, True)],
    ids=["flat", "per_param", "batchnorm_dropout"],
)
def test_a_replay_allocates_nothing_that_grows_with_the_step(make_opt, sizes, dropout, bn):
    """The most memory a replay takes beyond what it held before, at batch 256 and 1024,
    against one eager step. The kernels and the optimizer write into arrays made once;
    what remains is Python's objects and NumPy's iterator buffer for broadcasting and
    casting ufuncs (the bias add, ``g · mask``), at most 8,192 elements whatever the
    arrays' size. ``(300, 256, 10)`` has too many numbers for a flat group: each parameter
    gets its own gradient buffer and the optimizer its scratch arrays. Batch norm's
    statistics and dropout's mask are computed into buffers too."""

    def peak(call):
        tracemalloc.start()
        try:
            call()  # warm (the optimizer's scratch arrays are made at its first step)
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            call()
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    replayed = {}
    for batch in (256, 1024):
        model = _mlp(sizes, dropout, bn)
        opt = make_opt(model.parameters())
        step = _step(model, opt)
        fn = st.compile(step)
        xs, ys = _data(4, batch=batch, features=sizes[0], classes=sizes[-1])
        for i in range(4):
            fn(xs[i], ys[i])
        replayed[batch] = peak(functools.partial(fn, xs[0], ys[0]))
        eager = peak(functools.partial(step, xs[1], ys[1]))
        assert fn.replays >= 4
        assert eager > batch * sum(sizes[1:]) * 4  # (the measurement sees the activations)
        assert replayed[batch] < 8192 * 4 + 4096, (replayed, eager)
    assert abs(replayed[1024] - replayed[256]) < 1024, replayed  # nothing scales with it


def test_replays_equal_eager_bit_for_bit_on_kernels_with_two_hidden_layers():
    results = []
    for compiled in (False, True):
        model = _mlp((12, 32, 16, 4))
        opt = st.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        step = _step(model, opt)
        fn = st.compile(step) if compiled else step
        xs, ys = _data(40)
        losses = [fn(x, y).item() for x, y in zip(xs, ys)]
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_results_are_fresh_arrays_not_buffers():
    model = _mlp()
    xs, _ = _data(4)

    @st.compile
    def predict(x):
        with st.no_grad():
            return F.relu(model(x))

    outs = [predict(x) for x in xs]
    assert predict.replays == 2
    for x, out in zip(xs, outs):  # an earlier result is not overwritten by a later replay
        with st.no_grad():
            np.testing.assert_array_equal(out.numpy(), F.relu(model(x)).numpy())


def test_accumulating_gradients_across_replays_equals_eager():
    """Without ``zero_grad`` in the function, ``.grad`` is not None at backward: the kernel
    must not write into it, and the gradient is added as eagerly."""
    results = []
    for compiled in (False, True):
        model = _mlp()
        opt = st.optim.SGD(model.parameters(), lr=0.1)

        def accumulate(x, y, model=model):
            F.cross_entropy(model(x), y).backward()

        fn = st.compile(accumulate) if compiled else accumulate
        xs, ys = _data(12)
        for i, (x, y) in enumerate(zip(xs, ys)):
            fn(x, y)
            if i % 3 == 2:
                opt.step()
                opt.zero_grad(set_to_none=i % 2 == 0)  # (both ways of zeroing)
        results.append([p.detach().numpy().copy() for p in model.parameters()])
    assert fn.replays == 10
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_a_cross_entropy_target_that_is_not_a_class_runs_eagerly(capsys, monkeypatch):
    monkeypatch.setattr(st.jit, "debug", True)
    model = _mlp()
    opt = st.optim.SGD(model.parameters(), lr=0.1)
    fn = st.compile(_step(model, opt))
    xs, ys = _data(4)
    for x, y in zip(xs, ys):
        fn(x, y)
    ignored = ys[0].clone()
    ignored[:5] = -100  # cross_entropy's default ignore_index
    before = [p.detach().numpy().copy() for p in model.parameters()]
    loss = fn(xs[0], ignored)
    assert fn.eager_calls == 1
    with st.no_grad():  # the loss over the 11 kept samples, from the weights before the step
        for p, b in zip(model.parameters(), before):
            p.copy_(st.tensor(b))
        expected = F.cross_entropy(model(xs[0])[5:], ys[0][5:])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    bad = ys[0].clone()
    bad[3] = 4
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        fn(xs[0], bad)
    assert "a cross-entropy target that is not a class index" in capsys.readouterr().err


def test_frozen_layer_and_new_parameter_shape_record_again():
    model = _mlp()
    opt = st.optim.SGD(model.parameters(), lr=0.1)
    fn = st.compile(_step(model, opt))
    xs, ys = _data(12, classes=4)
    for i in range(4):
        fn(xs[i], ys[i])
    model[0].weight.requires_grad_(False)  # frozen: no gradient for it any more
    w0 = model[0].weight.detach().numpy().copy()
    for i in range(4, 8):
        fn(xs[i], ys[i])
    assert fn.recordings == 4
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), w0)
    assert model[0].weight.grad is None
    with st.no_grad():  # a last layer with 6 classes instead of 4, in place of the data
        model[2].weight.data = st.zeros(6, 32)
        model[2].bias.data = st.zeros(6)
    loss = fn(xs[8], ys[8])
    assert loss.item() == pytest.approx(np.log(6), rel=1e-6)  # uniform over 6 classes
    assert fn.recordings == 5


def test_kernels_refuse_what_they_do_not_cover():
    f32, f64, i64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
    two = ((0, 0), (0, 0))  # (two slots)
    x, w, y = ((4, 3), f32), ((2, 3), f32), ((4, 2), f32)
    assert LinearKernel.accepts(two, {}, [x, w], y)
    assert LinearKernel.accepts((*two, (2, None)), {}, [x, w, None], y)  # bias=None
    assert LinearKernel.accepts((*two, (0, 0)), {}, [x, w, ((2,), f32)], y)
    assert not LinearKernel.accepts((*two, (0, 0)), {}, [x, w, ((3,), f32)], y)
    assert not LinearKernel.accepts(two, {}, [((4, 5, 3), f32), w], ((4, 5, 2), f32))
    assert not LinearKernel.accepts(two, {}, [x, ((2, 3), f64)], y)
    t, loss = ((4,), i64), ((), f32)
    refs = ((0, 0), (3, 1))  # (the target an argument)
    assert CrossEntropyKernel.accepts(refs, {"reduction": "sum", "ignore_index": -100}, [x, t],
                                      loss)  # fmt: skip
    for options in ({"reduction": "none"}, {"label_smoothing": 0.1}, {"ignore_index": 1},
                    {"weight": st.ones(3)}):  # fmt: skip
        assert not CrossEntropyKernel.accepts(refs, options, [x, t], loss), options
    assert not CrossEntropyKernel.accepts(((0, 0), (0, 1)), {}, [x, t], loss)  # computed target
    assert BinaryKernel.accepts(two, {}, [x, x], x)
    assert BinaryKernel.accepts(((0, 0), (2, 0.5)), {}, [x, None], x)  # x * 0.5
    assert not BinaryKernel.accepts(two, {}, [x, ((3,), f32)], x)  # broadcasting
    assert not BinaryKernel.accepts(two, {}, [x, ((4, 3), f64)], ((4, 3), f64))  # promotion
    assert not BinaryKernel.accepts(((0, 0), (2, True)), {}, [x, None], x)


class _Tangled(nn.Module):
    """A pre-activation read twice (the ReLU must not overwrite it) and a weight used by
    two layers (its gradient is a sum: no kernel writes it alone)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(12, 12), nn.Linear(12, 4)

    def forward(self, x):
        h = self.a(x)
        h = F.relu(h) + 0.5 * h
        return self.b(F.relu(self.a(h)))


def test_a_reread_pre_activation_and_tied_weights_replay_as_eager():
    results = []
    for compiled in (False, True):
        st.manual_seed(0)
        model = _Tangled()
        opt = st.optim.Adam(model.parameters(), lr=1e-2)
        step = _step(model, opt)
        fn = st.compile(step) if compiled else step
        xs, ys = _data(20)
        losses = [fn(x, y).item() for x, y in zip(xs, ys)]
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
    assert fn.replays == 18
    relus = [k for k in _kernels(fn) if isinstance(k, ReluKernel)]
    assert [k.in_place for k in relus] == [False, True]
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_batch_norm_kernels_over_images_and_without_affine_or_running_stats():
    """BatchNorm2d (statistics over batch and pixels) after a convolution, dropout, and a
    BatchNorm1d with neither weights nor running statistics: on kernels, eager's bits."""
    results = []
    for compiled in (False, True):
        st.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3), nn.Flatten(),
            nn.Linear(4 * 6 * 6, 3), nn.BatchNorm1d(3, affine=False, track_running_stats=False),
        )  # fmt: skip
        opt = st.optim.Adam(model.parameters(), lr=1e-2)
        step = _step(model, opt)
        fn = st.compile(step) if compiled else step
        rng = np.random.default_rng(0)
        st.manual_seed(3)
        losses = [
            fn(st.tensor(rng.standard_normal((8, 1, 8, 8)).astype(np.float32)),
               st.tensor(rng.integers(0, 3, 8))).item()
            for _ in range(10)
        ]  # fmt: skip
        results.append((losses, [t.detach().numpy().copy() for t in model.state_dict().values()]))
    kinds = [type(k).__name__ for k in _kernels(fn)]
    assert fn.replays == 8
    assert kinds.count("BatchNormKernel") == kinds.count("BatchStatsKernel") == 2
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)
