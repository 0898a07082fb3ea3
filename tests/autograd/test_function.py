"""Custom ``Function``\\ s, written as the course (and PyTorch) writes them."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile.autograd import Function, gradcheck, gradgradcheck


class MyReLU(Function):
    """The course's example, verbatim from PyTorch's tutorial."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class MyMatVec(Function):
    """The lectures' matrix product z = W v: ∂L/∂v_i = Σ_j ∂L/∂z_j W_ji."""

    @staticmethod
    def forward(ctx, W, v):
        ctx.save_for_backward(W, v)
        return W @ v

    @staticmethod
    def backward(ctx, grad_output):
        W, v = ctx.saved_tensors
        grad_W = grad_output.unsqueeze(1) * v.unsqueeze(0) if ctx.needs_input_grad[0] else None
        grad_v = W.T @ grad_output if ctx.needs_input_grad[1] else None
        return grad_W, grad_v


class Cube(Function):
    """x³, with a backward made of differentiable tensor ops (so double backward works)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x * x


def test_my_relu_as_the_course_writes_it(torch, close):
    x = stirpile.tensor([-1.5, -0.2, 0.3, 2.0], requires_grad=True)
    y = MyReLU.apply(x)
    assert y.grad_fn is not None and y.requires_grad
    assert y.tolist() == [0.0, 0.0, pytest.approx(0.3), 2.0]
    (y * stirpile.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 3.0, 4.0]
    tx = torch.tensor([-1.5, -0.2, 0.3, 2.0], requires_grad=True)
    (torch.relu(tx) * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    close(x.grad, tx.grad)


def test_my_relu_gradcheck_and_inside_a_bigger_graph():
    x = stirpile.tensor([[-1.0, 0.5], [2.0, -0.3]], dtype=stirpile.float64, requires_grad=True)
    assert gradcheck(lambda t: MyReLU.apply(t * 2 - 0.1).exp(), (x,))


def test_matvec_matches_the_built_in_and_torch(torch, close, opcheck):
    W_, v_ = opcheck.arrays([(3, 4), (4,)])
    W = stirpile.tensor(W_, requires_grad=True, dtype=stirpile.float64)
    v = stirpile.tensor(v_, requires_grad=True, dtype=stirpile.float64)
    assert gradcheck(MyMatVec.apply, (W, v))
    MyMatVec.apply(W, v).sin().sum().backward()
    tW = torch.tensor(W_, requires_grad=True)
    tv = torch.tensor(v_, requires_grad=True)
    (tW @ tv).sin().sum().backward()
    close(W.grad, tW.grad)
    close(v.grad, tv.grad)


def test_needs_input_grad():
    seen = []

    class Spy(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(("forward", ctx.needs_input_grad))
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            seen.append(("backward", ctx.needs_input_grad))
            return g, None, None

    a = stirpile.ones(2, requires_grad=True)
    Spy.apply(a, stirpile.ones(2), 3.0).sum().backward()
    assert seen == [("forward", (True, False, False)), ("backward", (True, False, False))]


def test_the_matvec_skips_gradients_nobody_needs():
    W = stirpile.ones(2, 3, requires_grad=True)
    v = stirpile.ones(3)
    MyMatVec.apply(W, v).sum().backward()
    assert W.grad.tolist() == [[1.0] * 3] * 2 and v.grad is None


class SumAndProduct(Function):
    """Two inputs, two outputs."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a + b, a * b

    @staticmethod
    def backward(ctx, g_sum, g_prod):
        a, b = ctx.saved_tensors
        return g_sum + g_prod * b, g_sum + g_prod * a


def test_several_inputs_and_outputs():
    a = stirpile.tensor([1.0, 2.0], dtype=stirpile.float64, requires_grad=True)
    b = stirpile.tensor([3.0, -1.0], dtype=stirpile.float64, requires_grad=True)
    s, p = SumAndProduct.apply(a, b)
    assert s.tolist() == [4.0, 1.0] and p.tolist() == [3.0, -2.0]
    (2 * s + p).sum().backward()
    assert a.grad.tolist() == [2 + 3.0, 2 - 1.0]
    assert b.grad.tolist() == [2 + 1.0, 2 + 2.0]
    assert gradcheck(SumAndProduct.apply, (a, b))


