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
``ValueError``) naming the file and what is wrong.

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
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from .tensor import Tensor

__all__ = ["CheckpointError", "load", "save"]

FORMAT = "stirpile.checkpoint"
VERSION = 1
METADATA_KEY = "__stirpile__"
_SCALAR_KEYS = (str, int, float, bool, type(None))
# what safetensors stores
_DTYPES = {
    np.dtype(t)
    for t in ("bool", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8", "c8")
}


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
    header = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    data = st.save(encoder.arrays, metadata={METADATA_KEY: header})
    if hasattr(f, "write"):
        f.write(data)
    else:
        _atomic_write(os.fspath(f), data)


def _atomic_write(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


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
    tree = _read_header(path, data)
    try:
        arrays = st.load(data)
    except Exception as e:  # safetensors' own validation of the byte layout
        raise CheckpointError(f"{path}: corrupt safetensors data: {e}") from None
    try:
        return _Decoder(arrays).decode(tree)
    except (KeyError, TypeError, ValueError, IndexError, RecursionError) as e:
        raise CheckpointError(f"{path}: corrupt stirpile checkpoint structure: {e!r}") from None


def _read_header(path: str, data: bytes) -> Any:
    """Check the safetensors header and return the stirpile tree, or raise a
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
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt header: not a JSON object")
    data_size = size - 8 - n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)
        ):
            raise CheckpointError(f"{path}: corrupt header: bad entry for tensor {name!r}")
        if not 0 <= offsets[0] <= offsets[1] <= data_size:
            raise CheckpointError(
                f"{path}: truncated or corrupt: tensor {name!r} spans data bytes "
                f"{offsets[0]}-{offsets[1]} (file offsets {8 + n + offsets[0]}-"
                f"{8 + n + offsets[1]}) but the data section has {data_size} bytes"
            )
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise CheckpointError(
            f"{path}: a safetensors file, but not a stirpile checkpoint (no {METADATA_KEY!r} "
            "metadata); read plain safetensors files with safetensors.numpy.load_file"
        )
    try:
        meta = json.loads(metadata[METADATA_KEY])
    except (TypeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: corrupt {METADATA_KEY!r} metadata: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "tree" not in meta:
        raise CheckpointError(f"{path}: corrupt {METADATA_KEY!r} metadata: unknown layout")
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {meta.get('version')!r}; this stirpile reads "
            f"version {VERSION}"
        )
    return meta["tree"]


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
