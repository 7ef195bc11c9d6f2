"""Attention, functional form: scaled dot-product attention and multi-head attention.

    Attention(Q, K, V) = softmax(scale · Q Kᵀ + B) V        (Vaswani et al., 2017)

=== masks        two mask conventions, one internal form: ``drop`` (bool, True = masked out) and
                 ``bias`` (float, added to the scores); the causal mask, cached per (L, S)
=== softmax      MaskedSoftmax: softmax(scale · S + B) with masked entries -inf, one fused node;
                 a row whose keys are all masked gives zeros, not NaN
=== attention    scaled_dot_product_attention (SDPA: bool True = TAKES PART); without a graph it
                 runs kernels.attention, which shares MaskedSoftmax's kernel (kernels.masked_exp)
=== multi-head   multi_head_attention_forward (MHA: bool True = MASKED OUT); SplitHeads

The two public functions use opposite bool conventions, as PyTorch's do: in
``scaled_dot_product_attention`` a True entry of ``attn_mask`` takes part in attention; in
``multi_head_attention_forward`` (and ``nn.MultiheadAttention``, ``nn.Transformer*``) a True entry of
``attn_mask`` or ``key_padding_mask`` is masked out. Float masks are added to the scores in both.
"""
import functools
import math

import numpy as np

from ... import _internal
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops import kernels
from ...ops.activation import dropout
from ...ops.indexing import getitem, pad
from ...ops.linalg import matmul
from ...ops.reduction import SoftmaxGrad, mean
from ...ops.joining import cat
from ...ops.shape import expand, permute, reshape, sum_to_shape, transpose, unsqueeze
from ...tensor import Tensor
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward", "attention_with_weights",
           "causal_mask"]


# === masks =================================================================
@functools.lru_cache(maxsize=64)
def causal_mask(L, S):
    """(L, S) bool, True above the diagonal: query i may not look at keys j > i (top-left
    aligned, as PyTorch's ``is_causal``). Cached per (L, S) and read-only, so it is shared."""
    m = np.triu(np.ones((L, S), dtype=bool), k=1)
    m.flags.writeable = False
    return m


def _as_tensor(mask, name, who):
    if mask is None or isinstance(mask, Tensor):
        t = mask
    else:
        t = Tensor(np.asarray(mask))
    if t is not None and t.dtype.kind not in "bf":
        raise TypeError(f"{who}: only bool and floating types of {name} are supported, got "
                        f"{t.dtype}")
    return t


