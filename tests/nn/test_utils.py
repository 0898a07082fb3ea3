"""nn.utils against PyTorch: gradient clipping (the norm returned and the gradients
after clipping) and flat parameter vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stirpile
from stirpile import nn

TOL = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-6, "atol": 1e-7}}


def _pairs(torch, dtype, scale=1.0):
    """Three parameters with gradients, the same in stirpile and torch (one without grad)."""
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 2)]
    ours, theirs = [], []
    for i, s in enumerate(shapes):
        p = stirpile.tensor(
            rng.standard_normal(s), dtype=getattr(stirpile, dtype), requires_grad=True
        )
        t = torch.tensor(p.detach().numpy(), requires_grad=True)
        if i < 2:
            g = rng.standard_normal(s) * scale
            p.grad = stirpile.tensor(g, dtype=p.dtype)
            t.grad = torch.tensor(g, dtype=t.dtype)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(torch, close, dtype, norm_type, max_norm):
    ours, theirs = _pairs(torch, dtype)
    n1 = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    close(n1, n2, **TOL[dtype])
    for p, t in zip(ours, theirs):
        if t.grad is None:
            assert p.grad is None
        else:
            close(p.grad, t.grad, **TOL[dtype])
    if max_norm < 1:
        grads = [p.grad.numpy().ravel() for p in ours if p.grad is not None]
        total = np.linalg.norm(np.concatenate(grads), norm_type)
        assert total == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_edge_cases(torch, close):
    p = stirpile.tensor([3.0, 4.0], requires_grad=True)
    assert float(nn.utils.clip_grad_norm_([p], 1.0)) == 0.0  # no gradients: norm 0
    p.grad = stirpile.tensor([3.0, 4.0])
    assert float(nn.utils.clip_grad_norm_(p, 10.0)) == 5.0  # a single tensor is accepted
    p.grad = stirpile.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    model = nn.Linear(3, 2)
    model(stirpile.randn(4, 3)).sum().backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), 0.1)  # a generator works too
    assert total.dtype == stirpile.float32 and total.ndim == 0
    assert nn.utils.get_total_norm([g.grad for g in model.parameters()]).item() == pytest.approx(
        0.1, rel=1e-4
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_clip_grad_value_matches_torch(torch, close, dtype):
    ours, theirs = _pairs(torch, dtype, scale=3.0)
    assert nn.utils.clip_grad_value_(ours, 1.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, t in zip(ours, theirs):
        if t.grad is not None:
            close(p.grad, t.grad, rtol=0, atol=0)
            assert np.abs(p.grad.numpy()).max() <= 1.5


def test_parameters_to_vector_and_back(torch, close):
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    theirs.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()}
    )
    v = nn.utils.parameters_to_vector(ours.parameters())
    close(v, torch.nn.utils.parameters_to_vector(theirs.parameters()))
    v.sum().backward()  # differentiable, like torch's
    assert ours.weight.grad.numpy().tolist() == [[1.0] * 3] * 2
    new = np.arange(8, dtype=np.float32)
    nn.utils.vector_to_parameters(stirpile.tensor(new), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs.parameters())
    close(ours.weight, theirs.weight)
    close(ours.bias, theirs.bias)
    assert isinstance(ours.weight, nn.Parameter) and ours.weight.requires_grad
    with pytest.raises(TypeError, match=r"expected stirpile\.Tensor"):
        nn.utils.vector_to_parameters(new, ours.parameters())
