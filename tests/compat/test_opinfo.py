"""PyTorch's own OpInfo samples, run against stirpile.

For every entry of ``torch.testing._internal.common_methods_invocations.op_db`` that
stirpile provides (``stirpile.<name>``, ``stirpile.nn.functional.<x>``,
``stirpile.linalg.<x>``, … or the ``Tensor`` method), each sample input is converted to
stirpile tensors and run through both libraries:

* float64 with ``requires_grad``: same values, shapes, dtypes, and the same gradients of
  a fixed random weighted sum of the outputs with respect to every input requiring grad;
* float32 (and int64 / bool where the op supports them): the same forward values;
* ``error_inputs``: where PyTorch raises, stirpile raises the same exception type.

One test per OpInfo (variant); its samples must all pass but those listed in
``opinfo_exclusions.py``, and the last test asserts that ≥ 99 % of the samples that are
not excluded pass overall; a summary is printed at the end of the run. Long sample lists are
subsampled deterministically (evenly spaced, ``CAP`` per dtype) to keep the module fast.
See README.md.
"""

from __future__ import annotations

import types
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")
import opinfo_exclusions as X  # noqa: E402
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

import stirpile  # noqa: E402

# samples per (op, dtype) at most; evenly spaced over the op's list when it is longer
CAP = {"float64": 64, "float32": 32, "int64": 16, "bool": 8, "error": 64}
TOL = {
    "float64": {"rtol": 1e-7, "atol": 1e-7},
    "float32": {"rtol": 1e-5, "atol": 1e-5},
    "float16": {"rtol": 1e-3, "atol": 1e-5},
    "grad": {"rtol": 1e-6, "atol": 1e-7},
}
# PyTorch's fused float32 attention kernel sums in another order than matmul + softmax:
# errors of a few float32 ulps of the scores reach ~4e-5 relative in the output
SDPA_TOL = {**TOL, "float32": {"rtol": 1e-4, "atol": 1e-5}}
LOOSER = {"nn.functional.scaled_dot_product_attention": SDPA_TOL}
DTYPES = {"float64": torch.float64, "float32": torch.float32, "int64": torch.int64,
          "bool": torch.bool}  # fmt: skip


class Unsupported(Exception):
    """A sample stirpile cannot express (the message is the exclusion reason)."""


# -- which stirpile callable an OpInfo means ----------------------------------------------


def _lookup(name: str) -> Any:
    """``stirpile.<name>`` / ``stirpile.<ns>.<x>`` (functions only), or the Tensor attribute."""
    head, _, attr = name.rpartition(".")
    if head:
        obj: Any = stirpile
        for part in head.split("."):
            obj = getattr(obj, part, None)
        return getattr(obj, attr, None)
    fn = getattr(stirpile, name, None)
    if isinstance(fn, types.FunctionType):
        return fn
    return getattr(stirpile.Tensor, name, None)


def _method(name: str) -> Any:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(self, stirpile.Tensor):
            raise Unsupported("a non-tensor self: stirpile has only the Tensor method")
        return getattr(self, name)(*args, **kwargs)

    return call


def resolve(op: Any) -> Any:
    """The stirpile callable for an OpInfo, called like ``op.op``; None if stirpile lacks it.

    A lambda in the OpInfo (``lambda x: x.T``, ``lambda self, c, o: torch.where(c, self,
    o)``) runs as is, with ``torch`` in its globals bound to stirpile."""
    if _lookup(op.name) is None:
        return None
    fn = op.op
    if getattr(fn, "__name__", "") == "<lambda>":
        env = {**fn.__globals__, "torch": stirpile,
               "wrapper_set_seed": lambda f, *a, **k: f(*a, **k)}  # fmt: skip
        return types.FunctionType(fn.__code__, env, fn.__name__, fn.__defaults__, fn.__closure__)
    if "." in op.name:
        return _lookup(op.name)
    plain = getattr(stirpile, op.name, None)
    if getattr(torch, op.name, None) is fn and isinstance(plain, types.FunctionType):
        return plain
    return _method(getattr(fn, "__name__", op.name))


