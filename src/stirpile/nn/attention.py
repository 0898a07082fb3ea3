"""Attention layers: ``MultiheadAttention`` (Vaswani et al. 2017) and the Transformer
block built on it, ``TransformerEncoderLayer``.

Multi-head attention projects queries, keys and values, splits the embedding into
``num_heads`` heads of ``E/h``, attends in each and projects the concatenation:

    headᵢ = softmax(Q Wᵢ^Q (K Wᵢ^K)ᵀ / √(E/h) + M) V Wᵢ^V,   out = [head₁ … head_h] W^O + b^O

Parameters and initialization are PyTorch's, so state dicts load both ways:
``in_proj_weight (3E, E)`` (or ``q_proj_weight``, ``k_proj_weight``,
``v_proj_weight`` when ``kdim``/``vdim`` differ from ``E``) drawn from
``xavier_uniform_``, ``in_proj_bias (3E,)`` and ``out_proj.bias`` zero, ``out_proj``
a ``Linear(E, E)``, and with ``add_bias_kv`` a learned extra key and value
``bias_k``, ``bias_v (1, 1, E)`` from ``xavier_normal_``.

>>> import stirpile
>>> from stirpile import nn
>>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
>>> x = stirpile.randn(2, 5, 16)
>>> out, weights = mha(x, x, x)
>>> out.shape, weights.shape
((2, 5, 16), (2, 5, 5))
>>> [round(w, 6) for w in weights.sum(-1)[0].tolist()]  # each row of weights sums to 1
[1.0, 1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import creation
from ..tensor import Tensor
from . import functional as F
from . import init
from .activation import GELU, ReLU
from .dropout import Dropout
from .functional_attention import _canonical_mask
from .linear import Linear, _check_device
from .module import Module
from .normalization import LayerNorm
from .parameter import Parameter

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear", "TransformerEncoderLayer"]


class NonDynamicallyQuantizableLinear(Linear):
    """A plain :class:`Linear` under the name PyTorch gives ``MultiheadAttention.out_proj``
    (there it keeps the layer out of dynamic quantization; here it only names it)."""


class MultiheadAttention(Module):
    """Multi-head attention.

    Args:
        embed_dim: E, the model's width (split into ``num_heads`` heads of ``E/h``).
        num_heads: h; must divide ``embed_dim``.
        dropout: dropout on the attention weights in training (default 0).
        bias: biases on the input and output projections (default ``True``).
        add_bias_kv: append a learned key and value to the sequences.
        add_zero_attn: append a zero key and value to the sequences.
        kdim, vdim: the key's and value's widths (default E).
        batch_first: inputs and output as ``(N, L, E)`` instead of ``(L, N, E)``.

    Shape:
        query ``(L, N, E)``, key ``(S, N, kdim)``, value ``(S, N, vdim)`` (batch first with
        ``batch_first``; or unbatched ``(L, E)``, ``(S, ·)``). Output ``(L, N, E)`` and the
        weights ``(N, L, S)`` (averaged over heads) or ``(N, h, L, S)``.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
        super().__init__()
        _check_device(device)
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")

        def param(*shape: int) -> Parameter:
            return Parameter(creation.empty(*shape, dtype=dtype))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = param(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = param(embed_dim, embed_dim)
            self.k_proj_weight = param(embed_dim, self.kdim)
            self.v_proj_weight = param(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = param(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k, self.bias_v = param(1, 1, embed_dim), param(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's: ``xavier_uniform_`` on the input projections, zero biases,
        ``xavier_normal_`` on ``bias_k``/``bias_v`` (``out_proj.weight`` keeps Linear's)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` to ``key``/``value``; returns ``(output, weights or None)``.

        ``key_padding_mask`` ``(N, S)``: ``True`` (or a float added) marks padding keys;
        ``attn_mask`` ``(L, S)`` or ``(N·h, L, S)``: ``True`` = may not attend (or a float
        added); ``is_causal`` is a hint that ``attn_mask`` is the causal mask.
        """
        batched = query.ndim == 3
        key_padding_mask = _canonical_mask(
            key_padding_mask, "key_padding_mask",
            None if attn_mask is None else attn_mask.dtype, "attn_mask", query.dtype,
        )  # fmt: skip
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, False)
        if self.batch_first and batched:  # keep the "is" relations (self-attention)
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = (x.transpose(1, 0) for x in (query, key))
                    value = key
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        separate = {}
        if not self._qkv_same_embed_dim:
            separate = {
                "use_separate_proj_weight": True,
                "q_proj_weight": self.q_proj_weight,
                "k_proj_weight": self.k_proj_weight,
                "v_proj_weight": self.v_proj_weight,
            }
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            average_attn_weights=average_attn_weights, is_causal=is_causal, **separate,
        )  # fmt: skip
        if self.batch_first and batched:
            out = out.transpose(1, 0)
        return out, weights


def _get_activation_fn(activation: str) -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


class TransformerEncoderLayer(Module):
    """One Transformer encoder block: self-attention, then a position-wise feed-forward
    network, each with dropout, a residual connection and layer normalization:

        post-norm (default):  x = norm1(x + SA(x));       x = norm2(x + FF(x))
        norm_first:           x = x + SA(norm1(x));       x = x + FF(norm2(x))

    with ``FF(x) = linear2(dropout(activation(linear1(x))))``.

    Args:
        d_model: E; nhead: heads; dim_feedforward: the FF's hidden width (default 2048);
        dropout: default 0.1; activation: ``"relu"`` (default), ``"gelu"`` or a callable;
        layer_norm_eps: default 1e-5; batch_first: ``(N, L, E)`` inputs; norm_first:
        pre-norm; bias: biases in the linear layers and the norms.

    >>> import stirpile
    >>> from stirpile import nn
    >>> layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> layer(stirpile.randn(5, 3, 8)).shape
    (5, 3, 8)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        if activation is F.relu or isinstance(activation, ReLU):
            self.activation_relu_or_gelu = 1
        elif activation is F.gelu or isinstance(activation, GELU):
            self.activation_relu_or_gelu = 2
        else:
            self.activation_relu_or_gelu = 0
        self.activation = activation

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        """``src`` ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``, or ``(L, E)``) →
        the same shape; masks as :class:`MultiheadAttention`'s ``attn_mask`` and
        ``key_padding_mask``."""
        src_key_padding_mask = _canonical_mask(
            src_key_padding_mask, "src_key_padding_mask",
            None if src_mask is None else src_mask.dtype, "src_mask", src.dtype,
        )  # fmt: skip
        src_mask = _canonical_mask(src_mask, "src_mask", None, "", src.dtype, False)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(
        self, x: Tensor, attn_mask: Tensor | None, key_padding_mask: Tensor | None, causal: bool
    ) -> Tensor:
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
            need_weights=False, is_causal=causal,
        )[0]  # fmt: skip
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))
