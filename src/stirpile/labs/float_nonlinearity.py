"""Floating point makes a deep "linear" network nonlinear near the underflow range.

**Claim.** Float32 arithmetic is not real arithmetic: near the smallest normal number
``min = 2⁻¹²⁶`` results are rounded to a coarse grid (or, with flush-to-zero, to 0), so
addition stops being associative, multiplication stops distributing over it, and a
network made only of matrix products, additions and scalings — a "linear" network — is
a nonlinear function once its activations are pushed near ``min``. Backpropagation does
not see this (autodiff differentiates the linear formula), so it trains the net to what a
linear classifier reaches; evolution strategies (ES), which only evaluate the net, can
exploit the nonlinearity and beat every linear classifier.

**Source.** J. N. Foerster, "Nonlinear computation in deep linear networks", OpenAI blog,
29 Sep 2017. Its examples (with flush-to-zero, ``a = 0.4·min``, ``b = 0.5·min``,
``c = 1/min``): ``(a + b)·c = 0`` but ``a·c + b·c = 0.9``; and ``a = 2.5·min``,
``b = −1.6·min``, ``c = min``: ``(a + b) + c = min`` but ``(b + c) + a = 2.5·min``. Its
network 784-512-512-10 (weights ``N(0, 2/fan_in)``, zero biases, ``scaling = 2¹²⁵``):
``h1 = (x W1 + b1)/scaling``, ``h2 = h1 W2 + b2/scaling``,
``o = (h2 W3 + b3/scaling)·scaling``. Its MNIST numbers: backprop 94% train / 92% test;
ES >99% train / 96.7% test.

**What is run.** (A) The blog's examples under an emulation of flush-to-zero (every
result ``|v| < min`` of an operation set to 0, the inputs kept as written: NumPy on x86
keeps subnormals, so without emulation they give 0.9 both ways), and their analogue in
NumPy's real arithmetic at the smallest subnormal ``s = 2⁻¹⁴⁹``, where ``(x·s)/s`` rounds
``x`` to an integer: the staircase. The "linear" net is checked for homogeneity,
``f(2x) = 2f(x)``, at the blog's scaling and at ordinary scale (``scaling = 1``). (B) The
blog's net, in stirpile, with flush-to-zero emulated after each operation (matrix
product, bias addition, scaling; a real FTZ matmul would also flush its partial sums,
which we do not emulate), trained on MNIST (train5k → t10k) three ways: backprop
(stirpile autograd: the flush is invisible to it, a straight-through identity, as it is to
any autodiff), ES on the same float net, and linear classifiers (ridge least squares with
λ chosen on the test set, which flatters the baseline; softmax regression; the same
784-512-512-10 net at ordinary scale, ``scaling = 1``, trained by the same backprop), the
best of which is the baseline. ES is scaled down from the blog: antithetic pairs, centred-rank
fitness shaping, Adam on the ES gradient, minibatch cross-entropy as the fitness, and
rank-1 perturbations of each weight matrix (``σ u vᵀ``, as in EGGROLL, Sarkar et al.
2025) so that a whole population costs one large matrix product per layer plus a cheap
correction; 100 members and 100 images per step, 1,200 steps (``ES_FULL``; ~7 minutes
on one core) instead of the blog's run.

**How it is judged.** (A) exact: the examples reproduce bit for bit; ``f(2x) ≠ 2f(x)``
(relative error > 10%) at the blog's scaling, ``f(2x) = 2f(x)`` exactly at ordinary
scale. (B) [LABS.md's criterion] the ES-trained float net's test accuracy is ≥ 1 pp above
the best linear classifier; backprop's is not. The numbers are reported beside the
blog's 94/92 (backprop) and >99/96.7 (ES); 96.7% is not expected at this budget.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

SUMMARY = "float32 underflow makes a deep linear net nonlinear; ES exploits it, backprop can't"

MIN = np.float32(2.0**-126)  # float32's smallest normal number (np.finfo(np.float32).tiny)
SUB = np.float32(2.0**-149)  # float32's smallest subnormal number
SCALING = 2.0**125  # the blog's scaling: activations live at ~2⁻¹²⁵ ≈ 2·min
SIZES = (784, 512, 512, 10)
# ES settings: (steps, population, images per step, σ, Adam lr)
ES_FULL = {"steps": 1200, "population": 100, "batch": 100, "sigma": 0.02, "lr": 0.003}
ES_QUICK = {"steps": 50, "population": 40, "batch": 100, "sigma": 0.02, "lr": 0.003}


# -- (A) float arithmetic near underflow ---------------------------------------------------
def ftz(a: np.ndarray) -> np.ndarray:
    """Flush-to-zero, emulated: every ``|v| < min = 2⁻¹²⁶`` becomes 0 (float32 kept).

    >>> ftz(np.float32([3e-39, 2e-38, -1e-39]))
    array([0.e+00, 2.e-38, 0.e+00], dtype=float32)
    """
    a = np.asarray(a, dtype=np.float32)
    return np.where(np.abs(a) < MIN, np.float32(0), a)


def float_examples() -> list[dict[str, Any]]:
    """The blog's examples under emulated FTZ, and their analogues in NumPy's own float32
    arithmetic at the subnormal scale (no emulation). Each row: the expression, the two
    float32 results ``lhs``/``rhs`` (equal in real arithmetic) and, as a multiple of the
    row's ``unit``, what each is."""
    f = np.float32
    F = ftz  # every operation's result flushed
    a, b, c = f(0.4 * 2.0**-126), f(0.5 * 2.0**-126), f(2.0**126)  # inputs kept as written
    rows = [
        {
            "expression": "(a + b)·c vs a·c + b·c",
            "values": "a = 0.4·min, b = 0.5·min, c = 1/min",
            "arithmetic": "FTZ emulated",
            "unit": 1.0,
            "lhs": F(F(a + b) * c),
            "rhs": F(F(a * c) + F(b * c)),
            "blog": "0 vs 0.9",
        }
    ]
    a, b, c = f(2.5 * 2.0**-126), f(-1.6 * 2.0**-126), MIN
    rows.append(
        {
            "expression": "(a + b) + c vs (b + c) + a",
            "values": "a = 2.5·min, b = −1.6·min, c = min",
            "arithmetic": "FTZ emulated",
            "unit": float(MIN),
            "lhs": F(F(a + b) + c),
            "rhs": F(F(b + c) + a),
            "blog": "min vs 2.5·min",
        }
    )
    x, m = f(1.5 * 2.0**-126), MIN
    rows.append(
        {
            "expression": "(x − a) + a vs x",
            "values": "x = 1.5·min, a = min",
            "arithmetic": "FTZ emulated",
            "unit": float(MIN),
            "lhs": F(F(x - m) + m),
            "rhs": x,
            "blog": "—",
        }
    )
    s, a, b = SUB, f(0.4), f(0.5)
    rows.append(
        {
            "expression": "(a·s + b·s)/s vs a + b",
            "values": "a = 0.4, b = 0.5, s = 2⁻¹⁴⁹",
            "arithmetic": "NumPy (subnormals)",
            "unit": 1.0,
            "lhs": (a * s + b * s) / s,
            "rhs": a + b,
            "blog": "(analogue of 0 vs 0.9)",
        }
    )
    rows.append(
        {
            "expression": "(a + b)·s vs a·s + b·s",
            "values": "a = 0.4, b = 0.5, s = 2⁻¹⁴⁹",
            "arithmetic": "NumPy (subnormals)",
            "unit": float(SUB),
            "lhs": (a + b) * s,
            "rhs": a * s + b * s,
            "blog": "—",
        }
    )
    rows.append(
        {
            "expression": "(a·s)·2 vs a·(s·2)",
            "values": "a = 0.4, s = 2⁻¹⁴⁹",
            "arithmetic": "NumPy (subnormals)",
            "unit": float(SUB),
            "lhs": (a * s) * f(2),
            "rhs": a * (s * f(2)),
            "blog": "—",
        }
    )
    x, big = f(1e-8), f(1.0)
    rows.append(
        {
            "expression": "(x + a) − a vs x",
            "values": "x = 10⁻⁸, a = 1",
            "arithmetic": "NumPy (ordinary rounding)",
            "unit": 1e-8,
            "lhs": (x + big) - big,
            "rhs": x,
            "blog": "—",
        }
    )
    for r in rows:
        r["lhs"], r["rhs"] = np.float32(r["lhs"]), np.float32(r["rhs"])
        r["lhs_units"], r["rhs_units"] = float(r["lhs"]) / r["unit"], float(r["rhs"]) / r["unit"]
    return rows


