"""Run a PyTorch script on stirpile without editing it: ``import torch`` gets stirpile.

    python -m stirpile.compat train.py --epochs 3

installs an import hook under which ``import torch``, ``import torch.nn as nn``,
``from torch.utils.data import DataLoader`` … import the stirpile module of the
same name (``torch.X.Y`` → ``stirpile.X.Y``), then runs the script as
``__main__``. A name stirpile lacks fails at the same line as it would
after changing the imports by hand, so this is the quickest way to see whether
a script runs, and where it stops. The hook lives in this process only.

>>> import stirpile.compat as compat
>>> with compat.torch_is_stirpile():
...     import torch
...     import torch.nn.functional as F
>>> torch.__name__, F.__name__
('stirpile', 'stirpile.nn.functional')
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import runpy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``torch`` and ``torch.*`` and loads the matching ``stirpile`` module."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        real = "stirpile" + fullname[len("torch") :]
        try:
            if importlib.util.find_spec(real) is None:
                return None
        except ModuleNotFoundError:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> Any:
        return importlib.import_module("stirpile" + spec.name[len("torch") :])

    def exec_module(self, module: Any) -> None:
        pass  # the stirpile module is already executed


@contextmanager
def torch_is_stirpile() -> Iterator[None]:
    """Within the block, importing ``torch`` (and its submodules) gives stirpile's."""
    saved = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    for k in saved:
        del sys.modules[k]
    finder = _Alias()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if k == "torch" or k.startswith("torch.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m stirpile.compat SCRIPT.py [ARGS...]  (runs SCRIPT with "
              "'import torch' importing stirpile)")  # fmt: skip
        raise SystemExit(0 if argv else 2)
    sys.argv = list(argv)
    with torch_is_stirpile():
        runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
