"""Checkpoints: exact round trips, bit-identical resume, clear errors on bad files,
atomic writes, and no pickle anywhere."""

from __future__ import annotations

import io as pyio
import math
import os
import pickle
import struct
import sys
from collections import OrderedDict

import numpy as np
import pytest

import stirpile
from stirpile import optim
from stirpile.io import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def same(a, b):
    """Deep equality that also checks types, dtypes and requires_grad."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, stirpile.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            assert type(k) is type(next(x for x in b if x == k))
            same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b
        if isinstance(a, float):
            assert math.copysign(1, a) == math.copysign(1, b)


def test_round_trip_is_exact(tmp_path):
    stirpile.manual_seed(0)
    x = stirpile.randn(3, 4)
    obj = {
        "f32": stirpile.randn(2, 3),
        "f64": stirpile.randn(4, dtype=stirpile.float64),
        "f16": stirpile.tensor([1.5, -2.25], dtype=stirpile.float16),
        "i64": stirpile.tensor([[1, -2], [3, 2**62]]),
        "i32": stirpile.tensor([7], dtype=stirpile.int32),
        "u8": stirpile.tensor([0, 255], dtype=stirpile.uint8),
        "bool": stirpile.tensor([True, False, True]),
        "scalar_tensor": stirpile.tensor(3.5),
        "empty": stirpile.zeros(0, 3),
        "param": stirpile.randn(2, requires_grad=True),
        "ndarray": np.arange(6, dtype=np.int16).reshape(2, 3).T,  # not contiguous
        "np_scalars": [np.float32(1.25), np.int64(-3), np.bool_(True)],
        "shared": [x, x],
        "nested": {0: {"step": 3, "exp_avg": x}, 1: [1, (2, 3.0, None), ()], -7: {}},
        "tuple": (1, "a", (None,), []),
        "scalars": [0, -1, 2**100, 0.1, -0.0, math.inf, -math.inf, math.nan, True, False, None],
        "strings": ["", "héllo / wörld", '{"$": "tensor"}', "\x00"],
        3.5: "float key",
        True: "bool key",
        None: "None key",
        "ordered": OrderedDict([("b", 1), ("a", stirpile.ones(1))]),
        "rng": stirpile.get_rng_state(),
    }
    path = tmp_path / "ckpt.safetensors"
    stirpile.save(obj, path)
    back = stirpile.load(str(path))
    same(obj, back)
    # an object saved twice comes back as one object; loaded arrays are writable copies
    assert back["shared"][0] is back["shared"][1]
    back["f32"]._data += 1
    assert isinstance(back["nested"][0]["exp_avg"], stirpile.Tensor)


def test_file_objects_work_too():
    buffer = pyio.BytesIO()
    stirpile.save({"w": stirpile.ones(2), "n": (1, 2)}, buffer)
    buffer.seek(0)
    back = stirpile.load(buffer)
    same(back, {"w": stirpile.ones(2), "n": (1, 2)})
    with pytest.raises(CheckpointError, match="<file object>: empty file"):
        stirpile.load(pyio.BytesIO(b""))


def test_rng_state_round_trip_restores_the_stream(tmp_path):
    stirpile.manual_seed(123)
    stirpile.randn(5)
    stirpile.save({"rng": stirpile.get_rng_state()}, tmp_path / "rng.st")
    expected = stirpile.randn(4).numpy().copy()
    stirpile.manual_seed(999)
    stirpile.set_rng_state(stirpile.load(tmp_path / "rng.st")["rng"])
    np.testing.assert_array_equal(stirpile.randn(4).numpy(), expected)


def test_file_is_plain_safetensors_with_readable_names(tmp_path):
    path = tmp_path / "m.safetensors"
    w = stirpile.ones(2, 2)
    stirpile.save(
        {"model": {"fc.weight": w}, "optimizer": {"state": {0: {"exp_avg": w * 2}}}}, path
    )
    arrays = safetensors_numpy.load_file(str(path))
    assert sorted(arrays) == ["model/fc.weight", "optimizer/state/0/exp_avg"]
    np.testing.assert_array_equal(arrays["optimizer/state/0/exp_avg"], np.full((2, 2), 2.0))


# -- resume -------------------------------------------------------------------------------
def mlp_params():
    stirpile.manual_seed(42)
    return [
        (stirpile.randn(4, 8) * 0.5).requires_grad_(),
        stirpile.zeros(8, requires_grad=True),
        (stirpile.randn(8, 3) * 0.5).requires_grad_(),
        stirpile.zeros(3, requires_grad=True),
    ]


def train(params, opt, steps):
    """Mini-batches drawn from the global generator, so resuming needs the RNG state too."""
    for _ in range(steps):
        x = stirpile.randn(16, 4)
        y = stirpile.randint(0, 3, (16,))
        w1, b1, w2, b2 = params
        logits = (x @ w1 + b1).tanh() @ w2 + b2
        loss = -logits.log_softmax(-1).gather(1, y.reshape(16, 1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_resume_from_checkpoint_is_bit_identical(tmp_path):
    params = mlp_params()
    opt = optim.Adam(params, lr=0.01, amsgrad=True)
    train(params, opt, 20)
    reference = [p.detach().numpy().copy() for p in params]

    params = mlp_params()
    opt = optim.Adam(params, lr=0.01, amsgrad=True)
    train(params, opt, 10)
    path = tmp_path / "ckpt.safetensors"
    stirpile.save(
        {"params": params, "optimizer": opt.state_dict(), "epoch": 10,
         "rng": stirpile.get_rng_state()},
        path,
    )  # fmt: skip
    train(params, opt, 3)  # the run goes on, and is then "lost"
    stirpile.manual_seed(0)

    ckpt = stirpile.load(path)
    params = ckpt["params"]
    assert all(p.requires_grad and p.dtype == stirpile.float32 for p in params)
    opt = optim.Adam(params, lr=0.01, amsgrad=True)
    opt.load_state_dict(ckpt["optimizer"])
    stirpile.set_rng_state(ckpt["rng"])
    assert ckpt["epoch"] == 10 and opt.state[params[0]]["step"] == 10
    train(params, opt, 10)
    for p, r in zip(params, reference):
        assert np.array_equal(p.detach().numpy(), r)


def _nn():
    """stirpile.nn, if it is there yet with the layers this test needs; else skip."""
    nn = getattr(stirpile, "nn", None) or pytest.importorskip("stirpile.nn")
    if not all(hasattr(nn, name) for name in ("Sequential", "Linear", "Tanh")):
        pytest.skip("stirpile.nn has no Sequential/Linear/Tanh yet")
    return nn


def test_module_state_dict_round_trip(tmp_path):
    nn = _nn()
    stirpile.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    state = model.state_dict()
    stirpile.save({"model": state}, tmp_path / "model.safetensors")
    back = stirpile.load(tmp_path / "model.safetensors")["model"]
    same(state, back)
    other = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    other.load_state_dict(back)
    for (k, a), (_, b) in zip(state.items(), other.state_dict().items()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy()), k


# -- bad files ----------------------------------------------------------------------------
@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    stirpile.save({"w": stirpile.arange(10.0), "step": 1}, path)
    return path


def expect_error(path, match):
    with pytest.raises(CheckpointError, match=match) as info:
        stirpile.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    expect_error(path, "empty file")


def test_not_a_safetensors_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not a checkpoint at all\n")
    expect_error(path, "header length .* exceeds")
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"abc")
    expect_error(tiny, "too short")
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    expect_error(pickled, "not a safetensors file")


def test_truncated_file(good_file):
    data = good_file.read_bytes()
    good_file.write_bytes(data[:-7])
    message = expect_error(good_file, "truncated")
    assert "data section has" in message
    good_file.write_bytes(data[:20])
    expect_error(good_file, "header length .* exceeds")


def test_flipped_header_bytes(good_file):
    data = bytearray(good_file.read_bytes())
    data[8] ^= 0xFF  # the header's opening brace
    good_file.write_bytes(bytes(data))
    expect_error(good_file, "corrupt header: invalid (UTF-8|JSON) at byte offset 8")

    data[8] ^= 0xFF
    n = struct.unpack("<Q", data[:8])[0]
    header = bytes(data[8 : 8 + n])
    at = header.index(b"data_offsets")
    data[8 + at] = ord("X")  # a tensor entry loses its offsets
    good_file.write_bytes(bytes(data))
    expect_error(good_file, "bad entry for tensor")


def test_tampered_structure_and_plain_safetensors(tmp_path):
    plain = tmp_path / "plain.safetensors"
    safetensors_numpy.save_file({"w": np.zeros(3, np.float32)}, str(plain))
    expect_error(plain, "not a stirpile checkpoint")

    odd = tmp_path / "odd.safetensors"
    meta = '{"format": "stirpile.checkpoint", "version": 1, "tree": {"$": "pickle", "items": []}}'
    odd.write_bytes(safetensors_numpy.save({}, metadata={"__stirpile__": meta}))
    expect_error(odd, "unknown node type 'pickle'")

    missing = tmp_path / "missing.safetensors"
    meta = '{"format": "stirpile.checkpoint", "version": 1, "tree": {"$": "tensor", "key": "nope"}}'
    missing.write_bytes(safetensors_numpy.save({}, metadata={"__stirpile__": meta}))
    expect_error(missing, "'nope' is referenced but not in the file")

    future = tmp_path / "future.safetensors"
    meta = '{"format": "stirpile.checkpoint", "version": 99, "tree": null}'
    future.write_bytes(safetensors_numpy.save({}, metadata={"__stirpile__": meta}))
    expect_error(future, "version 99")


def test_load_never_uses_pickle(good_file, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("pickle used")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, boom)
    monkeypatch.setattr(np, "load", boom)
    assert stirpile.load(good_file)["step"] == 1
    data = good_file.read_bytes()
    assert data[8:9] == b"{" and b"\x80\x04\x95" not in data  # no pickle protocol-4 frame


# -- atomic writes ------------------------------------------------------------------------
def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("where", ["replace", "fsync", "write"])
def test_crash_during_save_keeps_previous_file(tmp_path, monkeypatch, where):
    path = tmp_path / "ckpt.safetensors"
    stirpile.save({"version": 1, "w": stirpile.ones(3)}, path)

    def crash(*args, **kwargs):
        raise OSError("simulated crash")

    if where == "write":
        real_fdopen = os.fdopen

        class Crashing:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                self.f.write(data[: len(data) // 2])  # half written, then the "crash"
                raise OSError("simulated crash")

        monkeypatch.setattr(os, "fdopen", lambda fd, mode: Crashing(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(os, where, crash)
    with pytest.raises(OSError, match="simulated crash"):
        stirpile.save({"version": 2, "w": stirpile.zeros(1000)}, path)
    monkeypatch.undo()
    assert stirpile.load(path)["version"] == 1
    assert leftovers(tmp_path) == []


def test_save_replaces_atomically_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    for version in range(3):
        stirpile.save({"version": version}, path)
    assert stirpile.load(path)["version"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]


def test_unsupported_objects_raise_type_error_naming_where(tmp_path):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match=r"set.*'a/0'"):
        stirpile.save({"a": [{1, 2}]}, path)
    with pytest.raises(TypeError, match="dict keys"):
        stirpile.save({(1, 2): 3}, path)
    with pytest.raises(TypeError, match="dtype"):
        stirpile.save({"s": np.array(["x"])}, path)
    assert not path.exists() and leftovers(tmp_path) == []


def test_missing_safetensors_gives_clear_import_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install safetensors"):
        stirpile.save({"a": 1}, tmp_path / "x")
    with pytest.raises(ImportError, match=r"stirpile\[train\]"):
        stirpile.load(tmp_path / "x")
