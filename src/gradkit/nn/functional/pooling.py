"""Pooling: max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool1d/2d, adaptive_max_pool1d/2d (NCHW).

Max pooling is two steps: find each window's argmax (plain arrays, no gradient), then take those
elements (a gather, whose gradient scatters back to the argmax positions):

    MaxPool          y = x.flat[idx]            dL/dx = scatter of G onto idx (MaxPoolAdjoint)
    MaxPoolAdjoint   the scatter                dL/dG = G'.flat[idx] (MaxPool)
    AvgPool          y = Σ_window x / divisor   dL/dx = G / divisor spread over each window
    AvgPoolAdjoint   the spread                 its gradient is AvgPool again

Each pair are adjoints of each other, so gradients of gradients work. Windows are strided views
(no loops over pixels); maxima and sums over a window loop over the kh·kw kernel offsets only.
"""
import math

import numpy as np

from ... import _internal
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops.linalg import matmul
from ...ops.reduction import mean as _mean
from ...ops.shape import reshape, squeeze, unsqueeze

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d"]


# === max pooling: argmax, then gather / scatter =============================
class MaxPool(Function):
    # y = x.flat[idx]  (idx: each window's argmax);  dL/dx = G scattered onto idx, 0 elsewhere
    def forward(ctx, x, idx, overlap, values=None):
        ctx.args = idx, x.shape, overlap
        # values: x.flat[idx] when the caller found them together with idx (saves a gather)
        return x.reshape(-1).take(idx) if values is None else values

    def backward(ctx, grad):
        idx, shape, overlap = ctx.args
        return MaxPoolAdjoint.apply(grad, idx=idx, shape=shape, overlap=overlap)


class MaxPoolAdjoint(Function):
    # x' = zeros(shape) with x'.flat[idx] += g;  dL/dg = G.flat[idx]
    def forward(ctx, g, idx, shape, overlap):
        ctx.args = idx, overlap
        gx = np.zeros(math.prod(shape), g.dtype)
        if overlap:  # windows share pixels: one pixel can be the argmax of several windows
            np.add.at(gx, idx.reshape(-1), g.reshape(-1))
        else:
            gx[idx.reshape(-1)] = g.reshape(-1)
        return gx.reshape(shape)

    def backward(ctx, grad):
        idx, overlap = ctx.args
        return MaxPool.apply(grad, idx=idx, overlap=overlap)


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _pad_hw(x, pad, value):
    """Pad the last two dims by pad = (top, bottom, left, right) with a constant."""
    pt, pb, pl, pr = pad
    if not (pt or pb or pl or pr):
        return x
    N, C, H, W = x.shape
    xp = np.full((N, C, H + pt + pb, W + pl + pr), value, x.dtype)
    xp[:, :, pt:pt + H, pl:pl + W] = x
    return xp


