"""Linear algebra: the matrix product, where nearly all of a network's arithmetic happens.

=== matmul   matmul (``@``; batched, broadcasting batch dims, 1-D cases as NumPy) mm bmm dot outer
=== einsum   einsum (any product written in subscripts: "bij,bjk->bik")
"""
import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import _operands
from .shape import expand, reshape, squeeze, sum_to_shape, unsqueeze


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


# === einsum ================================================================
class Einsum(Function):
    # y = einsum(ins -> out, x_1, ..., x_n);  dL/dx_i = einsum(out, ins of the others -> ins_i,
    # dL/dy, the others): the gradient contracted with every other operand, then broadcast over
    # the labels only x_i has (they were summed away)
    def forward(ctx, *arrays, ins, out):
        ctx.ins, ctx.out = ins, out
        ctx.save_for_backward(*arrays)
        return np.einsum(",".join(ins) + "->" + out, *arrays, optimize=len(arrays) > 2)

    def backward(ctx, grad):
        xs, ins, need = ctx.saved, ctx.ins, ctx.needs_input_grad
        grads = []
        for i, (x, labels) in enumerate(zip(xs, ins)):
            if not need[i]:
                grads.append(None)
                continue
            others = [j for j in range(len(xs)) if j != i]
            elsewhere = set(ctx.out).union(*(ins[j] for j in others))
            keep = "".join(c for c in labels if c in elsewhere)
            g = Einsum.apply(grad, *[xs[j] for j in others], ins=(ctx.out,) + tuple(ins[j] for j in others),
                             out=keep)
            if keep != labels:
                g = expand(reshape(g, tuple(x.shape[k] if c in elsewhere else 1
                                            for k, c in enumerate(labels))), x.shape)
            grads.append(g)
        return tuple(grads) if len(grads) > 1 else grads[0]


def einsum(equation, *operands):
    """Sum of products over the subscripts of ``equation`` (NumPy's and PyTorch's notation:
    ``"bij,bjk->bik"`` is a batched matmul, ``"i,i->"`` a dot product, ``"...ij->...ji"`` a
    transpose; ``...`` broadcasts). Without ``->`` the output is the labels used once, sorted.

    >>> gk.einsum("ij,jk->ik", a, b)   # a @ b
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    xs = [o if isinstance(o, Tensor) else Tensor(o) for o in operands]
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(xs):
        raise ValueError(f"einsum: {equation!r} names {len(ins)} operands, got {len(xs)}")
    # "..." becomes letters of its own, the operands broadcast to one shape there
    free = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in eq)
    ell_shapes = []
    for labels, x in zip(ins, xs):
        n = len(labels.replace("...", ""))
        if "..." not in labels and n != x.ndim:
            raise ValueError(f"einsum: operand with subscripts {labels!r} has {x.ndim} dims, "
                             f"expected {n}")
        ell_shapes.append(x.shape[:x.ndim - n] if "..." in labels else ())
    ell_shape = np.broadcast_shapes(*ell_shapes)
    ell = "".join(next(free) for _ in ell_shape)
    for k, (labels, x) in enumerate(zip(ins, xs)):
        if "..." in labels:
            n = len(labels) - 3
            lead = len(ell_shape) - (x.ndim - n)
            pos = labels.index("...")
            shape = x.shape[:pos] + (1,) * lead + x.shape[pos:]
            full = x.shape[:pos] + ell_shape + x.shape[pos + x.ndim - n:]
            if shape != x.shape:
                x = reshape(x, shape)
            if full != x.shape:
                x = expand(x, full)
            xs[k], ins[k] = x, labels.replace("...", ell)
    if not arrow:
        counts = "".join(ins)
        out = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ell))
    out = out.replace("...", ell)
    if any(len(set(labels)) != len(labels) for labels in ins) and any(x.requires_grad for x in xs):
        raise NotImplementedError(f"einsum: the gradient through a repeated subscript in one "
                                  f"operand ({equation!r}: a diagonal or trace) is not supported; "
                                  "use torch.diagonal / x.diagonal().sum() instead")
    dt = np.result_type(*[x.array.dtype for x in xs])
    xs = [x if x.array.dtype == dt else x.to(dt) for x in xs]
    return Einsum.apply(*xs, ins=tuple(ins), out=out)
