"""Isotropic Gaussians in N = 2 … 10,000 dimensions: angles, shells, norms, estimators.

**Claim.** For ``x ~ N(0, σ²I_N)`` with ``N ≫ 1`` (the lectures, "High-dimensional
intuitions"): two random vectors are nearly orthogonal — the angle between them tends to
90° with a spread ∝ 1/√N; almost all of the mass lies in a thin shell of radius ≈ σ√N;
the norm concentrates — its standard deviation stays O(σ) (→ σ/√2) while its mean grows
as σ√N. And the lecture's question "what is the best estimator for future points?": the
mean of n samples beats a single sample — on average in every dimension (mean squared
error ``(1 + 1/n)Nσ²`` against ``2Nσ²``), and in high dimension on practically every
future point.

**Source.** The lectures (``../shared/COURSE.md``, "High-dimensional intuitions"), which
quote no numbers; the exact values are derived below from standard results (the χ and χ²
laws, the uniform law on the sphere; cf. R. Vershynin, *High-Dimensional Probability*,
2018, ch. 3; A. Blum, J. Hopcroft, R. Kannan, *Foundations of Data Science*, 2020, ch. 2).

**Closed forms** (``x, y`` independent ``N(0, σ²I_N)``; ``Γ`` the gamma function).

- *Angle.* ``u = x/‖x‖`` is uniform on the sphere and independent of ``‖x‖``, so
  ``cos θ = u·v`` has the law of one coordinate of ``u``: density ∝ ``(1 − t²)^((N−3)/2)``,
  mean 0 and variance exactly ``1/N`` (the N squared coordinates of ``u`` sum to 1 and have
  equal means). The angle ``θ ∈ [0, π]`` has density
  ``sin^(N−2) θ · Γ(N/2) / (√π Γ((N−1)/2))``, symmetric about ``π/2`` (so ``E θ = 90°``),
  and ``Var θ = ½ ψ₁(N/2) = 1/N + 1/N² + O(N⁻³)`` with ``ψ₁`` the trigamma function
  (integrating by parts, ``V_m = E[φ²]`` under the density ∝ ``cos^m φ`` obeys
  ``V_m = V_(m−2) − 2/m²``, from ``V_0 = π²/12``, ``V_1 = π²/4 − 2``; summed, ``V_(N−2) =
  2 Σ_(k = N, N+2, …) 1/k² = ½ ψ₁(N/2)``). So ``std θ ≈ 1/√N`` radians ``= 57.3°/√N``.
- *Norm.* ``‖x‖²/σ²`` is χ²_N, ``‖x‖/σ`` is χ_N: ``E‖x‖ = σ√2 Γ((N+1)/2)/Γ(N/2) =
  σ√N (1 − 1/(4N) + O(N⁻²))`` and ``Var ‖x‖ = Nσ² − (E‖x‖)² = σ² (½ − 1/(8N) + O(N⁻²))``:
  the spread stays ≈ σ/√2 while the mean grows as σ√N (relative spread ``1/√(2N)``). The
  distance between two points, ``‖x − y‖ = σ√2 χ_N``, concentrates the same way: all
  pairs of points are about ``σ√(2N)`` apart.
- *Shells.* ``P(r₀ ≤ ‖x‖ ≤ r₁) = P(N/2, r₁²/2σ²) − P(N/2, r₀²/2σ²)`` with ``P`` the
  regularized lower incomplete gamma function (the χ²_N distribution function). The
  relative shell ``|‖x‖/(σ√N) − 1| ≤ 0.1`` ends up holding all the mass; the shell
  ``|‖x‖ − σ√N| ≤ σ`` of fixed width, whose relative thickness ``2/√N`` vanishes, holds
  a fraction → ``erf(1) = 84.3 %`` (as ``‖x‖ ≈ σ√N + σZ/√2``, ``Z ~ N(0, 1)``).
- *Estimators.* From ``x₁ … x_n ~ N(μ, σ²I)`` predict a future ``x' ~ N(μ, σ²I)``. A
  single sample has ``E‖x' − x₁‖² = 2Nσ²``, the sample mean ``x̄`` has
  ``(1 + 1/n)Nσ²``, the true mean (an oracle) ``Nσ²``. How often is ``x̄`` the closer one?
  Per coordinate ``(a, b) = (x' − x₁, x' − x̄)`` is a centred Gaussian pair with covariance
  ``σ²[[2, c], [c, c]]``, ``c = 1 + 1/n``, so ``D = ‖a‖² − ‖b‖² = σ²(λ₊U − |λ₋|V)`` with
  ``U, V`` independent χ²_N and ``λ± = ((2 − c) ± √((2 − c)(2 + 3c)))/2`` the eigenvalues
  of ``diag(1, −1)·cov``; hence ``P(‖x' − x̄‖ < ‖x' − x₁‖) = 1 − I_t(N/2, N/2)``, ``t =
  κ/(1 + κ)``, ``κ = |λ₋|/λ₊``, ``I`` the regularized incomplete beta function (as
  ``U/(U + V)`` is Beta(N/2, N/2)). At N = 2 this is ``1/(1 + κ)`` (72 % for n → ∞, where
  κ = 1/φ², φ the golden ratio); it tends to 1 as N grows.

**What is run.** For each N in ``DIMS`` (2 … 10,000), ``M`` trials (``--quick`` 2,000,
full 40,000) of vectorized NumPy draws, chunked to about 2²⁰ numbers per array, with
``μ = 0`` and ``σ = 1`` (the errors do not depend on μ, and everything scales with σ):
a pair ``x, y`` gives ``cos θ``, ``θ``, the norms (both vectors: 2M samples), the shell
fractions and ``‖x − y‖``; ``x`` also serves as the future point and ``y`` as the single
sample ``x₁``, and the means of n = 2, 10 and 100 samples are ``(x₁ + S_n)/n`` where the
sums ``S_n`` of the other points are drawn directly and nested (``S_10 = S_2 +
√8 σ Z``, …), so a trial costs five draws of N numbers whatever n.

**How it is judged.** Every measured quantity against its closed form within 5 standard
errors of the sample (estimated from the sample: ``s/√M`` for means,
``s √((k − 1)/(4M))`` for standard deviations with ``k`` the sample kurtosis,
``√(p(1 − p)/M)`` for fractions, at least 1/M so that a fraction of exactly 0 or 1 gets
one); and the claims themselves: at N = 1,000 the standard
deviations of θ (radians) and of cos θ are within 10 % of 1/√N; ``std ‖x‖`` is within
10 % of σ/√2 in every dimension; ``E‖x‖`` is within 3 % of σ√N from N = 20 on; the
sample mean's squared error is below the single sample's in every dimension, and it wins
on more than 99 % of future points at N = 10,000.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

SUMMARY = "isotropic Gaussians in 2 … 10,000 dimensions: angles, shells, norms, estimators"

DIMS = (2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
HIST_DIMS = (2, 10, 100, 1000, 10000)  # dimensions whose samples the figure draws
NS = (2, 10, 100)  # sizes n of the sample means used as estimators
SHELL_EPS = 0.1  # the relative shell |‖x‖/(σ√N) − 1| ≤ SHELL_EPS
SIGMA = 1.0
Z_MAX = 5.0  # the judge's tolerance, in standard errors
CHUNK = 2**20  # numbers per drawn array


# -- closed forms ---------------------------------------------------------------------------
def trigamma(z: float) -> float:
    """``ψ₁(z) = Σ_(k≥0) 1/(z + k)²`` for ``z > 0``: the recurrence ``ψ₁(z) = ψ₁(z + 1)
    + 1/z²`` up to ``z ≥ 10``, then the asymptotic series ``1/z + 1/(2z²) + Σ_k B_2k /
    z^(2k+1)`` (Bernoulli numbers ``B_2k``) to ``k = 5``: error below 10⁻¹³.

    >>> abs(trigamma(1.0) - math.pi**2 / 6) < 1e-13
    True
    """
    if z <= 0:
        raise ValueError(f"trigamma needs z > 0, got {z}")
    acc = 0.0
    while z < 10:
        acc += 1.0 / (z * z)
        z += 1.0
    w = 1.0 / (z * z)  # B_2 … B_10 = 1/6, −1/30, 1/42, −1/30, 5/66
    tail = 1 / 6 - w * (1 / 30 - w * (1 / 42 - w * (1 / 30 - w * 5 / 66)))
    return acc + 1 / z + w / 2 + w / z * tail


def angle_std(N: int) -> float:
    """The standard deviation of the angle (radians) between two independent isotropic
    Gaussian vectors in N dimensions: ``√(½ ψ₁(N/2))``; ``π/√12`` at N = 2 (uniform).

    >>> round(angle_std(2), 6) == round(math.pi / math.sqrt(12), 6)
    True
    """
    return math.sqrt(0.5 * trigamma(N / 2))


def angle_density(theta: np.ndarray, N: int) -> np.ndarray:
    """The density of that angle: ``sin^(N−2) θ · Γ(N/2) / (√π Γ((N−1)/2))``."""
    log_c = math.lgamma(N / 2) - math.lgamma((N - 1) / 2) - 0.5 * math.log(math.pi)
    return math.exp(log_c) * np.abs(np.sin(theta)) ** (N - 2)


def norm_moments(N: int, sigma: float = 1.0) -> tuple[float, float]:
    """``(E‖x‖, std ‖x‖)`` for ``x ~ N(0, σ²I_N)``: ``σ√2 Γ((N+1)/2)/Γ(N/2)`` and
    ``√(Nσ² − (E‖x‖)²)``.

    >>> m, s = norm_moments(2)  # the Rayleigh law: √(π/2) and √(2 − π/2)
    >>> abs(m - math.sqrt(math.pi / 2)) < 1e-12, abs(s - math.sqrt(2 - math.pi / 2)) < 1e-12
    (True, True)
    """
    m = math.sqrt(2) * math.exp(math.lgamma((N + 1) / 2) - math.lgamma(N / 2))
    return sigma * m, sigma * math.sqrt(N - m * m)


def chi_density(r: np.ndarray, N: int, sigma: float = 1.0) -> np.ndarray:
    """The density of ``‖x‖``: ``(r/σ)^(N−1) e^(−r²/2σ²) / (σ 2^(N/2−1) Γ(N/2))``."""
    r = np.asarray(r, dtype=np.float64) / sigma
    log_c = -(N / 2 - 1) * math.log(2) - math.lgamma(N / 2) - math.log(sigma)
    with np.errstate(divide="ignore"):
        return np.exp(log_c + (N - 1) * np.log(r) - r * r / 2)


def gammainc(a: float, x: float) -> float:
    """The regularized lower incomplete gamma function ``P(a, x) = γ(a, x)/Γ(a)`` by its
    series ``e^(−x) Σ_(k≥0) x^(a+k)/Γ(a+k+1)`` (summed in logs; enough terms to pass the
    peak of the terms near ``k = x − a`` by 40 of their widths ``√x``).

    >>> round(gammainc(1.0, 2.0), 12) == round(1 - math.exp(-2), 12)
    True
    """
    if x <= 0:
        return 0.0
    K = int(max(x - a, 0.0) + 40 * math.sqrt(x + 1) + 100)
    k = np.arange(K, dtype=np.float64)
    lgam = math.lgamma(a + 1) + np.concatenate([[0.0], np.cumsum(np.log(a + 1 + k[:-1]))])
    logt = (a + k) * math.log(x) - x - lgam
    top = logt.max()
    return float(min(1.0, math.exp(top) * np.exp(logt - top).sum()))


def chi2_cdf(x: float, N: int) -> float:
    """``P(χ²_N ≤ x) = P(N/2, x/2)``."""
    return gammainc(N / 2, x / 2)


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function ``I_x(a, b)`` by its power series
    ``x^a (1 − x)^b / (a B(a, b)) · Σ_(k≥0) x^k Π_(j<k) (a + b + j)/(a + 1 + j)``, used
    where it converges fast (``x < (a + 1)/(a + b + 2)``), else via
    ``I_x(a, b) = 1 − I_(1−x)(b, a)``.

    >>> round(betainc(1.0, 1.0, 0.3), 12)  # the uniform distribution function
    0.3
    """
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - betainc(b, a, 1.0 - x)
    ratio0 = x * (a + b) / (a + 1)  # the largest ratio of successive terms
    K = int(min(10**6, 50 / max(-math.log(ratio0), 1e-6) + 50)) if ratio0 < 1 else 10**6
    j = np.arange(K - 1, dtype=np.float64)
    logt = np.concatenate([[0.0], np.cumsum(math.log(x) + np.log(a + b + j) - np.log(a + 1 + j))])
    log_b = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    log_front = a * math.log(x) + b * math.log1p(-x) - math.log(a) - log_b
    top = logt.max()
    return float(min(1.0, math.exp(log_front + top) * np.exp(logt - top).sum()))


