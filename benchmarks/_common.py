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


# -- contenders in their own processes ---------------------------------------------------
# Running PyTorch in the same process changes how fast NumPy code runs: after
# ``torch.set_num_threads``, glibc stops adapting its mmap threshold, so every large
# array NumPy allocates is fresh mmapped memory whose pages fault in on first touch
# (measured: a LeNet-5 training step in stirpile goes from 8.5 ms to 21 ms, forward
# 4.9 → 10.6 ms, with torch merely imported and configured beside it). So each
# contender runs in a child process of its own; the parent still interleaves them,
# round by round in rotating order, so they share the machine's ups and downs.
class Contender:
    """A child process running ``python SCRIPT --child NAME CONFIG``, which builds one
    contender and then serves requests on stdin: ``N`` (run N steps, reply with the
    seconds taken) or ``mem N`` (reply with the peak memory in MB over N steps, see
    :func:`serve`)."""

    def __init__(self, script: str, name: str, config: str, threads: int) -> None:
        import subprocess
        import sys

        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, script, "--threads", str(threads), "--child", name, config],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.ok = self.proc.stdout.readline().strip() == "ready"

    def ask(self, request: str) -> float:
        self.proc.stdin.write(request + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def rss(key: str = "VmRSS") -> int:
    """This process's resident memory in bytes (``VmHWM``: its peak since the last reset)."""
    from pathlib import Path

    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


def serve(make_step: Callable[[], Callable[[int], None]], n_batches: int, name: str,
          threads: int) -> None:  # fmt: skip
    """The child's side of :class:`Contender`: build the contender (``make_step()``;
    ``name`` "torch" gets ``threads`` threads, or is reported unavailable), warm up, then
    answer requests. Memory is reported as the peak RSS during the
    requested steps minus the RSS before the contender was built (so it counts the
    model, its gradients and optimizer state, the graph and the work arrays, not the
    framework's import)."""
    import sys
    from pathlib import Path

    if name == "torch":
        try:
            import torch
        except ImportError:
            print("unavailable", flush=True)
            return
        torch.set_num_threads(threads)
    base = rss()
    step = make_step()
    for i in range(2):
        step(i % n_batches)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[0] == "mem":
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
            for i in range(int(words[1])):
                step(i % n_batches)
            print((rss("VmHWM") - base) / 2**20, flush=True)
            continue
        t0 = time.perf_counter()
        for i in range(int(words[0])):
            step(i % n_batches)
        print(time.perf_counter() - t0, flush=True)


def interleaved_children(script: str, names: list[str], config: str, threads: int,
                         repeats: int, batch: int, min_time: float = 0.5,
                         memory_steps: int = 0) -> tuple[dict, dict]:  # fmt: skip
    """Throughput (samples/s per repeat) of each contender that starts, each in its own
    process, interleaved; with ``memory_steps``, also each one's peak memory (MB) over
    that many steps (measured in a fresh child, before any timing; see :func:`serve`)."""
    memory = {}
    if memory_steps:
        for name in names:
            c = Contender(script, name, config, threads)
            if c.ok:
                memory[name] = c.ask(f"mem {memory_steps}")
            c.close()
    children = [c for c in (Contender(script, n, config, threads) for n in names) if c.ok]
    per_step = children[0].ask("3") / 3
    n_steps = max(2, int(min_time / per_step))
    rates: dict[str, list[float]] = {c.name: [] for c in children}
    for r in range(repeats):
        k = r % len(children)
        for c in children[k:] + children[:k]:
            rates[c.name].append(n_steps * batch / c.ask(str(n_steps)))
    for c in children:
        c.close()
    return rates, memory
