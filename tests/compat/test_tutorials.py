"""Real public PyTorch programs, run with ``import stirpile as torch``: the tutorials set.

The programs (the official PyTorch tutorials, pytorch/examples, yunjey/pytorch-tutorial,
Karpathy's makemore and micrograd, MorvanZhou's tutorials) are not stored here: the
manifest ``tutorials/programs.py`` names each one's repository, commit, path and license
and lists the edits made before it runs, which are only: the imports (``import torch`` →
``import stirpile as torch``, ``from torch import nn`` → ``from stirpile import nn``, …),
local data instead of downloads (``localvision``, a stand-in for the few torchvision
pieces, reads the shared MNIST files), fewer epochs or steps, and printing. The sources
are read at test time from ``$STIRPILE_TUTORIALS`` (``tutorials/sources.py``; see
``tutorials/README.md``); without them the program tests skip, naming the variable.

Each program runs twice, each time in a fresh directory: as written, with stirpile; and
with its import lines mapped back (``stirpile`` → ``torch``) under PyTorch. Both runs
record what the program prints (each ``print`` call's arguments, snapshotted: tensors
and arrays by value, numbers, strings) and the final values of a few of its globals
(tensors, modules by ``state_dict``, lists); ``test_values`` compares them within the
program's tolerance, ``test_text`` compares the printed lines with the numbers masked
(reprs, formats, shapes; grad_fn names are not compared).

Random numbers: the frameworks' generators differ, so the PyTorch run draws from
stirpile's, seeded identically. While it runs, ``torch.manual_seed``, ``randn``,
``rand``, ``randint``, ``randperm``, ``normal``, ``multinomial``, the ``*_like``
versions, ``Tensor.uniform_``/``normal_``/``random_`` and ``F.dropout`` are replaced by
functions that draw with stirpile's public functions and hand the values to torch (a
``torch.Generator`` maps to a ``stirpile.Generator`` with the same seed). Everything
else (modules, losses, autograd, optimizers, data loaders) is PyTorch's own. Python's
``random`` and NumPy's global generator are seeded the same before both runs.

A program that stops on a hole someone else is fixing is listed in ``BLOCKED`` (an
``xfail`` naming the hole); remove the entry once the hole is fixed.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import importlib.util
import json
import linecache
import math
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import traceback
import types
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import stirpile  # noqa: E402

HERE = Path(__file__).parent / "tutorials"
MNIST = Path(__file__).parents[3] / "shared" / "data" / "mnist"  # see shared/data/README.md


def _load(name: str) -> types.ModuleType:
    """A helper module of ``tutorials/``, loaded by path (the folder is no package)."""
    spec = importlib.util.spec_from_file_location(f"_tutorials_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


manifest = _load("programs")
sources = _load("sources")


@dataclass(frozen=True)
class Spec:
    """How to check one program: the globals compared at the end, the tolerance (float32
    training over many steps in two frameworks drifts by rounding), the data it needs
    (``mnist``: the shared MNIST files; ``files``: files made in its directory, from
    ``FILES``)."""

    values: tuple[str, ...] = ()
    rtol: float = 1e-4
    atol: float = 1e-5
    mnist: bool = False
    files: tuple[str, ...] = ()
    seed: int = 0


PROGRAMS: dict[str, Spec] = {
    # pytorch/tutorials, "Learning PyTorch with Examples"
    "polynomial_tensor": Spec(values=("a", "b", "c", "d")),
    "polynomial_autograd": Spec(values=("a", "b", "c", "d")),
    "polynomial_custom_function": Spec(values=("a", "b", "c", "d")),
    "polynomial_nn": Spec(values=("model",)),
    "polynomial_optim": Spec(values=("model",)),
    "polynomial_module": Spec(values=("model",)),
    "dynamic_net": Spec(values=("model",)),
    # the loss falls from 1e7 to 1e-4: its last digits are float32 rounding (as torch's own
    # float32 and float64 runs differ)
    "two_layer_net_custom_function": Spec(values=("w1", "w2"), rtol=2e-3, atol=1e-4),
    "two_layer_net_module": Spec(values=("model",)),
    # pytorch/tutorials, "What is torch.nn really?" and "Learn the Basics"
    "nn_tutorial": Spec(values=("model",), mnist=True, files=("data/mnist/mnist.pkl.gz",)),
    "quickstart": Spec(values=("model",), mnist=True),
    "buildmodel": Spec(values=("model", "seq_modules", "pred_probab")),
    "optimization": Spec(values=("model",), mnist=True),
    "autogradqs": Spec(values=("w", "b", "inp")),
    # pytorch/examples
    "examples_regression": Spec(values=("fc", "batch_idx")),
    # yunjey/pytorch-tutorial
    "yunjey_linear_regression": Spec(values=("model", "predicted")),
    "yunjey_logistic_regression": Spec(values=("model",), mnist=True),
    "yunjey_feedforward": Spec(values=("model",), mnist=True),
    # karpathy
    "micrograd_test_engine": Spec(),
    # SGD at lr 0.1 on saturated tanh units amplifies float32 rounding: on the generated
    # names, after 100 steps the parameters (values up to ~4.5) of torch's own float32 run
    # are up to 3e-3 from its float64 run (same draws), stirpile's up to 4.4e-3, and the two
    # float32 runs up to 7.4e-3 apart; in float64 the frameworks agree to 1e-12
    "makemore_mlp": Spec(
        values=("C", "W1", "b1", "W2", "b2", "lossi"), rtol=1e-3, atol=1.2e-2, files=("names.txt",)
    ),
    # MorvanZhou/PyTorch-Tutorial
    "morvan_regression": Spec(values=("net", "prediction")),
    "morvan_classification": Spec(values=("net", "accuracy")),
    "morvan_batch_train": Spec(),
    "morvan_optimizer": Spec(values=("nets", "losses_his")),
    "morvan_dropout": Spec(values=("net_overfitting", "net_dropped")),
}

# Known holes, temporary: an entry makes the test xfail while the hole is there, and fail
# once it is gone ("remove the entry"). program -> the hole it stops on:
BLOCKED: dict[str, str] = {}
# program -> why its printed text differs:
_SIZE = "Tensor.shape / .size() print as (3, 28, 28), torch as torch.Size([3, 28, 28])"
_DTYPE = "dtypes print as int64, torch as torch.int64"
_REPR = (
    "Tensor repr wraps rows at ~71 characters where torch fills them to 80, and keeps "
    "grad_fn=... on the last line where torch moves it to a line of its own past 80"
)
TEXT_BLOCKED: dict[str, str] = {
    "buildmodel": f"{_SIZE}; {_REPR}",
    "makemore_mlp": f"{_SIZE}; {_DTYPE}",
    "nn_tutorial": f"{_SIZE}; {_REPR}",
    "quickstart": f"{_SIZE}; {_DTYPE}",
}


# -- the two texts of a program --------------------------------------------------------
_STIRPILE_IMPORT = re.compile(r"^(\s*)(import|from)\s+stirpile\b", re.MULTILINE)
_TORCH_IMPORT = re.compile(r"^\s*(import|from)\s+torch\b", re.MULTILINE)


def source(name: str) -> str:
    """The program as stirpile runs it: its source (from ``$STIRPILE_TUTORIALS``) with
    the manifest's edits. Skips when the source is not there; fails when an edit does
    not match it."""
    try:
        return sources.program_text(name, manifest.PROGRAMS[name], sources.roots())
    except sources.SourceMissing as e:
        pytest.skip(str(e))
    except sources.EditFailed as e:
        pytest.fail(str(e), pytrace=False)


def for_torch(text: str) -> str:
    """The program as PyTorch runs it: ``stirpile`` → ``torch`` in its import lines."""
    return _STIRPILE_IMPORT.sub(lambda m: f"{m.group(1)}{m.group(2)} torch", text)


# -- what a run records ----------------------------------------------------------------
def _array(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy().copy()
    return np.array(t.detach().numpy(), copy=True)


def snapshot(obj: Any) -> tuple:
    """A value as the comparison sees it, copied (tensors change after being printed)."""
    if isinstance(obj, (torch.Tensor, stirpile.Tensor)):
        return ("tensor", _array(obj))
    if isinstance(obj, (bool, np.bool_)):
        return ("bool", bool(obj))
    if isinstance(obj, (int, np.integer)):
        return ("int", int(obj))
    if isinstance(obj, (float, np.floating)):
        return ("float", float(obj))
    if isinstance(obj, np.ndarray):
        return ("array", obj.copy())
    if isinstance(obj, str):
        return ("str", obj)
    if isinstance(obj, (tuple, list)):
        return ("seq", [snapshot(x) for x in obj])
    if isinstance(obj, (torch.nn.Module, stirpile.nn.Module)):
        return ("module", {k: _array(v) for k, v in obj.state_dict().items()})
    return ("obj", type(obj).__name__)


@dataclass
class Run:
    prints: list[tuple[list[tuple], str]] = field(default_factory=list)  # (items, line)
    values: dict[str, tuple] = field(default_factory=dict)
    error: str | None = None


# -- PyTorch drawing stirpile's random numbers ------------------------------------------
def _shape(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _sdtype(dtype: Any) -> Any:
    return None if dtype is None else getattr(stirpile, str(dtype).removeprefix("torch."))


def _st(t: Any) -> Any:
    return stirpile.from_numpy(t.detach().cpu().numpy().copy()) if torch.is_tensor(t) else t


def _tt(s: Any, dtype: Any = None, requires_grad: bool = False) -> Any:
    out = torch.from_numpy(np.array(s.numpy(), copy=True))
    if dtype is not None:
        out = out.to(dtype)
    return out.requires_grad_() if requires_grad else out


_INHERITED = object()


class StirpileRandom:
    """While active, PyTorch's random functions draw with stirpile's (see the module
    docstring); ``torch.Generator`` objects map to ``stirpile.Generator`` objects."""

    def __init__(self) -> None:
        self._gens: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._saved: list[tuple[Any, str, Any]] = []

    def gen(self, g: Any) -> dict:
        """``generator=`` for stirpile: ``{}`` for the default generator."""
        if g is None:
            return {}
        seed = g.initial_seed()
        entry = self._gens.get(g)
        if entry is None or entry[0] != seed:  # new, or reseeded with another seed
            entry = (seed, stirpile.Generator().manual_seed(seed))
            self._gens[g] = entry
        return {"generator": entry[1]}

    def _patch(self, owner: Any, name: str, new: Any) -> None:
        self._saved.append((owner, name, vars(owner).get(name, _INHERITED)))
        setattr(owner, name, new)

    def __enter__(self) -> StirpileRandom:
        gen, real_seed = self.gen, torch.manual_seed

        def manual_seed(seed: int) -> Any:
            stirpile.manual_seed(seed)
            return real_seed(seed)

        def creator(fn_name: str) -> Any:
            def draw(*size, generator=None, dtype=None, requires_grad=False, **_kw):
                dtype = dtype or torch.get_default_dtype()
                fn = getattr(stirpile, fn_name)
                return _tt(fn(_shape(size), dtype=_sdtype(dtype), **gen(generator)), dtype,
                           requires_grad)  # fmt: skip

            return draw

        def like(fn_name: str) -> Any:
            def draw(input, *, dtype=None, requires_grad=False, **_kw):
                return getattr(torch, fn_name)(tuple(input.shape), dtype=dtype or input.dtype,
                                               requires_grad=requires_grad)  # fmt: skip

            return draw

        def randint(*args, size=None, generator=None, dtype=None, requires_grad=False, **_kw):
            args = list(args)
            if size is None:
                size = args.pop()
            low, high = (0, args[0]) if len(args) == 1 else args
            out = stirpile.randint(low, high, tuple(size), **gen(generator))
            return _tt(out, dtype or torch.int64, requires_grad)

        def randperm(n, *, generator=None, dtype=None, requires_grad=False, **_kw):
            return _tt(stirpile.randperm(n, **gen(generator)), dtype or torch.int64)

        def normal(*args, generator=None, **kwargs):
            out = stirpile.normal(*map(_st, args), **kwargs, **gen(generator))
            return _tt(out)

        def multinomial(input, num_samples, replacement=False, *, generator=None):
            out = stirpile.multinomial(_st(input), num_samples, replacement, **gen(generator))
            return _tt(out)

        def filler(method: str) -> Any:
            def fill(self, *args, generator=None, **kwargs):
                st = stirpile.empty(tuple(self.shape), dtype=_sdtype(self.dtype))
                getattr(st, method)(*args, **kwargs, **gen(generator))
                with torch.no_grad():
                    self.copy_(_tt(st))
                return self

            return fill

        real_dropout = torch.nn.functional.dropout

        def dropout(input, p=0.5, training=True, inplace=False):
            if not training or p == 0:
                return real_dropout(input, p, training, inplace)
            ones = stirpile.ones(tuple(input.shape), dtype=_sdtype(input.dtype))
            mask = _tt(stirpile.nn.functional.dropout(ones, p, True))
            return input.mul_(mask) if inplace else input * mask

        self._patch(torch, "manual_seed", manual_seed)
        for name in ("randn", "rand"):
            self._patch(torch, name, creator(name))
            self._patch(torch, f"{name}_like", like(name))
        self._patch(torch, "randint", randint)
        self._patch(torch, "randperm", randperm)
        self._patch(torch.utils.data.dataset, "randperm", randperm)
        self._patch(torch, "normal", normal)
        self._patch(torch, "multinomial", multinomial)
        for method in ("uniform_", "normal_"):
            self._patch(torch.Tensor, method, filler(method))
        real_random_ = torch.Tensor.random_

        def random_(self, *args, generator=None, **kwargs):
            """The seeds torch draws for data loading: int64 ``random_()`` is uniform on
            [0, 2⁶³), drawn as ``randint(0, 2**63)`` (as stirpile's data loading does)."""
            if args or kwargs or self.dtype != torch.int64:
                return real_random_(self, *args, generator=generator, **kwargs)
            seeds = stirpile.randint(0, 2**63, tuple(self.shape), **gen(generator))
            with torch.no_grad():
                return self.copy_(_tt(seeds))

        self._patch(torch.Tensor, "random_", random_)
        self._patch(torch.nn.functional, "dropout", dropout)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, old in reversed(self._saved):
            if old is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, old)
        self._saved.clear()


