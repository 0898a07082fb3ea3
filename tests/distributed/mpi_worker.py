"""What each rank runs in tests/distributed/test_distributed.py (under ``mpiexec -n 2``).

``python mpi_worker.py MODE OUT_DIR``: rank 0 writes its findings to ``OUT_DIR/MODE.npz``
(or ``.json``) for the test to check. Not a test module: everything runs under ``main``.
"""

from __future__ import annotations

import json
import os
import signal
import sys

import numpy as np


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 12)).astype(np.float32), rng.integers(0, 4, n)


def _model(st):
    st.manual_seed(1)
    return st.nn.Sequential(
        st.nn.Linear(12, 300),
        st.nn.Tanh(),
        st.nn.Linear(300, 200),
        st.nn.ReLU(),
        st.nn.Linear(200, 4),
    )  # fmt: skip (about 65k parameters: the 1 MiB first bucket and a second one)


def _optimizer(st, name: str, params):
    if name == "sgd":
        return st.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    return st.optim.Adam(params, lr=1e-3)


def _flat(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def equivalence(st, dist, out: str) -> None:
    """K ranks x batch b, DDP, against one process x batch K*b, for SGD and Adam; then
    gradient accumulation under no_sync against the large batch."""
    rank, k = dist.get_rank(), dist.get_world_size()
    b, steps = 8, 12
    x, y = _data(k * b * steps)
    found = {}
    for name in ("sgd", "adam"):
        st.manual_seed(100 + rank)  # a different init per rank: DDP must use rank 0's
        local = st.nn.Sequential(st.nn.Linear(12, 300), st.nn.Tanh(), st.nn.Linear(300, 200),
                                 st.nn.ReLU(), st.nn.Linear(200, 4))  # fmt: skip
        if rank == 0:
            local.load_state_dict(_model(st).state_dict())
        # SGD with small buckets (several allreduces in flight), Adam with the default one
        cap = 0.1 if name == "sgd" else None
        ddp = st.nn.parallel.DistributedDataParallel(local, bucket_cap_mb=cap)
        opt = _optimizer(st, name, ddp.parameters())
        ref = _model(st)
        ref_opt = _optimizer(st, name, ref.parameters())
        for s in range(steps):
            xs, ys = x[s * k * b : (s + 1) * k * b], y[s * k * b : (s + 1) * k * b]
            opt.zero_grad()
            mine = slice(rank * b, (rank + 1) * b)
            st.nn.functional.cross_entropy(ddp(st.tensor(xs[mine])), st.tensor(ys[mine])).backward()
            opt.step()
            ref_opt.zero_grad()
            st.nn.functional.cross_entropy(ref(st.tensor(xs)), st.tensor(ys)).backward()
            ref_opt.step()
        found[f"{name}_ddp"], found[f"{name}_ref"] = _flat(local), _flat(ref)
        found[f"{name}_buckets"] = np.array(ddp.bucket_sizes())

    # no_sync: 3 micro-batches per rank, the last one synchronizes
    local, ref = _model(st), _model(st)
    ddp = st.nn.parallel.DistributedDataParallel(local)
    micro, n_micro = 4, 3
    xs, ys = x[: k * micro * n_micro], y[: k * micro * n_micro]

    def micro_step(m: int) -> None:
        lo = (rank * n_micro + m) * micro
        out_ = ddp(st.tensor(xs[lo : lo + micro]))
        (st.nn.functional.cross_entropy(out_, st.tensor(ys[lo : lo + micro])) / n_micro).backward()

    for m in range(n_micro - 1):
        with ddp.no_sync():  # forward and backward inside: only local accumulation
            micro_step(m)
    found["nosync_local"] = _flat_grad(local)
    micro_step(n_micro - 1)  # this backward reduces everything accumulated
    st.nn.functional.cross_entropy(ref(st.tensor(xs)), st.tensor(ys)).backward()
    found["nosync_ddp"], found["nosync_ref"] = _flat_grad(local), _flat_grad(ref)
    # the grads of the other rank right after a no_sync backward must differ from ours
    other = [None] * k
    dist.all_gather_object(other, found["nosync_local"])
    found["nosync_local_other"] = other[1 - rank] if k == 2 else other[0]
    # stirpile.compile on a DDP step: it must run eagerly (communication is not replayed)
    local, ref = _model(st), _model(st)
    ddp = st.nn.parallel.DistributedDataParallel(local)
    opt, ref_opt = _optimizer(st, "sgd", ddp.parameters()), _optimizer(st, "sgd", ref.parameters())

    @st.compile
    def step(xb, yb):
        opt.zero_grad()
        st.nn.functional.cross_entropy(ddp(xb), yb).backward()
        opt.step()

    for s in range(4):
        xs, ys = x[s * k * b : (s + 1) * k * b], y[s * k * b : (s + 1) * k * b]
        step(st.tensor(xs[rank * b : (rank + 1) * b]), st.tensor(ys[rank * b : (rank + 1) * b]))
        ref_opt.zero_grad()
        st.nn.functional.cross_entropy(ref(st.tensor(xs)), st.tensor(ys)).backward()
        ref_opt.step()
    found["compiled_ddp"], found["compiled_ref"] = _flat(local), _flat(ref)
    found["compiled_replays"] = np.array(step.replays)
    if rank == 0:
        np.savez(os.path.join(out, "equivalence.npz"), **found)


def _flat_grad(model) -> np.ndarray:
    return np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])


