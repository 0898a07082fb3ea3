"""Fixtures for the nn tests: copying a stirpile module's state into its PyTorch twin and
comparing the two on the same input, values and gradients alike (inputs, parameters);
comparing a loss (a function or a module) with PyTorch's the same way.

Uses the root conftest's ``torch`` (skips cleanly without PyTorch) and ``close``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import stirpile

TOL = {"float64": {"rtol": 1e-10, "atol": 1e-10}, "float32": {"rtol": 1e-5, "atol": 1e-5}}


def _torch_state(torch, module):
    return {k: torch.from_numpy(np.array(v.numpy())) for k, v in module.state_dict().items()}


class ModuleCheck:
    """``check(ours, theirs, *arrays, dtype=...)``: same outputs and same gradients."""

    def __init__(self, torch, close):
        self.torch, self.close = torch, close

    def copy_state(self, ours, theirs):
        """Load ``ours``' state dict into the torch module (via ``torch.from_numpy``)."""
        theirs.load_state_dict(_torch_state(self.torch, ours))
        return theirs

    def __call__(
        self, ours, theirs, *arrays, dtype="float64", train=True, seed=1, grad_inputs=True
    ):
        torch = self.torch
        tol = TOL[dtype]
        ours.to(getattr(stirpile, dtype))
        self.copy_state(ours, theirs)
        theirs.to(getattr(torch, dtype))
        ours.train(train)
        theirs.train(train)
        xs, ts = [], []
        for a in arrays:
            a = np.asarray(a)
            floating = a.dtype.kind == "f"
            want = floating and grad_inputs
            d = getattr(stirpile, dtype) if floating else None
            xs.append(stirpile.tensor(a, dtype=d, requires_grad=want))
            ts.append(
                torch.tensor(
                    a, dtype=getattr(torch, dtype) if floating else None, requires_grad=want
                )
            )
        out, tout = ours(*xs), theirs(*ts)
        self.close(out, tout, **tol)
        if not tout.requires_grad:
            return out, tout
        g = np.random.default_rng(seed).standard_normal(tout.shape)
        out.backward(stirpile.tensor(g, dtype=out.dtype))
        tout.backward(torch.tensor(g, dtype=tout.dtype))
        for x, t in zip(xs, ts):
            if t.requires_grad:
                self.close(x.grad, t.grad, **tol)
        ours_p = dict(ours.named_parameters())
        theirs_p = dict(theirs.named_parameters())
        assert list(ours_p) == list(theirs_p)
        for name, p in theirs_p.items():
            if p.grad is None:
                assert ours_p[name].grad is None or not ours_p[name].grad.numpy().any()
            else:
                self.close(ours_p[name].grad, p.grad, **tol)
        for name, b in theirs.named_buffers():
            self.close(dict(ours.named_buffers())[name], b, **tol)
        return out, tout


@pytest.fixture
def check_module(torch, close):
    return ModuleCheck(torch, close)


class LossCheck:
    """``check(fn_ours, fn_torch, arrays, dtype=...)``: the same loss and the same
    gradients; ``check.functional(name, arrays, ..., **kw)`` for ``F.<name>``."""

    def __init__(self, torch, close):
        self.torch, self.close = torch, close

    def __call__(
        self, fn_ours, fn_torch, arrays, dtype="float64", grad=None, consts=(), kwconsts=None
    ):
        """``fn(*arrays, *consts, **kwconsts)`` in both frameworks (``fn``: a function or a
        loss module): same value, and the same gradient for each of the float ``arrays``
        whose ``grad`` flag is on (default: all). ``consts`` and ``kwconsts`` (index
        targets, weights) are given as tensors without gradient, floating ones in
        ``dtype``, integer ones as they are; a ``None`` among ``consts`` stays ``None``.
        Returns both outputs."""
        torch, tol = self.torch, TOL[dtype]
        grad = [True] * len(arrays) if grad is None else grad
        xs = [
            stirpile.tensor(a, dtype=getattr(stirpile, dtype), requires_grad=g)
            for a, g in zip(arrays, grad)
        ]
        ts = [
            torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=g)
            for a, g in zip(arrays, grad)
        ]

        def const(lib, c):
            if c is None:
                return None
            c = np.asarray(c)
            return lib.tensor(c, dtype=getattr(lib, dtype) if c.dtype.kind == "f" else None)

        cs, ct = [const(stirpile, c) for c in consts], [const(torch, c) for c in consts]
        ks = {k: const(stirpile, c) for k, c in (kwconsts or {}).items()}
        kt = {k: const(torch, c) for k, c in (kwconsts or {}).items()}
        out, tout = fn_ours(*xs, *cs, **ks), fn_torch(*ts, *ct, **kt)
        self.close(out, tout, **tol)
        if not tout.requires_grad:
            assert not out.requires_grad
            return out, tout
        g = np.random.default_rng(5).standard_normal(tout.shape)
        out.backward(stirpile.tensor(g, dtype=out.dtype))
        tout.backward(torch.tensor(g, dtype=tout.dtype))
        for x, t in zip(xs, ts):
            if t.requires_grad:
                self.close(x.grad, t.grad, **tol)
        return out, tout

    def functional(self, name, arrays, dtype="float64", grad=None, consts=(), kwconsts=None, **kw):
        """The check for ``F.<name>(*arrays, *consts, **kwconsts, **kw)`` against
        ``torch.nn.functional.<name>`` called the same way (their UserWarnings, such as
        kl_div's about "mean" or the legacy arguments', silenced)."""
        ours = getattr(stirpile.nn.functional, name)
        theirs = getattr(self.torch.nn.functional, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self(
                lambda *a, **k: ours(*a, **k, **kw),
                lambda *a, **k: theirs(*a, **k, **kw),
                arrays,
                dtype,
                grad,
                consts,
                kwconsts,
            )


@pytest.fixture
def check_loss(torch, close):
    return LossCheck(torch, close)


@pytest.fixture
def torch_state(torch):
    """``torch_state(stirpile_module)``: its state dict as torch tensors."""
    return lambda module: _torch_state(torch, module)


def gradcheck(fn, *arrays, gradgrad=False, atol=1e-6, rtol=1e-4):
    """float64 finite-difference checks of ``fn(*tensors)`` (and of its gradient)."""
    xs = [stirpile.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert stirpile.autograd.gradcheck(fn, xs, atol=atol, rtol=rtol)
    if gradgrad:
        assert stirpile.autograd.gradgradcheck(fn, xs, atol=atol, rtol=rtol)


@pytest.fixture
def grad_check():
    return gradcheck