# -- running a program ----------------------------------------------------------------
def _localvision() -> Any:
    spec = importlib.util.spec_from_file_location("_localvision_impl", HERE / "localvision.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _quiet_pyplot() -> Iterator[None]:
    """Figures are drawn off screen; ``show`` and ``pause`` return at once."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    saved = plt.show, plt.pause
    plt.show, plt.pause = (lambda *a, **k: None), (lambda *a, **k: None)
    try:
        yield
    finally:
        plt.show, plt.pause = saved
        plt.ioff()
        plt.close("all")


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """One BLAS/OpenMP thread for both frameworks: deterministic, and many times faster
    than oversubscribed thread pools on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=1)
    try:
        with limits:
            yield
    finally:
        torch.set_num_threads(threads)


# -- the data files programs read -------------------------------------------------------
@functools.cache
def names_txt() -> bytes:
    """A stand-in for makemore's ``names.txt`` (one lowercase name a line; its 32,033
    names live in another repository): 400 made-up names, each one to three syllables
    drawn with ``random.Random(2147483647)``, together using all 26 letters."""
    rng = random.Random(2147483647)
    onsets = "b c d f g h j k l m n p r s t v w y z br ch cl dr fr gr kr qu sh th tr".split()
    vowels = "a e i o u y a e i o ai ea ie ou".split()
    codas = ["", "", "", "", "n", "l", "r", "s", "x", "th", "nne", "lla", "ck"]
    words = []
    for _ in range(400):
        syllables = rng.choice((1, 2, 2, 2, 3))
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables))
        words.append(word + rng.choice(codas))
    assert set("".join(words)) == set(string.ascii_lowercase)
    return "".join(f"{w}\n" for w in words).encode()


