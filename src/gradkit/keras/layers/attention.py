"""MultiHeadAttention in Keras' form: ``mha(query, value, key=None, attention_mask=None)``.

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

from ... import nn
from ...nn.functional.attention import attention_with_weights, causal_mask
from ...tensor import Tensor
from .base import Adapter, KerasWeight

__all__ = ["MultiHeadAttention"]


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
