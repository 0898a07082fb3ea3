"""stirpile.compile: replays give eager execution's numbers, the guards re-record, and
what cannot be replayed runs eagerly."""

from __future__ import annotations

import os

import numpy as np
import pytest

import stirpile as st
import stirpile.nn.functional as F
from stirpile import jit, nn

OPTIMIZERS = {
    "sgd_momentum": lambda ps: st.optim.SGD(ps, lr=0.05, momentum=0.9),
    "sgd_nesterov_wd": lambda ps: st.optim.SGD(
        ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3
    ),
    "adam": lambda ps: st.optim.Adam(ps, lr=1e-3),
    "adamw": lambda ps: st.optim.AdamW(ps, lr=1e-3, weight_decay=0.05),
}


def _model(bn: bool = True, p: float = 0.2):
    st.manual_seed(0)
    layers = [nn.Linear(12, 32)] + ([nn.BatchNorm1d(32)] if bn else [])
    return nn.Sequential(*layers, nn.ReLU(), nn.Dropout(p), nn.Linear(32, 4))


def _data(n: int, batch: int = 16, seed: int = 0, features: int = 12, classes: int = 4):
    rng = np.random.default_rng(seed)
    xs = [st.tensor(rng.standard_normal((batch, features)).astype(np.float32)) for _ in range(n)]
    ys = [st.tensor(rng.integers(0, classes, batch)) for _ in range(n)]
    return xs, ys


def _step_of(model, opt):
    """The training step every test here compiles."""

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _train(make_opt, compiled: bool, steps: int, bn: bool = True):
    model = _model(bn)
    opt = make_opt(model.parameters())
    step = _step_of(model, opt)
    fn = st.compile(step) if compiled else step
    st.manual_seed(7)  # the dropout masks' stream
    xs, ys = _data(steps)
    losses = [fn(x, y).item() for x, y in zip(xs, ys)]
    return model, opt, fn, np.array(losses)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_thousand_compiled_steps_are_eager_bit_for_bit(name):
    """With dropout and batch norm: the same losses, parameters, running statistics and
    optimizer state, to the bit (a replay runs the same NumPy calls in the same order)."""
    eager, eager_opt, _, eager_losses = _train(OPTIMIZERS[name], False, 1000)
    comp, comp_opt, fn, comp_losses = _train(OPTIMIZERS[name], True, 1000)
    assert (fn.recordings, fn.replays, fn.eager_calls) == (2, 998, 0)
    np.testing.assert_array_equal(comp_losses, eager_losses)
    for (k, a), b in zip(eager.state_dict().items(), comp.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    for pa, pb in zip(eager.parameters(), comp.parameters()):
        for key, value in eager_opt.state[pa].items():
            got = comp_opt.state[pb][key]
            np.testing.assert_array_equal(np.asarray(_raw(value)), np.asarray(_raw(got)))
    assert eager_losses[-50:].mean() < eager_losses[:50].mean()  # it trained


def _raw(v):
    return v.numpy() if isinstance(v, st.Tensor) else v


def test_dropout_draws_fresh_masks_at_every_replay():
    st.manual_seed(0)
    drop = nn.Dropout(0.5)
    fn = st.compile(lambda x: drop(x) * 1.0)
    x = st.ones(4, 50)
    outs = [fn(x).numpy() for _ in range(4)]
    assert fn.replays == 2
    assert not np.array_equal(outs[2], outs[3])  # two replays, two masks
    st.manual_seed(0)
    eager = [(drop(x) * 1.0).numpy() for _ in range(4)]
    for a, b in zip(outs, eager):
        np.testing.assert_array_equal(a, b)


def test_checkpoints_move_between_compiled_and_eager(tmp_path):
    """30 compiled steps, a checkpoint, 30 eager steps from it; and the other way round: both
    end where 60 eager steps end."""
    xs, ys = _data(60)

    def run(model, opt, compiled, batches):
        def step(x, y):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

        fn = st.compile(step) if compiled else step
        for x, y in batches:
            fn(x, y)

    def fresh():
        model = _model(bn=True, p=0.0)
        return model, st.optim.Adam(model.parameters(), lr=1e-2)

    ref, ref_opt = fresh()
    run(ref, ref_opt, False, zip(xs, ys))
    for first, second in ((True, False), (False, True)):
        model, opt = fresh()
        run(model, opt, first, zip(xs[:30], ys[:30]))
        st.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "c.ckpt")
        model2, opt2 = fresh()
        state = st.load(tmp_path / "c.ckpt")
        model2.load_state_dict(state["model"])
        opt2.load_state_dict(state["opt"])
        run(model2, opt2, second, zip(xs[30:], ys[30:]))
        for a, b in zip(ref.state_dict().values(), model2.state_dict().values()):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


# -- guards ---------------------------------------------------------------------------------
def _mlp_step():
    model = _model(bn=False, p=0.0)
    opt = st.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt, _step_of(model, opt)


