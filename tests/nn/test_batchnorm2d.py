"""BatchNorm2d against PyTorch: outputs and gradients in training, running statistics
after several steps (momentum and cumulative average), evaluation, the switches
(affine, bias, track_running_stats), state-dict keys, repr and input-rank errors;
float64 gradcheck and gradgradcheck of the 4-d batch norm."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
import stirpile.nn.functional as F
from stirpile import nn

torch = pytest.importorskip("torch")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape) * 2 + 0.5


CONFIGS = [
    {},
    {"momentum": None},
    {"momentum": 0.3, "eps": 1e-3},
    {"affine": False},
    {"bias": False},
    {"track_running_stats": False},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kw", CONFIGS, ids=str)
def test_train_steps_then_eval_match_torch(check_module, kw, dtype):
    ours, theirs = nn.BatchNorm2d(3, **kw), torch.nn.BatchNorm2d(3, **kw)
    if ours.affine:
        with stirpile.no_grad():
            ours.weight.copy_(stirpile.tensor([0.5, 1.5, -1.0]))
            if ours.bias is not None:
                ours.bias.copy_(stirpile.tensor([0.1, -0.2, 0.3]))
    check_module.copy_state(ours, theirs)
    for step in range(3):  # running stats (buffers) compared after each step
        for m in (ours, theirs):
            m.zero_grad()
        check_module(ours, theirs, _x(4, 3, 5, 6, seed=step), dtype=dtype)
    check_module(ours, theirs, _x(2, 3, 4, 4, seed=9), dtype=dtype, train=False)
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked) == 3


def test_state_dict_keys_and_repr_match_torch():
    for kw in CONFIGS:
        ours, theirs = nn.BatchNorm2d(4, **kw), torch.nn.BatchNorm2d(4, **kw)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert repr(ours) == repr(theirs)
    bn = nn.BatchNorm2d(4)
    assert bn.num_batches_tracked.dtype == stirpile.int64
    assert bn.running_var.dtype == stirpile.float32


def test_load_torch_state_dict_and_eval(close):
    theirs = torch.nn.BatchNorm2d(3).double()
    for step in range(2):
        theirs(torch.tensor(_x(8, 3, 4, 4, seed=step)))
    ours = nn.BatchNorm2d(3, dtype=stirpile.float64)
    ours.load_state_dict({k: stirpile.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = _x(2, 3, 4, 4, seed=5)
    close(ours.eval()(stirpile.tensor(x)), theirs.eval()(torch.tensor(x)))


def test_statistics_are_over_batch_and_space():
    y = nn.BatchNorm2d(5)(stirpile.tensor(_x(6, 5, 3, 4), dtype=stirpile.float32)).detach().numpy()
    np.testing.assert_allclose(y.mean((0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var((0, 2, 3)), 1, atol=1e-3)


def test_wrong_rank_errors_as_torch():
    for shape in [(3, 4, 4), (2, 3), (1, 2, 3, 4, 5)]:
        with pytest.raises(ValueError) as theirs:
            torch.nn.BatchNorm2d(3)(torch.zeros(shape))
        with pytest.raises(ValueError, match=str(theirs.value).replace("(", r"\(")
                           .replace(")", r"\)")):  # fmt: skip
            nn.BatchNorm2d(3)(stirpile.zeros(shape))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(stirpile.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        nn.BatchNorm2d(3)(stirpile.zeros(1, 3, 1, 1))


def test_batch_norm_4d_gradcheck(grad_check):
    w, b = _x(3, seed=1), _x(3, seed=2)

    def fn(x, weight, bias):
        return F.batch_norm(x, None, None, weight, bias, training=True)

    grad_check(fn, _x(2, 3, 3, 2), w, b, gradgrad=True)
    rm, rv = stirpile.tensor(_x(3, seed=3)), stirpile.tensor(np.abs(_x(3, seed=4)) + 0.5)
    grad_check(lambda x, w, b: F.batch_norm(x, rm, rv, w, b), _x(2, 3, 3, 2), w, b,
               gradgrad=True)  # fmt: skip


def test_batchnorm1d_still_matches_torch(check_module):
    ours, theirs = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    check_module(ours, theirs, _x(5, 3, 4))
    check_module(ours, theirs, _x(5, 3, 4, seed=1), train=False)
    assert type(ours).__mro__[1] is type(nn.BatchNorm2d(3)).__mro__[1]  # one shared base
