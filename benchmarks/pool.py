"""Pooling and BatchNorm2d, forward + backward: stirpile vs PyTorch (float32, one thread
unless told), interleaved repeat by repeat (medians, min–max).

    python benchmarks/pool.py [--threads 1] [--repeats 15]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved, median, pin_threads, table

CASES = [
    ("max_pool2d(2)", (64, 32, 28, 28), lambda F, nn: lambda x: F.max_pool2d(x, 2)),
    ("max_pool2d(2)", (64, 6, 28, 28), lambda F, nn: lambda x: F.max_pool2d(x, 2)),
    ("max_pool2d(3, 2, 1)", (64, 32, 28, 28), lambda F, nn: lambda x: F.max_pool2d(x, 3, 2, 1)),
    ("avg_pool2d(2)", (64, 32, 28, 28), lambda F, nn: lambda x: F.avg_pool2d(x, 2)),
    ("adaptive_avg_pool2d(1)", (64, 32, 28, 28), lambda F, nn: lambda x: F.adaptive_avg_pool2d(x, 1)),  # noqa: E501
    ("BatchNorm2d(32)", (64, 32, 28, 28), lambda F, nn: nn.BatchNorm2d(32)),
]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    pin_threads(args.threads)
    import numpy as np
    import torch

    import stirpile

    torch.set_num_threads(args.threads)
    rows = []
    for name, shape, make in CASES:
        a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        runs = {}
        for label, lib in (("stirpile", stirpile), ("torch", torch)):
            fn = make(lib.nn.functional, lib.nn)
            x = lib.tensor(a, requires_grad=True)

            def step(fn=fn, x=x):
                fn(x).sum().backward()

            step()
            runs[label] = step
        times = interleaved(runs, args.repeats)
        s, t = median(times["stirpile"]) * 1e3, median(times["torch"]) * 1e3
        rows.append([name, str(shape), f"{s:.2f}", f"{t:.2f}", f"{s / t:.2f}"])
    print(table(["op (fwd+bwd)", "input", "stirpile ms", "torch ms", "ratio"], rows))


if __name__ == "__main__":
    main()
