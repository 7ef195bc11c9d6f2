"""Attention layers: MultiHeadAttention (below), and the single-head Attention (Luong's dot
product) and AdditiveAttention (Bahdanau's) at the end of the file.

MultiHeadAttention in Keras' form: ``mha(query, value, key=None, attention_mask=None)``.

Keras' layer differs from ``nn.MultiheadAttention`` in its shapes: each head has its own
``key_dim`` (the projections map E -> num_heads · key_dim, not E -> E), the inputs are
batch-first, and a bool ``attention_mask`` marks the pairs that TAKE PART (True = attend;
``nn.MultiheadAttention``'s bool masks mean the opposite). So this layer is built from four
``nn.Linear`` projections and the attention kernel of ``nn.functional.attention``:

    q = query W_q + b_q, k = key W_k + b_k, v = value W_v + b_v   (split into heads)
    head_h = softmax(q_h k_hᵀ / √key_dim + mask) v_h
    out = [head_1 .. head_H] W_o + b_o                              (back to query's width)

Keras' kernels (E, H, key_dim) and (H, value_dim, E_out) are these Linear weights reshaped.
"""
import math

import numpy as np

from ... import nn, ops
from ...nn.functional.attention import attention_with_weights, causal_mask
from ...tensor import Tensor
from .base import Adapter, KerasWeight, Layer
from .masks import mask_array

__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]


