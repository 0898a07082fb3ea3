"""Adadelta, Adamax, NAdam, RAdam, ASGD and Rprop against PyTorch.

The ``mlp`` fixture (tests/optim/conftest.py) trains the same float64 MLP from the
same weights in both frameworks; after every step the parameters must agree to rtol
1e-10, and at the end the whole state dict must (scalar state such as NAdam's
``mu_product`` exactly, since PyTorch's float32 rounding of it is reproduced).
Signatures, defaults, invalid arguments and loading a ``torch.optim`` state dict are
tested for every optimizer in test_signatures.py.
"""

from __future__ import annotations

import itertools
import os
import tempfile

import numpy as np
import pytest

import stirpile
from stirpile import optim
from stirpile.optim import flat

torch = pytest.importorskip("torch")

NAMES = ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]


def grid(**axes):
    keys = list(axes)
    return [dict(zip(keys, values)) for values in itertools.product(*axes.values())]


WD_MAX = grid(weight_decay=[0, 0.01], maximize=[False, True])
WD_DECOUPLED_MAX = grid(
    weight_decay=[0, 0.05], decoupled_weight_decay=[False, True], maximize=[False, True]
)
CASES = (
    [("Adadelta", {})]
    + [("Adadelta", dict(lr=0.5, **c)) for c in WD_MAX]
    + [("Adadelta", dict(lr=2.0, rho=0.5, eps=1e-4))]
    + [("Adamax", dict(lr=0.01, **c)) for c in WD_MAX]
    + [("Adamax", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-4))]  # β₁ = 0.5: lerp's other branch
    + [("NAdam", {})]
    + [("NAdam", dict(lr=0.01, **c)) for c in WD_DECOUPLED_MAX]
    + [("NAdam", dict(lr=0.02, betas=(0.5, 0.99), eps=1e-6, momentum_decay=0.1))]
    + [("RAdam", {})]
    + [("RAdam", dict(lr=0.01, **c)) for c in WD_DECOUPLED_MAX]
    + [("RAdam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-6))]  # ρ_t > 5 from step 3
    + [("ASGD", {})]
    + [("ASGD", dict(lr=0.05, **c)) for c in WD_MAX]
    + [("ASGD", dict(lr=0.05, t0=5))]  # averaging from step 6 (μ ≠ 1)
    + [("ASGD", dict(lr=0.1, lambd=0.05, alpha=0.5, t0=0, maximize=True))]
    + [("Rprop", {}), ("Rprop", dict(lr=0.05, maximize=True))]
    + [("Rprop", dict(lr=0.01, etas=(0.3, 1.5), step_sizes=(1e-3, 0.02)))]  # clamped both ways
)


@pytest.mark.parametrize("case", CASES)  # ids: see conftest.py
def test_trajectory_and_state_dict_match_torch(case, mlp):
    name, kw = case
    ours, theirs, opt_ours, opt_theirs = mlp.both(name, kw)
    mlp.assert_same_trajectory(
        mlp.train(stirpile, opt_ours, ours), mlp.train(torch, opt_theirs, theirs)
    )
    assert np.abs(ours[0].detach().numpy() - mlp.init[0]).max() > 1e-3  # the weights moved
    mlp.assert_same_state_dict(opt_ours.state_dict(), opt_theirs.state_dict())


SCHEDULED = [
    ("Adadelta", {}),
    ("Adamax", {"lr": 0.02}),
    ("NAdam", {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.02}),
    ("ASGD", {"lr": 0.1, "t0": 3}),
    ("Rprop", {"lr": 0.02}),  # the scheduler changes nothing: Rprop only reads lr once
]


@pytest.mark.parametrize(
    "scheduler",
    [("StepLR", {"step_size": 4, "gamma": 0.5}), ("CosineAnnealingLR", {"T_max": 10})],
    ids=lambda s: s[0],
)
@pytest.mark.parametrize("case", SCHEDULED, ids=[c[0] for c in SCHEDULED])
def test_with_lr_scheduler(case, scheduler, mlp):
    (name, kw), (sched, skw) = case, scheduler
    ours, theirs, opt_ours, opt_theirs = mlp.both(name, kw)
    sched_ours = getattr(optim.lr_scheduler, sched)(opt_ours, **skw)
    sched_theirs = getattr(torch.optim.lr_scheduler, sched)(opt_theirs, **skw)
    mlp.assert_same_trajectory(
        mlp.train(stirpile, opt_ours, ours, scheduler=sched_ours),
        mlp.train(torch, opt_theirs, theirs, scheduler=sched_theirs),
    )
    assert opt_ours.param_groups[0]["lr"] == opt_theirs.param_groups[0]["lr"] != kw.get("lr", 1)
    mlp.assert_same_state_dict(opt_ours.state_dict(), opt_theirs.state_dict())


GROUPS = {
    "Adadelta": ({"rho": 0.8}, {"lr": 0.3, "weight_decay": 0.01}),
    "Adamax": ({}, {"lr": 0.05, "betas": (0.8, 0.99)}),
    "NAdam": ({"momentum_decay": 0.01}, {"lr": 0.03, "weight_decay": 0.1}),
    "RAdam": ({}, {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    "ASGD": ({"t0": 2}, {"lr": 0.02, "lambd": 0.1}),
    "Rprop": ({}, {"lr": 0.03, "etas": (0.4, 1.1)}),
}
STATE_CASES = {
    "Adadelta": {"weight_decay": 0.01},
    "Adamax": {"lr": 0.02},
    "NAdam": {"lr": 0.02, "weight_decay": 0.01},
    "RAdam": {"lr": 0.02, "weight_decay": 0.01, "decoupled_weight_decay": True},
    "ASGD": {"lr": 0.05, "t0": 4},
    "Rprop": {"lr": 0.02},
}


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_own_options(name, mlp):
    defaults, override = GROUPS[name]

    def build(lib, params):
        groups = [{"params": params[:2]}, {"params": params[2:], **override}]
        return getattr(lib.optim, name)(groups, lr=0.01, **defaults)

    ours, theirs = mlp.params(stirpile), mlp.params(torch)
    opt_ours, opt_theirs = build(stirpile, ours), build(torch, theirs)
    assert opt_ours.param_groups[0]["lr"] == 0.01
    assert opt_ours.param_groups[1]["lr"] == override["lr"]
    mlp.assert_same_trajectory(
        mlp.train(stirpile, opt_ours, ours), mlp.train(torch, opt_theirs, theirs)
    )
    mlp.assert_same_state_dict(opt_ours.state_dict(), opt_theirs.state_dict())


@pytest.mark.parametrize("name", NAMES)
def test_own_state_dict_round_trip_and_checkpoint(name, mlp):
    kw = STATE_CASES[name]
    ours, theirs, opt_ours, opt_theirs = mlp.both(name, kw)
    mlp.train(stirpile, opt_ours, ours, steps=8)
    mlp.train(torch, opt_theirs, theirs, steps=8)
    path = os.path.join(tempfile.mkdtemp(), "opt.safetensors")
    stirpile.save(opt_ours.state_dict(), path)
    loaded = stirpile.load(path)
    mlp.assert_same_state_dict(loaded, opt_theirs.state_dict())  # the scalars keep their dtype

    a = mlp.params(stirpile, [p.detach().numpy() for p in ours])
    b = mlp.params(torch, [p.detach().numpy() for p in theirs])
    opt_a, opt_b = getattr(optim, name)(a), getattr(torch.optim, name)(b)
    opt_a.load_state_dict(loaded)
    opt_b.load_state_dict(opt_theirs.state_dict())
    mlp.assert_same_trajectory(
        mlp.train(stirpile, opt_a, a, steps=10), mlp.train(torch, opt_b, b, steps=10)
    )
    mlp.assert_same_state_dict(opt_a.state_dict(), opt_b.state_dict())


@pytest.mark.parametrize("name", ["NAdam", "ASGD"])
def test_scalar_state_follows_the_default_dtype(name, mlp):
    kw = {"lr": 0.05, "t0": 3} if name == "ASGD" else {"lr": 0.05}
    old_st, old_torch = stirpile.get_default_dtype(), torch.get_default_dtype()
    stirpile.set_default_dtype(stirpile.float64)
    torch.set_default_dtype(torch.float64)
    try:
        ours, theirs, opt_ours, opt_theirs = mlp.both(name, kw)
        mlp.assert_same_trajectory(
            mlp.train(stirpile, opt_ours, ours), mlp.train(torch, opt_theirs, theirs)
        )
        mlp.assert_same_state_dict(opt_ours.state_dict(), opt_theirs.state_dict())
        key = "mu_product" if name == "NAdam" else "eta"
        assert opt_ours.state[ours[0]][key].dtype == np.float64
    finally:
        stirpile.set_default_dtype(old_st)
        torch.set_default_dtype(old_torch)
    ours = mlp.params(stirpile)
    opt = getattr(optim, name)(ours, **kw)
    mlp.train(stirpile, opt, ours, steps=2)
    assert opt.state[ours[0]][key].dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
def test_flat_and_per_parameter_steps_agree_bit_for_bit(name, monkeypatch, mlp):
    kw = STATE_CASES[name]
    results = []
    for max_numel in (0, 1 << 16):
        monkeypatch.setattr(flat, "MAX_NUMEL", max_numel)
        params = mlp.params(stirpile)
        opt = getattr(optim, name)(params, **kw)
        traj = mlp.train(stirpile, opt, params, steps=12)
        assert bool(opt._flat) == bool(max_numel)
        results.append((traj, opt.state_dict()))
    (traj_a, sd_a), (traj_b, sd_b) = results
    for a, b in zip(traj_a, traj_b):
        for pa, pb in zip(a, b):
            np.testing.assert_array_equal(pa, pb)
    for i, state in sd_a["state"].items():
        for key, value in state.items():
            other = sd_b["state"][i][key]
            if isinstance(value, stirpile.Tensor):
                np.testing.assert_array_equal(value.numpy(), other.numpy())
            else:
                assert value == other and type(value) is type(other)
