"""The rest of PyTorch's losses (KL divergence, Poisson and Gaussian NLL, margin
ranking, hinge embedding, multi-margin, soft margin, multi-label soft margin and
margin, triplet margin) and ``pairwise_distance``: values and gradients (input, and
target where PyTorch differentiates it) against PyTorch for every reduction in float32
and float64, gradchecks (and second derivatives for the smooth ones), legacy
``size_average``/``reduce``, error cases, module reprs and state dicts."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

DTYPES = ["float64", "float32"]
REDUCTIONS = ["mean", "sum", "none"]


def _x(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _sign(*shape, seed=1):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def _log_probs(n, c, seed=0):
    p = np.random.default_rng(seed).dirichlet(np.ones(c), n)
    return np.log(p)


def _probs(n, c, seed=1):
    p = np.random.default_rng(seed).dirichlet(np.ones(c), n)
    p[0, 0] = 0.0  # 0 log 0 = 0
    return p


# -- KL divergence ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", [*REDUCTIONS, "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(check_loss, reduction, log_target, dtype):
    x = _log_probs(4, 5)
    if log_target:
        check_loss.functional(
            "kl_div",
            [x, _log_probs(4, 5, seed=2)],
            dtype=dtype,
            reduction=reduction,
            log_target=True,
        )
    else:  # PyTorch's target gradient is nan where target = 0: compare the input's only
        check_loss.functional(
            "kl_div",
            [x, _probs(4, 5)],
            dtype=dtype,
            grad=[True, False],
            reduction=reduction,
        )
        check_loss.functional(
            "kl_div",
            [x[1:, 1:], _probs(4, 5)[1:, 1:] + 0.1],
            dtype=dtype,
            reduction=reduction,
        )


def test_kl_div_special_cases(check_loss):
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(stirpile.zeros(2), stirpile.ones(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # batchmean and sum do not warn
        F.kl_div(stirpile.zeros(2), stirpile.ones(2), reduction="batchmean")
    # a 0-d input: batchmean is the sum; a negative target gives nan, as in PyTorch
    out = F.kl_div(stirpile.tensor(1.0), stirpile.tensor(2.0), reduction="batchmean")
    assert out.item() == pytest.approx(2 * math.log(2) - 2)
    out = F.kl_div(stirpile.tensor([1.0, 2.0]), stirpile.tensor([-1.0, 2.0]), reduction="none")
    assert math.isnan(out.tolist()[0]) and out.tolist()[1] == pytest.approx(2 * math.log(2) - 4)
    # broadcasting (PyTorch broadcasts too)
    check_loss.functional("kl_div", [_log_probs(3, 4), _probs(1, 4)[:, :] + 0.1], reduction="sum")
    with pytest.raises(ValueError, match="bad is not a valid value for reduction"):
        F.kl_div(stirpile.zeros(2), stirpile.ones(2), reduction="bad")


def test_kl_div_gradcheck(grad_check):
    t = _probs(3, 4)[1:] + 0.05
    grad_check(
        lambda x, y: F.kl_div(x, y, reduction="batchmean"), _log_probs(2, 4), t, gradgrad=True
    )
    grad_check(
        lambda x, y: F.kl_div(x, y, reduction="none", log_target=True),
        _log_probs(2, 4),
        _log_probs(2, 4, seed=3),
        gradgrad=True,
    )


# -- Poisson and Gaussian negative log-likelihoods ------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_matches_torch(check_loss, log_input, full, reduction, dtype):
    rate = np.abs(_x(4, 3)) + 0.1
    x = np.log(rate) if log_input else rate
    y = np.random.default_rng(2).poisson(2.0, (4, 3)).astype(float) + 0.25  # some y ≤ 1
    # y = 0 too, except with full: PyTorch's target gradient of its Stirling term is nan
    # there (ours is 0, the derivative of a term that is masked to 0)
    y[0, :2] = [0.5 if full else 0.0, 1.0]
    check_loss.functional(
        "poisson_nll_loss",
        [x, y],
        dtype=dtype,
        log_input=log_input,
        full=full,
        reduction=reduction,
    )


def test_poisson_nll_eps_and_gradcheck(check_loss, grad_check):
    check_loss.functional(
        "poisson_nll_loss",
        [np.array([0.0, 1e-9, 2.0]), np.array([1.0, 2, 3])],
        log_input=False,
        eps=1e-3,
    )
    y = np.array([[0.5, 2.0, 3.5], [1.5, 0.0, 4.0]])
    for log_input, full in [(True, True), (False, True), (True, False)]:
        x = _x(2, 3) if log_input else np.abs(_x(2, 3)) + 0.5
        fn = lambda a, b, li=log_input, f=full: F.poisson_nll_loss(a, b, li, f)  # noqa: E731
        grad_check(fn, x, y, gradgrad=True)


# var shapes PyTorch accepts, for input (4, 3, 2)
VAR_SHAPES = [(4, 3, 2), (4, 3), (4, 3, 1), (4, 1, 2), (1, 3, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", VAR_SHAPES)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_matches_torch(check_loss, var_shape, full, reduction, dtype):
    var = np.abs(_x(*var_shape, seed=3)) + 0.1
    var.flat[0] = 1e-9  # below eps: clamped, the gradient taken at eps (as PyTorch)
    tol_dtype = dtype if dtype == "float64" else "float32"
    x, y = _x(4, 3, 2), _x(4, 3, 2, seed=1)
    if tol_dtype == "float32":
        var.flat[0] = 0.5  # the float32 gradient at 1e-6 is ~1e12: compare away from eps
    check_loss.functional(
        "gaussian_nll_loss", [x, y, var], dtype=dtype, full=full, reduction=reduction
    )


def test_gaussian_nll_float_var_eps_and_errors(check_loss, grad_check):
    x, y = _x(3, 2), _x(3, 2, seed=1)
    check_loss.functional("gaussian_nll_loss", [x, y], consts=[], var=0.5, reduction="sum")
    check_loss.functional("gaussian_nll_loss", [x, y, np.full((3, 2), 0.01)], eps=0.1)
    v = stirpile.ones(3, 2)
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(stirpile.tensor(x), stirpile.tensor(y), -1.0)
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(stirpile.tensor(x), stirpile.tensor(y), v * -1)
    for bad in [(3, 3), (2,), (3, 2, 1), (1, 1)]:
        with pytest.raises(ValueError, match="var is of incorrect size"):
            F.gaussian_nll_loss(stirpile.tensor(x), stirpile.tensor(y), stirpile.ones(*bad))
    with pytest.raises(ValueError, match="x is not valid"):
        F.gaussian_nll_loss(stirpile.tensor(x), stirpile.tensor(y), v, reduction="x")
    grad_check(
        lambda a, b, c: F.gaussian_nll_loss(a, b, c, full=True),
        x,
        y,
        np.abs(_x(3, 1)) + 0.5,
        gradgrad=True,
    )


# -- margin and hinge losses ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.5])
@pytest.mark.parametrize("shape", [(6,), ()])
def test_margin_ranking_matches_torch(check_loss, shape, margin, reduction, dtype):
    check_loss.functional(
        "margin_ranking_loss",
        [_x(*shape), _x(*shape, seed=1), _sign(*shape)],
        dtype=dtype,
        margin=margin,
        reduction=reduction,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_hinge_embedding_matches_torch(check_loss, margin, reduction, dtype):
    y = _sign(4, 5)
    y[0, :2] = [0.0, 2.0]  # labels other than ±1: both terms, as PyTorch
    check_loss.functional(
        "hinge_embedding_loss",
        [_x(4, 5, scale=2.0)],
        consts=[y],
        dtype=dtype,
        margin=margin,
        reduction=reduction,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin_matches_torch(check_loss, p, weighted, reduction, dtype):
    t = np.array([0, 3, 4, 4, 1])
    w = {"weight": np.abs(_x(5, seed=4)) + 0.1} if weighted else {}
    check_loss.functional(
        "multi_margin_loss",
        [_x(5, 5)],
        consts=[t],
        kwconsts=w,
        dtype=dtype,
        p=p,
        margin=0.7,
        reduction=reduction,
    )
    # one sample: input (C) with target () or (1)
    for target in [np.array(2), np.array([2])]:
        out, _ = check_loss.functional(
            "multi_margin_loss",
            [_x(5)],
            consts=[target],
            dtype=dtype,
            p=p,
            reduction=reduction,
        )
        assert out.shape == (target.shape if reduction == "none" else ())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_matches_torch(check_loss, reduction, dtype):
    t = np.array(
        [[3, 0, -1, 1, 2], [4, -1, 0, 0, 0], [-1, 1, 1, 1, 1], [0, 1, 2, 3, 4], [2, 2, -1, 3, 3]]
    )
    check_loss.functional(
        "multilabel_margin_loss",
        [_x(5, 5)],
        consts=[t],
        dtype=dtype,
        reduction=reduction,
    )
    check_loss.functional(
        "multilabel_margin_loss",
        [_x(5)],
        consts=[t[0]],
        dtype=dtype,
        reduction=reduction,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_matches_torch(check_loss, reduction, dtype):
    check_loss.functional(
        "soft_margin_loss",
        [_x(4, 5, scale=3.0)],
        consts=[_sign(4, 5)],
        dtype=dtype,
        reduction=reduction,
    )


def test_soft_margin_does_not_overflow(torch):
    """PyTorch's forward gives inf here; the exact value is 100 (and it has no warning)."""
    x = stirpile.tensor([100.0, -100.0, 1e4], requires_grad=True)
    out = F.soft_margin_loss(x, stirpile.tensor([-1.0, 1.0, -1.0]), reduction="none")
    np.testing.assert_allclose(out.detach().numpy(), [100.0, 100.0, 1e4])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 1.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_matches_torch(check_loss, weighted, reduction, dtype):
    y = (np.random.default_rng(3).random((4, 5)) < 0.5) * 1.0
    y[0, 0] = 0.3  # soft labels work too
    w = [np.abs(_x(5, seed=4))] if weighted else []
    check_loss.functional(
        "multilabel_soft_margin_loss",
        [_x(4, 5, scale=3.0)],
        consts=[y, *w],
        dtype=dtype,
        reduction=reduction,
    )
    check_loss.functional(
        "multilabel_soft_margin_loss",
        [_x(5)],
        consts=[y[0]],
        dtype=dtype,
        reduction=reduction,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [2, 1, 3, 0.5, math.inf])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_matches_torch(check_loss, p, swap, reduction, dtype):
    a, pos, neg = _x(6, 4), _x(6, 4, seed=1), _x(6, 4, seed=2)
    check_loss.functional(
        "triplet_margin_loss",
        [a, pos, neg],
        dtype=dtype,
        p=p,
        swap=swap,
        margin=1.5,
        reduction=reduction,
    )
    check_loss.functional(
        "triplet_margin_loss",
        [a[0], pos[0], neg[0]],
        dtype=dtype,
        p=p,
        swap=swap,
        reduction=reduction,
    )


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf, 0.0])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_torch(check_loss, p, keepdim):
    """p = 0 counts nonzero entries: gradient zero (PyTorch's has the wrong shape, ())."""
    grad = [p != 0] * 2
    x = _x(5, 3)
    x[0, 0] = 1.0 - 1e-3  # a zero difference
    y = _x(5, 3, seed=1)
    y[0, 0] = 1.0
    check_loss.functional("pairwise_distance", [x, y], grad=grad, p=p, eps=1e-3, keepdim=keepdim)
    check_loss.functional("pairwise_distance", [_x(2, 5, 3), y], grad=grad, p=p)
    if p == 0:
        xs = stirpile.tensor(x, requires_grad=True)
        F.pairwise_distance(xs, stirpile.tensor(y), p=0).sum().backward()
        assert xs.grad.shape == (5, 3) and not xs.grad.numpy().any()


