"""Attention, functional forms: ``scaled_dot_product_attention`` and
``multi_head_attention_forward`` (what :class:`nn.MultiheadAttention` calls).

Scaled dot-product attention (Vaswani et al. 2017) of queries ``Q (…, L, E)``,
keys ``K (…, S, E)`` and values ``V (…, S, Ev)``:

    A = softmax(s · Q Kᵀ + M),    out = A V    (s = 1/√E unless given)

with ``M`` the attention bias: ``−∞`` where a boolean mask is ``False`` or a
causal mask forbids (``j > i``), a float mask as it is. Both functions are
compositions of differentiable ops (matmul, softmax, where, dropout), so their
gradients, second ones included, come from those ops. (A fused op would save an
intermediate or two, but its backward needs the softmax, which an ``Op`` may not
save: it is neither an input nor the output.)

>>> import stirpile
>>> import stirpile.nn.functional as F
>>> q = k = v = stirpile.ones(1, 2, 4)
>>> F.scaled_dot_product_attention(q, k, v).shape
(1, 2, 4)
>>> z, v = stirpile.zeros(3, 1), stirpile.tensor([[1.0], [2.0], [3.0]])
>>> F.scaled_dot_product_attention(z, z, v, is_causal=True)  # equal scores: prefix means
tensor([[1.0000],
        [1.5000],
        [2.0000]])
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from .. import backend as B
from .._out import _C_NAMES
from ..functions import cat, where
from ..tensor import Tensor
from . import functional as F

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _c_name(dtype: Any) -> str:
    """How PyTorch's C++ messages spell a dtype: ``float``, ``double``, ``long int``."""
    return _C_NAMES.get(B.xp.dtype(dtype).name, B.xp.dtype(dtype).name)


def _check_sdpa_inputs(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any) -> None:
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got "
            f"query.dim: {query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead."
        )
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{_c_name(query.dtype)} key.dtype: {_c_name(key.dtype)} and value.dtype: "
            f"{_c_name(value.dtype)} instead."
        )
    if attn_mask is not None and attn_mask.dtype not in (B.bool_, B.float32, query.dtype):
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
            f"attn_mask.dtype: {_c_name(attn_mask.dtype)} and  query.dtype: "
            f"{_c_name(query.dtype)} instead."
        )


