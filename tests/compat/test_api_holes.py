"""Regression tests for API holes found by running real PyTorch programs (see
``test_tutorials.py``): each test names the hole and checks the fix against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import stirpile  # noqa: E402
from stirpile.nn import init  # noqa: E402


# -- nn.init: dirac_, sparse_, the deprecated names, generator= ---------------------------
@pytest.mark.parametrize(
    ("shape", "groups"),
    [((4, 3, 3), 1), ((3, 5, 3, 3), 1), ((6, 2, 3, 3), 2), ((4, 4, 1, 3, 3), 4)],
)
def test_init_dirac_matches_torch(shape: tuple, groups: int) -> None:
    ours = init.dirac_(stirpile.full(shape, 7.0), groups)
    theirs = torch.nn.init.dirac_(torch.full(shape, 7.0), groups)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    ("shape", "groups"), [((3, 3), 1), ((3, 2, 2, 2, 2, 2), 1), ((3, 2, 3), 2)]
)
def test_init_dirac_errors_match_torch(shape: tuple, groups: int) -> None:
    with pytest.raises(ValueError) as theirs:
        torch.nn.init.dirac_(torch.empty(shape), groups)
    with pytest.raises(ValueError, match=str(theirs.value)):
        init.dirac_(stirpile.empty(shape), groups)


def test_init_sparse_zeroes_a_fraction_of_every_column() -> None:
    stirpile.manual_seed(0)
    w = init.sparse_(stirpile.empty(200, 30), sparsity=0.25, std=0.5)
    values = w.numpy()
    assert ((values == 0).sum(axis=0) == 50).all()  # ⌈0.25 · 200⌉ per column, as torch
    assert abs(values[values != 0].std() - 0.5) < 0.02
    theirs = torch.nn.init.sparse_(torch.empty(200, 30), sparsity=0.25, std=0.5)
    assert ((theirs.numpy() == 0).sum(axis=0) == 50).all()


def test_init_sparse_rejects_non_matrices_like_torch() -> None:
    with pytest.raises(ValueError) as theirs:
        torch.nn.init.sparse_(torch.empty(2, 3, 4), 0.1)
    with pytest.raises(ValueError, match=str(theirs.value)):
        init.sparse_(stirpile.empty(2, 3, 4), 0.1)


@pytest.mark.parametrize(
    "name",
    "uniform normal constant eye dirac xavier_uniform xavier_normal kaiming_uniform "
    "kaiming_normal orthogonal sparse".split(),
)
def test_init_deprecated_names_warn_like_torch_and_fill(name: str) -> None:
    shape = (4, 3, 3) if name == "dirac" else (4, 3)
    args = {"constant": (0.5,), "sparse": (0.5,)}.get(name, ())
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        getattr(torch.nn.init, name)(torch.empty(shape), *args)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        w = getattr(init, name)(stirpile.full(shape, float("nan")), *args)
    assert [(type(m.message), str(m.message)) for m in ours] == [
        (type(m.message), str(m.message)) for m in theirs
    ]
    assert ours[0].filename == __file__  # stacklevel: the caller's line
    assert np.isfinite(w.numpy()).all()


@pytest.mark.parametrize(
    "fill",
    [
        lambda w, g: init.uniform_(w, -1, 1, generator=g),
        lambda w, g: init.normal_(w, generator=g),
        lambda w, g: init.trunc_normal_(w, generator=g),
        lambda w, g: init.xavier_uniform_(w, generator=g),
        lambda w, g: init.kaiming_normal_(w, generator=g),
        lambda w, g: init.orthogonal_(w, generator=g),
        lambda w, g: init.sparse_(w, 0.5, generator=g),
    ],
)
def test_init_takes_a_stirpile_generator(fill: object) -> None:
    """nn.init functions accepted only NumPy generators (AttributeError: 'Generator'
    object has no attribute 'uniform' for ``generator=stirpile.Generator()``)."""
    first = fill(stirpile.empty(5, 4), stirpile.Generator().manual_seed(3)).numpy()
    again = fill(stirpile.empty(5, 4), stirpile.Generator().manual_seed(3)).numpy()
    other = fill(stirpile.empty(5, 4), stirpile.Generator().manual_seed(4)).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
