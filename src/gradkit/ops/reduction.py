"""Reductions: many values to fewer. ``dim`` is an int, a tuple or None (all); ``keepdim`` keeps
the reduced axes with size 1. NumPy's ``axis``/``keepdims`` are accepted as aliases.

Backward spreads the gradient back over the reduced axes (``_expand_back``).

=== sums             sum mean var std prod cumsum norm
=== extremes         amax amin max min argmax argmin
=== normalisers      logsumexp softmax log_softmax
=== booleans         all any
=== counting         histc
"""
import builtins
import math
from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from . import kernels
from .elementwise import abs as _abs
from .elementwise import exp, maximum, minimum, sqrt, where
from .indexing import gather
from .shape import _dim, broadcast_to, flip, permute, reshape

_grad = grad_mode.state

# this module defines sum/max/min/all/any; the builtins stay reachable under these names
_any_builtin = builtins.any


def _dims(dim, ndim, op, kw):
    """Normalise ``dim`` (accepting ``axis=``) to a sorted tuple, or None for all axes.

    A 0-d tensor accepts dim 0 or -1, as PyTorch does; reducing it over "all" of its (no) axes
    is the same thing, so that case also returns None (NumPy would reject axis 0)."""
    if kw:
        dim = kw.pop("axis", dim)
        if kw:
            raise TypeError(f"{op}: unexpected keyword arguments {sorted(kw)}")
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        dims = [_dim(d, ndim, op) for d in dim]
        if len(set(dims)) != len(dims):
            raise ValueError(f"{op}: dim {tuple(dim)} names a dimension more than once")
        return None if ndim == 0 else tuple(sorted(dims))
    d = _dim(dim, ndim, op)
    return None if ndim == 0 else (d,)


def _keep(keepdim, kw):
    return kw.pop("keepdims", keepdim) if kw else keepdim


def _expand_back(grad, in_shape, dims, keepdim):
    """The gradient of a reduction, spread back over the reduced axes."""
    if not keepdim:
        if dims is None:
            grad = reshape(grad, (1,) * len(in_shape))
        else:
            shape = list(in_shape)
            for d in dims:
                shape[d] = 1
            grad = reshape(grad, tuple(shape))
    return broadcast_to(grad, in_shape)


def _count(shape, dims):
    if dims is None:
        return int(np.prod(shape))
    return int(np.prod([shape[d] for d in dims]))


def _require_float(x, op):
    if x.array.dtype.kind != "f":
        raise TypeError(f"{op}: needs a floating point tensor, got {x.dtype}; convert with "
                        ".float() first")


# === sums ==================================================================
class Sum(Function):
    # y = Σ x;  dy/dx = 1 (the gradient is copied to every summed element)
    def forward(ctx, x, dims, keepdim):
        ctx.args = x.shape, dims, keepdim
        return x.sum(axis=dims, keepdims=keepdim)  # the method: np.sum adds a Python wrapper

    def backward(ctx, grad):
        shape, dims, keepdim = ctx.args
        return _expand_back(grad, shape, dims, keepdim)


class Mean(Function):
    # y = Σ x / n;  dy/dx = 1/n
    def forward(ctx, x, dims, keepdim):
        ctx.args = x.shape, dims, keepdim
        return np.mean(x, axis=dims, keepdims=keepdim)

    def backward(ctx, grad):
        shape, dims, keepdim = ctx.args
        return _expand_back(grad * (1.0 / _count(shape, dims)), shape, dims, keepdim)


