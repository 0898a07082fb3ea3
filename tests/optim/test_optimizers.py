"""Optimizers against PyTorch: the same MLP, the same initial weights, every option.

The model is written with raw tensors (no nn): ``tanh(x W1 + b1) W2 + b2`` with
an MSE loss, in float64, so the two frameworks' parameter trajectories agree to
rounding (checked to 1e-8 after every one of 50 steps).
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

import stirpile
from stirpile import optim

try:
    import torch
except ImportError:  # the comparisons skip; the self-contained tests still run
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch (the reference) is not installed")

STEPS = 50
RNG = np.random.default_rng(1234)
X = RNG.standard_normal((16, 4))
Y = RNG.standard_normal((16, 3))
INIT = [
    RNG.standard_normal((4, 8)) * 0.5,
    RNG.standard_normal(8) * 0.1,
    RNG.standard_normal((8, 3)) * 0.5,
    RNG.standard_normal(3) * 0.1,
]


def st_params():
    return [stirpile.tensor(a, requires_grad=True) for a in INIT]


def torch_params():
    return [torch.tensor(a, requires_grad=True) for a in INIT]


def st_loss(params, x=X, y=Y):
    w1, b1, w2, b2 = params
    out = (stirpile.tensor(x) @ w1 + b1).tanh() @ w2 + b2
    return ((out - stirpile.tensor(y)) ** 2).mean()


def torch_loss(params, x=X, y=Y):
    w1, b1, w2, b2 = params
    out = torch.tanh(torch.tensor(x) @ w1 + b1) @ w2 + b2
    return ((out - torch.tensor(y)) ** 2).mean()


def st_train(opt, params, steps=STEPS, set_to_none=True):
    # maximize=True ascends −MSE (ascending the MSE itself would blow up, and with it
    # the rounding differences)
    sign = -1.0 if opt.defaults.get("maximize") else 1.0
    traj = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=set_to_none)
        (st_loss(params) * sign).backward()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj


def torch_train(opt, params, steps=STEPS):
    sign = -1.0 if opt.defaults.get("maximize") else 1.0
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        (torch_loss(params) * sign).backward()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj


def assert_same_trajectory(ours, theirs, tol=1e-8):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for i, (pa, pb) in enumerate(zip(a, b)):
            err = np.max(np.abs(pa - pb) / (1 + np.abs(pb)))
            assert err <= tol, f"step {step}, param {i}: relative error {err:.2e}"


def grid(**axes):
    keys = list(axes)
    return [dict(zip(keys, values)) for values in itertools.product(*axes.values())]


SGD_CASES = [
    c
    for c in grid(
        momentum=[0, 0.9],
        dampening=[0, 0.1],
        nesterov=[False, True],
        weight_decay=[0, 0.01],
        maximize=[False, True],
    )
    if not c["nesterov"] or (c["momentum"] > 0 and c["dampening"] == 0)
]
CASES = (
    [("SGD", dict(lr=0.05, **c)) for c in SGD_CASES]
    + [
        ("Adagrad", dict(lr=0.05, **c))
        for c in grid(
            lr_decay=[0, 0.01], weight_decay=[0, 0.01], initial_accumulator_value=[0, 0.1]
        )
    ]
    + [("Adagrad", dict(lr=0.05, eps=1e-3, maximize=True))]
    + [
        ("RMSprop", dict(lr=0.01, **c))
        for c in grid(momentum=[0, 0.9], centered=[False, True], weight_decay=[0, 0.01])
    ]
    + [("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-4, momentum=0.5, maximize=True))]
    + [
        (name, dict(lr=0.01, **c))
        for name in ("Adam", "AdamW")
        for c in grid(amsgrad=[False, True], weight_decay=[0, 0.01], maximize=[False, True])
    ]
    + [("Adam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-6))]  # β₁ = 0.5: lerp's other branch
    + [("AdamW", {}), ("Adam", dict(weight_decay=0.1, decoupled_weight_decay=True))]
)


@needs_torch
@pytest.mark.parametrize("case", CASES)  # ids: see conftest.py
def test_trajectory_matches_torch(case):
    name, kw = case
    ours, theirs = st_params(), torch_params()
    ours_traj = st_train(getattr(optim, name)(ours, **kw), ours)
    theirs_traj = torch_train(getattr(torch.optim, name)(theirs, **kw), theirs)
    assert_same_trajectory(ours_traj, theirs_traj)
    # the parameters moved, so the comparison means something
    assert np.abs(ours_traj[-1][0] - INIT[0]).max() > 1e-3


DEFAULTS = {
    "SGD": {},
    "Adagrad": {},
    "RMSprop": {},
    "Adam": {},
    "AdamW": {},
}


@needs_torch
@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_defaults_match_torch(name):
    ours = getattr(optim, name)(st_params()).defaults
    theirs = getattr(torch.optim, name)(torch_params()).defaults
    for key, value in ours.items():
        assert theirs[key] == value, key


GROUP_CASES = {
    "SGD": ({"momentum": 0.9}, {"lr": 0.05, "nesterov": True}),
    "Adagrad": ({}, {"lr": 0.1, "lr_decay": 0.05}),
    "RMSprop": ({"momentum": 0.5}, {"lr": 0.003, "centered": True}),
    "Adam": ({"amsgrad": True}, {"lr": 0.03, "betas": (0.8, 0.99)}),
    "AdamW": ({}, {"lr": 0.03, "weight_decay": 0.1}),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(GROUP_CASES))
def test_param_groups_with_own_options(name):
    defaults, override = GROUP_CASES[name]

    def build(lib, params):
        groups = [{"params": params[:2]}, {"params": params[2:], **override}]
        return getattr(lib, name)(groups, lr=0.01, **defaults)

    ours, theirs = st_params(), torch_params()
    opt = build(optim, ours)
    assert opt.param_groups[1]["lr"] == override["lr"] and opt.param_groups[0]["lr"] == 0.01
    assert_same_trajectory(st_train(opt, ours), torch_train(build(torch.optim, theirs), theirs))


@needs_torch
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_step_with_closure_returns_loss_and_matches_torch(name):
    ours, theirs = st_params(), torch_params()
    opt_ours, opt_theirs = (
        getattr(optim, name)(ours, lr=0.01),
        getattr(torch.optim, name)(theirs, lr=0.01),
    )
    calls = []

    def closure_ours():
        calls.append(stirpile.is_grad_enabled())
        opt_ours.zero_grad()
        loss = st_loss(ours)
        loss.backward()
        return loss

    def closure_theirs():
        opt_theirs.zero_grad()
        loss = torch_loss(theirs)
        loss.backward()
        return loss

    for _ in range(10):
        with stirpile.no_grad():  # the closure still runs with grad enabled
            loss_ours = opt_ours.step(closure_ours)
        loss_theirs = opt_theirs.step(closure_theirs)
        assert abs(loss_ours.item() - loss_theirs.item()) < 1e-12
    assert calls == [True] * 10
    assert_same_trajectory(
        [[p.detach().numpy() for p in ours]], [[p.detach().numpy() for p in theirs]]
    )
    assert opt_ours.step() is None


def test_zero_grad_set_to_none_and_zeros():
    params = st_params()
    opt = optim.SGD(params, lr=0.1)
    st_loss(params).backward()
    grads = [p.grad for p in params]
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is g for p, g in zip(params, grads))  # zeroed in place
    assert all(not p.grad.numpy().any() for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    # training with either mode gives the same trajectory
    a, b = st_params(), st_params()
    assert_same_trajectory(
        st_train(optim.Adam(a, lr=0.01), a, steps=10, set_to_none=False),
        st_train(optim.Adam(b, lr=0.01), b, steps=10, set_to_none=True),
        tol=0,
    )


NEWER = ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]


# (not SGD, which keeps no state without momentum, nor Adagrad, which makes its state
# for every parameter when it is built)
@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", *NEWER])
def test_params_without_grad_are_skipped(name):
    params = st_params()
    opt = getattr(optim, name)(params, lr=0.1)
    w1, b1, w2, _ = params
    (w1.sum() + w2.sum()).backward()
    b1.grad = None
    before = b1.detach().numpy().copy()
    opt.step()
    assert np.array_equal(b1.detach().numpy(), before)
    assert b1 not in opt.state and w1 in opt.state
    assert opt.state[w1]["step"] == 1


@pytest.mark.parametrize("name", [*DEFAULTS, *NEWER])
def test_float32_parameters_stay_float32(name):
    w = stirpile.randn(3, 2, requires_grad=True)
    opt = (
        getattr(optim, name)([w], lr=0.1, momentum=0.9)
        if name == "SGD"
        else getattr(optim, name)([w])
    )
    for _ in range(3):
        (w * w).sum().backward()
        opt.step()
    assert w.dtype == stirpile.float32
    assert all(v.dtype == stirpile.float32 for v in opt.state[w].values() if hasattr(v, "dtype"))


STATE_CASES = {
    "SGD": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "Adagrad": {"lr_decay": 0.01, "initial_accumulator_value": 0.1},
    "RMSprop": {"momentum": 0.9, "centered": True},
    "Adam": {"amsgrad": True, "weight_decay": 0.01},
    "AdamW": {"amsgrad": True},
}


@needs_torch
@pytest.mark.parametrize("name", sorted(STATE_CASES))
def test_state_dict_layout_matches_torch(name, mlp):
    kw = STATE_CASES[name]
    ours, theirs = st_params(), torch_params()
    opt_ours, opt_theirs = (
        getattr(optim, name)(ours, **kw),
        getattr(torch.optim, name)(theirs, **kw),
    )
    st_train(opt_ours, ours, steps=3)
    torch_train(opt_theirs, theirs, steps=3)
    sd_ours, sd_theirs = opt_ours.state_dict(), opt_theirs.state_dict()
    assert sd_ours["param_groups"][0]["params"] == [0, 1, 2, 3]
    mlp.assert_same_state_dict(sd_ours, sd_theirs)  # (the steps, 3, included)


@pytest.mark.parametrize("name", sorted(STATE_CASES))
def test_state_dict_round_trip_resumes_identically(name):
    kw = STATE_CASES[name]
    full = st_params()
    reference = st_train(getattr(optim, name)(full, **kw), full)

    first = st_params()
    opt = getattr(optim, name)(first, **kw)
    st_train(opt, first, steps=20)
    saved = copy.deepcopy(opt.state_dict())
    st_train(opt, first, steps=5)  # the original runs on; the saved copy is unaffected

    resumed = [stirpile.tensor(a, requires_grad=True) for a in reference[19]]
    opt2 = getattr(optim, name)(resumed, lr=123.0)  # hyperparameters come from the state dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    rest = st_train(opt2, resumed, steps=STEPS - 20)
    assert_same_trajectory(rest, reference[20:], tol=0)  # bit-identical


def test_load_state_dict_copies_buffers():
    a, b = st_params(), st_params()
    opt_a, opt_b = optim.SGD(a, lr=0.1, momentum=0.9), optim.SGD(b, lr=0.1, momentum=0.9)
    st_train(opt_a, a, steps=2)
    opt_b.load_state_dict(opt_a.state_dict())
    buf_a, buf_b = opt_a.state[a[0]]["momentum_buffer"], opt_b.state[b[0]]["momentum_buffer"]
    assert buf_a is not buf_b and np.array_equal(buf_a.numpy(), buf_b.numpy())
    assert not np.shares_memory(buf_a.numpy(), buf_b.numpy())


def test_load_state_dict_mismatch_raises_and_changes_nothing():
    params = st_params()
    opt = optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.5}], lr=0.01)
    st_train(opt, params, steps=2)
    groups_before = copy.deepcopy(
        [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    )
    state_before = {
        id(p): {k: (v.numpy().copy() if hasattr(v, "numpy") else v) for k, v in s.items()}
        for p, s in opt.state.items()
    }
    state_obj, groups_obj = opt.state, opt.param_groups

    one_group = optim.Adam(st_params(), lr=0.3)
    st_train(one_group, one_group.param_groups[0]["params"], steps=1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(one_group.state_dict())

    p = st_params()
    wrong_sizes = optim.Adam([{"params": p[:1]}, {"params": p[1:]}], lr=0.3)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(wrong_sizes.state_dict())

    bad = opt.state_dict()
    bad = {"state": {**bad["state"], 99: {"step": 1}}, "param_groups": bad["param_groups"]}
    with pytest.raises(ValueError, match="parameter 99"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})

    assert opt.state is state_obj and opt.param_groups is groups_obj
    assert [
        {k: v for k, v in g.items() if k != "params"} for g in opt.param_groups
    ] == groups_before
    for p, s in opt.state.items():
        for k, v in s.items():
            np.testing.assert_array_equal(
                v.numpy() if hasattr(v, "numpy") else v, state_before[id(p)][k]
            )


def test_add_param_group_and_validation():
    w1, b1, w2, b2 = st_params()
    opt = optim.SGD([w1, b1], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": [w2, b2], "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.01
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w1]})
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(w1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w1 * 2])
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w1], momentum=0, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam([w1], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="learning rate"):
        optim.RMSprop([w1], lr=-1)
    named = optim.Adam([("w", w1), ("b", b1)])
    assert named.param_groups[0]["param_names"] == ["w", "b"]
    assert "Parameter Group 1" in repr(opt) and "momentum: 0.9" in repr(opt)
