"""stirpile.sklearn.MLPClassifier against sklearn.neural_network.MLPClassifier.

The same architecture, solver (adam), batch size (200), learning rate and number
of epochs (``tol=0``, ``n_iter_no_change=max_iter``: both run every epoch), the
same ``random_state`` (so the same initial weights and shuffling order), on

- ``digits``: scikit-learn's 8x8 digits / 16, a fixed split (first 1,397 rows to
  train, the other 400 to test);
- ``mnist``: the offline MNIST split, ``train5k`` to train, ``t10k`` to test
  (``--data-dir``, read with ``stirpile.data.datasets.MNIST``); skipped if absent.

Both fit on single-threaded BLAS (set before NumPy is imported), in one process,
interleaved repeat by repeat in rotating order; fit times are medians (min-max).
``--dtype`` is the dtype of ``X`` handed to both: scikit-learn computes in it,
stirpile always in float32.

    python benchmarks/sklearn_mlp.py [--quick] [--data-dir ../shared/data/mnist]
        [--hidden 100] [--epochs 20] [--repeats 3] [--dtype float32]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import pin_threads, table


def load(name: str, data_dir: str, dtype: str):
    import numpy as np

    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(dtype)
        return X[:-400], y[:-400], X[-400:], y[-400:]
    from stirpile.data.datasets import MNIST

    Xtr, ytr = MNIST(root=data_dir, split="train5k").arrays()
    Xte, yte = MNIST(root=data_dir, split="test").arrays()
    return (np.asarray(Xtr, dtype), ytr, np.asarray(Xte, dtype), yte)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(Path(__file__).parents[1] / "../shared/data/mnist"))
    ap.add_argument("--hidden", type=int, nargs="+", default=[100])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="5 epochs, 1 repeat")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.repeats = 5, 1
    pin_threads(args.threads)

    import time

    from _common import median
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLP

    from stirpile.sklearn import MLPClassifier as StMLP

    params = dict(
        hidden_layer_sizes=tuple(args.hidden),
        solver="adam",
        batch_size=200,
        max_iter=args.epochs,
        tol=0.0,
        n_iter_no_change=args.epochs,
        random_state=0,
    )
    rows = []
    for name in ("digits", "mnist"):
        try:
            Xtr, ytr, Xte, yte = load(name, args.data_dir, args.dtype)
        except FileNotFoundError as e:
            print(f"# {name}: skipped ({e})")
            continue
        times: dict[str, list[float]] = {"stirpile": [], "sklearn": []}
        acc: dict[str, float] = {}
        contenders = {"stirpile": StMLP, "sklearn": SkMLP}
        names = list(contenders)
        for r in range(args.repeats):
            k = r % 2
            for who in names[k:] + names[:k]:
                est = contenders[who](**params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    t0 = time.perf_counter()
                    est.fit(Xtr, ytr)
                    times[who].append(time.perf_counter() - t0)
                acc[who] = est.score(Xte, yte)
        ratio = median(times["sklearn"]) / median(times["stirpile"])
        for who in names:
            t = times[who]
            rows.append(
                [
                    name,
                    who,
                    f"{acc[who]:.4f}",
                    f"{median(t):.2f} ({min(t):.2f}-{max(t):.2f})",
                    f"{ratio:.2f}x" if who == "stirpile" else "1.00x",
                ]
            )
    print(
        f"# hidden {tuple(args.hidden)}, adam, batch 200, {args.epochs} epochs, X {args.dtype}, "
        f"{args.threads} BLAS thread(s), {args.repeats} repeat(s)"
    )
    print(
        table(
            ["dataset", "fit by", "test accuracy", "fit s, median (min-max)", "speed vs sklearn"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
