"""The 8x8 handwritten digits bundled with scikit-learn (1,797 images).

scikit-learn is an optional dependency (``pip install stirpile[digits]``); it
is imported only when a :class:`Digits` is created. The data ship inside
scikit-learn, so no network is needed.

Split: the first 1,500 images are the training set, the last 297 the test
set (deterministic; every class has 27-33 test images).

Example::

    >>> ds = Digits(train=False)  # doctest: +SKIP
    >>> X, y = ds.arrays()  # doctest: +SKIP
    >>> X.shape, float(X.max()), y.dtype  # doctest: +SKIP
    ((297, 64), 1.0, dtype('int64'))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ._images import _ImageDataset

__all__ = ["Digits"]


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ImportError(
            "stirpile.data.datasets.Digits needs scikit-learn: "
            "pip install stirpile[digits]  (or: pip install scikit-learn)"
        ) from e
    d = load_digits()
    return d.images, d.target


class Digits(_ImageDataset):
    """scikit-learn's 8x8 digits, with MNIST's interface.

    Args:
        train: training (first 1,500) or test (last 297) images; ignored
            when ``split`` is given.
        transform: applied to each image returned by ``__getitem__``.
        target_transform: applied to each label returned by ``__getitem__``.
        split: ``'train'``, ``'test'`` or ``'all'`` (all 1,797).

    Attributes:
        data: float32 ``(N, 8, 8)`` in [0, 1] (scikit-learn's 0..16 / 16).
        targets: int64 ``(N,)``, labels 0-9.
        classes: ``['0', ..., '9']``.

    ``ds[i]`` returns ``(image, target)``: ``image`` float32 ``(1, 8, 8)``
    (channel first) through ``transform`` if given, ``target`` a Python int
    through ``target_transform`` if given.

    Raises:
        ImportError: scikit-learn is not installed.
    """

    n_test: ClassVar[int] = 297
    classes: ClassVar[list[str]] = [str(i) for i in range(10)]

    def __init__(
        self,
        train: bool = True,
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        split: str | None = None,
    ) -> None:
        if split is None:
            split = "train" if train else "test"
        if split not in ("train", "test", "all"):
            raise ValueError(f"Digits: unknown split {split!r}, expected 'train', 'test' or 'all'")
        super().__init__(split, transform, target_transform)
        images, target = _load_digits()
        cut = {
            "train": slice(None, -self.n_test),
            "test": slice(-self.n_test, None),
            "all": slice(None),
        }[split]
        self.data = (images[cut] / 16.0).astype(np.float32)
        self.targets = np.asarray(target[cut], dtype=np.int64)

    # len, ds[i] and repr come from _ImageDataset; ds[i] starts from this image
    def _image(self, index: int) -> np.ndarray:
        return self.data[index][None].copy()

    def arrays(self, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """All images and labels at once (transforms not applied; fresh copies).

        Returns:
            ``X`` float32 ``(N, 64)`` in [0, 1], or scikit-learn's raw 0..16
            if not ``normalize``; ``y`` int64 ``(N,)``.
        """
        X = self.data.reshape(len(self.data), -1).copy()
        if not normalize:
            X *= np.float32(16.0)
        return X, self.targets.copy()
