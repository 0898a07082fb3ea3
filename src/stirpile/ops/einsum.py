"""Einstein summation: ``einsum("ij,jk->ik", a, b)`` and every other contraction.

The equation is first rewritten in explicit form (``...`` replaced by letters of
its own, the output spelled out, PyTorch's checks and messages on the way), so the
forward is one ``numpy.einsum`` call. The gradient with respect to an operand is
another einsum: the output gradient contracted with the other operands, giving
that operand's subscripts,

    ∂L/∂A[s_k] = einsum("out, s_1, …(without s_k) -> s_k", g, A_1, …),

with three repairs: a letter found in no other operand and not in the output was
summed over, so the gradient is broadcast along it; a letter repeated in ``s_k``
(a diagonal, ``"ii->i"``) gets its gradient written on that diagonal of zeros;
and a size-1 dimension broadcast against a larger one is summed back.
"""

from __future__ import annotations

import string

from ..autograd.function import Op
from ..backend import xp
from .dual import _is_array, expand_to, index_add, sum_to

_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def parse(equation: str, shapes: list) -> tuple[list[str], str]:
    """``(input subscripts, output subscripts)`` with ellipses spelled out as letters;
    raises torch's errors for a malformed equation or mismatched shapes."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    for k, ch in enumerate(eq):
        if ch not in _LETTERS and ch not in ".,->":
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {k} in the equation string, "
                "subscripts must be in [a-zA-Z]"
            )
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    spare = iter(c for c in reversed(_LETTERS) if c not in eq)
    n_ell = 0
    for k, (t, shape) in enumerate(zip(terms, shapes)):
        n = len(t.replace("...", ""))
        if "..." in t:
            if n > len(shape):
                raise RuntimeError(
                    f"einsum(): the number of subscripts in the equation ({n}) is more than "
                    f"the number of dimensions ({len(shape)}) for operand {k}"
                )
            n_ell = max(n_ell, len(shape) - n)
        elif n != len(shape):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({n}) does not match the "
                f"number of dimensions ({len(shape)}) for operand {k} and no ellipsis was given"
            )
    ell = "".join(next(spare) for _ in range(n_ell))[::-1]
    subs = [
        t.replace("...", ell[n_ell - (len(s) - len(t.replace("...", ""))) :])
        for t, s in zip(terms, shapes)
    ]
    if not arrow:
        once = sorted(c for c in set("".join(subs)) if c not in ell and lhs.count(c) == 1)
        out = ell + "".join(once)
    else:
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise RuntimeError(
                    f"einsum(): output subscript {c} appears more than once in the output"
                )
            if c not in lhs and c not in ell:
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any "
                    "input operand"
                )
    sizes: dict = {}
    for k, (s, shape) in enumerate(zip(subs, shapes)):
        for c, n in zip(s, shape):
            seen = sizes.get(c, 1)
            if n != seen and 1 not in (n, seen):
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} for operand {k} which does not "
                    f"broadcast with previously seen size {seen}"
                )
            sizes[c] = max(seen, n)
    return subs, out


def einsum(equation: str, *operands):
    """On arrays, ``numpy.einsum``; on tensors, the recorded :class:`Einsum`."""
    if all(_is_array(x) for x in operands):
        return xp.einsum(equation, *operands, optimize=len(operands) > 2)
    return Einsum.apply(*operands, equation=equation)


class Einsum(Op):
    """``einsum`` of explicit-form ``equation`` (see :func:`parse`); the gradient of each
    operand is the einsum described in the module docstring."""

    @staticmethod
    def forward(ctx, *arrays, equation):
        subs, out = parse(equation, [a.shape for a in arrays])
        ctx.subs, ctx.out_subs = subs, out
        ctx.save_for_backward(*arrays)
        result = xp.einsum(",".join(subs) + "->" + out, *arrays, optimize=len(arrays) > 2)
        if any(xp.may_share_memory(result, a) for a in arrays):  # ("ii->i" gives a view)
            result = result.copy()
        return xp.asarray(result)

    @staticmethod
    def backward(ctx, g):
        arrays = ctx.saved_tensors
        subs, out = ctx.subs, ctx.out_subs
        grads = []
        for k, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            s, a = subs[k], arrays[k]
            others = [x for i, x in enumerate(arrays) if i != k]
            known = out + "".join(t for i, t in enumerate(subs) if i != k)
            uniq = "".join(dict.fromkeys(s))  # letters of s_k, each once, in order
            direct = "".join(c for c in uniq if c in known)
            eq = ",".join([out, *(t for i, t in enumerate(subs) if i != k)]) + "->" + direct
            grad = einsum(eq, g, *others)
            full = {c: n for c, n in zip(s, a.shape)}
            for i, c in enumerate(uniq):  # size 1 where c was summed away or broadcast
                if c not in direct:
                    grad = grad.reshape((*grad.shape[:i], 1, *grad.shape[i:]))
                else:
                    full[c] = max(full[c], grad.shape[i])
            grad = expand_to(grad, tuple(full[c] for c in uniq))
            if len(uniq) < len(s):  # repeated letters: write on the diagonal
                grid = xp.ix_(*(xp.arange(full[c]) for c in uniq))
                index = tuple(grid[uniq.index(c)] for c in s)
                grad = index_add(tuple(full[c] for c in s), index, grad)
            grads.append(sum_to(grad, a.shape))
        return tuple(grads)
