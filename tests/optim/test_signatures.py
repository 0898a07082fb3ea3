"""Every optimizer's constructor against PyTorch's: the signature, the defaults (so that
state dicts have PyTorch's ``param_groups`` keys), the validation of hyperparameters;
``maximize`` step for step; and a ``torch.optim`` state dict (PyTorch tensors, or NumPy
arrays) loaded into stirpile's optimizer, which then continues as PyTorch's does. The
model and the comparisons are the ``mlp`` fixture's (tests/optim/conftest.py).
"""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest

import stirpile
from stirpile import optim

torch = pytest.importorskip("torch")

OLDER = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]
NEWER = ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]
# -- the constructor ----------------------------------------------------------------------


@pytest.mark.parametrize("name", OLDER + NEWER)
def test_signature_equals_torchs(name):
    def parameters(cls):
        sig = inspect.signature(cls.__init__)
        return [(p.name, p.kind, p.default) for p in sig.parameters.values()]

    assert parameters(getattr(optim, name)) == parameters(getattr(torch.optim, name))
    assert name in optim.__all__


@pytest.mark.parametrize("name", OLDER + NEWER)
def test_defaults_and_state_dict_keys_equal_torchs(name, mlp):
    _, _, ours, theirs = mlp.both(name, {})
    assert ours.defaults == theirs.defaults
    assert list(ours.defaults) == list(theirs.defaults)  # the same order, as repr shows
    assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"]


FLAGS = {
    "SGD": {"foreach": True, "differentiable": True},
    "Adam": {"foreach": True, "capturable": True, "differentiable": True},
    "AdamW": {"fused": True, "capturable": True},
    "RMSprop": {"foreach": True, "capturable": True, "differentiable": True},
    "Adagrad": {"fused": True},
    **{n: {"foreach": True, "capturable": True, "differentiable": True} for n in NEWER},
}


@pytest.mark.parametrize("name", OLDER + NEWER)
def test_ignored_flags_are_recorded_and_change_nothing(name, mlp):
    flagged, plain = mlp.params(stirpile), mlp.params(stirpile)
    opt = getattr(optim, name)(flagged, lr=0.01, **FLAGS[name])
    for key, value in FLAGS[name].items():
        assert opt.defaults[key] == value == opt.state_dict()["param_groups"][0][key]
    ref = getattr(optim, name)(plain, lr=0.01)
    traj, expected = mlp.train(stirpile, opt, flagged, 3), mlp.train(stirpile, ref, plain, 3)
    for a, b in zip(traj, expected):
        for pa, pb in zip(a, b):
            np.testing.assert_array_equal(pa, pb)