def _opid(op: Any) -> str:
    return op.name + (f".{op.variant_test_name}" if op.variant_test_name else "")


OPS = [op for op in op_db if resolve(op) is not None]


# -- torch values -> stirpile values ------------------------------------------------------


def _dtype(d: Any) -> Any:
    name = str(d).removeprefix("torch.")
    if d.is_complex:
        raise Unsupported("complex dtypes not supported")
    ours = getattr(stirpile, name, None)
    if not isinstance(ours, np.dtype):
        raise Unsupported(f"dtype {name} not in stirpile")
    return ours


class Memo(dict):
    """``id(torch tensor) -> (torch tensor, stirpile tensor)`` for one sample, and the memory
    the sample's tensors share: ``shared``, the storages two of its tensors use (views of one
    another), and ``bases``, storage -> the NumPy copy of it their stirpile views share."""

    def __init__(self, sample: Any = None) -> None:
        super().__init__()
        users: dict = {}
        for t in _torch_tensors(sample):
            if t.layout == torch.strided and t.numel():
                users.setdefault(_storage(t), {})[id(t)] = t
        self.shared = {k for k, ts in users.items() if len(ts) > 1 and _plain_group(ts.values())}
        self.bases: dict = {}


def _torch_tensors(x: Any) -> list:
    if isinstance(x, torch.Tensor):
        return [x]
    if hasattr(x, "input") and hasattr(x, "kwargs"):  # a SampleInput
        return _torch_tensors([x.input, *x.args, *x.kwargs.values()])
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _torch_tensors(v)]
    if isinstance(x, dict):
        return _torch_tensors(list(x.values()))
    return []


def _storage(t: Any) -> int:
    return t.untyped_storage().data_ptr()


def _plain_group(ts: Any) -> bool:
    """Views of one storage that stirpile can share as NumPy views: one dtype, no gradient
    (torch's gradient of a base includes what flows through its views; separate stirpile
    leaves would not)."""
    ts = list(ts)
    return len({t.dtype for t in ts}) == 1 and not any(t.requires_grad for t in ts)


def _aliased(x: Any, memo: Memo) -> bool:
    """Whether ``x`` must be a view of shared memory: it shares its storage with another
    tensor of the sample, or it is expanded (a stride 0: elements sharing memory)."""
    if not x.numel() or x.requires_grad:
        return False
    expanded = any(st == 0 and n > 1 for st, n in zip(x.stride(), x.shape))
    return expanded or _storage(x) in getattr(memo, "shared", ())


def _view(x: Any, memo: Memo) -> Any:
    """``x`` as a stirpile tensor viewing a NumPy copy of its whole storage with its strides, so
    that aliasing (``out=`` overlapping an input, an expanded ``out=``) is preserved."""
    key = _storage(x)
    if key not in memo.bases:
        whole = torch.empty(0, dtype=x.dtype).set_(x.untyped_storage())
        memo.bases[key] = whole.detach().numpy().copy()
    base, size = memo.bases[key], x.element_size()
    view = np.lib.stride_tricks.as_strided(base[x.storage_offset():], tuple(x.shape),
                                           tuple(st * size for st in x.stride()))  # fmt: skip
    return stirpile.from_numpy(view)


