"""Sorting: ops that choose which elements to keep and in what order, so their gradient goes
back to the chosen positions and is zero elsewhere.

=== sorting      sort argsort topk   (values = gather(x, dim, indices); dL/dx = dL/dvalues
                                      scattered back to indices)
"""
from collections import namedtuple

import numpy as np

from ..tensor import Tensor
from .indexing import Gather
from .shape import _dim, reshape

# PyTorch's torch.return_types.sort / topk: a tuple that also has .values and .indices
sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])


# === sorting ===============================================================
def _order(a, axis, descending):
    """Stable sorting indices of array ``a`` along ``axis``. NaN counts as the largest value, as in
    PyTorch: last when ascending, first when descending. Descending is the ascending stable sort of
    the reversed array, reversed: equal elements keep their original order, for every dtype."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    rev = np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)
    return n - 1 - rev


def _sort(x, dim, descending, op):
    """(values, int64 indices) of x sorted along dim; values carry the gradient."""
    if x.ndim == 0:  # a 0-d tensor sorts as one element, index 0
        values, indices = _sort(reshape(x, (1,)), 0, descending, op)
        return reshape(values, ()), Tensor._make(indices.array.reshape(()))
    d = _dim(dim, x.ndim, op)
    idx = _order(x.array, d, descending).astype(np.int64)
    return Gather.apply(x, dim=d, index=idx), Tensor._make(idx)


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) of x sorted along dim. The sort is always stable (``stable=False`` lets
    PyTorch choose any order among equal elements; this one is a valid choice)."""
    return sort_result(*_sort(x, dim, descending, "sort"))


def argsort(x, dim=-1, descending=False, stable=False):
    """The int64 indices that sort x along dim (no gradient: indices are not differentiable)."""
    if x.ndim == 0:
        return Tensor._make(np.zeros((), np.int64))
    d = _dim(dim, x.ndim, "argsort")
    return Tensor._make(_order(x.array, d, descending).astype(np.int64))


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The k largest (or smallest) elements along dim and their indices, largest first (smallest
    first when ``largest=False``). Always returned in sorted order, which ``sorted=False``
    allows."""
    d = _dim(dim, x.ndim, "topk")
    n = x.shape[d] if x.ndim else 1
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__}")
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dim {dim} of size {n}; choose k "
                           f"between 0 and {n} (the size of that dimension)")
    if x.ndim == 0:  # PyTorch gives the element itself (0-d) for k = 0 and 1 alike
        return topk_result(*_sort(x, 0, largest, "topk"))
    idx = _order(x.array, d, largest)
    idx = np.take(idx, np.arange(k), axis=d).astype(np.int64)
    return topk_result(Gather.apply(x, dim=d, index=idx), Tensor._make(idx))
