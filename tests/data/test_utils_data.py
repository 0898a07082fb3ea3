"""``stirpile.utils.data`` against ``torch.utils.data``: import paths, samplers, random_split,
collation, DataLoader's arguments and checks, generators, worker processes."""

from __future__ import annotations

import collections
import functools
import importlib
import math
import multiprocessing
import time
import warnings

import numpy as np
import pytest

import stirpile
import stirpile.data as D
import stirpile.utils.data as U
from stirpile.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)


def _gen(seed=0):
    return stirpile.Generator().manual_seed(seed)


def _error(fn):
    """``(type name, message)`` of what ``fn()`` raises, or None."""
    try:
        fn()
    except Exception as e:
        return type(e).__name__, str(e)
    return None


def _plain(x):
    """Batches as nested Python values with dtype names, comparable across libraries."""
    if hasattr(x, "numpy") and hasattr(x, "dtype"):
        return ("tensor", str(x.dtype).split(".")[-1], x.numpy().tolist())
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__, *map(_plain, x))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_plain(v) for v in x])
    return x


def _labels(loader):
    return [y.tolist() for _, y in loader]


def _ds(n=50):
    return TensorDataset(stirpile.arange(n).float().unsqueeze(1), stirpile.arange(n))


# -- import paths -------------------------------------------------------------------------------
def test_every_name_is_the_object_of_stirpile_data():
    assert len(U.__all__) == 19  # torch.utils.data's names, less its datapipes (see below)
    for name in U.__all__:
        assert getattr(U, name) is getattr(D, name), name
    assert stirpile.utils.data is U and importlib.import_module("stirpile.utils.data") is U


def test_submodules_mirror_torchs_layout():
    from stirpile.utils.data import dataloader, dataset, distributed, sampler
    from stirpile.utils.data._utils.collate import default_collate as collate

    assert dataloader.DataLoader is stirpile.data.DataLoader
    assert dataloader.get_worker_info is get_worker_info
    assert dataloader.default_convert is default_convert and collate is default_collate
    assert dataset.random_split is D.random_split and dataset.StackDataset is StackDataset
    assert sampler.WeightedRandomSampler is D.WeightedRandomSampler
    assert distributed.DistributedSampler is D.DistributedSampler


def test_torchs_mlp_names_all_exist(torch):
    import torch.utils.data as T

    datapipes = {"DFIterDataPipe", "DataChunk", "IterDataPipe", "MapDataPipe", "_DatasetKind",
                 "argument_validation", "functional_datapipe", "non_deterministic",
                 "guaranteed_datapipes_determinism", "runtime_validation",
                 "runtime_validation_disabled"}  # fmt: skip
    assert set(T.__all__) - datapipes == set(U.__all__)


# -- samplers -----------------------------------------------------------------------------------
def test_sequential_and_random_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3] and len(SequentialSampler([1])) == 1
    s = RandomSampler(range(20), generator=_gen(1))
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == list(range(20)) and a != b and len(s) == 20
    assert list(RandomSampler(range(20), generator=_gen(1))) == a  # same seed, same order
    assert list(RandomSampler(range(20), generator=_gen(2))) != a


def test_random_sampler_num_samples_and_replacement():
    over = list(RandomSampler(range(5), num_samples=12, generator=_gen()))
    assert len(over) == 12 and collections.Counter(over) == collections.Counter(
        {i: 2 for i in range(5)}) + collections.Counter(over[10:])  # fmt: skip
    assert sorted(over[:5]) == sorted(over[5:10]) == list(range(5))  # whole permutations
    rep = RandomSampler(range(5), replacement=True, num_samples=1000, generator=_gen())
    draws = list(rep)
    assert len(rep) == len(draws) == 1000 and set(draws) == set(range(5))
    assert max(collections.Counter(draws).values()) > 1


def test_random_sampler_without_generator_follows_manual_seed():
    stirpile.manual_seed(3)
    a = list(RandomSampler(range(30)))
    stirpile.manual_seed(3)
    assert list(RandomSampler(range(30))) == a


def test_generator_reseeded_after_construction_is_followed():
    g = _gen(5)
    s = RandomSampler(range(30), generator=g)
    a = list(s)
    g.manual_seed(5)
    assert list(s) == a


