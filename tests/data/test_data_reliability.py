"""Issue 11, the data side: no silent wrong batch, no wrong data set, no gzip bomb, no
crash on an unusable cache, labs that read only the data they are given."""

from __future__ import annotations

import collections
import gzip
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import stirpile
from stirpile.data import DataLoader, TensorDataset, default_collate, require_batches
from stirpile.data.datasets import (
    MNIST,
    ChecksumError,
    FashionMNIST,
    IDXError,
    read_idx,
    write_idx,
)

DEAD_MIRROR = "http://127.0.0.1:9/"  # the discard port: nothing listens, refused at once


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """A private empty cache and mirrors that refuse at once: no test touches the network
    or the user's cache."""
    monkeypatch.setenv("STIRPILE_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("STIRPILE_MNIST_MIRROR", DEAD_MIRROR)
    monkeypatch.setenv("STIRPILE_FASHIONMNIST_MIRROR", DEAD_MIRROR)


# -- default_collate -------------------------------------------------------------------------
MIXED = [[1, 2.5], [2.5, 1], [True, 2], [1, True], [True, 1.5], [True, False], [2, 3]]


@pytest.mark.parametrize("batch", MIXED, ids=str)
def test_collate_promotes_mixed_python_numbers_as_torch(torch, batch):
    from torch.utils.data import default_collate as theirs

    ours, ref = default_collate(batch), theirs(batch)
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    assert ours.tolist() == ref.tolist()


def test_collate_keeps_the_fraction_of_a_float_after_an_int():
    out = default_collate([1, 2.5])  # an int first once truncated 2.5 to 2
    assert out.dtype == stirpile.get_default_dtype() and out.tolist() == [1.0, 2.5]
    assert default_collate([True, 2]).tolist() == [1, 2]  # not [True, True]


Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize(
    "batch",
    [[Point(1, 2), (3, 4, 5)], [(1, 2), (3,)], [(1, 2, 3), (4, 5)], [[1, 2], [3, 4, 5]]],
    ids=["namedtuple-then-longer", "shorter", "longer", "lists"],
)
def test_collate_refuses_ragged_samples(batch):
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate(batch)


def test_loader_with_ragged_tuples_is_an_error_not_a_dropped_field():
    data = [Point(1, 2), (3, 4, 5)]
    with pytest.raises(RuntimeError, match="equal size"):
        next(iter(DataLoader(data, batch_size=2)))


# -- empty loaders ----------------------------------------------------------------------------
def test_require_batches_counts_the_batches():
    assert require_batches(DataLoader(list(range(5)), batch_size=2)) == 3
    assert require_batches(iter([])) is None  # unknown ahead: the loop checks after the epoch


@pytest.mark.parametrize(
    ("loader", "why"),
    [
        (DataLoader([], batch_size=4), r"its dataset is empty \(0 samples\)"),
        (DataLoader(TensorDataset(stirpile.zeros(0, 3), stirpile.zeros(0)), batch_size=4),
         "its dataset is empty"),
        (DataLoader(list(range(3)), batch_size=4, drop_last=True),
         r"its 3 sample.* fewer than batch_size=4 and drop_last=True"),
        ([], "it is empty"),
    ],
    ids=["list", "tensors", "drop_last", "plain-list"],
)  # fmt: skip
def test_require_batches_refuses_a_loader_without_batches(loader, why):
    with pytest.raises(ValueError, match=f"^train_loader yields no batches: {why}"):
        require_batches(loader, "train_loader")


# -- IDX: header first, bounded inflation -------------------------------------------------------
GOOD = bytes.fromhex("00000803 00000002 00000002 00000003") + bytes(range(12))


def _gzip_bomb(path: Path, payload: bytes, zeros: int) -> Path:
    """``payload`` then ``zeros`` zero bytes, gzipped in chunks (a few hundred KiB on disk)."""
    chunk = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(payload)
        for _ in range(zeros // len(chunk)):
            f.write(chunk)
    return path


def test_gzip_bomb_after_a_small_header_is_stopped_early(tmp_path):
    bomb = _gzip_bomb(tmp_path / "bomb.gz", GOOD, 128 << 20)  # 128 MiB after 28 bytes
    assert bomb.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(IDXError, match=r"trailing byte.*need 12 bytes") as info:
            read_idx(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(bomb) in str(info.value)
    assert peak < 8 << 20, f"read_idx of a 128 MiB gzip bomb took {peak / 2**20:.0f} MiB"


def test_header_announcing_more_than_the_gzip_can_hold_is_refused_unread(tmp_path):
    head = bytes.fromhex("00000803 00010000 00001000 00001000")  # 2**16 * 2**12 * 2**12 bytes
    path = tmp_path / "liar.gz"
    path.write_bytes(gzip.compress(head + bytes(1000)))
    with pytest.raises(IDXError, match=r"truncated data.*cannot hold them"):
        read_idx(path, max_bytes=None)


def test_data_above_max_bytes_is_refused_before_reading(tmp_path):
    path = write_idx(tmp_path / "big.gz", np.zeros((64, 32), np.uint8))
    assert read_idx(path, max_bytes=2048).shape == (64, 32)
    with pytest.raises(IDXError, match=r"need 2048 bytes, more than max_bytes=2047"):
        read_idx(path, max_bytes=2047)


def test_read_idx_still_reads_the_offline_files(offline_mnist):
    labels = read_idx(offline_mnist / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels[:3].tolist() == [7, 2, 1]
    assert labels.flags.writeable


@pytest.mark.parametrize("dtype", [np.int16, np.float64])
def test_multi_byte_types_come_back_native_and_writable(tmp_path, dtype):
    a = np.arange(12, dtype=dtype).reshape(3, 4)
    for name in ("a.idx", "a.idx.gz"):
        b = read_idx(write_idx(tmp_path / name, a))
        np.testing.assert_array_equal(a, b)
        assert b.dtype == np.dtype(dtype) and b.flags.writeable


# -- checksums of local files -------------------------------------------------------------------
def _copy_test_split(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for stem in MNIST.files["test"]:
        shutil.copy(src / f"{stem}.gz", dst / f"{stem}.gz")
    return dst


def test_fashion_mnist_refuses_mnist_files_of_the_same_names(offline_mnist, tmp_path):
    root = _copy_test_split(offline_mnist, tmp_path / "fashion")
    with pytest.raises(ChecksumError) as info:
        FashionMNIST(root=root, train=False)
    msg = str(info.value)
    name = "t10k-images-idx3-ubyte.gz"
    assert str(root / name) in msg and "MNIST's" in msg and "verify=False" in msg
    assert FashionMNIST.sha256[name] in msg and MNIST.sha256[name] in msg
    assert isinstance(info.value, ValueError)


def test_fashion_mnist_in_the_cache_is_verified_too(offline_mnist, tmp_path):
    _copy_test_split(offline_mnist, tmp_path / "cache" / "FashionMNIST")
    with pytest.raises(ChecksumError, match="not the published FashionMNIST"):
        FashionMNIST(train=False, download=True)


def test_own_files_need_verify_false(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    rng = np.random.default_rng(0)
    write_idx(d / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (4, 28, 28), np.uint8))
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.arange(4, dtype=np.uint8))
    with pytest.raises(ChecksumError, match=r"sha256 expected 8d422c7b.*, got [0-9a-f]{64}"):
        MNIST(root=d, train=False)
    assert len(MNIST(root=d, train=False, verify=False)) == 4


def test_uncompressed_files_cannot_be_verified(offline_mnist, tmp_path):
    d = tmp_path / "raw"
    d.mkdir()
    for stem in MNIST.files["test"]:
        (d / stem).write_bytes(gzip.decompress((offline_mnist / f"{stem}.gz").read_bytes()))
    with pytest.raises(ChecksumError, match="cannot verify an uncompressed MNIST file"):
        MNIST(root=d, train=False)
    assert len(MNIST(root=d, train=False, verify=False)) == 10000


def test_the_published_files_pass(offline_mnist):
    assert len(MNIST(root=offline_mnist, split="train5k")) == 5000


# -- an unusable cache is a missing network ---------------------------------------------------
def _file_as_cache(monkeypatch, tmp_path) -> Path:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("STIRPILE_DATA", str(blocker))
    return blocker


def test_a_file_in_place_of_the_cache_means_missing_files(monkeypatch, tmp_path):
    blocker = _file_as_cache(monkeypatch, tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        MNIST(train=False, download=True)
    assert f"the cache directory {blocker / 'MNIST'} is not usable" in str(info.value)


def test_cli_falls_back_to_the_digits_when_the_cache_is_unusable(monkeypatch, tmp_path, capsys):
    pytest.importorskip("sklearn")
    from stirpile.cli import load_data

    _file_as_cache(monkeypatch, tmp_path)
    data = load_data(None, None)
    assert data["name"] == "digits" and data["x_train"].shape[1] == 64
    assert "8x8 digits" in capsys.readouterr().out


# -- the labs read only what they are given ---------------------------------------------------
def test_labs_never_look_beside_the_repository(offline_mnist):
    from stirpile.labs import common

    with pytest.raises(FileNotFoundError, match=r"the labs need MNIST.*STIRPILE_DATA"):
        common.mnist()


def test_labs_read_data_dir_and_stirpile_data(offline_mnist, monkeypatch, tmp_path):
    from stirpile.labs import common

    data = common.mnist(offline_mnist, n_train=100, n_test=50)
    assert data["split"] == "train5k" and data["x_test"].shape == (50, 784)
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "MNIST").symlink_to(offline_mnist.resolve())
    monkeypatch.setenv("STIRPILE_DATA", str(tmp_path / "store"))
    assert common.mnist(n_train=10, n_test=10)["split"] == "train5k"


# -- the offline first run: a recipe for the 8x8 digits ---------------------------------------
def test_digits_recipe_replaces_only_what_the_user_left_at_its_default():
    from stirpile.cli import DEFAULTS
    from stirpile.data.datasets.digits import RECIPE, recipe

    parsed = {**DEFAULTS, "hidden": [int(h) for h in DEFAULTS["hidden"].split(",")]}
    assert recipe(parsed, DEFAULTS) == {**parsed, **RECIPE}
    assert recipe({**parsed, "epochs": 3}, DEFAULTS)["epochs"] == 3  # an explicit --epochs
    assert RECIPE["epochs"] > DEFAULTS["epochs"]  # 30 epochs of 24 steps stop short
