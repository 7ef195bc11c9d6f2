"""Indexing: pick elements out (forward), put the gradient back where they came from (backward).

=== getitem      x[...]: slices, ints, None, Ellipsis (views), integer arrays, boolean masks
=== slicing      split chunk unbind narrow
=== gather       gather scatter_add index_select; scatter index_add nonzero
=== masking      masked_fill masked_scatter; tril triu (the triangles of the last two dims)
=== windows      unfold (sliding windows along one dim)
=== padding      pad (constant, reflect, replicate, circular)
=== encoding     one_hot
"""
import weakref

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import where
from .shape import _dim, permute, reshape


def _index_array(i):
    if isinstance(i, Tensor):
        return i.array
    if isinstance(i, (list, bool, np.bool_)):  # x[True] is a (0-d) mask in NumPy and PyTorch
        return np.asarray(i)
    return i


_BASIC = frozenset((int, slice, type(None), type(Ellipsis)))  # bool is not int here: a mask


def _normalise_index(index):
    """Tensors, lists and bools in an index become arrays. Returns (index, has integer arrays,
    is basic), where a basic index (ints, slices, None, Ellipsis) selects a view."""
    items = index if type(index) is tuple else (index,)
    if all(type(i) in _BASIC for i in items):  # the common case (x[:, :h], x[..., 0]), first
        if not any(i is Ellipsis for i in items):
            items = items + (Ellipsis,)  # x[0] of a 1-D array: a 0-d view, not a NumPy scalar
        return items, False, True
    if isinstance(index, tuple):
        index = tuple(_index_array(i) for i in index)
        items = index
    else:
        index = _index_array(index)
        items = (index,)
    has_int_array = has_array = False
    for i in items:
        if isinstance(i, np.ndarray):
            has_array = True
            if i.dtype.kind in "iu":
                has_int_array = True
            elif i.dtype.kind != "b":
                raise IndexError(f"getitem: tensors used as indices must be integer or bool, "
                                 f"got {i.dtype}")
    if not has_array and not any(i is Ellipsis for i in items):
        # x[0] of a 1-D array is a NumPy scalar (a copy); x[0, ...] is a 0-d view, as in PyTorch
        index = items + (Ellipsis,)
    return index, has_int_array, not has_array


# === getitem ===============================================================
class GetItem(Function):
    # y = x[index];  dL/dx = zeros with dL/dy added at index (repeated indices accumulate)
    def forward(ctx, x, index, accumulate):
        ctx.args = x.shape, index, accumulate
        return x[index]

    def backward(ctx, grad):
        shape, index, accumulate = ctx.args
        return IndexAdd.apply(grad, shape=shape, index=index, accumulate=accumulate)


class IndexAdd(Function):
    # y = zeros(shape) with x added at index;  dL/dx = dL/dy[index]
    def forward(ctx, x, shape, index, accumulate):
        ctx.args = index, accumulate
        y = np.zeros(shape, x.dtype)
        if accumulate:
            np.add.at(y, index, x)
        else:
            y[index] = x
        return y

    def backward(ctx, grad):
        index, accumulate = ctx.args
        return GetItem.apply(grad, index=index, accumulate=accumulate)


def getitem(x, index):
    index, has_int_array, basic = _normalise_index(index)
    try:
        out = GetItem.apply(x, index=index, accumulate=has_int_array)
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor shape {x.shape})") from None
    if basic:
        # A basic index gives a NumPy view: writing into one writes into the other. As in
        # PyTorch, the view shares x's version counter, so an in-place op through it is seen by
        # every backward that saved x. While recording, the nodes also keep who is a view of
        # whom, so that an in-place op on either side can update the other's history
        # (ops/inplace.py): the view's node keeps (base, index, the base's own chain) and so
        # keeps the base alive, as a PyTorch view does; the base's node keeps its views weakly.
        out._vc = x._vc
        if out._node is not None:
            out._node.view_of = (x, index, getattr(x._node, "view_of", None))
            if x._node is not None:
                _add_view(x._node, out, index)
    return out


def _add_view(node, view, index):
    views = node.__dict__.setdefault("views", [])
    views.append((weakref.ref(view), index))
    if len(views) % 64 == 0:  # a tensor sliced in a loop: forget the views that are gone
        views[:] = [v for v in views if v[0]() is not None]


# === slicing ===============================================================
def narrow(x, dim, start, length):
    """``length`` elements of dim from ``start`` (negative start counts from the end)."""
    d = _dim(dim, x.ndim, "narrow")
    n = x.shape[d]
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dim {dim} of size {n}")
    start %= max(n, 1)
    if length < 0 or start + length > n:
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds dim {dim} of size "
                         f"{n}")
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