def test_numpy_generator_and_int_seed_are_accepted():
    a = list(RandomSampler(range(30), generator=np.random.default_rng(4)))
    assert sorted(a) == list(range(30))
    s = RandomSampler(range(30), generator=4)  # an int: one private stream (compatibility)
    assert list(s) == a and list(s) != a
    with pytest.raises(TypeError, match="generator"):
        RandomSampler(range(3), generator="seed")


@pytest.mark.parametrize("kwargs", [
    {"replacement": 1}, {"num_samples": 0}, {"num_samples": 2.0}, {"num_samples": -3},
    {"data_source": range(0)},
])  # fmt: skip
def test_random_sampler_errors_match_torch(torch, kwargs):
    from torch.utils.data import RandomSampler as TorchRandomSampler

    kwargs = {"data_source": range(3), **kwargs}
    theirs = _error(lambda: TorchRandomSampler(**kwargs))
    assert theirs is not None and _error(lambda: RandomSampler(**kwargs)) == theirs


def test_subset_random_sampler():
    s = SubsetRandomSampler([7, 3, 5, 11], generator=_gen())
    a = list(s)
    assert sorted(a) == [3, 5, 7, 11] and len(s) == 4 and s.indices == [7, 3, 5, 11]
    assert list(SubsetRandomSampler([7, 3, 5, 11], generator=_gen())) == a


def test_weighted_sampler_frequencies_follow_the_weights():
    weights = [1.0, 2.0, 3.0, 4.0, 0.0]
    n = 40_000
    draws = np.array(list(WeightedRandomSampler(weights, n, generator=_gen())))
    freq = np.bincount(draws, minlength=5) / n
    # binomial standard deviation is at most 0.0025 here: 0.012 is ~5 sigma
    np.testing.assert_allclose(freq, np.array(weights) / 10, atol=0.012)
    assert freq[4] == 0
    again = list(WeightedRandomSampler(weights, n, generator=_gen()))
    assert np.array_equal(draws, again)


def test_weighted_sampler_without_replacement_draws_each_index_once():
    s = WeightedRandomSampler([0.1, 5, 1, 1, 0.2], 4, replacement=False, generator=_gen())
    for _ in range(20):
        picks = list(s)
        assert len(picks) == len(set(picks)) == 4
    firsts = collections.Counter(next(iter(s)) for _ in range(400))
    assert firsts.most_common(1)[0][0] == 1  # the heaviest comes first most often
    assert s.weights.dtype == stirpile.float64 and len(s) == 4


@pytest.mark.parametrize("args", [
    ([1, 2], 0), ([1, 2], True), ([1, 2], 3.0), ([[1, 2]], 3), (3, 3), ([1, 2], 3, 0),
])  # fmt: skip
def test_weighted_sampler_errors_match_torch(torch, args):
    from torch.utils.data import WeightedRandomSampler as Theirs

    theirs = _error(lambda: Theirs(*args))
    assert theirs is not None and _error(lambda: WeightedRandomSampler(*args)) == theirs


@pytest.mark.parametrize("args", [([1, 2], 3, False), ([0, 0], 3), ([], 2)])
def test_weighted_sampler_draw_errors_match_torch(torch, args):
    from torch.utils.data import WeightedRandomSampler as Theirs

    theirs = _error(lambda: list(Theirs(*args)))
    assert theirs is not None and _error(lambda: list(WeightedRandomSampler(*args))) == theirs


