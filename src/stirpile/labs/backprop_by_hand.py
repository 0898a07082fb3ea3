"""Backpropagation by hand: the lecture's equations against autograd, and where gradients vanish.

**Claim.** The lecture's backpropagation equations for a two-layer sigmoid network with
squared error, written out by hand and vectorized over a mini-batch of ``m`` samples (the
columns of ``X`` and ``Y``),

    A⁽¹⁾ = X,   Z⁽ˡ⁺¹⁾ = W⁽ˡ⁾ A⁽ˡ⁾ + b⁽ˡ⁾,   A⁽ˡ⁺¹⁾ = σ(Z⁽ˡ⁺¹⁾)        (l = 1, 2)
    L = 1/m Σ ‖Y − A⁽³⁾‖² + λ (‖W⁽¹⁾‖² + ‖W⁽²⁾‖²)
    V⁽²⁾ = −2 (Y − A⁽³⁾) ∗ A⁽³⁾ ∗ (1 − A⁽³⁾)
    V⁽¹⁾ = A⁽²⁾ ∗ (1 − A⁽²⁾) ∗ W⁽²⁾ᵀ V⁽²⁾
    ∇⁽ˡ⁾ = ∂L/∂W⁽ˡ⁾ = V⁽ˡ⁾ A⁽ˡ⁾ᵀ / m + 2λ W⁽ˡ⁾,   ∂L/∂b⁽ˡ⁾ = V⁽ˡ⁾ 1 / m

(``∗`` elementwise; ``V⁽ˡ⁾ / m = ∂L/∂Z⁽ˡ⁺¹⁾`` is the layer's *sensitivity*) compute exactly
what reverse-mode autograd computes: the same gradients, to float64 rounding, at every
step, hence the same training curve. The same equations show where the gradient vanishes:
every sigmoid layer multiplies the sensitivity by ``σ′(z) = a (1 − a) ≤ ¼`` (and by
``W⁽ˡ⁾ᵀ``), so ``‖V⁽ˡ⁻¹⁾‖ ≤ max σ′ · ‖W⁽ˡ⁾‖₂ ‖V⁽ˡ⁾‖ ≤ ¼ ‖W⁽ˡ⁾‖₂ ‖V⁽ˡ⁾‖`` and, in a deep
sigmoid network, the first layers get gradients orders of magnitude smaller than the last.

**Source.** The lectures' backpropagation slides (the vectorized equations above, the
per-op table "sigmoid → σ(1 − σ)" and the worked scalar example
``L(w, b) = ½ (y − σ(w x + b))² + λ w²``); the initialization lecture: "with sigmoid units,
backpropagated sensitivities shrink by σ′(z) ≤ ¼ per layer: the vanishing gradient".
The numbers of the scalar example (``x, y, w, b, λ``) are ours: the digest gives none.

**What is run.** (1) The scalar example, forward and backward, by hand (Python floats)
and by stirpile's autograd (float64 scalars; intermediates kept with ``retain_grad``).
(2) A 784-H-10 sigmoid network on MNIST (train5k → t10k; a two-class spiral task if
MNIST is absent) trained twice from the same initial weights (stirpile's ``nn.Linear``
init) on the same shuffled mini-batches with plain SGD: once with the equations above
in NumPy (float64, our own update ``W ← W − η∇``), once as ``nn.Linear`` + ``sigmoid`` layers
in float64 with ``loss.backward()`` and ``optim.SGD``. At every step both gradients
(weights, biases and the sensitivities, read from the pre-activations' ``.grad``) are
compared. (3) Sigmoid networks with D = 2 … 10 weight layers (width 100, PyTorch's
default init) at initialization: the same equations, generalized to D layers, give every
layer's sensitivity ``V⁽ˡ⁾`` and gradient ``∇⁽ˡ⁾`` on a batch of training images, checked
against autograd, and set beside the bound.

**How it is judged.** The relative difference ``‖g_hand − g_autograd‖ / ‖g_autograd‖``
stays below 10⁻¹⁰ for every parameter and sensitivity at every step; the two loss curves
(per step, and per epoch on the whole training and test sets) agree to 10⁻¹⁰ relative and
the test accuracies are equal; every measured per-layer ratio ``‖V⁽ˡ⁻¹⁾‖ / ‖V⁽ˡ⁾‖`` is
below ``max σ′ · ‖W⁽ˡ⁾‖₂ ≤ ¼ ‖W⁽ˡ⁾‖₂``, every ``max σ′ ≤ ¼``, and the first layer's
gradient shrinks as depth grows; the scalar example's autograd values equal the hand ones.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np

SUMMARY = "the lecture's backprop equations by hand = autograd (float64); σ′ ≤ ¼ per layer"

LR, LAMBDA = 1.0, 1e-4  # SGD step η and the L2 weight λ of L = 1/m Σ‖Y − A‖² + λ Σ‖W‖²
Params = list[tuple[np.ndarray, np.ndarray]]  # [(W⁽ˡ⁾, b⁽ˡ⁾)] for l = 1 … D


# -- the lecture's equations, by hand (NumPy; columns are samples) -------------------------
def sigmoid(z: np.ndarray) -> np.ndarray:
    """``σ(z) = 1 / (1 + e^(−z))`` (``e^(−z) = inf`` for very negative ``z`` gives 0)."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


