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
from typing import BinaryIO, NoReturn

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
# Deflate cannot inflate more than about 1032 bytes per input byte: a gzip file whose
# header announces more data than that is truncated, known before inflating anything.
MAX_DEFLATE_RATIO = 1032
MAX_BYTES = 1 << 30  # read_idx's default limit on the data size
TRAILING_PROBE = 1 << 16  # bytes read past the data to report trailing garbage


class IDXError(ValueError):
    """A file is not a well-formed IDX file (the message says why and where)."""


def _hex(b: bytes) -> str:
    return " ".join(f"{x:02x}" for x in b) or "(nothing)"


def read_idx(path: str | os.PathLike, max_bytes: int | None = MAX_BYTES) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed, into a native-endian array.

    The header is read first and the data size it implies is checked before anything
    else is read: against the file's size (raw), against the most a gzip stream of
    that size can inflate to (deflate's 1032:1), and against ``max_bytes``. The data
    are then inflated straight into the result, and a stream longer than the header
    says is stopped after at most :data:`TRAILING_PROBE` extra bytes, so a small gzip
    bomb costs no more memory than the array the header announces.

    Args:
        path: the file. Gzip is detected by the magic bytes ``1f 8b``.
        max_bytes: the largest data size accepted (default 1 GiB, 20 times the
            MNIST training images); ``None`` for no limit.

    Returns:
        A writable array of the shape stored in the header, dtype one of
        uint8, int8, int16, int32, float32, float64 (native byte order).

    Raises:
        IDXError: bad magic, unsupported type code, bad ndim, truncated
            header or data, trailing bytes, data above ``max_bytes``, or a
            corrupt gzip stream.
        FileNotFoundError: the file does not exist.
    """
    name = str(path)
    with open(path, "rb") as f:
        disk_size = os.fstat(f.fileno()).st_size
        compressed = f.read(2) == GZIP_MAGIC
        f.seek(0)
        if not compressed:
            return _read_stream(f, name, max_bytes, disk_size, exact=True)
        name += " (after gunzip)"
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as z:
                return _read_stream(z, name, max_bytes, MAX_DEFLATE_RATIO * disk_size)
        except (OSError, EOFError, zlib.error) as e:
            # OSError covers BadGzipFile (bad header/CRC), EOFError a cut-off
            # stream, zlib.error damaged deflate data.
            raise IDXError(f"{path}: corrupt gzip data ({e})") from e


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes (fewer only at the end of the stream)."""
    parts, got = [], 0
    while got < n and (chunk := stream.read(n - got)):
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _read_stream(stream: BinaryIO, name: str, max_bytes: int | None, bound: int,
                 exact: bool = False) -> np.ndarray:  # fmt: skip
    """Header, size checks, then the data of an IDX stream; ``bound`` is the stream's
    size (``exact``) or the most it can hold (a gzip stream)."""
    head = _read_exact(stream, 4)
    ndim = _check_magic(head, len(head), name)
    head += _read_exact(stream, 4 * ndim)
    dtype, dims, header = _header(head, len(head), name)
    expected = _nbytes(dtype, dims)
    if max_bytes is not None and expected > max_bytes:
        raise IDXError(
            f"{name}: dims {dims} of {dtype.name} need {expected} bytes, more than "
            f"max_bytes={max_bytes} (pass a larger max_bytes, or None, to read it)"
        )
    if expected > bound - header:
        got = bound - header
        _truncated(name, dims, dtype, expected, header, got if exact else None)
    data = np.empty(expected, dtype=np.uint8)
    view, got = memoryview(data), 0
    while got < expected and (n := stream.readinto(view[got:])):
        got += n
    if got < expected:
        _truncated(name, dims, dtype, expected, header, got)
    extra = len(_read_exact(stream, TRAILING_PROBE))
    if extra:
        more = " or more" if extra == TRAILING_PROBE else ""
        if exact:
            extra, more = bound - header - expected, ""
        raise IDXError(
            f"{name}: {extra}{more} trailing byte(s) after the data: dims {dims} of "
            f"{dtype.name} need {expected} bytes from byte offset {header} (data should "
            f"end at byte offset {header + expected}), got {expected + extra}{more} bytes"
        )
    arr = data.view(dtype).reshape(dims)
    return arr if dtype.isnative else arr.astype(dtype.newbyteorder("="))


def _truncated(name: str, dims: tuple, dtype: np.dtype, expected: int, header: int,
               got: int | None) -> NoReturn:  # fmt: skip
    has = f"got {got} bytes" if got is not None else "a gzip file of this size cannot hold them"
    raise IDXError(
        f"{name}: truncated data: dims {dims} of {dtype.name} need "
        f"{expected} bytes after the header (byte offset {header}), {has}"
    )


def _nbytes(dtype: np.dtype, dims: tuple[int, ...]) -> int:
    expected = dtype.itemsize  # Python ints: no overflow even for absurd dims
    for d in dims:
        expected *= d
    return expected


def _check_magic(buf: bytes, size: int, name: str) -> int:
    """The number of dimensions, once the 4 magic bytes are checked."""
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
    return ndim


def _header(buf: bytes, size: int, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """(on-disk dtype, dims, header length) of the IDX header at the start of ``buf``."""
    ndim = _check_magic(buf, size, name)
    header = 4 + 4 * ndim
    if size < header:
        raise IDXError(
            f"{name}: truncated header: {ndim} dimension sizes need bytes 4.."
            f"{header - 1}, but the file ends at byte offset {size}"
        )
    dims = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    return IDX_DTYPES[buf[2]], dims, header


def parse_idx(buf: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode an uncompressed IDX byte string; ``name`` is used in errors."""
    size = len(buf)
    dtype, dims, header = _header(buf, size, name)
    expected = _nbytes(dtype, dims)
    got = size - header
    if got < expected:
        _truncated(name, dims, dtype, expected, header, got)
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