@pytest.mark.parametrize("n,b,drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                      (2, 5, True), (0, 2, False)])  # fmt: skip
def test_batch_sampler_matches_torch(torch, n, b, drop):
    from torch.utils.data import BatchSampler as TB
    from torch.utils.data import SequentialSampler as TS

    ours = BatchSampler(SequentialSampler(range(n)), b, drop)
    theirs = TB(TS(range(n)), b, drop)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert list(BatchSampler(list(range(n)), b, drop)) == list(theirs)  # any iterable


def test_batch_sampler_of_random_sampler_is_a_partition():
    batches = list(BatchSampler(RandomSampler(range(23), generator=_gen()), 5, False))
    assert [len(x) for x in batches] == [5, 5, 5, 5, 3]
    assert all(isinstance(i, int) for x in batches for i in x)
    assert sorted(i for x in batches for i in x) == list(range(23))


@pytest.mark.parametrize("args", [(0, False), (True, False), (2.0, False), (-1, False), (2, 1)])
def test_batch_sampler_errors_match_torch(torch, args):
    from torch.utils.data import BatchSampler as TB

    theirs = _error(lambda: TB(range(4), *args))
    assert theirs is not None and _error(lambda: BatchSampler(range(4), *args)) == theirs


@pytest.mark.parametrize("n,replicas,drop", [(10, 3, False), (10, 3, True), (5, 2, False),
                                             (2, 4, False), (12, 4, True)])  # fmt: skip
def test_distributed_sampler_shards_like_torch(torch, n, replicas, drop):
    from torch.utils.data import DistributedSampler as TD

    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop)
        theirs = TD(range(n), replicas, rank, shuffle=False, drop_last=drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    shards = [DistributedSampler(range(n), replicas, r, seed=1, drop_last=drop)
              for r in range(replicas)]  # fmt: skip
    seen = [i for s in shards for i in s]
    assert len(seen) == sum(len(s) for s in shards) and set(seen) <= set(range(n))
    assert _error(lambda: DistributedSampler(range(n), 2, 2)) == _error(
        lambda: TD(range(n), 2, 2))  # fmt: skip


# -- datasets and random_split -------------------------------------------------------------------
@pytest.mark.parametrize("n,lengths", [
    (10, [0.33, 0.33, 0.34]), (7, [0.1] * 10), (101, [0.7, 0.2, 0.1]), (5, [0.3, 0.3, 0.4]),
    (1000, [1 / 3] * 3), (17, [0.6, 0.4]), (10, [3, 7]), (1, [1]), (9, [0.0, 1.0]),
])  # fmt: skip
def test_random_split_sizes_match_torch(torch, n, lengths):
    from torch.utils.data import random_split as theirs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty splits warn, in both
        expected = [len(s) for s in theirs(range(n), lengths)]
        parts = random_split(range(n), lengths, generator=_gen())
    assert [len(p) for p in parts] == expected
    assert sorted(i for p in parts for i in p) == list(range(n))  # disjoint, covering


def test_random_split_is_seeded_and_warns_on_empty_splits():
    a = random_split(range(30), [10, 20], generator=_gen(7))
    b = random_split(range(30), [10, 20], generator=_gen(7))
    assert [list(s) for s in a] == [list(s) for s in b] and isinstance(a[0].indices, list)
    assert not set(a[0]) & set(a[1])
    assert [list(s) for s in random_split(range(30), [10, 20], generator=_gen(8))] != [
        list(s) for s in a]  # fmt: skip
    with pytest.warns(UserWarning, match="Length of split at index 3 is 0"):
        random_split(range(3), [0.25] * 4)


@pytest.mark.parametrize("lengths", [[0.5, 0.6], [3, 3], [-0.5, 1.5], [1.2, -0.2], [0.5, 0.4]])
def test_random_split_errors_match_torch(torch, lengths):
    from torch.utils.data import random_split as theirs

    expected = _error(lambda: theirs(range(10), lengths))
    assert expected is not None and _error(lambda: random_split(range(10), lengths)) == expected


def test_stack_chain_concat_and_subset():
    a, b = _ds(4), list(range(10, 14))
    assert StackDataset(a, b)[1][1] == 11 and StackDataset(x=a, y=b)[2]["y"] == 12
    assert len(StackDataset(a, b)) == 4
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(a, [1])
    with pytest.raises(ValueError, match="At least one dataset"):
        StackDataset()
    (x, y), *_ = DataLoader(StackDataset(a, b), batch_size=3)
    assert y.tolist() == [10, 11, 12] and x[1].tolist() == [0, 1, 2]

    class Count(IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n

    chain = Count(2) + Count(3)
    assert isinstance(chain, ChainDataset) and list(chain) == [0, 1, 0, 1, 2] and len(chain) == 5
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([Count(2)])
    with pytest.raises(AssertionError, match="empty iterable"):
        ConcatDataset([])
    with pytest.raises(ValueError, match="should not exceed"):
        ConcatDataset([range(3)])[-4]
    sub = Subset(range(10, 20), [3, 1])
    assert [sub[0], sub[1]] == [13, 11] and sub.indices == [3, 1] and len(sub) == 2
    assert sub.__getitems__([1, 0]) == [11, 13]

    class Bad(Subset):
        def __getitem__(self, i):
            return 0

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Bad(range(3), [0])


# -- collation ----------------------------------------------------------------------------------
Point = collections.namedtuple("Point", "x y")


def _samples(lib):
    return [
        [(lib.tensor([1.0, 2.0]), 3), (lib.tensor([4.0, 5.0]), 6)],
        [{"a": 1.5, "b": np.float32(2)}, {"a": 2.5, "b": np.float32(3)}],
        [Point(1, True), Point(2, False)],
        [np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int32)],
        [["s", np.int16(1)], ["t", np.int16(2)]],
        [b"x", b"y"],
    ]


def test_default_collate_matches_torch(torch):
    from torch.utils.data import default_collate as theirs

    for ours_batch, their_batch in zip(_samples(stirpile), _samples(torch)):
        assert _plain(default_collate(ours_batch)) == _plain(theirs(their_batch))


def test_default_convert_matches_torch(torch):
    from torch.utils.data import default_convert as theirs

    for sample in [(np.arange(2), "a"), {"k": np.float64(1)}, Point(np.int64(3), 1), [1, 2],
                   np.array(["a"]), "str", 4.0]:  # fmt: skip
        assert _plain(default_convert(sample)) == _plain(theirs(sample))


@pytest.mark.parametrize("batch", [[[1, 2], [3]], [object(), object()],
                                   [np.array(["a"]), np.array(["b"])]])  # fmt: skip
def test_default_collate_errors_match_torch(torch, batch):
    from torch.utils.data import default_collate as theirs

    assert _error(lambda: default_collate(batch)) == _error(lambda: theirs(batch))


def test_default_collate_of_unequal_tensors_names_the_sizes():
    with pytest.raises(RuntimeError, match=r"equal size, but got \[2\] at entry 0 and \[3\]"):
        default_collate([stirpile.zeros(2), stirpile.zeros(3)])


# -- DataLoader: arguments and checks -----------------------------------------------------------
def _iterable(lib):
    class Stream(lib.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(4))

    return Stream()


LOADER_ERRORS = [
    {"num_workers": -1}, {"timeout": -1}, {"prefetch_factor": 2}, {"prefetch_factor": 2.0},
    {"num_workers": 1, "prefetch_factor": -1}, {"persistent_workers": True},
    {"multiprocessing_context": "spawn"}, {"num_workers": 1, "multiprocessing_context": "nope"},
    {"num_workers": 1, "multiprocessing_context": 5}, {"sampler": [0, 1], "shuffle": True},
    {"batch_sampler": [[0]], "batch_size": 2}, {"batch_sampler": [[0]], "drop_last": True},
    {"batch_sampler": [[0]], "shuffle": True}, {"batch_size": None, "drop_last": True},
    {"batch_size": 0}, {"drop_last": 1},
    {"iterable": True, "shuffle": True}, {"iterable": True, "sampler": [0]},
    {"iterable": True, "batch_sampler": [[0]]},
]  # fmt: skip


@pytest.mark.parametrize("kwargs", LOADER_ERRORS)
def test_loader_argument_errors_match_torch(torch, kwargs):
    kwargs = dict(kwargs)
    iterable = kwargs.pop("iterable", False)

    def make(lib):
        data = _iterable(lib) if iterable else list(range(6))
        return lambda: lib.utils.data.DataLoader(data, **kwargs)

    theirs = _error(make(torch))
    assert theirs is not None
    ours = _error(make(stirpile))
    if "sampler" in kwargs or "batch_sampler" in kwargs:  # the message shows the sampler
        ours, theirs = ours[0], theirs[0]
    assert ours == theirs


def test_attributes_cannot_be_set_after_init(torch):
    for name in ("batch_size", "sampler", "batch_sampler", "drop_last", "dataset",
                 "persistent_workers"):  # fmt: skip
        ours = _error(lambda name=name: setattr(DataLoader([1, 2]), name, 1))
        theirs = _error(lambda name=name: setattr(torch.utils.data.DataLoader([1, 2]), name, 1))
        assert ours == theirs
    loader = DataLoader([1, 2])
    loader.num_workers = 0  # other attributes stay writable, as in PyTorch


def test_errors_on_iteration_as_torch(torch):
    ours = _error(lambda: next(iter(DataLoader([1, 2], timeout=1))))
    assert ours == _error(lambda: next(iter(torch.utils.data.DataLoader([1, 2], timeout=1))))
    # (torch 2.13's own half-built iterator then fails in __del__, so its text is written here)
    assert _error(lambda: next(iter(DataLoader([1, 2], num_workers=1, prefetch_factor=0)))) == (
        "AssertionError",
        "prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter",
    )


def test_loader_attributes():
    ds, g = _ds(10), _gen()
    loader = DataLoader(ds, batch_size=4, shuffle=True, drop_last=True, generator=g)
    assert loader.dataset is ds and loader.batch_size == 4 and loader.drop_last
    assert loader.generator is g and loader.sampler.generator is g
    assert isinstance(loader.sampler, RandomSampler)
    assert loader.batch_sampler.sampler is loader.sampler
    assert loader.collate_fn is default_collate and loader.num_workers == 0
    assert loader.prefetch_factor is None and len(loader) == 2
    assert DataLoader(ds, num_workers=1).prefetch_factor == 2
    assert isinstance(DataLoader(ds).sampler, SequentialSampler)
    unbatched = DataLoader(ds, batch_size=None)
    assert unbatched.batch_sampler is None and unbatched.collate_fn is default_convert
    assert len(unbatched) == 10
    custom = DataLoader(ds, batch_sampler=[[0, 1], [2]])
    assert custom.batch_size is None and not custom.drop_last and len(custom) == 2


def test_batches_match_torch(torch):
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    ours = DataLoader(TensorDataset(x, y), batch_size=4)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=4
    )
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]
    ours = DataLoader(TensorDataset(x, y), batch_size=None)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=None
    )
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]


