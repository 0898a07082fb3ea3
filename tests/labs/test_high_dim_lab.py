"""The high-dim lab: the closed forms against SciPy and small simulations, and the claims on
the quick run (the full run's numbers are in docs/labs/high-dim/)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stirpile.labs import high_dim as lab


@pytest.fixture(scope="module")
def quick():
    return lab.run(quick=True, seed=0)


@pytest.fixture(scope="module")
def rows(quick):
    return {r["N"]: (r, e) for r, e in zip(quick["rows"], quick["exact"])}


def _within(measured: tuple[float, float], exact: float, z: float = lab.Z_MAX) -> bool:
    value, se = measured
    return abs(value - exact) <= z * se + 1e-12


# -- the claims, on the quick run ----------------------------------------------------------
def test_angle_spread_is_one_over_root_n_at_n_1000(rows):
    r, e = rows[1000]
    assert abs(r["angle_std"][0] * math.sqrt(1000) - 1) < 0.1  # radians
    assert abs(r["cos_std"][0] * math.sqrt(1000) - 1) < 0.1
    assert abs(math.degrees(r["angle_mean"][0]) - 90) < 0.5
    assert _within(r["angle_std"], e["angle_std"]) and _within(r["cos_std"], e["cos_std"])


def test_angles_match_their_closed_forms_in_every_dimension(rows):
    for N, (r, e) in rows.items():
        assert _within(r["cos_mean"], 0.0), N
        assert _within(r["cos_std"], 1 / math.sqrt(N)), N
        assert _within(r["angle_mean"], math.pi / 2), N
        assert _within(r["angle_std"], e["angle_std"]), N


def test_norm_concentrates_std_stays_sigma_over_root_two(quick, rows):
    sigma = quick["sigma"]
    for N, (r, e) in rows.items():
        assert abs(r["norm_std"][0] / (sigma / math.sqrt(2)) - 1) < 0.1, N
        assert _within(r["norm_std"], e["norm_std"]), N
        assert _within(r["norm_mean"], e["norm_mean"]), N
        if N >= 20:
            assert abs(r["norm_mean"][0] / (sigma * math.sqrt(N)) - 1) < 0.03, N
    # the relative spread shrinks like 1/√(2N)
    r = rows[10000][0]
    assert r["norm_std"][0] / r["norm_mean"][0] < 0.01


def test_shell_fractions_match_the_chi_square_law(rows):
    for N, (r, e) in rows.items():
        for name in ("relative", "width 2σ"):
            assert _within(r["shell"][name], e["shell"][name]), (N, name)
    assert rows[2][0]["shell"]["relative"][0] < 0.3  # a thin shell holds little in 2-d …
    assert rows[10000][0]["shell"]["relative"][0] == 1.0  # … and everything in 10,000-d
    # the fixed-width shell's share tends to erf(1) as its relative thickness vanishes
    assert abs(rows[10000][1]["shell"]["width 2σ"] - math.erf(1)) < 1e-4


def test_estimator_errors_match_their_closed_forms(rows):
    for N, (r, e) in rows.items():
        assert _within(r["mse_single"], 2.0), N
        assert _within(r["mse_oracle"], 1.0), N
        for n in lab.NS:
            assert _within(r["mse_mean"][n], 1 + 1 / n), (N, n)
            assert _within(r["p_mean_wins"][n], e["p_mean_wins"][n]), (N, n)
            assert r["mse_mean"][n][0] < r["mse_single"][0]
    assert rows[10000][0]["p_mean_wins"][2][0] > 0.99
    assert rows[2][0]["p_mean_wins"][2][0] < 0.8  # in 2-d only on average


def test_judge_passes_and_the_report_says_so(quick, tmp_path):
    j = quick["judge"]
    assert j["reproduced"], j["claims"]
    assert len(j["z_checks"]) == len(lab.DIMS) * 18
    paths = lab.report(quick, tmp_path)
    assert {p.name for p in paths} == {"high_dim.png", "README.md"}
    text = (tmp_path / "README.md").read_text()
    assert "**reproduced**" in text and "| N | E θ (°) |" in text


def test_judge_flags_a_wrong_measurement(quick):
    rows = [dict(r) for r in quick["rows"]]
    i = lab.DIMS.index(1000)
    value, se = rows[i]["angle_std"]
    rows[i]["angle_std"] = (1.2 * value, se)  # 20 % off: fails both judges
    j = lab.judge(rows, quick["exact"], quick["sigma"])
    assert not j["reproduced"]
    assert j["worst"]["quantity"] == "angle_std" and j["worst"]["N"] == 1000


# -- the pieces ------------------------------------------------------------------------------
def test_draw_is_seeded_chunked_and_scales_with_sigma(monkeypatch):
    a = lab.draw(50, 300, seed=1)
    assert set(a) >= {"cos", "angle", "norm", "dist", "err_single", "err_oracle"}
    assert len(a["cos"]) == 300 and len(a["norm"]) == 600
    np.testing.assert_array_equal(lab.draw(50, 300, seed=1)["cos"], a["cos"])  # seeded
    monkeypatch.setattr(lab, "CHUNK", 50 * 7)  # 7 rows per chunk (the last one short)
    b = lab.draw(50, 300, seed=1)
    assert all(len(b[k]) == len(a[k]) for k in a)
    assert abs(b["norm"].mean() - a["norm"].mean()) < 0.2  # E‖x‖ = 7.04, std 0.71
    monkeypatch.undo()
    c = lab.draw(50, 300, seed=1, sigma=3.0)
    np.testing.assert_allclose(c["norm"], 3 * a["norm"])
    np.testing.assert_allclose(c["cos"], a["cos"])
    np.testing.assert_allclose(c["err_mean_10"], a["err_mean_10"])  # in units of Nσ²
    assert not np.allclose(lab.draw(50, 300, seed=2)["cos"], a["cos"])


def test_draw_single_sample_and_mean_agree_when_n_is_one():
    d = lab.draw(5, 100, seed=0)
    np.testing.assert_allclose(d["err_single"], d["dist"] ** 2 / 5)
    # single sample: the angle, cosine and distance are one geometry
    x2 = d["norm"][:100] ** 2 + d["norm"][100:] ** 2
    cross = 2 * d["norm"][:100] * d["norm"][100:] * d["cos"]
    np.testing.assert_allclose(d["dist"] ** 2, x2 - cross)


def test_measure_with_sigma_matches_the_closed_forms():
    r, e = lab.measure(20, 4000, seed=3, sigma=2.5), lab.exact(20, 2.5)
    assert _within(r["norm_mean"], e["norm_mean"]) and _within(r["norm_std"], e["norm_std"])
    assert abs(e["norm_std"] / (2.5 / math.sqrt(2)) - 1) < 0.01
    for name in ("relative", "width 2σ"):
        assert _within(r["shell"][name], e["shell"][name])


def test_closed_forms_small_dimensions():
    assert lab.angle_std(2) == pytest.approx(math.pi / math.sqrt(12), rel=1e-12)  # uniform
    assert lab.angle_std(3) ** 2 == pytest.approx(math.pi**2 / 4 - 2, rel=1e-10)
    assert lab.angle_std(10**6) * 1000 == pytest.approx(1, abs=1e-6)
    m, s = lab.norm_moments(3)  # the Maxwell law
    assert m == pytest.approx(2 * math.sqrt(2 / math.pi), rel=1e-12)
    assert s**2 == pytest.approx(3 - 8 / math.pi, rel=1e-10)
    m, s = lab.norm_moments(10**4)
    assert m == pytest.approx(100 * (1 - 1 / 4e4), rel=1e-8) and s == pytest.approx(
        math.sqrt(0.5), rel=1e-4
    )
    # shells in 2-d: the Rayleigh law, P(‖x‖ ≤ r) = 1 − e^(−r²/2)
    assert lab.shell_fraction(2, 0.5, 1.5) == pytest.approx(
        math.exp(-0.125) - math.exp(-1.125), rel=1e-12
    )
    # the estimator comparison: identical estimators at n = 1; 1/(1 + κ) in 2-d
    c = 1 + 1 / 2
    root = math.sqrt((2 - c) * (2 + 3 * c))
    kappa = -((2 - c) - root) / ((2 - c) + root)
    assert lab.mean_beats_single(2, 2) == pytest.approx(1 / (1 + kappa), rel=1e-12)
    assert lab.mean_beats_single(10**4, 2) == pytest.approx(1.0)


def test_densities_integrate_to_one():
    for N in (2, 3, 10, 1000):
        t = np.linspace(0, np.pi, 200001)
        assert np.trapezoid(lab.angle_density(t, N), t) == pytest.approx(1, abs=1e-6)
        r = np.linspace(0, math.sqrt(N) + 12, 200001)
        assert np.trapezoid(lab.chi_density(r, N), r) == pytest.approx(1, abs=1e-6)


def test_closed_forms_error_cases():
    with pytest.raises(ValueError, match="z > 0"):
        lab.trigamma(0.0)
    assert lab.gammainc(3.0, 0.0) == 0.0
    assert lab.betainc(2.0, 3.0, 0.0) == 0.0 and lab.betainc(2.0, 3.0, 1.0) == 1.0


def test_special_functions_match_scipy():
    special = pytest.importorskip("scipy.special")
    for z in (0.3, 1.0, 2.5, 9.9, 50.0, 5000.0):
        assert lab.trigamma(z) == pytest.approx(special.polygamma(1, z), rel=1e-11)
    for a, x in [(1, 0.5), (2.5, 3), (0.5, 30), (500, 400), (500, 700), (5000, 4900)]:
        assert lab.gammainc(a, x) == pytest.approx(special.gammainc(a, x), rel=1e-9, abs=1e-12)
    for a, b, x in [(2.5, 7, 0.4), (50, 50, 0.45), (5000, 5000, 0.49), (3, 1, 0.9),
                    (0.5, 0.5, 0.2)]:  # fmt: skip
        assert lab.betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-9)
