"""Dataset files and ready-made data sets, as NumPy arrays.

- :mod:`.idx`: read/write the IDX format (MNIST's), raw or gzipped.
- :mod:`.download`: checksum-verified atomic downloads; the cache directory.
- :mod:`.mnist`: :class:`MNIST`, :class:`FashionMNIST`.
- :mod:`.digits`: :class:`Digits` (scikit-learn's 8x8 digits; optional dep).
- :mod:`._images`: what those image sets share (``len``, ``ds[i]`` with transforms).
- :mod:`.synthetic`: seeded toy sets (spirals, moons, blobs, xor, ...).

Nothing here depends on stirpile tensors: everything returns NumPy arrays.
"""

from __future__ import annotations

from .digits import Digits
from .download import ChecksumError, DownloadError, cache_dir, download, sha256sum
from .idx import IDXError, read_idx, write_idx
from .mnist import MNIST, FashionMNIST
from .synthetic import Teacher, blobs, linear_teacher, linearly_separable, moons, spirals, xor

__all__ = [
    "MNIST",
    "ChecksumError",
    "Digits",
    "DownloadError",
    "FashionMNIST",
    "IDXError",
    "Teacher",
    "blobs",
    "cache_dir",
    "download",
    "linear_teacher",
    "linearly_separable",
    "moons",
    "read_idx",
    "sha256sum",
    "spirals",
    "write_idx",
    "xor",
]
