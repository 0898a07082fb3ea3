"""IDX reader/writer: the real MNIST files and every kind of malformed file."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from stirpile.data.datasets import MNIST, IDXError, read_idx, write_idx

# sha256 of the *decompressed* t10k files, as published independently of
# this project: re-serialising our decoded arrays must reproduce them.
RAW_SHA256 = {
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def _serialise(a: np.ndarray, code: int) -> bytes:
    """Independent IDX encoder (no write_idx) for checksum comparison."""
    head = bytes([0, 0, code, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return head + a.tobytes()


# -- the real files ---------------------------------------------------------


@pytest.mark.parametrize("fname", sorted(RAW_SHA256))
def test_t10k_decodes_to_published_bytes(offline_mnist, fname):
    path = offline_mnist / fname
    assert hashlib.sha256(path.read_bytes()).hexdigest() == MNIST.sha256[fname]
    a = read_idx(path)
    shape = (10000, 28, 28) if "images" in fname else (10000,)
    assert a.shape == shape and a.dtype == np.uint8
    assert a.flags.writeable
    assert hashlib.sha256(_serialise(a, 0x08)).hexdigest() == RAW_SHA256[fname]


def test_t10k_known_facts(offline_mnist):
    labels = read_idx(offline_mnist / "t10k-labels-idx1-ubyte.gz")
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    images = read_idx(offline_mnist / "t10k-images-idx3-ubyte.gz")
    assert images.max() == 255 and images.min() == 0
    assert abs(images.mean() / 255 - 0.1325) < 1e-3  # the well-known test-set mean


def test_train5k(offline_mnist):
    for fname in ("train5k-images-idx3-ubyte.gz", "train5k-labels-idx1-ubyte.gz"):
        assert (
            hashlib.sha256((offline_mnist / fname).read_bytes()).hexdigest() == MNIST.sha256[fname]
        )
    images = read_idx(offline_mnist / "train5k-images-idx3-ubyte.gz")
    labels = read_idx(offline_mnist / "train5k-labels-idx1-ubyte.gz")
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [500] * 10
    raw = gzip.decompress((offline_mnist / "train5k-images-idx3-ubyte.gz").read_bytes())
    assert _serialise(images, 0x08) == raw


# -- round trips ------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_roundtrip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = write_idx(tmp_path / f"a.idx{suffix}", a)
    b = read_idx(path)
    assert b.dtype == a.dtype and b.dtype.isnative and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def test_big_endian_on_disk(tmp_path):
    write_idx(tmp_path / "x", np.array([1, 256], dtype=np.int32))
    assert (tmp_path / "x").read_bytes() == bytes.fromhex("00000c01 00000002 00000001 00000100")


def test_gzip_detected_by_magic_not_name(tmp_path):
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    gz = write_idx(tmp_path / "a.gz", a)
    renamed = gz.rename(tmp_path / "plain-looking-name")
    np.testing.assert_array_equal(read_idx(renamed), a)
    raw = write_idx(tmp_path / "raw", a).rename(tmp_path / "raw-named.gz")
    np.testing.assert_array_equal(read_idx(raw), a)


def test_gzip_output_is_deterministic(tmp_path):
    a = np.arange(100, dtype=np.uint8)
    assert (
        write_idx(tmp_path / "1.gz", a).read_bytes() == write_idx(tmp_path / "2.gz", a).read_bytes()
    )


def test_empty_dimension_is_legal(tmp_path):
    assert read_idx(write_idx(tmp_path / "e", np.zeros((0, 28), np.uint8))).shape == (0, 28)


# -- malformed files: the error names the file and the problem --------------

GOOD = bytes.fromhex("00000803 00000002 00000002 00000003") + bytes(range(12))


def _bad(tmp_path: Path, content: bytes, name: str = "bad.idx") -> Path:
    p = tmp_path / name
    p.write_bytes(content)
    return p


def _error(path: Path) -> str:
    with pytest.raises(IDXError) as info:
        read_idx(path)
    assert isinstance(info.value, ValueError)
    msg = str(info.value)
    assert str(path) in msg
    return msg


def test_good_fixture_is_good(tmp_path):
    assert read_idx(_bad(tmp_path, GOOD)).shape == (2, 2, 3)


def test_wrong_magic(tmp_path):
    msg = _error(_bad(tmp_path, b"\x89PNG" + GOOD[4:]))
    assert "magic" in msg and "offset 0" in msg and "89 50 4e 47" in msg


def test_unsupported_type_code(tmp_path):
    msg = _error(_bad(tmp_path, b"\x00\x00\x07\x03" + GOOD[4:]))
    assert "type code 0x07" in msg


@pytest.mark.parametrize("ndim", [0, 200])
def test_bad_ndim(tmp_path, ndim):
    msg = _error(_bad(tmp_path, bytes([0, 0, 8, ndim]) + GOOD[4:]))
    assert f"dimensions {ndim}" in msg


@pytest.mark.parametrize("cut", [0, 3, 9, 15])
def test_truncated_header(tmp_path, cut):
    msg = _error(_bad(tmp_path, GOOD[:cut]))
    assert "truncated header" in msg and "offset" in msg


def test_truncated_data(tmp_path):
    msg = _error(_bad(tmp_path, GOOD[:-5]))
    assert "truncated data" in msg and "need 12 bytes" in msg and "got 7" in msg


def test_wrong_dims(tmp_path):
    # header claims 2x2x4 = 16 bytes, file has 12
    content = bytes.fromhex("00000803 00000002 00000002 00000004") + bytes(12)
    msg = _error(_bad(tmp_path, content))
    assert "(2, 2, 4)" in msg and "need 16 bytes" in msg and "got 12" in msg


def test_trailing_bytes(tmp_path):
    msg = _error(_bad(tmp_path, GOOD + b"junk"))
    assert "4 trailing byte" in msg and "offset 28" in msg


def test_errors_inside_gzip_name_the_file(tmp_path):
    msg = _error(_bad(tmp_path, gzip.compress(GOOD[:-1]), "short.gz"))
    assert "truncated data" in msg and "gunzip" in msg


def test_corrupt_gzip_truncated_stream(tmp_path):
    z = gzip.compress(GOOD * 100)
    msg = _error(_bad(tmp_path, z[: len(z) // 2], "cut.gz"))
    assert "corrupt gzip" in msg


def test_corrupt_gzip_flipped_bytes(tmp_path):
    z = bytearray(gzip.compress(GOOD))
    z[-6] ^= 0xFF  # inside the CRC32 trailer
    msg = _error(_bad(tmp_path, bytes(z), "crc.gz"))
    assert "corrupt gzip" in msg


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_write_idx_rejects_unsupported(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint16))
    with pytest.raises(ValueError, match="ndim"):
        write_idx(tmp_path / "x", np.uint8(3))
