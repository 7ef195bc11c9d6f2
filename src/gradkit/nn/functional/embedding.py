"""embedding: look up rows of a weight matrix by integer index.

    y[...] = W[idx[...]]             idx: (*) integers, W: (num_embeddings, D) -> y: (*, D)
    dL/dW[k] = Σ_{positions p with idx[p] = k} dL/dy[p]     (a scatter-add of gradient rows)

The two directions are each other's transposes, so each op's backward is the other op
(gather ↔ scatter-add), which makes both differentiable to any order.
"""
import numpy as np

from ... import _internal
from ...autograd import grad_mode
from ...autograd.function import Function


class Embedding(Function):
    # y = W[idx];  dL/dW = scatter-add of dL/dy rows at idx (rows of padding_idx get none)
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.args = weight.shape[0], indices, padding_idx, scale_grad_by_freq
        return np.take(weight, indices, axis=0)  # np.take: ~7x faster than weight[indices]

    def backward(ctx, grad):
        num_embeddings, indices, padding_idx, scale = ctx.args
        return EmbeddingScatter.apply(grad, num_embeddings=num_embeddings, indices=indices,
                                      padding_idx=padding_idx, scale_grad_by_freq=scale)


class EmbeddingScatter(Function):
    # W' = zeros with the rows of g added at idx (× 1/count(idx) if scale_grad_by_freq; padding
    # rows left at zero);  dL/dg = dL/dW'[idx], zero at padding positions (a gather). The
    # 1/count is NOT applied again, as in PyTorch: the Embedding node that a second derivative
    # then flows through applies it once more, so that d/dW of a function of dL/dW comes out
    # exact (checked by central differences in the tests)
    def forward(ctx, grad, num_embeddings, indices, padding_idx, scale_grad_by_freq):
        ctx.args = indices, padding_idx, scale_grad_by_freq
        D = grad.shape[-1]
        idx = indices.reshape(-1).astype(np.intp, copy=False)  # idx · D must not overflow int32
        rows = grad.reshape(-1, D)
        factor = _row_factors(idx, num_embeddings, padding_idx, scale_grad_by_freq, grad.dtype)
        if factor is not None:
            rows = rows * factor[:, None]
        # Scatter-add on the flattened matrix: NumPy's ufunc.at has a fast path for 1-D indices
        # only. Measured (V=10000, D=64, 20000 rows, float32): 2-D np.add.at 73 ms, flat 1-D
        # np.add.at 14 ms, sort + np.add.reduceat 93 ms, np.bincount on flat indices 33 ms
        # (and O(V·D) even for a few rows).
        out = np.zeros(num_embeddings * D, grad.dtype)
        flat = (idx[:, None] * D + np.arange(D)).reshape(-1)
        np.add.at(out, flat, rows.reshape(-1))
        return out.reshape(num_embeddings, D)

    def backward(ctx, grad):
        indices, padding_idx, _ = ctx.args
        rows = Embedding.apply(grad, indices=indices, padding_idx=None, scale_grad_by_freq=False)
        factor = _row_factors(indices.reshape(-1), grad.shape[0], padding_idx, False, grad.dtype)
        if factor is None:
            return rows
        return rows * _internal.wrap(factor.reshape(indices.shape + (1,)))


def _row_factors(idx, num_embeddings, padding_idx, scale_grad_by_freq, dtype):
    """Per looked-up row, the factor its gradient gets: 0 for padding_idx, 1/count with
    scale_grad_by_freq; None when every factor is 1."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    factor = np.ones(idx.shape, dtype)
    if scale_grad_by_freq:
        factor /= np.bincount(idx, minlength=num_embeddings)[idx]
    if padding_idx is not None:
        factor[idx == padding_idx] = 0
    return factor


def _renorm_(weight, idx, max_norm, norm_type):
    """Rescale, in place and without gradient, the looked-up rows whose norm exceeds max_norm
    to norm max_norm (as PyTorch's embedding_renorm_, including its 1e-7)."""
    rows = np.unique(idx)
    w = weight.array[rows]
    norms = np.linalg.norm(w, ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        weight.array[rows[big]] = w[big] * scale[:, None]
        _internal.bump_version(weight)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer tensor ``input``.

    input: (*) int -> (*, embedding_dim); weight: (num_embeddings, embedding_dim).
    padding_idx: that row gets no gradient. max_norm: looked-up rows with a larger norm are
    rescaled in place (PyTorch's behaviour). scale_grad_by_freq: each row's gradient is divided
    by how often it occurs in the batch. sparse=True is accepted; the gradient is dense.

    >>> F.embedding(gk.tensor([[0, 2]]), gk.randn(5, 3)).shape
    (1, 2, 3)
    """
    idx = _internal.as_array(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor (int64 or int32), got "
                        f"{idx.dtype}; convert them with .long()")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {weight.shape}")
    V = weight.shape[0]
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= V:
            bad = lo if lo < 0 else hi
            raise IndexError(f"embedding: index {bad} is out of range for num_embeddings={V} "
                             f"(valid indices: 0 to {V - 1})")
    if padding_idx is not None:
        if not -V <= padding_idx < V:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within "
                             f"num_embeddings={V}")
        padding_idx %= V
    if max_norm is not None:
        with grad_mode.no_grad():
            _renorm_(weight, idx, max_norm, norm_type)
    return Embedding.apply(weight, indices=idx, padding_idx=padding_idx,
                           scale_grad_by_freq=scale_grad_by_freq)