@functools.cache
def mnist_pkl_gz() -> bytes:
    """``mnist.pkl.gz`` made from the shared MNIST files (see ``localvision``)."""
    return _load("localvision").mnist_pkl_gz(MNIST)


FILES = {"names.txt": names_txt, "data/mnist/mnist.pkl.gz": mnist_pkl_gz}


@contextlib.contextmanager
def _in_fresh_directory(files: tuple[str, ...]) -> Iterator[None]:
    old = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="tutorial-") as tmp:
        for f in files:
            (Path(tmp) / f).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / f).write_bytes(FILES[f]())
        os.chdir(tmp)
        try:
            yield
        finally:
            os.chdir(old)


@contextlib.contextmanager
def _importable(modules: dict[str, str]) -> Iterator[None]:
    """Modules made from source texts (name -> text), and the packages above them,
    importable while a program runs (in place of any installed ones of those names)."""
    names = {".".join(m.split(".")[:i]) for m in modules for i in range(1, m.count(".") + 2)}
    saved = {n: sys.modules.pop(n, None) for n in names}
    try:
        for n in sorted(names, key=lambda n: n.count(".")):
            sys.modules[n] = types.ModuleType(n)
            parent, _, child = n.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, sys.modules[n])
        for n, text in modules.items():
            sys.modules[n].__file__ = f"<{n}>"
            exec(compile(text, f"<{n}>", "exec", dont_inherit=True), vars(sys.modules[n]))
        yield
    finally:
        for n, module in saved.items():
            if module is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = module


