"""Activations: the lectures' table of activation functions, trained under one recipe.

**Claim** (lectures, "Activations"): without a nonlinearity a deep network is still a
linear map — no more expressive than softmax regression; the sigmoid (1986) trains
slowly (its slope is at most ¼, so gradients shrink layer by layer); ReLU (2010) and
its descendants — leaky, very leaky, randomized and parametric ReLU, ELU, maxout,
APL — train faster and better, though a ReLU unit whose input stays negative "dies".

**Source**: the course's activation table (name, formula, year; repeated in the
docstring of ``stirpile.nn.activation``). Very leaky ReLU: the lectures give
α ∈ {0.1, 0.5}, both are rows; RReLU: the lectures' α ~ U(0.1, 0.5). Maxout: Goodfellow
et al. 2013; APL: Agostinelli et al. 2014; RReLU: Xu et al. 2015; PReLU: He et al.
2015; ELU: Clevert et al. 2015.

**How it is judged**: every row trains the same MLP (784-128-128-10, the activation
after each hidden layer) with the same recipe (SGD, lr 0.05, momentum 0.9, batch 64,
same epochs, same seeds, train5k → t10k; full: 3 seeds × 15 epochs; quick: 1 seed,
5 epochs on 3,000 training and 1,000 test images). Maxout replaces each hidden ``Linear +
activation`` by ``Maxout(in, out, pieces=2)`` (twice the hidden weights); APL has
S = 2 hinges per unit; PReLU one learnable slope per unit. Reported per row: test
accuracy (mean ± std over seeds), the fraction of hidden units whose input is ≤ 0
on every test image (dead, for ReLU), and how far the trained network is from linear:

    deviation = max |g(a x₁ + b x₂) − a g(x₁) − b g(x₂)| / max |g(x)|,  g(x) = f(x) − f(0)

over pairs of test images and random a, b (``f(0)`` removes the biases, which make
the network affine rather than linear). For "none" it is float32 rounding (~1e-6);
for the others it is of order 1. Checked in the tests: every row is there, "none" is
linear, every row is above chance, ReLU is not worse than sigmoid.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import stirpile
from stirpile import nn, optim
from stirpile.train.plots import _plt, _save

from . import common

SUMMARY = (
    "the lectures' activation table (none … ELU) on one MNIST MLP: accuracy, dead units, linearity"
)

HIDDEN = [128, 128]
LR, MOMENTUM, BATCH = 0.05, 0.9, 64


def _maxout(n_in: int, n_out: int) -> list[nn.Module]:
    return [nn.Maxout(n_in, n_out, pieces=2)]  # max of 2 linear pieces: layer and activation


def _after_linear(make: Callable[[int], nn.Module]) -> Callable[[int, int], list[nn.Module]]:
    """A hidden layer ``Linear(n_in, n_out)`` followed by the activation ``make(n_out)``."""
    return lambda n_in, n_out: [nn.Linear(n_in, n_out), make(n_out)]


# name -> (the lectures' year, how to build one hidden layer n_in -> n_out)
ROWS: dict[str, tuple[str, Callable[[int, int], list[nn.Module]]]] = {
    "none": ("—", _after_linear(lambda n: nn.Identity())),
    "sigmoid": ("1986", _after_linear(lambda n: nn.Sigmoid())),
    "tanh": ("1986", _after_linear(lambda n: nn.Tanh())),
    "ReLU": ("2010", _after_linear(lambda n: nn.ReLU())),
    "centered softplus": ("2011", _after_linear(lambda n: nn.CenteredSoftplus())),
    "leaky ReLU (α = 0.01)": ("2011", _after_linear(lambda n: nn.LeakyReLU(0.01))),
    "maxout (k = 2)": ("2013", _maxout),
    "APL (S = 2)": ("2014", _after_linear(lambda n: nn.APL(n, hinges=2))),
    "very leaky ReLU (α = 0.1)": ("2014", _after_linear(lambda n: nn.LeakyReLU(0.1))),
    "very leaky ReLU (α = 0.5)": ("2014", _after_linear(lambda n: nn.LeakyReLU(0.5))),
    # the lectures' range α ~ U(0.1, 0.5); PyTorch's default is U(1/8, 1/3)
    "RReLU (α ~ U(0.1, 0.5))": ("2015", _after_linear(lambda n: nn.RReLU(0.1, 0.5))),
    "PReLU": ("2015", _after_linear(lambda n: nn.PReLU(n))),  # one slope per unit, init 0.25
    "ELU": ("2015", _after_linear(lambda n: nn.ELU())),
}
# the rows where "input ≤ 0 on every test image" is worth counting: ReLU and its descendants
KINKED = ("ReLU", "leaky", "very leaky", "RReLU", "PReLU", "ELU", "APL")
CURVES = ["none", "sigmoid", "tanh", "ReLU", "maxout (k = 2)", "ELU"]  # drawn per epoch


def build(name: str, sizes: list[int]) -> nn.Sequential:
    """The MLP ``sizes[0] → hidden… → sizes[-1]`` with ``name``'s hidden layers."""
    make = ROWS[name][1]
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes[:-1]):  # the hidden layers
        layers += make(n_in, n_out)
    layers.append(nn.Linear(sizes[-2], sizes[-1]))  # the output layer: logits
    return nn.Sequential(*layers)


