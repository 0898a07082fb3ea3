"""Checks the ``stirpile`` command makes before any work: option values, memory, the
output directory, and a checkpoint's config against its stored tensors. Each failure
is a :class:`CLIError`: one line, exit code 2."""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from pathlib import Path
from typing import Any

MAX_SEED = 2**63 - 2  # (the augmentation draws from seed + 1)


class CLIError(Exception):
    """A user error: reported in one line, exit code 2."""


def validate_config(cfg: dict[str, Any]) -> None:
    """Every setting in range before any work: a typo must not cost an hour of training."""
    hidden = cfg.get("hidden")
    if not isinstance(hidden, list) or not all(
        isinstance(h, int) and not isinstance(h, bool) for h in hidden
    ):
        raise CLIError(f"--hidden takes comma-separated widths like 512,256, got {hidden!r}")
    if any(h <= 0 for h in hidden):
        raise CLIError(f"--hidden widths must be positive, got {','.join(map(str, hidden))}")
    for key, low, high, what in [
        ("lr", 0.0, math.inf, "a positive number"),
        ("momentum", 0.0, 1.0, "in [0, 1)"),
        ("weight_decay", 0.0, math.inf, "a non-negative number"),
        ("dropout", 0.0, 1.0, "in [0, 1)"),
    ]:
        value = cfg.get(key)
        ok = (isinstance(value, (int, float)) and math.isfinite(value)
              and low <= value < high and (key != "lr" or value > 0))  # fmt: skip
        if not ok:
            raise CLIError(f"--{key.replace('_', '-')} must be {what}, got {value}")
    for key, high in (("epochs", 10**6), ("batch_size", 10**9), ("seed", MAX_SEED)):
        value, low = cfg.get(key), 0 if key == "seed" else 1
        if not isinstance(value, int) or not low <= value <= high:
            raise CLIError(f"--{key.replace('_', '-')} must be in [{low}, {high}], got {value}")
    if cfg.get("model", "mlp") not in ("mlp", "lenet", "lstm"):
        raise CLIError(f"--model must be mlp, lenet or lstm, got {cfg.get('model')!r}")
    need, have = training_bytes(hidden, cfg["batch_size"]), memory_bytes()
    if cfg.get("model", "mlp") == "mlp" and have is not None and need > have:
        raise CLIError(
            f"--hidden {','.join(map(str, hidden))}: training this MLP needs about "
            f"{need / 2**30:,.1f} GiB, more than this machine's {have / 2**30:,.1f} GiB"
        )


def training_bytes(hidden: list[int], batch_size: int, n_in: int = 784) -> int:
    """A lower bound on training memory (float32): weights, gradients and two optimizer
    buffers per parameter, and a few activations per unit of the largest batch."""
    widths = [n_in, *hidden, 10]
    params = sum((a + 1) * b for a, b in itertools.pairwise(widths))
    return 4 * (4 * params + 3 * min(batch_size, 60_000) * sum(widths))


def memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_out_dir(out: Path) -> None:
    """``out`` must be (or become) a directory we can write to: create it, write a
    probe file, remove it; a one-line error otherwise."""
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".stirpile-probe-", suffix=".tmp")
        try:
            os.close(fd)
        finally:
            os.unlink(probe)
    except OSError as e:
        raise CLIError(f"--out {out}: cannot write there ({e.strerror or e})") from None


def claim_out_dir(out: Path, reuse: bool) -> Path:
    """The directory this run writes to: ``out`` when it is empty (or ``reuse``), else
    the first free ``out-2``, ``out-3``, … beside it, so no earlier run is replaced."""

    def taken(d: Path) -> bool:
        return d.exists() and (not d.is_dir() or any(d.iterdir()))

    if not reuse and taken(out):
        n = 2
        while taken(out.with_name(f"{out.name}-{n}")):
            n += 1
        new = out.with_name(f"{out.name}-{n}")
        print(f"{out}/ holds an earlier run: writing to {new}/ instead "
              f"(--overwrite to write into {out}/)")  # fmt: skip
        out = new
    check_out_dir(out)
    return out


def check_model_state(path: str, state: dict, meta: dict) -> list[int]:
    """Check a checkpoint's config against its stored tensors before a model is built
    (a forged config must not allocate gigabytes); return the image shape."""
    from .models import ACTIVATIONS
    from .tensor import Tensor

    cfg, weights = meta["config"], state.get("model")
    classes, hidden = meta.get("classes"), cfg.get("hidden")
    image, kind = meta.get("image_shape") or [28, 28], cfg.get("model", "mlp")

    def bad(what: str) -> CLIError:
        return CLIError(f"{path}: not a usable stirpile train checkpoint ({what})")

    if not isinstance(weights, dict):
        raise bad("no model weights")
    if not isinstance(classes, int) or not 1 <= classes <= 100_000:
        raise bad(f"classes {classes!r}")
    if not (isinstance(image, (list, tuple)) and len(image) == 2
            and all(isinstance(v, int) and 1 <= v <= 4096 for v in image)):  # fmt: skip
        raise bad(f"image_shape {image!r}")
    if kind not in ("mlp", "lenet", "lstm"):
        raise bad(f"model {kind!r}")
    if not isinstance(hidden, list) or not all(isinstance(h, int) and h > 0 for h in hidden):
        raise bad(f"hidden {hidden!r}")
    if cfg.get("activation") not in ACTIVATIONS:
        raise bad(f"activation {cfg.get('activation')!r}")
    dropout = cfg.get("dropout")
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise bad(f"dropout {dropout!r}")
    if kind != "mlp":  # fixed architectures: load_state_dict checks every shape
        return list(image)
    linear = sorted(
        (int(k.split(".")[0]), v.shape)
        for k, v in weights.items()
        if isinstance(k, str) and k.endswith(".weight") and k.split(".")[0].isdigit()
        and isinstance(v, Tensor) and v.ndim == 2
    )  # fmt: skip
    if len(linear) != len(hidden) + 1:
        raise bad(f"{len(linear)} linear layers stored, the config has {len(hidden) + 1}")
    widths = [linear[0][1][1], *hidden, classes]
    for (_, shape), n_in, n_out in zip(linear, widths, widths[1:]):
        if tuple(shape) != (n_out, n_in):
            raise bad(f"a stored weight of shape {tuple(shape)} where the config has "
                      f"({n_out}, {n_in})")  # fmt: skip
    if widths[0] != image[0] * image[1]:
        raise bad(f"image shape {list(image)} does not match the first layer's "
                  f"{widths[0]} inputs")  # fmt: skip
    return list(image)
