"""Linear algebra: the matrix product, where nearly all of a network's arithmetic happens.

=== matmul   matmul (``@``; batched, broadcasting batch dims, 1-D cases as NumPy) mm bmm dot outer
"""
import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import _operands
from .shape import reshape, squeeze, sum_to_shape, unsqueeze


class MatMul(Function):
    # Y = A B;  dL/dA = G Bᵀ,  dL/dB = Aᵀ G   (both at least 2-D here; batch dims broadcast)
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            ga = sum_to_shape(matmul(grad, b.mT), a.shape)
        if nb:
            if b.ndim == 2 and a.ndim > 2:
                # (..., n, k) @ (k, m): fold the batch into rows, one GEMM instead of a batch + sum
                k, m = b.shape
                gb = matmul(reshape(a, (-1, k)).mT, reshape(grad, (-1, m)))
            else:
                gb = sum_to_shape(matmul(a.mT, grad), b.shape)
        return ga, gb


def matmul(a, b):
    """Matrix product with NumPy's rules: 1-D operands are treated as a row (left) or column
    (right) vector and that dimension is removed afterwards; dims before the last two broadcast.

    a: (..., n, k), b: (..., k, m) -> (..., n, m)
    """
    if not isinstance(a, Tensor):
        a = Tensor(a)
    if not isinstance(b, Tensor):
        b = Tensor(b)
    sa, sb = a.array.shape, b.array.shape  # read once: every product, forward and backward
    if not sa or not sb:
        raise ValueError(f"matmul: both arguments need at least 1 dimension; got shapes "
                         f"{sa} and {sb} (use * for scalars)")
    ka = sa[-1]
    kb = sb[-2] if len(sb) > 1 else sb[0]
    if ka != kb:
        raise ValueError(f"matmul: expected a.shape[-1] == b.shape[-2]; got a {sa}, "
                         f"b {sb} ({ka} != {kb})")
    if a.array.dtype != b.array.dtype:
        a, b = _operands(a, b, "matmul")
    if len(sa) == 1 or len(sb) == 1:
        a2 = unsqueeze(a, 0) if a.ndim == 1 else a
        b2 = unsqueeze(b, -1) if b.ndim == 1 else b
        y = matmul(a2, b2)
        if b.ndim == 1:
            y = squeeze(y, -1)
        if a.ndim == 1:
            y = squeeze(y, -2 if b.ndim > 1 else -1)
        return y
    try:
        return MatMul.apply(a, b)
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of a {a.shape} and b {b.shape} do not "
                         "broadcast") from None


def mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expects 2-D tensors, got {a.shape} and {b.shape}")
    return matmul(a, b)


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(f"bmm: expects 3-D tensors, got {a.shape} and {b.shape}")
    return matmul(a, b)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: expects 1-D tensors, got {a.shape} and {b.shape}")
    return matmul(a, b)


def outer(a, b):
    return matmul(unsqueeze(a, 1), unsqueeze(b, 0))