def convert(x: Any, memo: dict) -> Any:
    """``x`` with every torch tensor (recursively) as a stirpile tensor of the same values,
    dtype and ``requires_grad``; a tensor seen twice maps to the same stirpile tensor, and
    tensors sharing memory (see :class:`Memo`) become views of one array."""
    if isinstance(x, torch.Tensor):
        if id(x) in memo:
            return memo[id(x)][1]
        if x.layout != torch.strided:
            raise Unsupported("sparse/layout args")
        if x.ndim > 64:
            raise Unsupported("more than 64 dims (NumPy's limit)")
        dtype = _dtype(x.dtype)
        if isinstance(memo, Memo) and _aliased(x, memo):
            ours = _view(x, memo)
        else:
            ours = stirpile.tensor(x.detach().cpu().numpy().copy(), dtype=dtype)
        if x.requires_grad:
            ours.requires_grad_()
        memo[id(x)] = (x, ours)
        return ours
    if isinstance(x, torch.dtype):
        return _dtype(x)
    if isinstance(x, torch.Size):
        return tuple(x)
    if isinstance(x, torch.device):
        return str(x)
    if isinstance(x, (torch.memory_format, torch.layout)):  # stirpile's, if it has the name
        name = str(x).removeprefix("torch.")
        if isinstance(x, torch.layout) and x != torch.strided:
            raise Unsupported("sparse/layout args")
        return getattr(stirpile, name, name)  # (a memory format is accepted and ignored)
    if isinstance(x, torch.Generator):
        raise Unsupported("generator args")
    if isinstance(x, (list, tuple)):
        return type(x)(convert(v, memo) for v in x)
    if isinstance(x, dict):
        return {k: convert(v, memo) for k, v in x.items()}
    return x


# -- comparison ---------------------------------------------------------------------------


def _leaves(x: Any) -> list:
    if isinstance(x, (tuple, list)) and not isinstance(x, torch.Size):
        return [leaf for v in x for leaf in _leaves(v)]
    return [x]


def compare(ours: Any, theirs: Any, tol: dict, where: str = "output") -> None:
    """Raise AssertionError naming what differs (structure, shape, dtype or values)."""
    if isinstance(theirs, torch.Tensor):
        if not isinstance(ours, stirpile.Tensor):
            raise AssertionError(f"{where}: expected a tensor, got {type(ours).__name__}")
        want = str(theirs.dtype).removeprefix("torch.")
        if not isinstance(getattr(stirpile, want, None), np.dtype):
            raise Unsupported(f"dtype {want} not in stirpile")
        if theirs._is_zerotensor():  # (an efficient zero gradient)
            theirs = torch.zeros(theirs.shape, dtype=theirs.dtype)
        a, b = ours.detach().numpy(), theirs.detach().cpu().numpy()
        if a.dtype.name != want:
            raise AssertionError(f"{where}: dtype {a.dtype.name}, torch gives {want}")
        if a.shape != b.shape:
            raise AssertionError(f"{where}: shape {a.shape}, torch gives {b.shape}")
        if b.dtype.kind in "fc":
            t = tol if "rtol" in tol else tol.get(a.dtype.name, tol["float64"])
            np.testing.assert_allclose(a, b, rtol=t["rtol"], atol=t["atol"], equal_nan=True,
                                       err_msg=where)  # fmt: skip
        elif not np.array_equal(a, b):
            raise AssertionError(f"{where}: values differ\n{a}\nvs torch\n{b}")
        return
    if isinstance(theirs, (tuple, list)) and not isinstance(theirs, torch.Size):
        if not isinstance(ours, (tuple, list)) or len(ours) != len(theirs):
            raise AssertionError(f"{where}: expected a sequence of {len(theirs)}, got {ours!r}")
        for i, (o, t) in enumerate(zip(ours, theirs)):
            compare(o, t, tol, f"{where}[{i}]")
        return
    if isinstance(ours, stirpile.Tensor):
        raise AssertionError(f"{where}: got a tensor, torch gives {type(theirs).__name__}")
    same = np.array_equal(np.asarray(ours), np.asarray(theirs), equal_nan=True) if isinstance(
        theirs, float) else tuple(ours) == tuple(theirs) if isinstance(theirs, torch.Size) else (
        ours == theirs and type(ours) is type(theirs))  # fmt: skip
    if not same:
        raise AssertionError(f"{where}: {ours!r}, torch gives {theirs!r}")


# -- running one sample -------------------------------------------------------------------


def _call(fn: Any, sample: Any, memo: dict) -> Any:
    args = convert((sample.input, *sample.args), memo)
    kwargs = convert(sample.kwargs, memo)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns alike (deprecations, implicit dims)
        warnings.simplefilter("error", RuntimeWarning)  # NumPy's must not leak to users
        return fn(*args, **kwargs)