def split(x, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along dim (the last may be smaller), or of the given sizes."""
    d = _dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} sum to {sum(sizes)}, but dim {dim} has size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(x, d, start, s))
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    d = _dim(dim, x.ndim, "chunk")
    size = -(-x.shape[d] // chunks)
    return split(x, max(size, 1), d)


def unbind(x, dim=0):
    d = _dim(dim, x.ndim, "unbind")
    return tuple(getitem(x, (slice(None),) * d + (i,)) for i in range(x.shape[d]))


# === gather ================================================================
def _coords(index, dim):
    """Full coordinate arrays that address x[..., index[...], ...] along dim."""
    grid = list(np.ogrid[tuple(slice(s) for s in index.shape)])
    grid[dim] = index
    return tuple(grid)


class Gather(Function):
    # y[i][j] = x[i][index[i][j]] (along dim);  dL/dx = dL/dy scattered (added) back to index
    def forward(ctx, x, dim, index):
        ctx.args = x.shape, _coords(index, dim)
        return x[ctx.args[1]]

    def backward(ctx, grad):
        shape, coords = ctx.args
        return IndexAdd.apply(grad, shape=shape, index=coords, accumulate=True)


class ScatterAdd(Function):
    # y = x, then y[index[i][j]] += src[i][j] (along dim);  dL/dx = dL/dy, dL/dsrc = gather(dL/dy)
    def forward(ctx, x, src, dim, index):
        coords = _coords(index, dim)
        ctx.coords = coords
        ctx.src_shape = src.shape
        ctx.src_index = tuple(slice(s) for s in index.shape)
        y = x.copy()
        np.add.at(y, coords, src[ctx.src_index])
        return y

    def backward(ctx, grad):
        gx, gsrc = None, None
        if ctx.needs_input_grad[0]:
            gx = grad
        if ctx.needs_input_grad[1]:
            picked = GetItem.apply(grad, index=ctx.coords, accumulate=True)
            gsrc = IndexAdd.apply(picked, shape=ctx.src_shape, index=ctx.src_index, accumulate=False) \
                if picked.shape != ctx.src_shape else picked
        return gx, gsrc


def _check_index(index, x, dim, op):
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {idx.dtype}")
    if idx.ndim != x.ndim:
        raise ValueError(f"{op}: index must have as many dimensions as the input; index "
                         f"{idx.shape}, input {x.shape}")
    n = x.shape[dim]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].flat[0]
        raise IndexError(f"{op}: index {bad} is out of bounds for dim {dim} of size {n}; indices "
                         f"must be in [0, {n - 1}] (negative ones do not count from the end, as "
                         "in PyTorch)")
    for d in range(x.ndim):
        if d != dim and idx.shape[d] > x.shape[d]:
            raise ValueError(f"{op}: index {idx.shape} is larger than the input {x.shape} in "
                             f"dim {d}")
    return idx


def gather(x, dim, index):
    d = _dim(dim, x.ndim, "gather")
    idx = _check_index(index, x, d, "gather")
    return Gather.apply(x, dim=d, index=idx)


def scatter_add(x, dim, index, src):
    d = _dim(dim, x.ndim, "scatter_add")
    idx = _check_index(index, x, d, "scatter_add")
    if not isinstance(src, Tensor):
        src = Tensor._make(np.asarray(src, x.dtype))
    if src.ndim != idx.ndim or any(i > s for i, s in zip(idx.shape, src.shape)):
        raise ValueError(f"scatter_add: index {idx.shape} must be no larger than src {src.shape} "
                         "in every dim")
    return ScatterAdd.apply(x, src, dim=d, index=idx)


def index_select(x, dim, index):
    d = _dim(dim, x.ndim, "index_select")
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"index_select: index must be an integer tensor, got {idx.dtype}")
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {idx.shape}")
    n = x.shape[d]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].flat[0]
        raise IndexError(f"index_select: index {bad} is out of bounds for dim {dim} of size {n}; "
                         f"indices must be in [0, {n - 1}] (negative ones do not count from the "
                         "end, as in PyTorch)")
    return getitem(x, (slice(None),) * d + (idx.reshape(-1),))


def take_along_dim(x, indices, dim):
    return gather(x, dim, indices)


class Scatter(Function):
    # y = x, then y[index[i][j]] = src[i][j] (along dim);  dL/dx = dL/dy where nothing was
    # written, dL/dsrc = dL/dy gathered at index (repeated indices: the last write wins, as on CPU)
    def forward(ctx, x, src, dim, index):
        coords = _coords(index, dim)
        written = np.zeros(x.shape, bool)
        written[coords] = True
        ctx.coords, ctx.written = coords, written
        ctx.src_shape, ctx.src_index = src.shape, tuple(slice(s) for s in index.shape)
        y = x.copy()
        y[coords] = src[ctx.src_index]
        return y

    def backward(ctx, grad):
        na, nb = ctx.needs_input_grad
        gx = MaskedFill.apply(grad, mask=ctx.written, value=0) if na else None
        gsrc = None
        if nb:
            picked = GetItem.apply(grad, index=ctx.coords, accumulate=True)
            gsrc = picked if picked.shape == ctx.src_shape else IndexAdd.apply(
                picked, shape=ctx.src_shape, index=ctx.src_index, accumulate=False)
        return gx, gsrc


def scatter(x, dim, index, src=None, value=None, reduce=None):
    """Out of place ``x.scatter_(dim, index, src)``: x with ``src[i][j]`` written at
    ``index[i][j]`` along dim (``value=`` a number instead of src). ``reduce="add"`` adds
    (scatter_add)."""
    if src is None:
        src = value
    d = _dim(dim, x.ndim, "scatter")
    idx = _check_index(index, x, d, "scatter")
    if not isinstance(src, Tensor):
        src = Tensor._make(np.broadcast_to(np.asarray(src, x.dtype), idx.shape))
    if reduce in ("add", "sum"):
        return scatter_add(x, d, idx, src)
    if reduce is not None:
        raise ValueError(f"scatter: reduce={reduce!r} is not supported; use 'add' or "
                         "scatter_reduce")
    if src.ndim != idx.ndim or any(i > s for i, s in zip(idx.shape, src.shape)):
        raise ValueError(f"scatter: index {idx.shape} must be no larger than src {src.shape} "
                         "in every dim")
    if src.dtype != x.dtype:
        src = src.to(x.dtype)
    return Scatter.apply(x, src, dim=d, index=idx)


def index_add(x, dim, index, source, alpha=1):
    """x with ``alpha * source`` added at ``index`` (1-D) along dim: for each i,
    ``y[..., index[i], ...] += alpha * source[..., i, ...]``; repeated indices accumulate."""
    d = _dim(dim, x.ndim, "index_add")
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise TypeError(f"index_add: index must be a 1-D integer tensor, got {idx.dtype} of "
                        f"shape {idx.shape}")
    if alpha != 1:
        source = source * alpha
    placed = IndexAdd.apply(source, shape=x.shape, index=(slice(None),) * d + (idx.reshape(-1),),
                            accumulate=True)
    return x + placed


def nonzero(x, as_tuple=False):
    """The indices of the nonzero elements: an int64 tensor (count, ndim), or with
    ``as_tuple=True`` one 1-D tensor per dimension (what ``x[mask]`` indexes with)."""
    a = x.array if isinstance(x, Tensor) else np.asarray(x)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(a)))
    return Tensor._make(np.argwhere(a).astype(np.int64))


# === masking ===============================================================
class MaskedFill(Function):
    # y = value where mask else x;  dL/dx = dL/dy where not mask
    def forward(ctx, x, mask, value):
        ctx.mask = mask
        return np.where(mask, np.asarray(value, x.dtype), x)

    def backward(ctx, grad):
        return MaskedFill.apply(grad, mask=ctx.mask, value=0)


def masked_fill(x, mask, value):
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {m.dtype}")
    try:
        fits = np.broadcast_shapes(m.shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"masked_fill: mask of shape {m.shape} does not broadcast to the input's "
                         f"shape {x.shape}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got a tensor "
                             f"of shape {value.shape}")
        if value.requires_grad:
            return where(m, value, x)
        value = value.item()
    return MaskedFill.apply(x, mask=m, value=value)


def masked_scatter(x, mask, source):
    """x with the positions where ``mask`` is true filled, in row-major order, by the first
    elements of ``source``: the gradient of x is zero there, source's is dL/dy[mask] in its first
    elements and zero after."""
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_scatter: mask must be a bool tensor, got {m.dtype}")
    m = np.broadcast_to(m, x.shape)
    k = int(m.sum())
    if source.array.size < k:
        raise ValueError(f"masked_scatter: the mask selects {k} elements but source has only "
                         f"{source.array.size}")
    picked = getitem(reshape(source, -1), slice(0, k))
    if picked.dtype != x.dtype:
        picked = picked.to(x.dtype)
    placed = IndexAdd.apply(picked, shape=x.shape, index=m, accumulate=False)
    return MaskedFill.apply(x, mask=m, value=0) + placed


# === windows ===============================================================
def unfold(x, dimension, size, step):
    """Every window of ``size`` elements along ``dimension``, ``step`` apart: that dim becomes the
    number of windows and a new last dim of length ``size`` holds each window."""
    d = _dim(dimension, x.ndim, "unfold")
    n = x.shape[d]
    if size > n or size < 1 or step < 1:
        raise ValueError(f"unfold: size {size} must be in [1, {n}] (dim {dimension} has {n} "
                         f"elements) and step {step} must be positive")
    count = (n - size) // step + 1
    idx = np.arange(count)[:, None] * step + np.arange(size)[None, :]
    windows = getitem(x, (slice(None),) * d + (idx,))           # (..., count, size, ...)
    order = [i for i in range(windows.ndim) if i != d + 1] + [d + 1]
    return permute(windows, *order)


# === padding ===============================================================
class PadConstant(Function):
    # y = x surrounded by a constant;  dL/dx = the interior of dL/dy
    def forward(ctx, x, widths, value):
        ctx.inner = tuple(slice(lo, lo + s) for (lo, _), s in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    def backward(ctx, grad):
        return grad[ctx.inner]


def pad(x, pad, mode="constant", value=0.0):
    """PyTorch's ``F.pad``: ``pad`` lists (left, right) pairs starting from the LAST dimension,
    e.g. (1, 1, 2, 2) pads the last dim by 1 and the one before by 2. Modes: 'constant',
    'reflect', 'replicate', 'circular'. Negative pads crop."""
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of pad values, at most 2 per dimension "
                         f"({2 * x.ndim} for shape {x.shape}); got {len(pad)}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if any(lo < 0 or hi < 0 for lo, hi in widths):  # crop first, then pad the rest
        crop = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for (lo, hi), s in zip(widths, x.shape))
        x = getitem(x, crop)
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        return PadConstant.apply(x, widths=tuple(widths), value=value)
    # the other modes only choose which source element each output element copies: an index
    idx = []
    for (lo, hi), n in zip(widths, x.shape):
        j = np.arange(-lo, n + hi)
        if mode == "reflect":
            if lo >= n or hi >= n:
                raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the "
                                 f"dimension size {n}")
            j = np.abs(j)
            j = np.where(j >= n, 2 * (n - 1) - j, j)
        elif mode == "replicate":
            j = np.clip(j, 0, n - 1)
        elif mode == "circular":
            j = j % n
        else:
            raise ValueError(f"pad: unknown mode {mode!r}; use 'constant', 'reflect', "
                             "'replicate' or 'circular'")
        idx.append(j)
    return getitem(x, np.ix_(*idx))


# === encoding ==============================================================
def one_hot(x, num_classes=-1):
    """Integer class labels (any shape) to int64 one-hot vectors in a new last dimension."""
    labels = x.array if isinstance(x, Tensor) else np.asarray(x)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer tensor of class indices, got {labels.dtype}")
    if num_classes < 0:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)].flat[0]
        raise ValueError(f"one_hot: class index {bad} is out of range for num_classes="
                         f"{num_classes} (valid: 0 to {num_classes - 1})")
    out = np.zeros(labels.shape + (num_classes,), np.int64)
    np.put_along_axis(out, labels[..., None].astype(np.intp), 1, axis=-1)
    return Tensor._make(out)


# === triangles =============================================================
class Triangle(Function):
    # y = x on and below (tril) / on and above (triu) the diagonal, else 0;
    # dL/dx = dL/dy masked the same way
    def forward(ctx, x, upper, diagonal):
        ctx.args = upper, diagonal
        return np.triu(x, diagonal) if upper else np.tril(x, diagonal)

    def backward(ctx, grad):
        upper, diagonal = ctx.args
        return Triangle.apply(grad, upper=upper, diagonal=diagonal)


def _triangle(x, diagonal, upper, op):
    if x.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dimensions (the matrix is the last "
                           f"two), got shape {x.shape}; reshape a vector to a matrix first")
    if not isinstance(diagonal, (int, np.integer)):
        raise TypeError(f"{op}: diagonal must be an int, got {type(diagonal).__name__}")
    return Triangle.apply(x, upper=upper, diagonal=int(diagonal))


def tril(x, diagonal=0):
    """The lower triangle of the last two dims (``diagonal`` > 0 keeps more above it), zeros
    elsewhere."""
    return _triangle(x, diagonal, False, "tril")


def triu(x, diagonal=0):
    """The upper triangle of the last two dims (``diagonal`` > 0 drops more), zeros elsewhere."""
    return _triangle(x, diagonal, True, "triu")