def test_margin_losses_gradcheck(grad_check):
    """Away from the hinges' kinks (finite differences need smoothness)."""
    t = np.array([0, 2, 1])
    x = np.array([[2.0, 0.3, -1.0], [0.0, 0.4, 2.5], [-0.9, 1.5, 0.2]])
    for p in (1, 2):
        grad_check(
            lambda a, p=p: F.multi_margin_loss(
                a, stirpile.tensor(t), p=p, margin=0.9, weight=stirpile.tensor([0.5, 1.0, 2.0])
            ),
            x,
        )
    ml = stirpile.tensor([[1, -1, 0], [2, 0, -1], [0, 1, 2]])
    grad_check(lambda a: F.multilabel_margin_loss(a, ml, reduction="sum"), x)
    grad_check(
        lambda a, b, y: F.margin_ranking_loss(a, b, y, margin=0.1), _x(5), _x(5, seed=1), _sign(5)
    )
    grad_check(lambda a: F.hinge_embedding_loss(a, stirpile.tensor(_sign(3, 3)), margin=2.7), x)
    grad_check(lambda a: F.soft_margin_loss(a, stirpile.tensor(_sign(3, 3))), x, gradgrad=True)
    y = stirpile.tensor((np.random.default_rng(0).random((3, 3)) < 0.5) * 1.0)
    grad_check(lambda a: F.multilabel_soft_margin_loss(a, y), x, gradgrad=True)
    for p, swap in [(2, False), (2, True), (3, True), (1, False)]:
        grad_check(
            lambda a, b, c, p=p, swap=swap: F.triplet_margin_loss(a, b, c, 3.0, p, swap=swap),
            _x(4, 3),
            _x(4, 3, seed=1),
            _x(4, 3, seed=2),
            gradgrad=p != 1,
        )


