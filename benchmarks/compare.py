"""This working tree against another revision of stirpile, in one process.

Whole-run benchmarks on a shared machine drift by ±10 %; a code change worth a
few percent needs a tighter comparison. This script loads the revision's
``src/stirpile`` (via ``git archive``) as a second package, ``stirpile_base``,
and alternates the two versions many times on the same workload, reporting the
median of the per-pair time ratios (with its interquartile range).

    python benchmarks/compare.py [--rev HEAD] [--pairs 40] D A chain tiny

Workloads: the configs of ``mlp.py`` (a training step), ``tiny`` (an 8-8-4 MLP
with batch 2, where a step is all framework overhead) and ``chain`` (the
100-op chain of ``overhead.py``, forward and backward).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import pin_threads
from overhead import op_chain

HERE = Path(__file__).resolve().parent


def load_revision(rev: str) -> str:
    """Unpack ``rev``'s package as ``stirpile_base`` on sys.path; return its name."""
    root = Path(tempfile.mkdtemp(prefix="stirpile-compare-"))
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", rev, "src/stirpile"],
                             check=True, capture_output=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    (root / "src" / "stirpile").rename(root / "stirpile_base")
    sys.path.insert(0, str(root))
    return "stirpile_base"


def workload(package: str, name: str):
    """(function of a step index, steps per timing) for one version of stirpile."""
    import mlp
    import numpy as np

    sp = importlib.import_module(package)
    if name == "chain":
        x0 = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)

        def chain(i):
            op_chain(sp.tensor(x0, requires_grad=True)).backward()

        return chain, 100
    sizes, batch = ([8, 8, 4], 2) if name == "tiny" else mlp.CONFIGS[name]
    x, y = mlp.make_data(batch)
    if name == "tiny":
        x, y = x[:, :, :8].copy(), y % 4
    step, _ = mlp.stirpile_runner(sizes, x, y, package=package)
    return step, {"tiny": 300, "D": 200, "A": 60, "B": 8, "C": 2}[name]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", nargs="+", help="D, A, B, C, tiny or chain")
    ap.add_argument("--rev", default="HEAD", help="the revision to compare against")
    ap.add_argument("--pairs", type=int, default=40)
    args = ap.parse_args()
    pin_threads(1)
    base = load_revision(args.rev)
    print(f"working tree vs {args.rev}: median of {args.pairs} alternating pairs, 1 thread")
    for name in args.workloads:
        (f_base, n), (f_work, _) = workload(base, name), workload("stirpile", name)
        for i in range(10):
            f_base(i)
            f_work(i)
        t_base, t_work = [], []
        for r in range(args.pairs):
            for f, out in ((f_base, t_base), (f_work, t_work))[:: 1 if r % 2 else -1]:
                t0 = time.perf_counter()
                for i in range(n):
                    f(i % 32)
                out.append((time.perf_counter() - t0) / n * 1e6)
        ratios = [w / b for b, w in zip(t_base, t_work)]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        print(f"{name:6s} {args.rev}: {statistics.median(t_base):8.1f} µs   working tree: "
              f"{statistics.median(t_work):8.1f} µs   time ratio {statistics.median(ratios):.3f} "
              f"(IQR {q1:.3f}–{q3:.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