def shell_fraction(N: int, r0: float, r1: float, sigma: float = 1.0) -> float:
    """``P(r0 ≤ ‖x‖ ≤ r1)`` for ``x ~ N(0, σ²I_N)``."""
    lo = chi2_cdf((max(r0, 0.0) / sigma) ** 2, N)
    return chi2_cdf((r1 / sigma) ** 2, N) - lo


def shells(N: int, sigma: float = 1.0) -> dict[str, tuple[float, float]]:
    """The two shells around ``σ√N`` of the lab: ``{name: (r0, r1)}``."""
    r = sigma * math.sqrt(N)
    return {"relative": (r * (1 - SHELL_EPS), r * (1 + SHELL_EPS)),
            "width 2σ": (r - sigma, r + sigma)}  # fmt: skip


def mean_beats_single(N: int, n: int) -> float:
    """``P(‖x' − x̄_n‖ < ‖x' − x₁‖)``: how often the mean of n samples is closer to a
    future point than one sample is, ``1 − I_t(N/2, N/2)`` (see the module docstring).

    >>> round(mean_beats_single(2, 10**9), 4)  # φ²/(1 + φ²), φ the golden ratio
    0.7236
    """
    c = 1 + 1 / n
    root = math.sqrt((2 - c) * (2 + 3 * c))
    lam_plus, lam_minus = ((2 - c) + root) / 2, ((2 - c) - root) / 2
    kappa = -lam_minus / lam_plus
    return 1.0 - betainc(N / 2, N / 2, kappa / (1 + kappa))


