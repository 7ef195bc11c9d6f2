"""Copying and joining ops: repeat/tile copy a tensor, cat/stack join several; each backward
hands every input the part of the gradient that its values went to (summed over the copies, or
the slice it filled).

=== copying          repeat tile repeat_interleave
=== joining          cat stack meshgrid
"""
import numpy as np

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import cast
from .reduction import sum
from .indexing import index_select
from .shape import _dim, _new_dim, _shape_args, expand, reshape, unsqueeze


# === copying ===============================================================
class Tile(Function):
    # y = x repeated reps[i] times along axis i;  dL/dx = sum of dL/dy over the copies
    def forward(ctx, x, reps):
        ctx.in_shape = x.shape
        ctx.reps = reps
        return np.tile(x, reps)

    def backward(ctx, grad):
        # view grad as (r0, s0, r1, s1, ...) and sum over the r's
        split = []
        for r, s in zip(ctx.reps, ctx.in_shape):
            split += [r, s]
        return sum(reshape(grad, tuple(split)), tuple(range(0, len(split), 2)))


def repeat(x, *sizes):
    """PyTorch's ``repeat``: tile the whole tensor ``sizes[i]`` times along dim i."""
    sizes = _shape_args(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: the number of repeat dims ({len(sizes)}) can not be smaller "
                         f"than the number of tensor dims ({x.ndim})")
    x = reshape(x, (1,) * (len(sizes) - x.ndim) + x.shape)
    return Tile.apply(x, reps=sizes)


def tile(x, *dims):
    dims = _shape_args(dims)
    dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, *dims)


# === joining ===============================================================
class Cat(Function):
    # y = [x1, x2, ...] joined along dim;  dL/dxi = the slice of dL/dy that xi filled
    def forward(ctx, *xs, dim):
        ctx.dim = dim
        ctx.bounds = np.cumsum([0] + [x.shape[dim] for x in xs])
        return np.concatenate(xs, axis=dim)

    def backward(ctx, grad):
        lead = (slice(None),) * ctx.dim
        b = ctx.bounds
        return tuple(grad[lead + (slice(int(b[i]), int(b[i + 1])),)] if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


def cat(tensors, dim=0):
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    ref = tensors[0]
    d = _dim(dim, ref.ndim, "cat")
    dt = ref.array.dtype
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise ValueError(f"cat: tensor {i} is 0-d and cannot be concatenated; use stack, or "
                             "unsqueeze it to shape (1,)")
        if t.ndim != ref.ndim or t.shape[:d] + t.shape[d + 1:] != ref.shape[:d] + ref.shape[d + 1:]:
            raise ValueError(f"cat: tensors must have the same shape except in dim {dim}; "
                             f"tensor 0 has shape {ref.shape}, tensor {i} has shape {t.shape}")
        # PyTorch's promotion (float32 with int64 is float32), not NumPy's (float64)
        dt = backend.result_dtype(np.empty(0, dt), t.array)
    if any(t.array.dtype != dt for t in tensors):
        tensors = [cast(t, dt) for t in tensors]
    return Cat.apply(*tensors, dim=d)


concatenate = concat = cat


def stack(tensors, dim=0):
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: expects each tensor to be equal size, but got "
                             f"{tensors[0].shape} at entry 0 and {t.shape} at entry {i}")
    d = _new_dim(dim, tensors[0].ndim, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def repeat_interleave(x, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times (an int, or one count per element) along ``dim``
    (the flattened tensor when dim is None): ``[a, b] -> [a, a, b, b]``. Given only a 1-D integer
    tensor of counts, the indices repeated by them: ``repeat_interleave(tensor([1, 2])) -> [0, 1, 1]``.
    The gradient sums the copies back (index_select's backward)."""
    if repeats is None:
        counts = np.asarray(x.array)
        return Tensor._make(np.repeat(np.arange(counts.size), counts.reshape(-1)))
    if dim is None:
        x, dim = reshape(x, -1), 0
    d = _dim(dim, x.ndim, "repeat_interleave")
    r = repeats.array if isinstance(repeats, Tensor) else np.asarray(repeats)
    if r.ndim and r.size not in (1, x.shape[d]):
        raise ValueError(f"repeat_interleave: repeats has {r.size} counts but dim {dim} has "
                         f"{x.shape[d]} elements; give one count per element or a single int")
    idx = np.repeat(np.arange(x.shape[d]), r.reshape(-1) if r.ndim else int(r))
    return index_select(x, d, Tensor._make(idx))


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: output i varies along axis i (``indexing="ij"``, the
    default, as PyTorch's) or, with ``"xy"``, the first two axes swapped (NumPy's, for images)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [reshape(t, -1) for t in tensors]
    order = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(ts[i].shape[0] for i in order)
    out = []
    for i, t in enumerate(ts):
        axis = order.index(i)
        view = [1] * len(ts)
        view[axis] = t.shape[0]
        out.append(expand(reshape(t, tuple(view)), shape))
    return tuple(out)
