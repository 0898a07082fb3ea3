"""``stirpile.cuda``: what PyTorch code asks about CUDA, answered for a CPU-only library.

``is_available()`` is False and ``device_count()`` 0, so the usual
``device = "cuda" if torch.cuda.is_available() else "cpu"`` picks the CPU.
Seeding calls are accepted and do nothing (as in PyTorch without a GPU);
anything that needs a GPU raises the same error as moving a tensor there.
"""

from __future__ import annotations

from typing import Any

from .device import check


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Accepted and ignored: there is no CUDA generator (PyTorch does the same without a GPU)."""


manual_seed_all = manual_seed


def seed() -> None:
    """Accepted and ignored, like :func:`manual_seed`."""


seed_all = seed


def synchronize(device: Any = None) -> None:
    """Nothing to wait for: stirpile's work is done when a call returns."""


def empty_cache() -> None:
    """Nothing to free: arrays are freed by Python's reference counting."""


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def _unavailable(*args: Any, **kwargs: Any) -> Any:
    check("cuda")


current_device = get_device_name = get_device_properties = set_device = _unavailable
memory_allocated = max_memory_allocated = _unavailable
