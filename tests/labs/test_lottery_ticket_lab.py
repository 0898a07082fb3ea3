"""The lottery-ticket lab: a rewound ticket with ≤ 25 % of the weights trains as well as
the dense LeNet, the same mask re-initialized does worse; and the pruning pieces."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile.labs import lottery_ticket as lab


@pytest.fixture(scope="module")
def results(offline_mnist):
    return lab.run(quick=True, seed=0, data_dir=offline_mnist)


def _ticket(results):
    return [r for r in results["runs"] if r["kind"] == "ticket"][-1]


def test_sparse_ticket_is_as_accurate_as_the_dense_net(results):
    dense = results["runs"][0]
    ticket = _ticket(results)
    assert dense["kind"] == "dense" and dense["fraction_left"] == 1.0
    assert ticket["fraction_left"] <= 0.25
    assert ticket["test_acc_at_early_stop"] >= dense["test_acc_at_early_stop"] - 0.01
    assert dense["test_acc_at_early_stop"] > 0.85  # trained (chance is 10 %)


def test_reinitialized_control_is_worse_than_the_ticket(results):
    ticket = _ticket(results)
    control = next(r for r in results["runs"] if r["kind"] == "reinit")
    assert control["fraction_left"] == ticket["fraction_left"]
    assert control["test_acc_at_early_stop"] < ticket["test_acc_at_early_stop"]
    assert results["judge"]["ticket_beats_reinit"]


def test_early_stopping_is_the_minimum_of_the_validation_loss(results):
    for r in results["runs"]:
        best = int(np.argmin(r["val_loss"]))
        assert r["early_stop_iteration"] == r["iteration"][best]
        assert r["min_val_loss"] == pytest.approx(r["val_loss"][best])


def test_fractions_follow_the_pruning_rates(results):
    cfg = results["config"]
    sizes = np.array([784 * 300 + 300 * 100, 100 * 10])  # hidden weights, output weights
    for r in results["runs"]:
        kept = sizes * [(1 - cfg["rate"]) ** r["round"], (1 - cfg["output_rate"]) ** r["round"]]
        assert r["fraction_left"] == pytest.approx(kept.sum() / sizes.sum(), abs=1e-3)


def test_prune_round_rewind_and_masked_gradients():
    theta0 = lab.weights(lab.lenet(0))
    net = lab.ticket(theta0, None, seed=0)
    masks = lab.prune_round(net, 0.2, 0.1)
    assert [int(m.sum()) for m in masks] == [188160, 24000, 900]
    # among the 80 % kept of the first layer are its largest weights
    w = np.abs(theta0[0])
    assert w[masks[0] == 1].min() >= w[masks[0] == 0].max()
    masks2 = lab.prune_round(net, 0.2, 0.1)  # a second round prunes among the survivors
    assert (masks2[0] <= masks[0]).all() and int(masks2[0].sum()) == 150528
    assert lab.fraction_left(masks2) == pytest.approx((0.64 * 265200 + 810) / 266200, abs=1e-4)

    rewound = lab.ticket(theta0, masks2, seed=0)
    for i, layer in enumerate(lab.linears(rewound)):
        np.testing.assert_array_equal(layer.weight_orig.detach().numpy(), theta0[2 * i])
        assert (layer.weight.detach().numpy()[masks2[i] == 0] == 0).all()
    loss = rewound(stirpile.randn(4, 784)).square().sum()
    loss.backward()
    grad = lab.linears(rewound)[0].weight_orig.grad.numpy()
    assert (grad[masks2[0] == 0] == 0).all() and (grad[masks2[0] == 1] != 0).any()


def test_report_writes_figures_and_table(results, tmp_path):
    names = {p.name for p in lab.report(results, tmp_path)}
    assert names == {"lottery_ticket.png", "validation_loss.png", "README.md"}
    text = (tmp_path / "README.md").read_text()
    assert "| round | network | Pm (weights left) |" in text and "train5k" in text