def _module_texts(name: str) -> dict[str, str]:
    try:
        return sources.module_texts(manifest.PROGRAMS[name], sources.roots())
    except sources.SourceMissing as e:
        pytest.skip(str(e))


def _reset_frameworks() -> None:
    torch.set_default_dtype(torch.float32)
    torch.set_default_device(None)
    stirpile.set_default_dtype(stirpile.float32)
    if hasattr(stirpile, "set_default_device"):
        stirpile.set_default_device(None)


@functools.cache
def run(name: str, framework: str) -> Run:
    """Run program ``name`` with ``framework`` ("stirpile" or "torch"); cached."""
    spec = PROGRAMS[name]
    text = source(name) if framework == "stirpile" else for_torch(source(name))
    fw = stirpile if framework == "stirpile" else torch
    result = Run()

    def record(*args: Any, sep: str | None = " ", end: str | None = "\n", **_kw: Any) -> None:
        line = (" " if sep is None else sep).join(str(a) for a in args)
        result.prints.append(([snapshot(a) for a in args], line))

    modules = _module_texts(name)
    src = manifest.PROGRAMS[name]
    filename = f"<{name}, edited for {framework}: {src.repo}@{src.commit[:7]}:{src.path}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    with warnings.catch_warnings():  # the originals' docstrings have "\s"-style escapes
        warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
        code = compile(text, filename, "exec", dont_inherit=True)
    namespace = {"__name__": "__main__", "__builtins__": builtins, "print": record}
    lv = _localvision()
    random.seed(spec.seed)
    np.random.seed(spec.seed)  # noqa: NPY002  (the global generator programs may use)
    stirpile.manual_seed(spec.seed)
    torch.manual_seed(spec.seed)
    draws = StirpileRandom() if framework == "torch" else contextlib.nullcontext()
    try:
        with contextlib.ExitStack() as stack:
            for context in (_in_fresh_directory(spec.files), _importable(modules)):
                stack.enter_context(context)
            for context in (_quiet_pyplot(), _one_thread(), draws):
                stack.enter_context(context)
            lv.bind(fw, MNIST)
            exec(code, namespace)
        for key in spec.values:
            result.values[key] = snapshot(namespace[key])
    except Exception:
        result.error = traceback.format_exc(limit=-6)
    finally:
        lv.unbind()
        _reset_frameworks()
    return result