class MultiHeadAttention(Adapter):
    """query: (N, T, E_q), value: (N, S, E_v), key: (N, S, E_k) (defaults to value) ->
    (N, T, E_q) (or ``output_shape``); with ``return_attention_scores=True`` also the
    attention weights (N, num_heads, T, S).

    Defaults: ``value_dim=key_dim``, ``dropout=0.0`` (on the attention weights, in training),
    ``use_bias=True``, ``kernel_initializer='glorot_uniform'``, ``bias_initializer='zeros'``.

    >>> mha = MultiHeadAttention(num_heads=4, key_dim=16)
    >>> y = mha(x, x)                      # self-attention, x: (N, T, E)
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        if attention_axes is not None:
            raise NotImplementedError("MultiHeadAttention: attention_axes is not supported by "
                                      "gradkit.keras (attention runs over the sequence axis)")
        if any(v is not None for v in (kernel_regularizer, bias_regularizer, activity_regularizer,
                                       kernel_constraint, bias_constraint)):
            raise NotImplementedError("MultiHeadAttention: regularizers/constraints are not "
                                      "supported by gradkit.keras yet")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout, self.use_bias = float(dropout), use_bias
        self._out_dim = output_shape
        self._set_initializers(kernel_initializer=kernel_initializer,
                               bias_initializer=bias_initializer)

    # ---- the adapter: four nn.Linear projections; Keras' kernels are their weights reshaped
    def build(self, input_shape):
        """Nothing yet: the projections need key's and value's widths too (the first call)."""

    def nn_modules(self, widths):
        e_q, e_k, e_v = widths
        H, kd, vd = self.num_heads, self.key_dim, self.value_dim
        e_out = e_q if self._out_dim is None else int(np.prod(self._out_dim))

        def linear(n_in, n_out):
            return nn.Linear(n_in, n_out, bias=self.use_bias, dtype=self._dtype)

        return {"query_dense": linear(e_q, H * kd), "key_dense": linear(e_k, H * kd),
                "value_dense": linear(e_v, H * vd), "output_dense": linear(H * vd, e_out)}

    def keras_weights(self):
        H = self.num_heads
        weights = []
        for keras_name, m, d in (("query", self.query_dense, self.key_dim),
                                 ("key", self.key_dense, self.key_dim),
                                 ("value", self.value_dense, self.value_dim)):
            # kernel (E, H, d) = weight (H·d, E) transposed and split by head; bias (H, d)
            weights += [KerasWeight(f"{keras_name}/kernel", m.weight,
                                    (lambda a, d=d: a.T.reshape(-1, H, d),
                                     lambda a: a.reshape(a.shape[0], -1).T),
                                    init=self.kernel_initializer),
                        KerasWeight(f"{keras_name}/bias", m.bias,
                                    (lambda a, d=d: a.reshape(H, d), lambda a: a.reshape(-1)),
                                    init=self.bias_initializer)]
        # output kernel (H, value_dim, E_out) = weight (E_out, H·value_dim) transposed and split
        vd = self.value_dim
        return weights + [
            KerasWeight("attention_output/kernel", self.output_dense.weight,
                        (lambda a: a.T.reshape(H, vd, -1), lambda a: a.reshape(H * vd, -1).T),
                        init=self.kernel_initializer),
            KerasWeight("attention_output/bias", self.output_dense.bias,
                        init=self.bias_initializer)]

    def _heads(self, x, d):
        """(N, T, H·d) -> (N, H, T, d)"""
        N, T = x.shape[0], x.shape[1]
        return x.reshape(N, T, self.num_heads, d).permute(0, 2, 1, 3)

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        key = value if key is None else key
        if any(m is not None for m in (query_mask, value_mask, key_mask)):
            raise NotImplementedError("MultiHeadAttention: query_mask/value_mask/key_mask are "
                                      "not supported; pass attention_mask (N, T, S)")
        if not self._modules_built:
            self.build_modules((query.shape[-1], key.shape[-1], value.shape[-1]))
        q = self._heads(self.query_dense(query), self.key_dim)
        k = self._heads(self.key_dense(key), self.key_dim)
        v = self._heads(self.value_dense(value), self.value_dim)
        T, S = q.shape[2], k.shape[2]
        drop = None
        if attention_mask is not None:
            m = attention_mask.array if isinstance(attention_mask, Tensor) \
                else np.asarray(attention_mask)
            drop = ~(m.astype(bool))[:, None]  # (N, 1, T, S), True = masked out
        if use_causal_mask:
            causal = causal_mask(T, S)
            drop = causal if drop is None else (drop | causal)
        p_drop = self.dropout if training else 0.0
        out, scores = attention_with_weights(q, k, v, None, drop, 1.0 / math.sqrt(self.key_dim),
                                             p_drop)
        N = out.shape[0]
        out = out.permute(0, 2, 1, 3).reshape(N, T, self.num_heads * self.value_dim)
        out = self.output_dense(out)
        if self._out_dim is not None:
            shape = (self._out_dim,) if isinstance(self._out_dim, int) else tuple(self._out_dim)
            out = out.reshape(N, T, *shape)
        return (out, scores) if return_attention_scores else out

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, key_dim=self.key_dim, value_dim=self.value_dim,
                      dropout=self.dropout, use_bias=self.use_bias, output_shape=self._out_dim,
                      **self._initializers_config())
        return config


# === Attention (Luong), AdditiveAttention (Bahdanau) =========================================
class Attention(Layer):
    """Dot-product attention (Luong et al., 2015): ``layer([query, value])`` or
    ``layer([query, value, key])`` (key defaults to value), query (N, T, d), value (N, S, dv),
    key (N, S, d) -> (N, T, dv):

        scores = query · keyᵀ (· scale, a learned scalar, with ``use_scale=True``)
        weights = softmax(scores - 1e9 · [masked]) over S;  out = weights · value

    ``score_mode='concat'``: scores[t, s] = c · Σ tanh(query_t + key_s) (c learned; with
    ``use_scale`` the sum is over tanh(scale · (query_t + key_s))). Masks ``[query_mask,
    value_mask]`` (from ``mask=`` or the layers before): padded values take no weight, padded
    queries give zeros; ``use_causal_mask=True`` lets step t see values <= t. Defaults:
    ``use_scale=False``, ``score_mode='dot'``, ``dropout=0.0`` (on the weights, in training).
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention: score_mode must be 'dot' or 'concat', got "
                             f"{score_mode!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout, self.seed = float(dropout), seed

    def build(self, input_shape):
        self._validate(input_shape)
        self.scale = self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones",
                                                       name="concat_score_weight")

    def _validate(self, shapes):
        if not isinstance(shapes, (list, tuple)) or len(shapes) not in (2, 3) or \
                not all(isinstance(s, (list, tuple)) for s in shapes):
            raise ValueError(f"{type(self).__name__} layer must be called on a list of inputs, "
                             "namely [query, value] or [query, value, key]")

    def _scores(self, q, k):
        if self.score_mode == "dot":
            scores = ops.matmul(q, k.transpose(-2, -1))
            return scores * self.scale if self.scale is not None else scores
        pair = q.unsqueeze(-2) + k.unsqueeze(-3)          # (N, T, S, d)
        if self.scale is not None:
            pair = pair * self.scale
        return ops.tanh(pair).sum(dim=-1) * self.concat_score_weight

    def call(self, inputs, mask=None, training=None, return_attention_scores=False,
             use_causal_mask=False):
        self._validate([tuple(t.shape) for t in inputs])
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask, v_mask = (mask[0], mask[1]) if mask is not None else (None, None)
        scores = self._scores(q, k)                          # (N, T, S)
        keep = None
        if v_mask is not None:
            keep = mask_array(v_mask)[:, None, :]            # (N, 1, S)
        if use_causal_mask:
            causal = ~causal_mask(scores.shape[-2], scores.shape[-1])   # True = may attend
            keep = causal if keep is None else (keep & causal)
        if keep is not None:   # Keras: scores - 1e9 where masked (a fully masked row: uniform)
            scores = scores - Tensor((~keep).astype(scores.dtype) * scores.dtype.type(1e9))
        weights = ops.softmax(scores, -1)
        if training and self.dropout > 0:
            weights = ops.dropout(weights, self.dropout, True)
        out = ops.matmul(weights, v)
        if q_mask is not None:
            out = out * Tensor(mask_array(q_mask)[..., None].astype(out.dtype))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def get_config(self):
        config = super().get_config()
        config.update(use_scale=self.use_scale, score_mode=self.score_mode,
                      dropout=self.dropout, seed=self.seed)
        return config


class AdditiveAttention(Attention):
    """Additive attention (Bahdanau et al., 2015): scores[t, s] = Σ_d scale_d ·
    tanh(query_t + key_s)_d, with ``scale`` (d,) learned (``use_scale=True``, Defaults;
    glorot_uniform) or 1; then as Attention (masks, causal mask, dropout, value weighting).
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate(input_shape)
        self.scale = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(input_shape[0][-1],),
                                         initializer="glorot_uniform", name="scale")

    def _scores(self, q, k):
        pair = ops.tanh(q.unsqueeze(-2) + k.unsqueeze(-3))   # (N, T, S, d)
        return (pair * self.scale if self.scale is not None else pair).sum(dim=-1)

    def get_config(self):
        config = super().get_config()
        config.pop("score_mode")
        return config
