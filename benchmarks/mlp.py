"""MLP training throughput: stirpile vs PyTorch vs a hand-written NumPy floor.

Four configs (float32, SGD with momentum 0.9, cross-entropy, random
MNIST-shaped data in memory), each measured as samples per second:

    A 784-128-10, batch 64           B 784-512-512-10, batch 128
    C 784-1024-1024-1024-10, b. 256  D 784-32-10, batch 16

Contenders, run side by side in one process (interleaved repeats in rotating
order; medians and min–max):

- ``stirpile``: ``nn.Sequential`` + ``F.cross_entropy`` + ``optim.SGD``, the
  code a user writes;
- ``torch``: the same in PyTorch (when installed);
- ``numpy``: a hand-written forward/backward with no autograd (flat parameter,
  gradient and momentum buffers, fused bias+ReLU and log-softmax-CE): the
  floor an autograd engine on NumPy can approach;
- ``matmul``: only the matrix products of a step (what BLAS alone costs).

``--memory`` also measures peak memory per framework (a child process per
framework and config: peak RSS during training minus RSS before it).
``--inference`` times ``no_grad`` forward passes instead of training steps.

    python benchmarks/mlp.py [--threads 1] [--configs ABCD] [--repeats 15] [--memory]
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import median, pin_threads, rss, table

CONFIGS = {
    "A": ([784, 128, 10], 64),
    "B": ([784, 512, 512, 10], 128),
    "C": ([784, 1024, 1024, 1024, 10], 256),
    "D": ([784, 32, 10], 16),
}
LR, MOMENTUM = 0.01, 0.9


def make_data(batch: int, n_batches: int = 32):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((n_batches, batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, (n_batches, batch))
    return x, y


def init_weights(sizes, seed=0):
    """PyTorch-style uniform(±1/√fan_in) weights, shared by every contender."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ws = []
    for n_in, n_out in itertools.pairwise(sizes):
        bound = 1 / np.sqrt(n_in)
        ws.append((rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                   rng.uniform(-bound, bound, n_out).astype(np.float32)))  # fmt: skip
    return ws


# -- contenders: each returns (train_step(i), infer(i)) ---------------------------------
def stirpile_runner(sizes, x, y, package="stirpile", compiled=False):
    """``package`` names the stirpile to run (``compare.py`` loads an older version
    under another name); ``compiled``: the step through ``stirpile.compile``."""
    import importlib

    stirpile = importlib.import_module(package)
    F = importlib.import_module(package + ".nn.functional")
    nn, optim = stirpile.nn, stirpile.optim

    layers = []
    for i, (w, b) in enumerate(init_weights(sizes)):
        lin = nn.Linear(w.shape[1], w.shape[0])
        with stirpile.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        layers += [lin] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    model = nn.Sequential(*layers)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xs = [stirpile.from_numpy(b) for b in x]
    ys = [stirpile.from_numpy(b) for b in y]

    return _step_fns(stirpile, F, model, opt, xs, ys, compiled)


def _step_fns(lib, F, model, opt, xs, ys, compiled):
    """``(step(i), infer(i))`` for ``lib`` (stirpile or torch), through ``lib.compile`` if
    ``compiled``."""

    def train(xb, yb):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def forward(xb):
        with lib.no_grad():
            return model(xb)

    fn = lib.compile(train) if compiled else train
    infer_fn = lib.compile(forward) if compiled else forward

    def step(i):
        fn(xs[i], ys[i])

    def infer(i):
        infer_fn(xs[i])

    return step, infer


def stirpile_compiled_runner(sizes, x, y):
    return stirpile_runner(sizes, x, y, compiled=True)


def torch_runner(sizes, x, y, compiled=False):
    import torch

    layers = []
    for i, (w, b) in enumerate(init_weights(sizes)):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else [])
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xs = [torch.from_numpy(b) for b in x]
    ys = [torch.from_numpy(b) for b in y]

    return _step_fns(torch, torch.nn.functional, model, opt, xs, ys, compiled)


def torch_compiled_runner(sizes, x, y):
    return torch_runner(sizes, x, y, compiled=True)


