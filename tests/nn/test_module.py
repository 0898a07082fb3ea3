"""Module machinery: registration, iteration order, state dicts (keys as PyTorch's,
loads that fail change nothing), modes, hooks, dtype moves, containers and repr."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import stirpile
from stirpile import nn


class Block(nn.Module):
    def __init__(self, L):
        super().__init__()
        self.fc = L.nn.Linear(3, 4)
        self.norm = L.nn.BatchNorm1d(4)
        self.scale = L.nn.Parameter(L.ones(4))
        self.register_buffer("steps", L.zeros(1))
        self.register_buffer("cache", L.zeros(2), persistent=False)


def _block(L):
    """The same model for L = stirpile or torch (nested modules, params, buffers)."""
    base = L.nn.Module if L is not stirpile else nn.Module

    class Net(base):
        def __init__(self):
            super().__init__()
            self.scale = L.nn.Parameter(L.ones(4))
            self.body = L.nn.Sequential(L.nn.Linear(3, 4), L.nn.ReLU(), L.nn.Linear(4, 4))
            self.norm = L.nn.BatchNorm1d(4)
            self.register_buffer("steps", L.zeros(1))
            self.register_buffer("cache", L.zeros(2), persistent=False)
            self.heads = L.nn.ModuleList([L.nn.Linear(4, 2), L.nn.Linear(4, 1)])
            self.extra = L.nn.ModuleDict({"b": L.nn.Linear(4, 1), "a": L.nn.PReLU()})

        def forward(self, x):
            return self.heads[0](self.norm(self.body(x)) * self.scale)

    return Net()


def _mlp(L):
    return L.nn.Sequential(L.nn.Linear(4, 8), L.nn.BatchNorm1d(8), L.nn.ReLU(), L.nn.Linear(8, 2))


# -- registration and iteration -------------------------------------------------------------


def test_names_and_order_match_torch(torch):
    ours, theirs = _block(stirpile), _block(torch)
    for method in ["named_parameters", "named_buffers", "named_modules", "named_children"]:
        a = [n for n, _ in getattr(ours, method)()]
        b = [n for n, _ in getattr(theirs, method)()]
        assert a == b, method
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.children())) == len(list(theirs.children()))
    assert [n for n, _ in ours.named_parameters(prefix="m", recurse=False)] == ["m.scale"]


def test_state_dict_keys_match_torch_for_mlp(torch):
    ours, theirs = _mlp(stirpile), _mlp(torch)
    assert (
        list(ours.state_dict())
        == list(theirs.state_dict())
        == [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var",
            "1.num_batches_tracked",
            "3.weight",
            "3.bias",
        ]
    )
    sd = ours.state_dict()
    assert isinstance(sd, OrderedDict)
    assert sd["1.num_batches_tracked"].dtype == stirpile.int64
    assert not sd["0.weight"].requires_grad
    with stirpile.no_grad():
        ours[0].weight.add_(1.0)  # state dict values share memory with the model
    np.testing.assert_array_equal(sd["0.weight"].numpy(), ours[0].weight.detach().numpy())
    assert ours.state_dict(keep_vars=True)["0.weight"] is ours[0].weight


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(stirpile.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("buf", stirpile.ones(3))
    m.plain = stirpile.zeros(1)  # a plain tensor attribute is not registered
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"]
    assert list(m._buffers) == ["buf"]
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    m.w = None  # a parameter slot may hold None (like bias=False)
    assert [n for n, _ in m.named_parameters()] == ["sub.weight", "sub.bias"]
    with pytest.raises(TypeError, match="cannot assign"):
        m.w = stirpile.zeros(2)
    m.buf = stirpile.zeros(3)  # buffers can be reassigned with tensors
    assert m.buf.numpy().sum() == 0
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = m.nothing
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", stirpile.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", stirpile.zeros(1))
    with pytest.raises(TypeError):
        m.register_parameter("p", stirpile.zeros(1))
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("p", nn.Parameter(stirpile.zeros(1)) * 2)  # a result, not a leaf

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(stirpile.zeros(1))

    with pytest.raises(AttributeError, match=r"before Module\.__init__"):
        Early()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_shared_parameters_and_modules_counted_once(torch):
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    tlin = torch.nn.Linear(2, 2)
    tseq = torch.nn.Sequential(tlin, torch.nn.ReLU(), tlin)
    assert [n for n, _ in seq.named_parameters()] == [n for n, _ in tseq.named_parameters()]
    assert [n for n, _ in seq.named_modules()] == [n for n, _ in tseq.named_modules()]
    assert list(seq.state_dict()) == list(tseq.state_dict())


def test_non_persistent_buffer():
    m = _block(stirpile)
    assert "cache" in dict(m.named_buffers())
    assert "cache" not in m.state_dict()


def test_parameter():
    t = stirpile.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf and isinstance(p, stirpile.Tensor)
    with stirpile.no_grad():
        p.mul_(3)
    assert t.tolist() == [3.0, 6.0]  # shares the tensor's memory, as in PyTorch
    assert repr(nn.Parameter(stirpile.zeros(2))) == (
        "Parameter containing:\ntensor([0., 0.], requires_grad=True)"
    )
    assert not nn.Parameter(stirpile.zeros(1), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad and q.tolist() == [3.0, 6.0]
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.tolist() == [3.0, 6.0]
    assert type(p * 2) is stirpile.Tensor  # results of ops are plain tensors


def test_deepcopy_and_pickle_model():
    stirpile.manual_seed(0)
    model = _mlp(stirpile)
    x = stirpile.randn(5, 4)
    model.eval()
    y = model(x).detach().numpy()
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(clone(x).detach().numpy(), y)
        with stirpile.no_grad():
            clone[0].weight.zero_()
        assert model[0].weight.detach().numpy().any()  # independent copy


# -- load_state_dict --------------------------------------------------------------------------


def test_load_state_dict_roundtrip_and_from_torch(torch, close):
    src, dst = _mlp(stirpile), _mlp(stirpile)
    x = stirpile.randn(6, 4)
    src.train()(x)  # moves the running statistics
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    # weights from torch, through numpy
    theirs = _mlp(torch)
    ours = _mlp(stirpile)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval(), theirs.eval()
    xn = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    close(ours(stirpile.tensor(xn)), theirs(torch.tensor(xn)), rtol=1e-5, atol=1e-6)


def test_load_state_dict_errors_all_in_one_message_and_nothing_changes():
    model = nn.Sequential(OrderedDict(fc=nn.Linear(4, 4), bn=nn.BatchNorm1d(4)))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    bad = {
        k: stirpile.randn(*v.shape) if v.dtype.kind == "f" else v
        for k, v in model.state_dict().items()
    }
    bad["fc.weight"] = stirpile.randn(3, 4)  # wrong shape
    del bad["bn.running_var"]  # missing
    bad["fc.extra"] = stirpile.zeros(1)  # unexpected
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(bad)
    msg = str(err.value)
    assert msg.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "bn.running_var".' in msg
    assert 'Unexpected key(s) in state_dict: "fc.extra".' in msg
    assert (
        "size mismatch for fc.weight: copying a param with shape (3, 4) from checkpoint, "
        "the shape in current model is (4, 4)." in msg
    )
    assert msg.index("Missing") < msg.index("Unexpected") < msg.index("size mismatch")
    for k, v in model.state_dict().items():  # nothing was copied, not even the valid entries
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)
    # strict=False: missing/unexpected are reported, shape mismatches still raise
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict(bad, strict=False)
    bad["fc.weight"] = stirpile.randn(4, 4)
    missing, unexpected = model.load_state_dict(bad, strict=False)
    assert missing == ["bn.running_var"] and unexpected == ["fc.extra"]
    np.testing.assert_array_equal(model.fc.weight.detach().numpy(), bad["fc.weight"].numpy())
    with pytest.raises(TypeError):
        model.load_state_dict([1, 2])


def test_load_state_dict_casts_and_assign():
    m = nn.Linear(2, 2)
    sd = {"weight": np.ones((2, 2)), "bias": np.zeros(2)}  # float64 arrays into float32 params
    m.load_state_dict(sd)
    assert m.weight.dtype == stirpile.float32 and m.weight.detach().numpy().sum() == 4
    w = stirpile.full((2, 2), 2.0)
    m.load_state_dict({"weight": w, "bias": stirpile.zeros(2)}, assign=True)
    assert m.weight.requires_grad and isinstance(m.weight, nn.Parameter)
    with stirpile.no_grad():
        w.add_(1)
    assert float(m.weight.sum()) == 12.0  # assign=True shares the given tensor


def test_load_torch_module_from_stirpile_state(torch, torch_state, close):
    ours, theirs = _block(stirpile), _block(torch)
    theirs.load_state_dict(torch_state(ours))
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
        close(a, b, rtol=0, atol=0)


# -- modes, grads, dtype ------------------------------------------------------------------------


def test_train_eval_propagate():
    model = _block(stirpile)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.heads.eval()
    assert model.training and not model.heads[1].training and model.body[0].training
    with pytest.raises(ValueError):
        model.train("no")


def test_zero_grad_apply_requires_grad():
    model = _mlp(stirpile)
    model(stirpile.randn(4, 4)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Sequential"]  # children first
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_to_dtype():
    model = _mlp(stirpile)
    model(stirpile.randn(4, 4)).sum().backward()
    assert model.double() is model
    assert all(p.dtype == stirpile.float64 for p in model.parameters())
    assert all(p.grad.dtype == stirpile.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == stirpile.float64
    assert model[1].num_batches_tracked.dtype == stirpile.int64  # integer buffers are kept
    assert isinstance(model[0].weight, nn.Parameter) and model[0].weight.requires_grad
    model(stirpile.randn(4, 4, dtype=stirpile.float64))
    model.float()
    assert model[0].weight.dtype == stirpile.float32
    assert model.to("cpu") is model and model.to(stirpile.float64, "cpu") is model
    with pytest.raises(RuntimeError, match="CPU only"):
        model.to("cuda")


# -- hooks --------------------------------------------------------------------------------------


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append("post") or out + 1)
    x = stirpile.randn(3, 2)
    y = lin(x)
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(
        y.detach().numpy(), np.broadcast_to(lin.bias.detach().numpy() + 1, (3, 2))
    )
    h1.remove()
    h2.remove()
    np.testing.assert_array_equal(lin(x).detach().numpy(), lin.forward(x).detach().numpy())
    # a pre-hook may return a single value; hooks as context managers; prepend; kwargs
    with lin.register_forward_pre_hook(lambda m, args: args[0] * 0):
        assert np.allclose(lin(x).detach().numpy(), lin.bias.detach().numpy())
    assert lin(x).detach().numpy().tolist() == lin.forward(x).detach().numpy().tolist()
    order = []
    lin.register_forward_hook(lambda m, a, o: order.append(1))
    lin.register_forward_hook(lambda m, a, o: order.append(0), prepend=True)
    lin.register_forward_hook(lambda m, a, kw, o: order.append(kw), with_kwargs=True)
    lin(x)
    assert order == [0, 1, {}]

    class Scaled(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    s = Scaled()
    s.register_forward_pre_hook(lambda m, args, kwargs: (args, {"scale": 3.0}), with_kwargs=True)
    assert s(stirpile.ones(1)).tolist() == [3.0]


# -- containers ---------------------------------------------------------------------------------


def test_sequential():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert list(sub._modules) == ["1", "2"]  # slicing keeps names, as in PyTorch
    x = stirpile.randn(4, 2)
    np.testing.assert_array_equal(seq(x).detach().numpy(), c(b(a(x))).detach().numpy())
    d = nn.Tanh()
    seq.append(d)
    assert seq[3] is d and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq) == [a, c, d] and list(seq._modules) == ["0", "1", "2"]
    seq[1] = b
    assert list(seq) == [a, b, d]
    seq.insert(1, c)
    assert list(seq) == [a, c, b, d]
    assert seq.pop(0) is a and len(seq) == 3
    named = nn.Sequential(OrderedDict(first=a, second=b))
    assert named.first is a and [n for n, _ in named.named_children()] == ["first", "second"]
    assert len(nn.Sequential(a) + nn.Sequential(b, c)) == 3
    with pytest.raises(IndexError):
        seq[5]


def test_module_list_and_dict(torch):
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    assert len(layers) == 5 and isinstance(layers[-1], nn.Tanh)
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2", "3"]
    theirs = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])
    ours = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(ours) == repr(theirs)  # "(0-2): 3 x Linear(...)"
    heads = nn.ModuleDict({"b": nn.Linear(2, 1)})
    heads["a"] = nn.Linear(2, 3)
    assert list(heads) == ["b", "a"] and "a" in heads and len(heads) == 2
    assert [n for n, _ in heads.named_parameters()] == ["b.weight", "b.bias", "a.weight", "a.bias"]
    assert isinstance(heads.pop("b"), nn.Linear) and list(heads.keys()) == ["a"]


def test_repr_matches_torch(torch):
    def mlp(L):
        return L.nn.Sequential(
            L.nn.Flatten(),
            L.nn.Linear(784, 128),
            L.nn.BatchNorm1d(128),
            L.nn.ReLU(),
            L.nn.Dropout(0.2),
            L.nn.Linear(128, 64),
            L.nn.LeakyReLU(0.1),
            L.nn.Linear(64, 10),
            L.nn.LogSoftmax(dim=1),
        )

    assert repr(mlp(stirpile)) == repr(mlp(torch))
    assert repr(_block(stirpile)) == repr(_block(torch))
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential())
