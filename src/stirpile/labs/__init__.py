"""The lectures' experiments, one module each, runnable as ``stirpile lab NAME``.

Every lab module defines:

- ``SUMMARY``: one line for ``stirpile lab --list``;
- ``run(quick=False, seed=0, data_dir=None) -> dict``: the experiment, returning its
  results as plain data (so tests can check the lecture's claim on them);
- ``report(results, out_dir) -> list[Path]``: figures (PNG) and a markdown table
  (``README.md``) written into ``out_dir``.

Its docstring states the claim, the source, and how the result is judged.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# name on the command line -> module in this package
LABS = {
    "deep-linear": "deep_linear",
    "init": "init",
    "optimizers": "optimizers",
    "activations": "activations",
    "regularization": "regularization",
    "perceptron": "perceptron",
    "rims": "rims",
    "high-dim": "high_dim",
    "evolution": "evolution",
    "backprop-by-hand": "backprop_by_hand",
    "batch-size": "batch_size",
    "float-nonlinearity": "float_nonlinearity",
    "lazy-vs-rich": "lazy_vs_rich",
    "lottery-ticket": "lottery_ticket",
    "pac-bayes": "pac_bayes",
    "memorization": "memorization",
    "transfer": "transfer",
}


def get(name: str) -> ModuleType:
    """The lab module called ``name`` (as listed by ``stirpile lab --list``)."""
    if name not in LABS:
        raise KeyError(f"unknown lab {name!r}; available: {', '.join(LABS)}")
    return importlib.import_module(f"{__name__}.{LABS[name]}")


def available() -> dict[str, str]:
    """``{name: one-line summary}`` for the labs whose modules exist."""
    out = {}
    for name in LABS:
        try:
            out[name] = get(name).SUMMARY
        except ModuleNotFoundError:
            continue
    return out