def test_fast_gather_equals_collating_samples():
    ds = Subset(_ds(20), list(range(19, -1, -2)))
    fast = [_plain(b) for b in DataLoader(ds, batch_size=3)]
    per_sample = functools.partial(default_collate)  # not default_collate itself: no gather
    slow = [_plain(b) for b in DataLoader(ds, batch_size=3, collate_fn=per_sample)]
    assert fast == slow and fast[0][1][1] == ("tensor", "int64", [19, 17, 15])


def test_custom_collate_and_getitems_follow_torchs_protocol():
    class Batched(Dataset):
        def __init__(self):
            self.calls = []

        def __len__(self):
            return 5

        def __getitem__(self, i):
            raise AssertionError("__getitems__ should be used")

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [i * 10 for i in indices]

    ds = Batched()
    assert [b.tolist() for b in DataLoader(ds, batch_size=2)] == [[0, 10], [20, 30], [40]]
    assert ds.calls == [[0, 1], [2, 3], [4]]
    sizes = list(DataLoader(_ds(5), batch_size=2, collate_fn=len))
    assert sizes == [2, 2, 1]  # a custom collate_fn gets the list of samples


def test_iterable_dataset_batches_len_and_warning():
    class Stream(IterableDataset):
        def __init__(self, n, claimed):
            self.n, self.claimed = n, claimed

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.claimed

    assert [b.tolist() for b in DataLoader(Stream(7, 7), batch_size=3)] == [[0, 1, 2], [3, 4, 5],
                                                                            [6]]  # fmt: skip
    assert len(DataLoader(Stream(7, 7), batch_size=3)) == 3
    dropped = DataLoader(Stream(7, 7), batch_size=3, drop_last=True)
    assert len(dropped) == 2 and [b.tolist() for b in dropped] == [[0, 1, 2], [3, 4, 5]]
    assert [int(v) for v in DataLoader(Stream(3, 3), batch_size=None)] == [0, 1, 2]
    lying = DataLoader(Stream(5, 2), batch_size=1)
    len(lying)
    with pytest.warns(UserWarning, match="was reported to be 2"):
        list(lying)


