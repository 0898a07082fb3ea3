"""SGD's and Adam's steady-state steps allocate no array memory (their temporaries live in
the optimizer's scratch buffers), and give bit for bit the numbers of the plain NumPy
expressions they replace."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import stirpile
from stirpile import optim

CASES = [
    (optim.SGD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "maximize": True}),
    (optim.SGD, {"lr": 0.1, "maximize": True}),
    (optim.Adam, {"lr": 0.01}),
    (optim.Adam, {"lr": 0.01, "weight_decay": 0.1}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (optim.Adam, {"lr": 0.01, "betas": (0.6, 0.2), "amsgrad": True, "maximize": True}),
    (optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
    (optim.AdamW, {"lr": 0.01, "weight_decay": 0.1, "maximize": True}),
]
IDS = [f"{cls.__name__}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for cls, kw in CASES]

# A 784-32-10 MLP's parameters (one flat group, see optim.flat), and a group too large for
# the flat path (one step per parameter).
LAYOUTS = {
    "flat": [(32, 784), (32,), (10, 32), (10,)],
    "per-parameter": [(300, 300), (300,), (300,)],
}


def _model(shapes, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    params = [
        stirpile.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes
    ]
    grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return params, grads


def _step_peak(opt):
    """The peak of the memory ``opt.step()`` allocates, in bytes, and the NumPy array memory
    it leaves allocated.

    tracemalloc keeps a single peak over all domains, so the peak also counts the Python
    objects of the step (dict keys, views' headers: under 1.1 kB with NumPy 2.4 and
    Python 3.11); a snapshot filtered to NumPy's domain gives the array memory kept."""
    numpy_only = [tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)]
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(numpy_only)
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
        after = tracemalloc.take_snapshot().filter_traces(numpy_only)
    finally:
        tracemalloc.stop()
    kept = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return peak - base, kept


# Above the Python objects' share of the peak, below any temporary array of these steps: the
# old code made one per parameter and expression, the (300, 300) one's of 360 kB, the flat
# group's of 100 kB.
BOUND = 4096


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=IDS)
def test_a_warm_step_allocates_no_array_memory(cls, kwargs, layout):
    params, grads = _model(LAYOUTS[layout])
    for p, g in zip(params, grads):
        p.grad = stirpile.tensor(g)
    opt = cls(params, **kwargs)
    for _ in range(2):  # the first step makes the state, the flat buffers and the scratch
        opt.step()
    assert bool(opt._flat) == (layout == "flat")
    peak, kept = _step_peak(opt)
    assert peak < BOUND, f"a warm step allocated {peak} bytes"
    assert kept <= 0
    if layout == "flat":  # and with the gradients left in the flat group's views
        for p, view in zip(params, opt._flat[0].grad_views):
            view[...] = p.grad._data
            p.grad = stirpile.Tensor._make(view)
        peak, kept = _step_peak(opt)
        assert peak < BOUND, f"a warm step allocated {peak} bytes"
        assert kept <= 0


# -- bit for bit: the expressions the scratch buffers replaced, on each parameter ----------
def _decayed_grad(param, grad, group, decoupled=False):
    g = -grad if group["maximize"] else grad
    wd = group["weight_decay"]
    if wd != 0:
        if decoupled:
            param *= 1 - float(group["lr"]) * wd
        else:
            g = g + wd * param
    return g


def _lerp_(a, b, weight):
    if abs(weight) < 0.5:
        a += weight * (b - a)
    else:
        np.subtract(b, (b - a) * (1 - weight), out=a)


def _sgd(param, grad, state, group):
    momentum = group["momentum"]
    g = _decayed_grad(param, grad, group)
    if momentum != 0:
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = np.array(g)
        else:
            b = state["momentum_buffer"]
            b *= momentum
            damp = group["dampening"]
            b += (1 - damp) * g if damp else g
        buf = state["momentum_buffer"]
        g = g + momentum * buf if group["nesterov"] else buf
    param -= group["lr"] * g


def _adam(param, grad, state, group):
    lr, eps = group["lr"], group["eps"]
    beta1, beta2 = group["betas"]
    if not state:
        state.update(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param))
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
    state["step"] += 1
    step = state["step"]
    g = _decayed_grad(param, grad, group, group["decoupled_weight_decay"])
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    _lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * (g * g)
    step_size = lr / (1 - beta1**step)
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    if group["amsgrad"]:
        max_sq = state["max_exp_avg_sq"]
        np.maximum(max_sq, exp_avg_sq, out=max_sq)
        denom = np.sqrt(max_sq)
    else:
        denom = np.sqrt(exp_avg_sq)
    denom /= bias_correction2_sqrt
    denom += eps
    param -= step_size * (exp_avg / denom)


