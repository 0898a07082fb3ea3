"""Learning-rate schedulers against PyTorch's, side by side, step by step.

Each case builds the same scheduler on a stirpile optimizer and on a torch
optimizer (two parameter groups with different learning rates) and steps both
50 times. The learning rates (and momenta, where cycled) must agree exactly:
both sides do the same Python float arithmetic.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import stirpile
from stirpile import optim
from stirpile.optim import lr_scheduler as S

try:
    import torch
except ImportError:  # the comparisons skip; the self-contained tests still run
    torch = None
TS = torch.optim.lr_scheduler if torch is not None else None
needs_torch = pytest.mark.skipif(torch is None, reason="torch (the reference) is not installed")

STEPS = 50


def make_optimizers(kind="SGD", lrs=(0.1, 0.03), **kw):
    """The same two-group optimizer in stirpile and (if installed) in torch."""

    def build(lib):
        params = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
        groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
        return getattr(lib.optim, kind)(groups, **kw)

    return build(stirpile), build(torch) if torch is not None else None


def snapshot(opt, sched):
    """What a training loop can observe: the groups' lr, momentum/betas, get_last_lr()."""
    return (
        [g["lr"] for g in opt.param_groups],
        [g.get("momentum") for g in opt.param_groups],
        [tuple(g["betas"]) if "betas" in g else None for g in opt.param_groups],
        list(sched.get_last_lr()),
    )


def run(opt, sched, steps=STEPS, metrics=None):
    seen = [snapshot(opt, sched)]
    for i in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        seen.append(snapshot(opt, sched))
    return seen


def lam(epoch):
    return 1.0 / (1.0 + 0.3 * epoch)


def lam2(epoch):
    return 0.97**epoch


# name -> (optimizer kind and kwargs, builder taking (lr_scheduler module, optimizer))
CASES = {
    "StepLR": ("SGD", {}, lambda M, o: M.StepLR(o, step_size=7, gamma=0.5)),
    "MultiStepLR": ("SGD", {}, lambda M, o: M.MultiStepLR(o, [5, 12, 12, 30], gamma=0.3)),
    "ExponentialLR": ("SGD", {}, lambda M, o: M.ExponentialLR(o, gamma=0.93)),
    "CosineAnnealingLR": ("SGD", {}, lambda M, o: M.CosineAnnealingLR(o, T_max=50)),
    "CosineAnnealingLR-past-T_max": (
        "SGD", {}, lambda M, o: M.CosineAnnealingLR(o, T_max=15, eta_min=0.001)
    ),
    "LambdaLR": ("SGD", {}, lambda M, o: M.LambdaLR(o, lam)),
    "LambdaLR-per-group": ("SGD", {}, lambda M, o: M.LambdaLR(o, [lam, lam2])),
    "MultiplicativeLR": ("SGD", {}, lambda M, o: M.MultiplicativeLR(o, lam2)),
    "LinearLR-warmup": ("SGD", {}, lambda M, o: M.LinearLR(o, start_factor=0.25, total_iters=10)),
    "LinearLR-decay": (
        "SGD", {}, lambda M, o: M.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=30)
    ),
    "ConstantLR": ("SGD", {}, lambda M, o: M.ConstantLR(o, factor=0.5, total_iters=8)),
    "PolynomialLR": ("SGD", {}, lambda M, o: M.PolynomialLR(o, total_iters=30, power=2.0)),
    "SequentialLR-warmup-cosine": (
        "SGD", {}, lambda M, o: M.SequentialLR(
            o, [M.LinearLR(o, start_factor=0.1, total_iters=5), M.CosineAnnealingLR(o, T_max=45)],
            milestones=[5],
        ),
    ),
    "SequentialLR-three": (
        "SGD", {}, lambda M, o: M.SequentialLR(
            o,
            [M.ConstantLR(o, factor=0.2, total_iters=4), M.ExponentialLR(o, gamma=0.9),
             M.StepLR(o, step_size=6, gamma=0.5)],
            milestones=[10, 25],
        ),
    ),
    "ChainedScheduler": (
        "SGD", {}, lambda M, o: M.ChainedScheduler(
            [M.ConstantLR(o, factor=0.1, total_iters=20), M.ExponentialLR(o, gamma=0.9)]
        ),
    ),
    "OneCycleLR-cos-momentum": (
        "SGD", {"momentum": 0.9}, lambda M, o: M.OneCycleLR(o, max_lr=1.0, total_steps=STEPS)
    ),
    "OneCycleLR-linear": (
        "SGD", {"momentum": 0.9},
        lambda M, o: M.OneCycleLR(
            o, max_lr=[1.0, 0.5], total_steps=STEPS, anneal_strategy="linear"
        ),
    ),
    "OneCycleLR-three-phase": (
        "SGD", {"momentum": 0.9},
        lambda M, o: M.OneCycleLR(
            o, max_lr=0.8, epochs=5, steps_per_epoch=10, three_phase=True, pct_start=0.25,
            div_factor=10.0, final_div_factor=100.0, base_momentum=[0.8, 0.7], max_momentum=0.99,
        ),
    ),
    "OneCycleLR-three-phase-linear": (
        "SGD", {"momentum": 0.9},
        lambda M, o: M.OneCycleLR(
            o, max_lr=0.8, total_steps=STEPS, three_phase=True, anneal_strategy="linear"
        ),
    ),
    "OneCycleLR-no-momentum-cycle": (
        "SGD", {}, lambda M, o: M.OneCycleLR(o, max_lr=0.5, total_steps=60, cycle_momentum=False)
    ),
    "OneCycleLR-adam-betas": (
        "Adam", {}, lambda M, o: M.OneCycleLR(o, max_lr=0.01, total_steps=STEPS, pct_start=0.4)
    ),
    "OneCycleLR-rmsprop": (
        "RMSprop", {}, lambda M, o: M.OneCycleLR(o, max_lr=0.01, total_steps=STEPS)
    ),
}  # fmt: skip