def test_an_unused_output_gets_a_zero_gradient():
    a = stirpile.tensor([1.0, 2.0], requires_grad=True)
    b = stirpile.tensor([3.0, 4.0], requires_grad=True)
    _, p = SumAndProduct.apply(a, b)
    p.sum().backward()  # g_sum arrives as zeros, not None
    assert a.grad.tolist() == [3.0, 4.0] and b.grad.tolist() == [1.0, 2.0]


def test_a_non_tensor_output_gets_none():
    received = []

    class WithCount(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, 3

        @staticmethod
        def backward(ctx, g, g_count):
            received.append(g_count)
            return g * 2

    x = stirpile.ones(2, requires_grad=True)
    y, n = WithCount.apply(x)
    assert n == 3
    y.sum().backward()
    assert received == [None] and x.grad.tolist() == [2.0, 2.0]


def test_none_for_inputs_without_a_gradient_and_non_tensor_args():
    class ScaledPow(Function):
        @staticmethod
        def forward(ctx, x, power, scale, offset):
            ctx.save_for_backward(x)
            ctx.power, ctx.scale = power, scale
            return scale * x**power + offset

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * ctx.scale * ctx.power * x ** (ctx.power - 1), None, None, None

    x = stirpile.tensor([1.0, 2.0], dtype=stirpile.float64, requires_grad=True)
    offset = stirpile.tensor([5.0, 5.0], dtype=stirpile.float64)
    y = ScaledPow.apply(x, 3, 0.5, offset)
    assert y.tolist() == [5.5, 9.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.5, 6.0]
    assert offset.grad is None
    assert gradcheck(lambda t: ScaledPow.apply(t, 2, 1.5, offset), (x,))


def test_double_backward_through_a_function():
    x = stirpile.tensor([1.0, -2.0], dtype=stirpile.float64, requires_grad=True)
    (g,) = stirpile.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    assert g.requires_grad and g.tolist() == [3.0, 12.0]
    (h,) = stirpile.autograd.grad(g.sum(), x)
    assert h.tolist() == [6.0, -12.0]
    assert gradgradcheck(Cube.apply, (x,))


def test_wrong_number_of_gradients_is_a_clear_error():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    class TooMany(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = stirpile.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"incorrect number of gradients.*expected 2, got 1"):
        TooFew.apply(x, x).sum().backward()
    with pytest.raises(RuntimeError, match=r"incorrect number of gradients.*expected 1, got 2"):
        TooMany.apply(x).sum().backward()


def test_forward_runs_without_recording_and_no_grad_gives_a_plain_tensor():
    inside = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            inside.append((stirpile.is_grad_enabled(), y.requires_grad))
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = stirpile.ones(2, requires_grad=True)
    assert Probe.apply(x).requires_grad
    with stirpile.no_grad():
        y = Probe.apply(x)
    assert not y.requires_grad and y.grad_fn is None
    assert not Probe.apply(stirpile.ones(2)).requires_grad
    assert inside == [(False, False)] * 3


def test_mark_non_differentiable_and_returning_an_input():
    class SortLike(Function):
        @staticmethod
        def forward(ctx, x):
            idx = stirpile.tensor(np.argsort(x.detach().numpy()))
            ctx.mark_non_differentiable(idx)
            return x, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return g * 5

    x = stirpile.tensor([3.0, 1.0], requires_grad=True)
    y, idx = SortLike.apply(x)
    assert y is not x and y.grad_fn is not None and x.grad_fn is None
    assert not idx.requires_grad and idx.tolist() == [1, 0]
    y.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_saved_tensors_are_freed_after_backward():
    x = stirpile.ones(2, requires_grad=True)
    y = MyReLU.apply(x)
    loss = y.sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.grad_fn.saved_tensors  # noqa: B018


def test_a_function_that_saves_its_output_supports_double_backward():
    class MyExp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x = stirpile.tensor([0.5, -1.0], dtype=stirpile.float64, requires_grad=True)
    assert gradcheck(MyExp.apply, (x,))
    assert gradgradcheck(MyExp.apply, (x,))
    (g,) = stirpile.autograd.grad(MyExp.apply(x).sum(), x, create_graph=True)
    (h,) = stirpile.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), np.exp([0.5, -1.0]), rtol=1e-14)