def _max_pool(x, ksize, stride, pad, dilation, out_hw, need_indices):
    """x: (N, C, H, W) array -> (values, flat indices into x, indices into each (H, W) plane);
    the indices are None unless need_indices.

    One pass per kernel offset over output-sized strided views (a running maximum, and the
    offset where it was reached), branch-free: NumPy's argmax along a short window axis and
    masked assignment are both several times slower than these elementwise ops."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = ksize, stride, dilation, out_hw
    xp = _pad_hw(x, pad, _lowest(x.dtype))  # -inf: padding never wins over a real pixel
    best = arg = None
    for i in range(kh):
        for j in range(kw):
            v = xp[:, :, i * dh:i * dh + sh * (Ho - 1) + 1:sh, j * dw:j * dw + sw * (Wo - 1) + 1:sw]
            if best is None:
                best = v.copy()
                if need_indices:
                    arg = np.zeros(best.shape, np.uint8 if kh * kw <= 256 else np.int32)
                continue
            if need_indices:
                v = np.ascontiguousarray(v)  # read the strided view once, then 3 fast passes
                # PyTorch's rule: move to this offset if v > best or v is NaN
                moved = v > best
                if x.dtype.kind == "f":
                    moved |= np.isnan(v)
                step = np.subtract(arg.dtype.type(i * kw + j), arg)  # > 0: offsets only grow
                step *= moved
                arg += step
            np.maximum(best, v, out=best)  # NaN propagates, as in PyTorch
    if not need_indices:
        return best, None, None
    # the argmax's position in its (H, W) plane: window origin + offset of the kernel element
    koff = ((np.arange(kh) * dh)[:, None] * W + np.arange(kw) * dw).reshape(-1)
    origin = (np.arange(Ho) * sh - pad[0])[:, None] * W + (np.arange(Wo) * sw - pad[2])
    local = origin + koff[arg]  # (koff.take(arg) is ~10x slower here: a uint8 index into int64)
    if any(pad) and x.dtype.kind == "f":
        # a window of real -inf values "peaks" on its first (padding) element; PyTorch points to
        # the first pixel inside the input instead
        bad = np.isneginf(best)
        if bad.any():
            hs, ws = np.arange(Ho) * sh - pad[0], np.arange(Wo) * sw - pad[2]
            h0 = hs + np.maximum(0, (-hs + dh - 1) // dh) * dh
            w0 = ws + np.maximum(0, (-ws + dw - 1) // dw) * dw
            local = np.where(bad, h0[:, None] * W + w0, local)
    flat = local + (np.arange(N * C) * (H * W)).reshape(N, C, 1, 1)
    return best, flat, local


def _pool_out_size(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape: with ceil_mode, the last window must start inside the
    input or the left padding."""
    eff = d * (k - 1) + 1
    out = (n + 2 * p - eff + ((s - 1) if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, op, max_pool=True):
    ks = _pair(kernel_size, "kernel_size", op)
    st = ks if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _pair(stride, "stride", op)
    pd = _pair(padding, "padding", op)
    dl = _pair(dilation, "dilation", op)
    if min(ks) < 1 or min(st) < 1 or min(dl) < 1 or min(pd) < 0:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive and padding "
                         f"non-negative; got kernel_size={ks}, stride={st}, padding={pd}, "
                         f"dilation={dl}")
    for k, p, d in zip(ks, pd, dl):
        half = (d * (k - 1) + 1) // 2 if max_pool else k // 2
        if p > half:
            raise ValueError(f"{op}: padding {pd} should be at most half of the "
                             f"{'effective ' if max_pool else ''}kernel size {ks}")
    H, W = x.shape[2:]
    out = tuple(_pool_out_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip((H, W), ks, st, pd, dl))
    if min(out) < 1:
        raise ValueError(f"{op}: the output would be empty ({out[0]}x{out[1]}): the input "
                         f"{H}x{W} (shape {x.shape}) is smaller than the kernel {ks} with "
                         f"padding {pd} and dilation {dl}")
    # bottom/right padding: the given one, plus what ceil_mode's last window reaches past it
    extra = [max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
             for o, s, d, k, n, p in zip(out, st, dl, ks, (H, W), pd)]
    pad = (pd[0], pd[0] + extra[0], pd[1], pd[1] + extra[1])
    return ks, st, pd, dl, pad, out


