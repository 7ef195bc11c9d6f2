"""MultiheadAttention: H attention heads over learned projections of query, key and value."""
from .. import ops
from . import init
from .functional.attention import multi_head_attention_forward
from .linear import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """out = [head_1 .. head_H] W_oᵀ + b_o,  head_h = softmax(q_h k_hᵀ / √(E/H) + mask) v_h,
    where q_h, k_h, v_h are the h-th E/H columns of query W_qᵀ + b_q, key W_kᵀ + b_k, value W_vᵀ + b_v
    (Vaswani et al., 2017).

    query: (L, N, E), or (N, L, E) with ``batch_first``, or unbatched (L, E); key: (S, N, kdim);
    value: (S, N, vdim). Returns (out like query, weights) with weights (N, L, S) averaged over
    heads, (N, H, L, S) with ``average_attn_weights=False``, or None with ``need_weights=False``.

    Masks — bool True = MASKED OUT (PyTorch's convention here, the opposite of
    ``F.scaled_dot_product_attention`` where True = takes part); float masks are added to the
    scores:

    * ``key_padding_mask``: (N, S) — keys to ignore per batch entry (padding);
    * ``attn_mask``: (L, S) for all, or (N·H, L, S) per batch entry and head (index n·H + h);
    * ``is_causal``: a hint that ``attn_mask`` is the causal mask (it is still required, as in
      PyTorch; ``nn.Transformer.generate_square_subsequent_mask(L)`` makes one).

    A query row whose keys are ALL masked gets zero attention weights and a zero attention
    output (the layer returns ``out_proj.bias`` there), with finite gradients. PyTorch gives NaN
    for such a row (its softmax of an all -inf row, in the ``need_weights=True`` path, its
    default), which then poisons every gradient it reaches.

    Parameters (PyTorch's names and initialisation): ``in_proj_weight`` (3E, E) xavier_uniform_,
    or ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim) each
    xavier_uniform_ when kdim or vdim differ from E; ``in_proj_bias`` (3E,) zeros;
    ``out_proj`` a Linear(E, E) with its default weight init and a zero bias; with
    ``add_bias_kv``, ``bias_k`` and ``bias_v`` (1, 1, E) xavier_normal_.

    >>> mha = nn.MultiheadAttention(64, 8, batch_first=True)
    >>> out, w = mha(x, x, x, key_padding_mask=pad)          # x: (N, L, 64), pad: (N, L) bool
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater than 0; "
                             f"got embed_dim={embed_dim}, num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        if device is not None and not str(device).startswith("cpu"):
            raise ValueError(f"MultiheadAttention(device={device!r}): gradkit runs on the CPU for now")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        E = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(ops.empty(3 * E, E, dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(ops.empty(E, E, dtype=dtype))
            self.k_proj_weight = Parameter(ops.empty(E, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(ops.empty(E, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(ops.empty(3 * E, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(ops.empty(1, 1, E, dtype=dtype))
            self.bias_v = Parameter(ops.empty(1, 1, E, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self.reset_parameters()

    def reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    _reset_parameters = reset_parameters  # PyTorch's name

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        return multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal, batch_first=self.batch_first,
            _who=f"MultiheadAttention({self.extra_repr()})")

    def extra_repr(self):
        s = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if not self._qkv_same_embed_dim:
            s += f", kdim={self.kdim}, vdim={self.vdim}"
        if self.batch_first:
            s += ", batch_first=True"
        return s