def run_sample(op: Any, fn: Any, sample: Any, kind: str, seed: int) -> None:
    """Run one sample through torch and stirpile; AssertionError/any error on a mismatch."""
    memo = Memo(sample)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = op(sample.input, *sample.args, **sample.kwargs)
    try:
        got = _call(fn, sample, memo)
    except Unsupported:
        raise
    except Exception as e:
        raise AssertionError(f"stirpile raised {type(e).__name__}: {e}") from None
    random = _opid(op) in X.RANDOM or op.name in X.RANDOM
    if random:
        expected, got = _blank(expected), _blank(got)
    expected = _tie_order(op.name, sample, expected, got)
    compare(got, expected, LOOSER.get(op.name, TOL))
    if kind != "float64" or random:
        return
    inputs = [(t, s) for t, s in memo.values() if t.requires_grad]
    if not inputs:
        return
    process = sample.output_process_fn_grad
    theirs, ours = _leaves(process(expected)), _leaves(process(got))
    rng = np.random.default_rng(seed)
    loss_t, loss_s = 0, 0
    for i, (t, s) in enumerate(zip(theirs, ours)):
        if not (isinstance(t, torch.Tensor) and t.dtype.is_floating_point):
            continue
        if t.requires_grad != bool(getattr(s, "requires_grad", False)):
            raise AssertionError(f"output[{i}].requires_grad is {not t.requires_grad}, "
                                 f"torch gives {t.requires_grad}")  # fmt: skip
        if t.requires_grad:
            w = rng.standard_normal(t.shape)
            loss_t = loss_t + (t * torch.from_numpy(w).to(t.dtype)).sum()
            loss_s = loss_s + (s * stirpile.tensor(w, dtype=s.dtype)).sum()
    if not isinstance(loss_t, torch.Tensor):
        return
    g_t = torch.autograd.grad(loss_t, [t for t, _ in inputs], allow_unused=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            g_s = stirpile.autograd.grad(loss_s, [s for _, s in inputs], allow_unused=True)
    except Exception as e:
        raise AssertionError(f"stirpile backward raised {type(e).__name__}: {e}") from None
    for i, (gt, gs) in enumerate(zip(g_t, g_s)):
        if gt is None:
            if gs is not None and gs.numpy().any():
                raise AssertionError(f"grad[{i}]: torch gives none, stirpile nonzero")
            continue
        if gs is None:
            gs = stirpile.zeros(gt.shape, dtype=stirpile.float64)
        compare(gs, gt, TOL["grad"], f"grad[{i}]")


def _tie_order(name: str, sample: Any, expected: Any, got: Any) -> Any:
    """``expected`` with torch's indices replaced by stirpile's where only the order of equal
    elements differs. torch leaves that order unspecified for ``topk`` and for ``sort`` and
    ``argsort`` without ``stable=True`` (stirpile's sort is stable): stirpile's indices are
    accepted when, along ``dim``, they are distinct and pick out exactly the values torch's
    indices pick. Anything else is left for ``compare`` to report."""
    args, kwargs = sample.args, sample.kwargs
    if name in ("sort", "argsort"):
        dim = args[0] if args else kwargs.get("dim", -1)
        stable = kwargs.get("stable", name == "argsort" and len(args) > 2 and args[2])
        if stable:
            return expected
    elif name == "topk":
        dim = args[1] if len(args) > 1 else kwargs.get("dim", -1)
    else:
        return expected
    theirs = expected if name == "argsort" else expected[1]
    ours = got if name == "argsort" else got[1] if isinstance(got, (tuple, list)) else None
    x = sample.input.detach().cpu().numpy()
    if not isinstance(ours, stirpile.Tensor) or x.ndim == 0:
        return expected
    a, b = ours.numpy(), theirs.numpy()
    if a.shape != b.shape or a.dtype != b.dtype:
        return expected
    axis = dim % x.ndim
    if not ((a >= 0) & (a < x.shape[axis])).all():
        return expected
    ordered = np.sort(a, axis=axis)
    distinct = (np.diff(ordered, axis=axis) != 0).all()
    same = np.array_equal(np.take_along_axis(x, a, axis), np.take_along_axis(x, b, axis),
                          equal_nan=x.dtype.kind == "f")  # fmt: skip
    if not (distinct and same):
        return expected
    indices = torch.from_numpy(a.copy())
    return indices if name == "argsort" else type(expected)((expected[0], indices))


def _blank(x: Any) -> Any:
    """Random outputs: keep structure, shape and dtype, zero the values."""
    if isinstance(x, torch.Tensor):
        return torch.zeros_like(x.detach())
    if isinstance(x, stirpile.Tensor):
        return stirpile.zeros(x.shape, dtype=x.dtype)
    if isinstance(x, (tuple, list)) and not isinstance(x, torch.Size):
        return [_blank(v) for v in x]
    return x


def run_error(op: Any, fn: Any, error: Any) -> None:
    """Stirpile must raise (a subclass of) the builtin exception type PyTorch raises on this
    input. An error input PyTorch itself no longer raises on is excluded as stale."""
    s = error.sample_input
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            op(s.input, *s.args, **s.kwargs)
    except Exception as e:  # its first builtin ancestor (torch._C._LinAlgError: RuntimeError)
        want = next(c for c in type(e).__mro__ if c.__module__ == "builtins")
    else:
        raise Unsupported("stale error input: torch does not raise")
    try:
        _call(fn, s, Memo(s))
    except Unsupported:
        raise
    except want:
        return
    except Exception as e:
        msg = f"raised {type(e).__name__}: {e}; torch raises {want.__name__}"
        raise AssertionError(msg) from None
    raise AssertionError(f"did not raise; torch raises {want.__name__} ({error.error_regex})")


# -- one OpInfo ---------------------------------------------------------------------------


@dataclass
class OpResult:
    passed: int = 0
    excluded: dict = field(default_factory=dict)  # reason -> count
    failures: list = field(default_factory=list)  # (kind, sample description, message)

    @property
    def total(self) -> int:
        return self.passed + sum(self.excluded.values()) + len(self.failures)


def _subsample(items: list, cap: int) -> list:
    if len(items) <= cap:
        return items
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, cap).round()]