# -- comparing two runs -----------------------------------------------------------------
_NUMBER = re.compile(
    r"(?<![A-Za-z_0-9.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_0-9])|\b(?:nan|inf)\b"
)
_GRAD_FN = re.compile(r"<\w*Backward\w*(?: object at 0x[0-9a-fA-F]+)?>")


def _numbers(text: str) -> list[tuple[float, float]]:
    """(value, unit of its last printed digit; 0 for integers) of each number in text."""
    out = []
    for tok in _NUMBER.findall(_GRAD_FN.sub("", text)):
        mant, _, exp = tok.lower().partition("e")
        decimals = len(mant.partition(".")[2]) if "." in mant else None
        unit = 0.0 if decimals is None else 10.0 ** (int(exp or 0) - decimals)
        out.append((float(tok), unit))
    return out


def skeleton(text: str) -> str:
    """The text with numbers masked, grad_fn names and runs of spaces normalized, and
    ``stirpile`` read as ``torch``."""
    text = _GRAD_FN.sub("<Backward>", text.replace("stirpile", "torch"))
    text = _NUMBER.sub("#", text)
    return re.sub(r"[ \t]+", " ", text)


def _close(a: float, b: float, spec: Spec, unit: float = 0.0) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= spec.atol + spec.rtol * abs(b) + unit


