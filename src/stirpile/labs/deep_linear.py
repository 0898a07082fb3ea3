"""Deep linear networks learn one singular mode at a time, strongest first.

**Claim.** Train a linear network ``W_N ⋯ W_1`` on data labelled by a linear teacher
``T = U diag(s) Vᵀ``. In the teacher's SVD basis the learning splits into independent
scalar *modes* ``u_a(t) = U[:, a]ᵀ (W_N ⋯ W_1)(t) V[:, a]``. A shallow net (``N = 1``)
learns every mode on one time scale τ (an exponential approach); a deep net learns each
mode along a sigmoid whose time to learn is ``∝ 1/s_a``: strong modes first, weak modes
much later. With the "decoupled" initial condition the curves are known exactly.

**Source.** A. M. Saxe, J. L. McClelland, S. Ganguli, "Exact solutions to the nonlinear
dynamics of learning in deep linear neural networks", ICLR 2014; the lectures' "deep
linear networks learn in interesting ways".

**The theory, in this lab's units.** Inputs are white (``XᵀX/n = I``, from
``synthetic.linear_teacher``) and ``Y = X Tᵀ``. With the loss
``L = 1/(2n) Σ_i ‖y_i − W x_i‖²`` (half the *summed* squared error per sample — not
``F.mse_loss``, which also averages over outputs) the gradient with respect to the
end-to-end map is simply ``∂L/∂W = W − T``. Gradient descent with step η, written as a
flow in units of steps, is ``τ dW_l/dt = −∂L/∂W_l`` with **τ = 1/η steps**. With balanced,
decoupled layers (every ``W_l`` maps mode ``a`` to mode ``a`` with the same strength
``u_a^(1/N)``) each mode obeys ``τ du/dt = N u^(2 − 2/N) (s − u)``:

* ``N = 1``: ``u(t) = s (1 − e^(−t/τ)) + u0 e^(−t/τ)``; ``t_half = τ ln 2`` for every mode;
* ``N = 2``: ``u(t) = s e^(2st/τ) / (e^(2st/τ) − 1 + s/u0)``;
  ``t_half = τ/(2s) · ln(s/u0 − 1)``, so ``t_half · s`` depends on ``s`` only through the log;
* ``N ≥ 3``: no closed form here; the lab integrates the scalar equation numerically.

(``t_half`` is the first step where ``u ≥ s/2``.) Discrete steps follow the flow up to
``O(η s)``, so η is kept small.

**How it is judged.** The relative error ``max_{a,t} |u_sim − u_theory| / s_a`` for the
decoupled runs must be below 10%; for deep nets the modes are learned in order of
``s`` with ``t_half · s`` roughly constant (within the log factor above), while the
shallow net's ``t_half`` is the same for every mode. A deep net from *random* small
weights (not decoupled) is shown against the same curves: it follows them
qualitatively (sigmoids, strongest first), not exactly.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

SUMMARY = "deep linear nets learn SVD modes one by one, strong first (Saxe et al. 2014)"

S = [3.0, 2.0, 1.0, 0.5]  # the teacher's singular values
N_IN, N_HIDDEN, N_OUT = 8, 8, 6
U0 = 1e-3  # initial strength of every mode (small: learning starts near the saddle at 0)


# -- the theory ---------------------------------------------------------------------------
def theory(t: np.ndarray, s: float, u0: float, tau: float, depth: int) -> np.ndarray:
    """Mode strength ``u(t)`` of a ``depth``-layer linear net from decoupled init."""
    t = np.asarray(t, dtype=np.float64)
    if depth == 1:
        e = np.exp(-t / tau)
        return s * (1 - e) + u0 * e
    if depth == 2:
        e = np.exp(2 * s * t / tau)
        return s * e / (e - 1 + s / u0)
    return theory_ode(t, s, u0, tau, depth)


def theory_ode(t: np.ndarray, s: float, u0: float, tau: float, depth: int) -> np.ndarray:
    """``τ du/dt = N u^(2−2/N) (s − u)`` integrated by Runge-Kutta 4 (10 sub-steps per
    step of the evenly spaced times ``t``, which start at 0)."""

    def f(u: float) -> float:
        return depth * u ** (2 - 2 / depth) * (s - u) / tau

    out, u, h = np.empty(len(t)), u0, (t[1] - t[0]) / 10
    for i in range(len(t)):
        out[i] = u
        for _ in range(10):
            k1 = f(u)
            k2 = f(u + h / 2 * k1)
            k3 = f(u + h / 2 * k2)
            u = u + h / 6 * (k1 + 2 * k2 + 2 * k3 + f(u + h * k3))
    return out


def t_half(u: np.ndarray, s: float) -> int | None:
    """First step where the mode has reached half its target (None if never)."""
    hit = np.nonzero(np.asarray(u) >= s / 2)[0]
    return int(hit[0]) if len(hit) else None


# -- the simulation, with stirpile ---------------------------------------------------------
def linear_net(depth: int) -> Any:
    """``W_depth ⋯ W_1``: Linear layers without biases or nonlinearities."""
    from .. import nn

    sizes = [N_IN] + [N_HIDDEN] * (depth - 1) + [N_OUT]
    return nn.Sequential(*[nn.Linear(a, b, bias=False) for a, b in itertools.pairwise(sizes)])


def init_decoupled(net: Any, U: np.ndarray, V: np.ndarray, u0: float, seed: int) -> None:
    """``W_l = R_l diag(u0^(1/N)) R_(l−1)ᵀ`` with ``R_0 = V``, ``R_N = U`` and random
    orthonormal ``R_l`` in between: each layer passes mode ``a`` on to the next with the
    same (balanced) strength, so the product is ``U diag(u0) Vᵀ``."""
    import stirpile

    layers = list(net)
    k, rng = len(S), np.random.default_rng(seed)
    R = [V] + [np.linalg.qr(rng.standard_normal((N_HIDDEN, k)))[0] for _ in layers[1:]] + [U]
    a = u0 ** (1 / len(layers))
    with stirpile.no_grad():
        for layer, r_in, r_out in zip(layers, R[:-1], R[1:]):
            layer.weight.copy_((r_out * a) @ r_in.T)


def init_random(net: Any, u0: float, seed: int) -> None:
    """Small i.i.d. Gaussian weights with about the same mode strength ``u0`` (so the
    time scales compare): each layer scales a vector by ``≈ u0^(1/N)``."""
    from .. import nn

    rng = np.random.default_rng(seed)
    for layer in net:
        std = u0 ** (1 / len(net)) / np.sqrt(layer.out_features)
        nn.init.normal_(layer.weight, std=std, generator=rng)


def mode_strengths(net: Any, U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``u_a = U[:, a]ᵀ (W_N ⋯ W_1) V[:, a]`` for every teacher mode ``a``."""
    W = np.eye(N_IN)
    for layer in net:
        W = layer.weight.detach().numpy() @ W
    return np.einsum("ia,ij,ja->a", U, W, V)


