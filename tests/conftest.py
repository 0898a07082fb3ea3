"""Shared helpers for the core tests, handed out as fixtures.

Op tests are table-driven: a case is a function ``fn(L, *xs)`` written once
against the common API of ``L = stirpile`` and ``L = torch``, plus the shapes
(and value domain) of its differentiable inputs. ``opcheck`` runs the two
checks every op gets: a float64 ``gradcheck`` against finite differences, and
value-and-gradient equality with PyTorch (skipped when torch is absent).
Helpers are fixtures, not imports, so that this file can share its name with
other ``conftest.py`` files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import stirpile

# Value domains: keep inputs where an op is smooth (finite differences need it).
DOMAINS = {
    "any": lambda rng, s: rng.standard_normal(s),
    "pos": lambda rng, s: rng.uniform(0.5, 2.0, s),
    "away0": lambda rng, s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.2, 2.0, s),
}
TOL = {"float64": {"rtol": 1e-10, "atol": 1e-10}, "float32": {"rtol": 1e-5, "atol": 1e-5}}


def _tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


class OpCheck:
    """The checks every differentiable op goes through."""

    @staticmethod
    def arrays(shapes, domain="any", seed=0):
        """float64 arrays of ``shapes``; ``domain`` is one name or one per input."""
        rng = np.random.default_rng(seed)
        domains = (domain,) * len(shapes) if isinstance(domain, str) else domain
        return [np.asarray(DOMAINS[d](rng, s), dtype=np.float64) for s, d in zip(shapes, domains)]

    @staticmethod
    def gradcheck(fn, arrays, gradgrad=False):
        xs = [stirpile.tensor(a, dtype=stirpile.float64, requires_grad=True) for a in arrays]

        def f(*ts):
            return fn(stirpile, *ts)

        assert stirpile.autograd.gradcheck(f, xs, atol=1e-6, rtol=1e-4)
        if gradgrad:
            assert stirpile.autograd.gradgradcheck(f, xs, atol=1e-6, rtol=1e-4)

    @staticmethod
    def vs_torch(torch, fn, arrays, dtype, torch_fn=None, second_order=False):
        """Same values, dtypes and gradients (``.grad`` after ``backward``) as PyTorch;
        with ``second_order``, the same gradient of ``Σ v · grad`` too."""
        tol = TOL[dtype]
        xs = [
            stirpile.tensor(a, dtype=getattr(stirpile, dtype), requires_grad=True) for a in arrays
        ]
        ts = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
        outs = _tuple(fn(stirpile, *xs))
        touts = _tuple((torch_fn or fn)(torch, *ts))
        assert len(outs) == len(touts)
        for o, t in zip(outs, touts):
            assert_close(o, t, **tol)
        plain = [stirpile.tensor(a, dtype=getattr(stirpile, dtype)) for a in arrays]
        for o, t in zip(_tuple(fn(stirpile, *plain)), touts):  # nothing recorded: same values
            assert not o.requires_grad and o.grad_fn is None
            assert_close(o, t, **tol)
        rng = np.random.default_rng(1)
        pairs = [
            (o, t, rng.standard_normal(t.shape)) for o, t in zip(outs, touts) if t.requires_grad
        ]
        assert [o.requires_grad for o in outs] == [t.requires_grad for t in touts]
        if not pairs:
            return
        stirpile.autograd.backward(
            [o for o, _, _ in pairs], [stirpile.tensor(g, dtype=o.dtype) for o, _, g in pairs]
        )
        torch.autograd.backward(
            [t for _, t, _ in pairs], [torch.tensor(g, dtype=t.dtype) for _, t, g in pairs]
        )
        for x, t in zip(xs, ts):
            if t.grad is None:
                assert x.grad is None or not x.grad.numpy().any()
            else:
                assert_close(x.grad, t.grad, **tol)
        if second_order:
            _second_order(torch, fn, torch_fn, arrays, dtype, tol)


def _second_order(torch, fn, torch_fn, arrays, dtype, tol):
    xs = [stirpile.tensor(a, dtype=getattr(stirpile, dtype), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    rng = np.random.default_rng(2)
    o, t = _tuple(fn(stirpile, *xs))[0], _tuple((torch_fn or fn)(torch, *ts))[0]
    u = rng.standard_normal(t.shape)
    gs = stirpile.autograd.grad(o, xs, stirpile.tensor(u, dtype=o.dtype), create_graph=True)
    gt = torch.autograd.grad(t, ts, torch.tensor(u, dtype=t.dtype), create_graph=True)
    vs = [rng.standard_normal(g.shape) for g in gt]
    s = sum((g * stirpile.tensor(v, dtype=g.dtype)).sum() for g, v in zip(gs, vs))
    st = sum((g * torch.tensor(v, dtype=g.dtype)).sum() for g, v in zip(gt, vs))
    hs = stirpile.autograd.grad(s, xs, allow_unused=True)
    ht = torch.autograd.grad(st, ts, allow_unused=True)
    for h, k in zip(hs, ht):
        if k is None:
            assert h is None or not h.numpy().any()
        else:
            assert_close(h, k, **tol)


def assert_close(ours, theirs, rtol=1e-10, atol=1e-10):
    """Same shape, same dtype (by name), same values: a stirpile tensor vs a torch tensor
    (or an array / number)."""
    a = ours.detach().numpy() if isinstance(ours, stirpile.Tensor) else np.asarray(ours)
    if hasattr(theirs, "detach"):
        assert a.dtype.name == str(theirs.dtype).removeprefix("torch."), (a.dtype, theirs.dtype)
        theirs = theirs.detach().numpy()
    b = np.asarray(theirs)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.fixture(scope="session")
def opcheck():
    return OpCheck()


@pytest.fixture(scope="session")
def close():
    """``close(stirpile_tensor, torch_tensor_or_array, rtol=, atol=)``."""
    return assert_close


@pytest.fixture(scope="session")
def torch():
    """PyTorch, the test oracle; tests that use it skip cleanly when it is absent."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Tests may change grad mode or the default dtype; never leak it into the next."""
    dtype, enabled = stirpile.get_default_dtype(), stirpile.is_grad_enabled()
    yield
    stirpile.set_default_dtype(dtype)
    stirpile.set_grad_enabled(enabled)


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """BLAS and OpenMP on one thread for the whole run: on a loaded 2-core machine
    multithreaded OpenBLAS can be ~100x slower (its threads spin waiting for each other),
    and the arrays in tests are small anyway."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn (the "train" extra)
        yield
        return
    with threadpool_limits(limits=1):
        yield


# The offline MNIST copy of this workplace: beside the checkout (../shared), or inside it
# on some machines. Tests pass it explicitly (the library never looks there).
_REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = next(
    (d for d in (_REPO / ".." / "shared" / "data" / "mnist", _REPO / "shared" / "data" / "mnist")
     if d.is_dir()),
    _REPO / ".." / "shared" / "data" / "mnist",
)  # fmt: skip


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The offline MNIST folder, whether or not it is there."""
    return MNIST_DIR


@pytest.fixture(scope="session")
def offline_mnist(mnist_dir: Path) -> Path:
    """The offline MNIST folder; the test is skipped where its test set is missing."""
    if not (mnist_dir / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no offline MNIST at {mnist_dir}")
    return mnist_dir