def forward(params: Params, X: np.ndarray) -> list[np.ndarray]:
    """``[A⁽¹⁾ = X, A⁽²⁾, …, A⁽ᴰ⁺¹⁾]`` with ``A⁽ˡ⁺¹⁾ = σ(W⁽ˡ⁾ A⁽ˡ⁾ + b⁽ˡ⁾)``; ``X`` is
    ``(features, m)``, each ``W⁽ˡ⁾`` ``(out, in)`` as in ``nn.Linear``."""
    A = [X]
    for W, b in params:
        A.append(sigmoid(W @ A[-1] + b[:, None]))
    return A


def loss(params: Params, A_out: np.ndarray, Y: np.ndarray,
         lam: float) -> float:  # fmt: skip
    """``L = 1/m Σ ‖Y − A⁽ᴰ⁺¹⁾‖² + λ Σ_l ‖W⁽ˡ⁾‖²`` (biases are not regularized)."""
    return float(((Y - A_out) ** 2).sum() / Y.shape[1] + lam * sum((W**2).sum() for W, _ in params))


def backward(params: Params, A: list[np.ndarray], Y: np.ndarray,
             lam: float) -> tuple[Params, list[np.ndarray]]:  # fmt: skip
    """The lecture's backward pass for ``D = len(params)`` sigmoid layers.

    ``V⁽ᴰ⁾ = −2 (Y − A⁽ᴰ⁺¹⁾) ∗ A⁽ᴰ⁺¹⁾ ∗ (1 − A⁽ᴰ⁺¹⁾)``,
    ``V⁽ˡ⁻¹⁾ = A⁽ˡ⁾ ∗ (1 − A⁽ˡ⁾) ∗ W⁽ˡ⁾ᵀ V⁽ˡ⁾``,
    ``∇⁽ˡ⁾ = V⁽ˡ⁾ A⁽ˡ⁾ᵀ / m + 2λ W⁽ˡ⁾``, ``∂L/∂b⁽ˡ⁾ = V⁽ˡ⁾ 1 / m``.
    Returns ``[(∇⁽ˡ⁾, ∂L/∂b⁽ˡ⁾)]`` and ``[V⁽ˡ⁾]``, both for ``l = 1 … D``.
    """
    m = Y.shape[1]
    V = [-2 * (Y - A[-1]) * A[-1] * (1 - A[-1])]
    for l in range(len(params) - 1, 0, -1):  # over layers (D of them), not samples
        W = params[l][0]
        V.insert(0, A[l] * (1 - A[l]) * (W.T @ V[0]))
    grads = [(V[l] @ A[l].T / m + 2 * lam * W, V[l].sum(axis=1) / m)
             for l, (W, _) in enumerate(params)]  # fmt: skip
    return grads, V


# -- the same network in stirpile's autograd ----------------------------------------------
def make_layers(sizes: list[int], seed: int) -> list[Any]:
    """``nn.Linear`` layers in float64 with stirpile's (PyTorch's) default init."""
    import stirpile
    from stirpile import nn

    stirpile.manual_seed(seed)
    return [nn.Linear(a, b).double() for a, b in itertools.pairwise(sizes)]


