"""Shape and indexing ops: reshape view permute transpose T mT flatten (un)squeeze expand
cat stack split chunk, ``__getitem__`` in all its forms, gather, masked_fill, one_hot."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile

# (name, fn(L, *xs), shapes[, torch_fn]) — torch_fn where PyTorch spells it differently
CASES = [
    ("reshape", lambda L, x: x.reshape(3, 4), [(2, 6)]),
    ("reshape_tuple_infer", lambda L, x: x.reshape((4, -1)), [(2, 6)]),
    ("reshape_flat", lambda L, x: x.reshape(-1), [(2, 3, 2)]),
    ("view", lambda L, x: x.view(6, 2), [(2, 6)]),
    ("view_tuple", lambda L, x: x.view((2, 3, 2)), [(2, 6)]),
    ("reshape_0d", lambda L, x: x.reshape(1, 1), [()]),
    ("permute", lambda L, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    ("permute_tuple_neg", lambda L, x: x.permute((-1, 1, 0)), [(2, 3, 4)]),
    ("transpose", lambda L, x: x.transpose(0, 2), [(2, 3, 4)]),
    ("transpose_neg", lambda L, x: x.transpose(-1, -2), [(2, 3, 4)]),
    ("transpose_fn", lambda L, x: L.transpose(x, 0, 1), [(2, 3)]),
    ("T", lambda L, x: x.T, [(2, 3)]),
    ("t", lambda L, x: x.t(), [(2, 3)]),
    ("mT", lambda L, x: x.mT, [(2, 3, 4)]),
    ("flatten", lambda L, x: x.flatten(), [(2, 3, 4)]),
    ("flatten_start", lambda L, x: x.flatten(1), [(2, 3, 4)]),
    ("flatten_range", lambda L, x: x.flatten(0, 1), [(2, 3, 4)]),
    ("flatten_0d", lambda L, x: x.flatten(), [()]),
    ("unsqueeze", lambda L, x: x.unsqueeze(0), [(2, 3)]),
    ("unsqueeze_neg", lambda L, x: x.unsqueeze(-1), [(2, 3)]),
    ("unsqueeze_mid", lambda L, x: x.unsqueeze(1), [(2, 3)]),
    ("squeeze_all", lambda L, x: x.squeeze(), [(2, 1, 3, 1)]),
    ("squeeze_dim", lambda L, x: x.squeeze(1), [(2, 1, 3, 1)]),
    ("squeeze_neg", lambda L, x: x.squeeze(-1), [(2, 1, 3, 1)]),
    ("squeeze_noop", lambda L, x: x.squeeze(0), [(2, 1, 3, 1)]),
    ("squeeze_tuple", lambda L, x: x.squeeze((1, 3)), [(2, 1, 3, 1)]),
    ("expand", lambda L, x: x.expand(2, 3, 4), [(3, 1)]),
    ("expand_keep", lambda L, x: x.expand(-1, 4), [(3, 1)]),
    ("expand_as", lambda L, x, y: x.expand_as(y) * y, [(1, 3), (2, 3)]),
    ("cat0", lambda L, a, b: L.cat([a, b]), [(2, 3), (1, 3)]),
    ("cat1", lambda L, a, b: L.cat([a, b], dim=1), [(2, 3), (2, 2)]),
    ("cat_neg3", lambda L, a, b, c: L.cat((a, b, c), -1), [(2, 1), (2, 2), (2, 3)]),
    ("cat_same", lambda L, a: L.cat([a, a * 2], 0), [(2, 2)]),
    ("stack0", lambda L, a, b: L.stack([a, b]), [(2, 3), (2, 3)]),
    ("stack1", lambda L, a, b: L.stack([a, b], dim=1), [(2, 3), (2, 3)]),
    ("stack_neg", lambda L, a, b, c: L.stack([a, b, c], -1), [(2, 3), (2, 3), (2, 3)]),
    ("split_int", lambda L, x: x.split(2, dim=1), [(3, 5)]),
    ("split_sizes", lambda L, x: x.split([1, 4], dim=1), [(3, 5)]),
    ("split_neg", lambda L, x: x.split(1, -2), [(3, 2)]),
    ("chunk", lambda L, x: x.chunk(3, dim=1), [(2, 5)]),
    ("chunk0", lambda L, x: L.chunk(x, 2), [(4, 2)]),
    ("unbind", lambda L, x: x.unbind(1), [(2, 3)]),
    # __getitem__
    ("item_int", lambda L, x: x[1], [(3, 4)]),
    ("item_neg_int", lambda L, x: x[-1, 2], [(3, 4)]),
    ("slice", lambda L, x: x[1:, :3], [(3, 4)]),
    ("slice_step", lambda L, x: x[:, ::2], [(3, 4)]),
    ("slice_neg_step", lambda L, x: x[::-1], [(3, 4)], lambda L, x: x.flip(0)),
    ("slice_neg_step2", lambda L, x: x[:, 3:0:-2], [(3, 4)], lambda L, x: x[:, [3, 1]]),
    ("none", lambda L, x: x[None, 1], [(3, 4)]),
    ("none_mid", lambda L, x: x[:, None, 1:3], [(3, 4)]),
    ("ellipsis", lambda L, x: x[..., 1], [(2, 3, 4)]),
    ("ellipsis_none", lambda L, x: x[0, ..., None], [(2, 3, 4)]),
    ("int_tensor_repeated", lambda L, x: x[L.tensor([0, 2, 0, 0])], [(3, 4)]),
    ("int_list_repeated", lambda L, x: x[:, [2, 0, 2]], [(3, 4)]),
    ("int_2d_index", lambda L, x: x[L.tensor([[0, 1], [1, 0]])], [(3, 2)]),
    ("int_pairs_repeated", lambda L, x: x[L.tensor([0, 0, 2]), L.tensor([1, 1, 3])], [(3, 4)]),
    ("int_0d_tensor", lambda L, x: x[L.tensor(1)], [(3, 4)]),
    ("int_neg_index", lambda L, x: x[L.tensor([-1, -1])], [(3, 4)]),
    ("bool_mask_rows", lambda L, x: x[L.tensor([True, False, True])], [(3, 4)]),
    ("bool_mask_full", lambda L, x: x[x > 0], [(3, 4)]),
    ("bool_mask_tail", lambda L, x: x[:, L.tensor([False, True, True, False])], [(3, 4)]),
    # gather / masked_fill
    ("gather1", lambda L, x: x.gather(1, L.tensor([[0, 0, 2], [1, 0, 1]])), [(2, 3)]),
    ("gather0", lambda L, x: x.gather(0, L.tensor([[1, 1, 0]])), [(2, 3)]),
    ("gather_neg", lambda L, x: L.gather(x, -1, L.tensor([[2], [2]])), [(2, 3)]),
    ("masked_fill", lambda L, x: x.masked_fill(L.tensor([True, False, True]), -1.5), [(2, 3)]),
    ("masked_fill_2d", lambda L, x: x.masked_fill(x < 0, 0.0), [(2, 3)]),
]


def _ids(cases):
    return [c[0] for c in cases]


def _unpack(case):
    _, fn, shapes, *rest = case
    return fn, shapes, rest[0] if rest else None


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_gradcheck(opcheck, case):
    fn, shapes, _ = _unpack(case)
    opcheck.gradcheck(fn, opcheck.arrays(shapes, "away0"))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_vs_torch(torch, opcheck, dtype, case):
    fn, shapes, torch_fn = _unpack(case)
    opcheck.vs_torch(torch, fn, opcheck.arrays(shapes, "away0"), dtype, torch_fn)


def test_repeated_indices_accumulate_in_backward():
    x = stirpile.zeros(4, requires_grad=True)
    x[stirpile.tensor([0, 0, 0, 2])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0, 0.0]
    y = stirpile.zeros(2, 2, requires_grad=True)
    (y[[0, 0], [1, 1]] * stirpile.tensor([2.0, 5.0])).sum().backward()
    assert y.grad.tolist() == [[0.0, 7.0], [0.0, 0.0]]


def test_getitem_shares_basic_values_and_reads_right():
    x = stirpile.arange(12).reshape(3, 4)
    assert x[1].tolist() == [4, 5, 6, 7]
    assert x[:, ::-1][0].tolist() == [3, 2, 1, 0]
    assert x[x > 9].tolist() == [10, 11]
    assert x[None].shape == (1, 3, 4) and x[..., None].shape == (3, 4, 1)


def test_one_hot(torch, close):
    idx = stirpile.tensor([[0, 2], [1, 1]])
    ours = stirpile.one_hot(idx, 4)
    close(ours, torch.nn.functional.one_hot(torch.tensor([[0, 2], [1, 1]]), 4))
    assert ours.shape == (2, 2, 4) and ours.dtype == stirpile.int64
    inferred = stirpile.one_hot(stirpile.tensor([0, 3]))
    assert inferred.tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]
    with pytest.raises(RuntimeError):
        stirpile.one_hot(stirpile.tensor([0, 5]), 3)
    with pytest.raises(TypeError):
        stirpile.one_hot(stirpile.tensor([0.0, 1.0]), 3)


def test_views_share_memory_with_the_original():
    x = stirpile.zeros(2, 3)
    x.reshape(6)[0] = 1.0
    x.T[2, 1] = 2.0
    assert x.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]


def test_chunk_and_split_sizes_match_torch(torch):
    x, t = stirpile.zeros(7, 2), torch.zeros(7, 2)
    for n in (1, 2, 3, 4, 7):
        assert [c.shape[0] for c in x.chunk(n)] == [c.shape[0] for c in t.chunk(n)]
        assert [c.shape[0] for c in x.split(n)] == [c.shape[0] for c in t.split(n)]


# -- errors --------------------------------------------------------------------------------


def test_reshape_invalid_raises_with_shapes():
    with pytest.raises(RuntimeError, match=r"invalid for input of size 6"):
        stirpile.ones(2, 3).reshape(4, 2)
    with pytest.raises(RuntimeError):
        stirpile.ones(2, 3).view(-1, 4)


def test_cat_mismatch_raises_with_shapes():
    with pytest.raises(RuntimeError, match=r"cat.*\(2, 3\).*\(2, 4\)"):
        stirpile.cat([stirpile.ones(2, 3), stirpile.ones(2, 4)])
    with pytest.raises(RuntimeError, match="cat"):
        stirpile.cat([stirpile.ones(2, 3), stirpile.ones(3)])
    with pytest.raises(ValueError, match="non-empty"):  # PyTorch's type for this one
        stirpile.cat([])


def test_stack_mismatch_raises_with_shapes():
    with pytest.raises(RuntimeError, match=r"stack.*\(2, 3\).*\(3, 2\)"):
        stirpile.stack([stirpile.ones(2, 3), stirpile.ones(3, 2)])


def test_split_sizes_must_add_up():
    with pytest.raises(RuntimeError, match="split"):
        stirpile.ones(5).split([2, 2])


def test_gather_index_dims_must_match():
    with pytest.raises(RuntimeError, match="gather"):
        stirpile.ones(2, 3).gather(1, stirpile.tensor([0, 1]))


def test_expand_of_a_non_singleton_dim_raises():
    with pytest.raises(RuntimeError):
        stirpile.ones(2, 3).expand(4, 3)


def test_out_of_range_index_raises():
    with pytest.raises(IndexError):
        stirpile.ones(2, 3)[2]
    assert np.array_equal(stirpile.ones(2, 3)[-2].numpy(), np.ones(3))


DIM_ERRORS = [  # (name, op(L, x)) with x of shape (2, 1)
    ("squeeze", lambda L, x: x.squeeze(5)),
    ("squeeze_tuple", lambda L, x: x.squeeze((0, 3))),
    ("unsqueeze", lambda L, x: x.unsqueeze(3)),
    ("unsqueeze_neg", lambda L, x: x.unsqueeze(-4)),
    ("flatten", lambda L, x: x.flatten(2)),
    ("transpose", lambda L, x: x.transpose(0, 2)),
    ("gather", lambda L, x: x.gather(2, L.tensor([[0], [0]]))),
    ("cat", lambda L, x: L.cat([x, x], dim=2)),
    ("cat_neg", lambda L, x: L.cat([x, x], dim=-3)),
    ("stack", lambda L, x: L.stack([x, x], dim=4)),
    ("sum", lambda L, x: x.sum(2)),
    ("split", lambda L, x: x.split(1, dim=2)),
]


@pytest.mark.parametrize(("name", "op"), DIM_ERRORS, ids=[c[0] for c in DIM_ERRORS])
def test_out_of_range_dims_raise_index_error_like_torch(torch, name, op):
    with pytest.raises(IndexError):
        op(stirpile, stirpile.ones(2, 1))
    with pytest.raises(IndexError):  # PyTorch agrees
        op(torch, torch.ones(2, 1))


def test_cat_of_0d_tensors_is_refused():
    with pytest.raises(RuntimeError, match="zero-dim"):
        stirpile.cat([stirpile.tensor(1.0), stirpile.tensor(2.0)])