def _pair(v, name, op):
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            v = (v[0], v[0])
        if len(v) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def _as_batched(x, dims, op):
    """(N, C, *spatial) stays; (C, *spatial) gets a batch of 1. Returns (x, unbatched)."""
    if x.ndim == dims + 2:
        return x, False
    if x.ndim == dims + 1:
        return unsqueeze(x, 0), True
    sp = "H, W" if dims == 2 else "L"
    raise ValueError(f"{op}: expected a {dims + 2}-D input (N, C, {sp}) or a {dims + 1}-D "
                     f"unbatched one (C, {sp}); got shape {x.shape}")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each (dilated) window.

    input: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out), H_out = ⌊(H + 2·padding -
    dilation·(kh-1) - 1) / stride⌋ + 1 (⌈⌉ with ceil_mode). stride defaults to kernel_size;
    padding is -inf. With return_indices, also the argmax of each window as an int64 index into
    its flattened (H, W) plane (PyTorch's convention, for max_unpool).
    """
    op = "max_pool2d"
    x, unbatched = _as_batched(input, 2, op)
    ks, st, _, dl, pad, out = _pool_geometry(x, kernel_size, stride, padding, dilation,
                                              ceil_mode, op)
    need_grad = grad_mode.is_grad_enabled() and x.requires_grad
    values, flat, local = _max_pool(x.array, ks, st, pad, dl, out, need_grad or return_indices)
    if need_grad:
        overlap = any(s < d * (k - 1) + 1 for s, d, k in zip(st, dl, ks))
        y = MaxPool.apply(x, idx=flat, overlap=overlap, values=values)
    else:
        y = _internal.wrap(values)
    if unbatched:
        y, local = squeeze(y, 0), (None if local is None else local[0])
    return (y, _internal.wrap(local)) if return_indices else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """input: (N, C, L) or (C, L) -> (N, C, L_out); see max_pool2d. Indices index L."""
    x, unbatched = _as_batched(input, 1, "max_pool1d")
    one = lambda v, name: (1 if name != "padding" else 0, _pair(v, name, "max_pool1d")[0])
    r = max_pool2d(unsqueeze(x, 2), one(kernel_size, "kernel_size"),
                   None if stride is None else one(stride, "stride"), one(padding, "padding"),
                   one(dilation, "dilation"), ceil_mode, return_indices)
    y, idx = r if return_indices else (r, None)
    y = squeeze(y, 2)
    if unbatched:
        y = squeeze(y, 0)
    if not return_indices:
        return y
    idx = _internal.wrap(idx.array[:, :, 0][0] if unbatched else idx.array[:, :, 0])
    return y, idx


# === average pooling ========================================================
class AvgPool(Function):
    # y = Σ_window x / divisor;  dL/dx = G / divisor added back over each window (AvgPoolAdjoint)
    def forward(ctx, x, ksize, stride, pad, out_hw, divisor):
        ctx.args = ksize, stride, pad, out_hw, divisor, x.shape[2:]
        (kh, kw), (sh, sw), (Ho, Wo) = ksize, stride, out_hw
        xp = _pad_hw(x, pad, 0)
        y = np.zeros(x.shape[:2] + (Ho, Wo), x.dtype)
        for i in range(kh):
            for j in range(kw):
                y += xp[:, :, i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw]
        y /= divisor
        return y

    def backward(ctx, grad):
        ksize, stride, pad, _, divisor, in_hw = ctx.args
        return AvgPoolAdjoint.apply(grad, ksize=ksize, stride=stride, pad=pad, divisor=divisor,
                                    in_hw=in_hw)


class AvgPoolAdjoint(Function):
    # x' = each g / divisor added onto every pixel of its window;  dL/dg = AvgPool(G)
    def forward(ctx, g, ksize, stride, pad, divisor, in_hw):
        ctx.args = ksize, stride, pad, divisor, g.shape[2:]
        (kh, kw), (sh, sw), (Ho, Wo), (H, W) = ksize, stride, g.shape[2:], in_hw
        pt, pb, pl, pr = pad
        gd = g / divisor
        gxp = np.zeros(g.shape[:2] + (H + pt + pb, W + pl + pr), g.dtype)
        for i in range(kh):
            for j in range(kw):
                gxp[:, :, i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw] += gd
        return np.ascontiguousarray(gxp[:, :, pt:pt + H, pl:pl + W])

    def backward(ctx, grad):
        ksize, stride, pad, divisor, out_hw = ctx.args
        return AvgPool.apply(grad, ksize=ksize, stride=stride, pad=pad, out_hw=out_hw,
                             divisor=divisor)


def _avg_divisor(in_hw, ks, st, pd, out, count_include_pad, divisor_override, dtype):
    """PyTorch's divisor per output pixel: the window clipped to the padded input
    (count_include_pad) or to the input itself; separable, so an outer product of two counts."""
    if divisor_override:
        return np.asarray(divisor_override, dtype)
    counts = []
    for n, k, s, p, o in zip(in_hw, ks, st, pd, out):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            counts.append(end - start)
        else:
            counts.append(np.minimum(end, n) - np.maximum(start, 0))
    div = np.multiply.outer(counts[0], counts[1]).astype(dtype)
    return div.reshape(-1)[:1].reshape(()) if (div == div.flat[0]).all() else div


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """The mean of each window.

    input: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out). stride defaults to kernel_size.
    Divisor: the window's size within the zero-padded input (count_include_pad=True), or only
    its pixels inside the input (False), or divisor_override.
    """
    op = "avg_pool2d"
    x, unbatched = _as_batched(input, 2, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: needs a floating point input, got {x.dtype}; convert with .float()")
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{op}: divisor_override must be non-zero")
    ks, st, pd, _, pad, out = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode, op,
                                             max_pool=False)
    div = _avg_divisor(x.shape[2:], ks, st, pd, out, count_include_pad, divisor_override,
                       x.dtype)
    y = AvgPool.apply(x, ksize=ks, stride=st, pad=pad, out_hw=out, divisor=div)
    return squeeze(y, 0) if unbatched else y


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """input: (N, C, L) or (C, L) -> (N, C, L_out); see avg_pool2d."""
    x, unbatched = _as_batched(input, 1, "avg_pool1d")
    one = lambda v, name: (1 if name != "padding" else 0, _pair(v, name, "avg_pool1d")[0])
    y = avg_pool2d(unsqueeze(x, 2), one(kernel_size, "kernel_size"),
                   None if stride is None else one(stride, "stride"), one(padding, "padding"),
                   ceil_mode, count_include_pad)
    y = squeeze(y, 2)
    return squeeze(y, 0) if unbatched else y


# === adaptive pooling =======================================================
def _adaptive_bounds(n, out):
    """PyTorch's windows: start = ⌊i·n/out⌋, end = ⌈(i+1)·n/out⌉ (they overlap when out ∤ n)."""
    i = np.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def _output_size(output_size, in_hw, op):
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * len(in_hw)
    if len(sizes) != len(in_hw):
        raise ValueError(f"{op}: output_size must be an int or a tuple of {len(in_hw)}, got "
                         f"{output_size!r}")
    sizes = tuple(n if s is None else int(s) for s, n in zip(sizes, in_hw))
    if min(sizes) < 1 and min(in_hw) > 0:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    return sizes