# -- legacy arguments ------------------------------------------------------------------------

LEGACY = [
    ("kl_div", lambda: ([_log_probs(3, 4), _probs(3, 4)], []), {}),
    ("poisson_nll_loss", lambda: ([_x(3, 4), np.abs(_x(3, 4, seed=1))], []), {}),
    ("margin_ranking_loss", lambda: ([_x(4), _x(4, seed=1), _sign(4)], []), {}),
    ("hinge_embedding_loss", lambda: ([_x(3, 4)], [_sign(3, 4)]), {}),
    ("multi_margin_loss", lambda: ([_x(3, 4)], [np.array([0, 3, 1])]), {}),
    ("multilabel_margin_loss", lambda: ([_x(2, 3)], [np.array([[1, -1, 0], [2, 0, 1]])]), {}),
    ("soft_margin_loss", lambda: ([_x(3, 4)], [_sign(3, 4)]), {}),
    ("multilabel_soft_margin_loss", lambda: ([_x(3, 4)], [_sign(3, 4) > 0]), {}),
    ("triplet_margin_loss", lambda: ([_x(3, 4), _x(3, 4, seed=1), _x(3, 4, seed=2)], []), {}),
]


@pytest.mark.parametrize("name,make,kw", LEGACY, ids=[n for n, _, _ in LEGACY])
@pytest.mark.parametrize("size_average,reduce", [(None, False), (False, None), (True, True)])
def test_legacy_size_average_and_reduce(check_loss, name, make, kw, size_average, reduce):
    arrays, consts = make()
    consts = [c * 1.0 if c.dtype == bool else c for c in consts]
    check_loss.functional(
        name,
        arrays,
        consts=consts,
        grad=[True] + [False] * (len(arrays) - 1),
        size_average=size_average,
        reduce=reduce,
    )
    xs = [stirpile.tensor(a) for a in arrays] + [stirpile.tensor(c) for c in consts]
    with pytest.warns(UserWarning, match="size_average and reduce"):
        getattr(F, name)(*xs, size_average=size_average, reduce=reduce)