def autograd_step(layers: list[Any], x: np.ndarray, y: np.ndarray, lam: float) -> dict[str, Any]:
    """Forward the rows of ``x`` through ``layers`` (sigmoid after each), the same ``L``,
    then ``loss.backward()``: parameter gradients in ``.grad`` and the sensitivities
    ``∂L/∂Z⁽ˡ⁺¹⁾`` (kept with ``retain_grad``), transposed to columns-are-samples."""
    import stirpile

    a, zs = stirpile.tensor(x, dtype=stirpile.float64), []
    for layer in layers:
        z = layer(a)
        z.retain_grad()
        zs.append(z)
        a = stirpile.sigmoid(z)
    target = stirpile.tensor(y, dtype=stirpile.float64)
    L = ((target - a) ** 2).sum() / len(x) + lam * sum((lay.weight**2).sum() for lay in layers)
    for layer in layers:
        for p in layer.parameters():
            p.grad = None
    L.backward()
    return {"loss": float(L.item()),
            "grads": [(lay.weight.grad.numpy(), lay.bias.grad.numpy()) for lay in layers],
            "sens": [z.grad.numpy().T for z in zs]}  # fmt: skip


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """``‖a − b‖ / ‖b‖`` (Frobenius), 0 when both are 0."""
    nb = float(np.linalg.norm(b))
    return float(np.linalg.norm(a - b)) / nb if nb else float(np.linalg.norm(a))


def params_of(layers: list[Any]) -> Params:
    """Copies of the layers' ``(W, b)`` as NumPy arrays."""
    return [(lay.weight.detach().numpy().copy(), lay.bias.detach().numpy().copy())
            for lay in layers]  # fmt: skip


# -- (1) the lecture's worked scalar example ----------------------------------------------
SCALAR = {"x": 1.5, "y": 1.0, "w": 0.5, "b": -1.0, "lam": 0.1}  # our numbers


def scalar_example(x: float, y: float, w: float, b: float, lam: float) -> list[dict[str, Any]]:
    """``L(w, b) = ½ (y − σ(w x + b))² + λ w²``, every intermediate by hand and by autograd.

    Forward ``z = w x + b, u = σ(z), l = ½ (y − u)², r = w², L = l + λ r``; backward
    ``∂L/∂u = u − y, ∂L/∂z = ∂L/∂u · σ′(z), ∂L/∂w = ∂L/∂z · x + λ · 2w, ∂L/∂b = ∂L/∂z``.

    >>> rows = scalar_example(1.5, 1.0, 0.5, -1.0, 0.1)
    >>> [r["name"] for r in rows][:3]
    ['z', 'u', 'l']
    >>> all(abs(r["hand"] - r["autograd"]) <= 1e-15 for r in rows)
    True
    """
    import stirpile

    # by hand
    z = w * x + b
    u = 1 / (1 + math.exp(-z))
    l_ = 0.5 * (y - u) ** 2
    r = w**2
    L = l_ + lam * r
    dL_du = u - y
    sig_prime = u * (1 - u)
    dL_dz = dL_du * sig_prime
    dL_dw = dL_dz * x + lam * 2 * w
    hand = {"z": z, "u": u, "l": l_, "r": r, "L": L, "∂L/∂l": 1.0, "∂L/∂r": lam,
            "∂L/∂u": dL_du, "σ′(z)": sig_prime, "∂L/∂z": dL_dz, "∂L/∂w": dL_dw,
            "∂L/∂b": dL_dz}  # fmt: skip

    # by autograd: the same steps on float64 scalars, intermediates kept
    def t(v: float, grad: bool = False) -> Any:
        return stirpile.tensor(v, dtype=stirpile.float64, requires_grad=grad)

    tw, tb = t(w, True), t(b, True)
    tz = tw * x + tb
    tu = stirpile.sigmoid(tz)
    tl = 0.5 * (y - tu) ** 2
    tr = tw**2
    tL = tl + lam * tr
    for v in (tz, tu, tl, tr):
        v.retain_grad()
    (tsig,) = stirpile.autograd.grad(tu, tz, retain_graph=True)  # dσ/dz at z
    tL.backward()
    auto = {"z": tz.item(), "u": tu.item(), "l": tl.item(), "r": tr.item(), "L": tL.item(),
            "∂L/∂l": tl.grad.item(), "∂L/∂r": tr.grad.item(), "∂L/∂u": tu.grad.item(),
            "σ′(z)": tsig.item(), "∂L/∂z": tz.grad.item(), "∂L/∂w": tw.grad.item(),
            "∂L/∂b": tb.grad.item()}  # fmt: skip
    formula = {"z": "w x + b", "u": "σ(z) = 1/(1 + e^(−z))", "l": "½ (y − u)²", "r": "w²",
               "L": "l + λ r", "∂L/∂l": "1", "∂L/∂r": "λ", "∂L/∂u": "∂L/∂l · (u − y)",
               "σ′(z)": "u (1 − u)", "∂L/∂z": "∂L/∂u · σ′(z)",
               "∂L/∂w": "∂L/∂z · x + ∂L/∂r · 2w", "∂L/∂b": "∂L/∂z · 1"}  # fmt: skip
    return [{"name": k, "formula": formula[k], "hand": hand[k], "autograd": auto[k]}
            for k in hand]  # fmt: skip


