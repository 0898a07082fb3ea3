"""DataLoader epochs with and without worker processes, stirpile beside PyTorch.

Two data sets: a ``TensorDataset`` of 60000×784 float32 rows (MNIST-sized; a batch is one
gather in the main process), and a map-style data set of 10000 images whose
``__getitem__`` runs Python transforms per sample (random shift, flip, normalisation).
One shuffled epoch, batch size 64, for each ``num_workers`` (persistent workers too).

    python benchmarks/dataloader_workers.py [--repeats 5] [--workers 0 2] [--torch]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved, median, pin_threads, table


class Augmented:
    """Per-sample Python work, like a torchvision transform pipeline on one image."""

    def __init__(self, images, labels, lib):
        self.images, self.labels, self.lib = images, labels, lib

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        import numpy as np

        rng = np.random.default_rng(i)
        img = self.images[i].reshape(28, 28)
        img = np.roll(img, tuple(rng.integers(-2, 3, size=2)), axis=(0, 1))
        if rng.random() < 0.5:
            img = img[:, ::-1]
        img = (img - 0.1307) / 0.3081
        return self.lib.from_numpy(np.ascontiguousarray(img, dtype=np.float32)), int(self.labels[i])


def epoch(loader) -> None:
    for _ in loader:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--torch", action="store_true", help="time PyTorch's DataLoader too")
    args = ap.parse_args()
    pin_threads(1)

    import numpy as np

    import stirpile

    libs = {"stirpile": stirpile}
    if args.torch:
        import torch

        libs["torch"] = torch
    rng = np.random.default_rng(0)
    x = rng.random((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60000)

    for title, make in [
        ("TensorDataset 60000x784", lambda lib: lib.utils.data.TensorDataset(
            lib.from_numpy(x), lib.from_numpy(y))),
        ("map-style, per-sample transforms, 10000",
         lambda lib: Augmented(x[:10000], y[:10000], lib)),
    ]:  # fmt: skip
        contenders = {}
        for name, lib in libs.items():
            ds = make(lib)
            for nw in args.workers:
                for persistent in [False, True] if nw else [False]:
                    dl = lib.utils.data.DataLoader(ds, batch_size=64, shuffle=True, num_workers=nw,
                                                   persistent_workers=persistent)  # fmt: skip
                    label = f"{name} num_workers={nw}" + (" persistent" if persistent else "")
                    contenders[label] = lambda dl=dl: epoch(dl)
        times = interleaved(contenders, args.repeats)
        rows = [[k, f"{median(v) * 1e3:.0f}", f"{min(v) * 1e3:.0f}–{max(v) * 1e3:.0f}"]
                for k, v in times.items()]  # fmt: skip
        print(f"\n{title}: one epoch, batch 64, ms (median, min–max of {args.repeats})")
        print(table(["loader", "median", "range"], rows))


if __name__ == "__main__":
    main()