# -- errors --------------------------------------------------------------------------------


def test_errors():
    x2, x1 = stirpile.randn(2, 3), stirpile.randn(3)
    t = stirpile.tensor([0, 2])
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        F.multi_margin_loss(x2, t, p=3)
    with pytest.raises(ValueError, match="weight must be one-dimensional"):
        F.multi_margin_loss(x2, t, weight=stirpile.ones(1, 3))
    with pytest.raises(RuntimeError, match="inconsistent weight size, expected 3 but got"):
        F.multi_margin_loss(x2, t, weight=stirpile.ones(4))
    with pytest.raises(RuntimeError, match="target out of range"):
        F.multi_margin_loss(x2, stirpile.tensor([0, 3]))
    with pytest.raises(RuntimeError, match="target out of range"):
        F.multi_margin_loss(x2, stirpile.tensor([-1, 0]))
    with pytest.raises(RuntimeError, match="Expected target size \\[2\\], but got \\[\\]"):
        F.multi_margin_loss(x2, stirpile.tensor(1))
    with pytest.raises(RuntimeError, match="Expected target size \\[1\\], but got \\[2\\]"):
        F.multi_margin_loss(x1, t)
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Float"):
        F.multi_margin_loss(x2, stirpile.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="non-empty vector or matrix"):
        F.multi_margin_loss(stirpile.randn(1, 2, 3), t)
    with pytest.raises(ValueError, match="bad is not a valid value for reduction"):
        F.multi_margin_loss(x2, t, reduction="bad")
    with pytest.raises(RuntimeError, match="inconsistent target size: \\[1, 2\\]"):
        F.multilabel_margin_loss(stirpile.randn(1, 4), stirpile.tensor([[3, 1]]))
    with pytest.raises(RuntimeError, match="'target' is out of range"):
        F.multilabel_margin_loss(stirpile.randn(1, 4), stirpile.tensor([[3, 4, -1, 1]]))
    with pytest.raises(RuntimeError, match="'target' is out of range"):
        F.multilabel_margin_loss(stirpile.randn(3), stirpile.tensor([0, -2, 1]))
    with pytest.raises(RuntimeError, match="should have same dimension"):
        F.margin_ranking_loss(x1, x1, stirpile.ones(1, 3))
    with pytest.raises(RuntimeError):  # shapes that do not broadcast
        F.margin_ranking_loss(x1, stirpile.randn(2), stirpile.ones(2))
    with pytest.raises(ValueError, match="margin must be greater than 0, got 0"):
        F.triplet_margin_loss(x2, x2, x2, margin=0)
    with pytest.raises(RuntimeError, match="anchor 2D, positive 2D, and negative 1D"):
        F.triplet_margin_loss(x2, x2, x1)
    with pytest.raises(ValueError, match="bad is not valid"):
        F.multilabel_soft_margin_loss(x2, stirpile.ones(2, 3), reduction="bad")
    with pytest.raises(ValueError, match="bad is not a valid value for reduction"):
        F.poisson_nll_loss(x2, x2, reduction="bad")


