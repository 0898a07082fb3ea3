"""A non-vacuous PAC-Bayes bound for an MLP on binary MNIST (Dziugaite & Roy 2017).

**Claim.** Classical uniform-convergence bounds are vacuous (> 1) for networks with far more
parameters than training images, yet a PAC-Bayes bound on a *stochastic* network — a Gaussian
posterior ``Q = N(w, diag σ²)`` around the SGD solution, with the prior ``P = N(w₀, λI)``
centred at the random initialisation — can be optimised until it is non-vacuous: the paper gets
0.161 on binary MNIST (0–4 against 5–9) for a 784-600-1 MLP trained on 55,000 images. The same
procedure on randomly labelled images gives a vacuous bound: the bound tracks whether there is
something to generalise.

**Source.** G. K. Dziugaite, D. M. Roy, "Computing Nonvacuous Generalization Bounds for Deep
(Stochastic) Neural Networks with Many More Parameters than Training Data", UAI 2017,
arXiv:1703.11008 (Table 1: T-600, 0.161); the authors' code gkdziugaite/pacbayes-opt for the
recipe (SGD momentum 0.9, lr 0.01, batch 100; RMSProp lr 0.001 on the bound; δ = 0.025,
b = 100, c = 0.1).

**What is run.** Labels ``y = +1`` for digits 5–9, ``−1`` for 0–4; an MLP 784-600-1 (ReLU)
trained by SGD (stirpile) on the logistic loss / log 2. Then, with stirpile's autograd through
the reparameterised posterior ``w + σ ⊙ ε`` (one noise draw per batch), RMSProp minimises the
surrogate of Dziugaite & Roy's objective over ``(w, log σ, log √λ)``::

    Ê_surrogate(Q) + √( B / (2(m − 1)) ),
    B = KL(Q‖P) + log(π² m / (6δ)) + 2 log(b · log(c/λ)),
    KL(Q‖P) = ½ Σ [ (σ² + (w − w₀)²)/λ − 1 + log λ − log σ² ],

starting from ``σ = 2|w|`` (LABS.md's reading of the code; ``|w|`` floored at 10⁻⁴) and
``√λ = e⁻³``. ``λ`` is then rounded onto the union-bound grid ``λ_j = c·e^{−j/b}``. The final
bound is ``kl⁻¹(ê⁺, B/(m − 1))`` (Langford–Seeger, confidence ``1 − δ − δ′``), where
``ê⁺ = kl⁻¹(ê_n, log(2/δ′)/n)`` is the Monte-Carlo upper confidence bound on the stochastic
net's training error (δ′ = 0.01). ``ê_n`` is measured with the *local reparameterisation*:
each (image, pass) draws its own weights (the Gaussian pre-activations are sampled exactly),
so the ``n`` = images × passes indicators are independent, and the Chernoff ``kl`` bound
applies to their mean just as it does to the paper's ``n`` whole-network draws — at the cost
of two matrix products per pass instead of one network per draw. The same pipeline is run on
the training images with their labels randomly permuted.

**Scale.** The offline data are the 5,000-image ``train5k`` split (the lab uses all 60,000
training images when ``--data-dir`` has them); the bound's complexity term shrinks like
``1/m``, so ours is looser than the paper's (m = 55,000) for that reason alone. The full run is
scaled down to fit ~8 minutes on a busy 2-core machine: 20 SGD epochs, 50 epochs of bound
optimisation (not 1,000; lr × 0.1 for the last quarter) with the variances' learning rate
raised to 10⁻² to make up for the ~200× fewer steps, 50 evaluation passes. The quick version
(tests) uses 2,000 images and a 784-100-1 net.

**How it is judged.** The bound is finite and non-vacuous (< 0.5), above the stochastic net's
test error (a sanity check), with the SNN test error ≤ 0.05 (LABS.md); the random-label run's
bound is vacuous (≥ 0.5) or much larger.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

SUMMARY = "PAC-Bayes bound of a 784-600-1 MLP on binary MNIST, optimised until non-vacuous"

DELTA, DELTA_MC = 0.025, 0.01  # confidence of the PAC-Bayes bound and of the Monte-Carlo term
B_GRID, C_GRID = 100, 0.1  # prior variances λ_j = c·exp(−j/b), j = 1, 2, …


# -- the kl divergence between Bernoullis and its inverse ------------------------------------
def kl_bernoulli(q: Any, p: Any) -> np.ndarray:
    """``kl(q‖p) = q log(q/p) + (1 − q) log((1 − q)/(1 − p))``, elementwise (``0 log 0 = 0``)."""
    q, p = np.asarray(q, np.float64), np.clip(np.asarray(p, np.float64), 1e-300, 1 - 1e-16)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(q > 0, q * np.log(q / p), 0.0)
        b = np.where(q < 1, (1 - q) * np.log((1 - q) / (1 - p)), 0.0)
    return a + b


def kl_inverse(q: Any, c: Any, iters: int = 100) -> np.ndarray:
    """``kl⁻¹(q, c) = max{p ∈ [q, 1] : kl(q‖p) ≤ c}``, the upper confidence bound on a
    Bernoulli mean from an empirical mean ``q`` and a budget ``c`` (vectorised bisection;
    ``kl(q‖·)`` increases on ``[q, 1]``).

    >>> float(np.round(kl_inverse(0.0, np.log(2)), 6))  # kl(0‖p) = −log(1 − p)
    0.5
    """
    q, c = np.broadcast_arrays(np.asarray(q, np.float64), np.asarray(c, np.float64))
    lo, hi = q.copy(), np.ones_like(q)
    for _ in range(iters):
        mid = (lo + hi) / 2
        ok = kl_bernoulli(q, mid) <= c
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return lo


# -- data and the network ------------------------------------------------------------------
def binary_labels(digits: np.ndarray) -> np.ndarray:
    """``+1`` for digits 5–9, ``−1`` for 0–4 (float32)."""
    return np.where(np.asarray(digits) >= 5, 1.0, -1.0).astype(np.float32)


def logistic_surrogate(f: Any, y: Any) -> Any:
    """``mean log(1 + e^{−y f}) / log 2``: an upper bound of the 0–1 error (1 at ``f = 0``)."""
    from stirpile.nn import functional as F

    return F.softplus(-y * f).mean() / math.log(2)


def forward(params: list[Any], x: Any) -> Any:
    """The MLP 784-600-1 on ``params = [W1, b1, W2, b2]``: one logit per image."""
    from stirpile.nn import functional as F

    W1, b1, W2, b2 = params
    return F.linear(F.relu(F.linear(x, W1, b1)), W2, b2).reshape(-1)


def train_sgd(x: np.ndarray, y: np.ndarray, epochs: int, seed: int,
              hidden: int = 600) -> dict[str, Any]:  # fmt: skip
    """SGD (lr 0.01, momentum 0.9, batch 100) on the logistic loss / log 2 from a seeded
    PyTorch-default initialisation; returns the initial and trained weights (NumPy)."""
    import stirpile
    from stirpile import nn, optim

    stirpile.manual_seed(seed)
    net = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    params = [net[0].weight, net[0].bias, net[2].weight, net[2].bias]
    w0 = [p.detach().numpy().copy() for p in params]
    opt = optim.SGD(params, lr=0.01, momentum=0.9)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for idx in np.array_split(rng.permutation(len(x)), max(1, len(x) // 100)):
            loss = logistic_surrogate(forward(params, stirpile.tensor(x[idx])),
                                      stirpile.tensor(y[idx]))  # fmt: skip
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        losses.append(total / len(x))
    return {"w0": w0, "w": [p.detach().numpy().copy() for p in params], "loss": losses}


def gaussian_kl(mu: list[Any], log_sigma: list[Any], w0: list[Any], log_std_prior: Any) -> Any:
    """``KL(N(μ, diag σ²) ‖ N(w₀, λI))`` with ``λ = e^{2·log_std_prior}``; works on stirpile
    tensors (differentiable) and on NumPy arrays alike."""
    lam = (2 * log_std_prior).exp() if hasattr(log_std_prior, "exp") else np.exp(2 * log_std_prior)
    log_lam = 2 * log_std_prior
    total = 0.0
    for m_, s_, p_ in zip(mu, log_sigma, w0, strict=True):
        var = (2 * s_).exp() if hasattr(s_, "exp") else np.exp(2 * s_)
        total = total + ((var + (m_ - p_) ** 2) / lam - 1 + log_lam - 2 * s_).sum()
    return 0.5 * total


def bound_extra(m: int, log_std_prior: Any) -> Any:
    """``log(π² m / (6δ)) + 2 log(b · log(c/λ))``: the confidence and union-bound terms of B."""
    log_c_over_lam = math.log(C_GRID) - 2 * log_std_prior
    log_term = log_c_over_lam.log() if hasattr(log_c_over_lam, "log") else np.log(log_c_over_lam)
    return math.log(math.pi**2 * m / (6 * DELTA)) + 2 * (math.log(B_GRID) + log_term)


def optimize_bound(x: np.ndarray, y: np.ndarray, sgd: dict[str, Any], epochs: int,
                   seed: int) -> dict[str, Any]:  # fmt: skip
    """RMSProp (lr 10⁻³, × 0.1 for the last quarter) on the surrogate PAC-Bayes objective,
    autograd through ``w + σ ⊙ ε``; one noise draw per batch of 100."""
    import stirpile
    from stirpile import optim

    stirpile.manual_seed(seed + 1)
    m = len(x)
    w0 = [stirpile.tensor(a) for a in sgd["w0"]]
    mu = [stirpile.tensor(a).requires_grad_() for a in sgd["w"]]
    log_sigma = [stirpile.tensor(np.log(2 * np.maximum(np.abs(a), 1e-4))).requires_grad_()
                 for a in sgd["w"]]  # fmt: skip
    log_std_prior = stirpile.tensor(-3.0).requires_grad_()
    # the paper takes ~5·10⁵ RMSProp steps at lr 10⁻³; we take ~10³, so the variances (log σ,
    # log √λ) get lr 10⁻² to travel as far (the means keep 10⁻³)
    opt = optim.RMSprop([{"params": mu, "lr": 1e-3},
                         {"params": [*log_sigma, log_std_prior], "lr": 1e-2}])  # fmt: skip
    rng = np.random.default_rng(seed + 1)
    history: dict[str, list[float]] = {"objective": [], "surrogate": [], "kl": []}
    for epoch in range(epochs):
        if epoch == epochs - max(1, epochs // 4):
            for g in opt.param_groups:
                g["lr"] *= 0.1
        sums = np.zeros(3)
        for idx in np.array_split(rng.permutation(m), max(1, m // 100)):
            w = [mu_ + s_.exp() * stirpile.randn_like(mu_) for mu_, s_ in zip(mu, log_sigma)]
            surrogate = logistic_surrogate(forward(w, stirpile.tensor(x[idx])),
                                           stirpile.tensor(y[idx]))  # fmt: skip
            kl = gaussian_kl(mu, log_sigma, w0, log_std_prior)
            objective = surrogate + ((kl + bound_extra(m, log_std_prior)) / (2 * (m - 1))).sqrt()
            opt.zero_grad()
            objective.backward()
            opt.step()
            sums += np.array([float(objective), float(surrogate), float(kl)]) * len(idx)
        for key, v in zip(history, sums / m):
            history[key].append(float(v))
    return {"mu": [p.detach().numpy() for p in mu],
            "sigma": [np.exp(s.detach().numpy()) for s in log_sigma],
            "log_std_prior": float(log_std_prior), "history": history}  # fmt: skip


def snn_errors(x: np.ndarray, y: np.ndarray, mu: list[np.ndarray], sigma: list[np.ndarray],
               passes: int, seed: int, batch: int = 2500) -> tuple[int, int]:  # fmt: skip
    """Misclassifications of the stochastic net, each image in each pass under its own weight
    draw (local reparameterisation: exact Gaussian pre-activations); ``(errors, draws)``."""
    W1, b1, W2, b2 = (a.astype(np.float64) for a in mu)
    S1, s1, S2, s2 = ((a.astype(np.float64)) ** 2 for a in sigma)
    rng = np.random.default_rng(seed)
    errors = 0
    for start in range(0, len(x), batch):
        xb, yb = x[start : start + batch].astype(np.float64), y[start : start + batch]
        h_mean, h_std = xb @ W1.T + b1, np.sqrt(xb**2 @ S1.T + s1)
        for _ in range(passes):
            a = np.maximum(h_mean + h_std * rng.standard_normal(h_mean.shape), 0)
            f_mean, f_std = a @ W2.T + b2, np.sqrt(a**2 @ S2.T + s2)
            f = (f_mean + f_std * rng.standard_normal(f_mean.shape)).reshape(-1)
            errors += int((np.where(f > 0, 1.0, -1.0) != yb).sum())
    return errors, passes * len(x)


def final_bound(x: np.ndarray, y: np.ndarray, post: dict[str, Any], w0: list[np.ndarray],
                passes: int, seed: int) -> dict[str, Any]:  # fmt: skip
    """Round ``λ`` onto the grid, then ``kl⁻¹(kl⁻¹(ê_n, log(2/δ′)/n), B/(m − 1))``."""
    m = len(x)
    j = max(1, round(B_GRID * (math.log(C_GRID) - 2 * post["log_std_prior"])))
    log_std = 0.5 * (math.log(C_GRID) - j / B_GRID)
    log_sigma = [np.log(s.astype(np.float64)) for s in post["sigma"]]
    mu = [a.astype(np.float64) for a in post["mu"]]
    kl = float(gaussian_kl(mu, log_sigma, [a.astype(np.float64) for a in w0], log_std))
    B = kl + float(bound_extra(m, log_std))
    errors, n = snn_errors(x, y, post["mu"], post["sigma"], passes, seed)
    e_hat = errors / n
    e_upper = float(kl_inverse(e_hat, math.log(2 / DELTA_MC) / n))
    bound = float(kl_inverse(e_upper, B / (m - 1)))
    pinsker = e_upper + math.sqrt(B / (2 * (m - 1)))
    return {"kl": kl, "B": B, "j": j, "prior_std": math.exp(log_std), "snn_train_error": e_hat,
            "snn_train_upper": e_upper, "mc_draws": n, "bound": bound,
            "pinsker_bound": pinsker}  # fmt: skip


def deterministic_error(x: np.ndarray, y: np.ndarray, w: list[np.ndarray]) -> float:
    W1, b1, W2, b2 = w
    f = (np.maximum(x @ W1.T + b1, 0) @ W2.T + b2).reshape(-1)
    return float((np.where(f > 0, 1.0, -1.0) != y).mean())


def pipeline(x: np.ndarray, y: np.ndarray, xte: np.ndarray, yte: np.ndarray,
             sgd_epochs: int, pb_epochs: int, passes: int, seed: int,
             hidden: int = 600) -> dict[str, Any]:  # fmt: skip
    """SGD, then the bound's optimisation, then the final bound and the test errors."""
    sgd = train_sgd(x, y, sgd_epochs, seed, hidden)
    post = optimize_bound(x, y, sgd, pb_epochs, seed)
    out = final_bound(x, y, post, sgd["w0"], passes, seed)
    te_err, te_n = snn_errors(xte, yte, post["mu"], post["sigma"], max(1, passes // 2), seed + 7)
    return out | {
        "sgd_loss": sgd["loss"], "history": post["history"],
        "train_error": deterministic_error(x, y, sgd["w"]),
        "test_error": deterministic_error(xte, yte, sgd["w"]),
        "snn_test_error": te_err / te_n,
        "n_params": int(sum(a.size for a in sgd["w"])),
        "dist_to_init": float(np.sqrt(sum(((a - b) ** 2).sum()
                                          for a, b in zip(post["mu"], sgd["w0"])))),
        "mean_sigma": float(np.mean(np.concatenate([s.ravel() for s in post["sigma"]]))),
    }  # fmt: skip


# -- the experiment ------------------------------------------------------------------------
def run(quick: bool = False, seed: int = 0, data_dir: Any = None) -> dict[str, Any]:
    from .common import mnist

    data = mnist(data_dir, n_train=2000 if quick else None, n_test=2000 if quick else None,
                 seed=seed)  # fmt: skip
    x, xte = data["x_train"], data["x_test"]
    y, yte = binary_labels(data["y_train"]), binary_labels(data["y_test"])
    # quick: 2,000 images and a 784-100-1 net, only to exercise the pipeline in a test
    hidden, sgd_epochs, pb_epochs, passes = (100, 8, 20, 20) if quick else (600, 20, 50, 50)
    true = pipeline(x, y, xte, yte, sgd_epochs, pb_epochs, passes, seed, hidden)
    shuffled = np.random.default_rng(seed + 100).permutation(y)
    rand = pipeline(x, shuffled, xte, yte, sgd_epochs, pb_epochs, passes, seed, hidden)
    return {"true": true, "random": rand,
            "setup": {"m": len(x), "n_test": len(xte), "split": data["split"], "hidden": hidden,
                      "sgd_epochs": sgd_epochs, "pb_epochs": pb_epochs, "passes": passes,
                      "quick": quick}}  # fmt: skip


# -- the report ----------------------------------------------------------------------------
def report(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    from ..train.plots import _plt, _save
    from .common import markdown_table, output_dir, write_readme

    plt = _plt()
    out = output_dir(out_dir)
    setup, runs = results["setup"], {"true labels": results["true"],
                                     "random labels": results["random"]}  # fmt: skip
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for label, r in runs.items():
        h = r["history"]
        t = np.arange(1, len(h["objective"]) + 1)
        axes[0].plot(np.arange(1, len(r["sgd_loss"]) + 1), r["sgd_loss"], marker=".", label=label)
        axes[1].plot(t, h["objective"], marker=".", label=f"{label}: objective")
        axes[1].plot(t, h["surrogate"], ls="--", label=f"{label}: surrogate loss")
        axes[2].plot(t, h["kl"], marker=".", label=label)
    axes[0].set_title("SGD: logistic loss / log 2")
    axes[0].set_xlabel("SGD epoch")
    axes[1].set_title("bound optimisation (RMSProp)")
    axes[2].set_title("KL(Q‖P)")
    axes[2].set_yscale("log")
    for ax in axes[1:]:
        ax.set_xlabel("PAC-Bayes epoch")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths = [_save(fig, out / "pac_bayes.png")]

    rows = [[label, r["train_error"], r["test_error"], r["snn_train_error"],
             r["snn_test_error"], f"{r['kl']:.0f}", f"{r['prior_std']:.3g}",
             f"**{r['bound']:.3f}**", r["pinsker_bound"]]
            for label, r in runs.items()]  # fmt: skip
    table = markdown_table(["labels", "train err (SGD net)", "test err (SGD net)",
                            "SNN train err", "SNN test err", "KL(Q‖P)", "prior std √λ",
                            "PAC-Bayes bound (kl⁻¹)", "bound (Pinsker form)"], rows)  # fmt: skip
    t = results["true"]
    rb = results["random"]["bound"]
    judges = [["bound < 0.5 (non-vacuous)", f"{t['bound']:.3f}", t["bound"] < 0.5],
              ["bound > SNN test error", f"{t['bound']:.3f} vs {t['snn_test_error']:.3f}",
               t["bound"] > t["snn_test_error"]],
              ["SNN test error ≤ 0.05", f"{t['snn_test_error']:.3f}", t["snn_test_error"] <= 0.05],
              ["random labels: bound ≥ 0.5", f"{rb:.3f}", rb >= 0.5],
              ["stretch: bound ≤ 0.26 (full data only)", f"{t['bound']:.3f}",
               t["bound"] <= 0.26]]  # fmt: skip
    kl_hist = t["history"]["kl"]
    k0 = kl_hist[max(0, len(kl_hist) - 11)]
    state = "still falling: not converged" if kl_hist[-1] < 0.9 * k0 else "levelling off"
    reading = (f"**Reading.** The true-label bound is {t['bound']:.3f}; the random-label "
               f"bound {rb:.3f}. The KL (averaged over each epoch of the optimisation) went "
               f"from {k0:.0f} to {kl_hist[-1]:.0f} over the last {min(10, len(kl_hist) - 1)} "
               f"epochs ({state}), and with m = {setup['m']:,} a bound below 0.5 needs "
               f"B ≲ {0.37 * setup['m']:.0f} at an SNN training error near 0.1 "
               "(kl(0.1‖0.5) ≈ 0.37). A random-label bound cannot fall below ~0.5 (its "
               "training error stays ~0.5), whatever the optimisation; the true-label bound "
               "can, given more images or more optimisation.")  # fmt: skip
    body = f"""
{__doc__.split(chr(10) + chr(10))[1]}

## Result: m = {setup["m"]:,} training images ({setup["split"]}), {setup["n_test"]:,} test images

{table}

The network has {t["n_params"]:,} parameters, {t["n_params"] / setup["m"]:.0f}× the training
images. The bound holds with probability ≥ {1 - DELTA - DELTA_MC:.3f} (δ = {DELTA}, δ′ =
{DELTA_MC}); the Monte-Carlo term uses n = {t["mc_draws"]:,} independent draws
({setup["passes"]} passes). Schedule: {setup["sgd_epochs"]} SGD epochs, {setup["pb_epochs"]}
epochs of bound optimisation.

**Against the paper.** Dziugaite & Roy report **0.161** for T-600 with 55,000 training images
(SNN test error ≈ 0.03, recalled); this run has m = {setup["m"]:,}. The docs numbers come from
the offline 5,000-image `train5k` split: the complexity term `B/(m − 1)` is about 11× larger
than with 55,000 images, so a looser bound is expected; give `--data-dir` with the full MNIST
training set to run at the paper's scale. Our bound optimisation is also ~20× shorter than the
paper's 1,000 epochs: the KL column shows whether it had converged.

{markdown_table(["judge (LABS.md)", "measured", "passed"], judges)}

{reading}

![training](pac_bayes.png)

{__doc__[__doc__.index("**Source.**") :]}
"""
    paths.append(write_readme(out, "Lab: a non-vacuous PAC-Bayes bound (Dziugaite & Roy 2017)",
                              body))  # fmt: skip
    return paths
