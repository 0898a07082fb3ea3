"""What the image data sets (:class:`~.mnist.MNIST`, :class:`~.mnist.FashionMNIST`,
:class:`~.digits.Digits`) share: the split attributes, ``len``, ``ds[i]`` with its
transforms, and the ``repr``. Each subclass loads its arrays and says how one stored
image becomes the float32 ``(1, H, W)`` array that ``ds[i]`` returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class _ImageDataset:
    """Images ``data`` ``(N, H, W)`` with int64 labels ``targets`` ``(N,)``, in memory.

    ``ds[i]`` returns ``(image, target)``: ``image`` from :meth:`_image` passed through
    ``transform`` if given, ``target`` a Python int passed through ``target_transform``
    if given.
    """

    data: np.ndarray
    targets: np.ndarray

    def __init__(
        self,
        split: str,
        transform: Callable[[np.ndarray], Any] | None,
        target_transform: Callable[[int], Any] | None,
    ) -> None:
        self.split = split
        self.train = split != "test"  # every split but the test set is training data
        self.transform = transform
        self.target_transform = target_transform

    def _image(self, index: int) -> np.ndarray:
        """Image ``index`` as a fresh float32 ``(1, H, W)`` array in [0, 1]."""
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image: Any = self._image(index)
        target: Any = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        return f"{type(self).__name__}(split={self.split!r}, n={len(self)})"
