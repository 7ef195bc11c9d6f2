"""Shape ops: the values stay, their arrangement changes, so each backward rearranges the
gradient back.

=== broadcasting     sum_to_shape broadcast_to expand
=== reshaping        reshape flatten squeeze unsqueeze
=== reordering       permute transpose flip roll

Copying and joining (repeat tile cat stack) are in joining.py: their backwards sum and cast, so
they sit above elementwise.py and reduction.py, which import from this file; splitting (split
chunk unbind narrow) is slicing, in indexing.py.
"""
import numpy as np

from ..autograd.function import Function


def _dim(d, ndim, op):
    """Wrap a negative dim and check its range (a 0-d tensor accepts 0 and -1, as PyTorch)."""
    n = ndim if ndim else 1
    if not -n <= d < n:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dimensions "
                         f"(valid: {-n} to {n - 1})")
    return d % n


def _new_dim(d, ndim, op):
    """Where a new dim goes (unsqueeze, stack): -ndim - 1 to ndim, as PyTorch."""
    if not -ndim - 1 <= d <= ndim:
        raise IndexError(f"{op}: dim {d} is out of range for inserting a dimension into a tensor "
                         f"of {ndim} dimensions (valid: {-ndim - 1} to {ndim})")
    return d % (ndim + 1)


def _shape_args(shape):
    """Accept f(2, 3) and f((2, 3)) alike, as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(map(int, shape))


def _view_of(x, out):
    """A result that shares x's memory (NumPy made a view) shares its version counter too, as in
    PyTorch: an in-place change through either is seen by every backward that saved the other."""
    base = out.array.base
    # a NumPy view's base is the array that owns the memory: checked first, it spares the search
    if base is not None and (base is x.array or base is x.array.base
                             or np.may_share_memory(out.array, x.array)):
        out._vc = x._vc
    return out


# === broadcasting ==========================================================
class SumToShape(Function):
    # y = x summed over the axes that broadcasting added or stretched;  dL/dx = dL/dy broadcast back
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(shape) if lead else y

    def backward(ctx, grad):
        return broadcast_to(grad, ctx.in_shape)


class BroadcastTo(Function):
    # y = x repeated along broadcast axes (a read-only view);  dL/dx = dL/dy summed back
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(ctx, grad):
        return sum_to_shape(grad, ctx.in_shape)


def sum_to_shape(x, shape):
    """Reduce ``x`` to ``shape`` by summing what broadcasting added: the one undo of broadcasting."""
    if x.array.shape == shape:
        return x
    return SumToShape.apply(x, shape=tuple(shape))


def broadcast_to(x, shape):
    shape = tuple(shape)
    if x.array.shape == shape:
        return x
    _check_broadcast(x.shape, shape, "broadcast_to")
    return _view_of(x, BroadcastTo.apply(x, shape=shape))


def _check_broadcast(in_shape, shape, op):
    # the target must be the broadcast result itself: (2, 3) -> (1, 3) broadcasts but only to (2, 3)
    try:
        ok = np.broadcast_shapes(in_shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{op}: cannot broadcast a tensor of shape {in_shape} to {shape}; each "
                         "of its dimensions must equal the target's or be 1")


def expand(x, *sizes):
    """Broadcast to ``sizes``; -1 keeps a dimension as it is."""
    sizes = _shape_args(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"number of dimensions ({x.ndim}) of the tensor {x.shape}")
    if -1 in sizes[:lead]:
        raise ValueError(f"expand: -1 is not allowed for a new leading dimension (sizes {sizes} "
                         f"for a tensor of shape {x.shape}); give its size")
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    if shape == x.array.shape:
        return x
    _check_broadcast(x.shape, shape, "expand")
    return _view_of(x, BroadcastTo.apply(x, shape=shape))


# === reshaping =============================================================
class Reshape(Function):
    # y = x with a new shape (same elements, same order);  dL/dx = dL/dy reshaped back
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    def backward(ctx, grad):
        return reshape(grad, ctx.in_shape)


def reshape(x, *shape):
    shape = _shape_args(shape)
    try:
        if -1 in shape:  # resolved first: (-1, k) of an (n, k) tensor is no reshape at all
            shape = x.array.reshape(shape).shape
        if shape == x.array.shape:
            return x
        return _view_of(x, Reshape.apply(x, shape=shape))
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.array.size} "
                         f"elements) into shape {shape}") from None


view = reshape


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = _dim(start_dim, x.ndim, "flatten"), _dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim ({start_dim}) must not come after end_dim ({end_dim})")
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:]
    return reshape(x, shape)


def squeeze(x, dim=None):
    """Remove dimensions of size 1 (all of them, or the given ones; others are left alone)."""
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    dims = {_dim(d, x.ndim, "squeeze") for d in dims}
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def unsqueeze(x, dim):
    d = _new_dim(dim, x.ndim, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


# === reordering ============================================================
class Permute(Function):
    # y = x with axes reordered;  dL/dx = dL/dy with the inverse order
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    def backward(ctx, grad):
        return permute(grad, *np.argsort(ctx.dims))


def permute(x, *dims):
    ndim = x.array.ndim
    dims = tuple([_dim(d, ndim, "permute") for d in _shape_args(dims)])
    if sorted(dims) != list(range(ndim)):
        raise ValueError(f"permute: dims {dims} must be a permutation of 0..{ndim - 1} for a "
                         f"tensor of shape {x.shape}")
    if dims == tuple(range(ndim)):
        return x
    return _view_of(x, Permute.apply(x, dims=dims))


def transpose(x, dim0, dim1):
    ndim = x.array.ndim
    d0, d1 = _dim(dim0, ndim, "transpose"), _dim(dim1, ndim, "transpose")
    if d0 == d1:
        return x
    dims = list(range(ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return _view_of(x, Permute.apply(x, dims=tuple(dims)))  # a valid permutation: no checks


swapaxes = transpose


class Flip(Function):
    # y = x reversed along dims;  dL/dx = dL/dy reversed the same way
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x, dims)

    def backward(ctx, grad):
        return Flip.apply(grad, dims=ctx.dims)


def flip(x, *dims):
    dims = _shape_args(dims)
    return Flip.apply(x, dims=tuple(_dim(d, x.ndim, "flip") for d in dims))


class Roll(Function):
    # y = x shifted cyclically along dims;  dL/dx = dL/dy shifted back
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x, shifts, dims)

    def backward(ctx, grad):
        return Roll.apply(grad, shifts=tuple(-s for s in ctx.shifts), dims=ctx.dims)


def roll(x, shifts, dims=None):
    """Shift elements cyclically by ``shifts`` along ``dims`` (ints or tuples of one length);
    without dims, along the flattened tensor, keeping the shape."""
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (int(shifts),)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: without dims, shifts must be one int, got {shifts}")
        return reshape(Roll.apply(reshape(x, -1), shifts=shifts, dims=(0,)), x.shape)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(dims) != len(shifts):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    return Roll.apply(x, shifts=shifts, dims=tuple(_dim(d, x.ndim, "roll") for d in dims))