def compare(ours: tuple, theirs: tuple, spec: Spec, where: str) -> list[str]:
    """The differences between two snapshots (empty: they agree)."""
    kind, a = ours
    tkind, b = theirs
    numeric = {"int", "float", "bool"}
    if kind != tkind and not (kind in numeric and tkind in numeric):
        return [f"{where}: {kind} (stirpile) vs {tkind} (torch)"]
    if kind in ("tensor", "array"):
        if a.shape != b.shape:
            return [f"{where}: shape {a.shape} vs {b.shape}"]
        if a.dtype != b.dtype:
            return [f"{where}: dtype {a.dtype} vs {b.dtype}"]
        if a.dtype.kind in "fc":
            if not np.allclose(a, b, rtol=spec.rtol, atol=spec.atol, equal_nan=True):
                err = np.max(np.abs(a - b) / (spec.atol + spec.rtol * np.abs(b)))
                return [f"{where}: values differ ({err:.3g} x the tolerance)"]
        elif not np.array_equal(a, b):
            return [f"{where}: values differ: {a.ravel()[:8]} vs {b.ravel()[:8]}"]
        return []
    if kind in numeric:
        return [] if _close(float(a), float(b), spec) else [f"{where}: {a!r} vs {b!r}"]
    if kind == "str":
        na, nb = _numbers(a), _numbers(b)
        if len(na) != len(nb):  # a formatting difference: test_text reports it
            return []
        bad = [(x, y) for (x, u), (y, v) in zip(na, nb) if not _close(x, y, spec, max(u, v))]
        return [f"{where}: numbers differ in {a!r} vs {b!r}"] if bad else []
    if kind == "seq":
        if len(a) != len(b):
            return [f"{where}: length {len(a)} vs {len(b)}"]
        return [
            d for i, (x, y) in enumerate(zip(a, b)) for d in compare(x, y, spec, f"{where}[{i}]")
        ]
    if kind == "module":
        if list(a) != list(b):
            return [f"{where}: state_dict keys {list(a)} vs {list(b)}"]
        return [
            d for k in a for d in compare(("tensor", a[k]), ("tensor", b[k]), spec, f"{where}.{k}")
        ]
    return []  # other objects: test_text compares their str()