@needs_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_schedule_matches_torch(name):
    kind, kw, build = CASES[name]
    opt_ours, opt_theirs = make_optimizers(kind, **kw)
    ours = run(opt_ours, build(S, opt_ours))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about stepping without gradients
        theirs = run(opt_theirs, build(TS, opt_theirs))
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"step {step}: {a} != {b}"
    assert [g["initial_lr"] for g in opt_ours.param_groups] == [
        g["initial_lr"] for g in opt_theirs.param_groups
    ]


@needs_torch
def test_two_chained_schedulers_compose_like_torch():
    opt_ours, opt_theirs = make_optimizers()
    got = []
    for M, opt in ((S, opt_ours), (TS, opt_theirs)):
        a, b = M.StepLR(opt, step_size=5, gamma=0.5), M.ExponentialLR(opt, gamma=0.95)
        lrs = []
        for _ in range(30):
            opt.step()
            a.step()
            b.step()
            lrs.append([g["lr"] for g in opt.param_groups])
        got.append(lrs)
    assert got[0] == got[1]


@needs_torch
def test_step_with_epoch_uses_closed_form_like_torch():
    opt_ours, opt_theirs = make_optimizers()
    results = []
    for M, opt in ((S, opt_ours), (TS, opt_theirs)):
        sched = M.CosineAnnealingLR(opt, T_max=20)
        out = []
        for epoch in (3, 7, 15, 4):
            opt.step()
            with pytest.warns(UserWarning, match="epoch parameter"):
                sched.step(epoch)
            out.append(sched.get_last_lr())
        results.append(out)
    assert results[0] == results[1]


def test_onecycle_too_many_steps_raises():
    opt, _ = make_optimizers(momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=0.1, total_steps=5)
    for _ in range(5):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 6 times"):
        sched.step()


