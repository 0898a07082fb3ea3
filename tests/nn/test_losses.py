"""Losses against PyTorch (values, input and target gradients) for every reduction,
``weight``, ``ignore_index``, label smoothing, probability targets and extreme logits;
gradchecks, and second derivatives for cross-entropy and MSE."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

DTYPES = ["float64", "float32"]
REDUCTIONS = ["mean", "sum", "none"]


def _x(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


# -- regression losses ----------------------------------------------------------------------

REGRESSION = [
    ("mse_loss", {}),
    ("l1_loss", {}),
    ("huber_loss", {}),
    ("huber_loss", {"delta": 0.5}),
    ("huber_loss", {"delta": 2.0}),
    ("smooth_l1_loss", {}),
    ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kwargs", REGRESSION, ids=[f"{n}{k}" for n, k in REGRESSION])
def test_regression_losses_match_torch(check_loss, name, kwargs, reduction, dtype):
    x, y = _x(4, 3, scale=2.0), _x(4, 3, seed=1)
    check_loss.functional(name, [x, y], dtype, reduction=reduction, **kwargs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_losses_with_weight_match_torch(check_loss, torch, name, reduction):
    x, y, w = _x(4, 3), _x(4, 3, seed=1), np.abs(_x(4, 3, seed=2))
    fo, ft = getattr(F, name), getattr(torch.nn.functional, name)
    check_loss(
        lambda a, b, w: fo(a, b, reduction=reduction, weight=w),
        lambda a, b, w: ft(a, b, reduction=reduction, weight=w),
        [x, y],
        consts=[w],
    )


@pytest.mark.parametrize(
    "cls,kwargs",
    [
        ("MSELoss", {}),
        ("L1Loss", {}),
        ("HuberLoss", {"delta": 0.3}),
        ("SmoothL1Loss", {"beta": 2.0}),
    ],
)
def test_regression_modules(check_loss, torch, cls, kwargs):
    x, y = _x(5, 2, scale=2.0), _x(5, 2, seed=1)
    for reduction in REDUCTIONS:
        ours = getattr(nn, cls)(reduction=reduction, **kwargs)
        theirs = getattr(torch.nn, cls)(reduction=reduction, **kwargs)
        check_loss(ours, theirs, [x, y])
        assert repr(ours) == repr(theirs)


def test_invalid_reduction_and_legacy_flags(torch, close):
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(stirpile.zeros(2), stirpile.zeros(2), reduction="avg")
    x, y = _x(3), _x(3, seed=1)
    with pytest.warns(UserWarning, match="size_average and reduce"):
        ours = F.mse_loss(stirpile.tensor(x), stirpile.tensor(y), size_average=False)
    close(ours, float(((x - y) ** 2).sum()))


def test_broadcast_warning(torch):
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(stirpile.zeros(3, 1), stirpile.zeros(3))


# -- cross-entropy ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_index_targets(check_loss, dtype, reduction, weighted, ignore, smoothing):
    x = _x(6, 4, scale=2.0)
    t = np.array([0, 3, 1, 1, 2, 3])
    if ignore:
        t[[1, 4]] = -100
    w = np.array([0.5, 2.0, 1.0, 0.25]) if weighted else None
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    check_loss.functional("cross_entropy", [x], dtype, consts=[t, w], **kw)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_custom_ignore_index_and_spatial(check_loss, reduction):
    x = _x(2, 3, 4, 2)  # (N, C, d1, d2)
    t = np.random.default_rng(1).integers(0, 3, (2, 4, 2))
    t[0, 1, 1] = 7
    kw = {"reduction": reduction, "ignore_index": 7, "label_smoothing": 0.1}
    w = np.array([1.0, 0.3, 2.0])
    check_loss.functional("cross_entropy", [x], consts=[t, w], **kw)
    # a single sample: input (C,), target ()
    check_loss.functional("cross_entropy", [_x(5)], consts=[np.array(2)], reduction=reduction)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets(check_loss, dtype, reduction, weighted, smoothing):
    """Soft targets, differentiable with respect to the target too (distillation)."""
    x = _x(5, 4)
    p = np.random.default_rng(1).dirichlet(np.ones(4), 5)
    w = np.array([0.5, 2.0, 1.0, 0.25]) if weighted else None
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    check_loss.functional("cross_entropy", [x, p], dtype, consts=[w], **kw)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_large_logits(check_loss, dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [5e3, 1e4, -1e4], [1e4, 1e4, 1e4]])
    t = np.array([1, 0, 0, 2])
    for kw in [{}, {"label_smoothing": 0.1}, {"reduction": "none"}]:
        out, _ = check_loss.functional("cross_entropy", [x], dtype, consts=[t], **kw)
        assert np.isfinite(out.detach().numpy()).all()
    p = np.array([[0.2, 0.8, 0.0]] * 4)
    check_loss.functional("cross_entropy", [x, p], dtype)


def test_cross_entropy_all_ignored_is_nan_like_torch(torch):
    x = stirpile.randn(3, 4, requires_grad=True)
    t = stirpile.tensor([-100, -100, -100])
    out = F.cross_entropy(x, t)
    assert math.isnan(out.item())
    assert math.isnan(
        torch.nn.functional.cross_entropy(torch.randn(3, 4), torch.tensor([-100] * 3))
    )
    assert F.cross_entropy(x, t, reduction="sum").item() == 0.0


def test_cross_entropy_errors():
    x = stirpile.randn(3, 4)
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(x, stirpile.tensor([0, 4, 1]))
    with pytest.raises(RuntimeError, match="expected target of shape"):
        F.cross_entropy(x, stirpile.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="weight"):
        F.cross_entropy(x, stirpile.tensor([0, 1, 2]), weight=stirpile.ones(3))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, stirpile.tensor([0, 1, 2]), label_smoothing=1.5)


def test_cross_entropy_is_log_softmax_plus_nll(torch, close):
    """The fused op equals the composition, and the gradient is softmax − one_hot."""
    x, t = _x(4, 5), np.array([4, 0, 2, 2])
    xs = stirpile.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xs, stirpile.tensor(t), reduction="sum")
    close(
        loss, F.nll_loss(F.log_softmax(stirpile.tensor(x), 1), stirpile.tensor(t), reduction="sum")
    )
    loss.backward()
    e = np.exp(x - x.max(1, keepdims=True))
    close(xs.grad, e / e.sum(1, keepdims=True) - np.eye(5)[t])


def test_softmax_twice_is_a_different_loss():
    """The course's warning: CrossEntropyLoss expects logits; softmax first changes the
    loss (and squashes its gradient)."""
    x, t = stirpile.tensor([[4.0, 0.0, -2.0]]), stirpile.tensor([0])
    right = F.cross_entropy(x, t).item()
    twice = F.cross_entropy(F.softmax(x, 1), t).item()
    assert right < 0.025 and twice > 0.5


@pytest.mark.parametrize(
    "kw", [{}, {"label_smoothing": 0.2, "reduction": "sum"}, {"reduction": "none"}]
)
def test_cross_entropy_twice_differentiable(grad_check, torch, close, kw):
    t = stirpile.tensor([2, 0, 1])
    w = stirpile.tensor([1.0, 0.5, 2.0], dtype=stirpile.float64)
    grad_check(lambda a: F.cross_entropy(a, t, w, **kw), _x(3, 3), gradgrad=True)
    p = np.random.default_rng(1).dirichlet(np.ones(3), 3)
    grad_check(lambda a, p: F.cross_entropy(a, p, **kw), _x(3, 3), p, gradgrad=True)
    # Hessian-vector product against torch's double backward
    x = _x(3, 3)
    xs, xt = stirpile.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ls = F.cross_entropy(xs, t, w, **kw).sum()
    lt = torch.nn.functional.cross_entropy(
        xt, torch.tensor([2, 0, 1]), torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64), **kw
    ).sum()
    (gs,) = stirpile.autograd.grad(ls, xs, create_graph=True)
    (gt,) = torch.autograd.grad(lt, xt, create_graph=True)
    v = _x(3, 3, seed=4)
    (hs,) = stirpile.autograd.grad((gs * stirpile.tensor(v)).sum(), xs)
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), xt)
    close(hs, ht)


def test_cross_entropy_module(check_loss, torch, torch_state):
    w = np.array([1.0, 2.0, 0.5])
    ours = nn.CrossEntropyLoss(weight=stirpile.tensor(w), ignore_index=1, label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), ignore_index=1, label_smoothing=0.1)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    t = np.array([0, 1, 2, 2])
    check_loss(ours, theirs, [_x(4, 3)], consts=[t])
    assert repr(ours) == repr(theirs) == "CrossEntropyLoss()"
    assert list(nn.CrossEntropyLoss().state_dict()) == []


# -- NLL ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_matches_torch(check_loss, torch, dtype, reduction, weighted):
    x = _x(5, 3)
    t = np.array([0, 2, -100, 1, 2])
    w = np.array([0.3, 1.0, 2.0]) if weighted else None
    check_loss.functional("nll_loss", [x], dtype, consts=[t, w], reduction=reduction)
    x3, t3 = _x(2, 3, 4), np.random.default_rng(1).integers(0, 3, (2, 4))
    check_loss(
        lambda a, t: nn.NLLLoss(reduction=reduction, ignore_index=2)(a, t),
        lambda a, t: torch.nn.NLLLoss(reduction=reduction, ignore_index=2)(a, t),
        [x3],
        dtype,
        consts=[t3],
    )


def test_nll_loss_gradcheck(grad_check):
    t = stirpile.tensor([0, 2, 1])
    w = stirpile.tensor([0.3, 1.0, 2.0], dtype=stirpile.float64)
    grad_check(lambda a: F.nll_loss(a, t, w), _x(3, 3), gradgrad=True)


# -- binary cross-entropy -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_torch(check_loss, dtype, reduction, weighted):
    rng = np.random.default_rng(0)
    p, y = rng.uniform(0.02, 0.98, (4, 3)), rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 2, (4, 3)) if weighted else None
    check_loss.functional("binary_cross_entropy", [p, y], dtype, consts=[w], reduction=reduction)


def test_bce_extremes_clamp_like_torch(check_loss):
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.5])
    check_loss.functional("binary_cross_entropy", [p, y], grad=[True, False], reduction="none")
    assert F.binary_cross_entropy(stirpile.tensor([0.0]), stirpile.tensor([1.0])).item() == 100
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(stirpile.tensor([1.5]), stirpile.tensor([1.0]))
    with pytest.raises(ValueError, match="same size"):
        F.binary_cross_entropy(stirpile.tensor([0.5, 0.5]), stirpile.tensor([1.0]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos", [False, True])
def test_bce_with_logits_matches_torch(check_loss, torch, dtype, reduction, weighted, pos):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)) * 3
    x[0] = [1e4, -1e4, 0.0]  # huge logits and the kink-free point 0
    x[1] = [-1e30, 1e30, 40.0]
    y = rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 2, (4, 3)) if weighted else None
    pw = np.array([0.5, 2.0, 3.0]) if pos else None

    def ours(a, b, w, pw):
        return F.binary_cross_entropy_with_logits(a, b, w, reduction=reduction, pos_weight=pw)

    def theirs(a, b, w, pw):
        return torch.nn.functional.binary_cross_entropy_with_logits(
            a, b, w, reduction=reduction, pos_weight=pw
        )

    out, _ = check_loss(ours, theirs, [x, y], dtype, consts=[w, pw])
    assert np.isfinite(out.detach().numpy()).all()


def test_bce_modules(check_loss, torch):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3))
    w, pw = stirpile.tensor(rng.uniform(0.5, 2, 3)), stirpile.tensor([1.0, 2.0, 3.0])
    ours = nn.BCEWithLogitsLoss(weight=w, pos_weight=pw)
    theirs = torch.nn.BCEWithLogitsLoss(
        weight=torch.tensor(w.numpy()), pos_weight=torch.tensor(pw.numpy())
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())
    check_loss(ours, theirs, [x, y])
    sig = 1 / (1 + np.exp(-x))
    check_loss(nn.BCELoss(reduction="sum"), torch.nn.BCELoss(reduction="sum"), [sig, y])


# -- cosine -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_similarity_matches_torch(check_loss, torch, dtype):
    a, b = _x(4, 5), _x(4, 5, seed=1)
    check_loss.functional("cosine_similarity", [a, b], dtype)
    check_loss.functional("cosine_similarity", [a, b], dtype, dim=0)
    check_loss(
        nn.CosineSimilarity(dim=-1),
        torch.nn.CosineSimilarity(dim=-1),
        [_x(3, 1, 4), _x(2, 4, seed=2)],
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.5])
def test_cosine_embedding_loss_matches_torch(check_loss, torch, dtype, reduction, margin):
    a, b = _x(6, 4), _x(6, 4, seed=1)
    y = np.array([1, -1, 1, -1, -1, 1])
    ours = nn.CosineEmbeddingLoss(margin=margin, reduction=reduction)
    theirs = torch.nn.CosineEmbeddingLoss(margin=margin, reduction=reduction)
    check_loss(ours, theirs, [a, b], dtype, consts=[y])
    check_loss(ours, theirs, [_x(4), _x(4, seed=3)], dtype, consts=[np.array(-1)])


# -- gradchecks ---------------------------------------------------------------------------------

Y = np.array([[0.3, -1.2, 0.8], [2.0, 0.1, -0.4]])
X = np.array([[1.1, -0.5, 0.2], [0.4, 0.9, -2.0]])  # |x − y| away from 0, 1, 0.5, 2


@pytest.mark.parametrize(
    "fn,twice",
    [
        (F.mse_loss, True),
        (lambda a, b: F.mse_loss(a, b, reduction="none"), True),
        (F.l1_loss, False),
        (lambda a, b: F.huber_loss(a, b, delta=0.7), False),
        (lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), False),
        (lambda a, b: F.binary_cross_entropy_with_logits(a, b.sigmoid()), True),
        (lambda a, b: F.binary_cross_entropy(a.sigmoid(), b.sigmoid(), reduction="sum"), True),
        (lambda a, b: F.cosine_similarity(a, b), True),
        (lambda a, b: F.cosine_embedding_loss(a, b, stirpile.tensor([1, -1]), margin=-0.9), True),
    ],
)
def test_loss_gradcheck(grad_check, fn, twice):
    grad_check(fn, X, Y, gradgrad=twice)


def test_mse_second_order_matches_torch(torch, close):
    x, y = _x(3, 2), _x(3, 2, seed=1)
    xs, ys = stirpile.tensor(x, requires_grad=True), stirpile.tensor(y, requires_grad=True)
    xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    gs = stirpile.autograd.grad(F.mse_loss(xs, ys), [xs, ys], create_graph=True)
    gt = torch.autograd.grad(torch.nn.functional.mse_loss(xt, yt), [xt, yt], create_graph=True)
    hs = stirpile.autograd.grad((gs[0] * gs[0]).sum() + gs[1].sum(), [xs, ys])
    ht = torch.autograd.grad((gt[0] * gt[0]).sum() + gt[1].sum(), [xt, yt])
    for h, k in zip(hs, ht):
        close(h, k)


def test_one_hot(torch, close):
    t = np.array([[0, 2], [1, 3]])
    close(F.one_hot(stirpile.tensor(t), 5), torch.nn.functional.one_hot(torch.tensor(t), 5))
    close(F.one_hot(stirpile.tensor(t)), torch.nn.functional.one_hot(torch.tensor(t)))
