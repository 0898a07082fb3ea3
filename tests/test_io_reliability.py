"""Checkpoints that were damaged or forged are refused with CheckpointError: flipped data
bytes (per-tensor CRC-32), absurd header numbers; written files get the umask's
permissions."""

from __future__ import annotations

import json
import os
import stat
import struct

import numpy as np
import pytest

import stirpile
from stirpile.io import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _parts(path):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def _write(path, header, body):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)


@pytest.fixture
def ckpt(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    stirpile.save({"w": stirpile.arange(8.0), "b": np.ones(3, np.int64), "step": 1}, path)
    return path


def test_a_flipped_data_byte_is_detected(ckpt):
    header, body = _parts(ckpt)
    begin, _ = header["w"]["data_offsets"]
    data = bytearray(ckpt.read_bytes())
    n = len(data) - len(body)
    data[n + begin + 5] ^= 0x04  # one bit of one float: still a valid number
    ckpt.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"tensor 'w'.*CRC-32"):
        stirpile.load(ckpt)


def test_checksums_sit_in_the_metadata(ckpt):
    header, _ = _parts(ckpt)
    meta = json.loads(header["__metadata__"]["__stirpile__"])
    assert set(meta["crc32"]) == {k for k in header if k != "__metadata__"}


def test_files_without_checksums_still_load(tmp_path, ckpt):
    header, body = _parts(ckpt)
    meta = json.loads(header["__metadata__"]["__stirpile__"])
    del meta["crc32"]
    header["__metadata__"]["__stirpile__"] = json.dumps(meta)
    old = tmp_path / "old.safetensors"
    _write(old, header, body)
    state = stirpile.load(old)
    assert state["step"] == 1 and state["w"].tolist() == list(range(8))


def _forge(path, tmp_path, **changes):
    header, body = _parts(path)
    header["w"].update(changes)
    bad = tmp_path / "bad.safetensors"
    _write(bad, header, body)
    return bad


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"shape": [2**62, 2**62]}, r"tensor 'w'.*needs more than"),
        ({"shape": [-8]}, r"tensor 'w' has shape"),
        ({"shape": [3]}, r"tensor 'w'.*needs 12 bytes"),
        ({"dtype": "Q99"}, r"tensor 'w' has dtype"),
        ({"data_offsets": [-8, 24]}, r"tensor 'w'"),
        ({"data_offsets": [0, 2**70]}, r"tensor 'w'"),
        ({"data_offsets": [0, 32.0]}, r"tensor 'w'"),
    ],
)
def test_absurd_header_numbers_are_checkpoint_errors(ckpt, tmp_path, changes, needle):
    with pytest.raises(CheckpointError, match=needle):
        stirpile.load(_forge(ckpt, tmp_path, **changes))


def test_a_huge_integer_in_the_header_is_a_checkpoint_error(ckpt, tmp_path):
    header, body = _parts(ckpt)
    raw = json.dumps(header).replace('"data_offsets": [0', '"data_offsets": [' + "9" * 5000, 1)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", len(raw)) + raw.encode() + body)
    with pytest.raises(CheckpointError, match="corrupt header"):  # not a bare ValueError
        stirpile.load(bad)

    meta = json.loads(header["__metadata__"]["__stirpile__"])
    header["__metadata__"]["__stirpile__"] = json.dumps(meta).replace(
        '["step", 1]', '["step", ' + "9" * 5000 + "]"
    )
    _write(bad, header, body)
    with pytest.raises(CheckpointError, match="metadata"):
        stirpile.load(bad)


def test_header_length_beyond_the_file(ckpt):
    data = bytearray(ckpt.read_bytes())
    data[:8] = struct.pack("<Q", 2**63)
    ckpt.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="exceeds"):
        stirpile.load(ckpt)


def test_saved_files_get_the_umask_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        stirpile.save({"x": 1}, tmp_path / "a.ckpt")
        from stirpile.io import atomic_write

        atomic_write(tmp_path / "b.txt", "hello")
    finally:
        os.umask(old)
    for name in ("a.ckpt", "b.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640, name
    assert (tmp_path / "b.txt").read_text() == "hello"


def test_an_interrupt_during_atomic_write_leaves_no_temp_file(tmp_path, monkeypatch):
    from stirpile.io import atomic_write

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "x.json", "{}")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