# -- (2) training, side by side -----------------------------------------------------------
def train_side_by_side(data: dict[str, np.ndarray], hidden: int, epochs: int,
                       batch_size: int, lr: float = LR, lam: float = LAMBDA,
                       seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Train the hand-written network and the autograd one from the same weights on the same
    mini-batches; per step: both losses and the largest relative gradient difference; per
    epoch: loss (the full objective) and accuracy on the whole training and test sets."""
    import stirpile
    from stirpile import optim

    x, labels = data["x_train"].astype(np.float64), data["y_train"]
    xte, yte = data["x_test"].astype(np.float64), data["y_test"]
    k = int(max(labels.max(), yte.max())) + 1
    Y, Yte = np.eye(k)[labels], np.eye(k)[yte]  # one-hot targets
    layers = make_layers([x.shape[1], hidden, k], seed)
    params = params_of(layers)  # the hand network starts from the same weights
    opt = optim.SGD([p for lay in layers for p in lay.parameters()], lr=lr)
    rng = np.random.default_rng(seed)
    steps: dict[str, list] = {"loss_hand": [], "loss_autograd": [], "rel_grad": [],
                              "rel_sens": [], "v_norm": [], "ratio": [], "bound": [],
                              "quarter_bound": []}  # fmt: skip
    epochs_rec: dict[str, list] = {"epoch": [], "rel_weights": []}
    for split in ("train", "test"):
        for who in ("hand", "autograd"):
            epochs_rec[f"{split}_loss_{who}"], epochs_rec[f"{split}_acc_{who}"] = [], []

    def evaluate(epoch: int) -> None:
        auto = params_of(layers)
        epochs_rec["epoch"].append(epoch)
        epochs_rec["rel_weights"].append(max(rel_diff(h, a) for ph, pa in zip(params, auto)
                                             for h, a in zip(ph, pa)))  # fmt: skip
        for split, xs, ys, lab in (("train", x, Y, labels), ("test", xte, Yte, yte)):
            for who, p in (("hand", params), ("autograd", None)):
                if p is None:  # autograd's forward, no graph
                    with stirpile.no_grad():
                        a = stirpile.tensor(xs, dtype=stirpile.float64)
                        for layer in layers:
                            a = stirpile.sigmoid(layer(a))
                        out = a.numpy().T
                    p = auto
                else:
                    out = forward(p, xs.T)[-1]
                epochs_rec[f"{split}_loss_{who}"].append(loss(p, out, ys.T, lam))
                epochs_rec[f"{split}_acc_{who}"].append(float((out.argmax(0) == lab).mean()))

    evaluate(0)
    for epoch in range(1, epochs + 1):
        perm = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):  # mini-batches (vectorized inside)
            idx = perm[start : start + batch_size]
            A = forward(params, x[idx].T)
            grads, V = backward(params, A, Y[idx].T, lam)
            auto = autograd_step(layers, x[idx], Y[idx], lam)
            steps["loss_hand"].append(loss(params, A[-1], Y[idx].T, lam))
            steps["loss_autograd"].append(auto["loss"])
            steps["rel_grad"].append(max(rel_diff(h, a) for gh, ga in zip(grads, auto["grads"])
                                         for h, a in zip(gh, ga)))  # fmt: skip
            steps["rel_sens"].append(max(rel_diff(v / len(idx), s)
                                         for v, s in zip(V, auto["sens"])))  # fmt: skip
            steps["v_norm"].append([float(np.linalg.norm(v) / len(idx)) for v in V])
            # the hidden layer's factor ‖V⁽¹⁾‖/‖V⁽²⁾‖ against max σ′ ‖W⁽²⁾‖₂ ≤ ¼ ‖W⁽²⁾‖₂
            w2 = float(np.linalg.norm(params[1][0], 2))
            steps["ratio"].append(float(np.linalg.norm(V[0]) / np.linalg.norm(V[1])))
            steps["bound"].append(float((A[1] * (1 - A[1])).max()) * w2)
            steps["quarter_bound"].append(0.25 * w2)
            for (W, b), (gW, gb) in zip(params, grads):  # plain SGD, by hand
                W -= lr * gW
                b -= lr * gb
            opt.step()
        evaluate(epoch)
    return {"steps": steps, "epochs": epochs_rec, "hidden": hidden, "batch_size": batch_size,
            "lr": lr, "lam": lam, "n_train": len(x), "n_test": len(xte), "n_in": x.shape[1],
            "classes": k}  # fmt: skip


# -- (3) sensitivities through depth ------------------------------------------------------
def sensitivities(x: np.ndarray, labels: np.ndarray, depths: list[int], width: int,
                  seeds: list[int]) -> list[dict[str, Any]]:  # fmt: skip
    """For each depth ``D`` (sigmoid weight layers) and seed, at initialization: per layer
    ``l`` the sensitivity norm ``‖V⁽ˡ⁾‖/m``, the gradient norm ``‖V⁽ˡ⁾A⁽ˡ⁾ᵀ‖/m`` (λ = 0),
    ``‖W⁽ˡ⁾‖₂``, and for ``l ≥ 2`` the mean and max of ``σ′ = A⁽ˡ⁾(1 − A⁽ˡ⁾)`` and the
    ratio ``‖V⁽ˡ⁻¹⁾‖ / ‖V⁽ˡ⁾‖``; plus the largest relative difference to autograd."""
    x = x.astype(np.float64)
    k = int(labels.max()) + 1
    Y = np.eye(k)[labels]
    rows = []
    for D in depths:
        for seed in seeds:
            layers = make_layers([x.shape[1]] + [width] * (D - 1) + [k], seed)
            params = params_of(layers)
            A = forward(params, x.T)
            grads, V = backward(params, A, Y.T, 0.0)
            auto = autograd_step(layers, x, Y, 0.0)
            m = len(x)
            sp = [a * (1 - a) for a in A[1:-1]]  # σ′ at the hidden layers A⁽²⁾ … A⁽ᴰ⁾
            rows.append({
                "depth": D, "seed": seed,
                "v_norm": [float(np.linalg.norm(v) / m) for v in V],
                "g_norm": [float(np.linalg.norm(g)) for g, _ in grads],
                "w_spec": [float(np.linalg.norm(W, 2)) for W, _ in params],
                "sp_mean": [float(s.mean()) for s in sp],  # σ′ applied from V⁽ˡ⁾ to V⁽ˡ⁻¹⁾
                "sp_max": [float(s.max()) for s in sp],
                "ratio": [float(np.linalg.norm(V[l - 1]) / np.linalg.norm(V[l]))
                          for l in range(1, D)],
                "rel_grad": max(rel_diff(h, a) for gh, ga in zip(grads, auto["grads"])
                                for h, a in zip(gh, ga)),
            })  # fmt: skip
    return rows


# -- the experiment ------------------------------------------------------------------------
def _data(data_dir: Any, quick: bool, seed: int) -> dict[str, Any]:
    from .common import mnist

    try:
        d = mnist(data_dir, n_train=1000 if quick else None, n_test=1000 if quick else None,
                  seed=seed)  # fmt: skip
        return d | {"name": f"MNIST ({d['split']} → t10k)"}
    except FileNotFoundError as e:
        from ..data.datasets.synthetic import spirals

        X, y = spirals(n=2000, noise=0.05, seed=seed)
        return {"x_train": X[:1000], "y_train": y[:1000], "x_test": X[1000:],
                "y_test": y[1000:], "split": "spirals",
                "name": f"two spirals (2-d, 2 classes; MNIST absent: {e})"}  # fmt: skip


def run(quick: bool = False, seed: int = 0, data_dir: Any = None) -> dict[str, Any]:
    data = _data(data_dir, quick, seed)
    results: dict[str, Any] = {"data": data["name"], "scalar": scalar_example(**SCALAR),
                               "scalar_inputs": SCALAR}  # fmt: skip
    hidden, epochs, batch = (30, 3, 20) if quick else (100, 30, 20)
    results["training"] = train_side_by_side(data, hidden, epochs, batch, seed=seed)
    n = 200 if quick else 1000  # a batch of training images for the depth sweep
    seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    results["depth"] = sensitivities(data["x_train"][:n], data["y_train"][:n],
                                     depths=list(range(2, 11)), width=100, seeds=seeds)  # fmt: skip
    results["depth_batch"] = min(n, len(data["x_train"]))
    return results


# -- the report ----------------------------------------------------------------------------
def _by_depth(rows: list[dict[str, Any]], key: str) -> dict[int, np.ndarray]:
    """Per depth, ``key``'s per-layer lists averaged over seeds (geometric mean)."""
    out: dict[int, list] = {}
    for r in rows:
        out.setdefault(r["depth"], []).append(r[key])
    return {D: np.exp(np.log(np.array(v)).mean(0)) for D, v in out.items()}


def report(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    from ..train.plots import _plt, _save
    from .common import markdown_table, output_dir, write_readme

    plt = _plt()
    out = output_dir(out_dir)
    tr, st, ep = results["training"], results["training"]["steps"], results["training"]["epochs"]
    paths = []

    # training curves, hand vs autograd, their difference, the hidden layer's factor
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    axes = axes.ravel()
    step = np.arange(1, len(st["loss_hand"]) + 1)
    axes[0].plot(step, st["loss_hand"], lw=2.5, alpha=0.5, label="by hand (NumPy)")
    axes[0].plot(step, st["loss_autograd"], lw=0.6, color="k", label="autograd (stirpile)")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("SGD step")
    axes[0].set_ylabel("mini-batch loss L")
    axes[0].set_title("training curves (they coincide)")
    for split, ls in (("train", "-"), ("test", "--")):
        axes[1].plot(ep["epoch"], ep[f"{split}_acc_hand"], ls, lw=3, alpha=0.5,
                     label=f"{split}, by hand")  # fmt: skip
        axes[1].plot(ep["epoch"], ep[f"{split}_acc_autograd"], ls, color="k", lw=0.8,
                     marker=".", label=f"{split}, autograd")  # fmt: skip
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("accuracy")
    axes[1].set_title(f"{tr['n_in']}-{tr['hidden']}-{tr['classes']} sigmoid net, squared error")
    rel_loss = np.abs(np.subtract(st["loss_hand"], st["loss_autograd"])) / np.abs(
        st["loss_autograd"]
    )
    floor = 1e-18  # exact agreement drawn at the floor of the log axis
    axes[2].plot(step, np.maximum(st["rel_grad"], floor), lw=0.5, label="gradients (max over W, b)")
    axes[2].plot(step, np.maximum(st["rel_sens"], floor), lw=0.5, label="sensitivities V⁽ˡ⁾/m")
    axes[2].plot(step, np.maximum(rel_loss, floor), lw=0.5, label="loss")
    axes[2].axhline(1e-10, color="r", ls=":", label="judge: 10⁻¹⁰")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("SGD step")
    axes[2].set_ylabel("relative difference, hand vs autograd")
    axes[2].set_title("float64 rounding, at every step")
    axes[3].plot(step, st["quarter_bound"], "r--", label="¼ ‖W⁽²⁾‖₂")
    axes[3].plot(step, st["bound"], "m:", label="max σ′ · ‖W⁽²⁾‖₂")
    axes[3].plot(step, st["ratio"], "k-", lw=0.4, label="‖V⁽¹⁾‖ / ‖V⁽²⁾‖ (mini-batch)")
    axes[3].set_xlabel("SGD step")
    axes[3].set_ylabel("factor through the hidden layer")
    axes[3].set_title("the sensitivity's shrinking factor during training")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(_save(fig, out / "hand_vs_autograd.png"))

    # sensitivities through depth
    rows = results["depth"]
    g_norm = _by_depth(rows, "g_norm")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    cmap = plt.get_cmap("viridis")
    depths = sorted(g_norm)
    for i, D in enumerate(depths):
        c = cmap(i / max(1, len(depths) - 1))
        axes[0].plot(range(1, D + 1), g_norm[D], marker="o", ms=3, color=c, label=f"D = {D}")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("layer l (1 = next to the input)")
    axes[0].set_ylabel("‖∇⁽ˡ⁾‖ = ‖∂L/∂W⁽ˡ⁾‖")
    axes[0].set_title("gradient per layer at init, D sigmoid layers")
    axes[0].legend(fontsize=7, ncol=2)
    Dmax = max(depths)
    deep = [r for r in rows if r["depth"] == Dmax]
    ratio = np.exp(np.log([r["ratio"] for r in deep]).mean(0))
    sp_mean = np.exp(np.log([r["sp_mean"] for r in deep]).mean(0))
    sp_max = np.exp(np.log([r["sp_max"] for r in deep]).mean(0))
    w_spec = np.exp(np.log([r["w_spec"][1:] for r in deep]).mean(0))
    lx = np.arange(2, Dmax + 1)  # the transition V⁽ˡ⁾ → V⁽ˡ⁻¹⁾ goes through layer l
    axes[1].plot(lx, 0.25 * w_spec, "r--", marker="v", label="bound ¼ ‖W⁽ˡ⁾‖₂")
    axes[1].plot(lx, sp_max * w_spec, "m:", marker="^", label="max σ′ · ‖W⁽ˡ⁾‖₂")
    axes[1].plot(lx, ratio, "k-", marker="o", label="measured ‖V⁽ˡ⁻¹⁾‖ / ‖V⁽ˡ⁾‖")
    axes[1].plot(lx, sp_mean, "b-.", marker="s", label="mean σ′ at A⁽ˡ⁾")
    axes[1].axhline(0.25, color="gray", lw=0.8)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("layer l")
    axes[1].set_ylabel("factor per layer")
    axes[1].set_title(f"where it vanishes (D = {Dmax}): the factor each layer applies")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    paths.append(_save(fig, out / "vanishing_gradient.png"))

    # tables
    scalar = results["scalar"]
    s_in = results["scalar_inputs"]
    scalar_table = markdown_table(
        ["quantity", "formula", "by hand", "autograd (stirpile)", "difference"],
        [[r["name"], r["formula"], f"{r['hand']:.12g}", f"{r['autograd']:.12g}",
          f"{abs(r['hand'] - r['autograd']):.1e}"] for r in scalar],
    )  # fmt: skip
    last = len(ep["epoch"]) - 1
    train_table = markdown_table(
        ["", "by hand", "autograd", "largest relative difference"],
        [["final train loss", ep["train_loss_hand"][last], ep["train_loss_autograd"][last],
          f"{_rel_max(ep['train_loss_hand'], ep['train_loss_autograd']):.1e} (all epochs)"],
         ["final test loss", ep["test_loss_hand"][last], ep["test_loss_autograd"][last],
          f"{_rel_max(ep['test_loss_hand'], ep['test_loss_autograd']):.1e} (all epochs)"],
         ["final train accuracy", f"{ep['train_acc_hand'][last]:.2%}",
          f"{ep['train_acc_autograd'][last]:.2%}", ""],
         ["final test accuracy", f"{ep['test_acc_hand'][last]:.2%}",
          f"{ep['test_acc_autograd'][last]:.2%}",
          "equal at every epoch" if ep["test_acc_hand"] == ep["test_acc_autograd"]
          else "differ"],
         ["gradients (W, b), every step", "", "", f"{max(st['rel_grad']):.1e}"],
         ["sensitivities V⁽ˡ⁾/m, every step", "", "", f"{max(st['rel_sens']):.1e}"],
         ["mini-batch loss, every step", "", "",
          f"{_rel_max(st['loss_hand'], st['loss_autograd']):.1e}"],
         ["weights after training", "", "", f"{ep['rel_weights'][-1]:.1e}"]],
    )  # fmt: skip
    depth_rows = []
    for D in depths:
        rs = [r for r in rows if r["depth"] == D]
        per = np.exp(np.log([r["ratio"] for r in rs]).mean())  # geometric mean factor/layer
        bnd = np.exp(np.log([np.array(r["w_spec"][1:]) / 4 for r in rs]).mean())
        spm = max(max(r["sp_max"]) for r in rs)
        depth_rows.append([D, f"{g_norm[D][0]:.3g}", f"{g_norm[D][-1]:.3g}",
                           f"{g_norm[D][0] / g_norm[D][-1]:.2g}", f"{per:.3f}",
                           f"{bnd:.3f}", f"{spm:.4f}",
                           f"{max(r['rel_grad'] for r in rs):.1e}"])  # fmt: skip
    depth_table = markdown_table(
        ["D", "‖∇⁽¹⁾‖ (first)", "‖∇⁽ᴰ⁾‖ (last)", "first / last",
         "measured factor per layer", "bound ¼‖W‖₂ per layer", "max σ′", "vs autograd"],
        depth_rows,
    )  # fmt: skip
    judges = judge(results)
    judge_table = markdown_table(["judge", "passed"], [[k, v] for k, v in judges.items()])
    n_last = -(-tr["n_train"] // tr["batch_size"])  # steps in one epoch
    body = f"""
{__doc__.split(chr(10) + chr(10), 1)[1]}

{judge_table}

## The worked scalar example

``L(w, b) = ½ (y − σ(w x + b))² + λ w²`` at x = {s_in["x"]}, y = {s_in["y"]},
w = {s_in["w"]}, b = {s_in["b"]}, λ = {s_in["lam"]} (our numbers). Forward, top to bottom,
then backward; "autograd" reads the same quantities from stirpile
(``.grad`` of the intermediates, kept with ``retain_grad``; σ′ from ``autograd.grad``).

{scalar_table}

## Hand-written equations vs autograd, side by side

Data: {results["data"]}; {tr["n_train"]:,} training and {tr["n_test"]:,} test samples.
Network {tr["n_in"]}-{tr["hidden"]}-{tr["classes"]}, sigmoid after both layers, squared error on
one-hot targets, L2 weight λ = {tr["lam"]:g}, plain SGD with η = {tr["lr"]:g}, mini-batches
of {tr["batch_size"]}, {len(ep["epoch"]) - 1} epochs ({len(st["loss_hand"]):,} steps), float64.

{train_table}

Through the hidden layer the sensitivity shrinks by ‖V⁽¹⁾‖ / ‖V⁽²⁾‖ =
{st["ratio"][0]:.3f} at the first step and {np.median(st["ratio"][-n_last:]):.3f} (median over
the last epoch), always below max σ′ · ‖W⁽²⁾‖₂ (largest ratio to it over all steps:
{max(np.divide(st["ratio"], st["bound"])):.3f}). The bound itself, ¼ ‖W⁽²⁾‖₂, grows from
{st["quarter_bound"][0]:.3f} to {st["quarter_bound"][-1]:.3f} as training enlarges ``W⁽²⁾``:
σ′ ≤ ¼ shrinks the gradient by a fixed factor only while the weights stay small.

![hand vs autograd](hand_vs_autograd.png)

## Where the gradient vanishes: D = 2 … {Dmax} sigmoid layers at initialization

Width 100 ({tr["n_in"]}-100-…-100-{tr["classes"]}), stirpile's default ``nn.Linear`` init
(U(±1/√n_in)), a batch of {results["depth_batch"]} training images, λ = 0; geometric means over
{len({r["seed"] for r in rows})} seed(s). "Measured factor per layer" is the geometric mean of
‖V⁽ˡ⁻¹⁾‖ / ‖V⁽ˡ⁾‖; the bound is ¼ ‖W⁽ˡ⁾‖₂ (spectral norm). The measured factor sits below
the bound for two reasons the bound ignores: the mean σ′ is below its maximum ¼, and
``W⁽ˡ⁾ᵀ V⁽ˡ⁾`` does not line up with ``W⁽ˡ⁾``'s top singular vector.

{depth_table}

![vanishing gradient](vanishing_gradient.png)
"""
    paths.append(write_readme(out, "Lab: backpropagation by hand", body))
    return paths


def _rel_max(a: list[float], b: list[float]) -> float:
    return float(np.max(np.abs(np.subtract(a, b)) / np.abs(b)))


def judge(results: dict[str, Any]) -> dict[str, bool]:
    """The judges of the module docstring, evaluated on ``run``'s results."""
    st, ep = results["training"]["steps"], results["training"]["epochs"]
    rows = results["depth"]
    first = _by_depth(rows, "g_norm")
    depths = sorted(first)
    return {
        "gradients and sensitivities equal to 1e-10 (relative) at every step":
            max(max(st["rel_grad"]), max(st["rel_sens"])) < 1e-10,
        "training curves coincide (per-step and per-epoch losses to 1e-10, same accuracies)":
            _rel_max(st["loss_hand"], st["loss_autograd"]) < 1e-10
            and _rel_max(ep["train_loss_hand"], ep["train_loss_autograd"]) < 1e-10
            and _rel_max(ep["test_loss_hand"], ep["test_loss_autograd"]) < 1e-10
            and ep["test_acc_hand"] == ep["test_acc_autograd"],
        "during training: ‖V⁽¹⁾‖/‖V⁽²⁾‖ ≤ max σ′·‖W⁽²⁾‖₂ at every step":
            all(q <= b for q, b in zip(st["ratio"], st["bound"])),
        "every layer: ‖V⁽ˡ⁻¹⁾‖/‖V⁽ˡ⁾‖ ≤ max σ′·‖W⁽ˡ⁾‖₂ ≤ ¼‖W⁽ˡ⁾‖₂":
            all(q <= s * w <= 0.25 * w for r in rows
                for q, s, w in zip(r["ratio"], r["sp_max"], r["w_spec"][1:])),
        "first layer's gradient shrinks with every extra layer (D = 2 … 10)":
            all(first[a][0] > first[b][0] for a, b in itertools.pairwise(depths)),
        "depth sweep: hand = autograd to 1e-10": max(r["rel_grad"] for r in rows) < 1e-10,
        "scalar example: autograd = hand to 1e-15":
            all(abs(r["hand"] - r["autograd"]) <= 1e-15 for r in results["scalar"]),
    }  # fmt: skip
