"""The float-nonlinearity lab: float32 near underflow is not real arithmetic, a deep
"linear" net is nonlinear there, and ES (unlike backprop) can use it.

The quick run (1,000 training images, 50 ES steps) can only show that ES trains the
float net far above chance and that backprop gains nothing from the float effects; the
claim "ES beats the best linear classifier" is judged on the full run
(docs/labs/float-nonlinearity/README.md)."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile.labs import float_nonlinearity as lab


@pytest.fixture(scope="module")
def results(mnist_dir):
    return lab.run(quick=True, seed=0, data_dir=mnist_dir)


@pytest.fixture
def mnist_results(results):
    if "mnist_skipped" in results:
        pytest.skip(f"no MNIST: {results['mnist_skipped']}")
    return results


def bits(v) -> int:
    return int(np.float32(v).view(np.uint32))


def test_blogs_examples_reproduce_bit_for_bit_under_ftz(results):
    ex = {r["expression"]: r for r in results["examples"]}
    r = ex["(a + b)·c vs a·c + b·c"]  # a = 0.4·min, b = 0.5·min, c = 1/min
    assert bits(r["lhs"]) == bits(0.0)
    assert bits(r["rhs"]) == bits(np.float32(0.9))
    r = ex["(a + b) + c vs (b + c) + a"]  # a = 2.5·min, b = −1.6·min, c = min
    assert bits(r["lhs"]) == bits(lab.MIN)
    assert bits(r["rhs"]) == bits(np.float32(2.5 * 2.0**-126))
    r = ex["(x − a) + a vs x"]  # x = 1.5·min, a = min
    assert bits(r["lhs"]) == bits(lab.MIN) and r["rhs"] != r["lhs"]


def test_subnormal_analogue_in_numpys_own_arithmetic(results):
    ex = {r["expression"]: r for r in results["examples"]}
    r = ex["(a·s + b·s)/s vs a + b"]  # s = 2⁻¹⁴⁹: 0.4·s and 0.5·s round to 0
    assert bits(r["lhs"]) == bits(0.0) and bits(r["rhs"]) == bits(np.float32(0.9))
    r = ex["(a + b)·s vs a·s + b·s"]  # not distributive
    assert bits(r["lhs"]) == bits(lab.SUB) and bits(r["rhs"]) == bits(0.0)
    r = ex["(a·s)·2 vs a·(s·2)"]  # not associative
    assert bits(r["lhs"]) == bits(0.0) and bits(r["rhs"]) == bits(lab.SUB)
    r = ex["(x + a) − a vs x"]  # (x + a) − a ≠ x at ordinary scale too (x = 1e-8, a = 1)
    assert bits(r["lhs"]) == bits(0.0) and bits(r["rhs"]) == bits(np.float32(1e-8))
    # LABS.md's staircase: (x·s)/s for x = −3 … 3 in steps of ½ (halves round to even)
    sc = results["staircase_examples"]
    assert sc["y"] == [-3, -2, -2, -2, -1, 0, 0, 0, 1, 2, 2, 2, 3]
    assert [np.signbit(v) for v in sc["y"]][5] and not np.signbit(sc["y"][6])  # −0, +0


def test_staircase_is_the_identity_at_ordinary_scale_and_a_dead_zone_under_ftz():
    x = np.linspace(-3, 3, 601, dtype=np.float32)
    assert (lab.staircase(x, 1.0) == x).all()
    assert (lab.staircase(x, 2.0**-100) == x).all()  # tiny but normal: still exact
    dz = lab.staircase(x, 2.0**-125, flush=True)
    assert (dz[np.abs(x) < 0.5] == 0).all() and (dz[np.abs(x) >= 0.5] == x[np.abs(x) >= 0.5]).all()
    # without FTZ, below ½ the product is subnormal: x is rounded to the grid 2⁻²⁴
    assert np.abs(lab.staircase(x, 2.0**-125) - x).max() <= 2.0**-25


def test_linear_net_is_nonlinear_near_underflow_and_linear_at_ordinary_scale(results):
    hom = results["homogeneity"]
    assert hom["blog scaling 2^125 (FTZ)"] > 0.1  # f(2x) ≠ 2f(x) by more than 10%
    assert hom["ordinary scale (1)"] == 0.0  # doubling is exact in float32
    # additivity too: f(x1 + x2) vs f(x1) + f(x2) (zero biases at init)
    rng = np.random.default_rng(1)
    x1, x2 = rng.random((2, 200, 784), dtype=np.float32) * 0.5
    for scaling, lo, hi in [(lab.SCALING, 0.1, np.inf), (1.0, 0.0, 1e-5)]:
        net = lab.make_net(0, scaling=scaling)
        f12, f1, f2 = lab.predict(net, x1 + x2), lab.predict(net, x1), lab.predict(net, x2)
        err = np.linalg.norm(f12 - f1 - f2) / np.linalg.norm(f12)
        assert lo <= err < hi, (scaling, err)


def test_flush_zeroes_below_min_and_is_invisible_to_autograd():
    v = np.float32([3e-39, -1e-39, 2e-38, -5.0, 0.0])
    t = stirpile.tensor(v, requires_grad=True)
    out = lab.flush(t)
    assert out.dtype == stirpile.float32
    assert (out.detach().numpy() == lab.ftz(v)).all()
    assert (lab.ftz(v) == np.float32([0, 0, 2e-38, -5, 0])).all()
    (out * stirpile.tensor(np.arange(5, dtype=np.float32))).sum().backward()
    assert (t.grad.numpy() == np.arange(5)).all()  # straight through


def test_population_logits_match_the_net():
    rng = np.random.default_rng(0)
    x = rng.random((30, 784), dtype=np.float32)
    net = lab.make_net(0)
    params = lab.get_params(net)
    H = 2
    noise = [tuple(rng.standard_normal((H, n), dtype=np.float32) for n in (i, o, o))
             for i, o in zip(lab.SIZES, lab.SIZES[1:])]  # fmt: skip
    ref = lab.predict(net, x)
    np.testing.assert_allclose(lab.population_logits(params, x, noise, 0.0), np.stack([ref] * 4),
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    sigma = 0.02  # member 1 is θ + σε_1, member H + 1 is θ − σε_1
    out = lab.population_logits(params, x, noise, sigma)
    for member, sign in [(1, 1), (H + 1, -1)]:
        moved = []
        for k, (u, v, e) in enumerate(noise):
            moved += [params[2 * k] + np.float32(sign * sigma) * np.outer(u[1], v[1]),
                      params[2 * k + 1] + np.float32(sign * sigma) * e[1]]  # fmt: skip
        lab.set_params(net, moved)
        np.testing.assert_allclose(out[member], lab.predict(net, x), rtol=1e-4, atol=1e-4)


def test_cross_entropy_matches_stirpile():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 8, 10)).astype(np.float32) * 3
    y = rng.integers(0, 10, 8)
    F = stirpile.nn.functional
    ref = [float(F.cross_entropy(stirpile.tensor(z), stirpile.tensor(y))) for z in logits]
    np.testing.assert_allclose(lab.cross_entropy(logits, y), ref, rtol=1e-5)


def test_ridge_classifier_picks_the_best_test_lambda():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 300)
    x = (np.eye(10)[y] @ rng.random((10, 784)) + 0.3 * rng.random((300, 784))).astype(np.float32)
    data = {"x_train": x[:200], "y_train": y[:200], "x_test": x[200:], "y_test": y[200:]}
    best = lab.ridge_classifier(data, lams=(1e-2, 1.0))
    assert best["lam"] in (1e-2, 1.0) and best["test_acc"] > 0.9


def test_es_trains_the_float_net_far_above_chance(mnist_results):
    es = mnist_results["es"]
    assert es["init_test_acc"] < 0.2  # the blog's init: near chance
    assert es["final_test_acc"] > 0.3  # 50 ES steps of 40 members; chance is 10%
    assert es["loss"][-1] < es["loss"][0]
    assert es["test_acc"][-1] > es["test_acc"][0]


def test_backprop_gains_nothing_from_the_float_effects(mnist_results):
    bp = mnist_results["backprop"]
    # autodiff sees a linear net: the float net does what its weights do as a linear map
    assert abs(bp["final_test_acc"] - bp["linear_test_acc"]) < 0.02
    assert bp["final_test_acc"] > 0.75
    assert mnist_results["backprop_margin_pp"] < 2.0  # no better than the best linear model


def test_es_and_backprop_are_reported_against_the_best_linear_classifier(mnist_results):
    r = mnist_results
    best = max(r[k]["test_acc"] for k in ("ridge", "softmax", "linear_net"))
    assert r["best_linear_test_acc"] == best > 0.75
    assert r["es_margin_pp"] == pytest.approx(100 * (r["es"]["final_test_acc"] - best))
    assert r["backprop_margin_pp"] == pytest.approx(100 * (r["backprop"]["final_test_acc"] - best))


def test_report_writes_figures_and_table(results, tmp_path):
    names = {p.name for p in lab.report(results, tmp_path)}
    assert {"staircase.png", "README.md"} <= names
    text = (tmp_path / "README.md").read_text()
    assert "(a + b)·c vs a·c + b·c" in text
    if "mnist_skipped" not in results:
        assert "training.png" in names
        assert "| model | train acc | test acc |" in text
