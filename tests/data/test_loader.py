"""DataLoader, datasets and samplers: ordering, seeding, batching, fast path."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def _ds(n=10):
    return TensorDataset(stirpile.arange(n).float().unsqueeze(1), stirpile.arange(n))


def _labels(loader):
    return [y.tolist() for _, y in loader]


def _flat(batches):
    return [i for b in batches for i in b]


def test_sequential_batches_and_last_partial_batch():
    loader = DataLoader(_ds(10), batch_size=4)
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(loader) == 3


def test_drop_last():
    loader = DataLoader(_ds(10), batch_size=4, drop_last=True)
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(loader) == 2


def test_shuffle_is_a_permutation_each_epoch_and_differs_between_epochs():
    loader = DataLoader(_ds(50), batch_size=7, shuffle=True, generator=123)
    e1 = _flat(_labels(loader))
    e2 = _flat(_labels(loader))
    assert sorted(e1) == list(range(50)) and sorted(e2) == list(range(50))
    assert e1 != e2 and e1 != list(range(50))


def test_shuffle_with_same_seed_repeats_exactly():
    a = _flat(_labels(DataLoader(_ds(30), batch_size=8, shuffle=True, generator=5)))
    b = _flat(_labels(DataLoader(_ds(30), batch_size=8, shuffle=True, generator=5)))
    c = _flat(_labels(DataLoader(_ds(30), batch_size=8, shuffle=True, generator=6)))
    assert a == b and a != c


def test_shuffle_without_generator_follows_manual_seed():
    stirpile.manual_seed(0)
    a = _flat(_labels(DataLoader(_ds(30), batch_size=8, shuffle=True)))
    stirpile.manual_seed(0)
    b = _flat(_labels(DataLoader(_ds(30), batch_size=8, shuffle=True)))
    assert a == b


def test_fast_path_gathers_rows_matching_slow_path():
    ds = _ds(12)
    fast = list(DataLoader(ds, batch_size=5))
    slow = list(DataLoader(ds, batch_size=5, collate_fn=default_collate))
    for (xf, yf), (xs, ys) in zip(fast, slow):
        assert np.array_equal(xf.numpy(), xs.numpy()) and np.array_equal(yf.numpy(), ys.numpy())
    assert fast[0][0].shape == (5, 1) and fast[0][0].dtype == stirpile.float32


class _Squares(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return np.full(2, i, np.float32), i * i


def test_map_style_dataset_collates_samples():
    (x, y), *_ = DataLoader(_Squares(), batch_size=3)
    assert x.shape == (3, 2) and y.tolist() == [0, 1, 4] and y.dtype == stirpile.int64


def test_custom_collate_and_batch_size_none():
    out = list(DataLoader(_Squares(), batch_size=2, collate_fn=lambda b: len(b)))
    assert out == [2, 2, 2]
    singles = list(DataLoader(_Squares(), batch_size=None))
    assert len(singles) == 6 and singles[2][1] == 4


def test_sampler_and_shuffle_are_exclusive():
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(_ds(), sampler=[0, 1], shuffle=True)


def test_tensor_dataset_size_mismatch_is_named():
    with pytest.raises(ValueError, match="tensor 1 has 3"):
        TensorDataset(stirpile.zeros(4, 2), stirpile.zeros(3))


def test_subset_concat_and_random_split():
    ds = _ds(10)
    sub = Subset(ds, [9, 3, 3])
    assert [int(sub[i][1]) for i in range(3)] == [9, 3, 3]
    assert _labels(DataLoader(sub, batch_size=3)) == [[9, 3, 3]]
    cat = ConcatDataset([_ds(3), _ds(2)])
    assert len(cat) == 5 and int(cat[4][1]) == 1 and int(cat[-1][1]) == 1
    a, b = random_split(ds, [7, 3], generator=0)
    got = sorted(int(a[i][1]) for i in range(7)) + sorted(int(b[i][1]) for i in range(3))
    assert sorted(got) == list(range(10)) and len(a) == 7
    a2, _ = random_split(ds, [7, 3], generator=0)
    assert [int(a2[i][1]) for i in range(7)] == [int(a[i][1]) for i in range(7)]
    f1, f2 = random_split(ds, [0.5, 0.5], generator=0)
    assert len(f1) == 5 and len(f2) == 5
    with pytest.raises(ValueError, match="does not equal"):
        random_split(ds, [3, 3])