def test_onecycle_argument_errors():
    opt, _ = make_optimizers()
    with pytest.raises(ValueError, match="total_steps OR"):
        S.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="pct_start"):
        S.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        S.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    adagrad = optim.Adagrad([stirpile.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or beta1"):
        S.OneCycleLR(adagrad, max_lr=0.1, total_steps=10)


PLATEAU_CASES = [
    dict(),
    dict(mode="max", factor=0.5, patience=2),
    dict(factor=0.5, patience=1, threshold=0.1, threshold_mode="abs", cooldown=2),
    dict(mode="max", factor=0.3, patience=0, threshold_mode="abs", min_lr=[0.01, 0.001]),
    dict(factor=0.1, patience=0, min_lr=0.02, eps=1e-3),
]


@needs_torch
@pytest.mark.parametrize("kw", PLATEAU_CASES, ids=[str(i) for i in range(len(PLATEAU_CASES))])
def test_reduce_on_plateau_matches_torch(kw):
    rng = np.random.default_rng(7)
    # a noisy loss that improves, stalls, improves a little, then stalls for good
    metrics = np.concatenate([np.linspace(1, 0.5, 10), np.full(10, 0.5), np.linspace(0.5, 0.45, 10),
                              np.full(20, 0.45)]) + rng.uniform(0, 0.02, 50)  # fmt: skip
    metrics = [float(m) for m in metrics]
    metrics[40] = stirpile.tensor(metrics[40])  # a 0-d tensor works too
    opt_ours, opt_theirs = make_optimizers()
    ours = run(opt_ours, S.ReduceLROnPlateau(opt_ours, **kw), metrics=metrics)
    metrics[40] = torch.tensor(float(metrics[40]))
    theirs = run(opt_theirs, TS.ReduceLROnPlateau(opt_theirs, **kw), metrics=metrics)
    assert ours == theirs
    assert ours[-1][0] != ours[0][0]  # it did reduce


def test_reduce_on_plateau_validation():
    opt, _ = make_optimizers()
    with pytest.raises(ValueError, match="Factor"):
        S.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        S.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="min_lrs"):
        S.ReduceLROnPlateau(opt, min_lr=[0.1])


ROUND_TRIP = [
    "StepLR", "MultiStepLR", "CosineAnnealingLR-past-T_max", "LambdaLR", "LinearLR-warmup",
    "SequentialLR-warmup-cosine", "ChainedScheduler", "OneCycleLR-three-phase",
    "OneCycleLR-adam-betas",
]  # fmt: skip


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_state_dict_round_trip_resumes(name, tmp_path):
    """Stop after 20 steps, save optimizer + scheduler with stirpile.save, rebuild both,
    load, and continue: the same 30 remaining learning rates as an uninterrupted run."""
    pytest.importorskip("safetensors")
    kind, kw, build = CASES[name]
    opt, _ = make_optimizers(kind, **kw)
    reference = run(opt, build(S, opt))

    opt, _ = make_optimizers(kind, **kw)
    sched = build(S, opt)
    run(opt, sched, steps=20)
    path = tmp_path / "sched.safetensors"
    stirpile.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path)

    opt2, _ = make_optimizers(kind, **kw)
    sched2 = build(S, opt2)  # built first, then loaded (as PyTorch recommends)
    ckpt = stirpile.load(path)
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    if not name.startswith("Chained"):  # ChainedScheduler keeps no epoch of its own
        assert sched2.last_epoch == 20
    assert run(opt2, sched2, steps=STEPS - 20) == reference[20:]


def test_plateau_state_dict_round_trip(tmp_path):
    pytest.importorskip("safetensors")
    metrics = [1.0, 0.9, 0.9, 0.9, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8] * 2
    opt, _ = make_optimizers()
    reference = run(
        opt, S.ReduceLROnPlateau(opt, patience=1, cooldown=1), metrics=metrics, steps=20
    )
    opt, _ = make_optimizers()
    sched = S.ReduceLROnPlateau(opt, patience=1, cooldown=1)
    run(opt, sched, steps=7, metrics=metrics)
    stirpile.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "p.st")
    ckpt = stirpile.load(tmp_path / "p.st")
    opt2, _ = make_optimizers()
    sched2 = S.ReduceLROnPlateau(opt2)
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    assert sched2.best == sched.best and sched2.patience == 1
    assert run(opt2, sched2, steps=13, metrics=metrics[7:]) == reference[7:]


def test_lambda_state_dict_skips_functions_keeps_callable_objects():
    class Warmup:
        def __init__(self):
            self.warm = 5

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.warm)

    opt, _ = make_optimizers()
    sched = S.LambdaLR(opt, [lam, Warmup()])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"warm": 5}]
    assert "optimizer" not in state
    state["lr_lambdas"][1]["warm"] = 10
    sched.load_state_dict(state)
    assert sched.lr_lambdas[1].warm == 10 and sched.lr_lambdas[0] is lam


def test_resume_with_last_epoch_needs_initial_lr():
    opt, _ = make_optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(opt, step_size=3, last_epoch=4)
