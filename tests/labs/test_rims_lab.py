"""The RIMs lab: the copying data, the judge, and a smoke-sized run end to end (the full
run's numbers are in docs/labs/rims/)."""

from __future__ import annotations

import numpy as np
import pytest

from stirpile.labs import rims as lab


def test_copying_sequences_are_the_task():
    x, y = lab.copying(4, 7, np.random.default_rng(0))
    assert x.shape == y.shape == (4, 27) and x.dtype == np.int64
    assert ((x[:, :10] >= 1) & (x[:, :10] <= 8)).all()  # the symbols
    assert (x[:, 10:16] == lab.BLANK).all() and (x[:, 16] == lab.DELIMITER).all()
    assert (x[:, 17:] == lab.BLANK).all()
    np.testing.assert_array_equal(y[:, -10:], x[:, :10])  # the copy, at the end
    assert (y[:, :-10] == lab.BLANK).all()


def _results(rims, full, lstm, d0=20, d1=80):
    models = {"RIMs (n=6, k=4)": rims, "RIMs (n=6, k=6)": full, "LSTM (190)": lstm}
    return {"train_delay": d0, "test_delays": [d0, d1],
            "models": {k: {"acc": {d0: v[0], d1: v[1]}} for k, v in models.items()}}  # fmt: skip


def test_judge_follows_the_labs_criteria():
    ok = lab.judge(_results((1.0, 0.95), (1.0, 0.6), (0.995, 0.5)))
    assert ok["reproduced"] and ok["gain"] == pytest.approx(0.45)
    # the LSTM not solving the training length fails the claim
    assert not lab.judge(_results((1.0, 0.95), (1.0, 0.6), (0.9, 0.5)))["reproduced"]
    # k = n keeping the advantage means sparsity is not what helped
    assert not lab.judge(_results((1.0, 0.95), (1.0, 0.9), (0.995, 0.5)))["reproduced"]
    # a gap under 20 points is not the claim either
    assert not lab.judge(_results((1.0, 0.95), (1.0, 0.6), (0.995, 0.8)))["reproduced"]


@pytest.fixture(scope="module")
def quick():
    return lab.run(quick=True, seed=0)


def test_quick_run_trains_and_reports(quick, tmp_path):
    assert set(quick["models"]) == {"RIMs (n=6, k=4)", "RIMs (n=6, k=6)", "LSTM (190)"}
    for r in quick["models"].values():
        assert r["log"]["loss"][-1] < r["log"]["loss"][0]  # learning happens
        assert all(0.0 <= a <= 1.0 for a in r["acc"].values())
        assert set(r["acc"]) == set(quick["test_delays"])
    rims, lstm = quick["models"]["RIMs (n=6, k=4)"], quick["models"]["LSTM (190)"]
    assert abs(rims["params"] - lstm["params"]) / lstm["params"] < 0.25  # similar sizes
    paths = lab.report(quick, tmp_path)
    assert {p.name for p in paths} == {"copying.png", "README.md"}
    text = (tmp_path / "README.md").read_text()
    assert ("**reproduced**" in text) == quick["judge"]["reproduced"]
