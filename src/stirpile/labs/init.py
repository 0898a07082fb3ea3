"""Initialization: vanishing and exploding signals through depth.

**Claim.** For ``z_i = Σ_j W_ij h_j`` with independent zero-mean weights,
``var(z^(L)) = n_in var(w) var(z^(L−1))``: unless ``n_in var(w) ≈ 1`` (times the
activation's own gain) the forward signal, and with it the backpropagated gradient,
shrinks or grows geometrically with depth. Xavier (``var(w) = 2/(n_in + n_out)``, for
tanh) and He (``var(w) = 2/n_in``, for ReLU) keep it level; a too-small init makes the
gradients vanish, a too-large one makes ReLU nets explode and tanh nets saturate. A deep
MLP trains from the good inits and stalls from the bad ones.

**Source.** X. Glorot, Y. Bengio, "Understanding the difficulty of training deep
feedforward neural networks", AISTATS 2010; K. He, X. Zhang, S. Ren, J. Sun, "Delving
deep into rectifiers", ICCV 2015; the lectures' initialization slides.

**What is measured.** A plain deep MLP (``Linear → activation`` repeated, biases zero)
gets a batch of standard-normal inputs and a cross-entropy loss against random labels
(the loss of a network before training). For every hidden layer ``l`` we record the std
of its output ``h_l`` and the std of the **backpropagated gradient** ``∂L/∂h_l`` (the
signal that backpropagation carries down; the weight gradient is
``∂L/∂W_l = δ_lᵀ h_(l−1)`` and its std is recorded too). The inits: "small" (std 0.01),
"large" (std 1.0), Xavier normal and He (Kaiming) normal, each with tanh and ReLU. The
probe runs in float64 so that the exploding runs stay finite.

**How it is judged.** Xavier+tanh and He+ReLU keep ``∂L/∂h_l`` within a factor 10 over
all layers (max/min over layers); the small init shrinks it by more than 10³ from the
last to the first layer; the large init makes ReLU activations grow by more than 10³
and tanh units saturate (most ``|h| > 0.99``). Then a 10-layer MLP is trained on MNIST
from each init (SGD with momentum): the final test accuracies are compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SUMMARY = "vanishing/exploding signals vs init (small, large, Xavier, He) × (tanh, ReLU)"

INITS = ["small", "large", "xavier", "he"]
ACTIVATIONS = ["tanh", "relu"]


def init_(layer: Any, init: str) -> None:
    """Initialise one Linear layer in place; biases start at zero."""
    from .. import nn

    w = layer.weight
    if init == "small":
        nn.init.normal_(w, std=0.01)
    elif init == "large":
        nn.init.normal_(w, std=1.0)
    elif init == "xavier":
        nn.init.xavier_normal_(w)  # var = 2 / (n_in + n_out)
    elif init == "he":
        nn.init.kaiming_normal_(w, nonlinearity="relu")  # var = 2 / n_in
    else:
        raise ValueError(f"unknown init {init!r}")
    nn.init.zeros_(layer.bias)


def deep_mlp(n_in: int, width: int, depth: int, n_out: int, activation: str, init: str,
             dtype: Any = None) -> Any:  # fmt: skip
    """``depth`` hidden layers ``Linear → activation``, then a Linear head."""
    from .. import nn

    act = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation]
    layers: list[Any] = []
    for i in range(depth):
        layers += [nn.Linear(n_in if i == 0 else width, width, dtype=dtype), act()]
    layers.append(nn.Linear(width, n_out, dtype=dtype))
    for layer in layers[::2]:
        init_(layer, init)
    return nn.Sequential(*layers)


def probe(activation: str, init: str, depth: int, width: int, batch: int) -> dict[str, Any]:
    """One forward and backward pass; per-layer stds of ``h_l``, ``∂L/∂h_l``, ``∂L/∂W_l``."""
    import stirpile
    import stirpile.nn.functional as F

    net = deep_mlp(width, width, depth, 10, activation, init, dtype=stirpile.float64)
    x = stirpile.randn(batch, width, dtype=stirpile.float64)
    labels = stirpile.randint(0, 10, (batch,))
    hidden = []
    h = x
    for module in net:  # the Sequential by hand, to keep every hidden output
        h = module(h)
        if not isinstance(module, stirpile.nn.Linear):
            h.retain_grad()  # ask autograd to keep ∂L/∂h of this non-leaf tensor
            hidden.append(h)
    loss = F.cross_entropy(h, labels)
    loss.backward()
    linears = [m for m in net if isinstance(m, stirpile.nn.Linear)][:-1]
    return {
        "act_std": [float(h.std()) for h in hidden],
        "grad_std": [float(h.grad.std()) for h in hidden],
        "weight_grad_std": [float(m.weight.grad.std()) for m in linears],
        # fraction of tanh units in the flat tails at the last layer
        "saturated": float((hidden[-1].abs() > 0.99).float().mean()),
        "n_var_w": float(width * linears[1].weight.var()),  # the lecture's n_in·var(w)
    }


def train_mnist(activation: str, init: str, data: dict[str, Any], depth: int, width: int,
                epochs: int, seed: int) -> dict[str, list[float]]:  # fmt: skip
    """A ``depth``-layer MLP trained on MNIST from ``init``; per-epoch curves."""
    import stirpile
    from stirpile import optim

    from .common import train_classifier

    stirpile.manual_seed(seed)
    net = deep_mlp(784, width, depth, 10, activation, init)
    opt = optim.SGD(net.parameters(), lr=0.02, momentum=0.9)
    # The large init overflows float32 within a step or two: that *is* the result
    # (loss = nan, accuracy at chance), so let NumPy produce inf/nan quietly.
    with np.errstate(over="ignore", invalid="ignore"):
        return train_classifier(net, opt, data, epochs=epochs, batch_size=64, seed=seed)


def run(quick: bool = False, seed: int = 0, data_dir: Any = None) -> dict[str, Any]:
    """The signal probe for every (activation, init), then MNIST training curves."""
    import stirpile

    from .common import mnist

    depth, width = (30, 256) if quick else (50, 256)
    results: dict[str, Any] = {"depth": depth, "width": width, "probe": {}, "mnist": {}}
    for act in ACTIVATIONS:
        for init in INITS:
            stirpile.manual_seed(seed)
            results["probe"][f"{act}/{init}"] = probe(act, init, depth, width, batch=width)

    # MNIST: a 10-layer MLP; quick uses 2,000 images and 2 epochs
    n_train, n_test, epochs, mlp_width = (2000, 1000, 2, 64) if quick else (None, None, 10, 128)
    try:
        data = mnist(data_dir, n_train=n_train, n_test=n_test, seed=seed)
    except FileNotFoundError as e:  # the probe above needs no data
        results["mnist_skipped"] = str(e)
        return results
    n_train, n_test = len(data["x_train"]), len(data["x_test"])
    results["mnist_setup"] = {"depth": 10, "width": mlp_width, "epochs": epochs,
                              "n_train": n_train, "n_test": n_test}  # fmt: skip
    for act in ACTIVATIONS:
        for init in INITS:
            results["mnist"][f"{act}/{init}"] = train_mnist(
                act, init, data, depth=10, width=mlp_width, epochs=epochs, seed=seed
            )
    return results


def report(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    from ..train.plots import _plt, _save
    from .common import markdown_table, output_dir, write_readme

    plt = _plt()
    out = output_dir(out_dir)
    probes = results["probe"]
    styles = {"small": "C0", "large": "C3", "xavier": "C2", "he": "C1"}

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for col, act in enumerate(ACTIVATIONS):
        for row, (key, what) in enumerate([("act_std", "std of h_l (forward)"),
                                           ("grad_std", "std of ∂L/∂h_l (backward)")]):  # fmt: skip
            ax = axes[row, col]
            for init in INITS:
                y = probes[f"{act}/{init}"][key]
                ax.plot(range(1, len(y) + 1), y, color=styles[init], marker=".", label=init)
            ax.set_yscale("log")
            ax.set_title(f"{act}: {what}")
            ax.set_ylabel(what.split(" (")[0])
            ax.grid(alpha=0.3, which="major")
        axes[1, col].set_xlabel("hidden layer l")
    axes[0, 0].legend(title="init")
    fig.suptitle(f"Signal propagation at initialization: {results['depth']} layers of width "
                 f"{results['width']}", y=1.0)  # fmt: skip
    fig.tight_layout()
    paths = [_save(fig, out / "signal.png")]

    rows = []
    for act in ACTIVATIONS:
        for init in INITS:
            p, g = probes[f"{act}/{init}"], probes[f"{act}/{init}"]["grad_std"]
            curves = results["mnist"].get(f"{act}/{init}")
            acc = "-" if curves is None else f"{curves['test_acc'][-1]:.1%}"
            saturated = p["saturated"] if act == "tanh" else "-"
            rows.append([act, init, p["n_var_w"], p["act_std"][-1], g[0], g[-1], g[0] / g[-1],
                         max(g) / min(g), saturated, acc])  # fmt: skip
    table = markdown_table(
        ["activation", "init", "n·var(w)", "std h_L", "grad std layer 1", "grad std layer L",
         "first/last", "max/min", "tanh saturated", "MNIST test acc"],
        rows,
    )  # fmt: skip

    body = f"""
{__doc__.split(chr(10) + chr(10))[1]}