# float64 hyperparameters (what a LambdaLR returning np.exp(...) leaves in group["lr"]) make
# float64 temporaries of float32 parameters: the scratch buffers must round as they do.
HYPER = {
    "python floats": lambda v: v,
    "np.float64": lambda v: np.float64(v) if isinstance(v, float) else v,
}


@pytest.mark.parametrize("hyper", HYPER)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=IDS)
def test_the_steps_give_the_old_expressions_numbers_bit_for_bit(cls, kwargs, layout, dtype, hyper):
    convert = HYPER[hyper]
    kwargs = {k: tuple(map(convert, v)) if k == "betas" else convert(v) for k, v in kwargs.items()}
    shapes = LAYOUTS[layout]
    params, _ = _model(shapes, dtype)
    ref_params = [p.detach().numpy().copy() for p in params]
    opt = cls(params, **kwargs)
    group = opt.param_groups[0]
    ref_states = [{} for _ in params]
    update = _sgd if cls is optim.SGD else _adam
    rng = np.random.default_rng(1)
    for _ in range(4):
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        for p, g in zip(params, grads):
            p.grad = stirpile.tensor(g.copy())
        opt.step()
        for p, g, ref, state in zip(params, grads, ref_params, ref_states):
            update(ref, g, state, group)
            assert np.array_equal(p.grad.numpy(), g)  # the step left the gradient alone
    for p, ref, state in zip(params, ref_params, ref_states):
        assert p.dtype == ref.dtype
        np.testing.assert_array_equal(p.detach().numpy(), ref)
        ours = opt.state[p]
        assert ours.keys() == state.keys()
        for key, value in state.items():
            if key == "step":
                assert ours[key] == value
            else:
                assert ours[key].dtype == value.dtype
                np.testing.assert_array_equal(ours[key].numpy(), value)


# -- the flat group's gradient views ------------------------------------------------------
@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=IDS)
def test_gradients_in_the_flat_groups_views_give_the_same_step(cls, kwargs):
    """When each ``p.grad`` already is its view of the flat gradient buffer (as the
    compiled replay leaves it), the step skips the gather and gives the same numbers, and
    it leaves those gradients alone (they are the user's ``.grad``)."""
    shapes = LAYOUTS["flat"]
    runs = []
    for in_views in (False, True):
        params, _ = _model(shapes)
        opt = cls(params, **kwargs)
        rng = np.random.default_rng(1)
        for t in range(4):
            grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
            flat = opt._flat.get(0)
            for i, (p, g) in enumerate(zip(params, grads)):
                if in_views and flat is not None:
                    flat.grad_views[i][...] = g
                    p.grad = stirpile.Tensor._make(flat.grad_views[i])
                else:
                    p.grad = stirpile.tensor(g)
            opt.step()
            for p, g in zip(params, grads):
                assert np.array_equal(p.grad.numpy(), g)
            if in_views and t > 0:
                assert all(p.grad._data is v for p, v in zip(params, flat.grad_views))
        assert opt._flat
        runs.append((params, opt))
    (ref, ref_opt), (got, opt) = runs
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    for a, b in zip(ref, got):
        sa, sb = ref_opt.state[a], opt.state[b]
        assert sa.keys() == sb.keys()
        for key in sa:
            va, vb = sa[key], sb[key]
            if isinstance(va, stirpile.Tensor):
                np.testing.assert_array_equal(va.numpy(), vb.numpy())
            else:
                assert va == vb


def test_the_scratch_buffers_stay_out_of_state_dicts_and_pickles():
    import copy
    import pickle

    params, grads = _model(LAYOUTS["flat"])
    opt = optim.Adam(params, lr=0.01, weight_decay=0.1, maximize=True)
    for p, g in zip(params, grads):
        p.grad = stirpile.tensor(g)
    opt.step()
    assert opt._scratch_buffers
    assert "_scratch_buffers" not in str(opt.state_dict())
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert clone._scratch_buffers == {}
        clone.step()  # the copy makes its own
        assert clone._scratch_buffers
    opt.load_state_dict(opt.state_dict())
    assert opt._scratch_buffers == {}