def staircase(x: np.ndarray, scale: float, flush: bool = False) -> np.ndarray:
    """The "linear" map ``x ↦ (x·scale)/scale`` in float32 (``flush``: with emulated FTZ
    after the product). At ordinary scale it is the identity; at ``scale = 2⁻¹⁴⁹`` NumPy
    rounds ``x`` to an integer (halves to even); with FTZ at ``2⁻¹²⁵`` it zeroes
    ``|x| < ½``.

    >>> staircase(np.float32([-1.5, -0.5, 0.4, 0.6, 2.5]), 2.0**-149).tolist()
    [-2.0, -0.0, 0.0, 1.0, 2.0]
    """
    x, s = np.asarray(x, np.float32), np.float32(scale)
    y = x * s
    return (ftz(y) if flush else y) / s


# -- the blog's network, in stirpile --------------------------------------------------------
def flush(t: Any) -> Any:
    """Emulated FTZ on a stirpile tensor, invisible to autograd (derivative 1, as for
    hardware flushing): ``t + (ftz(t) − t).detach()``, exact in float32."""
    return t + (t.where(t.abs() >= float(MIN), 0.0) - t).detach()


def make_net(seed: int = 0, scaling: float = SCALING) -> Any:
    """The blog's 784-512-512-10 "linear" net (stirpile ``nn.Module``): weights
    ``N(0, 2/fan_in)``, zero biases; forward with emulated FTZ after every operation::

        h1 = (x W1ᵀ + b1)/scaling,   h2 = h1 W2ᵀ + b2/scaling,
        o  = (h2 W3ᵀ + b3/scaling)·scaling.

    With ``scaling = 1`` it is an ordinary (exactly homogeneous) linear net.
    """
    import stirpile
    from stirpile import nn
    from stirpile.nn import functional as F

    class FloatLinearNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in itertools.pairwise(SIZES))
            for layer in self.layers:
                nn.init.normal_(layer.weight, 0.0, (2.0 / layer.in_features) ** 0.5)
                nn.init.zeros_(layer.bias)
            self.scaling = float(scaling)

        def forward(self, x: Any) -> Any:
            s = self.scaling
            l1, l2, l3 = self.layers
            h = flush(flush(flush(F.linear(x, l1.weight)) + l1.bias) / s)
            h = flush(flush(F.linear(h, l2.weight)) + flush(l2.bias / s))
            o = flush(flush(F.linear(h, l3.weight)) + flush(l3.bias / s))
            return flush(o * s)

    stirpile.manual_seed(seed)
    return FloatLinearNet()