# -- the tests ----------------------------------------------------------------------------
def _runs(name: str) -> tuple[Run, Run]:
    spec = PROGRAMS[name]
    source(name)  # skips (naming $STIRPILE_TUTORIALS) without the source
    if spec.mnist and not MNIST.is_dir():
        pytest.skip(f"no local MNIST at {MNIST}")
    ours = run(name, "stirpile")
    if ours.error is not None:
        if name in BLOCKED:
            pytest.xfail(BLOCKED[name])
        pytest.fail(f"{name} failed with stirpile:\n{ours.error}", pytrace=False)
    assert name not in BLOCKED, f"{name} runs now: remove it from BLOCKED"
    theirs = run(name, "torch")
    assert theirs.error is None, f"{name} failed with torch:\n{theirs.error}"
    return ours, theirs


# (these first tests need no sources: they check the manifest and our own helpers)
def test_every_program_is_listed() -> None:
    """Each program in the manifest has a check here, and each check a program."""
    assert set(manifest.PROGRAMS) == set(PROGRAMS)
    assert set(BLOCKED) | set(TEXT_BLOCKED) <= set(PROGRAMS)
    assert {f for spec in PROGRAMS.values() for f in spec.files} <= set(FILES)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_manifest_entry(name: str) -> None:
    """A full source reference (repository, 40-digit commit, path, license) and edits of
    the kinds the manifest allows, none of them empty."""
    program = manifest.PROGRAMS[name]
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", program.repo)
    assert re.fullmatch(r"[0-9a-f]{40}", program.commit)
    assert program.path and not program.path.startswith("/") and program.license
    assert program.skip_cells == () or program.path.endswith(".ipynb")
    for edit in program.edits:
        if isinstance(edit, tuple):
            old, new = edit
            assert old and old != new, edit
        else:
            assert isinstance(edit, (manifest.Cut, manifest.Append)), edit


def test_edits_match_exactly_once() -> None:
    """Each kind of edit, and the failures (naming the program and the edit) when an
    edit matches no line or more than one."""
    text = "import torch\nx = 1  # import torch\n    import torch\nfor t in range(9):\n    pass\n"
    out = sources.apply_edits(
        "p", text, (manifest.TORCH, ("for t in range(9):", "for t in range(2):"))
    )
    assert out == text.replace("import torch\nx", "import stirpile as torch\nx").replace("9", "2")
    cut = manifest.Cut("x = 1", "    import torch")
    assert sources.apply_edits("p", text, (cut,)) == "import torch\nfor t in range(9):\n    pass\n"
    tail = (manifest.Cut("for t"), manifest.Append("y = 2\n"))
    assert (
        sources.apply_edits("p", text, tail)
        == "import torch\nx = 1  # import torch\n    import torch\ny = 2\n"
    )
    with pytest.raises(
        sources.EditFailed, match=r"^p: edit #2 \('x = 2' -> 'x = 3'\) matches 0 times"
    ):
        sources.apply_edits("p", text, (manifest.TORCH, ("x = 2", "x = 3")))
    with pytest.raises(sources.EditFailed, match=r"^q: edit #1 .* matches 2 times"):
        sources.apply_edits("q", text + "x = 1\n", (("x = 1", "x = 3"),))
    with pytest.raises(sources.EditFailed, match=r"^r: edit #1 .* 0 lines start with 'y ='"):
        sources.apply_edits("r", text, (manifest.Cut("y ="),))