def _repeat_heads(key: Tensor, value: Tensor, heads: int) -> tuple[Tensor, Tensor]:
    """Grouped-query attention: repeat each key/value head ``heads / kv_heads`` times along
    dim −3, so that query heads ``g·r … g·r + r − 1`` share kv head ``g``."""
    for t in (key, value):
        if t.ndim < 3:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [-{t.ndim}, {t.ndim - 1}], "
                "but got -3)"
            )
    if heads % key.shape[-3] or heads % value.shape[-3]:
        # (PyTorch's message, cut short as it is there)
        raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
    key = key.repeat_interleave(heads // key.shape[-3], -3)
    return key, value.repeat_interleave(heads // value.shape[-3], -3)


def _safe_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last dim, giving 0 (not NaN) on rows where every score is −∞, as
    PyTorch's attention does; those rows get a zero gradient. Other rows are the plain
    softmax (a −∞ entry weighs exactly 0)."""
    dead = (scores._data == -math.inf).all(-1, keepdims=True)
    if not dead.any():
        return scores.softmax(-1)
    dead = Tensor._make(dead)
    return where(dead, 0.0, where(dead, 0.0, scores).softmax(-1))


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(s · Q Kᵀ + M) V`` over the last two dims; any leading dims broadcast.

    Args:
        query: ``(…, L, E)``; key: ``(…, S, E)``; value: ``(…, S, Ev)``.
        attn_mask: broadcastable to ``(…, L, S)``; bool (``True`` = takes part) or float
            (added to the scores).
        dropout_p: dropout on the attention weights; always applied when > 0 (pass 0.0 in
            evaluation).
        is_causal: query ``i`` attends to keys ``j ≤ i`` (the lower-triangular ``(L, S)``
            mask, aligned top-left); excludes ``attn_mask``.
        scale: ``s``, by default ``1/√E``.
        enable_gqa: grouped-query attention: key and value may have fewer heads (dim −3)
            than query, a divisor of its count; each is repeated to match.

    Returns ``(…, L, Ev)``. A query row whose keys are all masked out gives zeros.
    """
    _check_sdpa_inputs(query, key, value, attn_mask)
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    if dropout_p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if enable_gqa and query.ndim >= 3:
        key, value = _repeat_heads(key, value, query.shape[-3])
    elif enable_gqa:
        raise IndexError("Dimension out of range (expected to be in range of [-2, 1], but got -3)")
    L, S = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.mT) * s
    if is_causal:
        scores = where(Tensor._make(B.xp.tri(L, S, dtype=bool)), scores, -math.inf)
    if attn_mask is not None:
        if attn_mask.ndim < 2:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [-{max(attn_mask.ndim, 1)}, "
                f"{max(attn_mask.ndim, 1) - 1}], but got -2)"
            )
        shape = B.xp.broadcast_shapes(tuple(scores.shape), tuple(attn_mask.shape))
        if shape != tuple(scores.shape):  # (PyTorch adds the mask in place)
            raise RuntimeError(
                f"output with shape {list(scores.shape)} doesn't match the broadcast shape "
                f"{list(shape)}"
            )
        if attn_mask.dtype == B.bool_:
            scores = where(attn_mask, scores, -math.inf)
        else:
            scores = scores + attn_mask.to(scores.dtype)
    weights = _safe_softmax(scores) if is_causal or attn_mask is not None else scores.softmax(-1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p)
    return weights @ value


# -- multi-head attention -----------------------------------------------------------------


def _canonical_mask(
    mask: Tensor | None,
    mask_name: str,
    other_type: Any,
    other_name: str,
    target_type: Any,
    check_other: bool = True,
) -> Tensor | None:
    """A bool mask (``True`` = masked out) as a float one of ``target_type`` (``−∞`` there,
    0 elsewhere); a float mask as it is; anything else is an error."""
    if mask is None:
        return None
    floating = mask.is_floating_point()
    if mask.dtype != B.bool_ and not floating:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(
            f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same "
            "type for both instead.",
            stacklevel=3,
        )
    if floating:
        return mask
    return Tensor._make(B.xp.where(mask._data, -math.inf, 0.0).astype(target_type))


def _size(shape: Any) -> str:
    return f"torch.Size({list(shape)})"


def _mha_shape_check(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    key_padding_mask: Tensor | None,
    attn_mask: Tensor | None,
    num_heads: int,
) -> bool:
    """Check the ranks of the inputs and masks; whether the input is batched."""
    if query.ndim not in (2, 3):
        raise AssertionError(
            "query should be unbatched 2D or batched 3D tensor but received "
            f"{query.ndim}-D query tensor"
        )
    batched = query.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(
            f"For {kind} `query`, expected `key` and `value` to be {query.ndim}-D but found "
            f"{key.ndim}-D and {value.ndim}-D tensors respectively"
        )
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise AssertionError(
            f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
            f"{query.ndim - 1}-D but found {key_padding_mask.ndim}-D tensor instead"
        )
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise AssertionError(
                f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                f"{attn_mask.ndim}-D tensor instead"
            )
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and attn_mask.ndim == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(
                f"Expected `attn_mask` shape to be {expected} but got {_size(attn_mask.shape)}"
            )
    return batched


def _in_projection(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    weights: tuple[Tensor, Tensor, Tensor],
    biases: tuple[Any, Any, Any],
) -> tuple[Tensor, Tensor, Tensor]:
    """``q, k, v = query W_qᵀ + b_q, key W_kᵀ + b_k, value W_vᵀ + b_v``, with the weights'
    shapes checked."""
    e = query.shape[-1]
    for name, x, w, b in zip(("query", "key", "value"), (query, key, value), weights, biases):
        if tuple(w.shape) != (e, x.shape[-1]):
            raise AssertionError(
                f"expecting {name} weights shape of {(e, x.shape[-1])}, but got {_size(w.shape)}"
            )
        if b is not None and tuple(b.shape) != (e,):
            raise AssertionError(f"expecting {name} bias shape of {(e,)}, but got {_size(b.shape)}")
    return tuple(F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))


