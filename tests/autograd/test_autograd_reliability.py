"""No silent wrong results from the autograd core (issue 11): gradients at kink points as
PyTorch defines them, checked hooks and custom Functions, grad modes on generators, and a
backward that lets go of the graph's arrays."""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest

import stirpile
from stirpile.autograd import Function

torch = pytest.importorskip("torch")

# -- gradients at kink points ----------------------------------------------------------------

# f(L, x) with x a float64 vector of zeros (the kink) or of the values given
KINKS = {
    "norm": lambda L, x: x.norm(),
    "norm_dim": lambda L, x: x.reshape(1, 3).norm(dim=1),
    "norm_dim_keepdim": lambda L, x: x.reshape(3, 1).norm(dim=0, keepdim=True),
    "norm_fro_2d": lambda L, x: x.reshape(1, 3).norm(),
    "norm_p1": lambda L, x: x.norm(p=1),
    "norm_p3": lambda L, x: x.norm(p=3),
    "norm_p3_dim": lambda L, x: x.reshape(1, 3).norm(p=3, dim=1),
    "norm_p0.5": lambda L, x: x.norm(p=0.5),
    "norm_pinf": lambda L, x: x.norm(p=float("inf")),
    "vector_norm": lambda L, x: L.linalg.vector_norm(x),
    "vector_norm_p3": lambda L, x: L.linalg.vector_norm(x, 3),
    "linalg_norm": lambda L, x: L.linalg.norm(x),
    "normalize": lambda L, x: L.nn.functional.normalize(x.reshape(1, 3)),
    "normalize_p1": lambda L, x: L.nn.functional.normalize(x.reshape(1, 3), p=1),
    "pow0": lambda L, x: x**0,
    "pow0.0": lambda L, x: x**0.0,
    "pow_half": lambda L, x: x**0.5,
    "pow2": lambda L, x: x**2,
    "pow_neg": lambda L, x: x**-1,
    "pow_tensor_exp0": lambda L, x: x ** L.zeros(3, dtype=L.float64),
    "pow_tensor_exp_mixed": lambda L, x: x ** L.tensor([0.0, 1.0, 2.0], dtype=L.float64),
    "pow_tensor_exp_bcast": lambda L, x: x.reshape(3, 1) ** L.tensor([0.0, 2.0], dtype=L.float64),
    "pow_exp_is_x": lambda L, x: L.tensor([0.0, 1.0, 2.0], dtype=L.float64) ** x,
    "pow_method0": lambda L, x: x.pow(0),
    "sqrt": lambda L, x: x.sqrt(),
    "abs": lambda L, x: x.abs(),
    "log": lambda L, x: x.log(),
    "rsqrt": lambda L, x: x.rsqrt(),
}


def _grad(L, name, values):
    x = L.tensor(values, dtype=L.float64, requires_grad=True)
    y = KINKS[name](L, x)
    y.sum().backward()
    return x.grad


@pytest.mark.parametrize("name", sorted(KINKS))
def test_kink_gradient_as_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy RuntimeWarning either
        ours = _grad(stirpile, name, [0.0, 0.0, 0.0])
    theirs = _grad(torch, name, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, equal_nan=True)
    assert np.isnan(ours.numpy()).sum() == np.isnan(theirs.numpy()).sum()


@pytest.mark.parametrize(
    "name", ["norm", "norm_dim", "norm_p3", "norm_p3_dim", "norm_p0.5", "normalize", "pow0",
             "pow_tensor_exp0", "pow_tensor_exp_mixed", "pow_tensor_exp_bcast", "vector_norm_p3"],
)  # fmt: skip
def test_kink_functions_gradcheck_away_from_the_kink(name):
    x = stirpile.tensor([0.7, -1.3, 0.4], dtype=stirpile.float64, requires_grad=True)
    assert stirpile.autograd.gradcheck(lambda t: KINKS[name](stirpile, t), (x,))
    np.testing.assert_allclose(
        _grad(stirpile, name, [0.7, -1.3, 0.4]).numpy(),
        _grad(torch, name, [0.7, -1.3, 0.4]).numpy(),
        rtol=1e-10,
    )


def test_pow_tensor_exponent_gradient_to_both_inputs_at_zero():
    def run(L):
        a = L.tensor([0.0, 0.0, 2.0], dtype=L.float64, requires_grad=True)
        b = L.tensor([0.0, 2.0, 0.0], dtype=L.float64, requires_grad=True)
        (a**b).sum().backward()
        return a.grad.numpy(), b.grad.numpy()

    for o, t in zip(run(stirpile), run(torch)):
        np.testing.assert_allclose(o, t, rtol=1e-12)


def test_norm_at_zero_double_backward_is_finite_where_torch_is():
    def run(L):
        x = L.zeros(3, dtype=L.float64, requires_grad=True)
        (g,) = L.autograd.grad(x.norm(p=3), x, create_graph=True)
        return g.detach().numpy()

    np.testing.assert_allclose(run(stirpile), run(torch))


