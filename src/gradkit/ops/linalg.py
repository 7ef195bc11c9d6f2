"""Linear algebra: the matrix product, where nearly all of a network's arithmetic happens.

=== matmul   matmul (``@``; batched, broadcasting batch dims, 1-D cases as NumPy) mm bmm dot outer
=== einsum   einsum (any product written in subscripts: "bij,bjk->bik")
=== svd      svd (torch.linalg.svd: U, S, Vh) svdvals torch_svd (torch.svd: U, S, V)

This module is also ``gradkit.linalg`` (``torch.linalg``): ``gk.linalg.svd`` is ``svd`` below,
while ``gk.svd`` / ``Tensor.svd`` are ``torch_svd``, PyTorch's older form that returns V.
"""
from collections import namedtuple

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from .creation import eye
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


# === svd ===================================================================
# what a failed decomposition raises (torch.linalg.LinAlgError); a ValueError
LinAlgError = np.linalg.LinAlgError
# PyTorch's torch.return_types.linalg_svd / svd: tuples that also have .U .S .Vh (.V)
linalg_svd_result = namedtuple("linalg_svd", ["U", "S", "Vh"])
svd_result = namedtuple("svd", ["U", "S", "V"])


class SVD(Function):
    # A = U diag(S) Vh;  A (..., m, n), k = min(m, n), reduced U (..., m, k), Vh (..., k, n).
    # PyTorch's svd_backward (FunctionsManual.cpp), for distinct nonzero singular values:
    #   only gS (svdvals):  dL/dA = U diag(gS) Vh
    #   otherwise, with skew(X) = X − Xᵀ,  J = skew(Uᵀ gU),  K = skew(Vh gVhᵀ),
    #               E_ij = S_j² − S_i² (1 on the diagonal, where J and K are 0):
    #     C = (J diag(S) + diag(S) K) / E + diag(gS)                         (k, k)
    #     m > n:  dL/dA = (U C + (I − U Uᵀ) gU diag(S)⁻¹) Vh      (gU's part outside U's span)
    #     m < n:  dL/dA = U (C Vh + diag(S)⁻¹ gVh (I − Vhᵀ Vh))   (gVh's part outside Vh's span)
    #     m = n:  dL/dA = U C Vh
    # Three outputs, so the PyTorch form of Function (autograd/custom_function.py): each output
    # has its own gradient, None where the loss does not use it, which the formula relies on
    # (a loss of S alone never divides by E, so repeated singular values are fine there).
    @staticmethod
    def forward(ctx, A, full_matrices, name):
        U, S, Vh = _lapack_svd(A.array, name, full_matrices=full_matrices)
        U, S, Vh = Tensor._make(U), Tensor._make(S), Tensor._make(Vh)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        m, n, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
        # full_matrices: U's columns (Vh's rows) past k are any basis of the orthogonal
        # complement, so their gradients are ignored, as PyTorch does
        if U.shape[-1] != k:
            U, gU = U[..., :k], None if gU is None else gU[..., :k]
        if Vh.shape[-2] != k:
            Vh, gVh = Vh[..., :k, :], None if gVh is None else gVh[..., :k, :]
        if gU is None and gVh is None:
            if gS is None:
                return None, None, None
            gA = matmul(U, gS.unsqueeze(-1) * Vh) if m >= n else matmul(U * gS.unsqueeze(-2), Vh)
            return gA, None, None
        S_row, S_col = S.unsqueeze(-2), S.unsqueeze(-1)
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye(k, dtype=S.dtype)
        C = 0
        if gU is not None:
            UtgU = matmul(U.mT, gU)
            C = (UtgU - UtgU.mT) * S_row
        if gVh is not None:
            VhgV = matmul(Vh, gVh.mT)
            C = C + S_col * (VhgV - VhgV.mT)
        C = C / E
        if gS is not None:
            C = C + gS.unsqueeze(-1) * eye(k, dtype=S.dtype)
        if m > n and gU is not None:
            gU_Sinv = gU / S_row
            gA = matmul(matmul(U, C) + gU_Sinv - matmul(U, matmul(U.mT, gU_Sinv)), Vh)
        elif m < n and gVh is not None:
            Sinv_gVh = gVh / S_col
            gA = matmul(U, matmul(C, Vh) + Sinv_gVh - matmul(matmul(Sinv_gVh, Vh.mT), Vh))
        else:
            gA = matmul(U, matmul(C, Vh)) if m >= n else matmul(matmul(U, C), Vh)
        return gA, None, None