def _or(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


# === softmax ===============================================================
class MaskedSoftmax(Function):
    # P = softmax(scale·S + B) over the last axis, with entries where ``drop`` is True set to -inf
    # first. A row with no finite entry gives P = 0 (PyTorch's softmax gives NaN there).
    # dL/dX = P ⊙ (G - Σ G P)  for X = scale·S + B (SoftmaxGrad);  dL/dS = scale · dL/dX,
    # dL/dB = dL/dX summed to B's shape. A zero row of P has a zero gradient: finite, as the
    # forward is.
    # ``own``: S is the caller's temporary (the scores just made by the matmul, referenced by no
    # one else), so the softmax is computed in its memory instead of a copy.
    def forward(ctx, s, *bias, scale, drop, own=False):
        x = s if own else s.copy()
        if bias:  # the callers check that masks broadcast to the scores' shape
            ctx.bias_shape = bias[0].shape
        if drop is not None and drop.ndim == 2 and drop is causal_mask(*drop.shape):
            bias, drop = bias + (kernels.causal_bias(*drop.shape, x.dtype),), None
        x /= kernels.masked_exp(x, scale, bias, drop)
        ctx.scale = scale
        ctx.save_for_backward(x)
        return x

    def backward(ctx, grad):
        (p,) = ctx.saved
        needs = ctx.needs_input_grad
        if len(needs) == 1:  # the scores alone: the scale is applied in the same pass
            return SoftmaxGrad.apply(p, grad, dim=-1, scale=ctx.scale)
        gx = SoftmaxGrad.apply(p, grad, dim=-1)
        gs = gx * ctx.scale if needs[0] else None
        gb = sum_to_shape(gx, ctx.bias_shape) if needs[1] else None
        return gs, gb


def _masked_softmax(scores, bias, drop, scale, own=False):
    if bias is None:
        return MaskedSoftmax.apply(scores, scale=scale, drop=drop, own=own)
    return MaskedSoftmax.apply(scores, bias, scale=scale, drop=drop, own=own)


def attention_with_weights(q, k, v, bias, drop, scale, dropout_p, groups=1):
    """out = dropout(softmax(scale q kᵀ + bias, drop)) v, and the weights.

    q: (..., L, E), k: (..., S, E), v: (..., S, Ev) -> (..., L, Ev), weights (..., L, S).
    groups > 1 (grouped-query attention): q has ``groups`` times as many heads (dim -3) as k and
    v; the groups are a broadcast dim of the matmuls, so k and v are never repeated in memory."""
    if groups == 1:
        scores = matmul(q, transpose(k, -2, -1))
    else:
        hq, L = q.shape[-3], q.shape[-2]
        q5 = reshape(q, q.shape[:-3] + (hq // groups, groups, L, q.shape[-1]))
        s5 = matmul(q5, unsqueeze(transpose(k, -2, -1), -3))
        scores = reshape(s5, s5.shape[:-4] + (hq, L, s5.shape[-1]))
    p = _masked_softmax(scores, bias, drop, scale, own=True)  # scores: our own temporary
    pd = dropout(p, dropout_p, True) if dropout_p > 0 else p
    if groups == 1:
        return matmul(pd, v), pd
    p5 = reshape(pd, pd.shape[:-3] + (pd.shape[-3] // groups, groups) + pd.shape[-2:])
    o5 = matmul(p5, unsqueeze(v, -3))
    return reshape(o5, o5.shape[:-4] + (o5.shape[-4] * groups,) + o5.shape[-2:]), pd


# === scaled dot-product attention ==========================================
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q Kᵀ · scale + mask) V, batched over every leading dim (batch, heads) at once.

    query: (N, ..., L, E), key: (N, ..., S, E), value: (N, ..., S, Ev) -> (N, ..., L, Ev).
    ``scale`` defaults to 1/√E. ``attn_mask`` broadcasts to (N, ..., L, S): a bool mask says which
    entries TAKE PART (True = attend; the opposite of ``nn.MultiheadAttention``), a float mask is
    added to the scores. ``is_causal`` masks keys j > i (top-left aligned; combined with
    ``attn_mask`` if both are given). Dropout with probability ``dropout_p`` is always applied:
    pass 0.0 in evaluation. ``enable_gqa``: key/value may have fewer heads (dim -3) than query,
    a divisor of them (grouped-query attention).

    A query whose keys are all masked gets zeros (PyTorch 2.13's fused CPU kernel also gives
    zeros; its math fallback gives NaN), with finite gradients.

    >>> out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    """
    who = "scaled_dot_product_attention"
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"{who}: query, key and value need at least 2 dims (..., seq, features); "
                         f"got shapes {query.shape}, {key.shape}, {value.shape}")
    E, L, S = query.shape[-1], query.shape[-2], key.shape[-2]
    if key.shape[-1] != E:
        raise ValueError(f"{who}: expected key.shape[-1] == query.shape[-1] = {E}; got query "
                         f"{query.shape}, key {key.shape}")
    if value.shape[-2] != S:
        raise ValueError(f"{who}: expected key and value to have the same sequence length "
                         f"(dim -2); got key {key.shape}, value {value.shape}")
    groups = 1
    if enable_gqa and query.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if key.ndim < 3 or value.ndim < 3 or hq % hk or value.shape[-3] != hk:
            raise ValueError(f"{who}: with enable_gqa the number of query heads ({hq}) must be a "
                             f"multiple of the key/value heads; got query {query.shape}, key "
                             f"{key.shape}, value {value.shape}")
        groups = hq // hk
    if scale is None:
        scale = 1.0 / math.sqrt(E) if E > 0 else 1.0
    drop = causal_mask(L, S) if is_causal else None
    bias = None
    attn_mask = _as_tensor(attn_mask, "attn_mask", who)
    if attn_mask is not None:
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2]) if groups == 1 \
            else query.shape[:-2]
        if not _broadcasts(attn_mask.shape, batch + (L, S)):
            raise ValueError(f"{who}: attn_mask of shape {attn_mask.shape} does not broadcast to "
                             f"the scores' shape (..., L, S) = {batch + (L, S)}")
        if attn_mask.dtype == np.bool_:
            drop = _or(drop, ~attn_mask.array)
        else:
            bias = attn_mask
    if (dropout_p == 0 and query.dtype == key.dtype == value.dtype and query.dtype.kind == "f"
            and not (grad_mode.state.enabled
                     and (query.requires_grad or key.requires_grad or value.requires_grad
                          or (bias is not None and bias.requires_grad)))):
        # inference on arrays: the causal mask alone keeps its block-skipping; any other mask
        # becomes one additive bias (-inf where a key is masked)
        causal = drop is not None and drop is causal_mask(L, S)
        extra = None if bias is None else bias.array.astype(query.dtype, copy=False)
        if drop is not None and not causal:
            extra = _add(extra, np.where(drop, -np.inf, 0.0).astype(query.dtype))
        elif causal and extra is not None:
            extra, causal = extra + kernels.causal_bias(L, S, query.dtype), False
        return _internal.wrap(kernels.attention(query.array, key.array, value.array, scale, causal,
                                                extra, groups))
    out, _ = attention_with_weights(query, key, value, bias, drop, scale, dropout_p, groups)
    return out


def _broadcasts(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


# === multi-head attention ==================================================
def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False,
                                 batch_first=False, _who="multi_head_attention_forward"):
    """Multi-head attention (PyTorch's functional form; ``nn.MultiheadAttention`` calls it).

    Per head h: head_h = Attention(Q W_qhᵀ, K W_khᵀ, V W_vhᵀ); out = [head_1 .. head_H] W_oᵀ + b_o.
    query: (L, N, E) or (N, L, E) with ``batch_first`` (an extension: PyTorch's functional form is
    sequence-first only), or unbatched (L, E); key/value: (S, N, kdim/vdim) likewise.
    Returns (out like query, weights (N, L, S) averaged over heads, (N, H, L, S) if not
    ``average_attn_weights``, or None without ``need_weights``).

    Bool masks: True = MASKED OUT (PyTorch's MHA convention, the opposite of
    ``scaled_dot_product_attention``). Float masks are added to the scores.
    key_padding_mask: (N, S) (or (S,) unbatched). attn_mask: (L, S), or (N·H, L, S) per batch
    entry and head (index n·H + h), or (H, L, S) unbatched.

    A query row whose keys are all masked gives zero weights and a zero attention output (so the
    layer's output there is the out-projection bias), with finite gradients. PyTorch gives NaN
    there in this path (``need_weights=True``, its default) and zeros in its fused path.
    """
    # ---- shapes: validate, then make everything batched
    if query.ndim not in (2, 3):
        raise ValueError(f"{_who}: query should be unbatched 2-D (L, E) or batched 3-D; got "
                         f"shape {query.shape}")
    batched = query.ndim == 3
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"{_who}: for {query.ndim}-D query, key and value must be {query.ndim}-D "
                         f"too; got key {key.shape}, value {value.shape}")
    key_padding_mask = _as_tensor(key_padding_mask, "key_padding_mask", _who)
    attn_mask = _as_tensor(attn_mask, "attn_mask", _who)
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise ValueError(f"{_who}: for {query.ndim}-D query, key_padding_mask must be "
                         f"{query.ndim - 1}-D ({'(N, S)' if batched else '(S,)'}); got shape "
                         f"{key_padding_mask.shape}")
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise ValueError(f"{_who}: attn_mask must be 2-D (L, S) or 3-D (N*num_heads, L, S); got "
                         f"shape {attn_mask.shape}")
    E = query.shape[-1]
    if E != embed_dim_to_check:
        raise ValueError(f"{_who}: query has {E} features (shape {query.shape}); expected "
                         f"embed_dim={embed_dim_to_check}")
    H = num_heads
    Dh = E // H
    if Dh * H != E:
        raise ValueError(f"{_who}: embed_dim {E} is not divisible by num_heads {H}")

    # ---- in-projection weights: q, k, v = x W_qᵀ + b_q, ... (row blocks of the packed weight)
    if use_separate_proj_weight:
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        wq, wk, wv = (getitem(in_proj_weight, slice(i * E, (i + 1) * E)) for i in range(3))
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = (getitem(in_proj_bias, slice(i * E, (i + 1) * E)) for i in range(3))
    for t, w, name, static in ((key, wk, "key", static_k), (value, wv, "value", static_v)):
        if static is None and t.shape[-1] != w.shape[1]:
            raise ValueError(f"{_who}: {name} has {t.shape[-1]} features (shape {t.shape}); "
                             f"expected {'kdim' if name == 'key' else 'vdim'}={w.shape[1]}")

    seq_dim = 1 if batch_first else 0  # of batched inputs
    if not batched:
        query, key, value = (unsqueeze(t, 1 - seq_dim) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = unsqueeze(key_padding_mask, 0)
    L, N, S = query.shape[seq_dim], query.shape[1 - seq_dim], key.shape[seq_dim]
    if key.shape[1 - seq_dim] != N or value.shape[:2] != key.shape[:2]:
        raise ValueError(f"{_who}: query, key and value must have the same batch size, and key "
                         f"and value the same sequence length; got query {query.shape}, key "
                         f"{key.shape}, value {value.shape}")

    # ---- in-projection
    q = linear(query, wq, bq)
    k = linear(key, wk, bk) if static_k is None else None
    v = linear(value, wv, bv) if static_v is None else None

    # ---- masks -> drop (bool, True = masked out) and bias (float, added); shapes (N|1, H|1, L, S)
    use_causal = is_causal and key_padding_mask is None and not need_weights
    if is_causal and attn_mask is None:
        raise ValueError(f"{_who}: is_causal=True is a hint that attn_mask is the causal mask, "
                         "and needs attn_mask; create one with "
                         "nn.Transformer.generate_square_subsequent_mask(L)")
    if attn_mask is not None:
        if attn_mask.ndim == 2 and attn_mask.shape != (L, S):
            raise ValueError(f"{_who}: the 2-D attn_mask has shape {attn_mask.shape}; expected "
                             f"(L, S) = ({L}, {S})")
        if attn_mask.ndim == 3:
            want = (N * H, L, S)
            if attn_mask.shape != want:
                raise ValueError(f"{_who}: the 3-D attn_mask has shape {attn_mask.shape}; "
                                 f"expected (N*num_heads, L, S) = {want}")
            attn_mask = reshape(attn_mask, (N, H, L, S))
    if key_padding_mask is not None and key_padding_mask.shape != (N, S):
        raise ValueError(f"{_who}: key_padding_mask has shape {key_padding_mask.shape}; expected "
                         f"(N, S) = ({N}, {S})")
    if use_causal:
        attn_mask = None

    # ---- extra key/value positions: a learned bias_k/bias_v, then a zero position
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ValueError(f"{_who}: bias_k/bias_v cannot be added to static_k/static_v")
        shape = (N, 1, E) if batch_first else (1, N, E)
        k = cat([k, expand(reshape(bias_k, (1, 1, E)), shape)], dim=seq_dim)
        v = cat([v, expand(reshape(bias_v, (1, 1, E)), shape)], dim=seq_dim)
        attn_mask = _pad_key(attn_mask)
        key_padding_mask = _pad_key(key_padding_mask)
        S += 1
    elif bias_k is not None or bias_v is not None:
        raise ValueError(f"{_who}: bias_k and bias_v must be given together")

    # ---- heads: (L, N, E) or (N, L, E) -> (N, H, L, Dh), views only (reshape + permute)
    q = _split_heads(q, H, batch_first)
    k = _split_heads(k, H, batch_first) if static_k is None else _static(static_k, N, H, Dh, "static_k", _who)
    v = _split_heads(v, H, batch_first) if static_v is None else _static(static_v, N, H, Dh, "static_v", _who)
    if add_zero_attn:
        k = pad(k, (0, 0, 0, 1))
        v = pad(v, (0, 0, 0, 1))
        attn_mask = _pad_key(attn_mask)
        key_padding_mask = _pad_key(key_padding_mask)
    S = k.shape[2]
    if v.shape[2] != S:
        raise ValueError(f"{_who}: key and value have different lengths ({S} and {v.shape[2]})")

    drop = causal_mask(L, S) if use_causal else None
    bias = None
    for m in (attn_mask, None if key_padding_mask is None else reshape(key_padding_mask, (N, 1, 1, S))):
        if m is None:
            continue
        if m.dtype == np.bool_:
            drop = _or(drop, m.array)
        else:
            bias = _add(bias, m)

    # ---- attention, batched over (N, H), then merge heads and project out
    p_drop = dropout_p if training else 0.0
    o, weights = attention_with_weights(q, k, v, bias, drop, 1.0 / math.sqrt(Dh), p_drop)
    o = permute(o, (0, 2, 1, 3) if batch_first else (2, 0, 1, 3))  # (N, L, H, Dh) / (L, N, H, Dh)
    o = reshape(o, o.shape[:2] + (E,))
    out = linear(o, out_proj_weight, out_proj_bias)
    if not batched:
        out = reshape(out, (L, out.shape[-1]))
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = mean(weights, 1)
    if not batched:
        weights = reshape(weights, weights.shape[1:])
    return out, weights


class SplitHeads(Function):
    # (L, N, E), or (N, L, E) batch first -> (N, H, L, E/H): a reshape and a transpose, then one
    # copy into that layout. The copy pays for itself: on the strided view NumPy's batched
    # matmul leaves BLAS for a slow loop (measured 3-5x slower for q kᵀ and its backward).
    # dL/dx = dL/dy transposed back and reshaped to (.., E)
    def forward(ctx, x, heads, batch_first):
        a, b, E = x.shape
        perm = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)
        ctx.args = x.shape, perm
        return np.ascontiguousarray(x.reshape(a, b, heads, E // heads).transpose(perm))

    def backward(ctx, grad):
        shape, perm = ctx.args
        return reshape(permute(grad, tuple(np.argsort(perm))), shape)


def _split_heads(x, H, batch_first):
    return SplitHeads.apply(x, heads=H, batch_first=batch_first)


def _static(t, N, H, Dh, name, who):
    if t.ndim != 3 or t.shape[0] != N * H or t.shape[2] != Dh:
        raise ValueError(f"{who}: {name} must have shape (N*num_heads, S, head_dim) = "
                         f"({N * H}, S, {Dh}); got {t.shape}")
    return reshape(t, (N, H, t.shape[1], Dh))


def _pad_key(mask):
    """One more key position that takes part: a False (bool) or 0.0 (float) column."""
    if mask is None:
        return None
    if mask.dtype == np.bool_:
        widths = [(0, 0)] * (mask.ndim - 1) + [(0, 1)]
        return _internal.wrap(np.pad(mask.array, widths))
    return pad(mask, (0, 1))