def get_params(net: Any) -> list[np.ndarray]:
    """``[W1, b1, W2, b2, W3, b3]`` as float32 arrays, weights as ``(in, out)``."""
    out = []
    for layer in net.layers:
        out += [layer.weight.detach().numpy().T.copy(), layer.bias.detach().numpy().copy()]
    return out


def set_params(net: Any, params: list[np.ndarray]) -> None:
    import stirpile

    with stirpile.no_grad():
        for layer, W, b in zip(net.layers, params[::2], params[1::2]):
            layer.weight.copy_(stirpile.tensor(np.ascontiguousarray(W.T)))
            layer.bias.copy_(stirpile.tensor(b))


def predict(net: Any, x: np.ndarray, batch: int = 2000) -> np.ndarray:
    """The net's outputs (float32 array) in batches, without recording."""
    from .common import model_scores

    return model_scores(net, x, batch)


def accuracy(net: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float((predict(net, x).argmax(1) == y).mean())


def homogeneity_error(net: Any, x: np.ndarray) -> float:
    """``‖f(2x) − 2f(x)‖ / ‖2f(x)‖`` over a batch: 0 for a linear map (doubling is exact in
    float32, so an ordinary-scale linear net gives exactly 0)."""
    f1, f2 = predict(net, x), predict(net, 2 * x)
    return float(np.linalg.norm(f2 - 2 * f1) / np.linalg.norm(2 * f1))


def linear_part_accuracy(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the same weights as an exact linear map ``((xW1 + b1)W2 + b2)W3 + b3``
    (float64, no underflow): what the net would do without float effects."""
    W1, b1, W2, b2, W3, b3 = (p.astype(np.float64) for p in params)
    return float(((((x @ W1 + b1) @ W2 + b2) @ W3 + b3).argmax(1) == y).mean())


# -- (B) evolution strategies on the float net ---------------------------------------------
def population_logits(params: list[np.ndarray], x: np.ndarray, noise: list[tuple],
                      sigma: float, scaling: float = SCALING) -> np.ndarray:  # fmt: skip
    """The float net's outputs ``(P, B, 10)`` for ``P = 2H`` members ``θ ± σε_j``
    (``j < H``; plus first, minus second), with emulated FTZ after each operation as in
    :func:`make_net`. ``noise`` holds per layer ``(u, v, e)``: the weight perturbation is
    rank 1, ``ε_W = u vᵀ`` (``u: (H, in)``, ``v: (H, out)``), the bias one ``e: (H, out)``,
    so ``h (W ± σ u vᵀ) = h W ± σ (h·u) vᵀ``: one shared product per layer plus a cheap
    correction, for the whole population at once."""
    s = np.float32(scaling)
    H = len(noise[0][0])
    sign = np.repeat(np.float32([1, -1]), H)[:, None]  # (P, 1)
    h = x  # (B, in), then (P, B, width)
    for k, (u, v, e) in enumerate(noise):
        W, b = params[2 * k], params[2 * k + 1]
        U, V = np.tile(u, (2, 1)), np.float32(sigma) * sign * np.tile(v, (2, 1))
        if h.ndim == 2:  # the first layer: the input is shared by all members
            base, hu = (h @ W)[None], (h @ U.T).T  # (1, B, out), (P, B)
        else:
            base = (h.reshape(-1, h.shape[-1]) @ W).reshape(len(h), h.shape[1], -1)
            hu = np.einsum("pbi,pi->pb", h, U)
        a = ftz(base + hu[:, :, None] * V[:, None, :])  # the matmul, flushed
        bias = b[None] + np.float32(sigma) * sign * np.tile(e, (2, 1))  # (P, out)
        if k == 0:
            h = ftz(ftz(a + bias[:, None, :]) / s)
        else:
            h = ftz(a + ftz(bias / s)[:, None, :])
    return ftz(h * s)


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean cross-entropy over the last-but-one axis: ``(P, B, C), (B,) -> (P,)``."""
    z = logits.astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    lse = np.log(np.exp(z).sum(-1))
    return (lse - z[:, np.arange(len(y)), y]).mean(1)


def train_es(net: Any, data: dict[str, Any], steps: int, population: int, batch: int,
             sigma: float, lr: float, seed: int = 0,
             every: int = 50) -> dict[str, Any]:  # fmt: skip
    """Antithetic ES with centred ranks and Adam: each step draws ``population/2`` noise
    pairs and ``batch`` images; the ES gradient of the expected fitness (utility = centred
    rank of −loss, in [−½, ½]) is ``ĝ = Σ_j (r_j⁺ − r_j⁻) ε_j / (P σ)`` (for a weight matrix
    ``Σ_j w_j u_j v_jᵀ = Uᵀ diag(w) V``), and ``θ ← θ + lr·Adam(ĝ)``. Records train/test
    accuracy of the float net (and of its weights as an exact linear map) every ``every``
    steps."""
    rng = np.random.default_rng(seed)
    params = get_params(net)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    H = population // 2
    xtr, ytr, xte, yte = data["x_train"], data["y_train"], data["x_test"], data["y_test"]
    ranks = np.linspace(-0.5, 0.5, population)  # utility of the worst … best member
    hist: dict[str, list] = {"step": [], "train_acc": [], "test_acc": [], "loss": [],
                             "linear_test_acc": []}  # fmt: skip
    losses = []
    for t in range(1, steps + 1):
        idx = rng.integers(0, len(xtr), batch)
        noise = [tuple(rng.standard_normal((H, n), dtype=np.float32) for n in (i, o, o))
                 for i, o in itertools.pairwise(SIZES)]  # fmt: skip
        loss = cross_entropy(population_logits(params, xtr[idx], noise, sigma), ytr[idx])
        losses.append(float(loss.mean()))
        r = np.empty(population)
        r[np.argsort(-loss)] = ranks  # the lowest loss gets +½
        w = ((r[:H] - r[H:]) / (population * sigma)).astype(np.float32)
        grads = []
        for u, vv, e in noise:
            grads += [(u.T * w) @ vv, w @ e]
        for i, g in enumerate(grads):  # Adam ascent on the ES gradient
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            step = (m[i] / (1 - 0.9**t)) / (np.sqrt(v[i] / (1 - 0.999**t)) + 1e-8)
            params[i] = params[i] + np.float32(lr) * step.astype(np.float32)
        if t % every == 0 or t == steps:
            set_params(net, params)
            hist["step"].append(t)
            hist["loss"].append(float(np.mean(losses[-every:])))
            hist["train_acc"].append(accuracy(net, xtr, ytr))
            hist["test_acc"].append(accuracy(net, xte, yte))
            hist["linear_test_acc"].append(linear_part_accuracy(params, xte, yte))
    set_params(net, params)
    return hist


# -- (B) backprop and the linear classifiers ------------------------------------------------
def train_backprop(net: Any, data: dict[str, Any], epochs: int, seed: int = 0,
                   lr: float = 1e-3) -> dict[str, Any]:  # fmt: skip
    """Adam on cross-entropy through stirpile autograd (the flushes are straight-through:
    autodiff differentiates the linear formula); accuracies of the float net per epoch."""
    from stirpile import optim

    from .common import train_classifier

    hist = train_classifier(net, optim.Adam(net.parameters(), lr=lr), data, epochs=epochs,
                            batch_size=64, seed=seed)  # fmt: skip
    return {"epoch": list(range(1, epochs + 1)), "train_acc": hist["train_acc"],
            "test_acc": hist["test_acc"]}  # fmt: skip


def ridge_classifier(data: dict[str, Any], lams: tuple = (1e-3, 1e-2, 1e-1, 1.0)) -> dict:
    """Least squares on one-hot targets with a bias, ``(XᵀX/n + λI)⁻¹XᵀY/n`` in float64;
    the λ with the best *test* accuracy (a flattering baseline)."""
    X = np.hstack([data["x_train"], np.ones((len(data["x_train"]), 1))]).astype(np.float64)
    Xt = np.hstack([data["x_test"], np.ones((len(data["x_test"]), 1))]).astype(np.float64)
    Y = np.eye(10)[data["y_train"]]
    best: dict[str, Any] = {"test_acc": -1.0}
    for lam in lams:
        W = np.linalg.solve(X.T @ X / len(X) + lam * np.eye(X.shape[1]), X.T @ Y / len(X))
        te = float(((Xt @ W).argmax(1) == data["y_test"]).mean())
        if te > best["test_acc"]:
            tr = float(((X @ W).argmax(1) == data["y_train"]).mean())
            best = {"train_acc": tr, "test_acc": te, "lam": lam}
    return best


def softmax_regression(data: dict[str, Any], epochs: int, seed: int = 0) -> dict[str, Any]:
    """One ``nn.Linear(784, 10)`` with cross-entropy (Adam, lr 10⁻³, batch 64)."""
    import stirpile
    from stirpile import nn, optim

    from .common import train_classifier

    stirpile.manual_seed(seed)
    model = nn.Linear(784, 10)
    hist = train_classifier(model, optim.Adam(model.parameters(), lr=1e-3), data,
                            epochs=epochs, seed=seed)  # fmt: skip
    return {"train_acc": hist["train_acc"][-1], "test_acc": hist["test_acc"][-1]}


# -- the experiment ------------------------------------------------------------------------
def run(quick: bool = False, seed: int = 0, data_dir: Any = None) -> dict[str, Any]:
    from .common import mnist

    results: dict[str, Any] = {"examples": float_examples()}
    xs = np.arange(-3, 3.25, 0.5, dtype=np.float32)
    results["staircase_examples"] = {"x": xs.tolist(), "y": staircase(xs, SUB).tolist()}

    # homogeneity of the "linear" net at init, on 500 random MNIST-like inputs in [0, 1]
    probe = np.random.default_rng(seed).random((500, 784), dtype=np.float32)
    homog = {}
    for name, s in [("blog scaling 2^125 (FTZ)", SCALING), ("ordinary scale (1)", 1.0)]:
        homog[name] = homogeneity_error(make_net(seed, scaling=s), probe)
    results["homogeneity"] = homog
    net = make_net(seed)  # a 1-d slice f(t·x0) of the net at init, for the figure
    t = np.linspace(0, 3, 301, dtype=np.float32)
    ray = t[:, None] * probe[:1]
    results["slice"] = {"t": t.tolist(), "float": predict(net, ray)[:, :3].tolist(),
                        "linear": predict(make_net(seed, 1.0), ray)[:, :3].tolist()}  # fmt: skip

    try:
        data = mnist(data_dir, n_train=1000 if quick else None, n_test=2000 if quick else None,
                     seed=seed)  # fmt: skip
    except FileNotFoundError as e:
        results["mnist_skipped"] = str(e)
        return results
    xtr, ytr, xte, yte = data["x_train"], data["y_train"], data["x_test"], data["y_test"]
    results["setup"] = {"n_train": len(xtr), "n_test": len(xte), "split": data["split"]}
    results["ridge"] = ridge_classifier(data)
    results["softmax"] = softmax_regression(data, epochs=5 if quick else 30, seed=seed)
    epochs = 3 if quick else 20
    lin_net = make_net(seed, scaling=1.0)  # the same net at ordinary scale: truly linear
    train_backprop(lin_net, data, epochs=epochs, seed=seed)
    results["linear_net"] = {"train_acc": accuracy(lin_net, xtr, ytr),
                             "test_acc": accuracy(lin_net, xte, yte)}  # fmt: skip
    best = max(results[k]["test_acc"] for k in ("ridge", "softmax", "linear_net"))
    results["best_linear_test_acc"] = best

    bp_net = make_net(seed)
    bp = train_backprop(bp_net, data, epochs=epochs, seed=seed)
    bp |= {"final_train_acc": accuracy(bp_net, xtr, ytr), "final_test_acc": bp["test_acc"][-1],
           "linear_test_acc": linear_part_accuracy(get_params(bp_net), xte, yte),
           "epochs": epochs}  # fmt: skip
    results["backprop"] = bp

    cfg = ES_QUICK if quick else ES_FULL
    es_net = make_net(seed)
    es = train_es(es_net, data, seed=seed, every=25 if quick else 100, **cfg)
    es |= {"final_train_acc": es["train_acc"][-1], "final_test_acc": es["test_acc"][-1],
           "init_test_acc": accuracy(make_net(seed), xte, yte), "config": cfg}  # fmt: skip
    results["es"] = es
    results["es_margin_pp"] = 100 * (es["final_test_acc"] - best)
    results["backprop_margin_pp"] = 100 * (bp["final_test_acc"] - best)
    return results


# -- the report ----------------------------------------------------------------------------
def report(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    from ..train.plots import _plt, _save
    from .common import markdown_table, output_dir, write_readme

    plt = _plt()
    out = output_dir(out_dir)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    x = np.linspace(-3, 3, 1201, dtype=np.float32)
    axes[0].plot(x, x, color="0.7", lw=1, label="real arithmetic (scale 1)")
    for s, lab in [(2.0**-147, "(x·2⁻¹⁴⁷)/2⁻¹⁴⁷"), (2.0**-149, "(x·2⁻¹⁴⁹)/2⁻¹⁴⁹")]:
        axes[0].plot(x, staircase(x, s), label=lab)
    axes[0].set_title("NumPy float32, subnormals kept: a staircase")
    axes[1].plot(x, x, color="0.7", lw=1, label="real arithmetic")
    axes[1].plot(x, staircase(x, 2.0**-125, flush=True), label="FTZ((x·2⁻¹²⁵))·2¹²⁵")
    axes[1].set_title("flush-to-zero at the blog's scaling: a dead zone")
    for ax in axes[:2]:
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)")
    sl = results["slice"]
    fl, li = np.asarray(sl["float"]), np.asarray(sl["linear"])
    for k in range(fl.shape[1]):
        line = axes[2].plot(sl["t"], fl[:, k], label=f"logit {k}, scaling 2¹²⁵")[0]
        axes[2].plot(sl["t"], li[:, k], ls=":", color=line.get_color(), label=f"logit {k}, scale 1")
    axes[2].set_xlabel("t")
    axes[2].set_ylabel("f(t·x₀)")
    axes[2].set_title("the 784-512-512-10 'linear' net at init, along a ray")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    paths = [_save(fig, out / "staircase.png")]

    ex = markdown_table(["expression", "values", "arithmetic", "left", "right", "blog"],
                        [[r["expression"], r["values"], r["arithmetic"],
                          f"{float(r['lhs']):.9g}", f"{float(r['rhs']):.9g}", r["blog"]]
                         for r in results["examples"]])  # fmt: skip
    hom = markdown_table(["net", "‖f(2x) − 2f(x)‖ / ‖2f(x)‖"],
                         [[k, f"{v:.3g}"] for k, v in results["homogeneity"].items()])  # fmt: skip
    sc = results["staircase_examples"]
    body = f"""
{__doc__.split(chr(10) + chr(10))[1]}

## (A) Float arithmetic near underflow

(min = 2⁻¹²⁶ = {float(MIN):.9g}; left and right are equal in real arithmetic.)

{ex}

In NumPy's own arithmetic, `(x·2⁻¹⁴⁹)/2⁻¹⁴⁹` for x = {", ".join(f"{v:g}" for v in sc["x"])}
gives {", ".join(f"{v:g}" for v in sc["y"])}.

Homogeneity of the blog's net at init (500 random inputs in [0, 1]):

{hom}

![staircase](staircase.png)
"""
    if "mnist_skipped" in results:
        body += f"\nMNIST part skipped: {results['mnist_skipped']}\n"
        paths.append(write_readme(out, "Lab: nonlinear computation in deep linear networks", body))
        return paths

    es, bp, setup = results["es"], results["backprop"], results["setup"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(es["step"], es["test_acc"], label="ES, float net (test)")
    ax.plot(es["step"], es["train_acc"], ls="--", label="ES, float net (train)")
    ax.plot(
        es["step"], es["linear_test_acc"], ls=":", label="ES weights as an exact linear map (test)"
    )
    ax.axhline(
        results["best_linear_test_acc"], color="k", lw=1, label="best linear classifier (test)"
    )
    ax.axhline(bp["final_test_acc"], color="C3", lw=1, ls="-.", label="backprop, float net (test)")
    ax.set_xlabel("ES step")
    ax.set_ylabel("accuracy")
    ax.set_ylim(max(0.0, min(es["test_acc"]) - 0.05), 1.0)
    ax.set_title("the float 'linear' net trained by ES vs backprop")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(_save(fig, out / "training.png"))

    rows = [
        ["ridge least squares (λ = {})".format(results["ridge"]["lam"]),
         f"{results['ridge']['train_acc']:.1%}", f"{results['ridge']['test_acc']:.1%}", "—", "—"],
        ["softmax regression", f"{results['softmax']['train_acc']:.1%}",
         f"{results['softmax']['test_acc']:.1%}", "—", "—"],
        [f"linear net at scale 1, backprop ({bp['epochs']} epochs)",
         f"{results['linear_net']['train_acc']:.1%}", f"{results['linear_net']['test_acc']:.1%}",
         "(same)", "—"],
        [f"float net, backprop ({bp['epochs']} epochs)", f"{bp['final_train_acc']:.1%}",
         f"{bp['final_test_acc']:.1%}", f"{bp['linear_test_acc']:.1%}", "94% / 92%"],
        [f"float net, ES ({es['config']['steps']} steps × {es['config']['population']})",
         f"{es['final_train_acc']:.1%}", f"{es['final_test_acc']:.1%}",
         f"{es['linear_test_acc'][-1]:.1%}", ">99% / 96.7%"],
    ]  # fmt: skip
    table = markdown_table(["model", "train acc", "test acc",
                            "same weights, exact linear map (test)", "blog (train / test)"],
                           rows)  # fmt: skip
    verdict_es = "yes" if results["es_margin_pp"] >= 1 else "no"
    nl_pp = 100 * (es["final_test_acc"] - es["linear_test_acc"][-1])
    bp_nl_pp = 100 * (bp["final_test_acc"] - bp["linear_test_acc"])
    verdict_bp = "no" if results["backprop_margin_pp"] < 1 else "yes"
    body += f"""
## (B) MNIST: {setup["n_train"]:,} training ({setup["split"]}), {setup["n_test"]:,} test images

{table}

ES − best linear classifier: {results["es_margin_pp"]:+.1f} pp (judge: ≥ +1 pp → {verdict_es});
backprop − best linear classifier: {results["backprop_margin_pp"]:+.1f} pp (judge: below +1 pp →
{"passes" if verdict_bp == "no" else "fails"}). ES started from the blog's initialisation
({es["init_test_acc"]:.1%} test). Does ES use the float nonlinearity? Its float net against
the same weights as an exact linear map: {nl_pp:+.1f} pp on test (backprop's: {bp_nl_pp:+.1f}
pp); a positive gap would be accuracy that only the float effects provide.

![training](training.png)

{__doc__.split(chr(10) + chr(10))[4]}
"""
    paths.append(write_readme(out, "Lab: nonlinear computation in deep linear networks", body))
    return paths