def _twin_runs(change):
    """The same sequence of calls, eager and compiled, with ``change(model, opt, i)`` before
    call ``i``; returns the compiled function and both final parameter sets."""
    results = []
    for compiled in (False, True):
        model, opt, step = _mlp_step()
        fn = st.compile(step) if compiled else step
        for i in range(12):
            x, y = change(model, opt, i)
            fn(x, y)
        results.append([p.detach().numpy().copy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    return fn


def test_a_new_shape_records_again():
    xs16, ys16 = _data(12, 16)
    xs5, ys5 = _data(12, 5, seed=1)
    fn = _twin_runs(lambda m, o, i: (xs16[i], ys16[i]) if i < 6 else (xs5[i], ys5[i]))
    assert fn.recordings == 4 and fn.replays == 8


def test_switching_to_eval_records_again():
    xs, ys = _data(12)

    def change(model, opt, i):
        model.train(i < 6)
        return xs[i], ys[i]

    fn = _twin_runs(change)
    assert fn.recordings == 4


def test_a_new_learning_rate_is_honoured_without_recording_again():
    xs, ys = _data(12)

    def change(model, opt, i):
        opt.param_groups[0]["lr"] = 0.1 / (i + 1)
        return xs[i], ys[i]

    fn = _twin_runs(change)
    assert fn.recordings == 2 and fn.replays == 10


def test_a_replaced_parameter_records_again():
    xs, ys = _data(12)

    def change(model, opt, i):
        if i == 6:  # a new Parameter object (the optimizer must know it too)
            model[0].weight = nn.Parameter(model[0].weight.detach().clone())
            opt.param_groups[0]["params"][0] = model[0].weight
        return xs[i], ys[i]

    fn = _twin_runs(change)
    assert fn.recordings == 4


def test_other_dtypes_requires_grad_and_python_arguments_record_again(capsys):
    calls = []

    def f(x, scale):
        calls.append(1)
        return (x * scale).sum()

    fn = st.compile(f)
    x = st.ones(3)
    for _ in range(3):
        fn(x, 2.0)
    assert fn.replays == 1
    assert fn(x, 3.0).item() == 9.0  # a new constant: recorded again, not the old 2.0
    assert fn(x.double(), 2.0).dtype == st.float64
    assert fn(st.ones(3, requires_grad=True), 2.0).item() == 6.0
    assert fn.recordings == 5 and len(calls) == 5


def test_debug_says_why_once(capsys, monkeypatch):
    monkeypatch.setattr(jit, "debug", True)
    fn = st.compile(lambda x: x.exp())
    for n in (2, 2, 2, 3, 3):
        fn(st.ones(n))
    err = capsys.readouterr().err
    assert err.count("recording again: argument 0 is (3,) float32") == 1


# -- what runs eagerly ----------------------------------------------------------------------
class _Double(st.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


def _branchy(x):
    return x * 2 if float(x.sum()) > 0 else x * 3


def _random_outside(x):
    return x + st.randn(*x.shape)


def _inplace(x):
    y = x * 1.0
    y.add_(1)
    return y


def _reads_item(x):
    y = x * 2
    print(y.sum().item(), end="")
    return y


_LSTM = nn.LSTM(3, 4)
_W = nn.Parameter(st.ones(3))


def _returns_grad(x):
    _W.grad = None
    (x * _W).sum().backward()
    return _W.grad


def _lstm_step(x):
    return _LSTM(x)[0]


@pytest.mark.parametrize(
    "fn, why",
    [
        (_Double.apply, "custom Function"),
        (_branchy, "Tensor.__float__()"),
        (_random_outside, "random number drawn outside"),
        (_inplace, "in-place write"),
        (_reads_item, "Tensor.item()"),
        (_lstm_step, "several outputs"),  # (LSTM: its hidden state's history)
        (_returns_grad, "made during the call outside the ops"),
    ],
)
def test_what_a_replay_cannot_reproduce_runs_eagerly(fn, why, capsys, monkeypatch):
    """Each runs eagerly (and gives eager's numbers), and debug says why."""
    monkeypatch.setattr(jit, "debug", True)
    compiled = st.compile(fn)
    rng = np.random.default_rng(0)
    for sign in (1, -1, 1, -1):
        x = st.tensor(sign * rng.uniform(0.5, 1, (2, 3)).astype(np.float32))
        st.manual_seed(1)
        got = compiled(x)
        st.manual_seed(1)
        np.testing.assert_array_equal(got.detach().numpy(), fn(x).detach().numpy())
    assert compiled.replays == 0
    assert why in capsys.readouterr().err


def test_returns_and_arguments_by_keyword():
    model = nn.Linear(3, 2)

    @st.compile
    def f(x, *, scale):
        out = model(x) * scale
        return {"out": out, "pair": (out.sum(), model.weight)}

    x = st.randn(4, 3)
    for _ in range(3):
        r = f(x, scale=2.0)
    assert f.replays == 1
    np.testing.assert_array_equal(r["out"].numpy(), (model(x) * 2.0).detach().numpy())
    assert r["pair"][1] is model.weight
    assert r["out"].grad_fn is None  # a replay records no graph


def test_compile_accepts_pytorchs_arguments():
    m = nn.Linear(2, 2)
    assert st.compile(m) is m  # a module runs eagerly (see stirpile.jit)
    f = st.compile(mode="reduce-overhead", fullgraph=True, dynamic=False)(lambda x: x + 1)
    assert isinstance(f, jit.CompiledFunction)

    def g(x):
        return x

    assert st.compile(g, disable=True) is g


def test_replays_hold_no_memory_between_calls():
    """After the first replays, memory traced by tracemalloc (NumPy's arrays included) does
    not grow over 200 more: the program releases every value and saved array it made (each
    replay still allocates its temporaries, which malloc reuses: there are no preallocated
    buffers yet)."""
    import gc
    import tracemalloc

    _, _, step = _mlp_step()
    fn = st.compile(step)
    xs, ys = _data(8)
    for i in range(10):
        fn(xs[i % 8], ys[i % 8])
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(200):
            fn(xs[i % 8], ys[i % 8])
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert fn.replays == 208
    assert grown < 4096, grown  # (a leak of one 16x32 float32 array per step would be 400 KB)
    program = fn.entries[0][0]
    kernels = [k for k in program._fn.__globals__.values() if hasattr(k, "buffers")]
    assert kernels  # (Linear's kernel drops its inputs after its backward)
    assert all(getattr(k, "x", None) is None for k in kernels)
    for st_ in program.steps:  # nothing saved for a backward that already ran
        assert st_.ctx is None or st_.ctx.saved in (None, ("freed",))


def test_a_compiled_function_inside_another_is_recorded_into_it():
    inner = st.compile(lambda x: x.exp() * 2)
    for _ in range(3):
        inner(st.ones(2))  # ready to replay on its own
    outer = st.compile(lambda x: inner(x) + 1)
    x = st.tensor([0.0, 1.0])
    for _ in range(4):
        got = outer(x)
    assert outer.replays == 2
    np.testing.assert_array_equal(got.numpy(), (x.exp() * 2 + 1).numpy())


def test_replays_take_no_new_memory_from_the_system():
    """A replay's arrays reuse the memory the previous replay freed: over 20 replays of a
    784-1024-1024-10 step at batch 256 (1 MB activations), no page is faulted in."""
    import subprocess
    import sys

    pytest.importorskip("resource")
    code = """
import resource, stirpile as st
from stirpile import nn
import stirpile.nn.functional as F
st.manual_seed(0)
m = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                  nn.Linear(1024, 10))
opt = st.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
x, y = st.randn(256, 784), st.randint(0, 10, (256,))
@st.compile
def step(x, y):
    opt.zero_grad()
    F.cross_entropy(m(x), y).backward()
    opt.step()
for _ in range(5):
    step(x, y)
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step(x, y)
print(step.replays, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split()  # fmt: skip
    assert int(out[0]) == 23
    assert int(out[1]) < 100  # (a step's arrays alone are ~2,000 pages)


def test_a_replaced_parameter_of_a_child_used_without_calling_it_records_again():
    class Parent(nn.Module):
        def __init__(self):
            super().__init__()
            self.child = nn.Linear(3, 2)

        def forward(self, x):
            return x @ self.child.weight.T  # the child itself is never called

    model = Parent()
    fn = st.compile(lambda x: model(x).sum())
    x = st.ones(4, 3)
    for _ in range(3):
        fn(x)
    model.child.weight = nn.Parameter(st.zeros(2, 3))
    assert fn(x).item() == 0.0
    assert fn.recordings == 3


@pytest.mark.parametrize("which", ["lenet5", "leaky_relu"])
def test_max_pooling_and_comparison_masks_are_computed_again_at_every_replay(which):
    """Max pooling's argmax positions and comparison results (leaky_relu's ``x > 0``) are
    data: both are traced calls, so a LeNet-5 or a leaky-ReLU MLP replays (instead of two
    recordings that differ) and gives eager's numbers."""
    from stirpile import models

    results = []
    for compiled in (False, True):
        st.manual_seed(0)
        if which == "lenet5":
            model, shape = models.lenet5(), (8, 1, 28, 28)
        else:
            model, shape = models.mlp([12, 32, 4], activation="leaky_relu"), (8, 12)
        opt = st.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        step = _step_of(model, opt)
        fn = st.compile(step) if compiled else step
        rng = np.random.default_rng(0)
        losses = [
            fn(st.tensor(rng.standard_normal(shape).astype(np.float32)),
               st.tensor(rng.integers(0, 4, shape[0]))).item()
            for _ in range(8)
        ]  # fmt: skip
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
    assert (fn.recordings, fn.replays, fn.eager_calls) == (2, 6, 0)
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)
