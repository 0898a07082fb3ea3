"""Digits: scikit-learn's 8x8 digits (skipped when scikit-learn is absent)."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from stirpile.data.datasets import Digits


def test_missing_sklearn_gives_install_hint(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install stirpile\[digits\]"):
        Digits()


def test_splits():
    pytest.importorskip("sklearn")
    train, test, full = Digits(), Digits(train=False), Digits(split="all")
    assert (len(train), len(test), len(full)) == (1500, 297, 1797)
    np.testing.assert_array_equal(np.concatenate([train.data, test.data]), full.data)
    np.testing.assert_array_equal(np.concatenate([train.targets, test.targets]), full.targets)
    assert np.bincount(test.targets).min() >= 25  # every class is in the test set
    with pytest.raises(ValueError, match="unknown split"):
        Digits(split="valid")


def test_data_items_and_arrays():
    datasets = pytest.importorskip("sklearn.datasets")
    ds = Digits(split="all")
    assert ds.data.shape == (1797, 8, 8) and ds.data.dtype == np.float32
    assert ds.targets.dtype == np.int64 and ds.classes[3] == "3"
    assert ds.data.min() == 0.0 and ds.data.max() == 1.0
    ref = datasets.load_digits()
    np.testing.assert_allclose(ds.data * 16, ref.images, atol=1e-5)
    np.testing.assert_array_equal(ds.targets, ref.target)
    image, target = ds[5]
    assert image.shape == (1, 8, 8) and image.dtype == np.float32 and target == ref.target[5]
    assert isinstance(target, int)
    X, y = ds.arrays()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(ds.arrays(normalize=False)[0], ref.data, atol=1e-5)
    image[:] = -1  # items and arrays are copies
    X[:] = -1
    assert ds.data.min() == 0.0


def test_transforms():
    pytest.importorskip("sklearn")
    ds = Digits(transform=lambda im: float(im.sum()), target_transform=str)
    image, target = ds[0]
    assert isinstance(image, float) and target == str(int(ds.targets[0]))
