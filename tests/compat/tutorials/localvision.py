"""A stand-in for the few ``torchvision`` pieces the tutorials use, reading local files.

The tutorials download MNIST or FashionMNIST with ``torchvision``; the tests run
offline and without torchvision, so a program's ``import torchvision`` (or ``from
torchvision import datasets``) becomes ``import localvision as torchvision`` (``from
localvision import datasets``), and this module answers with the official MNIST
files of the shared data directory (see ``shared/data/README.md``): the 5,000
``train5k`` digits for ``train=True``, the 10,000 ``t10k`` digits for ``train=False``.

:func:`bind` builds the module for one framework (``torch`` or ``stirpile``) and
one data directory; the test harness puts it in ``sys.modules`` while a program
runs. Both frameworks see bit-identical float32 images: the pixels are converted
in NumPy (``uint8 / 255`` in float32, as ``ToTensor`` does), then wrapped.

What differs from torchvision, on purpose: ``root`` and ``download`` are ignored
(the files always come from the bound directory, nothing is downloaded), images
are ``uint8`` NumPy arrays instead of PIL images, and ``FashionMNIST`` reads the
MNIST digits (no offline copy of Fashion-MNIST exists; same format and shapes).

For "What is torch.nn really?", which reads deeplearning.net's ``mnist.pkl.gz``,
:func:`mnist_pkl_gz` makes a file of that format from the same local digits.
"""

from __future__ import annotations

import gzip
import pickle
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

_FILES = {
    True: ("train5k-images-idx3-ubyte.gz", "train5k-labels-idx1-ubyte.gz"),
    False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip-compressed) as a NumPy array of uint8."""
    raw = gzip.decompress(path.read_bytes())
    if raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(mnist_dir: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 28, 28), labels int64 (N,))`` of the local MNIST split."""
    images, labels = _FILES[bool(train)]
    return read_idx(mnist_dir / images), read_idx(mnist_dir / labels).astype(np.int64)


def mnist_pkl(mnist_dir: Path) -> tuple:
    """What ``pickle.load`` returns for deeplearning.net's ``mnist.pkl.gz`` (``((x_train,
    y_train), (x_valid, y_valid), (x_test, y_test))``, images flattened to 784 float32
    values in [0, 1], labels int64) from the local files: train5k, shuffled once (a
    fixed permutation; the pickle's training set is not sorted by class), then t10k as
    the validation set; no test set (``None``)."""
    images, labels = load_mnist(mnist_dir, True)
    order = np.random.default_rng(0).permutation(len(labels))
    x_train = images[order].reshape(-1, 784).astype(np.float32) / np.float32(255)
    images, y_valid = load_mnist(mnist_dir, False)
    x_valid = images.reshape(-1, 784).astype(np.float32) / np.float32(255)
    return (x_train, labels[order]), (x_valid, y_valid), None


def mnist_pkl_gz(mnist_dir: Path) -> bytes:
    """:func:`mnist_pkl` as the file ``mnist.pkl.gz`` holds it (pickled, gzipped)."""
    return gzip.compress(pickle.dumps(mnist_pkl(mnist_dir), protocol=4), compresslevel=1)


def bind(framework: Any, mnist_dir: Path) -> types.ModuleType:
    """The ``localvision`` module for ``framework``, registered (with its submodules
    ``datasets`` and ``transforms``) in ``sys.modules``; returns it."""

    class ToTensor:
        """HxW uint8 → float32 tensor (1, H, W) in [0, 1]."""

        def __call__(self, pic: np.ndarray) -> Any:
            array = np.asarray(pic)
            if array.ndim == 2:
                array = array[None]
            return framework.from_numpy(array.astype(np.float32) / np.float32(255))

        def __repr__(self) -> str:
            return "ToTensor()"

    class Lambda:
        def __init__(self, lambd: Callable) -> None:
            self.lambd = lambd

        def __call__(self, x: Any) -> Any:
            return self.lambd(x)

    class Compose:
        def __init__(self, transforms: list) -> None:
            self.transforms = transforms

        def __call__(self, x: Any) -> Any:
            for t in self.transforms:
                x = t(x)
            return x

    class Normalize:
        def __init__(self, mean: Any, std: Any) -> None:
            self.mean, self.std = mean, std

        def __call__(self, x: Any) -> Any:
            shape = (-1, *([1] * (x.dim() - 1)))
            mean = framework.tensor(self.mean, dtype=x.dtype).reshape(shape)
            std = framework.tensor(self.std, dtype=x.dtype).reshape(shape)
            return (x - mean) / std

    class MNIST:
        """``torchvision.datasets.MNIST`` over the local files (``root`` and
        ``download`` ignored)."""

        def __init__(
            self,
            root: Any = None,
            train: bool = True,
            transform: Callable | None = None,
            target_transform: Callable | None = None,
            download: bool = False,
        ) -> None:
            self.root, self.train = root, train
            self.transform, self.target_transform = transform, target_transform
            self.images, self.labels = load_mnist(mnist_dir, train)

        def __len__(self) -> int:
            return len(self.labels)

        def __getitem__(self, index: int) -> tuple[Any, Any]:
            img, target = self.images[index], int(self.labels[index])
            if self.transform is not None:
                img = self.transform(img)
            if self.target_transform is not None:
                target = self.target_transform(target)
            return img, target

    class FashionMNIST(MNIST):
        """Reads the MNIST digits (no offline Fashion-MNIST; same format)."""

    transforms = types.ModuleType("localvision.transforms")
    transforms.ToTensor, transforms.Lambda = ToTensor, Lambda
    transforms.Compose, transforms.Normalize = Compose, Normalize
    datasets = types.ModuleType("localvision.datasets")
    datasets.MNIST, datasets.FashionMNIST = MNIST, FashionMNIST
    module = types.ModuleType("localvision", __doc__)
    module.datasets, module.transforms = datasets, transforms
    sys.modules.update(
        {
            "localvision": module,
            "localvision.datasets": datasets,
            "localvision.transforms": transforms,
        }
    )
    return module


def unbind() -> None:
    for name in ("localvision", "localvision.datasets", "localvision.transforms"):
        sys.modules.pop(name, None)