class Var(Function):
    # y = Σ (x - mean)² / (n - c);  dy/dx = 2 (x - mean) / (n - c)
    def forward(ctx, x, dims, correction, keepdim):
        ctx.args = dims, correction, keepdim
        ctx.save_for_backward(x)
        n = _count(x.shape, dims)
        with np.errstate(all="ignore"):  # n <= correction gives inf/nan, as PyTorch
            return np.var(x, axis=dims, ddof=correction, keepdims=keepdim) if n > correction \
                else np.full(np.sum(x, axis=dims, keepdims=keepdim).shape, np.nan, x.dtype)

    def backward(ctx, grad):
        (x,) = ctx.saved
        dims, correction, keepdim = ctx.args
        n = _count(x.shape, dims)
        centred = x - mean(x, dims, keepdim=True)
        # n <= correction: PyTorch divides by max(n - c, 0) = 0, so the gradient is inf · 0 = nan
        scale = 2.0 / (n - correction) if n > correction else math.inf
        return _expand_back(grad, x.shape, dims, keepdim) * centred * scale


class Prod(Function):
    # y = Π x;  dy/dxi = Π_{j≠i} xj  (= y / xi when no factor is zero)
    def forward(ctx, x, dims, keepdim):
        ctx.args = dims, keepdim
        y = np.asarray(np.prod(x, axis=dims, keepdims=keepdim))  # not a NumPy scalar
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, grad):
        x, y = ctx.saved
        dims, keepdim = ctx.args
        g = _expand_back(grad, x.shape, dims, keepdim)
        if (x.array != 0).all():
            return g * _expand_back(y, x.shape, dims, keepdim) / x
        # with zeros y / x is 0/0: multiply the other factors directly, from exclusive cumulative
        # products, or with differentiable ops when this gradient is differentiated again
        if not _grad.enabled:
            return g * Tensor._make(_prod_except(x.array, dims))
        return g * _prod_except_graph(x, dims)


def _prod_except_graph(x, dims):
    """Π_{j≠i} xj with differentiable ops: a slice of n factors becomes an (n, n) matrix with ones
    on its diagonal, whose rows are multiplied. O(n²), so only used under create_graph=True."""
    axes = tuple(range(x.ndim)) if dims is None else dims
    rest = [d for d in range(x.ndim) if d not in axes]
    moved = permute(x, *rest, *axes)
    n = _count(x.shape, dims)
    rows = reshape(moved, moved.shape[:len(rest)] + (1, n))
    others = prod(where(Tensor._make(np.eye(n, dtype=bool)), 1.0, rows), -1)
    return permute(reshape(others, moved.shape), *np.argsort(rest + list(axes)))


def _prod_except(x, dims):
    axes = tuple(range(x.ndim)) if dims is None else dims
    rest = [d for d in range(x.ndim) if d not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), -1)
    right = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], -1), -1), -1)
    out = (left * right).reshape(moved.shape)
    return np.transpose(out, np.argsort(rest + list(axes)))


class Cumsum(Function):
    # yi = Σ_{j<=i} xj;  dL/dxj = Σ_{i>=j} dL/dyi (a reversed cumulative sum)
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.cumsum(x, axis=dim)

    def backward(ctx, grad):
        d = ctx.dim
        return flip(Cumsum.apply(flip(grad, d), dim=d), d)


def sum(x, dim=None, keepdim=False, dtype=None, **kw):
    keepdim = _keep(keepdim, kw)
    dims = _dims(dim, x.ndim, "sum", kw)
    if dtype is not None:
        x = x.to(dtype)
    if x.array.dtype.kind in "biu":  # integer sums have no gradient and are int64, as PyTorch
        return Tensor._make(np.asarray(np.sum(x.array, axis=dims, keepdims=keepdim, dtype=np.int64)))
    return Sum.apply(x, dims=dims, keepdim=keepdim)


def mean(x, dim=None, keepdim=False, dtype=None, **kw):
    keepdim = _keep(keepdim, kw)
    dims = _dims(dim, x.ndim, "mean", kw)
    if dtype is not None:
        x = x.to(dtype)
    _require_float(x, "mean")
    return Mean.apply(x, dims=dims, keepdim=keepdim)


def _correction(unbiased, correction, kw):
    if kw and "ddof" in kw:
        return kw.pop("ddof")
    if correction is not None:
        return correction
    return 0 if unbiased is False else 1


