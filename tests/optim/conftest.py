"""Fixtures for the optimizer tests that train the same model in stirpile and in PyTorch.

``mlp``: a float64 MLP, ``tanh(x W1 + b1) W2 + b2`` with an MSE loss, whose weights
start from the same arrays in both frameworks, and the comparisons of the two runs:
parameters after every step to rtol 1e-10, and whole state dicts (scalar state such as
NAdam's ``mu_product`` exactly, since PyTorch's float32 rounding of it is reproduced).

Helpers are fixtures, not imports, as in the root ``conftest.py``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import stirpile

RTOL, ATOL = 1e-10, 1e-14


def pytest_make_parametrize_id(config, val, argname):
    """Test ids for the ``case`` parameters, ``(optimizer name, kwargs)`` pairs:
    ``Adam-lr=0.01,amsgrad=True``."""
    if argname == "case" and isinstance(val, tuple) and isinstance(val[-1], dict):
        name, kw = val
        return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())
    return None


class MLP:
    """The model, its training loop, and the checks that two runs agree."""

    SCALAR_KEYS = frozenset({"mu_product", "eta", "mu"})  # NAdam's and ASGD's scalar state

    def __init__(self, seed: int = 2024) -> None:
        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((16, 4))
        self.y = rng.standard_normal((16, 3))
        self.init = [
            rng.standard_normal((4, 8)) * 0.5,
            rng.standard_normal(8) * 0.1,
            rng.standard_normal((8, 3)) * 0.5,
            rng.standard_normal(3) * 0.1,
        ]

    def params(self, lib, init=None):
        """Fresh leaf tensors of ``lib`` (stirpile or torch), from ``init`` or the
        initial weights."""
        return [lib.tensor(a, requires_grad=True) for a in (self.init if init is None else init)]

    def loss(self, lib, params):
        w1, b1, w2, b2 = params
        out = lib.tanh(lib.tensor(self.x) @ w1 + b1) @ w2 + b2
        return ((out - lib.tensor(self.y)) ** 2).mean()

    def both(self, name, kw):
        """Fresh parameters and the optimizer ``name(**kw)`` over them, in each framework:
        ``(ours, theirs, opt_ours, opt_theirs)``."""
        import torch

        ours, theirs = self.params(stirpile), self.params(torch)
        opt_ours = getattr(stirpile.optim, name)(ours, **kw)
        opt_theirs = getattr(torch.optim, name)(theirs, **kw)
        return ours, theirs, opt_ours, opt_theirs

    def train(self, lib, opt, params, steps=30, scheduler=None):
        """Parameters after each step. With maximize, ascend −MSE (ascending the MSE
        would blow up, and with it the rounding differences)."""
        sign = -1.0 if opt.param_groups[0]["maximize"] else 1.0
        traj = []
        for _ in range(steps):
            opt.zero_grad()
            (self.loss(lib, params) * sign).backward()
            opt.step()
            if scheduler is not None:
                scheduler.step()
            traj.append([p.detach().numpy().copy() for p in params])
        return traj

    @staticmethod
    def assert_same_trajectory(ours, theirs):
        assert len(ours) == len(theirs)
        for step, (a, b) in enumerate(zip(ours, theirs)):
            for i, (pa, pb) in enumerate(zip(a, b)):
                np.testing.assert_allclose(
                    pa, pb, rtol=RTOL, atol=ATOL, err_msg=f"step {step}, param {i}"
                )

    @classmethod
    def assert_same_state_dict(cls, ours, theirs):
        """Two state dicts (stirpile's, PyTorch's) hold the same groups and state."""
        assert ours["param_groups"] == theirs["param_groups"]
        assert sorted(ours["state"]) == sorted(theirs["state"])
        for i, state in ours["state"].items():
            assert sorted(state) == sorted(theirs["state"][i])
            for key, value in state.items():
                expected = theirs["state"][i][key]
                if key == "step":
                    assert isinstance(value, int) and value == expected.item()
                elif key in cls.SCALAR_KEYS:  # PyTorch's rounding, reproduced exactly
                    assert isinstance(value, np.generic) and float(value) == expected.item(), key
                else:
                    np.testing.assert_allclose(
                        value.numpy(), expected.numpy(), rtol=RTOL, atol=ATOL, err_msg=key
                    )

    @staticmethod
    def as_numpy(state_dict):
        """A PyTorch state dict with its tensors as NumPy arrays (what stirpile loads)."""
        import torch

        state = {
            i: {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
            for i, s in state_dict["state"].items()
        }
        return {"state": state, "param_groups": copy.deepcopy(state_dict["param_groups"])}


@pytest.fixture
def mlp() -> MLP:
    """The shared model and checks (see the module docstring)."""
    return MLP()