def test_sources_are_read_from_git_or_plain_files(tmp_path: Path) -> None:
    """A plain ``owner+name/PATH`` file, a git directory read at the commit, a notebook's
    code cells, and the skip reasons (naming the variable and the README)."""
    plain = tmp_path / "plain" / "me+plain" / "a" / "b.py"
    plain.parent.mkdir(parents=True)
    plain.write_text("print(1)\n")
    assert sources.read("me/plain", "0" * 40, "a/b.py", (tmp_path / "plain",)) == "print(1)\n"
    with pytest.raises(sources.SourceMissing, match=r"STIRPILE_TUTORIALS is not set.*README"):
        sources.read("me/plain", "0" * 40, "a/b.py", ())
    with pytest.raises(sources.SourceMissing, match=r"me/other@0000000:a/b.py is not under"):
        sources.read("me/other", "0" * 40, "a/b.py", (tmp_path / "plain",))
    cells = {"cells": [{"cell_type": "code", "source": ["x = 1\n", "x"]},
                       {"cell_type": "markdown", "source": "# text"},
                       {"cell_type": "code", "source": "y = 2"},
                       {"cell_type": "code", "source": "z = 3"}]}  # fmt: skip
    code = sources.notebook_code(json.dumps(cells), skip_cells=(2,))
    assert code == "# --- cell 1\nx = 1\nx\n# --- cell 3\nz = 3\n"
    if shutil.which("git") is None:
        return
    work = tmp_path / "work"
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    (work / "f.py").write_text("old\n")
    subprocess.run([*git, "add", "f.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "1"], check=True)
    first = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    (work / "f.py").write_text("new\n")
    subprocess.run([*git, "commit", "-qam", "2"], check=True)
    mirror = tmp_path / "mirror" / "me+git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirror / "repo")], check=True)
    assert sources.read("me/git", first.strip(), "f.py", (tmp_path / "mirror",)) == "old\n"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_changes_are_imports_only(name: str) -> None:
    """The stirpile text imports no torch, and the PyTorch text differs from it only in
    import lines."""
    text = source(name)
    assert not _TORCH_IMPORT.search(text), "a torch import left in the stirpile version"
    changed = [
        (a, b)
        for a, b in zip(text.splitlines(), for_torch(text).splitlines())
        if a != b and not re.match(r"\s*(import|from)\s+stirpile\b", a)
    ]
    assert not changed


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_values(name: str) -> None:
    """Printed numbers, tensors and arrays, and the final values of the listed globals,
    agree with PyTorch's within the program's tolerance."""
    ours, theirs = _runs(name)
    spec = PROGRAMS[name]
    assert len(ours.prints) == len(theirs.prints), (
        f"{len(ours.prints)} print calls with stirpile, {len(theirs.prints)} with torch"
    )
    diffs = []
    for i, ((a, _), (b, tline)) in enumerate(zip(ours.prints, theirs.prints)):
        where = f"print #{i} ({tline[:60]!r})"
        diffs += compare(("seq", a), ("seq", b), spec, where)
    for key in spec.values:
        diffs += compare(ours.values[key], theirs.values[key], spec, key)
    assert not diffs, "\n".join(diffs[:20])


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_text(name: str) -> None:
    """The printed lines agree with PyTorch's once numbers are masked."""
    ours, theirs = _runs(name)
    diffs = [
        f"stirpile: {a!r}\n   torch: {b!r}"
        for (_, a), (_, b) in zip(ours.prints, theirs.prints)
        if skeleton(a) != skeleton(b)
    ]
    if diffs and name in TEXT_BLOCKED:
        pytest.xfail(TEXT_BLOCKED[name])
    assert not diffs, "\n".join(diffs[:10])
    assert name not in TEXT_BLOCKED, f"{name} prints as torch now: remove it from TEXT_BLOCKED"