def exact(N: int, sigma: float = 1.0) -> dict[str, Any]:
    """Every closed-form value the lab measures, in dimension N."""
    m, s = norm_moments(N, sigma)
    return {
        "N": N,
        "cos_mean": 0.0,
        "cos_std": 1 / math.sqrt(N),
        "angle_mean": math.pi / 2,
        "angle_std": angle_std(N),
        "norm_mean": m,
        "norm_std": s,
        "dist_mean": math.sqrt(2) * m,
        "dist_std": math.sqrt(2) * s,
        "shell": {k: shell_fraction(N, *r, sigma) for k, r in shells(N, sigma).items()},
        "mse_single": 2.0,  # squared errors in units of Nσ²
        "mse_oracle": 1.0,
        "mse_mean": {n: 1 + 1 / n for n in NS},
        "p_mean_wins": {n: mean_beats_single(N, n) for n in NS},
    }


# -- the simulation -------------------------------------------------------------------------
def draw(N: int, M: int, seed: int = 0, sigma: float = 1.0) -> dict[str, np.ndarray]:
    """M trials in dimension N (see "What is run"): per trial ``cos θ``, ``θ``, the
    distance ``‖x − y‖``, the norms of ``x`` and ``y`` (``2M`` values), and the squared
    errors ``‖x' − x̂‖²/(Nσ²)`` of the single sample, the oracle and the means of
    ``n ∈ NS`` samples. Vectorized, ``CHUNK`` numbers per drawn array at a time."""
    rng = np.random.default_rng([seed, N])
    rows = max(1, CHUNK // N)
    out: dict[str, list[np.ndarray]] = {}

    def keep(name: str, v: np.ndarray) -> None:
        out.setdefault(name, []).append(v)

    for start in range(0, M, rows):
        m = min(rows, M - start)
        x = sigma * rng.standard_normal((m, N))  # the future point x'
        y = sigma * rng.standard_normal((m, N))  # the single sample x₁
        nx, ny = np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)
        cos = np.einsum("ij,ij->i", x, y) / (nx * ny)
        keep("cos", cos)
        keep("angle", np.arccos(np.clip(cos, -1.0, 1.0)))
        keep("norm", np.concatenate([nx, ny]))
        d = np.linalg.norm(x - y, axis=1)
        keep("dist", d)
        keep("err_single", d * d / (N * sigma**2))
        keep("err_oracle", nx * nx / (N * sigma**2))
        s, prev = np.zeros_like(y), 1  # the sum of the other points, nested over NS
        for n in NS:
            s += math.sqrt(n - prev) * sigma * rng.standard_normal((m, N))
            prev = n
            err = np.linalg.norm(x - (y + s) / n, axis=1)
            keep(f"err_mean_{n}", err * err / (N * sigma**2))
    return {k: np.concatenate(v) for k, v in out.items()}