def numpy_runner(sizes, x, y):
    """The floor: no autograd, flat buffers, everything fused by hand."""
    import numpy as np

    ws = init_weights(sizes)
    shapes = [s for w, b in ws for s in (w.shape, b.shape)]
    total = sum(int(np.prod(s)) for s in shapes)
    flat, grad, mom = (np.zeros(total, np.float32) for _ in range(3))

    def views(buf):
        out, k = [], 0
        for s in shapes:
            n = int(np.prod(s))
            out.append(buf[k : k + n].reshape(s))
            k += n
        return out

    params, grads = views(flat), views(grad)
    for p, v in zip(params, [a for wb in ws for a in wb]):
        p[...] = v
    n_layers = len(ws)

    def forward(xb):
        acts = [xb]
        h = xb
        for k in range(n_layers):
            w, b = params[2 * k], params[2 * k + 1]
            h = h @ w.T
            h += b
            if k < n_layers - 1:
                np.maximum(h, 0, out=h)
            acts.append(h)
        return acts

    def step(i):
        xb, yb = x[i], y[i]
        acts = forward(xb)
        logits = acts[-1]
        # fused log-softmax cross-entropy: gradient = (softmax − onehot) / N
        logits -= logits.max(1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(1, keepdims=True)
        logits[np.arange(len(yb)), yb] -= 1
        logits /= len(yb)
        g = logits
        for k in reversed(range(n_layers)):
            w = params[2 * k]
            np.matmul(g.T, acts[k], out=grads[2 * k])
            g.sum(0, out=grads[2 * k + 1])
            if k:
                g = g @ w
                g *= acts[k] > 0
        # the optimizer: three in-place ufuncs over the flat buffers
        np.multiply(mom, MOMENTUM, out=mom)
        np.add(mom, grad, out=mom)
        np.subtract(flat, LR * mom, out=flat)

    def infer(i):
        forward(x[i])

    return step, infer


def matmul_runner(sizes, x, y):
    """Only the matrix products of a training step."""
    ws = [w for w, _ in init_weights(sizes)]

    def step(i):
        h = x[i]
        acts = [h]
        for w in ws:
            h = h @ w.T
            acts.append(h)
        g = h
        for k in reversed(range(len(ws))):
            g.T @ acts[k]
            if k:
                g = g @ ws[k]

    def infer(i):
        h = x[i]
        for w in ws:
            h = h @ w.T

    return step, infer


RUNNERS = {"stirpile": stirpile_runner, "torch": torch_runner, "numpy": numpy_runner,
           "matmul": matmul_runner}  # fmt: skip


COMPILED = {"stirpile": stirpile_runner, "stirpile compiled": stirpile_compiled_runner,
            "torch": torch_runner, "torch.compile": torch_compiled_runner,
            "numpy": numpy_runner, "matmul": matmul_runner}  # fmt: skip


def measure(name, cfg, repeats, inference, min_time=0.15, runners=RUNNERS):
    """Interleaved timing of every available contender on one config."""
    sizes, batch = CONFIGS[cfg]
    x, y = make_data(batch)
    fns = {}
    for fw, make in runners.items():
        try:
            step, infer = make(sizes, x, y)
        except ImportError:
            continue
        fns[fw] = infer if inference else step
    # calibrate: steps per repeat so that a repeat takes ~min_time for the floor
    for f in fns.values():
        for i in range(3):
            f(i)
    t0 = time.perf_counter()
    for i in range(10):
        fns["numpy"](i % len(x))
    per = (time.perf_counter() - t0) / 10
    n_steps = max(5, int(min_time / per))
    rates: dict[str, list[float]] = {fw: [] for fw in fns}
    names = list(fns)
    for r in range(repeats):
        k = r % len(names)
        for fw in names[k:] + names[:k]:
            f = fns[fw]
            t0 = time.perf_counter()
            for i in range(n_steps):
                f(i % len(x))
            rates[fw].append(n_steps * batch / (time.perf_counter() - t0))
    return rates


def memory_child(fw, cfg, warm="0"):
    """Peak RSS growth while training, gradients, optimizer state and the graph included
    (run in a fresh process per framework). With ``warm`` steps first (past a compiled
    step's recordings), what one step allocates instead: the peak of Python's and NumPy's
    traced allocations during a step (``tracemalloc``: RSS does not show memory malloc
    hands back and reuses; PyTorch's allocator is not traced)."""
    sizes, batch = CONFIGS[cfg]
    x, y = make_data(batch, 8)
    step, _ = COMPILED.get(fw, RUNNERS.get(fw))(sizes, x, y)
    if int(warm):
        import tracemalloc

        for i in range(int(warm)):
            step(i % len(x))
        tracemalloc.start()
        peaks = []
        for i in range(20):
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            step(i % len(x))
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
        print(json.dumps({"peak_mb": max(peaks) / 2**20}))
        return
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
    before = rss()  # model and data are built; gradients and momentum are not
    for i in range(20):
        step(i % len(x))
    print(json.dumps({"peak_mb": (rss("VmHWM") - before) / 2**20,
                      "rss_mb": before / 2**20}))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--configs", default="ABCD")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--inference", action="store_true")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--compile", action="store_true",
                    help="also stirpile.compile and torch.compile (slow to compile)")  # fmt: skip
    ap.add_argument("--memory-child", nargs="+", help=argparse.SUPPRESS)  # FW CFG [WARM]
    args = ap.parse_args()
    pin_threads(args.threads)
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    rows = []
    runners = COMPILED if args.compile else RUNNERS
    for cfg in args.configs:
        rates = measure(cfg, cfg, args.repeats, args.inference, runners=runners)
        med = {fw: median(r) for fw, r in rates.items()}
        sizes, batch = CONFIGS[cfg]
        row = [f"{cfg} {'-'.join(map(str, sizes))}, b{batch}"]
        for fw in runners:
            if fw in rates:
                row.append(f"{med[fw] / 1e3:,.1f}k ({min(rates[fw]) / 1e3:.0f}–"
                           f"{max(rates[fw]) / 1e3:.0f})")  # fmt: skip
            else:
                row.append("–")
        row.append(f"{med['stirpile'] / med['torch']:.2f}" if "torch" in med else "–")
        row.append(f"{med['stirpile'] / med['numpy']:.2f}")
        if args.compile:
            ours = med["stirpile compiled"]
            row.append(f"{ours / med['stirpile']:.2f}")
            row.append(f"{ours / med['torch']:.2f}" if "torch" in med else "–")
            row.append(f"{ours / med['matmul']:.2f}")
        rows.append(row)
        print(f"config {cfg} done", file=sys.stderr)
    what = "inference (no_grad forward)" if args.inference else "training steps"
    print(f"{what}, samples/s, median (min–max) of {args.repeats} interleaved repeats, "
          f"{args.threads} thread(s)")  # fmt: skip
    names = {"numpy": "numpy floor", "matmul": "matmul only"}
    ratios = ["stirpile/torch", "stirpile/numpy"]
    if args.compile:
        ratios += ["compiled/eager", "compiled/torch", "compiled/matmul"]
    print(table(["config", *(names.get(fw, fw) for fw in runners), *ratios], rows))
    if args.memory:
        print("\npeak memory growth over 20 training steps (MB, from the built model)")
        print(memory_table(args, ("stirpile", "torch", "numpy"), "0"))
        if args.compile:
            print("\nwhat a step allocates after 3 steps (MB, the largest of 20 steps' peaks "
                  "of traced allocations)")  # fmt: skip
            print(memory_table(args, ("stirpile", "stirpile compiled", "numpy"), "3", "{:.3f}"))


def memory_table(args, frameworks, warm, fmt="{:.1f}"):
    """One row per config of ``memory_child``'s peak for each framework."""
    rows = []
    for cfg in args.configs:
        cells = [cfg]
        for fw in frameworks:
            proc = subprocess.run(
                [sys.executable, __file__, "--threads", str(args.threads),
                 "--memory-child", fw, cfg, warm],
                capture_output=True, text=True,
            )  # fmt: skip
            cells.append("–" if proc.returncode else fmt.format(json.loads(proc.stdout)["peak_mb"]))
        rows.append(cells)
    names = {"numpy": "numpy floor"}
    return table(["config", *(names.get(fw, fw) for fw in frameworks)], rows)


if __name__ == "__main__":
    main()
