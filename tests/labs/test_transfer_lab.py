"""The transfer lab, quick version: the lectures' claims checked on its numbers, and
its pieces on their own."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile.labs import transfer


@pytest.fixture(scope="module")
def results(offline_mnist):
    """The quick run; every test taking it is skipped without the offline MNIST."""
    return transfer.run(quick=True, data_dir=offline_mnist)


@pytest.fixture
def table(results):
    return {r["per_class"]: r for r in results["table"]}


def test_every_setting_ran(results):
    runs = results["runs"]
    assert len(runs) == len(transfer.LABELS_PER_CLASS) * len(transfer.METHODS)
    for r in runs:
        assert r["curve"]["step"][0] == 0 and r["curve"]["step"][-1] == r["steps"]
        assert 0.0 <= r["test_acc"] <= 1.0
    assert results["pretrain"]["test_acc"] > 0.9  # the body learnt digits 0-4


def test_fine_tuning_is_at_least_as_good_as_scratch_with_few_labels(table):
    """Measured: a tie within noise (the claim says fine-tuning wins; here the gain is at
    most about one point, see the README's verdict), never clearly worse."""
    few = table[transfer.LABELS_PER_CLASS[0]]
    assert few["fine-tune"] > few["scratch"] - 0.02
    assert few["fine-tune"] > 0.7


def test_frozen_features_do_not_beat_scratch_here(results, table):
    """The lectures' claim for frozen features does NOT hold in this setup (see the
    README's verdict): the 64 features of a body pretrained on five classes span about
    five directions, and a linear head on them stays well below training from scratch."""
    few = table[transfer.LABELS_PER_CLASS[0]]
    assert few["frozen"] < few["scratch"]
    assert few["frozen"] > 0.4  # still far above chance (20 %)
    sv = np.array(results["pretrain"]["feature_sv"])
    assert sv[5:].max() < 0.3 < sv[:4].min()  # about five directions


def test_accuracy_grows_with_labels(table):
    for method in transfer.METHODS:
        accs = [table[n][method] for n in transfer.LABELS_PER_CLASS]
        assert accs[0] < accs[1] and accs[0] < accs[2], (method, accs)


def test_frozen_body_is_unchanged_bitwise(results):
    assert results["frozen_body_unchanged"] == [True] * len(transfer.LABELS_PER_CLASS)


def test_a_narrow_bottleneck_underfits(results):
    sweep = results["sweep"]
    assert [r["width"] for r in sweep] == sorted(r["width"] for r in sweep)
    assert sweep[0]["train_acc"] < sweep[-1]["train_acc"] - 0.2
    assert sweep[0]["test_acc"] < sweep[-1]["test_acc"] - 0.2


def test_report_writes_figures_and_readme(results, tmp_path):
    paths = transfer.report(results, tmp_path)
    assert {p.name for p in paths} == {"transfer_curves.png", "bottleneck.png", "README.md"}
    text = (tmp_path / "README.md").read_text()
    assert "| labels per class | scratch | fine-tune | frozen |" in text
    assert "## Verdict" in text and "train5k" in text


# -- the pieces ----------------------------------------------------------------------------
def test_few_shot_subset_is_balanced_and_nested():
    y = np.random.default_rng(0).integers(0, 5, 1000)
    small = transfer.few_shot_subset(y, 10, np.arange(5), seed=3)
    big = transfer.few_shot_subset(y, 50, np.arange(5), seed=3)
    assert np.bincount(y[small], minlength=5).tolist() == [10] * 5
    assert np.bincount(y[big], minlength=5).tolist() == [50] * 5
    assert set(small) <= set(big)


def test_frozen_training_changes_only_the_head():
    stirpile.manual_seed(0)
    body = transfer.make_body()
    model = transfer.new_model("frozen", body)
    assert model[0] is not body
    assert not any(p.requires_grad for p in model[0].parameters())
    before, head_before = transfer.state(model[0]), transfer.state(model[1])
    rng = np.random.default_rng(0)
    x = rng.random((20, 784)).astype(np.float32)
    y = rng.integers(0, 5, 20)
    transfer.fit(model, x, y, steps=5, batch=10, seed=0)
    after, head_after = transfer.state(model[0]), transfer.state(model[1])
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert not all(np.array_equal(head_before[k], head_after[k]) for k in head_before)
    # and the original body was not touched either
    orig = transfer.state(body)
    assert all(np.array_equal(orig[k], after[k]) for k in orig)


def test_fine_tune_copies_the_body_and_trains_it():
    stirpile.manual_seed(0)
    body = transfer.make_body()
    model = transfer.new_model("fine-tune", body)
    orig = transfer.state(body)
    rng = np.random.default_rng(1)
    x, y = rng.random((20, 784)).astype(np.float32), rng.integers(0, 5, 20)
    curve = transfer.fit(model, x, y, steps=4, batch=10, seed=0, test=(x, y), eval_every=2)
    assert curve["step"] == [0, 2, 4]
    new = transfer.state(model[0])
    assert not all(np.array_equal(orig[k], new[k]) for k in orig)
    assert all(np.array_equal(orig[k], transfer.state(body)[k]) for k in orig)


def test_unknown_method_raises():
    with pytest.raises(ValueError, match="unknown method"):
        transfer.new_model("distill", None)