def var(x, dim=None, unbiased=None, keepdim=False, correction=None, **kw):
    """Variance with Bessel's correction by default (``unbiased=True``/``correction=1``, as PyTorch)."""
    return _var(x, dim, unbiased, keepdim, correction, kw, "var")


def std(x, dim=None, unbiased=None, keepdim=False, correction=None, **kw):
    """√var, with the same arguments and defaults."""
    return sqrt(_var(x, dim, unbiased, keepdim, correction, kw, "std"))


def _var(x, dim, unbiased, keepdim, correction, kw, op):
    c = _correction(unbiased, correction, kw)
    keepdim = _keep(keepdim, kw)
    dims = _dims(dim, x.ndim, op, kw)
    _require_float(x, op)
    return Var.apply(x, dims=dims, correction=c, keepdim=keepdim)


def prod(x, dim=None, keepdim=False, **kw):
    keepdim = _keep(keepdim, kw)
    dims = _dims(dim, x.ndim, "prod", kw)
    return Prod.apply(x, dims=dims, keepdim=keepdim)


def cumsum(x, dim=None, **kw):
    if kw:
        dim = kw.pop("axis", dim)
    if dim is None:
        raise TypeError("cumsum: dim is required (e.g. x.cumsum(dim=0))")
    d = _dim(dim, x.ndim, "cumsum")
    if x.ndim == 0:  # NumPy's cumsum of a 0-d array has shape (1,); PyTorch's keeps shape ()
        return reshape(Cumsum.apply(reshape(x, (1,)), dim=0), ())
    return Cumsum.apply(x, dim=d)


class Norm2(Function):
    # y = √(Σ x²);  dy/dx = x / y, and 0 at the zero vector (as PyTorch; √ would give 0·∞ = nan)
    def forward(ctx, x, dims, keepdim):
        ctx.args = dims, keepdim
        y = np.asarray(np.sqrt(np.sum(x * x, axis=dims, keepdims=keepdim)))
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, grad):
        x, y = ctx.saved
        dims, keepdim = ctx.args
        y = _expand_back(y, x.shape, dims, keepdim)
        return _expand_back(grad, x.shape, dims, keepdim) * x / where(y == 0, 1.0, y)


def norm(x, p=2, dim=None, keepdim=False):
    """The p-norm over ``dim`` (all elements by default): (Σ |x|^p)^(1/p); 'fro' is p=2,
    inf is max |x|, -inf is min |x|."""
    dims = _dims(dim, x.ndim, "norm", None)
    _require_float(x, "norm")
    if p == "fro" or p == 2:
        return Norm2.apply(x, dims=dims, keepdim=keepdim)
    if isinstance(p, str) or p == 0:
        raise ValueError(f"norm: p={p!r} is not supported; use a nonzero number, inf, -inf or "
                         "'fro'")
    if p == float("inf"):
        return amax(_abs(x), dims, keepdim)
    if p == float("-inf"):
        return amin(_abs(x), dims, keepdim)
    if p == 1:
        return sum(_abs(x), dims, keepdim)
    return sum(_abs(x) ** p, dims, keepdim) ** (1.0 / p)


# === extremes ==============================================================
class AMax(Function):
    # y = max x over dims;  dy/dx = 1 at the maximum, split evenly among ties (as PyTorch's amax)
    def forward(ctx, x, dims, keepdim, largest):
        ctx.args = dims, keepdim
        y = (np.max if largest else np.min)(x, axis=dims, keepdims=True)
        ctx.save_for_backward(x, y)  # the tie weights are built in backward: no cost without grad
        return y if keepdim else (y.reshape(()) if dims is None else np.squeeze(y, axis=dims))

    def backward(ctx, grad):
        x, y = ctx.saved
        dims, keepdim = ctx.args
        mask = x.array == y.array
        if np.isnan(y.array).any():  # a NaN is its slice's extreme (as max(dim), PyTorch's max())
            mask |= np.isnan(x.array)
        w = mask / mask.sum(axis=dims, keepdims=True).astype(grad.array.dtype)
        return _expand_back(grad, x.shape, dims, keepdim) * Tensor._make(w)


