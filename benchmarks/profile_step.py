"""Where the time of a training step goes: cProfile over N steps of an MLP config.

    python benchmarks/profile_step.py B [--steps 30] [--src path/to/other/checkout/src]

``--src`` profiles another version of stirpile (e.g. a ``git worktree`` of an older
commit) with the same benchmark code, for before/after comparisons.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", choices=list("ABCD"))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--src", default=None, help="the src/ directory of the version to profile")
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from _common import pin_threads

    pin_threads(1)
    if args.src:
        sys.path.insert(0, args.src)
    import mlp

    import stirpile

    sizes, batch = mlp.CONFIGS[args.config]
    x, y = mlp.make_data(batch)
    step, _ = mlp.stirpile_runner(sizes, x, y)
    for i in range(5):
        step(i)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(args.steps):
            step(i % len(x))
        best = min(best, (time.perf_counter() - t0) / args.steps)
    prof = cProfile.Profile()
    prof.enable()
    for i in range(args.steps):
        step(i % len(x))
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
    print(f"stirpile from {Path(stirpile.__file__).parent}")
    print(f"config {args.config}: {best * 1e3:.3f} ms per step (best of 5 × {args.steps}, "
          f"no profiler); profile of {args.steps} steps:")  # fmt: skip
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith("ncalls"))
    prefix = str(Path(stirpile.__file__).parent.parent) + "/"
    for ln in lines[start : start + args.top + 1]:
        print(ln.replace(prefix, ""))


if __name__ == "__main__":
    main()
