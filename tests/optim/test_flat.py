"""Flat parameter groups (optim.flat): the one-call step gives exactly the numbers of the
per-parameter step, and gives way whenever the user changed something between steps."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import stirpile
from stirpile import optim
from stirpile.optim import flat

OPTIMIZERS = [
    (optim.SGD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "maximize": True}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    (optim.AdamW, {"lr": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01}),
]


def _params(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(5, 3), (5,), (2, 5), (2,)]
    return [stirpile.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def _grads(step, params, skip=()):
    rng = np.random.default_rng(100 + step)
    for i, p in enumerate(params):
        p.grad = None if i in skip else stirpile.tensor(rng.standard_normal(p.shape))


def _run(cls, kwargs, monkeypatch, flat_on, steps=6, skip_at=None, between=None):
    monkeypatch.setattr(flat, "MAX_NUMEL", 1 << 16 if flat_on else 0)
    params = _params()
    opt = cls(params, **kwargs)
    for t in range(steps):
        _grads(t, params, skip=(1,) if t == skip_at else ())
        opt.step()
        if between:
            between(t, params, opt)
    return params, opt


@pytest.mark.parametrize(("cls", "kwargs"), OPTIMIZERS)
def test_flat_step_gives_the_per_parameter_numbers_bit_for_bit(cls, kwargs, monkeypatch):
    ref, ref_opt = _run(cls, kwargs, monkeypatch, flat_on=False)
    got, opt = _run(cls, kwargs, monkeypatch, flat_on=True)
    assert opt._flat and not ref_opt._flat
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # the state dict is the same too (per-parameter views of the flat buffers)
    sa, sb = ref_opt.state_dict()["state"], opt.state_dict()["state"]
    for k in sa:
        for key, value in sa[k].items():
            if isinstance(value, stirpile.Tensor):
                np.testing.assert_array_equal(value.numpy(), sb[k][key].numpy())
            else:
                assert value == sb[k][key]


def test_parameters_and_state_become_views_of_one_buffer(monkeypatch):
    params, opt = _run(optim.SGD, {"lr": 0.1, "momentum": 0.9}, monkeypatch, flat_on=True)
    (group,) = opt._flat.values()
    for p in params:
        assert np.shares_memory(p.detach().numpy(), group.param)
        assert np.shares_memory(opt.state[p]["momentum_buffer"].numpy(), group.state[
            "momentum_buffer"].numpy())  # fmt: skip


@pytest.mark.parametrize(("cls", "kwargs"), [OPTIMIZERS[1], OPTIMIZERS[3]])
def test_a_parameter_without_gradient_takes_the_per_parameter_path(cls, kwargs, monkeypatch):
    # step 2 skips parameter 1: Adam's step counts then differ between parameters, so
    # later steps must not share one count
    ref, _ = _run(cls, kwargs, monkeypatch, flat_on=False, skip_at=2)
    got, _ = _run(cls, kwargs, monkeypatch, flat_on=True, skip_at=2)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def _replace_data_and_buffer(t, params, opt):
    if t == 2:
        params[0].data = stirpile.ones(params[0].shape)  # a new array, not a view
    if t == 3:
        opt.state[params[2]]["momentum_buffer"] = stirpile.zeros(params[2].shape)


def test_replaced_data_and_state_are_honoured(monkeypatch):
    kwargs = {"lr": 0.1, "momentum": 0.9}
    ref, _ = _run(optim.SGD, kwargs, monkeypatch, False, between=_replace_data_and_buffer)
    got, _ = _run(optim.SGD, kwargs, monkeypatch, True, between=_replace_data_and_buffer)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def _reload_at_step_4(t, params, opt):
    if t == 1:
        opt.saved_for_test = copy.deepcopy(opt.state_dict())
    if t == 4:  # back to the state after step 1 (the parameters keep their values)
        opt.load_state_dict(opt.saved_for_test)
        assert not opt._flat


def test_load_state_dict_midway_continues_exactly(monkeypatch):
    kwargs = {"lr": 0.01, "amsgrad": True}
    ref, _ = _run(optim.Adam, kwargs, monkeypatch, False, steps=8, between=_reload_at_step_4)
    got, _ = _run(optim.Adam, kwargs, monkeypatch, True, steps=8, between=_reload_at_step_4)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_large_or_mixed_groups_stay_per_parameter(monkeypatch):
    monkeypatch.setattr(flat, "MAX_NUMEL", 10)
    params = _params()
    opt = optim.SGD(params, lr=0.1)
    _grads(0, params)
    opt.step()
    assert not opt._flat
    monkeypatch.setattr(flat, "MAX_NUMEL", 1 << 16)
    mixed = [stirpile.zeros(3, requires_grad=True),
             stirpile.zeros(3, dtype=stirpile.float64, requires_grad=True)]  # fmt: skip
    opt = optim.SGD(mixed, lr=0.1)
    _grads(0, mixed)
    mixed[0].grad = stirpile.ones(3)
    opt.step()
    assert not opt._flat
    np.testing.assert_array_equal(mixed[0].detach().numpy(), np.full(3, -0.1, np.float32))


def test_checkpoint_of_flat_groups_resumes_bit_for_bit(tmp_path):
    """Parameters and state are views of flat buffers: they save and load like any
    tensor, and a resumed run continues exactly."""
    from stirpile import nn

    def build():
        stirpile.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
        return model, optim.Adam(model.parameters(), lr=0.01)

    x, y = stirpile.randn(8, 6), stirpile.randint(0, 3, (8,))

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            stirpile.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

    model, opt = build()
    train(model, opt, 6)
    assert opt._flat  # the path under test
    reference = [p.detach().numpy().copy() for p in model.parameters()]

    model, opt = build()
    train(model, opt, 3)
    stirpile.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "ck")
    model, opt = build()
    ck = stirpile.load(tmp_path / "ck")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["opt"])
    train(model, opt, 3)
    for want, p in zip(reference, model.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), want)
