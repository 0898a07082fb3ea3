"""Checkpoints: ``save(obj, path)`` and ``load(path)``, safely.

What can be saved: nested dicts (``str``/``int``/``float``/``bool``/``None``
keys), lists and tuples of tensors, NumPy arrays and scalars, Python
numbers, strings, ``None`` — e.g. ::

    stirpile.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                   "epoch": 3, "rng": stirpile.get_rng_state()}, "ckpt.safetensors")

The file is one `safetensors <https://github.com/huggingface/safetensors>`_
file: the arrays as its tensors (readable by any safetensors tool), and the
structure as a JSON string under the ``"__stirpile__"`` metadata key, with
each array referenced by its tensor name. Types round-trip exactly: tuples
stay tuples, integer keys stay integers (an optimizer's state is keyed by
parameter index), dtypes are kept, a tensor's ``requires_grad`` is kept, and
an object saved twice in one tree comes back as one object. ``OrderedDict``
stays ordered; other dict subclasses come back as plain dicts.

Why not pickle (what ``torch.save`` uses)? Loading a pickle runs code chosen
by whoever wrote the file. Loading here only parses JSON and copies bytes.

Writes are atomic: the file is written to a temporary file in the same
directory, flushed and fsynced, then renamed over the target (and the
directory fsynced), so a crash mid-save leaves the previous checkpoint intact.
A truncated, corrupted or foreign file raises :class:`CheckpointError` (a
``ValueError``) naming the file and what is wrong: the header is checked
entry by entry (dtype, shape, byte range, with Python integers so nothing
overflows) before any array is made, and every tensor's bytes are checked
against the CRC-32 stored with it in the metadata, so a flipped data byte is
caught on load. (CRC-32 detects every burst of up to 32 flipped bits and
misses random damage with odds 2**-32; on a 784-512-256-10 MLP with its Adam
state, 6.4 MB, it costs about 2 ms where SHA-256 costs 4 ms. It guards
against accidents, not against someone forging a file.) Files written before
checksums were stored load without the check.

safetensors is an optional dependency (the ``train`` extra).

>>> import os, tempfile, stirpile
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
>>> stirpile.save({"w": stirpile.tensor([1.0, 2.0]), "step": 3, 0: (None, "x")}, path)
>>> ckpt = stirpile.load(path)
>>> ckpt["w"], ckpt["step"], ckpt[0]
(tensor([1., 2.]), 3, (None, 'x'))
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from .tensor import Tensor

__all__ = ["CheckpointError", "atomic_write", "load", "save"]

FORMAT = "stirpile.checkpoint"
VERSION = 1
METADATA_KEY = "__stirpile__"
_SCALAR_KEYS = (str, int, float, bool, type(None))
# what safetensors stores
_DTYPES = {
    np.dtype(t)
    for t in ("bool", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8", "c8")
}
# safetensors' dtype names -> bytes per element (the ones stirpile writes)
_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2, "U32": 4,
             "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8, "C64": 8}  # fmt: skip


class CheckpointError(ValueError):
    """A file that is not a readable stirpile checkpoint (truncated, corrupt, foreign)."""


def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "stirpile.save/load need the 'safetensors' package: "
            "pip install safetensors (or pip install 'stirpile[train]')"
        ) from None
    return safetensors.numpy


# -- save ---------------------------------------------------------------------------------
def _join(path: str, key: Any) -> str:
    return f"{path}/{key}" if path else str(key)


class _Encoder:
    """Turns the object tree into JSON-able nodes plus a dict of named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.memo: dict[int, str] = {}  # id(tensor or array) -> its array name
        self.keep: list = []  # keeps memoised objects alive (ids stay unique)

    def _name(self, path: str) -> str:
        base = name = path or "root"
        n = 1
        while name in self.arrays:
            n += 1
            name = f"{base}#{n}"
        return name

    def _array(self, obj: Any, array: np.ndarray, path: str) -> str:
        if id(obj) in self.memo:
            return self.memo[id(obj)]
        if array.dtype.newbyteorder("=") not in _DTYPES:
            raise TypeError(f"save: can't save an array of dtype {array.dtype} (at {path!r})")
        if not array.flags.c_contiguous:  # (not ascontiguousarray: it makes 0-d arrays 1-d)
            array = array.copy(order="C")
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        name = self._name(path)
        self.arrays[name] = array
        self.memo[id(obj)] = name
        self.keep.append(obj)
        return name

    def encode(self, obj: Any, path: str) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            key = self._array(obj, obj._data, path)
            return {"$": "tensor", "key": key, "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            return {"$": "ndarray", "key": self._array(obj, obj, path)}
        if isinstance(obj, np.generic):  # before float: np.float64 is a float
            return {"$": "scalar", "key": self._array(obj, np.asarray(obj), path)}
        if isinstance(obj, int):
            return int(obj)  # (an IntEnum, say, is saved as its value)
        if isinstance(obj, float):
            return float(obj)
        if isinstance(obj, list):
            return [self.encode(v, _join(path, i)) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            items = [self.encode(v, _join(path, i)) for i, v in enumerate(obj)]
            return {"$": "tuple", "items": items}
        if isinstance(obj, Mapping):
            items = []
            for k, v in obj.items():
                if not isinstance(k, _SCALAR_KEYS) or isinstance(k, np.generic):
                    raise TypeError(
                        f"save: dict keys must be str, int, float, bool or None; got "
                        f"{type(k).__name__} key {k!r} at {path or '/'!r}"
                    )
                items.append([k, self.encode(v, _join(path, k))])
            kind = "odict" if isinstance(obj, OrderedDict) else "dict"
            return {"$": kind, "items": items}
        raise TypeError(
            f"save: can't save an object of type {type(obj).__name__} (at {path or '/'!r}); "
            "checkpoints hold tensors, arrays, numbers, strings, None, lists, tuples and dicts"
        )


def save(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Save ``obj`` (a state dict or a nested structure of tensors and plain values) to
    the file ``f``, atomically: ``f`` is either the old file or the complete new one.

    ``f`` may also be a binary file object (``io.BytesIO``, say), which is simply
    written to (atomicity is then the caller's business).
    """
    st = _safetensors_numpy()
    encoder = _Encoder()
    tree = encoder.encode(obj, "")
    crc = {name: _crc32(a) for name, a in encoder.arrays.items()}
    header = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree, "crc32": crc})
    data = st.save(encoder.arrays, metadata={METADATA_KEY: header})
    if hasattr(f, "write"):
        f.write(data)
    else:
        atomic_write(os.fspath(f), data)


def _crc32(array: np.ndarray) -> int:
    """CRC-32 of an array's bytes as safetensors stores them (C order, little-endian)."""
    return zlib.crc32(np.ascontiguousarray(array).reshape(-1).view(np.uint8))


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (setting it,
    even for an instant, would race with files other threads create)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always the old file or the complete
    new one: a temporary file in the same directory, fsynced, renamed over ``path``,
    then the directory fsynced. The temporary file is removed whatever happens
    (an interrupt included), and the result gets the permissions ``open`` would give
    (``0o666`` less the umask; ``mkstemp`` alone makes ``0o600``)."""
    path = os.fspath(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), 0o666 & ~_umask())
            os.fsync(out.fileno())
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    _fsync_directory(directory)


_atomic_write = atomic_write  # the old private name


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); a no-op where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- load ---------------------------------------------------------------------------------
def load(
    f: str | os.PathLike | BinaryIO, map_location: Any = None, weights_only: bool = True
) -> Any:
    """Load what :func:`save` wrote (from a path or a binary file object). Never
    executes code from the file.

    ``map_location`` and ``weights_only`` are accepted for PyTorch compatibility
    and ignored (there is one device, and loading is always data-only).
    """
    st = _safetensors_numpy()
    if hasattr(f, "read"):
        path, data = str(getattr(f, "name", "<file object>")), f.read()
    else:
        path = os.fspath(f)
        with open(path, "rb") as fh:
            data = fh.read()
    tree, crc = _read_header(path, data)
    if crc is not None:
        _verify_checksums(path, data, crc)
    try:
        arrays = st.load(data)
    except Exception as e:  # safetensors' own validation of the byte layout
        raise CheckpointError(f"{path}: corrupt safetensors data: {e}") from None
    try:
        return _Decoder(arrays).decode(tree)
    except (KeyError, TypeError, ValueError, IndexError, RecursionError) as e:
        raise CheckpointError(f"{path}: corrupt stirpile checkpoint structure: {e!r}") from None


def _verify_checksums(path: str, data: bytes, crc: dict) -> None:
    """Compare every tensor's bytes with the CRC-32 saved with it."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))  # already checked by _read_header
    view = memoryview(data)[8 + n :]
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if name not in crc:
            raise CheckpointError(f"{path}: corrupt: tensor {name!r} has no stored checksum")
        if zlib.crc32(view[begin:end]) != crc[name]:
            raise CheckpointError(
                f"{path}: corrupt data: tensor {name!r} (file bytes {8 + n + begin}-"
                f"{8 + n + end}) does not match its stored CRC-32 checksum"
            )
    extra = set(crc) - set(header)
    if extra:
        raise CheckpointError(f"{path}: corrupt: checksums for missing tensors {sorted(extra)}")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_entry(path: str, name: str, info: Any, data_size: int, file_offset: int) -> None:
    """One tensor's header entry: a known dtype, a shape of non-negative integers whose
    byte size (computed in Python integers: no overflow) is the span of its offsets,
    and offsets inside the data section."""
    if not isinstance(info, dict):
        raise CheckpointError(f"{path}: corrupt header: bad entry for tensor {name!r}")
    offsets, shape, dtype = info.get("data_offsets"), info.get("shape"), info.get("dtype")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_is_int, offsets)):
        raise CheckpointError(
            f"{path}: corrupt header: bad entry for tensor {name!r} (data_offsets)"
        )
    if not 0 <= offsets[0] <= offsets[1] <= data_size:
        raise CheckpointError(
            f"{path}: truncated or corrupt: tensor {name!r} spans data bytes "
            f"{offsets[0]}-{offsets[1]} (file offsets {file_offset + offsets[0]}-"
            f"{file_offset + offsets[1]}) but the data section has {data_size} bytes"
        )
    if dtype not in _ITEMSIZE:
        raise CheckpointError(f"{path}: corrupt header: tensor {name!r} has dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise CheckpointError(f"{path}: corrupt header: tensor {name!r} has shape {shape!r}")
    nbytes = _ITEMSIZE[dtype]
    for d in shape:
        nbytes *= d
        if nbytes > data_size:  # stop before the number itself gets absurd
            break
    if nbytes != offsets[1] - offsets[0]:
        raise CheckpointError(
            f"{path}: corrupt header: tensor {name!r} of shape {shape} and dtype {dtype} "
            f"needs {nbytes if nbytes <= data_size else 'more than ' + str(data_size)} bytes "
            f"but its data_offsets span {offsets[1] - offsets[0]}"
        )


def _read_header(path: str, data: bytes) -> tuple[Any, dict | None]:
    """Check the safetensors header and return the stirpile tree and the tensors'
    checksums (None in files written before they were stored), or raise a
    CheckpointError that says what is wrong and where."""
    size = len(data)
    if size == 0:
        raise CheckpointError(f"{path}: empty file, not a stirpile checkpoint")
    if size < 8:
        raise CheckpointError(
            f"{path}: file is {size} bytes, too short for a safetensors header (truncated?)"
        )
    (n,) = struct.unpack("<Q", data[:8])
    if n > size - 8:
        raise CheckpointError(
            f"{path}: not a safetensors file, or truncated: header length {n} (bytes 0-7) "
            f"exceeds the {size - 8} bytes that follow"
        )
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except UnicodeDecodeError as e:
        raise CheckpointError(
            f"{path}: corrupt header: invalid UTF-8 at byte offset {8 + e.start}"
        ) from None
    except RecursionError:
        raise CheckpointError(f"{path}: corrupt header: JSON nested too deeply") from None
    except json.JSONDecodeError as e:
        raise CheckpointError(
            f"{path}: corrupt header: invalid JSON at byte offset {8 + e.pos}: {e.msg}"
        ) from None
    except ValueError as e:  # e.g. an integer of thousands of digits
        raise CheckpointError(f"{path}: corrupt header: {e}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt header: not a JSON object")
    data_size = size - 8 - n
    for name, info in header.items():
        if name != "__metadata__":
            _check_entry(path, name, info, data_size, 8 + n)
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise CheckpointError(
            f"{path}: a safetensors file, but not a stirpile checkpoint (no {METADATA_KEY!r} "
            "metadata); read plain safetensors files with safetensors.numpy.load_file"
        )
    try:
        meta = json.loads(metadata[METADATA_KEY])
    except (TypeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{path}: corrupt {METADATA_KEY!r} metadata: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "tree" not in meta:
        raise CheckpointError(f"{path}: corrupt {METADATA_KEY!r} metadata: unknown layout")
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {meta.get('version')!r}; this stirpile reads "
            f"version {VERSION}"
        )
    crc = meta.get("crc32")
    if crc is not None and not (
        isinstance(crc, dict) and all(_is_int(v) and 0 <= v < 2**32 for v in crc.values())
    ):
        raise CheckpointError(f"{path}: corrupt {METADATA_KEY!r} metadata: bad checksums")
    return meta["tree"], crc


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.memo: dict[tuple[str, str], Any] = {}

    def _get(self, kind: str, key: str, make: Any) -> Any:
        if (kind, key) not in self.memo:
            if key not in self.arrays:
                raise KeyError(f"tensor {key!r} is referenced but not in the file")
            self.memo[kind, key] = make(np.array(self.arrays[key]))  # a writable copy
        return self.memo[kind, key]

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            raise TypeError(f"unexpected node {node!r}")
        kind = node["$"]
        if kind == "tensor":
            t = self._get(kind, node["key"], Tensor._make)
            return t.requires_grad_() if node.get("requires_grad") else t
        if kind == "ndarray":
            return self._get(kind, node["key"], lambda a: a)
        if kind == "scalar":
            return self._get(kind, node["key"], lambda a: a[()])
        if kind == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if kind in ("dict", "odict"):
            pairs = [(self._key(k), self.decode(v)) for k, v in node["items"]]
            return OrderedDict(pairs) if kind == "odict" else dict(pairs)
        raise ValueError(f"unknown node type {kind!r}")

    @staticmethod
    def _key(key: Any) -> Any:
        if not isinstance(key, _SCALAR_KEYS):
            raise TypeError(f"bad dict key {key!r}")
        return key
