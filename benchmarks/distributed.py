"""Data-parallel scaling: config C (784-1024-1024-1024-10, batch 256 per rank) on 1 and 2
MPI ranks, the time spent in communication, and how much of it the backward pass hides.

    python benchmarks/distributed.py            # stirpile (and PyTorch DDP over gloo, if installed)
    python benchmarks/distributed.py --quick

The parent starts ``mpiexec -n K python distributed.py --worker NAME ...`` for K = 1, 2,
round after round in alternating order, and reports medians. Each worker times training
steps (forward, backward with DistributedDataParallel's bucketed non-blocking allreduce,
SGD step); rank 0 also times a blocking allreduce of the same buckets alone, and of
buffers of several sizes for a latency/bandwidth fit. From those it prints an estimate
for 8 and 64 machines on 10 Gbit/s Ethernet (ring allreduce), see benchmarks/README.md.
On this 2-core machine the two ranks share the machine's memory bandwidth and its two
cores with each other (and with anything else running).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import pin_threads, table

SIZES = [784, 1024, 1024, 1024, 10]
BATCH = 256
PROGRESS = "stirpile, MPI progress thread"
ALLREDUCE_BYTES = [4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20]


# -- the workers (one per rank) ------------------------------------------------------------
def _config_c(lib):
    """Config C in ``lib`` (stirpile or torch), seeded: the same on every rank."""
    lib.manual_seed(0)
    layers = []
    for a, b in itertools.pairwise(SIZES):
        layers += [lib.nn.Linear(a, b), lib.nn.ReLU()]
    return lib.nn.Sequential(*layers[:-1])


def _time_steps(net, opt, loss_of, barrier, steps: int, warmup: int, world: int) -> dict:
    """Median seconds of a training step and of its backward. With 2 ranks, steps alternate
    between synchronized ones and ones under ``no_sync()`` (the same work, no communication),
    so their difference is what communication adds to a step."""
    times: dict[str, list] = {"step": [], "backward": [], "step_local": []}
    for i in range(warmup + 2 * steps):
        local = world > 1 and i % 2 == 1
        barrier()
        with net.no_sync() if local else contextlib.nullcontext():
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = loss_of()
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
        if i >= warmup:
            times["step_local" if local else "step"].append(t3 - t0)
            if not local:
                times["backward"].append(t2 - t1)
    out = {k: statistics.median(v) for k, v in times.items() if v}
    return out | {"world": world}


def _stirpile_worker(steps: int, warmup: int) -> dict:
    import numpy as np

    import stirpile as st
    from stirpile import distributed as dist

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    model = _config_c(st)
    net = st.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    opt = st.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(rank)
    x = st.tensor(rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32))
    y = st.tensor(rng.integers(0, SIZES[-1], BATCH))
    loss_fn = st.nn.CrossEntropyLoss()
    out = _time_steps(net, opt, lambda: loss_fn(net(x), y), dist.barrier, steps, warmup, world)
    if world > 1:
        comm, MPI = dist._world.comm, dist._world.MPI
        bufs = [np.ones(n // 4, np.float32) for n in net.bucket_sizes()]

        def blocking(arrays: list) -> float:
            best = []
            for _ in range(max(5, steps // 2)):
                comm.Barrier()
                t0 = time.perf_counter()
                for a in arrays:
                    comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)
                best.append(time.perf_counter() - t0)
            return statistics.median(best)

        out["allreduce_buckets"] = blocking(bufs)
        out["grad_bytes"] = sum(net.bucket_sizes())
        out["buckets"] = net.bucket_sizes()
        out["sizes"] = {n: blocking([np.ones(n // 4, np.float32)]) for n in ALLREDUCE_BYTES}
    return out if rank == 0 else {}


def _torch_worker(steps: int, warmup: int) -> dict:
    """PyTorch's DDP over gloo, ranks from MPICH's environment (PMI_RANK/PMI_SIZE)."""
    import torch
    import torch.distributed as tdist

    torch.set_num_threads(1)
    rank, world = int(os.environ.get("PMI_RANK", 0)), int(os.environ.get("PMI_SIZE", 1))
    port = os.environ["BENCH_PORT"]
    tdist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                             world_size=world)  # fmt: skip
    model = _config_c(torch)
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(rank)
    x = torch.randn(BATCH, SIZES[0], generator=g)
    y = torch.randint(0, SIZES[-1], (BATCH,), generator=g)
    loss_fn = torch.nn.CrossEntropyLoss()
    out = _time_steps(net, opt, lambda: loss_fn(net(x), y), tdist.barrier, steps, warmup, world)
    tdist.destroy_process_group()
    return out if rank == 0 else {}


# -- the parent ------------------------------------------------------------------------------
def _mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        sys.exit("no mpiexec: pip install 'stirpile[distributed]' (mpi4py, mpich)")
    return found


def _launch(name: str, k: int, steps: int, warmup: int, port: int) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    env = dict(os.environ, BENCH_PORT=str(port))
    if name == PROGRESS:  # MPICH's progress thread: messages move while backward computes
        env["MPIR_CVAR_ASYNC_PROGRESS"] = "1"
    cmd = [_mpiexec(), "-n", str(k), sys.executable, __file__, "--worker", name,
           "--steps", str(steps), "--warmup", str(warmup), "--result", path]  # fmt: skip
    subprocess.run(cmd, check=True, env=env, timeout=1200)
    result = json.loads(Path(path).read_text())
    os.unlink(path)
    return result


def _fit_latency_bandwidth(sizes: dict) -> tuple[float, float]:
    """Least squares ``t = alpha + beta * bytes`` over the measured allreduce sizes."""
    xs = [float(n) for n in sizes]
    ys = list(sizes.values())
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    beta = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return max(my - beta * mx, 0.0), beta


def _ring(p: int, n_bytes: int, alpha: float, beta_net: float, gamma: float) -> float:
    """Ring allreduce of ``n_bytes`` on ``p`` machines: 2(p-1) messages of n/p bytes each
    way (reduce-scatter, then all-gather), and (p-1)/p·n bytes summed locally."""
    return (
        2 * (p - 1) * alpha + 2 * (p - 1) / p * n_bytes * beta_net + (p - 1) / p * n_bytes * gamma
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true", help="stirpile only")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=30, help=argparse.SUPPRESS)
    ap.add_argument("--warmup", type=int, default=5, help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    pin_threads(1)
    if args.worker:
        fn = _torch_worker if args.worker == "torch" else _stirpile_worker
        found = fn(args.steps, args.warmup)
        if found:
            Path(args.result).write_text(json.dumps(found))
        return

    steps, rounds = (8, 1) if args.quick else (args.steps, args.rounds)
    names = ["stirpile", PROGRESS]
    try:
        import torch  # noqa: F401

        if not args.no_torch:
            names.append("torch")
    except ImportError:
        pass
    runs: dict = {(n, k): [] for n in names for k in (1, 2) if (n, k) != (PROGRESS, 1)}
    port = 29500 + os.getpid() % 1000
    for r in range(rounds):
        order = [(n, k) for n in names for k in ((1, 2) if r % 2 == 0 else (2, 1))
                 if (n, k) in runs]  # fmt: skip
        for n, k in order:
            port += 1
            runs[n, k].append(_launch(n, k, steps, args.warmup, port))

    def med(n: str, k: int, key: str) -> float:
        n = "stirpile" if (n, k) == (PROGRESS, 1) else n  # the same single process
        return statistics.median(run[key] for run in runs[n, k])

    print(f"config C {'-'.join(map(str, SIZES))}, batch {BATCH} per rank, SGD momentum, "
          f"1 BLAS thread per rank; medians of {rounds} launches x {steps} steps")  # fmt: skip
    rows = []
    for n in names:
        one, two = BATCH / med(n, 1, "step"), 2 * BATCH / med(n, 2, "step")
        added = med(n, 2, "step") - med(n, 2, "step_local")
        row = [n, f"{one:,.0f}", f"{two:,.0f}", f"{two / (2 * one):.2f}",
               f"{med(n, 1, 'step') * 1e3:.1f}", f"{med(n, 2, 'step_local') * 1e3:.1f}",
               f"{med(n, 2, 'step') * 1e3:.1f}", f"{added * 1e3:.1f}"]  # fmt: skip
        if n != "torch":
            alone = med(n, 2, "allreduce_buckets")
            row += [f"{alone * 1e3:.1f}", f"{min(1.0, max(0.0, 1 - added / alone)):.0%}"]
        else:
            row += ["-", "-"]
        rows.append(row)
    print(table(["", "1 rank img/s", "2 ranks img/s", "efficiency", "step, 1 rank (ms)",
                 "step, 2 ranks no_sync (ms)", "step, 2 ranks (ms)", "communication adds (ms)",
                 "allreduce alone (ms)", "hidden by backward"], rows))  # fmt: skip

    two = runs["stirpile", 2][-1]
    sizes = {int(k): statistics.median(run["sizes"][k] for run in runs["stirpile", 2])
             for k in two["sizes"]}  # fmt: skip
    alpha, beta = _fit_latency_bandwidth(sizes)
    print("\nblocking allreduce on 2 local ranks (shared memory):")
    print(
        table(
            ["bytes", "ms", "GB/s"],
            [[f"{n:,}", f"{t * 1e3:.3f}", f"{n / t / 1e9:.2f}"] for n, t in sizes.items()],
        )
    )
    print(f"fit: alpha {alpha * 1e6:.1f} us, beta {beta * 1e9:.3f} ns/byte "
          f"({1 / beta / 1e9:.2f} GB/s)")  # fmt: skip

    # the estimate: this machine's step time and local sums, the gradient's buckets, a
    # 10 Gbit/s link (see benchmarks/README.md)
    step, bwd = med("stirpile", 1, "step"), med("stirpile", 1, "backward")
    gamma = _sum_cost()
    eth_alpha, eth_beta = 30e-6, 8 / 10e9
    n_bytes = two["grad_bytes"]
    print(f"\nestimate: ring allreduce over 10 Gbit/s Ethernet (alpha {eth_alpha * 1e6:.0f} us "
          f"per message, {eth_beta * 1e9:.1f} ns/byte on the wire, {gamma * 1e9:.2f} ns/byte to "
          f"sum, measured here) of config C's {n_bytes / 1e6:.1f} MB of gradients; step "
          f"{step * 1e3:.1f} ms, of which backward {bwd * 1e3:.1f} ms (1 rank, measured "
          "here)")  # fmt: skip
    rows = []
    for p in (2, 8, 64):
        ring = lambda n, p=p: _ring(p, n, eth_alpha, eth_beta, gamma)  # noqa: E731
        t = ring(n_bytes)
        row = [p, f"{t * 1e3:.1f}", f"{step / (step + t):.0%}"]
        for cap in (25, 1):
            exposed = _exposed(_bucket_bytes(cap), bwd, ring)
            row += [f"{exposed * 1e3:.1f}", f"{step / (step + exposed):.0%}"]
        rows.append(row)
    print(table(["machines", "allreduce (ms)", "efficiency, after backward",
                 "exposed, 25 MiB buckets (ms)", "efficiency", "exposed, 1 MiB buckets (ms)",
                 "efficiency"], rows))  # fmt: skip


def _bucket_bytes(cap_mb: float) -> list[int]:
    """DistributedDataParallel's buckets for config C (reverse order, the first at most
    1 MiB, then ``cap_mb``), from the parameters' sizes alone."""
    sizes = []
    for a, b in itertools.pairwise(SIZES):
        sizes += [4 * a * b, 4 * b]
    buckets, current = [], 0
    for n in reversed(sizes):
        current += n
        if current >= (min(1 << 20, cap_mb * (1 << 20)) if not buckets else cap_mb * (1 << 20)):
            buckets.append(current)
            current = 0
    return buckets + ([current] if current else [])


def _exposed(buckets: list[int], backward: float, ring) -> float:
    """Communication left after backward ends: bucket i is ready once backward has done its
    share of the work (taken proportional to bytes: a layer's backward products scale with its
    weights), reductions run one after another; what runs past the end of backward shows."""
    total, done, free = sum(buckets), 0, 0.0
    for n in buckets:
        done += n
        ready = backward * done / total
        free = max(ready, free) + ring(n)
    return max(0.0, free - backward)


def _sum_cost() -> float:
    """Seconds per byte to add two float32 buffers (the reduction's arithmetic)."""
    import numpy as np

    a, b = np.ones(1 << 22, np.float32), np.ones(1 << 22, np.float32)
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        np.add(a, b, out=a)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / a.nbytes


if __name__ == "__main__":
    main()
