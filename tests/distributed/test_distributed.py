"""stirpile.distributed and DistributedDataParallel, run for real under ``mpiexec -n 2``.

The MPI tests start ``mpiexec -n 2 python mpi_worker.py MODE`` and check what rank 0
wrote; they skip, saying why, where mpi4py or mpiexec is missing
(``pip install 'stirpile[distributed]'`` brings both). The rest run in this process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import stirpile as st
from stirpile import distributed as dist

HERE = Path(__file__).parent
WORKER = HERE / "mpi_worker.py"


def _mpiexec() -> str | None:
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _need_mpi() -> str:
    if not dist.is_available():
        pytest.skip("mpi4py is not installed (pip install 'stirpile[distributed]')")
    exe = _mpiexec()
    if exe is None:
        pytest.skip("no mpiexec on PATH or beside the interpreter (pip install mpich)")
    return exe


def _run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.run([_need_mpi(), "-n", "2", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip


def _worker(mode: str, out: Path) -> subprocess.CompletedProcess:
    proc = _run([sys.executable, str(WORKER), mode, str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


# -- two ranks ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def equivalence(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    _worker("equivalence", out)
    return np.load(out / "equivalence.npz")


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_two_ranks_equal_one_rank_with_twice_the_batch(equivalence, opt):
    """12 steps of 2 ranks x batch 8 (DDP, ranks initialized differently) give the
    parameters of one process x batch 16 from rank 0's initialization."""
    ddp, ref = equivalence[f"{opt}_ddp"], equivalence[f"{opt}_ref"]
    assert np.abs(ref - _initial()).max() > 1e-2  # they trained
    np.testing.assert_allclose(ddp, ref, rtol=1e-5, atol=2e-6)


def _initial() -> np.ndarray:
    sys.path.insert(0, str(HERE))
    try:
        import mpi_worker
    finally:
        sys.path.remove(str(HERE))
    return mpi_worker._flat(mpi_worker._model(st))


def test_buckets_follow_pytorchs_assignment(equivalence):
    # reversed parameters, first bucket closes at >= min(1 MiB, cap): with cap 0.1 MiB the
    # last two layers (16 + 3200 + 800 + 240000 bytes) then the first (1200 + 14400)
    assert equivalence["sgd_buckets"].tolist() == [244016, 15600]
    assert equivalence["adam_buckets"].tolist() == [259616]  # all under the first 1 MiB


def test_no_sync_accumulation_matches_the_large_batch(equivalence):
    np.testing.assert_allclose(equivalence["nosync_ddp"], equivalence["nosync_ref"],
                               rtol=1e-5, atol=1e-7)  # fmt: skip
    # inside no_sync nothing was exchanged: the ranks' local gradients still differ
    assert np.abs(equivalence["nosync_local"] - equivalence["nosync_local_other"]).max() > 1e-3


def test_a_compiled_ddp_step_runs_eagerly_and_stays_correct(equivalence):
    assert int(equivalence["compiled_replays"]) == 0
    np.testing.assert_allclose(equivalence["compiled_ddp"], equivalence["compiled_ref"],
                               rtol=1e-5, atol=2e-6)  # fmt: skip


def test_collectives_and_sampler(tmp_path):
    _worker("collectives", tmp_path)
    r = json.loads((tmp_path / "collectives.json").read_text())
    assert r["world"] == 2
    assert r["sum"] == [3.0, 6.0] and r["bumped"]  # in place, counted as a write
    assert r["avg"] == [1.5, 3.0]
    assert r["max"] == [1.0, 0.0]
    assert r["async_done"] is True and r["async"] == [1.0, -1.0]
    assert r["broadcast"] == [6.0] * 3  # rank 1's
    assert r["all_gather"] == [[0, 0], [1, 10]]
    assert r["objects"] == [{"r": 0}, {"r": 1}]
    for epoch, shards in r["shards"].items():  # 11 items, 2 shards of 6: one repeat
        flat = shards[0] + shards[1]
        assert len(shards[0]) == len(shards[1]) == 6
        assert sorted(set(flat)) == list(range(11)), epoch
    assert r["shards"]["0"] != r["shards"]["1"]  # set_epoch reshuffles
    assert json.loads((tmp_path / "destroyed.json").read_text()) is False


@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_ends_the_job(tmp_path, how):
    """Rank 1 raises (or is killed) at step 3 while rank 0 waits in an allreduce: the
    whole job ends, non-zero, well within the time limit, never hangs."""
    start = time.monotonic()
    proc = _run([sys.executable, str(WORKER), how, str(tmp_path)], timeout=60)
    assert time.monotonic() - start < 60
    assert proc.returncode != 0
    if how == "raise":
        assert "stirpile.distributed: rank 1 of 2 failed: ValueError: bad batch at step 3" in (
            proc.stderr
        )