def _pad_last(mask: Tensor) -> Tensor:
    """One more column of zeros (an extra key everyone may attend to)."""
    return cat([mask, Tensor._make(B.xp.zeros((*mask.shape[:-1], 1), mask.dtype))], -1)


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention (see :class:`nn.MultiheadAttention`): project, split
    ``embed_dim`` into ``num_heads`` heads of ``E/h``, attend in each, concatenate, project:

        headᵢ = softmax(QWᵢ^Q (KWᵢ^K)ᵀ / √(E/h) + M) VWᵢ^V,   out = [head₁ … head_h] W^O + b^O

    Shapes: query ``(L, N, E)`` or ``(L, E)``; key, value ``(S, N, ·)`` or ``(S, ·)``;
    key_padding_mask ``(N, S)`` or ``(S,)``; attn_mask ``(L, S)`` or ``(N·h, L, S)``. Bool
    masks: ``True`` = masked out. Returns ``(L, N, E)`` (or ``(L, E)``) and, with
    ``need_weights``, the attention weights ``(N, L, S)`` averaged over heads
    (``average_attn_weights``) or ``(N, h, L, S)`` per head; else ``None``.
    """
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(
        key_padding_mask, "key_padding_mask", None if attn_mask is None else attn_mask.dtype,
        "attn_mask", query.dtype,
    )  # fmt: skip
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint alone: sdpa builds the causal mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, False)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"key's sequence and batch dims {_size(key.shape[:2])} do not match value's "
                f"{_size(value.shape[:2])}"
            )
    elif key.shape != value.shape:
        raise AssertionError(
            f"key shape {_size(key.shape)} does not match value shape {_size(value.shape)}"
        )

    # in-projection
    biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        if query is key and key is value:  # self-attention: one product
            q, k, v = F.linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        else:
            pairs = zip((query, key, value), in_proj_weight.chunk(3), biases)
            q, k, v = (F.linear(x, w, b) for x, w, b in pairs)
    else:
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(
                    f"use_separate_proj_weight is True but {name}_proj_weight is None"
                )
        q, k, v = _in_projection(
            query, key, value, (q_proj_weight, k_proj_weight, v_proj_weight), biases
        )

    # masks to 3-d
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {_size(attn_mask.shape)}, but should be "
                    f"{(tgt_len, src_len)}."
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {_size(attn_mask.shape)}, but should be "
                    f"{(bsz * num_heads, tgt_len, src_len)}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")

    # learned extra key/value (bias_k, bias_v) appended to the sequence
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    # heads: (len, N, E) -> (N·h, len, E/h)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k, v = (
        _static(s, x, bsz * num_heads, head_dim, name)
        for s, x, name in ((static_k, k, "static_k"), (static_v, v, "static_v"))
    )
    if add_zero_attn:
        zeros = Tensor._make(B.xp.zeros((bsz * num_heads, 1, head_dim), k.dtype))
        k, v = cat([k, zeros], 1), cat([v, zeros.to(v.dtype)], 1)
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    src_len = k.shape[1]

    # merge the key padding mask into the attention mask
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(
                f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                f"{key_padding_mask.shape[0]}"
            )
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(
                f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                f"{key_padding_mask.shape[1]}"
            )
        key_padding_mask = (
            key_padding_mask.reshape(bsz, 1, 1, src_len)
            .expand(-1, num_heads, -1, -1)
            .reshape(bsz * num_heads, 1, src_len)
        )
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    if need_weights:
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        # PyTorch's plain softmax here: a fully masked row gives NaN, as there
        scores = (q * math.sqrt(1.0 / head_dim)) @ k.mT
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = scores.softmax(-1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, dropout_p)
        out = (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.ndim == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    return (out if batched else out.squeeze(1)), None


def _static(static: Tensor | None, x: Tensor, n: int, head_dim: int, name: str) -> Tensor:
    """Keys or values per head ``(N·h, S, E/h)``: the projected ``x (S, N, E)`` split into
    heads, or the given ``static_k`` / ``static_v`` (checked)."""
    if static is None:
        return x.reshape(x.shape[0], n, head_dim).transpose(0, 1)
    if static.shape[0] != n:
        raise AssertionError(f"expecting {name}.size(0) of {n}, but got {static.shape[0]}")
    if static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.shape[2]}")
    return static