def test_pin_memory_warns_as_torch_without_an_accelerator():
    with pytest.warns(UserWarning, match="no accelerator is found"):
        list(DataLoader([1, 2], pin_memory=True))
    with pytest.warns(UserWarning) as caught:
        list(DataLoader([1, 2], pin_memory=True, pin_memory_device="cuda"))
    assert "pin_memory_device is deprecated" in str(caught[0].message) and len(caught) == 2
    assert caught[0].filename == __file__  # pointing at the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(DataLoader([1, 2], pin_memory_device="cuda"))) == 2


# -- DataLoader: generators ---------------------------------------------------------------------
def test_equally_seeded_generators_give_the_same_order():
    a = DataLoader(_ds(), batch_size=7, shuffle=True, generator=_gen(1))
    b = DataLoader(_ds(), batch_size=7, shuffle=True, generator=_gen(1))
    a1, b1, a2, b2 = _labels(a), _labels(b), _labels(a), _labels(b)
    assert a1 == b1 and a2 == b2 and a1 != a2
    assert sorted(i for b in a1 for i in b) == list(range(50))
    assert _labels(DataLoader(_ds(), batch_size=7, shuffle=True, generator=_gen(2))) != a1


def test_loader_without_generator_follows_manual_seed():
    stirpile.manual_seed(11)
    a = _labels(DataLoader(_ds(), batch_size=7, shuffle=True))
    stirpile.manual_seed(11)
    assert _labels(DataLoader(_ds(), batch_size=7, shuffle=True)) == a