# -- hooks ----------------------------------------------------------------------------------


def _hooked(leaf: bool, hook):
    x = stirpile.ones(3, requires_grad=True)
    if leaf:
        x.register_hook(hook)
        (x * 2).sum().backward()
    else:
        y = x * 2
        y.register_hook(hook)
        y.sum().backward()
    return x


@pytest.mark.parametrize("leaf", [True, False])
@pytest.mark.parametrize("new", [lambda g: g.reshape(1, 3), lambda g: g.expand(2, 3),
                                 lambda g: g[:1]])  # fmt: skip
def test_hook_changing_the_shape_is_an_error_naming_it(leaf, new):
    def my_hook(g):
        return new(g)

    with pytest.raises(RuntimeError, match="hook 'my_hook' has changed the size of value"):
        _hooked(leaf, my_hook)


@pytest.mark.parametrize("leaf", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "int64", "float16"])
def test_hook_changing_the_dtype_is_an_error_naming_it(leaf, dtype):
    def my_hook(g):
        return g.to(getattr(stirpile, dtype))

    with pytest.raises(RuntimeError, match="hook 'my_hook' has changed the type of value"):
        _hooked(leaf, my_hook)


@pytest.mark.parametrize("leaf", [True, False])
@pytest.mark.parametrize("value", [1.0, 2, np.ones(3, dtype=np.float32)])
def test_hook_returning_a_non_tensor_is_a_type_error(leaf, value):
    def my_hook(g):
        return value

    with pytest.raises(TypeError, match=f"hook 'my_hook' returned '{type(value).__name__}'"):
        _hooked(leaf, my_hook)


@pytest.mark.parametrize("leaf", [True, False])
def test_hook_returning_a_same_shape_tensor_still_replaces_the_gradient(leaf):
    x = _hooked(leaf, lambda g: g * 3)
    assert x.grad.tolist() == [6.0, 6.0, 6.0]
    assert x.grad.dtype == stirpile.float32


def test_hooks_run_with_the_users_numpy_error_state():
    seen = []

    def my_hook(g):
        seen.append(np.geterr()["divide"])

    with np.errstate(divide="raise"):
        _hooked(False, my_hook)
        _hooked(True, my_hook)
    assert seen == ["raise", "raise"]


# -- custom Functions -------------------------------------------------------------------------


def _function_returning(L, make):
    class Twice(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return make(L, g)

    x = L.ones(3, requires_grad=True)
    Twice.apply(x).sum().backward()
    return x.grad


@pytest.mark.parametrize(
    "make",
    [
        lambda L, g: g.reshape(1, 3),  # the same elements with a leading 1: reshaped
        lambda L, g: g.expand(2, 3).clone(),  # the input's shape broadcasts to it: summed
        lambda L, g: g.double(),  # another dtype: cast to the input's
        lambda L, g: g.long(),
    ],
)
def test_function_gradient_fitted_to_its_input_as_torch(make):
    ours, theirs = _function_returning(stirpile, make), _function_returning(torch, make)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("make", [lambda L, g: g[:1], lambda L, g: g.sum(),
                                  lambda L, g: g.reshape(3, 1).expand(3, 2)])  # fmt: skip
def test_function_gradient_of_an_incompatible_shape_is_an_error(make):
    with pytest.raises(RuntimeError, match="TwiceBackward returned an invalid gradient at index 0"):
        _function_returning(stirpile, make)
    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        _function_returning(torch, make)


@pytest.mark.parametrize("make", [lambda L, g: 1.0, lambda L, g: np.ones(3, np.float32)])
def test_function_gradient_that_is_not_a_tensor_is_an_error(make):
    with pytest.raises(RuntimeError, match=r"TwiceBackward returned a .* as gradient 0"):
        _function_returning(stirpile, make)


def test_function_gradient_for_a_non_tensor_input_is_an_error():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    x = stirpile.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="forward input was not a Variable"):
        Scale.apply(x, 2.0).sum().backward()


def test_function_gradient_fitting_under_create_graph():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return (2 * g * x).double().reshape(1, 3)  # cast and reshaped, still differentiable

    x = stirpile.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = stirpile.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    assert g.shape == (3,) and g.dtype == stirpile.float32
    (gg,) = stirpile.autograd.grad(g.sum(), x)
    assert gg.tolist() == [2.0, 2.0, 2.0]


