"""Shared benchmark plumbing: thread pinning, interleaved timing, a table printer.

Timings on a shared machine fluctuate, so every comparison is measured in one
process, the contenders interleaved repeat by repeat in rotating order, and
reported as medians with min–max; ratios are computed from those medians.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def pin_threads(n: int) -> None:
    """Limit BLAS/OpenMP pools to ``n`` threads. Call before importing numpy/torch."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def interleaved(contenders: dict[str, Callable[[], None]], repeats: int) -> dict[str, list[float]]:
    """Time each contender ``repeats`` times, rotating the order every round."""
    names = list(contenders)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            t0 = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - t0)
    return times


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(headers), sep, *map(line, rows)])