def test_each_pass_draws_a_base_seed_from_the_generator_as_torch():
    g = _gen(0)
    before = g.get_state().tolist()
    list(DataLoader([1, 2, 3], generator=g))  # no shuffling, still one draw (as PyTorch)
    assert g.get_state().tolist() != before


# -- DataLoader: worker processes ---------------------------------------------------------------
class Tagged(Dataset):
    """Samples ``(index, tag, worker id)``; ``worker_init_fn`` sets the worker's tag."""

    tag = -1

    def __len__(self):
        return 24

    def __getitem__(self, i):
        info = get_worker_info()
        return i, self.tag, -1 if info is None else info.id


def _tag_worker(worker_id):
    info = get_worker_info()
    assert info.id == worker_id and info.num_workers == 2
    info.dataset.tag = 100 + worker_id


def test_workers_give_the_batches_of_the_main_process():
    ref = _labels(DataLoader(_ds(), batch_size=6, shuffle=True, generator=_gen(9)))
    got = _labels(DataLoader(_ds(), batch_size=6, shuffle=True, generator=_gen(9), num_workers=2))
    assert got == ref
    assert get_worker_info() is None


def test_worker_init_fn_gets_the_worker_id_and_worker_info():
    loader = DataLoader(Tagged(), batch_size=4, num_workers=2, worker_init_fn=_tag_worker)
    for k, (index, tag, worker) in enumerate(loader):
        assert index.tolist() == list(range(4 * k, 4 * k + 4))
        assert set(worker.tolist()) == {k % 2} and set(tag.tolist()) == {100 + k % 2}


def test_workers_seed_each_worker_from_the_base_seed():
    def seeds(generator):
        class Seeds(Dataset):
            def __len__(self):
                return 4

            def __getitem__(self, i):
                return get_worker_info().seed

        return [int(s) for s in DataLoader(Seeds(), num_workers=2, generator=generator)]

    a = seeds(_gen(3))
    assert a[1] == a[0] + 1 and a[2] == a[0] and seeds(_gen(3)) == a and seeds(_gen(4)) != a


class Range(IterableDataset):
    """torch's documentation example: workers split [start, end) between them."""

    def __init__(self, start, end, shard=True):
        self.start, self.end, self.shard = start, end, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.start, self.end))
        per = math.ceil((self.end - self.start) / info.num_workers)
        lo = self.start + info.id * per
        return iter(range(lo, min(lo + per, self.end)))


def test_iterable_dataset_in_workers_as_torch():
    assert [int(t) for t in DataLoader(Range(3, 7), num_workers=2)] == [3, 5, 4, 6]
    assert [int(t) for t in DataLoader(Range(3, 7), num_workers=0)] == [3, 4, 5, 6]
    unsharded = [int(t) for t in DataLoader(Range(3, 7, shard=False), num_workers=2)]
    assert unsharded == [3, 3, 4, 4, 5, 5, 6, 6]  # each worker reads its own copy
    batched = [b.tolist() for b in DataLoader(Range(0, 11), batch_size=2, num_workers=2)]
    assert batched == [[0, 1], [6, 7], [2, 3], [8, 9], [4, 5], [10]]


def test_persistent_workers_and_unordered_batches():
    loader = DataLoader(_ds(), batch_size=10, shuffle=True, generator=_gen(2), num_workers=2,
                        persistent_workers=True)  # fmt: skip
    ref = DataLoader(_ds(), batch_size=10, shuffle=True, generator=_gen(2))
    assert _labels(loader) == _labels(ref)
    it = iter(loader)
    next(it)  # a pass left unfinished; the next one starts cleanly
    assert sorted(i for b in _labels(loader) for i in b) == list(range(50))
    unordered = [b.tolist() for b in DataLoader(list(range(10)), batch_size=3, num_workers=2,
                                                 in_order=False)]  # fmt: skip
    assert sorted(map(tuple, unordered)) == [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9,)]


