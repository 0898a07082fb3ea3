"""backend: thread control, RNG state round trip."""

from __future__ import annotations

import os

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


def test_freed_memory_is_kept_for_reuse_on_glibc():
    """stirpile asks glibc to keep freed blocks (see backend.keep_freed_memory): with it a
    fresh large array reuses the pages of the one just freed instead of faulting in new
    zeroed pages; ``STIRPILE_RELEASE_MEMORY=1`` switches it off."""
    import platform
    import subprocess
    import sys

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    code = (
        "import resource, numpy as np, stirpile\n"
        "print(stirpile.backend.MALLOC_TUNED)\n"
        "a = np.ones(6_000_000); del a\n"
        "f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20):\n"
        "    a = np.ones(6_000_000); del a\n"  # 48 MB, allocated and freed again
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)\n"
    )
    runs = {}
    for release in ("0", "1"):
        env = {**os.environ, "STIRPILE_RELEASE_MEMORY": release}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True).stdout.split()  # fmt: skip
        runs[release] = (out[0] == "True", int(out[1]))
    assert runs["0"][0] and not runs["1"][0]
    # glibc maps blocks over 32 MB afresh every time by default: 20 × 48 MB re-faulted is
    # ~234k page faults; kept memory faults almost none
    assert runs["0"][1] < 1000 < runs["1"][1]


def test_finfo_and_iinfo_match_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in [(stirpile.float32, torch.float32), (stirpile.float64, torch.float64),
                         (stirpile.float16, torch.float16)]:  # fmt: skip
        a, b = stirpile.finfo(ours), torch.finfo(theirs)
        for name in ("eps", "max", "min", "tiny", "bits", "resolution", "smallest_normal"):
            assert float(getattr(a, name)) == float(getattr(b, name)), name
    assert stirpile.finfo().eps == torch.finfo().eps  # the default dtype
    for ours, theirs in [(stirpile.int64, torch.int64), (stirpile.uint8, torch.uint8)]:
        a, b = stirpile.iinfo(ours), torch.iinfo(theirs)
        assert (a.max, a.min, a.bits) == (b.max, b.min, b.bits)