# -- backward(gradient=) of another dtype ----------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float16", "int64"])
def test_backward_gradient_of_another_dtype_keeps_grad_dtype(dtype):
    for L in (stirpile, torch):
        x = L.ones(3, requires_grad=True)
        (x * 2).backward(gradient=L.ones(3, dtype=getattr(L, dtype)))
        assert x.grad.dtype == L.float32
        assert x.grad.tolist() == [2.0, 2.0, 2.0]
        leaf = L.ones(3, requires_grad=True)
        leaf.backward(gradient=L.ones(3, dtype=getattr(L, dtype)))
        assert leaf.grad.dtype == L.float32
        (g,) = L.autograd.grad(leaf * 2, leaf, L.ones(3, dtype=getattr(L, dtype)))
        assert g.dtype == L.float32


def test_backward_gradient_of_another_dtype_under_create_graph():
    x = stirpile.ones(3, requires_grad=True)
    (g,) = stirpile.autograd.grad(
        x * x, x, stirpile.ones(3, dtype=stirpile.float64), create_graph=True
    )
    assert g.dtype == stirpile.float32 and g.requires_grad


# -- grad modes on generator functions ---------------------------------------------------------

MODES = {
    "no_grad()": (lambda: stirpile.no_grad(), False),
    "no_grad": (None, False),
    "enable_grad()": (lambda: stirpile.enable_grad(), True),
    "set_grad_enabled(False)": (lambda: stirpile.set_grad_enabled(False), False),
    "inference_mode()": (lambda: stirpile.inference_mode(), False),
}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("outside", [True, False])
def test_grad_mode_decorator_covers_a_generators_body(mode, outside):
    make, inside = MODES[mode]
    x = stirpile.ones(2, requires_grad=True)

    def body(n):
        for _ in range(n):
            received = yield (x * 2).requires_grad, stirpile.is_grad_enabled()
            assert received is None
        return "done"

    gen_fn = stirpile.no_grad(body) if make is None else make()(body)
    with stirpile.set_grad_enabled(outside):
        gen = gen_fn(3)
        seen = []
        for item in gen:
            seen.append(item)
            assert stirpile.is_grad_enabled() is outside  # the caller's mode between steps
    assert seen == [(inside, inside)] * 3
    assert stirpile.is_grad_enabled()


def test_grad_mode_generator_send_throw_close_and_return_value():
    @stirpile.no_grad()
    def echo():
        try:
            got = yield stirpile.is_grad_enabled()
            while True:
                got = yield (got, stirpile.is_grad_enabled())
        except KeyError:
            yield ("caught", stirpile.is_grad_enabled())
        finally:
            closing.append(stirpile.is_grad_enabled())

    closing: list = []
    gen = echo()
    assert next(gen) is False
    assert gen.send(5) == (5, False)
    assert gen.throw(KeyError("k")) == ("caught", False)
    gen.close()
    assert closing == [False] and stirpile.is_grad_enabled()

    @stirpile.no_grad()
    def returns():
        yield 1
        return 7

    g = returns()
    next(g)
    with pytest.raises(StopIteration) as stop:
        next(g)
    assert stop.value.value == 7


# -- memory: a kept loss does not keep the batch's activations -----------------------------------


def _mlp_steps(n, retain_graph=False):
    stirpile.manual_seed(0)
    nn = stirpile.nn
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 4))  # fmt: skip
    losses, refs = [], []
    for _ in range(n):
        x, y = stirpile.randn(16, 8), stirpile.randint(0, 4, (16,))
        h = x
        for layer in model:
            h = layer(h)
            refs.append(weakref.ref(h._data))
        loss = nn.functional.cross_entropy(h, y)
        loss.backward(retain_graph=retain_graph)
        losses.append(loss)  # kept for logging, as a fit loop does
        del x, h
    gc.collect()
    return losses, refs


def test_kept_losses_do_not_keep_activations_alive():
    losses, refs = _mlp_steps(20)
    assert sum(r() is not None for r in refs) == 0
    assert all(loss.grad_fn is not None for loss in losses)  # still inspectable
    assert "grad_fn=" in repr(losses[0])


def test_retain_graph_keeps_everything_and_backward_works_again():
    losses, refs = _mlp_steps(2, retain_graph=True)
    assert all(r() is not None for r in refs)
    losses[-1].backward()  # retained: a second backward runs


def test_second_backward_without_retain_still_raises():
    losses, _ = _mlp_steps(1)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        losses[0].backward()


def test_second_backward_through_nodes_that_saved_nothing_still_runs_as_in_torch():
    for L in (stirpile, torch):
        x = L.ones(3, requires_grad=True)
        y = (x + 1 + x).sum()
        y.backward()
        y.backward()
        assert x.grad.tolist() == [4.0, 4.0, 4.0]


def test_released_graph_keeps_inplace_semantics_on_views():
    def run(L):
        x = L.ones(4, requires_grad=True)
        h = x + x  # saves nothing: its graph can be walked again after release
        v = h[:2]
        v.sum().backward()
        v.add_(1)  # after the graph was released: still an in-place op on a view
        (v * x[:2]).sum().backward()
        return h.tolist(), x.grad.tolist()

    assert run(stirpile) == run(torch)
