"""Fixtures for the lab tests: where the offline MNIST copy is.

The labs train on the copy beside the checkout (``../shared/data/mnist``). The
perceptron and init labs run without it (they skip their MNIST part and say so), so
their tests take ``mnist_dir``; the other labs need it, so theirs take
``offline_mnist``, which skips the test where the copy is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

MNIST_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The offline MNIST folder, whether or not it is there."""
    return MNIST_DIR


@pytest.fixture(scope="session")
def offline_mnist(mnist_dir: Path) -> Path:
    """The offline MNIST folder; the test is skipped where its test set is missing."""
    if not (mnist_dir / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("offline MNIST not found")
    return mnist_dir