# -- modules -------------------------------------------------------------------------------

MODULES = [
    ("KLDivLoss", {}, {"reduction": "batchmean"}),
    ("KLDivLoss", {"log_target": True}, {"reduction": "sum"}),
    ("PoissonNLLLoss", {}, {}),
    ("PoissonNLLLoss", {"log_input": False, "full": True, "eps": 1e-3}, {}),
    ("GaussianNLLLoss", {}, {}),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3}, {"reduction": "sum"}),
    ("MarginRankingLoss", {"margin": 0.5}, {}),
    ("HingeEmbeddingLoss", {"margin": 2.0}, {"reduction": "none"}),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}, {}),
    ("MultiLabelMarginLoss", {}, {}),
    ("SoftMarginLoss", {}, {"reduction": "sum"}),
    ("MultiLabelSoftMarginLoss", {}, {}),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "swap": True}, {}),
    ("TripletMarginLoss", {"eps": 1e-3}, {"reduction": "none"}),
]


def _module_inputs(name, rng):
    x = rng.standard_normal((4, 5))
    if name == "KLDivLoss":
        return [_log_probs(4, 5)], [_probs(4, 5)[:, :] + 0.1]
    if name == "PoissonNLLLoss":
        return [np.abs(x) + 0.1], [rng.poisson(2.0, (4, 5)).astype(float)]
    if name == "GaussianNLLLoss":
        return [x, rng.standard_normal((4, 5)), np.abs(x[:, :1]) + 0.1], []
    if name == "MarginRankingLoss":
        return [x[0], x[1]], [_sign(5)]
    if name in ("HingeEmbeddingLoss", "SoftMarginLoss"):
        return [x], [_sign(4, 5)]
    if name == "MultiMarginLoss":
        return [x], [np.array([0, 4, 2, 2])]
    if name == "MultiLabelMarginLoss":
        return [x], [np.array([[0, 1, -1, 0, 0], [4, -1, 0, 0, 0], [1, 2, 3, 4, 0], [-1] * 5])]
    if name == "MultiLabelSoftMarginLoss":
        return [x], [(rng.random((4, 5)) < 0.5) * 1.0]
    return [x, rng.standard_normal((4, 5)), rng.standard_normal((4, 5))], []


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,init,kw", MODULES, ids=[f"{n}{a}{k}" for n, a, k in MODULES])
def test_module_matches_torch(torch, check_loss, name, init, kw, dtype):
    ours, theirs = getattr(nn, name)(**init, **kw), getattr(torch.nn, name)(**init, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    arrays, consts = _module_inputs(name, np.random.default_rng(0))
    check_loss(ours, theirs, arrays, dtype, consts=consts)


@pytest.mark.parametrize("name", ["MultiMarginLoss", "MultiLabelSoftMarginLoss"])
def test_weighted_module_state_dict(torch, close, name):
    """``weight`` is a buffer, so a PyTorch state dict loads and the outputs agree."""
    w = np.array([0.5, 1.0, 2.0, 1.5, 0.1], dtype=np.float32)
    ours, theirs = (
        getattr(nn, name)(weight=stirpile.ones(5)),
        getattr(torch.nn, name)(weight=torch.tensor(w)),
    )
    assert repr(ours) == repr(theirs)
    sd = {k: v.numpy() for k, v in theirs.state_dict().items()}
    assert list(sd) == ["weight"]
    ours.load_state_dict({k: stirpile.tensor(v) for k, v in sd.items()})
    x = _x(4, 5).astype(np.float32)
    xt = torch.tensor(x)
    target = np.array([0, 4, 2, 2]) if name == "MultiMarginLoss" else _sign(4, 5) > 0
    out = ours(stirpile.tensor(x), stirpile.tensor(target * 1 if target.dtype == bool else target))
    tout = theirs(
        xt,
        torch.tensor(target * 1.0 if target.dtype == bool else target).to(
            torch.float32 if target.dtype == bool else torch.int64
        ),
    )
    close(out, tout, rtol=1e-6, atol=1e-6)


def test_module_errors_and_pairwise_distance(torch, close):
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="expected weight to be None or 1D tensor, got 2D"):
        nn.MultiMarginLoss(weight=stirpile.ones(3, 1))
    with pytest.raises(ValueError, match="expected margin to be greater than 0, got -1"):
        nn.TripletMarginLoss(margin=-1)
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)  # keyword-only, as in PyTorch
    ours, theirs = (
        nn.PairwiseDistance(p=1.0, keepdim=True),
        torch.nn.PairwiseDistance(1.0, 1e-6, True),
    )
    assert repr(ours) == repr(theirs)
    x, y = _x(3, 4), _x(3, 4, seed=1)
    close(ours(stirpile.tensor(x), stirpile.tensor(y)), theirs(torch.tensor(x), torch.tensor(y)))
