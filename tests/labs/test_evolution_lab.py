"""The evolution lab (MacKay, ITILA ch. 19): the pieces of the simulation, and the claims
on the quick run — generations to perfection ~G with mutation, ~√G with sex, the sine
law, and the bits gained per generation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stirpile.labs import evolution as lab


@pytest.fixture(scope="module")
def results():
    return lab.run(quick=True, seed=0)


# -- the pieces ----------------------------------------------------------------------------
def test_random_bits_are_fair_coins():
    bits = lab.random_bits(np.random.default_rng(0), (100, 1001))
    assert bits.shape == (100, 1001) and bits.dtype == np.bool_
    assert abs(bits.mean() - 0.5) < 5 * 0.5 / math.sqrt(bits.size)


def test_initial_population_has_exactly_half_ones():
    pop = lab.initial_population(50, 40, np.random.default_rng(0))
    assert pop.shape == (50, 40) and pop.dtype == np.bool_
    assert (lab.fitness(pop) == 20).all()
    assert len({row.tobytes() for row in pop}) == 50  # at random places


def test_crossover_takes_each_bit_from_a_parent():
    rng = np.random.default_rng(0)
    same = np.tile(rng.random(30) < 0.5, (6, 1))
    np.testing.assert_array_equal(lab.crossover(same, rng), np.tile(same[0], (12, 1)))
    parents = np.array([[False] * 2000, [True] * 2000])  # one couple, 4 children
    kids = lab.crossover(parents, rng)
    assert kids.shape == (4, 2000)
    assert (np.abs(kids.mean(1) - 0.5) < 0.06).all()  # half from each parent, per child
    assert lab.crossover(np.zeros((7, 10), bool), rng).shape == (12, 10)  # odd N: one idle


@pytest.mark.parametrize("m", [0.0, 0.002, 0.2])  # none, the sparse and the dense draw
def test_mutation_flips_bits_at_rate_m(m):
    rng = np.random.default_rng(1)
    parents = lab.initial_population(200, 500, rng)
    kids = lab.mutate(parents, m, rng)
    assert kids.shape == (400, 500)
    flips = kids ^ np.repeat(parents, 2, axis=0)
    sd = math.sqrt(flips.size * m * (1 - m))
    assert abs(flips.sum() - m * flips.size) <= 5 * sd


def test_truncation_keeps_the_fittest_and_breaks_ties_at_random():
    kids = np.zeros((6, 4), bool)
    kids[0, :3] = kids[1, :2] = kids[2, 1:3] = kids[3, 2:] = True  # F = 3, 2, 2, 2, 0, 0
    picks = set()
    for seed in range(20):
        kept = lab.truncate(kids, 2, np.random.default_rng(seed))
        assert sorted(lab.fitness(kept)) == [2, 3]
        picks.add(int(np.flatnonzero((kids == kept[lab.fitness(kept) == 2]).all(1))[0]))
    assert picks == {1, 2, 3}  # every tied child gets its chance


def test_adaptive_rate():
    assert lab.adaptive_rate(0.5, 1000) == 0.5  # no information yet: random children
    assert lab.adaptive_rate(1.0, 1000) == pytest.approx(1 / 4000)  # → 1/(4G)
    assert lab.adaptive_rate(0.75, 100) == pytest.approx(1 / (16 * 100 * 0.0625))


def test_sine_law_and_time_to_perfection():
    g = 400
    assert lab.ETA == pytest.approx(0.6237, abs=1e-4)
    assert lab.sex_time(g) == pytest.approx(math.pi / 2 * math.sqrt(g) / lab.ETA)
    assert lab.sex_time(1) == pytest.approx(2.519, abs=1e-3)  # ≈ 2.53 with η ≈ 0.62
    t = np.array([0.0, lab.sex_time(g, 0.75), lab.sex_time(g), 2 * lab.sex_time(g)])
    np.testing.assert_allclose(lab.sine_law(t, g), [0.5, 0.75, 1.0, 1.0])
    # the sine law solves dF/dt = η √(f(1 − f) G): the theory band gain at f ≈ ½
    assert lab.band_gain_theory("sex", 0.5, 0.501, g) == pytest.approx(
        lab.ETA * math.sqrt(g) / 2, rel=1e-3
    )
    assert lab.band_gain_theory("adaptive", 0.625, 0.75, g) == pytest.approx(2 / 3)


def test_measurements():
    slope, c = lab.fit_loglog([10, 100, 1000], [3 * 10**0.5, 3 * 100**0.5, 3 * 1000**0.5])
    assert slope == pytest.approx(0.5) and c == pytest.approx(3)
    F = np.arange(50, 101, dtype=float)  # one bit per generation from f = ½ (G = 100)
    assert lab.band_gain(F, 100, 0.5, 0.75) == pytest.approx(1.0)
    assert math.isnan(lab.band_gain(F[:10], 100, 0.5, 0.75))  # never got there
    assert lab.sine_deviation(lab.sine_law(np.arange(40), 100) * 100, 100) < 1e-12


def test_evolve_is_seeded_and_checks_its_arguments():
    a, b = lab.evolve(50, 40, "sex", seed=3), lab.evolve(50, 40, "sex", seed=3)
    assert a == b and a["mean_F"][0] == 25 and a["mean_F"][-1] == 50
    assert a["T"] == len(a["mean_F"]) - 1
    with pytest.raises(ValueError, match="unknown mode"):
        lab.evolve(50, 40, "asexual")
    with pytest.raises(ValueError, match="even genome length"):
        lab.evolve(51, 40, "sex")


# -- the claims on the quick run -------------------------------------------------------------
def test_every_population_reaches_perfection(results):
    for mode, by_g in results["runs"].items():
        for g, runs in by_g.items():
            assert all(r["T"] is not None and r["mean_F"][-1] == g for r in runs), (mode, g)


def test_mutation_needs_about_G_generations_sex_about_sqrt_G(results):
    s = results["slopes"]
    assert s["sex"] == pytest.approx(0.5, abs=0.15)
    assert s["adaptive"] == pytest.approx(1.0, abs=0.15)
    assert s["mG=0.25"] == pytest.approx(1.0, abs=0.15)
    T = results["T"]
    for g in results["G"]:
        assert 0.5 <= T["adaptive"][g] / g <= 3 and 0.5 <= T["mG=0.25"][g] / g <= 3
        assert T["sex"][g] / lab.sex_time(g) == pytest.approx(1, abs=0.12)
    # the gap between them widens like √G
    ratio = [T["adaptive"][g] / T["sex"][g] for g in results["G"]]
    assert lab.fit_loglog(results["G"], ratio)[0] == pytest.approx(0.5, abs=0.15)


def test_sex_fitness_follows_the_sine_law(results):
    for g, runs in results["runs"]["sex"].items():
        for r in runs:
            assert lab.sine_deviation(r["mean_F"], g) < 0.03


def test_bits_per_generation(results):
    for g in results["G"]:
        sex = results["runs"]["sex"][g][0]["mean_F"]
        gain = (sex[5] - sex[0]) / 5  # ≈ η√G/2 at f ≈ ½
        assert gain / (lab.ETA * math.sqrt(g) / 2) == pytest.approx(1, abs=0.1)
        for mode in ["adaptive", "mG=0.25"]:
            F = results["runs"][mode][g][0]["mean_F"]
            mean_rate = (g / 2) / results["T"][mode][g]  # bits per generation, whole run
            assert 0.2 < mean_rate < 1.0
            late = [lab.band_gain(F, g, a, b) for a, b in lab.BANDS[1:]]
            assert max(late) < 1.0  # below one bit per generation once δf > 0.125
            assert (g / 2) / results["T"]["sex"][g] > 4 * mean_rate


def test_a_large_fixed_mutation_rate_stalls(results):
    load = results["load"]
    g, F = load["G"], load["mean_F"]
    plateau = np.mean(F["mG=1"][-len(F["mG=1"]) // 4 :]) / g
    assert 0.9 < plateau < 0.99
    assert F["mG=0.25"][-1] == g and F["adaptive"][-1] == g


def test_judge_passes_on_the_quick_run(results):
    failed = [k for k, (_, _, ok) in results["judge"].items() if not ok]
    assert not failed


def test_report_writes_figures_and_tables(results, tmp_path):
    names = {p.name for p in lab.report(results, tmp_path)}
    assert names == {"time_to_perfection.png", "fitness_curves.png",
                     "bits_per_generation.png", "mutational_load.png", "README.md"}  # fmt: skip
    text = (tmp_path / "README.md").read_text()
    assert "| G | T sex |" in text and "| check | measured | target | passed |" in text
    assert "**no**" not in text