def _std_se(v: np.ndarray) -> tuple[float, float]:
    """The sample standard deviation and its standard error ``s √((k − 1)/(4M))``."""
    s = float(v.std(ddof=1))
    k = float(((v - v.mean()) ** 4).mean() / s**4)
    return s, s * math.sqrt(max(k - 1, 0.0) / (4 * len(v)))


def _mean_se(v: np.ndarray) -> tuple[float, float]:
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))


def _frac_se(hits: np.ndarray) -> tuple[float, float]:
    p = float(hits.mean())
    return p, math.sqrt(max(p * (1 - p), 1 / len(hits)) / len(hits))


def measure(N: int, M: int, seed: int = 0, sigma: float = 1.0) -> dict[str, Any]:
    """The sample statistics of ``draw`` with their standard errors: ``{name: (value,
    standard error)}`` with the names of ``exact``; plus the draws themselves."""
    d = draw(N, M, seed, sigma)
    r: dict[str, Any] = {"N": N, "M": M}
    r["cos_mean"], r["cos_std"] = _mean_se(d["cos"]), _std_se(d["cos"])
    r["angle_mean"], r["angle_std"] = _mean_se(d["angle"]), _std_se(d["angle"])
    r["norm_mean"], r["norm_std"] = _mean_se(d["norm"]), _std_se(d["norm"])
    r["dist_mean"], r["dist_std"] = _mean_se(d["dist"]), _std_se(d["dist"])
    r["shell"] = {k: _frac_se((d["norm"] >= r0) & (d["norm"] <= r1))
                  for k, (r0, r1) in shells(N, sigma).items()}  # fmt: skip
    r["mse_single"], r["mse_oracle"] = _mean_se(d["err_single"]), _mean_se(d["err_oracle"])
    r["mse_mean"] = {n: _mean_se(d[f"err_mean_{n}"]) for n in NS}
    r["p_mean_wins"] = {n: _frac_se(d[f"err_mean_{n}"] < d["err_single"]) for n in NS}
    return r | {"draws": d}