def _check_nonempty(x, dims, op):
    if x.array.size == 0 or (dims is not None and _any_builtin(x.shape[d] == 0 for d in dims)):
        raise ValueError(f"{op}: cannot reduce over an empty dimension (shape {x.shape})")


def amax(x, dim=None, keepdim=False, **kw):
    keepdim = _keep(keepdim, kw)
    dims = _dims(dim, x.ndim, "amax", kw)
    _check_nonempty(x, dims, "amax")
    return AMax.apply(x, dims=dims, keepdim=keepdim, largest=True)


def amin(x, dim=None, keepdim=False, **kw):
    keepdim = _keep(keepdim, kw)
    dims = _dims(dim, x.ndim, "amin", kw)
    _check_nonempty(x, dims, "amin")
    return AMax.apply(x, dims=dims, keepdim=keepdim, largest=False)


values_indices = namedtuple("values_indices", ["values", "indices"])


def _max_min(x, dim, keepdim, kw, largest, op):
    keepdim = _keep(keepdim, kw)
    if kw:
        dim = kw.pop("axis", dim)
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return (maximum if largest else minimum)(x, dim)
    if dim is None:
        return (amax if largest else amin)(x)
    d = _dim(dim, x.ndim, op)
    if x.ndim == 0:  # the one element is the extreme, at index 0
        return values_indices((amax if largest else amin)(x), Tensor._make(np.zeros((), np.int64)))
    _check_nonempty(x, (d,), op)
    idx = (np.argmax if largest else np.argmin)(x.array, axis=d)
    idx_k = np.expand_dims(idx, d)
    values = gather(x, d, idx_k)  # the gradient goes to the selected element only
    if not keepdim:
        values = reshape(values, idx.shape)
    return values_indices(values, Tensor._make(idx_k if keepdim else idx))


