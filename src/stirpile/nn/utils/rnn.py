"""Batches of sequences of different lengths: padding, and PyTorch's packed layout.

``pad_sequence`` stacks ``L_i × *`` tensors into ``(max L, N, *)`` (``(N, max L, *)`` with
``batch_first``), filling with ``padding_value``. A ``PackedSequence`` keeps only the real
steps, time-major: ``data`` holds step 0 of every sequence, then step 1 of those that have
one, …, with ``batch_sizes[t]`` = the number of sequences longer than ``t`` (sequences sorted
by decreasing length; ``sorted_indices`` / ``unsorted_indices`` undo the sort). All three
functions are compositions of differentiable ops.

The recurrent modules do not accept a ``PackedSequence`` yet (they raise); pad it with
``pad_packed_sequence`` first.

>>> import stirpile
>>> from stirpile.nn.utils.rnn import pad_sequence, pack_padded_sequence, pad_packed_sequence
>>> a, b = stirpile.tensor([1.0, 2.0, 3.0]), stirpile.tensor([4.0, 5.0])
>>> padded = pad_sequence([a, b])
>>> padded
tensor([[1., 4.],
        [2., 5.],
        [3., 0.]])
>>> packed = pack_padded_sequence(padded, [3, 2])
>>> packed.data, packed.batch_sizes
(tensor([1., 4., 2., 5., 3.]), tensor([2, 2, 1]))
>>> pad_packed_sequence(packed)[1]
tensor([3, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ... import creation
from ...functions import cat, stack
from ...tensor import Tensor

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
]


class PackedSequence(NamedTuple):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``; see the module docstring."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def _pad_to(t: Tensor, length: int, value: float, left: bool = False) -> Tensor:
    """``t`` extended along dim 0 to ``length`` with ``value``."""
    if t.shape[0] == length:
        return t
    fill = creation.full((length - t.shape[0], *t.shape[1:]), value, dtype=t.dtype)
    return cat([fill, t] if left else [t, fill])


def pad_sequence(
    sequences: Tensor | Sequence[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences ``L_i × *`` into ``(max L, N, *)`` (``(N, max L, *)`` if
    ``batch_first``), padded with ``padding_value`` on ``padding_side``."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    sequences = list(sequences.unbind(0) if isinstance(sequences, Tensor) else sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    length = max(s.shape[0] for s in sequences)
    left = padding_side == "left"
    return stack([_pad_to(s, length, padding_value, left) for s in sequences],
                 0 if batch_first else 1)  # fmt: skip


def _lengths(lengths: Any) -> np.ndarray:
    if isinstance(lengths, Tensor):
        return lengths.numpy().astype(np.int64).reshape(-1)
    return np.asarray(lengths, dtype=np.int64).reshape(-1)


def pack_padded_sequence(
    input: Tensor, lengths: Tensor | list[int], batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:  # fmt: skip
    """Pack a padded batch ``(T, N, *)`` (``(N, T, *)`` if ``batch_first``) of sequences of
    the given ``lengths``. With ``enforce_sorted`` the lengths must decrease; otherwise the
    batch is sorted here and the permutation kept."""
    n = _lengths(lengths)
    if enforce_sorted:
        if np.any(n[1:] > n[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        sorted_indices = unsorted_indices = None
    else:
        order = np.argsort(-n, kind="stable")
        n = n[order]
        sorted_indices = creation.tensor(order)
        unsorted_indices = creation.tensor(np.argsort(order))
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if n.size and n.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' "
            "that is <= 0"
        )
    if batch_first:
        input = input.transpose(0, 1)
    batch_sizes = (n[None, :] > np.arange(n.max())[:, None]).sum(1)
    data = cat([input[t, : int(b)] for t, b in enumerate(batch_sizes)])
    return PackedSequence(data, creation.tensor(batch_sizes), sorted_indices, unsorted_indices)


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)`` in the original
    batch order, padded to ``total_length`` steps if given."""
    data, batch_sizes, _, unsorted = sequence
    sizes = [int(b) for b in batch_sizes.numpy()]
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}"
            )
        steps = total_length
    batch, rows, start = sizes[0], [], 0
    for b in sizes:
        rows.append(_pad_to(data[start : start + b], batch, padding_value))
        start += b
    padded = _pad_to(stack(rows), steps, padding_value)  # (T, N, *)
    lengths = (np.asarray(sizes)[None, :] > np.arange(batch)[:, None]).sum(1)
    if unsorted is not None:
        padded = padded.index_select(1, unsorted)
        lengths = lengths[unsorted.numpy()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, creation.tensor(lengths.astype(np.int64))


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """``pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=...)``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
