"""Why have sex? Evolution by mutation against recombination (MacKay, ITILA ch. 19).

**Claim.** A population of ``N`` genomes of ``G`` bits under truncation selection
(fitness ``F = Σ_g x_g``, the best ``N`` children survive) gains, with mutation alone, at
most about **1 bit per generation**, so it needs **~G generations** to reach perfection
(``f = F/G = 1``); with recombination (uniform crossover, "sex") it gains **~√G bits per
generation** and needs only **~√G generations**. With sex the mean fitness follows a
sine law, ``f(t) = ½[1 + sin(η t/√G)]`` with ``η = √(2/(π + 2)) ≈ 0.62``, so from
``f = ½`` it reaches perfection after ``(π/2)√G/η ≈ 2.52 √G`` generations. A large fixed
mutation rate (``mG = 1``) stalls below perfection.

**Source.** D. J. C. MacKay, *Information Theory, Inference, and Learning Algorithms*
(CUP 2003), ch. 19 "Why have Sex? Information Acquisition and Evolution" (Box 19.2,
Eq. 19.14); the companion paper's abstract ("Rate of Information Acquisition by a Species
subjected to Natural Selection": "of order 1 bit per generation" against "proportional to
√G"). The chapter's formulas were not read verbatim (see ``../shared/LABS.md``, section
``evolution``: the constant of Eq. 19.14 is corrected there, and the time from ``f = ½``
is half the book's ``(π/η)√G``).

**What is run.** NumPy simulations, the whole population one boolean array ``(N, G)``.
Every genome starts with exactly ``G/2`` ones (at random places). Each generation makes
``2N`` children and keeps the best ``N`` (ties broken at random). *Sex:* random couples,
four children each by uniform crossover (each bit from either parent, no linkage, no
mutation). *Mutation:* two children per parent, each bit flipped with probability ``m``:
either MacKay's near-optimal adaptive rate ``m = min(½, 1/(16 G δf²))`` (``δf = f − ½``)
or the fixed ``m = 0.25/G``; and the fixed ``m = 1/G`` for the mutational load. For each
``G`` the generations until the whole population is perfect are counted, and a straight
line fitted to ``log T`` against ``log G``.

**How it is judged** (``../shared/LABS.md``, section ``evolution``). Log-log slopes of
``T`` against ``G`` within ±0.1 of 1 (mutation, both rates) and ½ (sex); sex's ``T``
within 10% of ``(π/2)√G/η`` for ``G ≥ 400`` and its fitness curve within 0.03 of the sine
law; sex's mean gain over the first 5 generations within 10% of ``η√G/2`` bits per
generation; mutation's ``T/G`` in ``[0.5, 3]`` (the book's "about 2G" is recalled, not
read) and its gain below 1 bit per generation once ``δf > 0.125``; ``mG = 1`` plateaus
below ``f = 1``.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np

SUMMARY = "evolution with and without sex: ~G against ~√G generations to perfection (MacKay)"

ETA = math.sqrt(2 / (math.pi + 2))  # Box 19.2: dF/dt ≈ η √(f(1 − f) G) with sex


# -- the pieces: a population is a bool array (N, G), fitness the number of ones -----------
def random_bits(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Fair coin flips as a bool array (8 per random byte)."""
    n = math.prod(shape)
    raw = np.frombuffer(rng.bytes((n + 7) // 8), dtype=np.uint8)
    return np.unpackbits(raw, count=n).view(bool).reshape(shape)


def initial_population(n: int, g: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` genomes of ``g`` bits, each with exactly ``g // 2`` ones at random places."""
    return rng.permuted(np.broadcast_to(np.arange(g) < g // 2, (n, g)), axis=1)


def fitness(pop: np.ndarray) -> np.ndarray:
    """``F = Σ_g x_g`` per genome (int64)."""
    return np.count_nonzero(pop, axis=1).astype(np.int64)


def crossover(parents: np.ndarray, rng: np.random.Generator, children: int = 4) -> np.ndarray:
    """Random couples (a random pairing of the ``N`` parents), ``children`` per couple,
    each bit taken from either parent with probability ½: ``(N/2 · children, G)``."""
    n, g = parents.shape
    order = rng.permutation(n - n % 2)
    mothers, fathers = parents[order[0::2]], parents[order[1::2]]
    pick = random_bits(rng, (len(mothers), children, g))
    out = np.where(pick, mothers[:, None], fathers[:, None])
    return out.reshape(-1, g)


def mutate(parents: np.ndarray, m: float, rng: np.random.Generator,
           children: int = 2) -> np.ndarray:  # fmt: skip
    """``children`` copies of every parent, each bit flipped independently with
    probability ``m``. Few flips are drawn as a Binomial count at distinct random places
    (the same law as a coin per bit, without ``N·G`` coins)."""
    out = np.repeat(parents, children, axis=0)
    if m >= 1 / 64:
        out ^= rng.random(out.shape) < m
    elif m > 0:
        flat = out.reshape(-1)
        k = rng.binomial(flat.size, m)
        flat[rng.choice(flat.size, size=k, replace=False)] ^= True
    return out


def truncate(children: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Truncation selection: the ``n`` fittest children, ties broken at random."""
    key = fitness(children) + 0.5 * rng.random(len(children))  # < 1: only breaks ties
    return children[np.argpartition(-key, n - 1)[:n]]


def adaptive_rate(f: float, g: int) -> float:
    """MacKay's near-optimal mutation rate ``min(½, 1/(16 G δf²))``, ``δf = f − ½``."""
    df = f - 0.5
    return 0.5 if df * df * 16 * g <= 2 else 1 / (16 * g * df * df)


def evolve(g: int, n: int, mode: str, seed: int = 0, max_gens: int | None = None,
           stop_at_perfection: bool = True) -> dict[str, Any]:  # fmt: skip
    """One population of ``n`` genomes of ``g`` bits from ``f = ½``.

    ``mode`` is ``"sex"``, ``"adaptive"`` (mutation, ``m = min(½, 1/(16Gδf²))``) or
    ``"mG=<x>"`` (mutation, fixed ``m = x/G``). Returns the mean fitness ``F̄`` per
    generation (generation 0 first) and ``T``, the first generation at which every
    genome is perfect (``None`` if not within ``max_gens``, default ``8G``).
    """
    if mode not in ("sex", "adaptive") and not mode.startswith("mG="):
        raise ValueError(f"unknown mode {mode!r}: expected 'sex', 'adaptive' or 'mG=<x>'")
    if g % 2 or n < 2:
        raise ValueError(f"need an even genome length G and N ≥ 2 genomes, got G={g}, N={n}")
    rng = np.random.default_rng(seed)
    max_gens = 8 * g if max_gens is None else max_gens
    pop = initial_population(n, g, rng)
    mean = [float(fitness(pop).mean())]
    T = None
    for t in range(1, max_gens + 1):
        if mode == "sex":
            kids = crossover(pop, rng)
        else:
            m = adaptive_rate(mean[-1] / g, g) if mode == "adaptive" else float(mode[3:]) / g
            kids = mutate(pop, m, rng)
        pop = truncate(kids, n, rng)
        mean.append(float(fitness(pop).mean()))
        if T is None and mean[-1] == g:
            T = t
            if stop_at_perfection:
                break
    return {"G": g, "N": n, "mode": mode, "mean_F": mean, "T": T}


# -- theory ---------------------------------------------------------------------------------
def sine_law(t: Any, g: int) -> np.ndarray:
    """Sex from ``f(0) = ½``: ``f(t) = ½[1 + sin(η t/√G)]`` until it reaches 1 (Eq. 19.14,
    its constant corrected), then 1."""
    x = ETA * np.asarray(t, dtype=np.float64) / math.sqrt(g)
    return np.where(x < math.pi / 2, 0.5 * (1 + np.sin(np.minimum(x, math.pi / 2))), 1.0)


def sex_time(g: float, f: float = 1.0) -> float:
    """Generations from ``f = ½`` to ``f`` by the sine law: ``√G/η · arcsin(2f − 1)``
    (``(π/2)√G/η ≈ 2.52√G`` to perfection)."""
    return math.sqrt(g) / ETA * math.asin(2 * f - 1)


def band_gain_theory(mode: str, a: float, b: float, g: int) -> float:
    """Mean gain ``ΔF/Δt`` (bits per generation) while ``f`` goes from ``a`` to ``b``:
    for sex from the sine law; for mutation from MacKay's estimate ``dF/dt ≈ 1/(8δf)`` at
    the optimal rate, i.e. ``1/(4(δa + δb))`` (the book calls it an upper bound; it is an
    approximation, which the adaptive rate exceeds a little at small ``δf``)."""
    if mode == "sex":
        return g * (b - a) / (sex_time(g, b) - sex_time(g, a))
    return 1 / (4 * (a - 0.5 + b - 0.5))


# -- measurements ---------------------------------------------------------------------------
def fit_loglog(x: Any, y: Any) -> tuple[float, float]:
    """Least-squares line ``log y = slope · log x + c``: ``(slope, e^c)``."""
    slope, c = np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)
    return float(slope), float(math.exp(c))


def sine_deviation(mean_F: Any, g: int) -> float:
    """The largest ``|f(t) − ½[1 + sin(η t/√G)]|`` over a run's generations."""
    f = np.asarray(mean_F, dtype=np.float64) / g
    return float(np.abs(f - sine_law(np.arange(len(f)), g)).max())


def band_gain(mean_F: Any, g: int, a: float, b: float) -> float:
    """Bits (fitness units) gained per generation between the first generations at which
    the mean fitness reaches ``f = a`` and ``f = b`` (nan if it never reaches ``b``)."""
    f = np.asarray(mean_F) / g
    if f[-1] < b or f[0] > a:
        return float("nan")
    ta, tb = int(np.argmax(f >= a)), int(np.argmax(f >= b))
    return float((mean_F[tb] - mean_F[ta]) / max(tb - ta, 1))


BANDS = [(0.5, 0.625), (0.625, 0.75), (0.75, 0.875), (0.875, 1.0)]
MODES = {"sex": "sex (uniform crossover)", "adaptive": "mutation, m = 1/(16Gδf²)",
         "mG=0.25": "mutation, m = 0.25/G"}  # fmt: skip


# -- the experiment ------------------------------------------------------------------------
def run(quick: bool = False, seed: int = 0, data_dir: Any = None) -> dict[str, Any]:
    """All the simulations (``data_dir`` is unused: no data)."""
    n = 1000
    gs = [100, 200, 400] if quick else [100, 200, 400, 1000, 2000]
    reps = 1 if quick else 3
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for mode in MODES:
        runs[mode] = {}
        for i, g in enumerate(gs):
            runs[mode][g] = [evolve(g, n, mode, seed=seed * 1000 + 10 * i + r) for r in range(reps)]
    T = {mode: {g: float(np.mean([r["T"] if r["T"] else np.nan for r in rs]))
                for g, rs in by_g.items()} for mode, by_g in runs.items()}  # fmt: skip
    slopes = {mode: fit_loglog(gs, [T[mode][g] for g in gs]) for mode in MODES}

    # the mutational load: a fixed large rate mG = 1 against the others, run on and on
    g_load = 200 if quick else 1000
    gens = 5 * g_load if quick else 3 * g_load
    load = {mode: evolve(g_load, n, mode, seed=seed * 1000 + 999, max_gens=gens,
                         stop_at_perfection=False)["mean_F"]
            for mode in ["adaptive", "mG=0.25", "mG=1"]}  # fmt: skip
    results = {"N": n, "G": gs, "replicates": reps, "quick": quick, "runs": runs, "T": T,
               "slopes": {m: s for m, (s, _) in slopes.items()},
               "prefactors": {m: c for m, (_, c) in slopes.items()},
               "load": {"G": g_load, "mean_F": load}}  # fmt: skip
    results["judge"] = judge(results)
    return results


def judge(results: dict[str, Any]) -> dict[str, Any]:
    """The checks of ``../shared/LABS.md`` on the results: name -> (measured, target, ok)."""
    gs, T, runs = results["G"], results["T"], results["runs"]
    checks: dict[str, Any] = {}
    s = results["slopes"]
    checks["sex slope"] = (s["sex"], "0.5 ± 0.1", abs(s["sex"] - 0.5) <= 0.1)
    for mode in ["adaptive", "mG=0.25"]:
        checks[f"{mode} slope"] = (s[mode], "1.0 ± 0.1", abs(s[mode] - 1.0) <= 0.1)
        ratio = [T[mode][g] / g for g in gs]
        checks[f"{mode} T/G"] = (ratio, "in [0.5, 3]", all(0.5 <= r <= 3 for r in ratio))
    big = [g for g in gs if g >= 400]
    ratio = [T["sex"][g] / sex_time(g) for g in big]
    checks["sex T / ((π/2)√G/η), G ≥ 400"] = (ratio, "1 ± 0.1",
                                               all(abs(r - 1) <= 0.1 for r in ratio))  # fmt: skip
    dev = max(sine_deviation(r["mean_F"], g) for g in gs for r in runs["sex"][g])
    checks["sex: largest deviation of f from the sine law"] = (dev, "< 0.03", dev < 0.03)
    gain5 = [float(np.mean([(r["mean_F"][5] - r["mean_F"][0]) / 5 for r in runs["sex"][g]]))
             / (ETA * math.sqrt(g) / 2) for g in gs]  # fmt: skip
    checks["sex: gain over 5 gens / (η√G/2)"] = (gain5, "1 ± 0.1",
                                                 all(abs(r - 1) <= 0.1 for r in gain5))  # fmt: skip
    for mode in ["adaptive", "mG=0.25"]:
        worst = max(band_gain(r["mean_F"], g, a, b) for g in gs for r in runs[mode][g]
                    for a, b in BANDS[1:])  # fmt: skip
        checks[f"{mode}: bits/gen once δf > 0.125"] = (worst, "< 1", worst < 1)
    load = results["load"]
    f_end = float(np.mean(load["mean_F"]["mG=1"][-len(load["mean_F"]["mG=1"]) // 4 :]))
    f_end /= load["G"]
    checks["mG = 1 plateau f"] = (f_end, "< 1 (stalls)", f_end < 0.995)
    return checks


# -- the report ----------------------------------------------------------------------------
def report(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    from ..train.plots import _plt, _save
    from .common import markdown_table, output_dir, write_readme

    plt = _plt()
    out = output_dir(out_dir)
    gs, T, runs = results["G"], results["T"], results["runs"]
    colors = {"sex": "C3", "adaptive": "C0", "mG=0.25": "C2", "mG=1": "C7"}
    paths = []

    # 1. time to perfection against G, log-log
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    grid = np.geomspace(gs[0], gs[-1], 50)
    for mode, label in MODES.items():
        for g in gs:
            ts = [r["T"] for r in runs[mode][g] if r["T"]]
            ax.scatter([g] * len(ts), ts, color=colors[mode], s=10, alpha=0.5)
        s, c = results["slopes"][mode], results["prefactors"][mode]
        ax.plot(grid, c * grid**s, color=colors[mode], label=f"{label}: slope {s:.2f}")
    ax.plot(grid, [sex_time(g) for g in grid], "k--", lw=1, label="sex theory (π/2)√G/η")
    ax.plot(grid, grid, "k:", lw=1, label="mutation, optimal-rate estimate G (book: ≈ 2G)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("genome length G (bits)")
    ax.set_ylabel("generations until the whole population is perfect")
    ax.set_title(f"time to perfection (N = {results['N']})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    paths.append(_save(fig, out / "time_to_perfection.png"))

    # 2. fitness curves: sex against the sine law (t/√G), mutation against t/G
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    short = {"adaptive": "adaptive m", "mG=0.25": "mG = 0.25"}
    for i, g in enumerate(gs):
        F = np.asarray(runs["sex"][g][0]["mean_F"])
        axes[0].plot(np.arange(len(F)) / math.sqrt(g), F / g, ".", ms=4, color=f"C{i}",
                     label=f"G = {g}")  # fmt: skip
        for mode, ls in [("adaptive", "-"), ("mG=0.25", "--")]:
            F = np.asarray(runs[mode][g][0]["mean_F"])
            axes[1].plot(np.arange(len(F)) / g, F / g, ls, color=f"C{i}", lw=1,
                         label=f"G = {g}, {short[mode]}")  # fmt: skip
    x = np.linspace(0, 1.1 * sex_time(1), 200)
    axes[0].plot(x, sine_law(x, 1), "k-", lw=1.2, label="½[1 + sin(η t/√G)]")
    axes[0].set_xlabel("generation / √G")
    axes[0].set_title("sex: fitness follows the sine law")
    x = np.linspace(0, 1.6, 200)
    axes[1].plot(x, 0.5 + 0.5 * np.sqrt(np.minimum(x, 1)), "k-", lw=1.2,
                 label="optimal-rate estimate ½ + ½√(t/G)")  # fmt: skip
    axes[1].set_xlabel("generation / G")
    axes[1].set_title("mutation only: time scales with G")
    for ax in axes:
        ax.set_ylabel("mean fitness f = F/G")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    paths.append(_save(fig, out / "fitness_curves.png"))

    # 3. bits gained per generation against f (largest G), with the theory
    g = gs[-1]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    for i, gg in enumerate(gs):
        F = np.asarray(runs["sex"][gg][0]["mean_F"])
        axes[0].plot(F[:-1] / gg, np.diff(F) / math.sqrt(gg), ".", color=f"C{i}",
                     label=f"G = {gg}")  # fmt: skip
    f = np.linspace(0.5, 1, 200)
    axes[0].plot(f, ETA * np.sqrt(f * (1 - f)), "k-", label="η √(f(1 − f))")
    axes[0].set_ylabel("bits gained per generation / √G")
    axes[0].set_title("sex: ~√G bits per generation")
    edges = np.linspace(0.5, 1, 17)
    for mode in MODES:
        F = runs[mode][g][0]["mean_F"]
        gain = [band_gain(F, g, a, b) for a, b in itertools.pairwise(edges)]
        axes[1].plot((edges[:-1] + edges[1:]) / 2, gain, "o-", color=colors[mode],
                     ms=3, label=MODES[mode])  # fmt: skip
    axes[1].plot(f, ETA * np.sqrt(f * (1 - f) * g), "k-", lw=1, label="sex: η√(f(1 − f)G)")
    axes[1].plot(f[1:], 1 / (8 * (f[1:] - 0.5)), "k:", lw=1, label="mutation estimate 1/(8δf)")
    axes[1].axhline(1, color="grey", lw=0.5)
    axes[1].set_yscale("log")
    axes[1].set_ylim(0.05, 3 * ETA * math.sqrt(g))
    axes[1].set_ylabel("bits gained per generation (band averages)")
    axes[1].set_title(f"G = {g}: sex against mutation")
    for ax in axes:
        ax.set_xlabel("mean fitness f")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    paths.append(_save(fig, out / "bits_per_generation.png"))

    # 4. the mutational load
    load = results["load"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for mode, F in load["mean_F"].items():
        label = "mutation, m = 1/G" if mode == "mG=1" else MODES[mode]
        ax.plot(np.asarray(F) / load["G"], color=colors[mode], label=label)
    ax.set_xlabel("generation")
    ax.set_ylabel("mean fitness f")
    ax.set_title(f"a fixed large mutation rate stalls (G = {load['G']})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(_save(fig, out / "mutational_load.png"))

    # the tables
    rows = []
    for g in gs:
        ts, ta, tf = T["sex"][g], T["adaptive"][g], T["mG=0.25"][g]
        rows.append([g, f"{ts:.1f}", f"{sex_time(g):.1f}", f"{ts / sex_time(g):.2f}",
                     f"{ta:.0f}", f"{tf:.0f}", f"{ta / g:.2f}", f"{tf / g:.2f}",
                     f"{ta / ts:.1f}"])  # fmt: skip
    times = markdown_table(["G", "T sex", "(π/2)√G/η", "ratio", "T mut. (adaptive)",
                            "T mut. (mG = 0.25)", "T/G adaptive", "T/G fixed",
                            "T mut. / T sex"], rows)  # fmt: skip
    slopes = markdown_table(["variation", "log-log slope of T against G", "expected"],
                            [[MODES[m], f"{results['slopes'][m]:.3f}",
                              "½ (~√G)" if m == "sex" else "1 (~G)"] for m in MODES])  # fmt: skip
    rows = []
    for mode in MODES:
        meas = [np.nanmean([band_gain(r["mean_F"], g, a, b) for r in runs[mode][g]])
                for a, b in BANDS]  # fmt: skip
        theo = [band_gain_theory(mode, a, b, g) for a, b in BANDS]
        kind = "sine law" if mode == "sex" else "estimate 1/(8δf)"
        rows.append([MODES[mode]] + [f"{m:.2f} ({t:.2f})" for m, t in zip(meas, theo)]
                    + [f"{(g / 2) / T[mode][g]:.2f}", kind])  # fmt: skip
    bits = markdown_table(["variation"] + [f"f ∈ [{a}, {b}]" for a, b in BANDS]
                          + ["mean over the run", "(theory in brackets)"], rows)  # fmt: skip
    judged = markdown_table(
        ["check", "measured", "target", "passed"],
        [[name, ", ".join(f"{x:.3g}" for x in v) if isinstance(v, list) else f"{v:.3g}",
          target, "yes" if ok else "**no**"] for name, (v, target, ok) in results["judge"].items()],
    )  # fmt: skip
    f_load = {m: float(np.mean(F[-len(F) // 4 :])) / load["G"] for m, F in load["mean_F"].items()}
    doc = __doc__.split("\n\n")
    body = f"""
{doc[1]}

{doc[2]}

{doc[3]}

N = {results["N"]} genomes; {results["replicates"]} population(s) per G and kind of
variation (the times are their means; the curves show the first).

## Generations to perfection

![time to perfection](time_to_perfection.png)

{times}

{slopes}

## Fitness curves

![fitness curves](fitness_curves.png)

## Bits gained per generation

One bit per correct gene: the fitness gained per generation, averaged while the mean
fitness crosses each band, at G = {g} (means over the populations; in brackets the
sine law for sex, MacKay's optimal-rate estimate ``1/(8δf)`` for mutation, which the
book states as an upper bound but is an approximation).

![bits per generation](bits_per_generation.png)

{bits}

## The mutational load

At G = {load["G"]}, mean fitness over the last quarter of {len(load["mean_F"]["mG=1"]) - 1}
generations: m = 1/G stays at f = {f_load["mG=1"]:.3f}, while m = 0.25/G reaches
{f_load["mG=0.25"]:.3f} and the adaptive rate {f_load["adaptive"]:.3f}.

![mutational load](mutational_load.png)

## Judged

{doc[4]}

{judged}
"""  # fmt: skip
    paths.append(write_readme(out, "Lab: why have sex? (evolution, MacKay ch. 19)", body))
    return paths