def _excluded(opid: str, sample: Any, kind: str) -> str | None:
    for pred, reason in X.EXCLUDED.get("*", []) + X.EXCLUDED.get(opid, []):
        if pred(sample, kind):
            return reason
    return None


def _describe(sample: Any) -> str:
    def short(x: Any) -> str:
        if isinstance(x, torch.Tensor):
            return f"T{tuple(x.shape)}:{str(x.dtype).removeprefix('torch.')}"
        if isinstance(x, (list, tuple)) and not isinstance(x, torch.Size):
            return "[" + ", ".join(short(v) for v in x) + "]"
        return repr(x)

    args = [short(sample.input), *(short(a) for a in sample.args)]
    args += [f"{k}={short(v)}" for k, v in sample.kwargs.items()]
    return f"({', '.join(args)})"


def run_op(op: Any) -> OpResult:
    """Every (subsampled) sample of ``op`` in every kind of run, tallied."""
    fn, opid, res = resolve(op), _opid(op), OpResult()
    supported = op.supported_dtypes("cpu")
    runs = []
    for kind, dtype in DTYPES.items():
        if dtype not in supported:
            continue
        grad = kind == "float64" and op.supports_autograd
        # (the generators themselves: ``op.sample_inputs`` wraps them in a tracker that
        # inspects the whole call stack, and reseeds before each sample: slow under pytest)
        torch.manual_seed(0)
        try:
            samples = list(op.sample_inputs_func(op, "cpu", dtype, grad))
        except Exception:  # no samples for this dtype
            continue
        runs.append((kind, _subsample(samples, CAP[kind])))
    if op.error_inputs_func is not None:
        torch.manual_seed(0)
        errors = list(op.error_inputs_func(op, "cpu"))
        runs.append(("error", _subsample(errors, CAP["error"])))
    for kind, samples in runs:
        for i, sample in enumerate(samples):
            inp = sample.sample_input if kind == "error" else sample
            reason = _excluded(opid, inp, kind)
            if reason is None:
                try:
                    if kind == "error":
                        run_error(op, fn, sample)
                    else:
                        run_sample(op, fn, sample, kind, seed=i)
                    res.passed += 1
                    continue
                except Unsupported as e:
                    reason = str(e)
                except Exception as e:
                    msg = f"{type(e).__name__}: {e}".strip().replace("\n", " ")[:300]
                    res.failures.append((kind, _describe(inp), msg))
                    continue
            res.excluded[reason] = res.excluded.get(reason, 0) + 1
    return res


