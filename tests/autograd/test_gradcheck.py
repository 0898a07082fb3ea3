"""``gradcheck`` and ``gradgradcheck`` themselves: they pass right gradients and catch
wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile.autograd import Function, gradcheck, gradgradcheck
from stirpile.autograd.gradcheck import GradcheckError, analytical_jacobian, numerical_jacobian


def x64(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return stirpile.tensor(rng.standard_normal(shape), dtype=stirpile.float64, requires_grad=True)


class _Square(Function):
    """x², saving x; the subclasses below get its backward wrong in different ways."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x


class WrongSquare(_Square):
    """x², with a backward off by a factor of two."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x


class FirstOrderOnlySquare(_Square):
    """x² whose backward is right in value but constant for double backward (detached x)."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x.detach()


def test_passes_correct_gradients():
    a, b = x64(2, 3), x64(3, seed=1)
    assert gradcheck(lambda p, q: (p * q).sin(), (a, b))
    assert gradcheck(lambda p: (p.exp().sum(0), p.tanh()), (a,))  # several outputs


def test_catches_a_wrong_gradient():
    x = x64(3)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(WrongSquare.apply, (x,))
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = x64(3)
    assert gradcheck(FirstOrderOnlySquare.apply, (x,))
    with pytest.raises(GradcheckError):
        gradgradcheck(FirstOrderOnlySquare.apply, (x,))
    assert gradgradcheck(lambda t: t * t, (x,))


def test_refuses_float32_inputs():
    x = stirpile.randn(3, requires_grad=True)
    with pytest.raises(GradcheckError, match="float64"):
        gradcheck(lambda t: t * 2, (x,))


def test_inputs_without_grad_are_constants():
    x, c = x64(3), stirpile.tensor([1.0, 2.0, 3.0], dtype=stirpile.float64)
    assert gradcheck(lambda t, k: t * k, (x, c))
    (jac,) = numerical_jacobian(lambda t, k: t * k, (x, c))
    np.testing.assert_allclose(jac, np.diag([1.0, 2.0, 3.0]), atol=1e-8)


def test_jacobians_have_outputs_as_rows_and_restore_the_inputs():
    x = x64(3)
    before = x.detach().numpy().copy()
    f = lambda t: t[:2] * 3  # noqa: E731
    (num,) = numerical_jacobian(f, (x,))
    (ana,) = analytical_jacobian(f, (x,))
    expected = np.array([[3.0, 0, 0], [0, 3.0, 0]])
    np.testing.assert_allclose(num, expected, atol=1e-8)
    np.testing.assert_allclose(ana, expected)
    assert np.array_equal(x.detach().numpy(), before)


def test_an_output_that_does_not_depend_on_the_input():
    x = x64(2)
    assert gradcheck(lambda t: (t * 2, stirpile.ones(3, dtype=stirpile.float64)), (x,))
