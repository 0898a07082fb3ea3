"""Convolutional-network training throughput: stirpile vs PyTorch vs a matrix-product floor.

Two networks (float32, SGD with momentum 0.9, cross-entropy, random MNIST-shaped
images in memory, batch 64), each measured as training images per second:

    L  LeNet-5: conv 1→6 5×5 (pad 2), max pool, conv 6→16 5×5, max pool, 400-120-84-10
    C  three 3×3 convs 32-64-64 (pad 1, ReLU, max pool after the first two), 3136→10

The network is written once, against the module namespace ``nn`` (the same code builds
the stirpile and the PyTorch model: this is what "change the import" means), and the
PyTorch copy gets stirpile's weights through ``state_dict``. Contenders, each in a process
of its own (PyTorch in the same process slows NumPy's large allocations down: see
``_common.Contender``), interleaved repeat by repeat in rotating order (medians, min–max):

- ``stirpile`` and ``torch``: the model, ``F.cross_entropy``, ``optim.SGD``;
- ``gemm floor``: only the matrix products an im2col convolution does per step (forward,
  input gradient, weight gradient of every conv and linear layer, as NumPy ``@`` on
  arrays of the same shapes): what BLAS alone costs.

``--memory`` also measures each framework's peak memory over 10 training steps: the peak
RSS minus the RSS before the model was built (model, gradients, momentum, the graph and the
work arrays; not the framework's import).

    python benchmarks/conv.py [--threads 1] [--configs LC] [--repeats 7] [--memory]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved_children, median, pin_threads, serve, table

BATCH, LR, MOMENTUM = 64, 0.01, 0.9


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def convnet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64 * 7 * 7, 10),
    )  # fmt: skip


CONFIGS = {"L": ("LeNet-5", lenet), "C": ("3x3 convs 32-64-64", convnet)}


def make_data(n_batches: int = 8):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((n_batches, BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, (n_batches, BATCH))
    return x, y


def stirpile_model(build):
    import stirpile

    stirpile.manual_seed(0)
    return build(stirpile.nn)


def _trainer(lib, model, x, y):
    """One SGD training step on batch ``i``, written once for ``lib`` = stirpile or torch."""
    opt = lib.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    cross_entropy = lib.nn.functional.cross_entropy
    xs = [lib.from_numpy(b) for b in x]
    ys = [lib.from_numpy(b) for b in y]

    def step(i):
        loss = cross_entropy(model(xs[i]), ys[i])
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def stirpile_runner(build, x, y):
    import stirpile

    return _trainer(stirpile, stirpile_model(build), x, y)


def torch_runner(build, x, y):
    import numpy as np
    import torch

    model = build(torch.nn)
    state = stirpile_model(build).state_dict()
    model.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in state.items()})
    return _trainer(torch, model, x, y)


def gemm_runner(build, x, y):
    """The matrix products of an im2col training step, on arrays of the right shapes."""
    import numpy as np

    import stirpile

    model = stirpile_model(build)
    rng = np.random.default_rng(0)
    shapes, hw = [], 28  # (rows, inner, cols) of each forward product
    for m in model:
        if isinstance(m, stirpile.nn.Conv2d):
            k, p = m.kernel_size[0], m.padding[0]
            hw = hw + 2 * p - k + 1
            shapes.append((BATCH * hw * hw, m.in_channels * k * k, m.out_channels))
        elif isinstance(m, stirpile.nn.MaxPool2d):
            hw //= 2
        elif isinstance(m, stirpile.nn.Linear):
            shapes.append((BATCH, m.in_features, m.out_features))
    arrays = [(rng.random((r, i), dtype=np.float32), rng.random((i, c), dtype=np.float32),
               rng.random((r, c), dtype=np.float32)) for r, i, c in shapes]  # fmt: skip

    def step(i):
        for a, w, g in arrays:
            _ = a @ w  # forward
            _ = g @ w.T  # input gradient
            _ = a.T @ g  # weight gradient

    return step


RUNNERS = {"stirpile": stirpile_runner, "torch": torch_runner, "gemm floor": gemm_runner}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--configs", default="LC")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("NAME", "CFG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    pin_threads(args.threads)
    if args.child:
        name, cfg = args.child
        x, y = make_data()
        serve(lambda: RUNNERS[name](CONFIGS[cfg][1], x, y), len(x), name, args.threads)
        return
    rows, mem_rows = [], []
    for cfg in args.configs:
        rates, memory = interleaved_children(__file__, list(RUNNERS), cfg, args.threads,
                                             args.repeats, BATCH,
                                             memory_steps=10 if args.memory else 0)  # fmt: skip
        med = {fw: median(r) for fw, r in rates.items()}
        row = [f"{cfg} {CONFIGS[cfg][0]}, b{BATCH}"]
        for fw in RUNNERS:
            row.append(f"{med[fw]:,.0f} ({min(rates[fw]):,.0f}–{max(rates[fw]):,.0f})"
                       if fw in rates else "–")  # fmt: skip
        row.append(f"{med['stirpile'] / med['torch']:.2f}" if "torch" in med else "–")
        row.append(f"{med['stirpile'] / med['gemm floor']:.2f}")
        rows.append(row)
        mem_rows.append([cfg, *(f"{memory[fw]:.1f}" if fw in memory else "–"
                                for fw in ("stirpile", "torch"))])  # fmt: skip
        print(f"config {cfg} done", file=sys.stderr)
    print(f"training steps, images/s, median (min–max) of {args.repeats} interleaved repeats, "
          f"{args.threads} thread(s), each contender in its own process")  # fmt: skip
    print(table(["config", *RUNNERS, "stirpile/torch", "stirpile/floor"], rows))
    if args.memory:
        print(
            "\npeak memory over 10 training steps (MB above the process before the model "
            "was built: model, gradients, optimizer state, graph, work arrays)"
        )
        print(table(["config", "stirpile", "torch"], mem_rows))


if __name__ == "__main__":
    main()
