"""``stirpile.accelerator``: PyTorch's device-agnostic accelerator API; there is none here."""

from __future__ import annotations

from typing import Any


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False) -> None:
    """The accelerator in use: ``None``, since stirpile runs on the CPU only."""
    return None


def device_count() -> int:
    return 0


def synchronize(device: Any = None) -> None:
    """Nothing to wait for."""