def _pool_matrix(n, out, dtype):
    """(out, n) matrix whose row i averages window i: adaptive average pooling along one axis."""
    start, end = _adaptive_bounds(n, out)
    j = np.arange(n)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return _internal.wrap((inside / (end - start)[:, None]).astype(dtype))


def adaptive_avg_pool2d(input, output_size):
    """Average over windows chosen so that the output has ``output_size`` (int, pair, None keeps
    the input size). input: (N, C, H, W) or (C, H, W) -> (N, C, oh, ow).

    When the output divides the input the windows tile it (a reshape and a mean); otherwise they
    overlap, and the pooling is y = A_h · x · A_wᵀ with two constant averaging matrices.
    """
    op = "adaptive_avg_pool2d"
    x, unbatched = _as_batched(input, 2, op)
    N, C, H, W = x.shape
    oh, ow = _output_size(output_size, (H, W), op)
    if H % oh == 0 and W % ow == 0:
        y = _mean(reshape(x, (N, C, oh, H // oh, ow, W // ow)), (3, 5))
    else:
        y = matmul(matmul(_pool_matrix(H, oh, x.dtype), x), _pool_matrix(W, ow, x.dtype).mT)
    return squeeze(y, 0) if unbatched else y


def adaptive_avg_pool1d(input, output_size):
    """input: (N, C, L) or (C, L) -> (N, C, output_size)."""
    x, unbatched = _as_batched(input, 1, "adaptive_avg_pool1d")
    size = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    y = squeeze(adaptive_avg_pool2d(unsqueeze(x, 2), (1, size)), 2)
    return squeeze(y, 0) if unbatched else y


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """The maximum over adaptive windows (see adaptive_avg_pool2d). input: (N, C, H, W) or
    (C, H, W) -> (N, C, oh, ow), plus per-plane argmax indices with return_indices."""
    op = "adaptive_max_pool2d"
    x, unbatched = _as_batched(input, 2, op)
    N, C, H, W = x.shape
    oh, ow = _output_size(output_size, (H, W), op)
    # every window padded to the largest one by repeating its last row/column (max unchanged)
    rows, cols = [], []
    for n, o, out in ((H, oh, rows), (W, ow, cols)):
        start, end = _adaptive_bounds(n, o)
        k = int((end - start).max())
        out.append(np.minimum(start[None, :] + np.arange(k)[:, None], end[None, :] - 1))  # (k, o)
    (r,), (c,) = rows, cols
    kh, kw = r.shape[0], c.shape[0]
    ri = r[:, None, :, None]  # (kh, 1, oh, 1)
    ci = c[None, :, None, :]  # (1, kw, 1, ow)
    win = x.array[:, :, ri, ci].reshape(N, C, kh * kw, oh, ow)
    t = win.argmax(2)
    local = np.take_along_axis(np.broadcast_to(ri * W + ci, (kh, kw, oh, ow)).reshape(
        1, 1, kh * kw, oh, ow), t[:, :, None], 2)[:, :, 0]
    flat = local + (np.arange(N * C) * (H * W)).reshape(N, C, 1, 1)
    y = MaxPool.apply(x, idx=flat, overlap=True)
    if unbatched:
        y, local = squeeze(y, 0), local[0]
    return (y, _internal.wrap(local)) if return_indices else y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """input: (N, C, L) or (C, L) -> (N, C, output_size)."""
    x, unbatched = _as_batched(input, 1, "adaptive_max_pool1d")
    size = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    y, idx = adaptive_max_pool2d(unsqueeze(x, 2), (1, size), return_indices=True)
    y, idx = squeeze(y, 2), idx.array[:, :, 0]
    if unbatched:
        y, idx = squeeze(y, 0), idx[0]
    return (y, _internal.wrap(idx)) if return_indices else y
