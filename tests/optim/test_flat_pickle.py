"""A pickled or deep-copied optimizer keeps training its own copy of the model (the flat
buffers of small groups are not carried over: they would no longer back the parameters)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import stirpile as st


def _step(model, opt, x, y):
    opt.zero_grad()
    st.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


@pytest.mark.parametrize("clone", ["pickle", "deepcopy"])
@pytest.mark.parametrize("make", [
    lambda ps: st.optim.Adam(ps, lr=0.1),
    lambda ps: st.optim.SGD(ps, lr=0.1, momentum=0.9),
])  # fmt: skip
def test_copied_optimizer_trains_the_copied_model(clone, make):
    st.manual_seed(0)
    model = st.nn.Linear(3, 2)
    opt = make(model.parameters())
    x, y = st.randn(8, 3), st.randint(0, 2, (8,))
    _step(model, opt, x, y)  # the flat buffers exist now
    if clone == "pickle":
        model2, opt2 = pickle.loads(pickle.dumps((model, opt)))
    else:
        model2, opt2 = copy.deepcopy((model, opt))
    before = model2.weight.detach().numpy().copy()
    for _ in range(2):
        _step(model, opt, x, y)
        _step(model2, opt2, x, y)
    assert np.abs(model2.weight.detach().numpy() - before).max() > 1e-3  # it moved
    np.testing.assert_array_equal(model2.weight.detach().numpy(), model.weight.detach().numpy())
    np.testing.assert_array_equal(model2.bias.detach().numpy(), model.bias.detach().numpy())