def train(net: Any, X: np.ndarray, Y: np.ndarray, U: np.ndarray, V: np.ndarray,
          lr: float, steps: int) -> np.ndarray:  # fmt: skip
    """Full-batch gradient descent on ``L = 1/(2n) Σ ‖y − ŷ‖²``; the mode strengths
    before every step, shape ``(steps + 1, k)``."""
    import stirpile
    from stirpile import optim

    x, y = stirpile.tensor(X), stirpile.tensor(Y)
    opt = optim.SGD(net.parameters(), lr=lr)
    modes = [mode_strengths(net, U, V)]
    for _ in range(steps):
        loss = 0.5 * ((net(x) - y) ** 2).sum(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        modes.append(mode_strengths(net, U, V))
    return np.array(modes)


def run(quick: bool = False, seed: int = 0, data_dir: Any = None) -> dict[str, Any]:
    """Shallow, 2-layer and 3-layer nets from decoupled init, a 2-layer (and in the full
    version a 3-layer) net from random init; every mode's trajectory with its theory."""
    import stirpile

    from ..data.datasets.synthetic import linear_teacher

    stirpile.manual_seed(seed)
    teacher = linear_teacher(N_IN, N_OUT, S, n=10 * N_IN, seed=seed)
    U, V = teacher.U.astype(np.float64), teacher.V.astype(np.float64)
    lr = 0.01
    tau = 1 / lr
    # (depth, init) -> steps: deeper nets, and random inits, leave the saddle at u = 0
    # more slowly, so they get more steps
    runs = {(1, "decoupled"): 1000, (2, "decoupled"): 1500, (3, "decoupled"): 2500,
            (2, "random"): 1500}  # fmt: skip
    if not quick:
        runs[3, "random"] = 5000
    results: dict[str, Any] = {"s": S, "u0": U0, "lr": lr, "tau": tau, "runs": []}
    for (depth, init), steps in runs.items():
        net = linear_net(depth)
        if init == "decoupled":
            init_decoupled(net, U, V, U0, seed)
        else:
            init_random(net, U0, seed)
        sim = train(net, teacher.X, teacher.Y, U, V, lr, steps)
        t = np.arange(len(sim))
        th = np.stack([theory(t, s, U0, tau, depth) for s in S], axis=1)
        results["runs"].append({
            "name": f"{depth}-layer, {init} init",
            "depth": depth,
            "init": init,
            "t": t.tolist(),
            "sim": sim.tolist(),
            "theory": th.tolist(),
            # max over modes and time of |sim − theory| / s
            "rel_error": float((np.abs(sim - th) / np.array(S)).max()),
            "t_half": [t_half(sim[:, a], s) for a, s in enumerate(S)],
            "t_half_theory": [t_half(th[:, a], s) for a, s in enumerate(S)],
        })  # fmt: skip
    return results


# -- the report ----------------------------------------------------------------------------
def report(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    from ..train.plots import _plt, _save
    from .common import markdown_table, output_dir, write_readme

    plt = _plt()
    out = output_dir(out_dir)
    S_, tau = results["s"], results["tau"]
    runs = results["runs"]
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(S_)))

    ncols = 3
    nrows = -(-len(runs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(13, 3.9 * nrows), sharey=True, squeeze=False)
    axes = axes.ravel()
    for ax in axes[len(runs) :]:
        ax.axis("off")
    for ax, r in zip(axes, runs):
        t = np.array(r["t"]) / tau
        sim, th = np.array(r["sim"]), np.array(r["theory"])
        for a, s in enumerate(S_):
            ax.plot(t, sim[:, a], "-", color=colors[a], lw=2, label=f"s = {s:g}")
            ax.plot(t, th[:, a], "--", color="k", lw=1)
        note = "" if r["init"] == "decoupled" else " (qualitative)"
        ax.set_title(f"{r['name']}\nmax |sim − theory| / s = {r['rel_error']:.1%}{note}",
                     fontsize=10)  # fmt: skip
        ax.set_xlabel("t / τ   (τ = 1/η steps)")
        ax.grid(alpha=0.3)
    for ax in axes[::ncols]:
        ax.set_ylabel("mode strength  u_a = U_aᵀ W V_a")
    axes[0].plot([], [], "--", color="k", lw=1, label="theory (decoupled init)")
    axes[0].legend(fontsize=8, loc="center right")
    fig.suptitle("Deep linear networks: simulation (solid) vs theory (dashed)")
    fig.tight_layout()
    paths = [_save(fig, out / "modes.png")]

    # time to learn: t_half·s is constant for deep nets (up to a log), t_half for shallow
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for r, marker in zip(runs, "osD^v"):
        th = [np.nan if v is None else v / tau for v in r["t_half"]]
        ax.plot(S_, th, marker=marker, label=r["name"])
    s_ref = np.array(S_)  # a guide with slope −1: t_half ∝ 1/s
    ax.plot(s_ref, 2 / s_ref, ":", color="gray", label="∝ 1/s (guide)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(S_, [f"{s:g}" for s in S_])
    ax.minorticks_off()
    ax.set_xlabel("singular value s")
    ax.set_ylabel("t_half / τ  (first t with u ≥ s/2)")
    ax.set_title("Time to learn each mode: ∝ 1/s for deep nets")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out / "t_half.png"))

    rows = []
    for r in runs:
        for s, th, tt in zip(S_, r["t_half"], r["t_half_theory"]):
            ts = "never" if th is None else th
            rows.append([r["name"], s, ts, tt if tt is not None else "-",
                         "-" if th is None else round(th * s / tau, 3)])  # fmt: skip
    errors = markdown_table(
        ["run", "max \\|sim − theory\\| / s"],
        [[r["name"], f"{r['rel_error']:.2%}"] for r in runs if r["init"] == "decoupled"],
    )
    body = f"""
{__doc__.split(chr(10) + chr(10))[1]}

Teacher: {N_OUT}×{N_IN}, singular values s = {S_}, {10 * N_IN} white inputs; every mode
starts at u0 = {results["u0"]:g}; full-batch gradient descent with η = {results["lr"]:g},
so τ = 1/η = {tau:g} steps.

![modes](modes.png)

Agreement with the theory (decoupled init; the claim is < 10%):

{errors}

Time to learn each mode (``t_half`` in steps; the theory column is the analytic or
numerically integrated curve; ``t_half·s/τ`` is constant for deep nets up to the factor
``ln(s/u0 − 1)/2``, while the shallow net's ``t_half`` is ``τ ln 2`` for every mode):

{markdown_table(["run", "s", "t_half (sim)", "t_half (theory)", "t_half·s/τ"], rows)}

![t_half](t_half.png)
"""
    paths.append(write_readme(out, "Lab: deep linear networks (Saxe et al. 2014)", body))
    return paths
