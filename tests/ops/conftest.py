"""Fixtures for the op tests. Helpers are fixtures, not imports, as in the root
``conftest.py`` (which gives ``torch``, ``close`` and ``opcheck``).
"""

from __future__ import annotations

import pytest

import stirpile


@pytest.fixture
def same_error(torch):
    """``same_error(fn, error, match)``: ``fn(L)``, a call written once against the common
    API of ``L = torch`` and ``L = stirpile``, raises ``error`` with a message matching
    ``match`` in both (PyTorch's first, so a wrong expectation shows as such)."""

    def check(fn, error, match):
        for lib in (torch, stirpile):
            with pytest.raises(error, match=match):
                fn(lib)

    return check