NAN = float("nan")
INVALID = [
    *[(n, {"lr": NAN}) for n in OLDER],  # SGD alone accepts it (it tests lr < 0)
    *[(n, {"lr": -1e-3}) for n in OLDER],
    *[(n, {"weight_decay": -0.1}) for n in OLDER],
    *[(n, {"weight_decay": NAN}) for n in OLDER],
    ("SGD", {"momentum": -0.5}),
    ("SGD", {"momentum": NAN}),
    ("SGD", {"nesterov": True}),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("SGD", {"fused": True, "foreach": True}),
    ("SGD", {"fused": True, "differentiable": True}),
    *[(n, {"eps": NAN}) for n in ["Adam", "AdamW", "RMSprop", "Adagrad"]],
    *[(n, {"eps": -1.0}) for n in ["Adam", "AdamW", "RMSprop", "Adagrad"]],
    *[(n, {"betas": b}) for n in ["Adam", "AdamW"] for b in [(1.0, 0.9), (0.9, NAN)]],
    ("Adam", {"betas": (-0.1, 0.999)}),
    ("Adam", {"betas": (0, 0.999)}),  # an int: "both floats or both Tensors"
    ("AdamW", {"betas": (0.9, 0)}),
    ("Adam", {"fused": True, "differentiable": True}),
    ("AdamW", {"fused": True, "foreach": True}),
    ("RMSprop", {"momentum": -0.1}),
    ("RMSprop", {"alpha": -0.5}),
    ("RMSprop", {"alpha": NAN}),
    ("Adagrad", {"lr_decay": -0.1}),
    ("Adagrad", {"lr_decay": NAN}),
    ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adagrad", {"fused": True, "foreach": True}),
    ("Adagrad", {"fused": True, "differentiable": True}),
    ("Adadelta", {"rho": 1.5}),
    ("Adadelta", {"rho": -0.1}),
    *[(n, {"eps": -1.0}) for n in ["Adadelta", "Adamax", "NAdam", "RAdam"]],
    *[(n, {"weight_decay": -1}) for n in ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD"]],
    ("Adamax", {"betas": (1.0, 0.999)}),
    ("Adamax", {"betas": (0.9, -0.1)}),
    ("NAdam", {"betas": (-0.5, 0.999)}),
    ("NAdam", {"betas": (0.9, 1.0)}),
    ("NAdam", {"momentum_decay": -0.004}),
    ("RAdam", {"betas": (1.5, 0.999)}),
    ("RAdam", {"betas": (0.9, 1.0)}),
    ("Rprop", {"etas": (1.0, 1.2)}),
    ("Rprop", {"etas": (0.5, 1.0)}),
    ("Rprop", {"etas": (0.0, 1.2)}),
]


@pytest.mark.parametrize("case", INVALID)  # ids: see conftest.py
def test_invalid_hyperparameters_raise_as_in_torch(case, mlp):
    name, kw = case
    try:
        getattr(torch.optim, name)(mlp.params(torch), **kw)
    except (ValueError, RuntimeError) as e:
        expected = e
    else:
        expected = None
    if expected is None:
        getattr(optim, name)(mlp.params(stirpile), **kw)  # accepted by both
        assert name == "SGD"
        return
    with pytest.raises(type(expected)) as ours:
        getattr(optim, name)(mlp.params(stirpile), **kw)
    assert str(ours.value) == str(expected)


def test_nan_and_negative_lr_raise(mlp):
    for name in OLDER + NEWER:
        with pytest.raises(ValueError, match=r"Invalid learning rate: -0\.5"):
            getattr(optim, name)(mlp.params(stirpile), lr=-0.5)
        if name != "SGD":
            with pytest.raises(ValueError, match="Invalid learning rate: nan"):
                getattr(optim, name)(mlp.params(stirpile), lr=NAN)


def test_one_element_tensor_betas_are_used_as_floats(mlp):
    ps = mlp.params(stirpile)
    betas = (
        stirpile.tensor(0.8, dtype=stirpile.float64),
        stirpile.tensor([0.99], dtype=stirpile.float64),
    )
    opt = optim.Adam(ps, lr=0.01, betas=betas)
    assert opt.defaults["betas"] == (0.8, 0.99)
    ref_ps = mlp.params(stirpile)
    ref = optim.Adam(ref_ps, lr=0.01, betas=(0.8, 0.99))
    mlp.assert_same_trajectory(mlp.train(stirpile, opt, ps, 3), mlp.train(stirpile, ref, ref_ps, 3))
    with pytest.raises(ValueError, match="both floats or both Tensors"):
        optim.Adam(mlp.params(stirpile), betas=(stirpile.tensor(0.9), 0.999))
    with pytest.raises(ValueError, match="not supported for capturable=False and foreach=True"):
        optim.Adam(mlp.params(stirpile), betas=betas, foreach=True)


# -- maximize ----------------------------------------------------------------------------

MAXIMIZE = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.2}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.005}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    ("Adagrad", {"lr": 0.05}),
    ("Adagrad", {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.01,
                 "initial_accumulator_value": 0.1}),
]  # fmt: skip


@pytest.mark.parametrize("case", MAXIMIZE)  # ids: see conftest.py
def test_maximize_matches_torch(case, mlp):
    name, kw = case
    ours, theirs, opt_ours, opt_theirs = mlp.both(name, {"maximize": True, **kw})
    mlp.assert_same_trajectory(
        mlp.train(stirpile, opt_ours, ours, 10), mlp.train(torch, opt_theirs, theirs, 10)
    )
    start = mlp.loss(stirpile, mlp.params(stirpile)).item()
    assert mlp.loss(stirpile, ours).item() < start  # it ascended −L
    mlp.assert_same_state_dict(opt_ours.state_dict(), opt_theirs.state_dict())