Probe: {results["depth"]} hidden layers of width {results["width"]}, a batch of
{results["width"]} standard-normal inputs, cross-entropy against random labels;
"grad std" is the std of ``∂L/∂h_l`` at hidden layer 1 and L; "max/min" is over all
layers (the claim: < 10 for Xavier+tanh and He+ReLU).

![signal](signal.png)

{table}
"""
    if results["mnist"]:
        setup = results["mnist_setup"]
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
        for ax, act in zip(axes, ACTIVATIONS):
            for init in INITS:
                acc = results["mnist"][f"{act}/{init}"]["test_acc"]
                ax.plot(range(1, len(acc) + 1), acc, color=styles[init], marker="o", label=init)
            ax.axhline(0.1, color="gray", ls=":", label="chance")
            ax.set_title(f"{act}: 10-layer MLP on MNIST")
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("test accuracy")
        axes[0].legend(title="init")
        paths.append(_save(fig, out / "mnist.png"))
        body += f"""
MNIST: a 10-layer MLP (width {setup["width"]}), SGD (lr 0.02, momentum 0.9, batch 64),
{setup["n_train"]:,} training images, {setup["epochs"]} epochs, test accuracy on
{setup["n_test"]:,} test images (the last column above). ``nan`` losses (the large init)
count as chance.

![mnist](mnist.png)
"""
    else:
        body += f"\nMNIST part skipped: {results.get('mnist_skipped', 'no data')}\n"
    paths.append(write_readme(out, "Lab: initialization and vanishing/exploding gradients", body))
    return paths
