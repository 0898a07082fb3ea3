"""Per-op overhead: a chain of 100 tiny ops, forward and backward, stirpile vs PyTorch.

On tensors this small the arithmetic is nothing; what is measured is what a
framework spends per recorded op (dispatch, graph node, backward bookkeeping).

    python benchmarks/overhead.py [--threads 1] [--repeats 30] [--ops 100]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved, median, pin_threads, table


def op_chain(x, n_ops=100):
    """``n_ops`` tiny ops and a sum, on a stirpile or torch tensor: a mix of the common
    kinds of op (binary with a scalar, unary, binary with a tensor)."""
    y = x
    for i in range(n_ops // 4):
        y = y * 0.5
        y = y.tanh()
        y = y + x
        y = y.sigmoid() if i % 2 else y.exp() * 0.1
    return y.sum()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--ops", type=int, default=100)
    args = ap.parse_args()
    pin_threads(args.threads)

    import numpy as np

    import stirpile

    n_ops = args.ops
    x0 = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)

    def chain(x):
        return op_chain(x, n_ops)

    def run_stirpile():
        x = stirpile.tensor(x0, requires_grad=True)
        chain(x).backward()

    def run_stirpile_fwd():
        with stirpile.no_grad():
            chain(stirpile.tensor(x0))

    contenders = {"stirpile": run_stirpile, "stirpile no_grad": run_stirpile_fwd}
    try:
        import torch

        torch.set_num_threads(args.threads)

        def run_torch():
            x = torch.tensor(x0, requires_grad=True)
            chain(x).backward()

        def run_torch_fwd():
            with torch.no_grad():
                chain(torch.tensor(x0))

        contenders |= {"torch": run_torch, "torch no_grad": run_torch_fwd}
    except ImportError:
        print("(PyTorch not installed: stirpile only)")

    for f in contenders.values():  # warm up
        f()
    times = interleaved(contenders, args.repeats)
    med = {k: median(v) for k, v in times.items()}
    rows = []
    for name, ts in times.items():
        us = med[name] / n_ops * 1e6
        ratio = ""
        base = "torch" + name.removeprefix("stirpile")
        if name.startswith("stirpile") and base in med:
            ratio = f"{med[name] / med[base]:.2f}"
        rows.append([name, f"{med[name] * 1e3:.3f}", f"{min(ts) * 1e3:.3f}–{max(ts) * 1e3:.3f}",
                     f"{us:.2f}", ratio])  # fmt: skip
    print(f"chain of {n_ops} ops on 4x4 float32, forward+backward; {args.threads} thread(s), "
          f"median of {args.repeats}")  # fmt: skip
    print(table(["", "ms", "min–max ms", "µs/op", "time / torch"], rows))


if __name__ == "__main__":
    main()