def _check_svd_input(A, name):
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(A).__name__}")
    if A.ndim < 2:
        raise ValueError(f"{name}: expected A of at least 2 dimensions (..., m, n); got shape "
                         f"{A.shape} (for a vector, use x.unsqueeze(0) or x.reshape(m, n))")
    if A.array.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: expected a float32 or float64 tensor (the dtypes LAPACK "
                        f"computes in); got {A.dtype}. Convert first: A.float() or A.double()")


def _lapack_svd(a, name, **kw):
    try:
        return np.linalg.svd(a, **kw)
    except LinAlgError:
        why = ("the input matrix contained non-finite values" if not np.isfinite(a).all()
               else "LAPACK did not converge")
        raise LinAlgError(f"{name}: the algorithm failed to converge because {why}") \
            from None


def svd(A, full_matrices=True, *, driver=None):
    """``torch.linalg.svd``: A = U diag(S) Vh, singular values S in descending order.

    A: (..., m, n) float32/float64, k = min(m, n) -> U (..., m, m), S (..., k), Vh (..., n, n);
    with ``full_matrices=False`` (the reduced SVD, usually what you want) U (..., m, k),
    Vh (..., k, n). Defaults to ``full_matrices=True``, as PyTorch. U and Vh are unique only up
    to the sign of each singular pair, so a loss should not depend on it; gradients through U or
    Vh need distinct (and, if A is not square, nonzero) singular values.

    >>> U, S, Vh = gk.linalg.svd(A, full_matrices=False)   # A ≈ U @ (S[..., None] * Vh)
    """
    _check_svd_input(A, "linalg.svd")
    _no_driver(driver, "linalg.svd")
    return linalg_svd_result(*SVD.apply(A, full_matrices, "linalg.svd"))


def svdvals(A, *, driver=None):
    """``torch.linalg.svdvals``: the singular values of A, (..., m, n) -> (..., min(m, n)), in
    descending order. The gradient is U diag(gS) Vh, stable even for repeated values."""
    _check_svd_input(A, "linalg.svdvals")
    _no_driver(driver, "linalg.svdvals")
    if A.requires_grad and grad_mode.state.enabled:  # the backward needs U and Vh
        return SVD.apply(A, False, "linalg.svdvals")[1]
    return Tensor._make(_lapack_svd(A.array, "linalg.svdvals", compute_uv=False))


def torch_svd(A, some=True, compute_uv=True):
    """``torch.svd`` and ``Tensor.svd`` (deprecated in PyTorch in favour of ``linalg.svd``):
    A = U diag(S) Vᵀ, returning V, not Vh. ``some=True`` (the default) is the reduced SVD,
    ``some=False`` the full one. With ``compute_uv=False``, U and V are zeros (..., m, m) and
    (..., n, n), and S is still differentiable, as PyTorch."""
    _check_svd_input(A, "svd")
    if not compute_uv:
        m, n = A.shape[-2:]
        batch, dt = A.shape[:-2], A.array.dtype
        return svd_result(Tensor._make(np.zeros(batch + (m, m), dt)), svdvals(A),
                          Tensor._make(np.zeros(batch + (n, n), dt)))
    U, S, Vh = SVD.apply(A, not some, "svd")
    return svd_result(U, S, Vh.mT)


def _no_driver(driver, name):
    if driver is not None:
        raise ValueError(f"{name}: driver={driver!r} chooses a cuSOLVER algorithm (CUDA only); "
                         "gradkit computes with NumPy's LAPACK: leave driver=None")