# -- the judge ------------------------------------------------------------------------------
def _pairs(meas: dict[str, Any], ex: dict[str, Any], prefix: str = "") -> list:
    """``(name, (value, se), exact)`` for every measured quantity (nested dicts flattened)."""
    out = []
    for k, v in meas.items():
        if k not in ex or k in ("N", "M"):
            continue
        if isinstance(v, dict):
            out += _pairs(v, ex[k], f"{prefix}{k}[")
        else:
            out.append((f"{prefix}{k}" + ("]" if prefix else ""), v, ex[k]))
    return out


def judge(rows: list[dict[str, Any]], exacts: list[dict[str, Any]],
          sigma: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """Every measurement within ``Z_MAX`` standard errors of its closed form, and the
    claims of the module docstring."""
    z_checks = []
    for r, e in zip(rows, exacts):
        for name, (value, se), target in _pairs(r, e):
            z = (value - target) / se if se > 0 else (0.0 if value == target else math.inf)
            z_checks.append({"N": r["N"], "quantity": name, "measured": value,
                             "exact": target, "se": se, "z": z})  # fmt: skip
    by_n = {r["N"]: r for r in rows}
    claims: dict[str, bool] = {}
    if 1000 in by_n:
        r = by_n[1000]
        claims["N = 1,000: std θ (rad) within 10 % of 1/√N"] = bool(
            abs(r["angle_std"][0] * math.sqrt(1000) - 1) < 0.1
        )
        claims["N = 1,000: std cos θ within 10 % of 1/√N"] = bool(
            abs(r["cos_std"][0] * math.sqrt(1000) - 1) < 0.1
        )
    claims["std ‖x‖ within 10 % of σ/√2 in every dimension"] = all(
        abs(r["norm_std"][0] / (sigma / math.sqrt(2)) - 1) < 0.1 for r in rows
    )
    claims["E‖x‖ within 3 % of σ√N for N ≥ 20"] = all(
        abs(r["norm_mean"][0] / (sigma * math.sqrt(r["N"])) - 1) < 0.03
        for r in rows
        if r["N"] >= 20
    )
    claims["the sample mean's squared error < the single sample's, every N and n"] = all(
        r["mse_mean"][n][0] < r["mse_single"][0] for r in rows for n in NS
    )
    if 10000 in by_n:
        claims["N = 10,000: the mean (n = 2) is closer on > 99 % of future points"] = bool(
            by_n[10000]["p_mean_wins"][2][0] > 0.99
        )
    worst = max(z_checks, key=lambda c: abs(c["z"]))
    claims[f"all {len(z_checks)} measurements within {Z_MAX:g} standard errors of the "
           "closed forms"] = abs(worst["z"]) <= Z_MAX  # fmt: skip
    return {"claims": claims, "reproduced": all(claims.values()), "z_checks": z_checks,
            "worst": worst}  # fmt: skip


# -- the experiment -------------------------------------------------------------------------
def run(quick: bool = False, seed: int = 0, data_dir: Any = None) -> dict[str, Any]:
    """The lab: ``measure`` in every dimension of ``DIMS``, the closed forms, the judge.
    ``data_dir`` is unused (no data set)."""
    M = 2000 if quick else 40000
    rows, hist = [], {}
    for N in DIMS:
        r = measure(N, M, seed, SIGMA)
        d = r.pop("draws")
        if N in HIST_DIMS:
            hist[N] = {k: d[k][:20000] for k in ("angle", "norm", "dist")}
        rows.append(r)
    exacts = [exact(N, SIGMA) for N in DIMS]
    return {"sigma": SIGMA, "samples": M, "dims": list(DIMS), "ns": list(NS),
            "rows": rows, "exact": exacts, "hist": hist,
            "judge": judge(rows, exacts, SIGMA)}  # fmt: skip


# -- the report -----------------------------------------------------------------------------
def report(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    from ..train.plots import _plt, _save
    from .common import markdown_table, output_dir, write_readme

    plt = _plt()
    out = output_dir(out_dir)
    sigma, rows, exacts, hist = (results["sigma"], results["rows"], results["exact"],
                                 results["hist"])  # fmt: skip
    dims = np.array([r["N"] for r in rows], dtype=np.float64)
    fine = np.unique(np.geomspace(2, dims.max(), 200).round()).astype(int)
    ex_fine = [exact(int(N), sigma) for N in fine]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(hist)))

    def val(key: str, sub: Any = None) -> tuple[np.ndarray, np.ndarray]:
        pick = [r[key] if sub is None else r[key][sub] for r in rows]
        return np.array([p[0] for p in pick]), np.array([p[1] for p in pick])

    def curve(key: str, sub: Any = None) -> np.ndarray:
        return np.array([e[key] if sub is None else e[key][sub] for e in ex_fine])

    fig, axes = plt.subplots(2, 4, figsize=(20, 8.5))
    ax = axes[0, 0]  # angle histograms and their densities
    t = np.linspace(1e-4, np.pi - 1e-4, 2000)
    for c, (N, h) in zip(colors, hist.items()):
        ax.hist(np.degrees(h["angle"]), bins=180, range=(0, 180), density=True,
                histtype="step", color=c, label=f"N = {N}")  # fmt: skip
        ax.plot(np.degrees(t), angle_density(t, N) * np.pi / 180, color=c, lw=1, ls="--")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 3)
    ax.set_xlabel("angle between two random vectors (degrees)")
    ax.set_ylabel("density (dashed: the sin^(N−2) θ law)")
    ax.set_title("random vectors are nearly orthogonal")
    ax.legend(fontsize=8)

    ax = axes[0, 1]  # spread of the angle and of its cosine
    for key, mk, label in [("angle_std", "o", "std θ (radians)"), ("cos_std", "s", "std cos θ")]:
        v, se = val(key)
        ax.errorbar(dims, v, yerr=5 * se, fmt=mk, ms=4, label=f"{label}, measured")
    ax.plot(fine, curve("angle_std"), "-", lw=1, label="√(½ψ₁(N/2)) (exact std θ)")
    ax.plot(fine, 1 / np.sqrt(fine), "--", lw=1, label="1/√N (exact std cos θ)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("dimension N")
    ax.set_title("angle → 90°, spread ∝ 1/√N")
    ax.legend(fontsize=8)

    ax = axes[0, 2]  # norm histograms in absolute units: the width does not grow
    for c, (N, h) in zip(colors, hist.items()):
        lo, hi = np.percentile(h["norm"], [0, 100])
        r = np.linspace(max(lo - 1, 1e-6), hi + 1, 400)
        ax.hist(h["norm"] / sigma, bins=60, density=True, histtype="step", color=c,
                label=f"N = {N}")  # fmt: skip
        ax.plot(r / sigma, chi_density(r, N, sigma) * sigma, color=c, lw=1, ls="--")
    ax.set_xscale("symlog", linthresh=2)
    ax.set_xlabel("‖x‖ / σ (dashed: the χ_N law; linear up to 2, then log)")
    ax.set_ylabel("density")
    ax.set_title("the norm sits at σ√N with spread ≈ σ/√2")
    ax.legend(fontsize=8)

    ax = axes[0, 3]  # mean and std of the norm
    v, se = val("norm_mean")
    ax.errorbar(dims, v / sigma, yerr=5 * se / sigma, fmt="o", ms=4, label="E‖x‖/σ, measured")
    ax.plot(fine, curve("norm_mean") / sigma, "-", lw=1, label="σ√2 Γ((N+1)/2)/Γ(N/2)")
    ax.plot(fine, np.sqrt(fine), "--", lw=1, label="√N")
    v, se = val("norm_std")
    ax.errorbar(dims, v / sigma, yerr=5 * se / sigma, fmt="s", ms=4,
                label="std ‖x‖/σ, measured")  # fmt: skip
    ax.plot(fine, curve("norm_std") / sigma, "-", lw=1, label="√(N − (E‖x‖/σ)²)")
    ax.axhline(1 / np.sqrt(2), ls="--", lw=1, color="gray", label="1/√2")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("dimension N")
    ax.set_title("mean grows as σ√N, std stays ≈ σ/√2")
    ax.legend(fontsize=8)

    ax = axes[1, 0]  # shells
    for sub, mk, label in [("relative", "o", f"|‖x‖/σ√N − 1| ≤ {SHELL_EPS:g}"),
                           ("width 2σ", "s", "|‖x‖ − σ√N| ≤ σ")]:  # fmt: skip
        v, se = val("shell", sub)
        line = ax.plot(fine, curve("shell", sub), "-", lw=1)[0]
        ax.errorbar(dims, v, yerr=5 * se, fmt=mk, ms=4, color=line.get_color(), label=label)
    ax.axhline(math.erf(1), ls="--", lw=1, color="gray", label="erf(1) = 0.843")
    ax2 = ax.twinx()
    ax2.plot(fine, 2 / np.sqrt(fine), ":", color="gray")
    ax2.set_ylabel("dotted: 2/√N, the fixed-width shell's relative thickness")
    ax2.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("dimension N")
    ax.set_ylabel("fraction of the mass in the shell (lines: χ²_N law)")
    ax.set_title("the mass lies in a thin shell")
    ax.legend(fontsize=8, loc="center right")

    ax = axes[1, 1]  # estimators: mean squared errors
    for key, sub, label in [("mse_single", None, "single sample x₁"),
                            *[("mse_mean", n, f"mean of n = {n}") for n in NS],
                            ("mse_oracle", None, "true mean μ (oracle)")]:  # fmt: skip
        v, se = val(key, sub)
        line = ax.plot(fine, curve(key, sub) * np.ones(len(fine)), "-", lw=1)[0]
        ax.errorbar(dims, v, yerr=5 * se, fmt="o", ms=4, color=line.get_color(), label=label)
    ax.set_xscale("log")
    ax.set_xlabel("dimension N")
    ax.set_ylabel("E‖x' − x̂‖² / (Nσ²)  (lines: 2, 1 + 1/n, 1)")
    ax.set_title("predicting a future point x'")
    ax.legend(fontsize=8)

    ax = axes[1, 2]  # how often the mean is closer
    for n in NS:
        v, se = val("p_mean_wins", n)
        line = ax.plot(fine, curve("p_mean_wins", n), "-", lw=1)[0]
        ax.errorbar(dims, v, yerr=5 * se, fmt="o", ms=4, color=line.get_color(),
                    label=f"mean of n = {n}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("dimension N")
    ax.set_ylabel("P(‖x' − x̄‖ < ‖x' − x₁‖)  (lines: 1 − I_t(N/2, N/2))")
    ax.set_title("the mean is closer on almost every future point")
    ax.legend(fontsize=8)

    ax = axes[1, 3]  # pairwise distances relative to σ√(2N)
    for c, (N, h) in zip(colors, hist.items()):
        scale = sigma * math.sqrt(2 * N)
        r = np.linspace(1e-6, 2.5 * scale, 2000)
        ax.hist(h["dist"] / scale, bins=250, range=(0, 2.5), density=True, histtype="step",
                color=c, label=f"N = {N}")  # fmt: skip
        ax.plot(r / scale, chi_density(r, N, sigma * math.sqrt(2)) * scale, color=c, lw=1,
                ls="--")  # fmt: skip
    ax.set_xlim(0, 2.5)
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 100)
    ax.set_xlabel("‖x − y‖ / (σ√(2N))  (dashed: the σ√2 χ_N law)")
    ax.set_ylabel("density")
    ax.set_title("all pairs of points are equally far apart")
    ax.legend(fontsize=8)
    fig.suptitle(f"isotropic Gaussians N(0, σ²I_N), σ = {sigma:g}: "
                 f"{results['samples']:,} trials per dimension (error bars: 5 s.e.)")  # fmt: skip
    fig.tight_layout()
    paths = [_save(fig, out / "high_dim.png")]

    def pm(v: tuple[float, float], digits: int = 4, scale: float = 1.0) -> str:
        return f"{scale * v[0]:.{digits}f} ± {scale * v[1]:.{digits}f}"

    angle_table = markdown_table(
        ["N", "E θ (°)", "std θ (rad)", "exact √(½ψ₁(N/2))", "√N · std θ", "exact",
         "√N · std cos θ (exact 1)"],
        [[r["N"], f"{math.degrees(r['angle_mean'][0]):.2f}", pm(r["angle_std"], 5),
          f"{e['angle_std']:.5f}", pm(r["angle_std"], 4, math.sqrt(r["N"])),
          f"{e['angle_std'] * math.sqrt(r['N']):.4f}", pm(r["cos_std"], 4, math.sqrt(r["N"]))]
         for r, e in zip(rows, exacts)],
    )  # fmt: skip
    norm_table = markdown_table(
        ["N", "E‖x‖/σ", "exact", "√N", "std ‖x‖/σ", "exact (→ 1/√2 = 0.7071)",
         f"shell ±{SHELL_EPS:g}·σ√N", "exact", "shell σ√N ± σ", "exact"],
        [[r["N"], pm(r["norm_mean"], 3), f"{e['norm_mean']:.3f}", f"{math.sqrt(r['N']):.3f}",
          pm(r["norm_std"]), f"{e['norm_std']:.4f}", pm(r["shell"]["relative"]),
          f"{e['shell']['relative']:.4f}", pm(r["shell"]["width 2σ"]),
          f"{e['shell']['width 2σ']:.4f}"] for r, e in zip(rows, exacts)],
    )  # fmt: skip
    est_table = markdown_table(
        ["N", "single x₁ (exact 2)", *[f"mean n = {n} (exact {1 + 1 / n:g})" for n in NS],
         *[f"P(mean n = {n} closer)" for n in NS]],
        [[r["N"], pm(r["mse_single"]), *[pm(r["mse_mean"][n]) for n in NS],
          *[f"{r['p_mean_wins'][n][0]:.4f} (exact {e['p_mean_wins'][n]:.4f})" for n in NS]]
         for r, e in zip(rows, exacts)],
    )  # fmt: skip
    j = results["judge"]
    w = j["worst"]
    claims = "\n".join(f"- {'✓' if ok else '✗'} {name}" for name, ok in j["claims"].items())
    verdict = "**reproduced**" if j["reproduced"] else "**not reproduced**"
    parts = __doc__.split("\n\n")
    rest = "\n\n".join(parts[2:])  # source, closed forms, what is run, the judge
    body = f"""
{parts[1]}

![high-dimensional Gaussians](high_dim.png)

## Verdict: {verdict}

{claims}

The largest deviation from a closed form: {w["quantity"]} at N = {w["N"]}, measured
{w["measured"]:.5g} against {w["exact"]:.5g} ({w["z"]:+.2f} standard errors).

## Angles ({results["samples"]:,} pairs per dimension; ± one standard error)

{angle_table}

## Norms and shells ({2 * results["samples"]:,} vectors per dimension; units of σ)

{norm_table}

## Predicting a future point: E‖x' − x̂‖² / (Nσ²), and how often the mean is closer

{est_table}

{rest}
"""
    paths.append(write_readme(out, "Lab: high-dimensional Gaussians", body))
    return paths