def dead_fraction(model: nn.Sequential, x: np.ndarray) -> float:
    """Fraction of hidden units whose input (the preceding Linear's output) is ≤ 0 for
    every row of ``x``: a ReLU unit like that outputs 0 and gets no gradient."""
    model.eval()
    dead, total = 0, 0
    h = stirpile.tensor(x)
    with stirpile.no_grad():
        layers = list(model)
        for layer, nxt in itertools.pairwise(layers):
            h = layer(h)
            if isinstance(layer, nn.Linear) and not isinstance(nxt, nn.Linear):
                never_positive = (h.numpy() <= 0).all(axis=0)
                dead += int(never_positive.sum())
                total += never_positive.size
    return dead / total


def linearity_deviation(model: nn.Module, x: np.ndarray, seed: int = 0) -> float:
    """How far the trained network is from a linear map (see the module docstring)."""
    model.eval()
    rng = np.random.default_rng(seed)
    x1, x2 = x[: len(x) // 2], x[len(x) // 2 : 2 * (len(x) // 2)]
    a, b = rng.uniform(-1, 1, (2, len(x1), 1)).astype(np.float32)
    with stirpile.no_grad():
        f0 = model(stirpile.zeros(1, x.shape[1])).numpy()

        def g(v: np.ndarray) -> np.ndarray:
            return model(stirpile.tensor(v)).numpy() - f0

        gx1, gx2 = g(x1), g(x2)
        gap = g(a * x1 + b * x2) - (a * gx1 + b * gx2)
    return float(np.abs(gap).max() / np.abs(np.concatenate([gx1, gx2])).max())


def train_one(name: str | None, data: dict, epochs: int, seed: int) -> dict[str, Any]:
    """Train row ``name`` (None: softmax regression, no hidden layer) with the recipe."""
    stirpile.manual_seed(seed)  # the same initial weights wherever the layers agree
    sizes = [784, *HIDDEN, 10] if name is not None else [784, 10]
    model = build(name, sizes) if name is not None else nn.Sequential(nn.Linear(784, 10))
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    history = common.train_classifier(model, opt, data, epochs, batch_size=BATCH, seed=seed)
    return {"model": model, **history}


def run(quick: bool = False, seed: int = 0, data_dir: Any = None) -> dict[str, Any]:
    # quick: 1 seed, 5 epochs on 3,000 images (235 steps: enough for the sigmoid net to
    # leave its initial plateau); full: 3 seeds, 15 epochs on the 5,000
    epochs = 5 if quick else 15
    seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    data = common.mnist(
        data_dir, n_train=3000 if quick else None, n_test=1000 if quick else None, seed=seed
    )
    x_test = data["x_test"]

    rows = {}
    for name, (year, _) in ROWS.items():
        runs = [train_one(name, data, epochs, s) for s in seeds]
        model = runs[0]["model"]  # the first seed's network for the diagnostics
        acc = [r["test_acc"][-1] for r in runs]
        rows[name] = {
            "year": year,
            "test_acc": acc,
            "test_acc_mean": float(np.mean(acc)),
            "test_acc_std": float(np.std(acc)),
            "train_acc_mean": float(np.mean([r["train_acc"][-1] for r in runs])),
            "curve": runs[0]["test_acc"],  # test accuracy per epoch, first seed
            "dead_fraction": dead_fraction(model, x_test) if name.startswith(KINKED) else None,
            "linearity_deviation": linearity_deviation(model, x_test, seed),
        }
    reference = [train_one(None, data, epochs, s)["test_acc"][-1] for s in seeds]
    return {
        "quick": quick,
        "seeds": seeds,
        "epochs": epochs,
        "recipe": f"MLP 784-{'-'.join(map(str, HIDDEN))}-10, SGD lr {LR} momentum {MOMENTUM}, "
        f"batch {BATCH}, {epochs} epochs",
        "n_train": len(data["y_train"]),
        "n_test": len(data["y_test"]),
        "split": data["split"],
        "rows": rows,
        "softmax_regression_acc": float(np.mean(reference)),
    }


# -- figures and table --------------------------------------------------------------------
def plot_functions(path: Path) -> Path:
    """The elementwise activations of the table, drawn on [−3, 3] (PReLU at its initial
    slope 0.25, RReLU at its evaluation slope, the mean 0.3; APL starts as a ReLU)."""
    plt = _plt()
    x = np.linspace(-3, 3, 601, dtype=np.float32)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    groups = [
        ("none and the smooth ones", ["none", "sigmoid", "tanh", "centered softplus", "ELU"]),
        (
            "ReLU and its leaky variants",
            [
                "ReLU",
                "leaky ReLU (α = 0.01)",
                "very leaky ReLU (α = 0.1)",
                "very leaky ReLU (α = 0.5)",
                "RReLU (α ~ U(0.1, 0.5))",
                "PReLU",
            ],
        ),
    ]
    for ax, (title, names) in zip(axes, groups):
        for name in names:
            unit = build(name, [1, 1, 1])[1]  # the activation module of a 1-unit layer
            unit.eval()
            with stirpile.no_grad():
                y = unit(stirpile.tensor(x[:, None])).numpy()[:, 0]
            note = {"PReLU": " (initial α = 0.25)", "RReLU (α ~ U(0.1, 0.5))": ", eval: α = 0.3"}
            ax.plot(x, y, lw=1.6, label=name + note.get(name, ""))
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set(title=title, xlabel="x (the unit's input)", ylabel="f(x)", ylim=(-2, 3))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_results(results: dict, path: Path) -> Path:
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    rows = results["rows"]
    names = list(rows)
    fig, (ax_bar, ax_curve) = plt.subplots(1, 2, figsize=(14, 5.2), width_ratios=(1.1, 1))
    mean = [rows[n]["test_acc_mean"] for n in names]
    std = [rows[n]["test_acc_std"] for n in names]
    ax_bar.barh(range(len(names)), mean, xerr=std, color="tab:blue", alpha=0.8, capsize=3)
    ax_bar.axvline(
        results["softmax_regression_acc"],
        color="tab:red",
        ls="--",
        label="softmax regression (784-10)",
    )
    ax_bar.set_yticks(range(len(names)), [f"{n} ({rows[n]['year']})" for n in names])
    ax_bar.invert_yaxis()
    lo = min(mean) - max(std) - 0.02
    ax_bar.set_xlim(max(0.0, lo), 1.0)
    ax_bar.set_xlabel(f"test accuracy (mean ± std over {len(results['seeds'])} seeds)")
    ax_bar.set_title("final test accuracy")
    ax_bar.legend(fontsize=8, loc="lower right")
    ax_bar.grid(axis="x", alpha=0.3)
    for name in CURVES:  # a readable selection; the table has every row
        ax_curve.plot(
            range(1, results["epochs"] + 1), rows[name]["curve"], marker="o", ms=2.5, label=name
        )
    ax_curve.set(
        xlabel="epoch",
        ylabel="test accuracy",
        title="test accuracy per epoch (first seed, a selection)",
    )
    ax_curve.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_curve.grid(alpha=0.3)
    ax_curve.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{results['recipe']}; {results['n_train']:,} training images")
    fig.tight_layout()
    return _save(fig, path)


def report(results: dict, out_dir: str | Path) -> list[Path]:
    out = common.output_dir(out_dir)
    paths = [plot_results(results, out / "accuracy.png"), plot_functions(out / "functions.png")]
    table_rows = []
    for name, r in results["rows"].items():
        dead = "—" if r["dead_fraction"] is None else f"{r['dead_fraction']:.1%}"
        table_rows.append(
            [
                name,
                r["year"],
                f"{r['test_acc_mean']:.2%} ± {r['test_acc_std']:.2%}",
                f"{r['train_acc_mean']:.2%}",
                dead,
                f"{r['linearity_deviation']:.1e}",
            ]
        )
    table = common.markdown_table(
        [
            "activation",
            "year",
            "test acc",
            "train acc",
            "units ≤ 0 on all test images",
            "deviation from linear",
        ],
        table_rows,
    )
    flag = " --quick" if results["quick"] else ""
    body = f"""
Command: `stirpile lab activations{flag}`. Recipe: {results["recipe"]}, seeds
{results["seeds"]}; {results["n_train"]:,} training images ({results["split"]}),
{results["n_test"]:,} test images. Maxout: 2 pieces per unit (it replaces the hidden
Linear + activation); APL: 2 hinges per unit; PReLU: one slope per unit.

{table}

Softmax regression (784-10, same recipe) reaches {results["softmax_regression_acc"]:.2%}.
The "none" row — three Linear layers with nothing between them — is a linear map
(its deviation from linearity is float32 rounding): the same function class as softmax
regression, so depth buys it nothing; trained as a product of three matrices with the
same lr, it can even end lower. "Units ≤ 0" counts hidden units whose input is never
positive on the test set (first seed): for ReLU these are dead (no output, no
gradient); the leaky variants still pass a gradient. Accuracy is mean ± std over
seeds; "train acc" is the running accuracy of the last epoch (mean over seeds).

![accuracy](accuracy.png)

![the activation functions](functions.png)
"""
    paths.append(common.write_readme(out, "Lab: activations", body))
    return paths
