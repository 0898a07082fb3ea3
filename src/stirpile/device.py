"""Devices, as in PyTorch: ``stirpile.device("cpu")`` and the ``device=`` arguments.

stirpile computes with NumPy on the CPU, so ``cpu`` is the one device there is.
Naming another device is allowed (``device("cuda")`` is a valid object, and
``"cuda" if cuda.is_available() else "cpu"`` picks the CPU), but putting a
tensor or a module on it raises an error that names the device, before any
work is done.

>>> import stirpile
>>> stirpile.device("cpu")
device(type='cpu')
>>> stirpile.zeros(2, device="cpu").device
device(type='cpu')
"""

from __future__ import annotations

from typing import Any

# PyTorch's device types: a name outside this list is a typo, not a missing accelerator
_TYPES = (
    "cpu cuda ipu xpu mkldnn opengl opencl ideep hip ve fpga maia xla lazy vulkan mps meta hpu "
    "mtia privateuseone"
).split()


class device:
    """A device type and an optional index: ``device("cuda:1")``, ``device("cpu", 0)``."""

    __slots__ = ("index", "type")

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and index is None:  # device(0): an accelerator index
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string or int, got {type.__class__.__name__}")
        name, _, idx = type.partition(":")
        if name not in _TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_TYPES)} device type at start of device string: {type}"
            )
        if idx:
            if not idx.isdigit() or index is not None:
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        object.__setattr__(self, "type", name)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("device objects are immutable")

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self) -> tuple:
        return device, (self.type, self.index)

    def __enter__(self) -> device:
        set_default_device(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        set_default_device(CPU)


CPU = device("cpu")


def check(dev: Any) -> device:
    """``dev`` as a :class:`device` if it is one stirpile has (the CPU); otherwise the error
    that names it. ``None`` means the default device."""
    if dev is None or dev is CPU:
        return CPU
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu":
        raise RuntimeError(
            f"device '{d}' is not available: stirpile computes with NumPy on the CPU only "
            f"(stirpile.cuda.is_available() is False); use device='cpu'"
        )
    return CPU


def is_device(obj: Any) -> bool:
    """Whether ``obj`` names a device (a :class:`device`, ``"cpu"``, ``"cuda:0"``…)."""
    if isinstance(obj, device):
        return True
    if isinstance(obj, str):
        return obj.partition(":")[0] in _TYPES
    return False


def set_default_device(dev: Any) -> None:
    """PyTorch's ``set_default_device``: only the CPU (or ``None``) can be the default."""
    check(dev)


def get_default_device() -> device:
    return CPU