def collectives(st, dist, out: str) -> None:
    rank, k = dist.get_rank(), dist.get_world_size()
    res = {"rank": rank, "world": k}
    t = st.tensor([1.0, 2.0]) * (rank + 1)
    v0 = t._version
    dist.all_reduce(t)
    res["sum"], res["bumped"] = t.tolist(), t._version > v0
    t = st.tensor([1.0, 2.0]) * (rank + 1)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    res["avg"] = t.tolist()
    t = st.tensor([float(rank), -float(rank)])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    res["max"] = t.tolist()
    t = st.tensor([float(rank), -float(rank)]).T  # a non-contiguous-safe path: a view
    w = dist.all_reduce(t, async_op=True)
    res["async_done"] = w.wait()
    res["async"] = t.tolist()
    t = st.full((3,), float(rank + 5))
    dist.broadcast(t, src=1)
    res["broadcast"] = t.tolist()
    parts = [st.zeros(2, dtype=st.int64) for _ in range(k)]
    dist.all_gather(parts, st.tensor([rank, 10 * rank]))
    res["all_gather"] = [p.tolist() for p in parts]
    objs = [None] * k
    dist.all_gather_object(objs, {"r": rank})
    res["objects"] = objs
    sampler = st.utils.data.DistributedSampler(range(11), shuffle=True, seed=3)
    shards = {}
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        got = [None] * k
        dist.all_gather_object(got, list(sampler))
        shards[epoch] = got
    res["shards"] = shards
    dist.barrier()
    if rank == 0:
        with open(os.path.join(out, "collectives.json"), "w") as f:
            json.dump(res, f)
    dist.destroy_process_group()
    res_after = dist.is_initialized()
    if rank == 0:
        with open(os.path.join(out, "destroyed.json"), "w") as f:
            json.dump(res_after, f)


def fail(st, dist, out: str, how: str) -> None:
    """Rank 1 fails during training; rank 0 goes on into its next allreduce."""
    rank = dist.get_rank()
    model = st.nn.parallel.DistributedDataParallel(_model(st))
    x, y = _data(16)
    for step in range(1000):
        if rank == 1 and step == 3:
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError(f"bad batch at step {step}")
        st.nn.functional.cross_entropy(model(st.tensor(x)), st.tensor(y)).backward()


def main() -> None:
    mode, out = sys.argv[1], sys.argv[2]
    import stirpile as st
    from stirpile import distributed as dist

    dist.init_process_group(backend="mpi")
    if mode == "equivalence":
        equivalence(st, dist, out)
    elif mode == "collectives":
        collectives(st, dist, out)
    else:
        fail(st, dist, out, mode)


if __name__ == "__main__":
    main()
