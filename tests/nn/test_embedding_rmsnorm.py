"""``F.embedding``/``nn.Embedding``, ``F.embedding_bag``/``nn.EmbeddingBag`` and
``F.rms_norm``/``nn.RMSNorm`` against PyTorch: values, gradients (padding rows get
none, frequency scaling), in-place renormalization by ``max_norm``, initialization,
reprs, state dicts that load from PyTorch, gradchecks and errors."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

DTYPES = ["float64", "float32"]
TOL = {"float64": {"rtol": 1e-10, "atol": 1e-10}, "float32": {"rtol": 1e-5, "atol": 1e-5}}

INDICES = np.array([[0, 1, 2, 1], [3, 3, 3, 0], [6, 5, 1, 1]])


def _weight(n=7, d=4, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def _compare(torch, close, fn, tfn, arrays, dtype="float64"):
    """``fn(*tensors)`` vs ``tfn(*torch_tensors)``: same value and gradients."""
    tol = TOL[dtype]
    xs = [stirpile.tensor(a, dtype=getattr(stirpile, dtype), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    out, tout = fn(*xs), tfn(*ts)
    close(out, tout, **tol)
    g = np.random.default_rng(1).standard_normal(tout.shape)
    out.backward(stirpile.tensor(g, dtype=out.dtype))
    tout.backward(torch.tensor(g, dtype=tout.dtype))
    for x, t in zip(xs, ts):
        close(x.grad, t.grad.to_dense() if t.grad.is_sparse else t.grad, **tol)
    return xs, ts


# -- F.embedding ---------------------------------------------------------------------------

EMBEDDING_KW = [
    {},
    {"padding_idx": 3},
    {"padding_idx": -1},
    {"scale_grad_by_freq": True},
    {"padding_idx": 1, "scale_grad_by_freq": True},
    {"sparse": True},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", EMBEDDING_KW, ids=str)
@pytest.mark.parametrize(
    "index", [INDICES, INDICES[0], np.array(5), INDICES[None]], ids=lambda i: f"{i.ndim}d"
)
def test_embedding_matches_torch(torch, close, kw, index, dtype):
    _compare(
        torch,
        close,
        lambda w: F.embedding(stirpile.tensor(index), w, **kw),
        lambda w: torch.nn.functional.embedding(torch.tensor(index), w, **kw),
        [_weight()],
        dtype,
    )


@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (1.5, 1.0), (0.5, 3.0), (2.0, np.inf)])
def test_embedding_max_norm_renormalizes_in_place(torch, close, max_norm, norm_type):
    """The rows looked up are rescaled in the table itself (outside autograd), the others
    left alone; the output and the gradient are PyTorch's."""
    w0 = _weight() * 2
    xs, ts = _compare(
        torch,
        close,
        lambda w: F.embedding(stirpile.tensor(INDICES), w, max_norm=max_norm, norm_type=norm_type),
        lambda w: torch.nn.functional.embedding(
            torch.tensor(INDICES), w, max_norm=max_norm, norm_type=norm_type
        ),
        [w0],
    )
    close(xs[0], ts[0], rtol=1e-7, atol=1e-7)  # the tables themselves, renormalized alike
    untouched = sorted(set(range(7)) - set(INDICES.ravel()))
    np.testing.assert_array_equal(xs[0].detach().numpy()[untouched], w0[untouched])
    norms = np.linalg.norm(xs[0].detach().numpy()[INDICES.ravel()], ord=norm_type, axis=1)
    assert (norms <= max_norm + 1e-6).all()


def test_embedding_int32_indices_and_gradcheck():
    w = stirpile.tensor(_weight(), requires_grad=True)
    out = F.embedding(stirpile.tensor([[1, 2]], dtype=stirpile.int32), w)
    np.testing.assert_array_equal(out.detach().numpy(), _weight()[[[1, 2]]])
    idx = stirpile.tensor(INDICES)

    def fn(t):  # (padding and frequency scaling change the gradient on purpose: not here)
        return F.embedding(idx, t) ** 2  # squared: a nonzero second derivative

    w64 = stirpile.tensor(_weight(), dtype=stirpile.float64, requires_grad=True)
    assert stirpile.autograd.gradcheck(fn, [w64])
    assert stirpile.autograd.gradgradcheck(fn, [w64])


def test_embedding_errors():
    w = stirpile.randn(5, 3)
    with pytest.raises(RuntimeError, match="scalar types: Long, Int; but got Float instead"):
        F.embedding(stirpile.tensor([1.0, 2.0]), w)
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(stirpile.tensor([1, 5]), w)
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(stirpile.tensor([1, -1]), w)
    with pytest.raises(RuntimeError, match="'weight' must be 2-D"):
        F.embedding(stirpile.tensor([1, 2]), w[0])
    for bad in (5, -6):
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            F.embedding(stirpile.tensor([1, 2]), w, padding_idx=bad)


