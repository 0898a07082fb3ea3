"""backend: thread control, RNG state round trip."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile import backend


def test_set_num_threads_limits_blas_and_restores():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    if not blas:
        pytest.skip("no BLAS library visible to threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=2):
        stirpile.set_num_threads(1)
        assert all(i["num_threads"] == 1 for i in threadpoolctl.threadpool_info()
                   if i["user_api"] == "blas")  # fmt: skip
        backend._thread_limiter.restore_original_limits()
        backend._thread_limiter = None
    with pytest.raises(ValueError, match="at least one"):
        stirpile.set_num_threads(0)


def test_rng_state_round_trip_reproduces_draws():
    stirpile.manual_seed(3)
    state = stirpile.get_rng_state()
    a = stirpile.randn(5).numpy().copy()
    stirpile.randn(7)
    stirpile.set_rng_state(state)
    assert np.array_equal(stirpile.randn(5).numpy(), a)