def max(x, dim=None, keepdim=False, **kw):
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices) along dim; ``max(a, b)``:
    the elementwise maximum."""
    return _max_min(x, dim, keepdim, kw, True, "max")


def min(x, dim=None, keepdim=False, **kw):
    return _max_min(x, dim, keepdim, kw, False, "min")


def _arg(x, dim, keepdim, kw, fn):
    keepdim = _keep(keepdim, kw)
    if kw:
        dim = kw.pop("axis", dim)
    if dim is None:
        out = np.asarray(fn(x.array.reshape(-1)))
        return Tensor._make(out.reshape((1,) * x.ndim) if keepdim else out)
    d = _dim(dim, x.ndim, fn.__name__)
    return Tensor._make(np.asarray(fn(x.array, axis=d, keepdims=keepdim)))


def argmax(x, dim=None, keepdim=False, **kw):
    return _arg(x, dim, keepdim, kw, np.argmax)


def argmin(x, dim=None, keepdim=False, **kw):
    return _arg(x, dim, keepdim, kw, np.argmin)


# === normalisers ===========================================================
# Their forwards are the stable kernels in kernels.py (e^(x - max), so nothing overflows).
class LogSumExp(Function):
    # y = ln Σ e^x = m + ln Σ e^(x - m), m = max x (no overflow);  dy/dx = e^(x - y) = softmax(x)
    def forward(ctx, x, dims, keepdim):
        ctx.args = dims, keepdim
        y = kernels.logsumexp(x, dims, keepdim)
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, grad):
        x, y = ctx.saved
        dims, keepdim = ctx.args
        y = _expand_back(y, x.shape, dims, keepdim)
        return _expand_back(grad, x.shape, dims, keepdim) * exp(x - y)


class Softmax(Function):
    # y = e^x / Σ e^x (computed from x - max x);  dL/dx = y (g - Σ g y)   (SoftmaxGrad)
    def forward(ctx, x, dim):
        ctx.dim = dim
        y = kernels.softmax(x, dim)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        (y,) = ctx.saved
        return SoftmaxGrad.apply(y, grad, dim=ctx.dim)


class SoftmaxGrad(Function):
    # z = s · p (g - Σ g p) over dim: softmax's backward (kernels.softmax_grad), s a constant
    # z is linear in g, with a symmetric Jacobian: dL/dg = SoftmaxGrad(p, G)
    # dL/dp = s (G (g - Σ g p) - g Σ G p)
    def forward(ctx, p, g, dim, scale=1.0):
        ctx.dim, ctx.scale = dim, scale
        ctx.save_for_backward(p, g)
        return kernels.softmax_grad(p, g, dim, scale)

    def backward(ctx, grad):
        p, g = ctx.saved
        d, s = ctx.dim, ctx.scale
        needs = ctx.needs_input_grad
        dp = None
        if needs[0]:
            dp = (grad * (g - sum(g * p, d, keepdim=True)) - g * sum(grad * p, d, keepdim=True)) * s
        dg = SoftmaxGrad.apply(p, grad, dim=d, scale=s) if needs[1] else None
        return dp, dg


class LogSoftmax(Function):
    # y = x - logsumexp(x);  dL/dx = g - softmax(x) Σ g = g - e^y Σ g
    def forward(ctx, x, dim):
        ctx.dim = dim
        y = kernels.log_softmax(x, dim)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad - exp(y) * sum(grad, ctx.dim, keepdim=True)


def logsumexp(x, dim=None, keepdim=False, **kw):
    keepdim = _keep(keepdim, kw)
    dims = _dims(dim, x.ndim, "logsumexp", kw)
    if x.dtype.kind != "f":  # integers give the default float dtype, as in PyTorch
        x = x.to(backend.get_default_dtype())
    return LogSumExp.apply(x, dims=dims, keepdim=keepdim)


def _softmax_dim(x, dim, kw, op):
    if kw:
        dim = kw.pop("axis", dim)
        if kw:
            raise TypeError(f"{op}: unexpected keyword arguments {sorted(kw)}")
    if dim is None:
        raise TypeError(f"{op}: dim is required (e.g. {op}(x, dim=-1))")
    return _dim(dim, x.ndim, op)


def softmax(x, dim=None, dtype=None, **kw):
    if dtype is not None:
        x = x.to(dtype)
    _require_float(x, "softmax")
    return Softmax.apply(x, dim=_softmax_dim(x, dim, kw, "softmax"))


def log_softmax(x, dim=None, dtype=None, **kw):
    if dtype is not None:
        x = x.to(dtype)
    _require_float(x, "log_softmax")
    return LogSoftmax.apply(x, dim=_softmax_dim(x, dim, kw, "log_softmax"))


# === booleans ==============================================================
def all(x, dim=None, keepdim=False, **kw):
    keepdim = _keep(keepdim, kw)
    dims = _dims(dim, x.ndim, "all", kw)
    return Tensor._make(np.asarray(np.all(x.array, axis=dims, keepdims=keepdim)))


def any(x, dim=None, keepdim=False, **kw):
    keepdim = _keep(keepdim, kw)
    dims = _dims(dim, x.ndim, "any", kw)
    return Tensor._make(np.asarray(np.any(x.array, axis=dims, keepdims=keepdim)))


def histc(x, bins=100, min=0, max=0):
    """Counts of x's values in ``bins`` equal bins over [min, max] (the data's range when both
    are 0); values outside are left out. Same dtype as x, no gradient."""
    a = x.array
    lo, hi = (float(a.min()), float(a.max())) if min == 0 and max == 0 and a.size else (min, max)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    counts, _ = np.histogram(a, bins=bins, range=(lo, hi))
    return Tensor._make(counts.astype(a.dtype))
