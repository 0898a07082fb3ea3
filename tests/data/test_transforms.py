"""Transforms: conversions and batch augmentations (shapes, seeding, geometry)."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile.data.transforms import (
    Compose,
    Lambda,
    Normalize,
    RandomAffine,
    RandomErasing,
    RandomShift,
    ToTensor,
)


def _digit_batch(n=6, h=28, w=28):
    """Images with one bright off-centre square, so that moves are measurable."""
    x = np.zeros((n, h, w), np.float32)
    x[:, 8:14, 10:16] = 1.0
    return x


def test_to_tensor_scales_uint8_and_adds_channel():
    img = np.array([[0, 255], [51, 102]], np.uint8)
    t = ToTensor()(img)
    assert t.shape == (1, 2, 2) and t.dtype == stirpile.float32
    assert np.allclose(t.numpy()[0], [[0, 1], [0.2, 0.4]])
    rgb = np.zeros((4, 5, 3), np.uint8)
    assert ToTensor()(rgb).shape == (3, 4, 5)


def test_normalize_and_compose_and_lambda():
    f = Compose([ToTensor(), Normalize((0.5,), (0.25,)), Lambda(lambda t: t * 2)])
    out = f(np.array([[0.5, 1.0]], np.float32))
    assert np.allclose(out.numpy(), [[[0.0, 4.0]]])
    with pytest.raises(ValueError, match="std"):
        Normalize(0.0, 0.0)


def test_random_shift_moves_content_by_whole_pixels_and_keeps_mass():
    x = _digit_batch()
    out = RandomShift(max_shift=2, generator=0)(x)
    assert out.shape == x.shape
    assert np.allclose(out.sum(axis=(1, 2)), x.sum(axis=(1, 2)))  # the square stays inside
    for img in out:
        ys, xs = np.nonzero(img)
        assert abs(ys.min() - 8) <= 2 and abs(xs.min() - 10) <= 2
        assert ys.max() - ys.min() == 5 and xs.max() - xs.min() == 5
    assert not np.array_equal(out, np.broadcast_to(out[0], out.shape))  # shifts differ


def test_random_affine_identity_when_no_motion():
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    assert np.allclose(RandomAffine(degrees=0, generator=0)(x), x, atol=1e-6)


def test_random_affine_translation_only_matches_a_roll():
    x = _digit_batch(1)
    aug = RandomAffine(degrees=0, translate=(0.1, 0.1), generator=3)
    out = aug(x)
    ys, xs = np.nonzero(out[0] > 0.5)
    dy, dx = ys.min() - 8, xs.min() - 10
    assert (dy, dx) != (0, 0) and abs(dy) <= 3 and abs(dx) <= 3
    assert np.allclose(out[0], np.roll(x[0], (dy, dx), axis=(0, 1)), atol=1e-5)


def test_random_affine_rotation_by_90_degrees_is_exact_rot90():
    x = np.random.default_rng(1).random((1, 9, 9)).astype(np.float32)

    class Fixed(RandomAffine):
        def __init__(self):
            super().__init__(degrees=0, generator=0)

    aug = Fixed()
    aug.rng = type(
        "R", (), {"uniform": staticmethod(lambda a, b, n: np.full(n, np.pi / 2 * 180 / np.pi))}
    )()
    out = aug(x)
    assert np.allclose(out[0], np.rot90(x[0], k=1), atol=1e-5) or np.allclose(
        out[0], np.rot90(x[0], k=-1), atol=1e-5
    )


def test_augment_handles_flat_and_channel_layouts_and_tensors():
    x = _digit_batch(4)
    flat = RandomAffine(10, (0.1, 0.1), generator=0)(x.reshape(4, 784))
    img = RandomAffine(10, (0.1, 0.1), generator=0)(x)
    assert flat.shape == (4, 784) and np.allclose(flat.reshape(4, 28, 28), img)
    nchw = RandomShift(2, generator=0)(stirpile.tensor(x[:, None]))
    assert isinstance(nchw, stirpile.Tensor) and nchw.shape == (4, 1, 28, 28)
    with pytest.raises(ValueError, match="image_shape"):
        RandomShift(2)(np.zeros((2, 10), np.float32))


def test_augment_seeded_reproducible():
    x = _digit_batch()
    a = RandomAffine(15, (0.1, 0.1), generator=7)(x)
    b = RandomAffine(15, (0.1, 0.1), generator=7)(x)
    c = RandomAffine(15, (0.1, 0.1), generator=8)(x)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_random_erasing_erases_one_rectangle_per_image():
    x = np.ones((5, 28, 28), np.float32)
    out = RandomErasing(p=1.0, generator=0)(x)
    for img in out:
        ys, xs = np.nonzero(img == 0)
        assert ys.size > 0
        box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        assert box == ys.size  # a full rectangle
        assert 0.02 * 784 * 0.5 <= ys.size <= 0.33 * 784 * 1.5
    assert np.array_equal(RandomErasing(p=0.0, generator=0)(x), x)