class _Summary:
    """A plugin printing the tally at the end of the run (registered by the fixture below:
    a conftest.py here would clash with the others under ``--doctest-modules``)."""

    def __init__(self, results: dict) -> None:
        self.results = results

    def pytest_terminal_summary(self, terminalreporter: Any, config: Any) -> None:
        results, tr = self.results, terminalreporter
        if not results:
            return
        tr.section("OpInfo samples")
        for opid, r in sorted(results.items()):
            if config.get_verbosity() >= 1 or r.failures or r.excluded:
                excl = ", ".join(f"{n} {why}" for why, n in sorted(r.excluded.items()))
                failed = f", {len(r.failures)} failed" if r.failures else ""
                excl = f"; excluded: {excl}" if excl else ""
                tr.write_line(f"{opid:45s} {r.passed:4d}/{r.total:<4d} passed{failed}{excl}")
        total = sum(r.total for r in results.values())
        passed = sum(r.passed for r in results.values())
        excluded = sum(sum(r.excluded.values()) for r in results.values())
        failed = total - passed - excluded
        ops_failing = sum(1 for r in results.values() if r.failures)
        tr.write_line(
            f"OpInfo: {len(results)} ops, {total} samples: {passed} passed, {failed} failed "
            f"({ops_failing} ops), {excluded} excluded; pass rate of non-excluded "
            f"{100 * passed / max(1, passed + failed):.2f} %"
        )


@pytest.fixture(scope="module")
def opinfo_results(request: pytest.FixtureRequest) -> dict:
    """OpInfo id -> its result; the terminal summary prints them all at the end."""
    results: dict = {}
    manager = request.config.pluginmanager
    if manager.has_plugin("opinfo-summary"):
        manager.unregister(name="opinfo-summary")
    manager.register(_Summary(results), "opinfo-summary")
    return results


@pytest.mark.parametrize("op", OPS, ids=_opid)
def test_opinfo(op: Any, opinfo_results: dict, record_property: Any) -> None:
    res = run_op(op)
    opinfo_results[_opid(op)] = res
    record_property("samples_passed", res.passed)
    record_property("samples_total", res.total)
    if res.failures:
        lines = [f"  [{k}] {s}: {m}" for k, s, m in res.failures[:12]]
        more = len(res.failures) - 12
        pytest.fail(f"{_opid(op)}: {res.passed}/{res.total} samples passed, "
                    f"{len(res.failures)} failed:\n" + "\n".join(lines)
                    + (f"\n  … and {more} more" if more > 0 else ""), pytrace=False)  # fmt: skip


def test_overall_pass_rate(opinfo_results: dict) -> None:
    """≥ 99 % of the samples that are not excluded pass, over every OpInfo run."""
    if not opinfo_results:
        pytest.skip("no OpInfo ran in this session")
    passed = sum(r.passed for r in opinfo_results.values())
    failed = sum(len(r.failures) for r in opinfo_results.values())
    assert passed >= 0.99 * (passed + failed), f"{passed}/{passed + failed} samples passed"
