"""MNIST / FashionMNIST: local files, the offline error, downloads from a local server."""

from __future__ import annotations

import hashlib
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

from stirpile.data.datasets import MNIST, FashionMNIST, write_idx
from stirpile.data.datasets import mnist as mnist_module


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """A private empty cache dir, no mirror overrides, no proxies."""
    monkeypatch.setenv("STIRPILE_DATA", str(tmp_path / "cache"))
    for var in (
        "STIRPILE_MNIST_MIRROR",
        "STIRPILE_FASHIONMNIST_MIRROR",
        "http_proxy",
        "HTTP_PROXY",
    ):
        monkeypatch.delenv(var, raising=False)


def _fake_split(
    directory: Path, stems: tuple[str, str], n: int = 12, seed: int = 0, gz: bool = True
) -> dict:
    """Write n random 28x28 images and labels; return {file name: sha256}."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    directory.mkdir(parents=True, exist_ok=True)
    sums = {}
    for stem, a in zip(stems, (images, labels)):
        p = write_idx(directory / (stem + (".gz" if gz else "")), a)
        sums[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return sums


# -- the real offline files ---------------------------------------------------


def test_train5k_split(offline_mnist):
    ds = MNIST(root=offline_mnist, split="train5k")
    assert len(ds) == 5000 and ds.split == "train5k"
    assert ds.data.shape == (5000, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.shape == (5000,) and ds.targets.dtype == np.int64
    assert np.bincount(ds.targets).tolist() == [500] * 10
    assert len(ds.classes) == 10
    image, target = ds[-1]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.5
    assert isinstance(target, int) and target == 9
    np.testing.assert_array_equal(image[0], ds.data[-1] / np.float32(255))


def test_test_split_and_arrays(offline_mnist):
    ds = MNIST(root=offline_mnist, train=False)
    assert len(ds) == 10000 and ds.split == "test"
    assert ds.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    X, y = ds.arrays()
    assert X.shape == (10000, 784) and X.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 <= X.min() and X.max() == 1.0
    np.testing.assert_array_equal(X[3], ds[3][0].ravel())
    X[:] = 0  # a copy: the dataset is not affected
    assert ds.data.max() == 255
    Xraw, _ = ds.arrays(normalize=False)
    assert Xraw.max() == 255.0 and Xraw.dtype == np.float32


def test_transforms_applied(offline_mnist):
    ds = MNIST(
        root=offline_mnist,
        split="train5k",
        transform=lambda im: im.shape,
        target_transform=lambda t: t + 100,
    )
    assert ds[0] == ((1, 28, 28), 100)


# -- locating files -----------------------------------------------------------


def test_torchvision_layout_and_uncompressed(tmp_path):
    _fake_split(tmp_path / "root" / "MNIST" / "raw", MNIST.files["test"], n=7, gz=False)
    ds = MNIST(root=tmp_path / "root", train=False, verify=False)
    assert len(ds) == 7 and ds.targets.tolist() == list(range(7))


def test_found_in_cache_dir(tmp_path):
    _fake_split(tmp_path / "cache" / "MNIST", MNIST.files["train"], n=5)
    assert len(MNIST(verify=False)) == 5


def test_offline_error_lists_files_and_dirs(tmp_path):
    root = tmp_path / "mydata"
    with pytest.raises(FileNotFoundError) as info:
        MNIST(root=root, train=True)
    msg = str(info.value)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        assert name in msg
    assert "t10k" not in msg
    assert str(root) in msg and str(tmp_path / "cache" / "MNIST") in msg
    assert "download=True" in msg and "--data-dir" in msg


def test_only_labels_missing(tmp_path):
    _fake_split(tmp_path / "d", MNIST.files["test"])
    (tmp_path / "d" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as info:
        MNIST(root=tmp_path / "d", train=False)
    assert "t10k-labels-idx1-ubyte" in str(info.value) and "t10k-images" not in str(info.value)


def test_count_mismatch(tmp_path):
    d = tmp_path / "d"
    _fake_split(d, MNIST.files["test"], n=10)
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(ValueError, match=r"10 images .* but 9 labels"):
        MNIST(root=d, train=False, verify=False)


def test_label_out_of_range(tmp_path):
    d = tmp_path / "d"
    _fake_split(d, MNIST.files["test"], n=3)
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 10], np.uint8))
    with pytest.raises(ValueError, match="label 10 out of range"):
        MNIST(root=d, train=False, verify=False)


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown split"):
        MNIST(split="valid")
    with pytest.raises(ValueError, match="unknown split"):
        FashionMNIST(split="train5k")


# -- downloading from a local server -----------------------------------------


class _FileHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        path = self.server.docroot / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path, start_server):
    """A static file server over tmp_path/'www', with .url and .hits."""
    (tmp_path / "www").mkdir()
    return start_server(_FileHandler, docroot=tmp_path / "www")


def test_download_falls_back_to_next_mirror(monkeypatch, mirror, tmp_path, dead_url):
    sums = _fake_split(mirror.docroot / "mnist", MNIST.files["test"], n=20)
    monkeypatch.setattr(MNIST, "sha256", {**MNIST.sha256, **sums})
    monkeypatch.setattr(MNIST, "mirrors", (dead_url(), mirror.url + "/mnist"))
    ds = MNIST(train=False, download=True)
    assert len(ds) == 20 and ds.data.shape == (20, 28, 28)
    cached = tmp_path / "cache" / "MNIST"
    assert sorted(p.name for p in cached.iterdir()) == sorted(sums)
    assert sorted(mirror.hits) == sorted(f"/mnist/{f}" for f in sums)
    # Second time: straight from the cache, no request.
    mirror.hits.clear()
    assert len(MNIST(train=False, download=True)) == 20 and mirror.hits == []


def test_download_only_what_is_missing(monkeypatch, mirror, tmp_path, dead_url):
    sums = _fake_split(mirror.docroot, MNIST.files["test"], n=4)
    _fake_split(tmp_path / "root", MNIST.files["test"], n=4)
    (tmp_path / "root" / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setattr(MNIST, "sha256", {**MNIST.sha256, **sums})
    monkeypatch.setenv("STIRPILE_MNIST_MIRROR", mirror.url)  # env beats the class attribute
    monkeypatch.setattr(MNIST, "mirrors", (dead_url(),))
    assert len(MNIST(root=tmp_path / "root", train=False, download=True)) == 4
    assert mirror.hits == ["/t10k-labels-idx1-ubyte.gz"]


def test_download_checksum_mismatch(monkeypatch, mirror, tmp_path):
    _fake_split(mirror.docroot, MNIST.files["test"], n=4)  # real sums don't match these
    monkeypatch.setenv("STIRPILE_MNIST_MIRROR", mirror.url)
    with pytest.raises(FileNotFoundError) as info:
        MNIST(train=False, download=True)
    msg = str(info.value)
    assert "sha256 mismatch" in msg and mirror.url in msg and "t10k-images-idx3-ubyte" in msg
    cached = tmp_path / "cache" / "MNIST"
    assert list(cached.iterdir()) == []  # no partial or temp files


def test_download_all_mirrors_fail(monkeypatch, mirror, dead_url):
    dead = dead_url()
    monkeypatch.setenv("STIRPILE_MNIST_MIRROR", f"{dead}, {mirror.url}/nothing-here/")
    tried = []

    def spy(url, *args, **kwargs):
        tried.append(url)
        return real_download(url, *args, **kwargs)

    real_download = mnist_module.download
    monkeypatch.setattr(mnist_module, "download", spy)
    with pytest.raises(FileNotFoundError) as info:
        MNIST(split="train5k", download=True)
    msg = str(info.value)
    assert "train5k-images-idx3-ubyte.gz" in msg and "refused" in msg and "HTTP 404" in msg
    # the unreachable mirror is tried once, the one answering 404 for each file
    assert sum(u.startswith(dead) for u in tried) == 1
    assert sum(u.startswith(mirror.url) for u in tried) == 2


def test_fashion_has_its_own_dir_mirror_and_classes(monkeypatch, mirror, tmp_path, dead_url):
    sums = _fake_split(mirror.docroot, FashionMNIST.files["train"], n=6)
    monkeypatch.setattr(FashionMNIST, "sha256", {**FashionMNIST.sha256, **sums})
    monkeypatch.setenv("STIRPILE_FASHIONMNIST_MIRROR", mirror.url)
    monkeypatch.setenv("STIRPILE_MNIST_MIRROR", dead_url())  # must not be used
    ds = FashionMNIST(download=True)
    assert len(ds) == 6 and ds.classes[9] == "Ankle boot"
    assert (tmp_path / "cache" / "FashionMNIST" / "train-images-idx3-ubyte.gz").is_file()
    assert MNIST.sha256 is not FashionMNIST.sha256 and "train5k" not in FashionMNIST.files
    with pytest.raises(FileNotFoundError):
        MNIST()  # MNIST does not pick up Fashion's files
