"""The deep-linear lab (Saxe et al. 2014): its quick run against the analytic curves."""

from __future__ import annotations

import numpy as np
import pytest

from stirpile.labs import deep_linear as lab


@pytest.fixture(scope="module")
def results():
    return lab.run(quick=True, seed=0)


def _runs(results, init, depth=None):
    return [r for r in results["runs"] if r["init"] == init and depth in (None, r["depth"])]


def test_decoupled_simulations_follow_the_theory_within_10_percent(results):
    runs = _runs(results, "decoupled")
    assert {r["depth"] for r in runs} == {1, 2, 3}
    for r in runs:
        assert r["rel_error"] < 0.10, r["name"]
        # and the half-way times agree to within a few steps
        assert np.allclose(r["t_half"], r["t_half_theory"], atol=3), r["name"]


def test_deep_nets_learn_strong_modes_first_in_time_proportional_to_1_over_s(results):
    s, tau = np.array(lab.S), results["tau"]
    for r in _runs(results, "decoupled", 2) + _runs(results, "decoupled", 3):
        t_half = np.array(r["t_half"], dtype=float)
        assert (np.diff(t_half) > 0).all()  # S is sorted strong to weak
        products = t_half * s
        assert products.max() / products.min() < 1.5  # t_half·s ≈ constant (up to a log)
    # the 2-layer formula t_half = τ/(2s) ln(s/u0 − 1), derived in the docstring
    (deep,) = _runs(results, "decoupled", 2)
    expected = tau / (2 * s) * np.log(s / lab.U0 - 1)
    assert np.allclose(deep["t_half"], expected, atol=2)


def test_a_shallow_net_learns_every_mode_on_the_same_time_scale(results):
    (shallow,) = _runs(results, "decoupled", 1)
    assert max(shallow["t_half"]) - min(shallow["t_half"]) <= 1
    assert shallow["t_half"][0] == pytest.approx(results["tau"] * np.log(2), abs=2)


def test_random_small_init_matches_qualitatively(results):
    (r,) = _runs(results, "random", 2)
    assert all(t is not None for t in r["t_half"])
    assert (np.diff(r["t_half"]) > 0).all()  # still strongest first
    assert np.allclose(r["sim"][-1], lab.S, rtol=0.01)  # and every mode is learned


def test_theory_integrator_agrees_with_the_closed_forms():
    t = np.arange(0, 800.0)
    for depth in (1, 2):
        exact = lab.theory(t, 1.0, 1e-3, 100.0, depth)
        numeric = lab.theory_ode(t, 1.0, 1e-3, 100.0, depth)  # used for depth >= 3
        assert np.abs(exact - numeric).max() < 1e-4


def test_report_writes_figures_and_table(results, tmp_path):
    paths = lab.report(results, tmp_path)
    names = {p.name for p in paths}
    assert {"modes.png", "t_half.png", "README.md"} <= names
    assert all(p.stat().st_size > 0 for p in paths)
    readme = (tmp_path / "README.md").read_text()
    assert "| run |" in readme and "t_half" in readme
