"""Transforms: per-sample conversions (``ToTensor``, ``Normalize``) and augmentations
that work on whole batches of images as arrays (``RandomAffine``, ``RandomShift``,
``RandomErasing``).

Batch augmentations take ``(N, H, W)``, ``(N, C, H, W)`` or flat ``(N, H·W)``
arrays or tensors (give ``image_shape=(H, W)`` for flat ones) and return the
same kind and shape. They draw from their own seeded generator, so an
augmented run is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from .sampler import as_generator


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda:
    """Wrap any function as a transform."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, x: Any) -> Any:
        return self.fn(x)


class ToTensor:
    """An image as a float32 tensor ``(C, H, W)`` in [0, 1].

    uint8 ``(H, W)`` or ``(H, W, C)`` arrays are scaled by 1/255 (PyTorch's
    rule); float arrays are taken as already scaled (``(H, W)`` gains a channel
    axis).
    """

    def __call__(self, img: Any) -> Tensor:
        a = np.asarray(img._data if isinstance(img, Tensor) else img)
        if a.dtype == np.uint8:
            a = a.astype(np.float32) / 255.0
            if a.ndim == 3:
                a = a.transpose(2, 0, 1)
        a = a.astype(np.float32, copy=False)
        if a.ndim == 2:
            a = a[None]
        return Tensor._make(np.ascontiguousarray(a))

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(x − mean) / std`` per channel (MNIST: mean 0.1307, std 0.3081)."""

    def __init__(self, mean: Any, std: Any) -> None:
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if np.any(self.std == 0):
            raise ValueError("Normalize: std evaluated to zero, leading to division by zero")

    def __call__(self, x: Any) -> Any:
        a = x._data if isinstance(x, Tensor) else np.asarray(x)
        shape = (-1,) + (1,) * 2 if a.ndim >= 3 and self.mean.ndim == 1 else ()
        mean = self.mean.reshape(shape) if shape and self.mean.size > 1 else self.mean
        std = self.std.reshape(shape) if shape and self.std.size > 1 else self.std
        out = ((a - mean) / std).astype(a.dtype if a.dtype.kind == "f" else np.float32)
        return Tensor._make(out) if isinstance(x, Tensor) else out

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class _BatchAugment:
    """Shared plumbing: unwrap, reshape to (N, C, H, W), apply, restore."""

    def __init__(self, image_shape: tuple[int, int] | None, generator: Any) -> None:
        self.image_shape = image_shape
        self.rng = as_generator(generator if generator is not None else 0)

    def __call__(self, x: Any) -> Any:
        is_tensor = isinstance(x, Tensor)
        a = x._data if is_tensor else np.asarray(x)
        shape = a.shape
        if a.ndim == 2:
            if self.image_shape is None:
                side = round(np.sqrt(shape[1]))
                if side * side != shape[1]:
                    raise ValueError(
                        f"{type(self).__name__}: flat images of {shape[1]} values are not "
                        "square; pass image_shape=(H, W)"
                    )
                self.image_shape = (side, side)
            imgs = a.reshape(shape[0], 1, *self.image_shape)
        elif a.ndim == 3:
            imgs = a[:, None]
        elif a.ndim == 4:
            imgs = a
        else:
            raise ValueError(
                f"{type(self).__name__}: expected a batch (N, H·W), (N, H, W) or (N, C, H, W), "
                f"got shape {shape}"
            )
        out = self.apply(imgs.astype(np.float32, copy=False)).astype(a.dtype).reshape(shape)
        return Tensor._make(out) if is_tensor else out

    def apply(self, imgs: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class RandomAffine(_BatchAugment):
    """Random rotation (±``degrees``), translation (up to ``translate`` × size) and
    scaling (``scale=(lo, hi)``) of every image in a batch, bilinear, zero fill.

    >>> import numpy as np
    >>> aug = RandomAffine(degrees=10, translate=(0.1, 0.1), generator=0)
    >>> aug(np.zeros((4, 784), np.float32)).shape
    (4, 784)
    """

    def __init__(
        self,
        degrees: float = 0.0,
        translate: tuple[float, float] | None = None,
        scale: tuple[float, float] | None = None,
        image_shape: tuple[int, int] | None = None,
        generator: Any = None,
    ) -> None:
        super().__init__(image_shape, generator)
        self.degrees, self.translate, self.scale = degrees, translate, scale

    def apply(self, imgs: np.ndarray) -> np.ndarray:
        n, _, h, w = imgs.shape
        angle = np.deg2rad(self.rng.uniform(-self.degrees, self.degrees, n))
        tx, ty = np.zeros(n), np.zeros(n)
        if self.translate is not None:
            tx = np.round(self.rng.uniform(-1, 1, n) * self.translate[0] * w)
            ty = np.round(self.rng.uniform(-1, 1, n) * self.translate[1] * h)
        s = np.ones(n) if self.scale is None else self.rng.uniform(*self.scale, n)
        # Inverse map: for each output pixel, where in the input does it come from?
        cy, cx = (h - 1) / 2, (w - 1) / 2
        yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        cos, sin = (np.cos(angle) / s)[:, None, None], (np.sin(angle) / s)[:, None, None]
        xs = xx - tx[:, None, None]
        ys = yy - ty[:, None, None]
        src_x = cos * xs + sin * ys + cx
        src_y = -sin * xs + cos * ys + cy
        return _bilinear(imgs, src_y, src_x)


class RandomShift(RandomAffine):
    """Random whole-pixel translations by up to ``max_shift`` pixels (no rotation)."""

    def __init__(self, max_shift: int = 2, image_shape: Any = None, generator: Any = None):
        super().__init__(0.0, None, None, image_shape, generator)
        self.max_shift = max_shift

    def apply(self, imgs: np.ndarray) -> np.ndarray:
        n, _, h, w = imgs.shape
        k = self.max_shift
        dy, dx = self.rng.integers(-k, k + 1, (2, n))
        padded = np.pad(imgs, ((0, 0), (0, 0), (k, k), (k, k)))
        rows = (np.arange(h)[None, :] + k - dy[:, None])[:, None, :, None]
        cols = (np.arange(w)[None, :] + k - dx[:, None])[:, None, None, :]
        return padded[
            np.arange(n)[:, None, None, None],
            np.arange(imgs.shape[1])[None, :, None, None],
            rows,
            cols,
        ]


class RandomErasing(_BatchAugment):
    """With probability ``p``, set a random rectangle (area ``scale`` of the image,
    aspect ``ratio``) of each image to ``value`` (Zhong et al. 2017)."""

    def __init__(
        self,
        p: float = 0.5,
        scale: tuple[float, float] = (0.02, 0.33),
        ratio: tuple[float, float] = (0.3, 3.3),
        value: float = 0.0,
        image_shape: Any = None,
        generator: Any = None,
    ) -> None:
        super().__init__(image_shape, generator)
        self.p, self.scale, self.ratio, self.value = p, scale, ratio, value

    def apply(self, imgs: np.ndarray) -> np.ndarray:
        n, _, h, w = imgs.shape
        out = imgs.copy()
        area = self.rng.uniform(*self.scale, n) * h * w
        aspect = np.exp(self.rng.uniform(*np.log(self.ratio), n))
        eh = np.clip(np.round(np.sqrt(area * aspect)), 1, h).astype(int)
        ew = np.clip(np.round(np.sqrt(area / aspect)), 1, w).astype(int)
        top = (self.rng.random(n) * (h - eh + 1)).astype(int)
        left = (self.rng.random(n) * (w - ew + 1)).astype(int)
        on = self.rng.random(n) < self.p
        yy, xx = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
        mask = (
            on[:, None, None]
            & (yy >= top[:, None, None]) & (yy < (top + eh)[:, None, None])
            & (xx >= left[:, None, None]) & (xx < (left + ew)[:, None, None])
        )  # fmt: skip
        out[np.broadcast_to(mask[:, None], out.shape)] = self.value
        return out


def _bilinear(imgs: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Sample ``imgs`` (N, C, H, W) at fractional coordinates (N, H, W); zero outside."""
    n, c, h, w = imgs.shape
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    wy, wx = (y - y0).astype(np.float32), (x - x0).astype(np.float32)
    flat = imgs.reshape(n, c, h * w)
    out = np.zeros((n, c, h, w), np.float32)
    for dy, dx, weight in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx),
                           (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):  # fmt: skip
        yi, xi = y0 + dy, x0 + dx
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        idx = np.where(inside, yi * w + xi, 0).reshape(n, 1, h * w)
        vals = np.take_along_axis(flat, np.broadcast_to(idx, (n, c, h * w)), axis=2)
        out += vals.reshape(n, c, h, w) * (weight * inside)[:, None]
    return out