# -- a torch.optim state dict, loaded ----------------------------------------------------

RESUME = {
    "SGD": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    "Adam": {"lr": 0.01, "amsgrad": True},
    "AdamW": {"lr": 0.01, "weight_decay": 0.1},
    "RMSprop": {"lr": 0.005, "momentum": 0.5, "centered": True},
    "Adagrad": {"lr": 0.05, "lr_decay": 0.01},
    "Adadelta": {"weight_decay": 0.01},
    "Adamax": {"lr": 0.02},
    "NAdam": {"lr": 0.02},
    "RAdam": {"lr": 0.02},
    "ASGD": {"lr": 0.05, "t0": 4},
    "Rprop": {"lr": 0.02},
}


def _numpy(state_dict):
    state = {
        i: {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
        for i, s in state_dict["state"].items()
    }
    return {"state": state, "param_groups": copy.deepcopy(state_dict["param_groups"])}


@pytest.mark.parametrize("as_numpy", [False, True], ids=["torch-tensors", "numpy-arrays"])
@pytest.mark.parametrize("name", OLDER + NEWER)
def test_torch_state_dict_loads_and_continues_identically(name, as_numpy, mlp):
    kw = RESUME[name]
    theirs = mlp.params(torch)
    opt_theirs = getattr(torch.optim, name)(theirs, **kw)
    mlp.train(torch, opt_theirs, theirs, 6)
    saved = copy.deepcopy(opt_theirs.state_dict())
    now = [p.detach().numpy().copy() for p in theirs]

    ours, resumed = mlp.params(stirpile, now), mlp.params(torch, now)
    opt_ours = getattr(optim, name)(ours, lr=0.5)  # the hyperparameters come from the dict
    opt_ours.load_state_dict(mlp.as_numpy(saved) if as_numpy else saved)
    opt_resumed = getattr(torch.optim, name)(resumed, lr=0.5)
    opt_resumed.load_state_dict(saved)
    assert opt_ours.param_groups[0]["lr"] == kw.get("lr", 1.0)
    for state in opt_ours.state.values():
        for value in state.values():  # converted: no PyTorch tensor is kept
            assert not isinstance(value, (torch.Tensor, np.ndarray))
    mlp.assert_same_state_dict(opt_ours.state_dict(), opt_resumed.state_dict())
    mlp.assert_same_trajectory(
        mlp.train(stirpile, opt_ours, ours, 8), mlp.train(torch, opt_resumed, resumed, 8)
    )
    mlp.assert_same_state_dict(opt_ours.state_dict(), opt_resumed.state_dict())
    if not mlp.SCALAR_KEYS.intersection(saved["state"][0]):
        # no float32 scalar state (PyTorch casts a loaded one to float64), so this is also
        # the run that was never interrupted
        mlp.assert_same_trajectory(
            [[p.detach().numpy() for p in ours]], mlp.train(torch, opt_theirs, theirs, 8)[-1:]
        )


def test_loaded_torch_tensors_take_the_parameters_dtype():
    w = stirpile.zeros(3, requires_grad=True)  # float32
    opt = optim.Adam([w])
    saved = {
        "state": {0: {"step": torch.tensor(2.0), "exp_avg": torch.ones(3, dtype=torch.float64),
                      "exp_avg_sq": torch.ones(3, dtype=torch.float64)}},
        "param_groups": copy.deepcopy(opt.state_dict()["param_groups"]),
    }  # fmt: skip
    opt.load_state_dict(saved)
    state = opt.state[w]
    assert state["step"] == 2 and isinstance(state["step"], int)
    assert state["exp_avg"].dtype == stirpile.float32
    assert isinstance(state["exp_avg"], stirpile.Tensor)
    saved["state"][0]["exp_avg"] += 1  # a copy was loaded
    assert state["exp_avg"].tolist() == [1.0, 1.0, 1.0]
