"""LSTM training throughput: stirpile vs PyTorch vs a NumPy floor.

The model of the issue: a one-layer LSTM (input 28, hidden 128, batch_first) over 28 steps,
a ``Linear(128, 10)`` on the last step's output, cross-entropy, SGD (lr 0.01); batch 64,
float32, random data in memory, measured as samples per second.

Contenders, each in a process of its own (PyTorch in the same process slows NumPy's large
allocations down: see ``_common.Contender``), interleaved repeat by repeat in rotating
order (medians and min–max):

- ``stirpile``: ``nn.LSTM`` + ``nn.Linear`` + ``F.cross_entropy`` + ``optim.SGD``, the code a
  user writes (the LSTM layer runs as the fused op ``ops.rnn.LSTMLayer``);
- ``composed``: the same with the layer composed of differentiable ops, one cell per step
  (``ops.rnn.layer``): the readable baseline;
- ``torch``: the same in PyTorch (when installed);
- ``numpy``: the fused op's NumPy forward and backward called directly, a hand-written
  linear, softmax-cross-entropy and SGD: no autograd, no tensors (the floor).

``--memory`` also measures each contender's peak memory over 10 training steps: the peak RSS
minus the RSS before the model was built.

    python benchmarks/rnn.py [--threads 1] [--repeats 15] [--memory]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved_children, median, pin_threads, serve, table

IN, HIDDEN, STEPS, BATCH, CLASSES, LR = 28, 128, 28, 64, 10, 0.01


def make_data(n_batches: int = 16):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((n_batches, BATCH, STEPS, IN), dtype=np.float32)
    y = rng.integers(0, CLASSES, (n_batches, BATCH))
    return x, y


def init_weights(seed: int = 0) -> dict:
    """PyTorch's init (U(±1/√hidden) for the LSTM, U(±1/√128) for the linear), shared."""
    import numpy as np

    rng = np.random.default_rng(seed)
    b = 1 / np.sqrt(HIDDEN)
    shapes = {"weight_ih_l0": (4 * HIDDEN, IN), "weight_hh_l0": (4 * HIDDEN, HIDDEN),
              "bias_ih_l0": (4 * HIDDEN,), "bias_hh_l0": (4 * HIDDEN,),
              "fc.weight": (CLASSES, HIDDEN), "fc.bias": (CLASSES,)}  # fmt: skip
    return {k: rng.uniform(-b, b, s).astype(np.float32) for k, s in shapes.items()}


def stirpile_runner(x, y, composed=False):
    import stirpile
    import stirpile.nn.functional as F
    from stirpile import nn, optim
    from stirpile.ops import rnn as R

    w = init_weights()
    lstm, fc = nn.LSTM(IN, HIDDEN, batch_first=True), nn.Linear(HIDDEN, CLASSES)
    with stirpile.no_grad():
        for name, p in lstm.named_parameters():
            p.copy_(stirpile.from_numpy(w[name]))
        fc.weight.copy_(stirpile.from_numpy(w["fc.weight"]))
        fc.bias.copy_(stirpile.from_numpy(w["fc.bias"]))
    opt = optim.SGD([*lstm.parameters(), *fc.parameters()], lr=LR)
    xs, ys = [stirpile.from_numpy(b) for b in x], [stirpile.from_numpy(b) for b in y]
    zeros = stirpile.zeros(BATCH, HIDDEN)
    weights = tuple(lstm.parameters())

    def step(i):
        if composed:
            out, _ = R.layer("LSTM", xs[i].transpose(0, 1), (zeros, zeros), weights)
            last = out[-1]
        else:
            out, _ = lstm(xs[i])
            last = out[:, -1]
        loss = F.cross_entropy(fc(last), ys[i])
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def torch_runner(x, y):
    import torch

    w = init_weights()
    lstm, fc = torch.nn.LSTM(IN, HIDDEN, batch_first=True), torch.nn.Linear(HIDDEN, CLASSES)
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.copy_(torch.from_numpy(w[name]))
        fc.weight.copy_(torch.from_numpy(w["fc.weight"]))
        fc.bias.copy_(torch.from_numpy(w["fc.bias"]))
    opt = torch.optim.SGD([*lstm.parameters(), *fc.parameters()], lr=LR)
    xs, ys = [torch.from_numpy(b) for b in x], [torch.from_numpy(b) for b in y]

    def step(i):
        out, _ = lstm(xs[i])
        loss = torch.nn.functional.cross_entropy(fc(out[:, -1]), ys[i])
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


class _Ctx:
    """A bare ctx for calling the op's forward and backward by hand."""

    needs_input_grad = (False, False, False, True, True, True, True)

    def save_for_backward(self, *values):
        self.saved = values


def numpy_runner(x, y):
    import numpy as np

    from stirpile.ops.rnn import LSTMLayer

    w = init_weights()
    w_ih, w_hh, b_ih, b_hh = (w[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                             "bias_hh_l0"))  # fmt: skip
    fw, fb = w["fc.weight"], w["fc.bias"]
    zeros = np.zeros((BATCH, HIDDEN), np.float32)
    rows = np.arange(BATCH)

    def step(i):
        ctx = _Ctx()
        xt = x[i].transpose(1, 0, 2)
        out, _h, _c = LSTMLayer.forward(ctx, xt, zeros, zeros, w_ih, w_hh, b_ih, b_hh)
        last = out[-1]
        logits = last @ fw.T + fb
        logits -= logits.max(1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(1, keepdims=True)
        logits[rows, y[i]] -= 1
        logits /= BATCH
        g_fw, g_fb, g_last = logits.T @ last, logits.sum(0), logits @ fw
        g_out = np.zeros_like(out)
        g_out[-1] = g_last
        grads = LSTMLayer.backward(ctx, g_out, None, None)
        for p, g in zip((w_ih, w_hh, b_ih, b_hh, fw, fb), (*grads[3:], g_fw, g_fb)):
            p -= LR * g

    return step


RUNNERS = {
    "stirpile": stirpile_runner,
    "composed": lambda x, y: stirpile_runner(x, y, composed=True),
    "torch": torch_runner,
    "numpy": numpy_runner,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("NAME", "CFG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    pin_threads(args.threads)
    if args.child:
        name = args.child[0]
        x, y = make_data()
        serve(lambda: RUNNERS[name](x, y), len(x), name, args.threads)
        return
    rates, memory = interleaved_children(__file__, list(RUNNERS), "-", args.threads,
                                         args.repeats, BATCH, min_time=0.3,
                                         memory_steps=10 if args.memory else 0)  # fmt: skip
    med = {name: median(r) for name, r in rates.items()}
    cells = [f"{med[n]:,.0f} ({min(rates[n]):,.0f}–{max(rates[n]):,.0f})" for n in rates]
    print(f"LSTM({IN}, {HIDDEN}) × {STEPS} steps + Linear + CE + SGD, batch {BATCH}: training "
          f"samples/s, median (min–max) of {args.repeats} interleaved repeats, "
          f"{args.threads} thread(s), each contender in its own process")  # fmt: skip
    print(table(list(rates), [cells]))
    ratios = [f"{n}/torch {med[n] / med['torch']:.2f}" for n in med if "torch" in med]
    print(", ".join([*ratios, f"stirpile/numpy {med['stirpile'] / med['numpy']:.2f}"]))
    if args.memory:
        print(
            "\npeak memory over 10 training steps (MB above the process before the model "
            "was built: model, gradients, optimizer state, graph, work arrays)"
        )
        print(table(list(memory), [[f"{memory[n]:.1f}" for n in memory]]))


if __name__ == "__main__":
    main()
