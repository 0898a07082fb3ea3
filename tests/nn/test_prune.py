"""nn.utils.prune against torch.nn.utils.prune: the same masks (single, repeated and global
magnitude pruning, custom masks), the same state_dict keys, the same outputs and
gradients, ``remove`` and ``is_pruned``, and the same errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import stirpile
from stirpile import nn
from stirpile.autograd import gradcheck
from stirpile.nn.utils import prune

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")


def _twins(sizes=(6, 5, 3), dtype="float64"):
    """An MLP in stirpile and its PyTorch copy (same weights; no ties in |w|)."""
    rng = np.random.default_rng(0)
    ours = nn.Sequential(*[nn.Linear(a, b) for a, b in itertools.pairwise(sizes)])
    theirs = torch.nn.Sequential(*[torch.nn.Linear(a, b) for a, b in itertools.pairwise(sizes)])
    for o, t in zip(ours, theirs):
        for name in ("weight", "bias"):
            w = rng.standard_normal(tuple(getattr(o, name).shape)).astype(dtype)
            setattr(o, name, nn.Parameter(stirpile.tensor(w)))
            setattr(t, name, torch.nn.Parameter(torch.tensor(w)))
    return ours, theirs


def _same_state(ours, theirs):
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)


def _same_forward_backward(ours, theirs, names=("weight_orig",)):
    x = np.random.default_rng(1).standard_normal((4, ours[0].in_features))
    yo, yt = ours(stirpile.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    (yo**2).sum().backward()
    (yt**2).sum().backward()
    for o, t in zip(ours, theirs):
        for name in names:
            if hasattr(t, name):
                g = getattr(o, name).grad.numpy()
                np.testing.assert_allclose(g, getattr(t, name).grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("amount", [0.3, 0.5, 7, 0])
def test_l1_unstructured_matches_torch(amount):
    ours, theirs = _twins()
    prune.l1_unstructured(ours[0], "weight", amount=amount)
    tprune.l1_unstructured(theirs[0], name="weight", amount=amount)
    _same_state(ours, theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    np.testing.assert_array_equal(ours[0].weight.detach().numpy(), theirs[0].weight.detach())
    _same_forward_backward(ours, theirs)


def test_repeated_pruning_prunes_among_the_remaining_entries():
    ours, theirs = _twins()
    for amount in (0.2, 0.2, 0.5, 3):
        prune.l1_unstructured(ours[0], "weight", amount=amount)
        tprune.l1_unstructured(theirs[0], "weight", amount=amount)
        _same_state(ours, theirs)
    hooks = list(ours[0]._forward_pre_hooks.values())
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == 4
    assert int(ours[0].weight_mask.sum()) == int(theirs[0].weight_mask.sum())
    _same_forward_backward(ours, theirs)


def test_importance_scores_decide_the_mask():
    ours, theirs = _twins()
    scores = np.random.default_rng(5).standard_normal((5, 6))
    prune.l1_unstructured(ours[0], "weight", 0.4, importance_scores=stirpile.tensor(scores))
    tprune.l1_unstructured(theirs[0], "weight", 0.4, importance_scores=torch.tensor(scores))
    _same_state(ours, theirs)


def test_global_unstructured_matches_torch():
    ours, theirs = _twins()
    prune.l1_unstructured(ours[1], "weight", amount=0.2)  # an earlier mask is respected
    tprune.l1_unstructured(theirs[1], "weight", amount=0.2)
    for amount in (0.4, 0.25):
        prune.global_unstructured([(m, "weight") for m in ours] + [(ours[0], "bias")],
                                  pruning_method=prune.L1Unstructured, amount=amount)  # fmt: skip
        tprune.global_unstructured([(m, "weight") for m in theirs] + [(theirs[0], "bias")],
                                   pruning_method=tprune.L1Unstructured, amount=amount)  # fmt: skip
        _same_state(ours, theirs)
    _same_forward_backward(ours, theirs, names=("weight_orig", "bias_orig"))


def test_custom_from_mask_combines_with_earlier_masks():
    ours, theirs = _twins()
    mask = (np.random.default_rng(2).random((5, 6)) > 0.5).astype(np.float64)
    for o, t in [(ours, theirs)]:
        prune.l1_unstructured(o[0], "weight", amount=0.3)
        tprune.l1_unstructured(t[0], "weight", amount=0.3)
        prune.custom_from_mask(o[0], "weight", mask=stirpile.tensor(mask))
        tprune.custom_from_mask(t[0], "weight", mask=torch.tensor(mask))
    _same_state(ours, theirs)
    _same_forward_backward(ours, theirs)


def test_mask_zeroes_the_gradient_of_pruned_entries():
    ours, _ = _twins()
    prune.random_unstructured(ours[0], "weight", amount=0.5)
    assert int((ours[0].weight_mask == 0).sum()) == 15
    ours(stirpile.randn(8, 6, dtype=stirpile.float64)).sum().backward()
    grad, mask = ours[0].weight_orig.grad.numpy(), ours[0].weight_mask.numpy()
    assert (grad[mask == 0] == 0).all() and (grad[mask == 1] != 0).all()


def test_pruned_linear_passes_gradcheck():
    fc = nn.Linear(4, 3).double()
    prune.l1_unstructured(fc, "weight", amount=0.5)
    x = stirpile.randn(2, 4, dtype=stirpile.float64, requires_grad=True)

    def f(x, w):
        fc._parameters["weight_orig"] = w  # the hook recomputes weight = mask * weight_orig
        return fc(x)

    w = fc.weight_orig.detach().clone().requires_grad_()
    assert gradcheck(f, (x, w))


def test_remove_makes_pruning_permanent():
    ours, theirs = _twins()
    prune.l1_unstructured(ours[0], "weight", amount=0.5)
    tprune.l1_unstructured(theirs[0], "weight", amount=0.5)
    assert prune.is_pruned(ours) and tprune.is_pruned(theirs)
    prune.remove(ours[0], "weight")
    tprune.remove(theirs[0], "weight")
    _same_state(ours, theirs)
    assert not prune.is_pruned(ours)
    assert isinstance(ours[0].weight, nn.Parameter)
    assert int((ours[0].weight == 0).sum()) == 15
    _same_forward_backward(ours, theirs, names=("weight",))


def test_identity_prunes_nothing():
    ours, theirs = _twins()
    prune.identity(ours[1], "bias")
    tprune.identity(theirs[1], "bias")
    _same_state(ours, theirs)


def test_errors_match_torch():
    ours, theirs = _twins()
    for bad, exc in [(1.5, ValueError), (-1, ValueError), ("a", TypeError)]:
        with pytest.raises(exc) as e_ours:
            prune.l1_unstructured(ours[0], "weight", amount=bad)
        with pytest.raises(exc) as e_theirs:
            tprune.l1_unstructured(theirs[0], "weight", amount=bad)
        assert str(e_ours.value) == str(e_theirs.value)
    with pytest.raises(ValueError, match="amount=31 should be smaller"):
        prune.l1_unstructured(ours[0], "weight", amount=31)
    assert "weight" in dict(ours[0].named_parameters())  # a failed pruning is undone
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(ours[0], "weight")
    with pytest.raises(TypeError, match="PRUNING_TYPE"):
        prune.global_unstructured([(ours[0], "weight")], prune.CustomFromMask, mask=None)
