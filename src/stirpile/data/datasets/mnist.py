"""MNIST and Fashion-MNIST as NumPy arrays, from local IDX files or mirrors.

Files are looked for, in order, in ``root`` (and ``root/<name>``,
``root/<name>/raw``, torchvision's layout) and then in the cache directory
``cache_dir()/<name>`` (see :func:`~stirpile.data.datasets.download.cache_dir`),
each either gzipped (``.gz``) or raw. With ``download=True`` missing files are
fetched from :attr:`MNIST.mirrors` (overridable with ``$STIRPILE_MNIST_MIRROR``,
a comma- or space-separated list of base URLs) into the cache directory and
checked against :attr:`MNIST.sha256`. Files found locally (``root`` or the cache)
are checked against the same sums before they are read, so a folder of another
data set's files (MNIST's where Fashion-MNIST's belong: the file names are the
same) is an error, not a silently wrong data set; ``verify=False`` accepts files
of one's own. A cache directory that cannot be written is treated like a missing
network: the files count as missing (``FileNotFoundError``).

Splits: ``'train'`` (60,000 images), ``'test'`` (10,000) and ``'train5k'``
(a 5,000-image subset of the training set, 500 per class, for offline use).

Example::

    >>> ds = MNIST(root="/data/mnist", split="test")  # doctest: +SKIP
    >>> image, label = ds[0]  # doctest: +SKIP
    >>> image.shape, image.dtype, label  # doctest: +SKIP
    ((1, 28, 28), dtype('float32'), 7)
    >>> X, y = ds.arrays()  # doctest: +SKIP
    >>> X.shape, y.dtype  # doctest: +SKIP
    ((10000, 784), dtype('int64'))
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar
from urllib.error import HTTPError

import numpy as np

from ._images import _ImageDataset
from .download import ChecksumError, DownloadError, cache_dir, download, sha256sum
from .idx import read_idx

__all__ = ["MNIST", "FashionMNIST"]


def _sums(text: str) -> dict[str, str]:
    """Parse ``sha256sum`` output (``<hex>  <file name>`` per line) into a dict."""
    return {name: digest for digest, name in (line.split() for line in text.strip().splitlines())}


class MNIST(_ImageDataset):
    """The MNIST handwritten digits: 28x28 grey images, labels 0-9.

    Args:
        root: a directory to look in first (optional).
        train: ``True`` for the training split, ``False`` for the test split;
            ignored when ``split`` is given.
        download: fetch missing files from :attr:`mirrors` into
            ``cache_dir()/<name>``.
        transform: applied to each image returned by ``__getitem__``.
        target_transform: applied to each label returned by ``__getitem__``.
        split: ``'train'``, ``'test'`` or ``'train5k'``.
        verify: check local files against :attr:`sha256` (the published sums of
            the ``.gz`` files); ``False`` reads whatever files are there.

    Attributes:
        data: uint8 array ``(N, 28, 28)``, pixel values 0..255.
        targets: int64 array ``(N,)``.
        classes: the class names, indexed by label.

    ``ds[i]`` returns ``(image, target)``: ``image`` is a float32 array
    ``(1, 28, 28)`` scaled to [0, 1] (channel first, like torchvision's
    ``ToTensor``) passed through ``transform`` if given, ``target`` a Python
    int passed through ``target_transform`` if given. For whole-dataset work
    use :meth:`arrays`, which avoids the per-item Python loop.

    Raises:
        FileNotFoundError: files missing (and not downloadable); the message
            lists the missing files and the directories searched.
        ValueError: the files are malformed or images and labels disagree.
        ChecksumError: (a ``ValueError``) a local file is not the published one,
            or is uncompressed (only the ``.gz`` files have published sums), and
            ``verify`` is true.
    """

    name: ClassVar[str] = "MNIST"  # subdirectory of the cache dir
    mirror_env: ClassVar[str] = "STIRPILE_MNIST_MIRROR"
    # Base URLs, tried in order; a file's URL is base + file name.
    mirrors: ClassVar[tuple[str, ...]] = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    )
    # split -> (images file, labels file), without ".gz"
    files: ClassVar[dict[str, tuple[str, str]]] = {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        "train5k": ("train5k-images-idx3-ubyte", "train5k-labels-idx1-ubyte"),
    }
    # sha256 of the gzipped files as published (``sha256sum`` output format)
    sha256: ClassVar[dict[str, str]] = _sums("""
    440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609  train-images-idx3-ubyte.gz
    3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c  train-labels-idx1-ubyte.gz
    8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6  t10k-images-idx3-ubyte.gz
    f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6  t10k-labels-idx1-ubyte.gz
    e5267df2839ae561b5e76f26f2de21722c0549665ddcc8ac803dfb10a7b5a25a  train5k-images-idx3-ubyte.gz
    7c9a5115a47c51596e3401b18d017809679c31290def95dd8a625b44bf804063  train5k-labels-idx1-ubyte.gz
    """)
    classes: ClassVar[list[str]] = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]  # fmt: skip

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = False,
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        split: str | None = None,
        verify: bool = True,
    ) -> None:
        if split is None:
            split = "train" if train else "test"
        if split not in self.files:
            raise ValueError(
                f"{type(self).__name__}: unknown split {split!r}, "
                f"expected one of {sorted(self.files)}"
            )
        self.root = Path(root).expanduser() if root is not None else None
        super().__init__(split, transform, target_transform)
        self.verify = verify

        images_path, labels_path = self._find_or_download(download)
        self.data, self.targets = self._load(images_path, labels_path)

    # -- locating files -------------------------------------------------
    def search_dirs(self) -> list[Path]:
        """Directories searched for the files, in order."""
        dirs = []
        if self.root is not None:
            dirs += [self.root, self.root / self.name, self.root / self.name / "raw"]
        dirs.append(cache_dir() / self.name)
        return dirs

    def _mirror_list(self) -> list[str]:
        env = os.environ.get(self.mirror_env, "").strip()
        bases = re.split(r"[,\s]+", env) if env else list(self.mirrors)
        return [b if b.endswith("/") else b + "/" for b in bases if b]

    def _locate(self, stem: str) -> Path | None:
        for d in self.search_dirs():
            for fname in (stem + ".gz", stem):
                if (d / fname).is_file():
                    return d / fname
        return None

    def _find_or_download(self, allow_download: bool) -> tuple[Path, Path]:
        stems = self.files[self.split]
        found = {s: self._locate(s) for s in stems}
        local = [p for p in found.values() if p is not None]  # verified once none is missing
        missing = [s for s, p in found.items() if p is None]
        errors: list[str] = []
        target_dir = cache_dir() / self.name
        tried = allow_download
        if missing and allow_download and not _writable(target_dir, errors):
            allow_download = False  # an unusable cache: like no network, the files are missing
        if missing and allow_download:
            dead: set[str] = set()  # unreachable mirrors: don't wait on them twice
            for stem in missing:
                fname = stem + ".gz"
                for base in [b for b in self._mirror_list() if b not in dead]:
                    try:
                        found[stem] = download(
                            base + fname, target_dir / fname, self.sha256.get(fname)
                        )
                        break
                    except DownloadError as e:
                        errors.append(str(e))
                        cause = e.__cause__
                        if isinstance(cause, OSError) and not isinstance(cause, HTTPError):
                            dead.add(base)
            missing = [s for s, p in found.items() if p is None]
        if missing:
            raise FileNotFoundError(self._missing_message(missing, tried, errors))
        if self.verify:
            for path in local:
                self._verify(path)
        return found[stems[0]], found[stems[1]]

    def _verify(self, path: Path) -> None:
        """Raise :class:`ChecksumError` unless ``path`` is the published file of its name."""
        cls = type(self).__name__
        expected = self.sha256.get(path.name)
        if expected is None:
            raise ChecksumError(
                f"{path}: cannot verify an uncompressed {cls} file (the published sha256 "
                f"sums are of the .gz files): put {path.name}.gz there, or pass "
                "verify=False (--no-verify on the command line) to read it unchecked"
            )
        actual = sha256sum(path)
        if actual == expected:
            return
        other = _KNOWN_SUMS.get(actual)
        hint = f" (these are {other[0]}'s {other[1]}: wrong folder?)" if other else ""
        cached = path.parent == cache_dir() / self.name
        raise ChecksumError(
            f"{path}: not the published {cls} {path.name}{hint}: sha256 expected "
            f"{expected}, got {actual}; {'delete it to download it again, or ' if cached else ''}"
            "pass verify=False (--no-verify on the command line) to use these files anyway"
        )

    def _missing_message(self, missing: list[str], tried: bool, errors: list[str]) -> str:
        cls = type(self).__name__
        lines = [f"{cls} split {self.split!r}: missing file(s):"]
        lines += [f"  {s}.gz (or uncompressed {s})" for s in missing]
        lines.append("searched:")
        lines += [f"  {d}" for d in self.search_dirs()]
        if tried:
            lines.append("download failed:")
            lines += [f"  {e}" for e in errors] or ["  no mirrors configured"]
            lines.append(
                f"put the files in one of the directories above "
                f"(or set {self.mirror_env} to a mirror)."
            )
        else:
            lines.append(
                "put the files in one of the directories above, pass root=<dir> "
                "(--data-dir on the command line), or pass download=True."
            )
        return "\n".join(lines)

    # -- loading --------------------------------------------------------
    def _load(self, images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
        images = read_idx(images_path)
        labels = read_idx(labels_path)
        if images.dtype != np.uint8 or images.ndim != 3:
            raise ValueError(
                f"{images_path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}"
            )
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise ValueError(
                f"{labels_path}: expected uint8 labels (N,), got {labels.dtype} {labels.shape}"
            )
        if len(images) != len(labels):
            raise ValueError(
                f"{type(self).__name__} split {self.split!r}: {len(images)} images in "
                f"{images_path} but {len(labels)} labels in {labels_path}"
            )
        if len(labels) and labels.max() >= len(self.classes):
            raise ValueError(
                f"{labels_path}: label {labels.max()} out of range 0..{len(self.classes) - 1}"
            )
        return images, labels.astype(np.int64)

    # -- access (len, ds[i] and repr come from _ImageDataset) -----------
    def _image(self, index: int) -> np.ndarray:
        # Scale one image at a time: cheap, and keeps .data compact (uint8).
        return (self.data[index].astype(np.float32) / np.float32(255.0))[None]

    def arrays(self, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """All images and labels at once, for vectorised training loops.

        Returns:
            ``X`` float32 ``(N, H*W)`` (``(N, 784)`` for MNIST), scaled to
            [0, 1] if ``normalize`` else raw 0..255; ``y`` int64 ``(N,)``.
            Transforms are not applied. Both are fresh copies.
        """
        X = self.data.reshape(len(self.data), -1).astype(np.float32)
        if normalize:
            X /= np.float32(255.0)
        return X, self.targets.copy()


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): 28x28 grey images of clothing, 10 classes.

    Same files, format and API as :class:`MNIST`; looked for in
    ``cache_dir()/FashionMNIST`` and downloaded from :attr:`mirrors`
    (overridable with ``$STIRPILE_FASHIONMNIST_MIRROR``). There is no
    ``'train5k'`` split.
    """

    name: ClassVar[str] = "FashionMNIST"
    mirror_env: ClassVar[str] = "STIRPILE_FASHIONMNIST_MIRROR"
    mirrors: ClassVar[tuple[str, ...]] = (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    )
    files: ClassVar[dict[str, tuple[str, str]]] = {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
    # (t10k-labels as pinned by tensorflow-datasets, chainer and others; a
    # variant ending ...1850b86a7ab4a8 circulates but matches no published file)
    sha256: ClassVar[dict[str, str]] = _sums("""
    3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84  train-images-idx3-ubyte.gz
    a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845  train-labels-idx1-ubyte.gz
    346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073  t10k-images-idx3-ubyte.gz
    67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5  t10k-labels-idx1-ubyte.gz
    """)
    classes: ClassVar[list[str]] = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]  # fmt: skip


def _writable(directory: Path, errors: list[str]) -> bool:
    """Whether files can be created in ``directory`` (made if missing); if not, say why
    in ``errors``."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        errors.append(
            f"the cache directory {directory} is not usable ({e.strerror or e}); "
            "set $STIRPILE_DATA to a writable directory"
        )
        return False
    return True


# every published sum -> (data set, file name): names what a wrong file actually is
_KNOWN_SUMS: dict[str, tuple[str, str]] = {
    digest: (cls.__name__, fname)
    for cls in (MNIST, FashionMNIST)
    for fname, digest in cls.sha256.items()
}
