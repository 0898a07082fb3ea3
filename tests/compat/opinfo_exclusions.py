"""What the OpInfo check (``test_opinfo.py``) leaves out, each with a one-line reason.

``EXCLUDED`` maps an OpInfo id (``"name"`` or ``"name.variant"``; ``"*"`` for every
op) to ``(predicate, reason)`` pairs. A predicate gets the sample (PyTorch's
``SampleInput``) and the kind of run (``"float64"``, ``"float32"``, ``"int64"``,
``"bool"`` or ``"error"``); where it returns true the sample is counted as
excluded, not run. Samples stirpile cannot even express (complex or bfloat16
tensors, sparse layouts, generators, more than 64 dims) and stale error inputs
(PyTorch no longer raises) are excluded by the harness itself, with the reason
named the same way.

Keep this list short and honest: a predicate on the sample, not a whole op,
unless stirpile genuinely lacks the feature. This module imports no torch (it
is also collected for doctests), so predicates read samples by duck typing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Predicate = Callable[[Any, str], bool]


def kwarg(name: str, *values: Any) -> Predicate:
    """The sample passes keyword ``name`` (with one of ``values``, if given)."""

    def pred(sample: Any, kind: str) -> bool:
        if name not in sample.kwargs:
            return False
        return not values or any(sample.kwargs[name] == v for v in values)

    return pred


def kind(*kinds: str) -> Predicate:
    """The run is one of ``kinds`` (e.g. ``"error"`` for the error inputs)."""
    return lambda sample, k: k in kinds


# Ops whose values are random: the check compares their shapes and dtypes only.
RANDOM = frozenset(
    "bernoulli normal uniform cauchy exponential geometric log_normal multinomial "
    "rand_like randn randn_like randint randint_like empty empty_like empty_strided "
    "new_empty nn.functional.dropout nn.functional.dropout1d nn.functional.dropout2d "
    "nn.functional.dropout3d nn.functional.alpha_dropout nn.functional.feature_alpha_dropout "
    "nn.functional.rrelu".split()
)


def arg(i: int, *values: Any) -> Predicate:
    """Positional argument ``i`` (after the input) is one of ``values``."""
    return lambda sample, k: len(sample.args) > i and any(sample.args[i] == v for v in values)


def unbound_self(sample: Any, k: str) -> bool:
    """An error input calling ``Tensor.__rsub__(2, …)``: the unbound dunder on a non-tensor
    ``self`` (PyTorch's C descriptor refuses it; a Python method cannot, at no cost)."""
    return k == "error" and not hasattr(sample.input, "shape")


def dropout_on(sample: Any, k: str) -> bool:
    """Attention with dropout in training: which weights are dropped is random (PyTorch's
    generator is not NumPy's), so values cannot agree; tests/nn/test_attention.py checks
    the dropout statistics instead."""
    if sample.kwargs.get("dropout_p", 0) > 0:
        return True
    training = sample.kwargs.get("training", True)
    return training and any(isinstance(a, float) and a > 0 for a in sample.args)


EXCLUDED: dict[str, list[tuple[Predicate, str]]] = {
    "nn.functional.scaled_dot_product_attention": [(dropout_on, "random dropout")],
    "nn.functional.multi_head_attention_forward": [(dropout_on, "random dropout")],
    **{
        f"__r{name}__": [(unbound_self, "unbound dunder called on a non-tensor self")]
        for name in "add sub mul matmul pow mod and or xor".split()
    },
}
