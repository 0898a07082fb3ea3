"""Kernels: the hot ops of a training step, replayed into arrays allocated once.

A replay may run an op's own ``forward`` and ``backward`` (which allocate their results,
as eagerly) or, for the ops here, a *kernel*: the same NumPy calls in the same order, so
the same bits, but writing with ``out=`` into buffers made when the program is built.
Each kernel holds what the op's forward and backward do, side by side, for the cases a
training loop hits (the rest keep the op's own code):

==============  =========================================================================
op or call      kernel
==============  =========================================================================
Linear          ``x Wᵀ + b`` into a buffer; ``g W``, ``gᵀ x`` and ``Σ g`` into buffers, the
                last two straight into the optimizer's flat gradient buffer when given one
Relu            ``max(a, 0)`` in place on its input when nothing else reads the input (no
                faster than a buffer of its own, measured, but one activation less);
                backward ``g · (out > 0)`` through a boolean buffer
CrossEntropy    class indices, no weights, smoothing or ignored classes: the fused
                log-softmax and its gradient ``(softmax − one_hot) · scale`` in buffers;
                the targets' range is checked before the replay starts (an out-of-range
                target runs the call eagerly, which raises or ignores as it should)
Add, Sub, Mul   operands of the result's shape, or a number: dropout's ``x · mask``, a
                residual sum
dropout mask    the uniform draws of ``nn.functional._dropout_mask`` into a buffer (the
                same numbers from the same generator), compared and scaled in buffers
batch norm      the batch's statistics and running averages (``_batch_stats``), and
                ``BatchNormTrain``'s forward and backward, in buffers
==============  =========================================================================

A kernel's buffers are overwritten by the next replay. Results the function returns are
never buffers (they are made fresh), and a gradient written into a parameter's buffer is
that parameter's ``.grad`` until the next replay overwrites it, as with CUDA graphs
(``torch.compile(mode="reduce-overhead")``): clone a ``.grad`` to keep it across steps.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .. import backend as B
from ..autograd.quiet import IGNORE, state
from ..autograd.version import bump
from ..nn.functional import _batch_stats, _dropout_mask
from ..ops.activation import Relu
from ..ops.elementwise import Add, Mul, Sub
from ..ops.loss import CrossEntropy, _in_range
from ..ops.nn import Linear
from ..ops.norm import BatchNormTrain, _axes_shape
from .codegen import ARG, CALL, CONST, EXT, OP, SLOT

_matmul, _add, _maximum = np.matmul, np.add, np.maximum


class LinearKernel:
    """``out = x Wᵀ + b`` for 2-d ``x``; backward ``(g W, gᵀ x, Σ_rows g)``."""

    grads_into = (1, 2)  # the inputs whose gradient backward writes where it is told
    saves_output = False

    @staticmethod
    def accepts(refs: tuple, kwargs: dict, meta: list, out: tuple | None) -> bool:
        if kwargs or len(refs) not in (2, 3) or meta[0] is None or meta[1] is None:
            return False
        (x, dtype), (w, w_dtype) = meta[:2]
        if len(refs) == 3 and refs[2] != (CONST, None):  # (a bias, or bias=None)
            if meta[2] != ((w[0],), dtype):
                return False
        return len(x) == 2 and len(w) == 2 and x[1] == w[1] and w_dtype == dtype

    def __init__(self, meta: list, out: tuple, needs: tuple | None, fresh: bool,
                 in_place: bool) -> None:  # fmt: skip
        (x, dtype), (w, _) = meta[:2]
        self.need = needs or (False, False, False)
        self.out = None if fresh else np.empty((x[0], w[0]), dtype)
        self.gx = np.empty(x, dtype) if self.need[0] else None
        self.x = self.w = None

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        out = _matmul(x, w.T, out=self.out)
        if b is not None:
            out += b
        self.x, self.w = x, w
        return out

    def backward(self, g: Any, gw: Any = None, gb: Any = None) -> tuple:
        need, x, w = self.need, self.x, self.w
        self.x = self.w = None  # (the replay holds no input between calls)
        return (
            _matmul(g, w, out=self.gx) if need[0] else None,
            _matmul(g.T, x, out=gw) if need[1] else None,
            _add.reduce(g, axis=0, out=gb) if len(need) > 2 and need[2] else None,
        )

    def buffers(self) -> list:
        return [self.out, self.gx]


class ReluKernel:
    """``max(a, 0)``, in place on ``a`` when allowed; backward ``g · (out > 0)``."""

    grads_into = ()
    saves_output = True

    @staticmethod
    def accepts(refs: tuple, kwargs: dict, meta: list, out: tuple | None) -> bool:
        return not kwargs and len(refs) == 1 and meta[0] is not None

    def __init__(self, meta: list, out: tuple, needs: tuple | None, fresh: bool,
                 in_place: bool) -> None:  # fmt: skip
        shape, dtype = meta[0]
        self.in_place = in_place
        self.buf = None if fresh or in_place else np.empty(shape, dtype)
        self.mask = np.empty(shape, bool) if needs else None
        self.gx = np.empty(shape, dtype) if needs else None
        self.out = None

    def forward(self, a: Any) -> Any:
        self.out = _maximum(a, 0, out=a if self.in_place else self.buf)
        return self.out

    def backward(self, g: Any) -> tuple:
        np.greater(self.out, 0, out=self.mask)
        return (np.multiply(g, self.mask, out=self.gx),)

    def buffers(self) -> list:
        return [self.buf, self.gx]


class CrossEntropyKernel:
    """Mean or summed cross-entropy of ``(N, C)`` logits against class indices; backward
    ``scale · (softmax − one_hot)``. The op's plain case (``ops.loss._forward_plain``), call
    for call: the target's entries are read through flat indices ``C·row + t`` built in a
    buffer, instead of fancy indexing (which allocates)."""

    grads_into = ()
    saves_output = False
    target_check = True  # ``ready(target)`` runs before the replay

    @staticmethod
    def accepts(refs: tuple, kwargs: dict, meta: list, out: tuple | None) -> bool:
        if len(refs) != 2 or refs[1][0] == SLOT or meta[0] is None or meta[1] is None:
            return False  # (a computed target cannot be checked before the replay)
        (x, dtype), (t, t_dtype) = meta[:2]
        n_classes = x[-1] if x else 0
        plain = {  # the options of the op's plain case
            "weight": lambda v: v is None,
            "ignore_index": lambda v: type(v) is int and not 0 <= v < n_classes,
            "label_smoothing": lambda v: type(v) in (int, float) and v == 0,
            "reduction": lambda v: v in ("mean", "sum"),
        }
        if not all(name in plain and plain[name](v) for name, v in kwargs.items()):
            return False
        return len(x) == 2 and dtype.kind == "f" and t_dtype.kind in "iu" and t == x[:1]

    def __init__(self, meta: list, out: tuple, needs: tuple | None, fresh: bool,
                 in_place: bool, reduction: str = "mean") -> None:  # fmt: skip
        (n, c), dtype = meta[0]
        self.n_classes = c
        self.scale = 1.0 / n if reduction == "mean" else 1.0
        self.row_start = np.arange(n) * c
        self.index = np.empty(n, np.intp)
        self.m, self.total = np.empty((n, 1), dtype), np.empty((n, 1), dtype)
        self.s = np.empty((n, c), dtype)
        self.s_flat = self.s.reshape(-1)
        self.s_t, self.lse, self.elem = (np.empty(n, dtype) for _ in range(3))
        self.gx = np.empty((n, c), dtype) if needs and needs[0] else None
        self.gx_flat = None if self.gx is None else self.gx.reshape(-1)

    def ready(self, target: Any) -> bool:
        """Whether every target is a class index (else the call runs eagerly)."""
        return target.size > 0 and _in_range(target, self.n_classes)

    def forward(self, x: Any, target: Any) -> Any:
        token = state.set(IGNORE)  # logits with inf: inf - inf = nan, quietly as in PyTorch
        try:
            s = np.subtract(x, _maximum.reduce(x, axis=1, keepdims=True, out=self.m), out=self.s)
            _add(self.row_start, target, out=self.index)
            np.take(self.s_flat, self.index, out=self.s_t)
            np.exp(s, out=s)
            total = _add.reduce(s, axis=1, keepdims=True, out=self.total)
            elem = np.subtract(np.log(total[:, 0], out=self.lse), self.s_t, out=self.elem)
            s /= total
        finally:
            state.reset(token)
        return np.asarray(_add.reduce(elem) * self.scale)

    def backward(self, g: Any) -> tuple:
        gs = g * self.scale
        np.multiply(self.s, gs, out=self.gx)
        np.subtract.at(self.gx_flat, self.index, gs)
        return self.gx, None

    def buffers(self) -> list:
        return [self.gx]


class BinaryKernel:
    """``a + b``, ``a − b`` or ``a · b`` of two arrays of the result's shape, or of an
    array and a number (dropout's ``x · mask``, a residual sum, ``0.5 · h``): no
    broadcasting, so no gradient needs summing. Backward: ``g`` (``−g``) for a sum
    (difference), ``g · b`` and ``g · a`` for a product."""

    grads_into = ()
    saves_output = False
    UFUNCS: ClassVar[dict] = {Add: np.add, Sub: np.subtract, Mul: np.multiply}

    @staticmethod
    def accepts(refs: tuple, kwargs: dict, meta: list, out: tuple | None) -> bool:
        if kwargs or len(refs) != 2:
            return False
        numbers = [kind == CONST and type(v) in (int, float) for kind, v in refs]
        arrays = [m is not None and m == out for m in meta]
        return all(a or n for a, n in zip(arrays, numbers)) and any(arrays)

    def __init__(self, meta: list, out: tuple, needs: tuple | None, fresh: bool,
                 in_place: bool, op: type = Mul) -> None:  # fmt: skip
        self.ufunc, self.op = self.UFUNCS[op], op
        self.need = needs or (False, False)
        self.out = None if fresh else np.empty(*out)
        self.ga = np.empty(*out) if op is Mul and self.need[0] else None
        self.gb = np.empty(*out) if op is not Add and self.need[1] else None
        self.a = self.b = None

    def forward(self, a: Any, b: Any) -> Any:
        if self.op is Mul:
            self.a, self.b = a, b
        return self.ufunc(a, b, out=self.out)

    def backward(self, g: Any) -> tuple:
        (na, nb), a, b = self.need, self.a, self.b
        self.a = self.b = None
        if self.op is Add:
            return g, g
        if self.op is Sub:
            return g, np.negative(g, out=self.gb) if nb else None
        return (np.multiply(g, b, out=self.ga) if na else None,
                np.multiply(g, a, out=self.gb) if nb else None)  # fmt: skip

    def buffers(self) -> list:
        return [self.out, self.ga, self.gb]


class DropoutMaskKernel:
    """Dropout's mask, ``1/(1 − p)`` where kept and 0 where dropped (``nn.functional.
    _dropout_mask``, a traced call): the same uniform draws from the global generator,
    into a buffer, compared and scaled in buffers."""

    grads_into = ()
    saves_output = False

    @staticmethod
    def accepts(refs: tuple, kwargs: dict, meta: list, out: tuple | None) -> bool:
        return out is not None and len(refs) == 3 and all(kind == CONST for kind, _ in refs)

    def __init__(self, meta: list, out: tuple, needs: tuple | None, fresh: bool,
                 in_place: bool) -> None:  # fmt: skip
        shape, dtype = out
        self.draws = np.empty(shape)  # (float64, as ``random(shape)`` draws them)
        self.keep = np.empty(shape, bool)
        self.mask = None if fresh else np.empty(shape, dtype)

    def forward(self, shape: tuple, dtype: Any, p: float) -> Any:
        keep = np.greater_equal(B.rng().random(out=self.draws), p, out=self.keep)
        if self.mask is None:  # (the function's result: a fresh array)
            mask = keep.astype(dtype)
        else:
            mask = self.mask
            np.copyto(mask, keep)
        mask *= 1.0 / (1.0 - p)
        return mask

    def buffers(self) -> list:
        return [self.mask]


class BatchStatsKernel:
    """Batch norm's statistics in training (``nn.functional._batch_stats``, a traced
    call): the per-channel mean and biased variance (``ops.norm.moments``) into buffers,
    and the running estimates moved toward them in place, call for call."""

    grads_into = ()
    saves_output = False

    @staticmethod
    def accepts(refs: tuple, kwargs: dict, meta: list, out: tuple | None) -> bool:
        if len(refs) != 4 or meta[0] is None or len(meta[0][0]) < 2:
            return False
        (shape, dtype), running = meta[0], meta[1:3]
        return all(m is None or m == (shape[1:2], dtype) for m in running)  # (C,) like x

    def __init__(self, meta: list, out: tuple, needs: tuple | None, fresh: bool,
                 in_place: bool) -> None:  # fmt: skip
        (shape, dtype), c = meta[0], meta[0][0][1]
        self.axes, self.channel_shape = _axes_shape(_like(shape))
        self.n = math.prod(shape) // c
        self.mean, self.var, self.tmp, self.step = (np.empty(c, dtype) for _ in range(4))
        self.xc = np.empty(shape, dtype)

    def forward(self, x: Any, running_mean: Any, running_var: Any, momentum: float) -> tuple:
        n, n_typed = self.n, x.dtype.type(self.n)
        mean = _add.reduce(x, axis=self.axes, out=self.mean)
        mean /= n_typed
        xc = np.subtract(x, mean.reshape(self.channel_shape), out=self.xc)
        var = _add.reduce(np.multiply(xc, xc, out=xc), axis=self.axes, out=self.var)
        var /= n_typed
        unbiased = np.multiply(var, n / (n - 1), out=self.tmp)
        for running, value in ((running_mean, mean), (running_var, unbiased)):
            if running is not None:
                np.multiply(running, 1 - momentum, out=running, casting="same_kind")
                np.add(running, np.multiply(value, momentum, out=self.step), out=running,
                       casting="same_kind")  # fmt: skip
                bump(running)
        return mean, var

    def buffers(self) -> list:
        return [self.mean, self.var]


class BatchNormKernel:
    """``ops.norm.BatchNormTrain`` with the batch's statistics given (``nn.BatchNorm*d``
    in training): ``y = (x − μ)·(σ² + ε)^(−½)·γ + β`` into a buffer; backward
    ``γ r · (g − Σg/n − x̂ · Σ(g x̂)/n)``, ``Σ(g x̂)``, ``Σ g`` in buffers, the last two into
    the parameters' gradient buffers when given."""

    grads_into = (1, 2)
    saves_output = False
    kwargs = ("stats",)  # (passed to forward: the statistics' slot)

    @staticmethod
    def accepts(refs: tuple, kwargs: dict, meta: list, out: tuple | None) -> bool:
        if len(refs) != 4 or set(kwargs) != {"stats"} or meta[0] is None:
            return False
        (shape, dtype), eps = meta[0], refs[3][1]
        affine = [m is None or m == ((shape[1],), dtype) for m in meta[1:3]]
        return len(shape) >= 2 and refs[3][0] == CONST and type(eps) is float and all(affine)

    def __init__(self, meta: list, out: tuple, needs: tuple | None, fresh: bool,
                 in_place: bool) -> None:  # fmt: skip
        (shape, dtype), c = meta[0], meta[0][0][1]
        self.axes, self.shape = _axes_shape(_like(shape))
        self.n = float(math.prod(shape) // c)
        self.need = needs or (False, False, False, False)
        self.out = None if fresh else np.empty(shape, dtype)
        self.scale = np.empty(c, dtype)
        if self.need[0] or self.need[1] or self.need[2]:
            self.xc, self.gx = np.empty(shape, dtype), np.empty(shape, dtype)
            self.mean, self.r, self.g_sum, self.g_xhat, self.t1, self.t2 = (
                np.empty(self.shape, dtype) for _ in range(6))  # fmt: skip
        self.x = self.weight = None
        self.eps = 0.0

    def forward(self, x: Any, weight: Any, bias: Any, eps: float, stats: tuple) -> Any:
        mean, var = stats
        scale = np.add(var, x.dtype.type(eps), out=self.scale)
        np.sqrt(scale, out=scale)
        np.divide(1.0, scale, out=scale)
        if weight is not None:
            np.multiply(scale, weight, out=scale)
        y = np.subtract(x, mean.reshape(self.shape), out=self.out)
        y *= scale.reshape(self.shape)
        if bias is not None:
            y += bias.reshape(self.shape)
        self.x, self.weight, self.eps = x, weight, eps
        return y

    def backward(self, g: Any, gw: Any = None, gb: Any = None) -> tuple:
        x, weight, n, axes, need = self.x, self.weight, self.n, self.axes, self.need
        self.x = self.weight = None
        mean = _add.reduce(x, axis=axes, keepdims=True, out=self.mean)
        mean /= n
        xc = np.subtract(x, mean, out=self.xc)
        r = _add.reduce(np.multiply(xc, xc, out=self.gx), axis=axes, keepdims=True, out=self.r)
        r /= n
        r += self.eps
        np.power(r, -0.5, out=r)
        g_sum = self.g_sum if gb is None else gb.reshape(self.shape)
        _add.reduce(g, axis=axes, keepdims=True, out=g_sum)
        g_xhat = self.g_xhat if gw is None else gw.reshape(self.shape)
        _add.reduce(np.multiply(g, xc, out=self.gx), axis=axes, keepdims=True, out=g_xhat)
        g_xhat *= r
        gx = None
        if need[0]:  # (g − Σg/n − x̂ · (r Σ(g x̂)/n)) · r γ, operation for operation as eagerly
            scale = r if weight is None else np.multiply(r, weight.reshape(self.shape),
                                                         out=self.t1)  # fmt: skip
            t = np.multiply(r, g_xhat, out=self.t2)
            t /= n
            np.multiply(xc, t, out=xc)
            gx = np.subtract(g, np.divide(g_sum, n, out=self.t2), out=self.gx)
            gx -= xc
            gx *= scale
        c = x.shape[1]
        return (gx, g_xhat.reshape(c) if need[1] else None,
                g_sum.reshape(c) if len(need) > 2 and need[2] else None, None)  # fmt: skip

    def buffers(self) -> list:
        return [self.out, getattr(self, "gx", None)]


KERNELS = {Linear: LinearKernel, Relu: ReluKernel, CrossEntropy: CrossEntropyKernel,
           Add: BinaryKernel, Sub: BinaryKernel, Mul: BinaryKernel,
           _dropout_mask: DropoutMaskKernel, _batch_stats: BatchStatsKernel,
           BatchNormTrain: BatchNormKernel}  # fmt: skip


def plan(program: Any) -> tuple[dict[int, Any], list]:
    """The kernels of ``program`` (step index -> kernel, for the op steps that have one),
    and the external tensors they read as ``(tensor, shape, dtype)``: a replay needs them
    unchanged (a ``p.data`` of another shape records again)."""
    steps, results = program.steps, program.result_slots()
    uses = dict.fromkeys(results, 1)  # slot -> how many steps (and results) read it
    for st in steps:
        if st.kind in (OP, CALL):  # (methods hold objects, not references)
            for kind, v in (*st.refs, *st.kwargs.values()):
                if kind == SLOT:
                    uses[v] = uses.get(v, 0) + 1
    made_by: dict[int, Any] = {}  # slot -> the kernel that made it (into its own buffer)
    kernels: dict[int, Any] = {}
    externals: list = []
    for i, st in enumerate(steps):
        cls = KERNELS.get(st.fn) if st.kind in (OP, CALL) else None
        takes = getattr(cls, "kwargs", ())  # (the options a kernel's forward is given)
        if cls is None or any(
            kind == SLOT and k not in takes for k, (kind, _) in st.kwargs.items()
        ):
            continue
        meta = [_meta(program, kind, v) for kind, v in st.refs]
        consts = {k: v for k, (_, v) in st.kwargs.items()}
        out = program.meta[st.out]
        if (out is None and st.kind == OP) or not cls.accepts(st.refs, consts, meta, out):
            continue
        fresh = st.out in results
        kind, v = st.refs[0]
        producer = made_by.get(v) if kind == SLOT else None
        in_place = (cls is ReluKernel and not fresh and producer is not None
                    and not producer.saves_output and uses.get(v) == 1)  # fmt: skip
        extra = {"reduction": consts.get("reduction", "mean")} if cls is CrossEntropyKernel else {}
        if cls is BinaryKernel:
            extra = {"op": st.fn}
        kernels[i] = k = cls(meta, out, st.needs, fresh, in_place, **extra)
        if not fresh:
            made_by[st.out] = k
        externals += [(v, *m) for (kind, v), m in zip(st.refs, meta) if kind == EXT]
    return kernels, externals


def _like(shape: tuple) -> Any:
    """An array of ``shape`` without memory (for helpers that read ``.shape``/``.ndim``)."""
    return np.broadcast_to(np.zeros(()), shape)


def _meta(program: Any, kind: int, v: Any) -> tuple | None:
    """(shape, dtype) of a value the program reads, as recorded (None: not an array)."""
    if kind == SLOT:
        return program.meta[v]
    if kind == EXT:
        return tuple(v._data.shape), v._data.dtype
    if kind == ARG:
        sig = program.signature[v]
        return (sig[1], sig[2]) if len(sig) == 4 else None
    return None
