"""Read and write the IDX format (the file format of MNIST and Fashion-MNIST).

Format (all integers big-endian)::

    offset 0   2 bytes   0x00 0x00
    offset 2   1 byte    type code: 0x08 uint8, 0x09 int8, 0x0B int16,
                         0x0C int32, 0x0D float32, 0x0E float64
    offset 3   1 byte    ndim (number of dimensions)
    offset 4   4*ndim    one uint32 per dimension, outermost first
    then                 prod(dims) items, row-major, big-endian

So MNIST images start with the magic ``00 00 08 03`` (uint8, 3-d:
``(N, 28, 28)``) and labels with ``00 00 08 01`` (uint8, 1-d: ``(N,)``).
Files may be gzip-compressed; :func:`read_idx` recognises gzip by its magic
bytes ``1f 8b``, not by the file name.

Every malformation raises :class:`IDXError` (a ``ValueError``) whose message
names the file and what is wrong, with byte offsets into the (decompressed)
stream.

Example::

    >>> images = read_idx("t10k-images-idx3-ubyte.gz")   # doctest: +SKIP
    >>> images.shape, images.dtype                        # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'))
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDX_DTYPES", "IDXError", "parse_idx", "read_idx", "write_idx"]

# type code -> on-disk dtype (big-endian where it matters)
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# No real IDX file has more than a handful of dimensions; a larger count
# means we are reading something that is not IDX at all.
MAX_NDIM = 16
GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file is not a well-formed IDX file (the message says why and where)."""


def _hex(b: bytes) -> str:
    return " ".join(f"{x:02x}" for x in b) or "(nothing)"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed, into a native-endian array.

    Args:
        path: the file. Gzip is detected by the magic bytes ``1f 8b``.

    Returns:
        A writable array of the shape stored in the header, dtype one of
        uint8, int8, int16, int32, float32, float64 (native byte order).

    Raises:
        IDXError: bad magic, unsupported type code, bad ndim, truncated
            header or data, trailing bytes, or a corrupt gzip stream.
        FileNotFoundError: the file does not exist.
    """
    raw = Path(path).read_bytes()
    name = str(path)
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            # OSError covers BadGzipFile (bad header/CRC), EOFError a cut-off
            # stream, zlib.error damaged deflate data.
            raise IDXError(f"{name}: corrupt gzip data ({e})") from e
        name += " (after gunzip)"
    return parse_idx(raw, name=name)


def parse_idx(buf: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode an uncompressed IDX byte string; ``name`` is used in errors."""
    size = len(buf)
    if size < 4:
        raise IDXError(
            f"{name}: truncated header: need 4 bytes of magic number at byte "
            f"offset 0, file has only {size} byte(s)"
        )
    magic = buf[:4]
    if magic[0] != 0 or magic[1] != 0:
        raise IDXError(
            f"{name}: bad magic number at byte offset 0: expected 00 00 <type> "
            f"<ndim>, found {_hex(magic)} (not an IDX file?)"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        supported = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise IDXError(
            f"{name}: unsupported data type code 0x{code:02X} at byte offset 2 "
            f"(magic {_hex(magic)}; supported: {supported})"
        )
    if not 1 <= ndim <= MAX_NDIM:
        raise IDXError(
            f"{name}: invalid number of dimensions {ndim} at byte offset 3 "
            f"(magic {_hex(magic)}; expected 1..{MAX_NDIM})"
        )
    header = 4 + 4 * ndim
    if size < header:
        raise IDXError(
            f"{name}: truncated header: {ndim} dimension sizes need bytes 4.."
            f"{header - 1}, but the file ends at byte offset {size}"
        )
    dims = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    # Python ints: no overflow even for absurd dims.
    expected = dtype.itemsize
    for d in dims:
        expected *= d
    got = size - header
    if got < expected:
        raise IDXError(
            f"{name}: truncated data: dims {dims} of {dtype.name} need "
            f"{expected} bytes after the header (byte offset {header}), got {got} bytes"
        )
    if got > expected:
        raise IDXError(
            f"{name}: {got - expected} trailing byte(s) after the data: dims "
            f"{dims} of {dtype.name} need {expected} bytes from byte offset "
            f"{header} (data should end at byte offset {header + expected}), got {got} bytes"
        )
    arr = np.frombuffer(buf, dtype=dtype, offset=header).reshape(dims)
    # astype copies: the result is writable and native-endian.
    return arr.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file; gzip-compressed when ``path`` ends in ``.gz``.

    The dtype must be one of uint8, int8, int16, int32, float32, float64 and
    the array at least 1-d. Gzip output is deterministic (mtime 0), so equal
    arrays give byte-identical files with equal sha256.
    """
    a = np.asarray(array)
    codes = {dt.newbyteorder("="): c for c, dt in IDX_DTYPES.items()}
    key = a.dtype.newbyteorder("=")
    if key not in codes:
        raise ValueError(f"write_idx: dtype {a.dtype} has no IDX type code")
    if not 1 <= a.ndim <= MAX_NDIM:
        raise ValueError(f"write_idx: ndim must be 1..{MAX_NDIM}, got {a.ndim}")
    code = codes[key]
    header = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(a, dtype=IDX_DTYPES[code]).tobytes()
    path = Path(path)
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path