# -- nn.Embedding --------------------------------------------------------------------------

EMBEDDING_MODULES = [
    ((10, 3), {}),
    ((10, 3), {"padding_idx": 0}),
    ((10, 3), {"padding_idx": -2}),
    ((10, 3), {"max_norm": 1.0, "norm_type": 1.0, "scale_grad_by_freq": True}),
    ((10, 3), {"sparse": True}),
    ((4, 2), {"max_norm": 2.0}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("args,kw", EMBEDDING_MODULES, ids=str)
def test_embedding_module_matches_torch(torch, close, args, kw, dtype):
    ours, theirs = nn.Embedding(*args, **kw), torch.nn.Embedding(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    # PyTorch's state dict loads into ours (and gives the same outputs and gradients)
    theirs.to(getattr(torch, dtype))
    ours.to(getattr(stirpile, dtype))
    ours.load_state_dict({k: stirpile.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    idx = INDICES % args[0]
    out, tout = ours(stirpile.tensor(idx)), theirs(torch.tensor(idx))
    close(out, tout, **TOL[dtype])
    g = np.random.default_rng(1).standard_normal(tout.shape)
    out.backward(stirpile.tensor(g, dtype=out.dtype))
    tout.backward(torch.tensor(g, dtype=tout.dtype))
    close(ours.weight.grad, theirs.weight.grad.to_dense(), **TOL[dtype])
    close(ours.weight, theirs.weight, **TOL[dtype])  # after max_norm's renormalization


def test_embedding_module_init_and_padding():
    stirpile.manual_seed(0)
    emb = nn.Embedding(2000, 50, padding_idx=7)
    w = emb.weight.detach().numpy()
    assert w.dtype == np.float32 and emb.weight.requires_grad
    assert (w[7] == 0).all()
    rest = np.delete(w, 7, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01  # N(0, 1)
    emb(stirpile.tensor([[7, 1, 7], [2, 7, 1]])).sum().backward()
    grad = emb.weight.grad.numpy()
    assert (grad[7] == 0).all() and (grad[1] == 2).all() and (grad[2] == 1).all()
    assert nn.Embedding(3, 2, dtype=stirpile.float64).weight.dtype == stirpile.float64
    emb.reset_parameters()
    assert (emb.weight.detach().numpy()[7] == 0).all()


def test_embedding_from_pretrained(torch):
    table = stirpile.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    assert emb.weight.numpy() is table.numpy() or np.shares_memory(
        emb.weight.numpy(), table.numpy()
    )
    np.testing.assert_allclose(emb(stirpile.tensor([1])).numpy(), [[4.0, 5.1, 6.3]])
    emb = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    assert emb.weight.requires_grad and emb.padding_idx == 1
    assert emb.weight.tolist()[1] == pytest.approx([4.0, 5.1, 6.3])  # not zeroed
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table.numpy()), padding_idx=1)
    assert repr(emb) == repr(theirs)
    with pytest.raises(AssertionError, match="expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(stirpile.ones(4))
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        nn.Embedding(5, 3, _weight=stirpile.ones(4, 3))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(5, 3, padding_idx=5)
    frozen = nn.Embedding(5, 3, _freeze=True)
    assert not frozen.weight.requires_grad


# -- embedding bags ------------------------------------------------------------------------

FLAT = np.array([1, 2, 3, 4, 6, 0, 5, 3])
BAGS = [
    ({"offsets": np.array([0, 2, 2, 5])}, "empty bag"),
    ({"offsets": np.array([0, 3, 8]), "include_last_offset": True}, "last offset"),
    ({"offsets": np.array([0])}, "one bag"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 3])
@pytest.mark.parametrize("bags,_", [({}, "2d"), *BAGS], ids=["2d", *[b for _, b in BAGS]])
def test_embedding_bag_matches_torch(torch, close, mode, padding_idx, bags, _, dtype):
    index = INDICES if not bags else FLAT
    offsets = bags.get("offsets")
    kw = {
        "mode": mode,
        "padding_idx": padding_idx,
        "include_last_offset": bags.get("include_last_offset", False),
    }
    _compare(
        torch,
        close,
        lambda w: F.embedding_bag(
            stirpile.tensor(index), w, None if offsets is None else stirpile.tensor(offsets), **kw
        ),
        lambda w: torch.nn.functional.embedding_bag(
            torch.tensor(index), w, None if offsets is None else torch.tensor(offsets), **kw
        ),
        [_weight()],
        dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_bag_per_sample_weights_and_max_norm(torch, close, dtype):
    offsets = np.array([0, 2, 2, 5])
    _compare(
        torch,
        close,
        lambda w, p: F.embedding_bag(
            stirpile.tensor(FLAT), w, stirpile.tensor(offsets), mode="sum", per_sample_weights=p
        ),
        lambda w, p: torch.nn.functional.embedding_bag(
            torch.tensor(FLAT), w, torch.tensor(offsets), mode="sum", per_sample_weights=p
        ),
        [_weight(), np.random.default_rng(3).standard_normal(8)],
        dtype,
    )
    _compare(
        torch,
        close,
        lambda w: F.embedding_bag(stirpile.tensor(INDICES), w, max_norm=1.0, mode="sum"),
        lambda w: torch.nn.functional.embedding_bag(
            torch.tensor(INDICES), w, max_norm=1.0, mode="sum"
        ),
        [_weight() * 2],
        dtype,
    )
    # PyTorch's own embedding_bag miscounts frequencies (index 3 of [[1, 1], [1, 3]] gets
    # 1/3): compare with its embedding followed by the bag's mean, which counts right
    _compare(
        torch,
        close,
        lambda w: F.embedding_bag(stirpile.tensor(INDICES), w, scale_grad_by_freq=True),
        lambda w: torch.nn.functional.embedding(
            torch.tensor(INDICES), w, scale_grad_by_freq=True
        ).mean(1),
        [_weight()],
        dtype,
    )


def test_embedding_bag_gradcheck():
    w = stirpile.tensor(_weight(), dtype=stirpile.float64, requires_grad=True)
    p = stirpile.tensor(np.linspace(-1, 1, 8), requires_grad=True)
    offsets = stirpile.tensor([0, 2, 2, 5])
    for mode in ["sum", "mean", "max"]:
        assert stirpile.autograd.gradcheck(
            lambda t, mode=mode: F.embedding_bag(stirpile.tensor(FLAT), t, offsets, mode=mode), [w]
        )

    def fn(t, q):
        return F.embedding_bag(stirpile.tensor(FLAT), t, offsets, mode="sum", per_sample_weights=q)

    assert stirpile.autograd.gradcheck(fn, [w, p])
    assert stirpile.autograd.gradgradcheck(fn, [w, p])


def test_embedding_bag_errors():
    w, idx = stirpile.randn(7, 3), stirpile.tensor(FLAT)
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(idx, w)
    with pytest.raises(ValueError, match="if input is 2D, then offsets has to be None"):
        F.embedding_bag(stirpile.tensor(INDICES), w, stirpile.tensor([0]))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor"):
        F.embedding_bag(idx, w, stirpile.tensor([[0]]))
    with pytest.raises(ValueError, match="input has to be 1D or 2D Tensor"):
        F.embedding_bag(stirpile.tensor(INDICES[None]), w)
    with pytest.raises(ValueError, match="weight has to be a 2D Tensor"):
        F.embedding_bag(idx, w[0], stirpile.tensor([0]))
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        F.embedding_bag(idx, w, stirpile.tensor([0]), mode="bad")
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(idx, w, stirpile.tensor([0]), per_sample_weights=stirpile.ones(8))
    with pytest.raises(ValueError, match="must have the same shape as the input"):
        F.embedding_bag(
            idx, w, stirpile.tensor([0]), mode="sum", per_sample_weights=stirpile.ones(7)
        )
    with pytest.raises(ValueError, match="max mode does not support scaling"):
        F.embedding_bag(idx, w, stirpile.tensor([0]), mode="max", scale_grad_by_freq=True)
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(idx, w, stirpile.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="can not be greater than input's length 8"):
        F.embedding_bag(idx, w, stirpile.tensor([0, 9]))
    with pytest.raises(RuntimeError, match="non-decreasing"):
        F.embedding_bag(idx, w, stirpile.tensor([0, 3, 1]))
    with pytest.raises(RuntimeError, match="while checking arguments for embedding_bag"):
        F.embedding_bag(stirpile.tensor([1.0]), w, stirpile.tensor([0]))


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"mode": "sum"},
        {"mode": "max", "padding_idx": 2, "max_norm": 1.0},
        {"norm_type": 1.0, "scale_grad_by_freq": True, "include_last_offset": True},
    ],
    ids=str,
)
def test_embedding_bag_module(torch, close, kw):
    ours, theirs = nn.EmbeddingBag(7, 4, **kw), torch.nn.EmbeddingBag(7, 4, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    ours.load_state_dict({k: stirpile.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    offsets = [0, 3, 8] if kw.get("include_last_offset") else [0, 3]
    out = ours(stirpile.tensor(FLAT), stirpile.tensor(offsets))
    close(out, theirs(torch.tensor(FLAT), torch.tensor(offsets)), rtol=1e-6, atol=1e-6)
    bag = nn.EmbeddingBag.from_pretrained(stirpile.ones(3, 2), mode="sum")
    assert not bag.weight.requires_grad
    assert bag(stirpile.tensor([[0, 1, 2]])).tolist() == [[3.0, 3.0]]


# -- RMSNorm -------------------------------------------------------------------------------

RMS_CASES = [
    ((4, 6), (6,)),
    ((2, 3, 4), (4,)),
    ((2, 3, 4), (3, 4)),
    ((5,), (5,)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,norm", RMS_CASES, ids=str)
@pytest.mark.parametrize("eps", [None, 1e-5, 0.5])
@pytest.mark.parametrize("weighted", [True, False])
def test_rms_norm_matches_torch(torch, close, shape, norm, eps, weighted, dtype):
    x = np.random.default_rng(0).standard_normal(shape) * 3
    arrays = [x, np.random.default_rng(1).standard_normal(norm)] if weighted else [x]
    _compare(
        torch,
        close,
        lambda a, *w: F.rms_norm(a, norm, *w, eps=eps),
        lambda a, *w: torch.nn.functional.rms_norm(a, norm, *w, eps=eps),
        arrays,
        dtype,
    )


def test_rms_norm_float16_is_computed_in_float32(torch, close):
    x = np.random.default_rng(0).standard_normal((3, 4)) * 300  # x² overflows float16
    ours = F.rms_norm(stirpile.tensor(x, dtype=stirpile.float16), (4,))
    theirs = torch.nn.functional.rms_norm(torch.tensor(x, dtype=torch.float16), (4,))
    close(ours, theirs, rtol=1e-3, atol=1e-3)


def test_rms_norm_eps_default_and_gradcheck():
    x32 = stirpile.zeros(2, 3)
    assert F.rms_norm(x32, (3,)).tolist() == [[0.0] * 3] * 2  # 0 / √(0 + ε), no nan
    tiny = stirpile.tensor([[1e-4, -1e-4]], dtype=stirpile.float64)  # ε matters: float64's
    expected = 1e-4 / np.sqrt(1e-8 + np.finfo(np.float64).eps)
    np.testing.assert_allclose(F.rms_norm(tiny, [2]).numpy(), [[expected, -expected]])
    x = np.random.default_rng(0).standard_normal((3, 2, 4))
    w = np.random.default_rng(1).standard_normal((2, 4))
    xs = [stirpile.tensor(a, requires_grad=True) for a in (x, w)]

    def fn(a, b):
        return F.rms_norm(a, (2, 4), b, eps=1e-3)

    assert stirpile.autograd.gradcheck(fn, xs)
    assert stirpile.autograd.gradgradcheck(fn, xs)


def test_rms_norm_errors():
    x = stirpile.randn(2, 3, 4)
    with pytest.raises(
        RuntimeError,
        match=r"expected input with shape \[\*3\], but got input of "
        r"size\[2, 3, 4\]",
    ):
        F.rms_norm(x, (3,))
    with pytest.raises(RuntimeError, match=r"shape \[\*2, 4\]"):
        F.rms_norm(x, (2, 4))
    with pytest.raises(ValueError, match="must have at least 4 dimensions, but got 3"):
        F.rms_norm(x, (2, 3, 4, 5))
    with pytest.raises(RuntimeError, match=r"weight of shape \[3\] and normalized_shape = \[4\]"):
        F.rms_norm(x, (4,), weight=stirpile.ones(3))
    with pytest.raises(RuntimeError, match="at least 1-dimensional"):
        F.rms_norm(x, [])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "args,kw",
    [((4,), {}), (([3, 4],), {"eps": 1e-5}), ((4,), {"elementwise_affine": False})],
    ids=str,
)
def test_rmsnorm_module_matches_torch(check_module, torch, args, kw, dtype):
    ours, theirs = nn.RMSNorm(*args, **kw), torch.nn.RMSNorm(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with stirpile.no_grad():
        if ours.weight is not None:
            ours.weight.copy_(stirpile.randn(*ours.weight.shape))
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    check_module(ours, theirs, x, dtype=dtype)


def test_rmsnorm_loads_torch_state_dict(torch, close):
    theirs = torch.nn.RMSNorm([3, 4])
    with torch.no_grad():
        theirs.weight.normal_()
    ours = nn.RMSNorm([3, 4])
    ours.load_state_dict({k: stirpile.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    close(ours(stirpile.tensor(x)), theirs(torch.tensor(x)), rtol=1e-6, atol=1e-6)
    assert nn.RMSNorm(4).weight.tolist() == [1.0] * 4