class Failing(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise KeyError("no sample 2")
        return i


class Slow(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        time.sleep(0.5)
        return i


def test_worker_errors_and_timeout():
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0"):
        list(DataLoader(Failing(), num_workers=2))
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0\.05 seconds"):
        list(DataLoader(Slow(), num_workers=1, timeout=0.05))


def test_start_methods():
    expected = [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]
    fork = multiprocessing.get_context("fork")
    loader = DataLoader(_ds(12), batch_size=5, num_workers=1, multiprocessing_context=fork)
    assert loader.multiprocessing_context is fork and _labels(loader) == expected
    loader = DataLoader(_ds(12), batch_size=5, num_workers=1, multiprocessing_context="spawn")
    assert _labels(loader) == expected  # a fresh interpreter: the dataset travels pickled


# -- the same draws as PyTorch ------------------------------------------------------------------
@pytest.fixture
def torch_on_stirpile_rng(torch, monkeypatch):
    """PyTorch's data loading drawing with stirpile's generators (a ``torch.Generator`` maps to
    a ``stirpile.Generator`` with its seed): then its batches must equal stirpile's."""
    mapped = {}

    def gen(g):
        if g is None:
            return None
        seed = g.initial_seed()
        if mapped.get(id(g), (None, None, -1))[2] != seed:  # new, or reseeded
            mapped[id(g)] = (g, stirpile.Generator().manual_seed(seed), seed)
        return mapped[id(g)][1]

    def as_torch(t):
        return torch.from_numpy(t.numpy().copy())

    def randperm(n, generator=None, **_):
        return as_torch(stirpile.randperm(n, generator=gen(generator)))

    def randint(high, size, dtype=None, generator=None):
        return as_torch(stirpile.randint(0, high, size, generator=gen(generator)))

    def multinomial(w, k, replacement=False, generator=None):
        w = stirpile.tensor(w.numpy())
        return as_torch(stirpile.multinomial(w, k, replacement, generator=gen(generator)))

    def random_(self, generator=None):  # the int64 seeds of DataLoader and RandomSampler
        return self.copy_(as_torch(stirpile.randint(0, 2**63, (), generator=gen(generator))))

    for owner, name, fn in [(torch, "randperm", randperm), (torch, "randint", randint),
                            (torch, "multinomial", multinomial), (torch.Tensor, "random_", random_),
                            (torch.utils.data.dataset, "randperm", randperm)]:  # fmt: skip
        monkeypatch.setattr(owner, name, fn)
    return torch


def _draws(lib):
    """Shuffled epochs and every sampler, then the default generator's next numbers."""
    stirpile.manual_seed(1)  # the default generator both libraries draw from here
    d, g = lib.utils.data, lib.Generator().manual_seed(5)
    out = []
    for generator in (None, g):
        loader = d.DataLoader(d.TensorDataset(lib.arange(23)), batch_size=5, shuffle=True,
                              drop_last=generator is None, generator=generator)  # fmt: skip
        out += [[b[0].tolist() for b in loader] for _ in range(2)]
    for generator in (None, g):
        out += [list(d.RandomSampler(range(10), True, 70, generator=generator)),
                list(d.RandomSampler(range(10), num_samples=25, generator=generator)),
                list(d.SubsetRandomSampler([5, 6, 7, 8], generator=generator)),
                list(d.WeightedRandomSampler([1.0, 2, 3], 20, generator=generator)),
                list(d.WeightedRandomSampler([1.0, 2, 3], 2, False, generator=generator)),
                [list(s) for s in d.random_split(range(10), [0.5, 0.5], generator=generator or g)],
                list(d.DataLoader(list(range(7)), batch_size=None, shuffle=True,
                                  generator=generator))]  # fmt: skip
    return [*out, int(stirpile.randint(0, 2**62, ()))]  # where both draw from by default


def test_draws_are_pytorchs_draws(torch_on_stirpile_rng):
    assert _draws(stirpile) == _draws(torch_on_stirpile_rng)