def test_cli_distributed_training(tmp_path):
    pytest.importorskip("sklearn")  # the 8x8 digits
    out = tmp_path / "run"
    stirpile_cmd = [sys.executable, "-m", "stirpile", "train", "--distributed",
                    "--dataset", "digits", "--epochs", "2", "--batch-size", "32",
                    "--out", str(out)]  # fmt: skip
    proc = _run(stirpile_cmd, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert "2 processes x batch 32 = batch 64" in lines[0]
    assert sum(line.startswith("training ") for line in lines) == 1  # rank 0 alone logs
    assert sum(line.startswith("epoch ") for line in lines) == 2
    ckpt = st.load(out / "model.ckpt")
    assert not any(k.startswith("module.") for k in ckpt["model"])  # resumable anywhere
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_acc"] > 0.5
    # its files serve one process without --distributed: evaluate, and the training state
    from stirpile.cli import build, main
    from stirpile.train import Trainer

    assert main(["evaluate", str(out / "model.ckpt")]) == 0
    last = st.load(out / "last.ckpt")
    model, opt, _ = build(last["meta"]["config"], (8, 8), 10, 23)
    trainer = Trainer(model, opt, log=None)
    trainer.load_checkpoint(out / "last.ckpt")
    assert trainer.epoch == 2
    np.testing.assert_array_equal(
        model.state_dict()["0.weight"].numpy(), ckpt["model"]["0.weight"].numpy()
    )


def test_cli_distributed_error_stops_every_rank(tmp_path):
    """A --out that is a file is refused on rank 0; every rank stops with its message."""
    pytest.importorskip("sklearn")
    (tmp_path / "taken").write_text("x")
    proc = _run([sys.executable, "-m", "stirpile", "train", "--distributed", "--dataset",
                 "digits", "--out", str(tmp_path / "taken")], timeout=120)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.count("is a file, not a directory") == 2


# -- one process --------------------------------------------------------------------------
def test_not_initialized_errors_match_pytorch():
    msg = ("Default process group has not been initialized, please make sure to call "
           "init_process_group.")  # fmt: skip
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier):
        with pytest.raises(ValueError, match="please make sure to call init_process_group"):
            fn()
    assert not dist.is_initialized()
    with pytest.raises(ValueError) as e:
        st.utils.data.DistributedSampler(range(4))
    if dist.is_available():
        assert str(e.value) == msg
    with pytest.raises(ValueError, match="please make sure"):
        st.nn.parallel.DistributedDataParallel(st.nn.Linear(2, 2))


def test_missing_mpi4py_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert not dist.is_available()
    with pytest.raises(RuntimeError, match=r"pip install 'stirpile\[distributed\]'"):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


def test_unknown_backend_is_refused():
    with pytest.raises(RuntimeError, match="backend 'nccl' is not available"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


# -- the hook DDP stands on -----------------------------------------------------------------
def test_post_accumulate_hook_fires_mid_backward():
    """A parameter's hook runs as soon as its gradient is complete: the last layer's fire
    while the first layer's gradients do not exist yet (what lets DDP overlap)."""
    l1, l2 = st.nn.Linear(3, 4), st.nn.Linear(4, 2)
    seen = []
    for name, layer in (("l1", l1), ("l2", l2)):
        for pname, p in layer.named_parameters():
            p.register_post_accumulate_grad_hook(
                lambda p, n=f"{name}.{pname}": seen.append(
                    (n, l1.weight.grad is None, p.grad.numpy().copy())
                )
            )
    x = st.randn(5, 3)
    l2(st.relu(l1(x))).sum().backward()
    order = [n for n, _, _ in seen]
    assert sorted(order) == ["l1.bias", "l1.weight", "l2.bias", "l2.weight"]
    assert order.index("l2.weight") < order.index("l1.weight")
    assert all(first_missing for n, first_missing, _ in seen if n.startswith("l2"))
    for n, _, g in seen:  # each saw its final gradient
        layer = l1 if n.startswith("l1") else l2
        np.testing.assert_array_equal(g, getattr(layer, n.split(".")[1]).grad.numpy())


def test_post_accumulate_hook_with_shared_weight_and_accumulation():
    """A weight used twice gets one call, after both contributions; a second backward
    accumulates into .grad before the hook sees it (as PyTorch)."""
    torch = pytest.importorskip("torch")
    results = []
    for L in (st, torch):
        w = L.tensor([1.0, 2.0], requires_grad=True)
        calls = []
        w.register_post_accumulate_grad_hook(lambda p, c=calls: c.append(p.grad.tolist()))
        for _ in range(2):
            (w * w.exp()).sum().backward()
        results.append(calls)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
    assert len(results[0]) == 2


def test_post_accumulate_hook_errors_and_removal():
    with pytest.raises(RuntimeError, match="non-leaf"):
        st.randn(2, requires_grad=True).exp().register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require grad"):
        st.randn(2).register_post_accumulate_grad_hook(print)
    w = st.ones(2, requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda p: calls.append(1))
    handle.remove()
    (w * 2).sum().backward()
    assert calls == [] and w.grad.tolist() == [2.0, 2.0]
