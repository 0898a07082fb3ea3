"""The named tuples some functions return, as ``torch.return_types``: ``values, indices =
x.sort()`` unpacks like any tuple, and ``x.sort().values`` reads by name.

>>> import stirpile
>>> stirpile.tensor([3.0, 1.0, 2.0]).topk(2)
topk(values=tensor([3., 2.]), indices=tensor([0, 2]))
"""

from __future__ import annotations

from collections import namedtuple

topk = namedtuple("topk", ["values", "indices"])
sort = namedtuple("sort", ["values", "indices"])
median = namedtuple("median", ["values", "indices"])
aminmax = namedtuple("aminmax", ["min", "max"])

__all__ = ["aminmax", "median", "sort", "topk"]
