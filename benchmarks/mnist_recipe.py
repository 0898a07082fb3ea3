"""The default `stirpile train` recipe on the offline MNIST split, stirpile vs PyTorch.

Trains the documented recipe (784-512-256-10 ReLU MLP, dropout 0.2, SGD with
Nesterov momentum 0.9, weight decay 5e-4, one-cycle schedule, batch 64, random
affine augmentation; `--model lenet`: LeNet-5 in place of the MLP, the rest the
same) on the 5,000-image `train5k` set and tests on the official 10,000
(`t10k`). The same recipe runs in PyTorch on the same batches (the same
shuffled order and the same augmented images, made once by stirpile's NumPy
augmentation), epochs interleaved, so epoch times compare side by side.

    python benchmarks/mnist_recipe.py [--data-dir ../shared/data/mnist] [--epochs 30]
                                      [--model mlp|lenet]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import median, pin_threads, table

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(HERE.parent / ".." / "shared" / "data" / "mnist"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--model", choices=["mlp", "lenet"], default="mlp")
    args = ap.parse_args()
    pin_threads(args.threads)

    import numpy as np

    import stirpile
    from stirpile.cli import DEFAULTS, build
    from stirpile.data.datasets import MNIST
    from stirpile.data.transforms import RandomAffine

    xtr, ytr = MNIST(root=args.data_dir, split="train5k").arrays()
    xte, yte = MNIST(root=args.data_dir, train=False).arrays()
    cfg = dict(DEFAULTS, hidden=[512, 256], epochs=args.epochs, model=args.model)
    bs = cfg["batch_size"]
    steps = -(-len(xtr) // bs)
    stirpile.manual_seed(0)
    model, opt, sched = build(cfg, (28, 28), 10, steps)
    aug = RandomAffine(10, (0.1, 0.1), (0.9, 1.1), image_shape=(28, 28), generator=1)
    order_rng = np.random.default_rng(0)

    contenders = {"stirpile": _Runner(stirpile, model, opt, sched, xte, yte)}
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(args.threads)
            contenders["torch"] = _torch_runner(torch, model, cfg, steps, xte, yte)
        except ImportError:
            print("(PyTorch not installed: stirpile only)")

    times: dict[str, list[float]] = {k: [] for k in contenders}
    accs: dict[str, float] = {}
    for epoch in range(args.epochs):
        perm = order_rng.permutation(len(xtr))
        batches = [(aug(xtr[perm[i : i + bs]]), ytr[perm[i : i + bs]])
                   for i in range(0, len(xtr), bs)]  # fmt: skip
        names = list(contenders)
        names = names[epoch % len(names) :] + names[: epoch % len(names)]
        for name in names:
            t0 = time.perf_counter()
            contenders[name].train_epoch(batches)
            times[name].append(time.perf_counter() - t0)
        if epoch == args.epochs - 1 or (epoch + 1) % 10 == 0:
            accs = {k: c.test_acc() for k, c in contenders.items()}
            print(f"epoch {epoch + 1}: " + ", ".join(f"{k} {a:.2%}" for k, a in accs.items()))
    rows = []
    for name, ts in times.items():
        ratio = f"{median(times['torch']) / median(ts):.2f}" if "torch" in times else ""
        spread = f"{min(ts):.3f}–{max(ts):.3f}"
        speed = f"{len(xtr) / median(ts):,.0f}"
        rows.append([name, f"{accs[name]:.2%}", f"{median(ts):.3f}", spread, speed, ratio])
    print(f"\ndefault recipe ({args.model}), train5k -> t10k, {args.epochs} epochs, "
          f"{args.threads} thread(s)")  # fmt: skip
    print(table(["", "t10k accuracy", "epoch s (median)", "min–max s", "img/s",
                 "speed vs torch"], rows))  # fmt: skip


class _Runner:
    """Trains a model one epoch at a time and measures its test accuracy, in either
    library: ``lib`` is ``stirpile`` or ``torch``, whose calls used here are the same
    (``from_numpy``, ``nn.functional.cross_entropy``, ``no_grad``), so both sides run
    the very same loop."""

    def __init__(self, lib, model, opt, sched, xte, yte):
        self.lib, self.model, self.opt, self.sched = lib, model, opt, sched
        self.xte, self.yte = xte, yte

    def train_epoch(self, batches):
        lib, model, opt, sched = self.lib, self.model, self.opt, self.sched
        cross_entropy = lib.nn.functional.cross_entropy
        model.train()
        for x, y in batches:
            loss = cross_entropy(model(lib.from_numpy(x)), lib.from_numpy(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()

    def test_acc(self):
        self.model.eval()
        with self.lib.no_grad():
            pred = self.model(self.lib.from_numpy(self.xte)).numpy().argmax(1)
        return float((pred == self.yte).mean())


def _torch_twin(torch, module):
    """A PyTorch copy of a stirpile ``Sequential`` of the layers the recipes use."""
    nn, layers = torch.nn, []
    for m in module:
        kind = type(m).__name__
        if kind == "Linear":
            layers.append(nn.Linear(m.in_features, m.out_features))
        elif kind == "Conv2d":
            layers.append(nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size,
                                    padding=m.padding))  # fmt: skip
        elif kind == "MaxPool2d":
            layers.append(nn.MaxPool2d(m.kernel_size))
        elif kind == "Dropout":
            layers.append(nn.Dropout(m.p))
        else:  # ReLU, Flatten
            layers.append(getattr(nn, kind)())
    return nn.Sequential(*layers)


def _torch_runner(torch, st_model, cfg, steps, xte, yte):
    """The same architecture and initial weights in PyTorch, the same optimizer and schedule."""
    if cfg["model"] == "lenet":

        class LeNet5(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.features = _torch_twin(torch, st_model.features)
                self.classifier = _torch_twin(torch, st_model.classifier)

            def forward(self, x):
                return self.classifier(self.features(x.reshape(-1, 1, 28, 28)))

        model = LeNet5()
    else:
        model = _torch_twin(torch, st_model)
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in st_model.state_dict().items()}
    model.load_state_dict(state)
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"],
                          weight_decay=cfg["weight_decay"], nesterov=True)  # fmt: skip
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], epochs=cfg["epochs"],
                                                steps_per_epoch=steps)  # fmt: skip
    torch.manual_seed(0)
    return _Runner(torch, model, opt, sched, xte, yte)


if __name__ == "__main__":
    main()
