"""Rotary position embeddings (RoPE; Su et al., 2021, "RoFormer"), as Llama applies them.

Each pair of features (x_i, x_{i+D/2}) of a query or key at position p is rotated by the angle
p·θ_i, θ_i = base^(-2i/D):

    y = x ⊙ cos + rotate_half(x) ⊙ sin,     rotate_half(x) = (-x₂, x₁)    (x = (x₁, x₂) halves)

with cos = (cos pθ, cos pθ) and sin = (sin pθ, sin pθ) over the two halves. A dot product of two
rotated vectors then depends only on their positions' difference, so attention sees relative
positions. rotate_half is a linear map R with Rᵀ = -R, hence the derivative

    dx = g ⊙ cos + Rᵀ(g ⊙ sin) = g ⊙ cos - rotate_half(g ⊙ sin)

=== rotary_frequencies  rotary_cos_sin  apply_rotary_pos_emb
"""
import numpy as np

from ...autograd.function import Function
from ...ops import cat, from_numpy
from ...tensor import Tensor


def rotary_frequencies(head_dim, base=10000.0, freq_factors=None):
    """θ_i = base^(-2i/D) for i < D/2, float32 (llama.cpp's optional per-frequency factors f_i
    divide them: θ_i / f_i)."""
    inv = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.int64).astype(np.float32) / head_dim))
    if freq_factors is not None:
        inv = inv / np.asarray(freq_factors, dtype=np.float32)
    return inv.astype(np.float32)


def rotary_cos_sin(positions, inv_freq, dtype=np.float32):
    """cos and sin for integer ``positions`` (..., L) -> two arrays (..., L, D) of ``dtype``.
    The angles p·θ are rounded to float32 whatever the model's dtype, as transformers and
    llama.cpp compute them (at position 8000 that rounding moves an angle by ~5e-4 rad, so it
    is part of the model's definition); cos and sin are then taken in ``dtype``."""
    angles = np.asarray(positions, dtype=np.float32)[..., None] * inv_freq.astype(np.float32)
    angles = np.concatenate([angles, angles], axis=-1).astype(dtype, copy=False)
    return np.cos(angles), np.sin(angles)


def rotate_half(x):
    """(-x₂, x₁) for the two halves of the last dim (a Tensor)."""
    h = x.shape[-1] // 2
    return cat([-x[..., h:], x[..., :h]], dim=-1)


class RotaryEmbedding(Function):
    # y = x cos + rotate_half(x) sin;  dy/dx: dx = g cos - rotate_half(g sin)
    def forward(ctx, x, cos, sin):
        h = x.shape[-1] // 2
        y = x * cos
        y[..., :h] -= x[..., h:] * sin[..., :h]
        y[..., h:] += x[..., :h] * sin[..., h:]
        ctx.save_for_backward(cos, sin)
        return y

    def backward(ctx, grad):
        cos, sin = ctx.saved
        return grad * cos - rotate_half(grad * sin), None, None


def apply_rotary_pos_emb(x, cos, sin):
    """Rotate queries or keys by their positions. x: (B, H, L, D); cos, sin: (B, 1, L, D) or
    (L, D), broadcast over heads (Tensors or float32 arrays; they carry no gradient)."""
    if x.shape[-1] % 2:
        raise ValueError(f"apply_rotary_pos_emb: the head dimension must be even to rotate pairs "
                         f"of features; got x of shape {tuple(x.shape)}")
    cos = cos if isinstance(cos, Tensor) else from_numpy(cos)
    sin = sin if isinstance(sin, Tensor) else from_numpy(sin)
    return RotaryEmbedding.apply(x, cos, sin)
