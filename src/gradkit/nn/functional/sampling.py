"""Resampling: values read at computed positions, with the numbers of PyTorch's CPU kernels.

=== the taps of one axis   which input pixels each output pixel reads, with which weights
=== Resample               y = A x along one axis, and its adjoint Aᵀ g
=== Pick                   y = x at given pixels (0 outside), and its adjoint
=== interpolate            nearest, nearest-exact, (bi/tri)linear, bicubic (antialiased or not), area
=== grid_sample            bilinear / nearest reads of (N, C, H, W) at the points of a grid in [-1, 1]

interpolate is separable: one spatial axis at a time, the last first (as PyTorch), each a sparse
linear map ``y[i] = Σ_k x[index[i, k]] · weight[i, k]`` -- a weight matrix A of shape (out, in)
with a few non-zeros a row, nearest's a single 1 -- whose gradient is the transposed product
``Aᵀ G``, computed by the same tap sum over A's transposed taps. grid_sample picks the four
neighbours (Pick, whose adjoint adds back) and weighs them with differentiable ops, so that it is
differentiable in the grid too.

The rules (PyTorch's ``UpSample.h``, ``cpu/UpSampleKernel.cpp``, ``cpu/GridSamplerKernel.cpp``):

- Output pixel i of an axis of n pixels resized to m reads around the source coordinate
  ``(i + 0.5) * scale - 0.5`` with ``scale = n / m`` (or ``1 / scale_factor``); with
  align_corners, ``i * (n - 1) / (m - 1)``.
- linear: the two neighbours, weights ``1 - t`` and ``t``. bicubic: Keys' cubic convolution with
  a = -0.75 over four neighbours, the indices clamped at the border.
- antialias (bilinear and bicubic, as Pillow): when shrinking by ``scale`` the filter is
  stretched by ``scale`` (a triangle of half-width ``scale`` for bilinear; Keys' cubic with
  a = -0.5 for bicubic) and each output's taps are renormalised to sum to 1.
- nearest: ``floor(i * scale)``; nearest-exact: ``floor((i + 0.5) * scale)``; in float32.

Rounding. The weights are computed in the input's dtype with the C++ code's casts, and where
PyTorch's compiled x86-64 kernels fuse a multiply-add (one rounding instead of two) so does
``_fma`` here (through float64, the one upcast of float32 data: it is what makes a uint8 image
resized in float32 round to torchvision's integers). Most float32 results are then equal to
PyTorch's bit for bit (bilinear without antialias when both sides change, and antialiased
shrinking by more than about 1.5, can differ in the last bit); float64 differs by ~1e-15.
"""
import functools
import math

import numpy as np

from ... import _internal
from ...autograd.function import Function
from ...ops import clamp, floor, reshape
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = ["interpolate", "upsample", "grid_sample"]

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _fma(a, b, c):
    """``a * b + c`` rounded once (a fused multiply-add): exact for float32, through float64;
    float64 is left to ordinary rounding."""
    if np.result_type(a, b, c) != np.float32:
        return a * b + c
    if np.ndim(a) == 0:
        return (np.float64(a) * b + c).astype(np.float32)
    t = a.astype(np.float64)
    t *= b
    t += c
    return t.astype(np.float32)


# === the taps of one axis: (index, weight), each (m, taps), for n input pixels -> m ==============
def _nearest(n, m, scale_factor, exact):
    """The input pixel each output pixel copies (PyTorch's nearest_idx / nearest_exact_idx)."""
    i = np.arange(m)
    if not exact and m == n:
        return i
    if not exact and m == 2 * n:
        return i >> 1
    scale = np.float32(1.0 / scale_factor) if scale_factor else np.float32(n) / np.float32(m)
    # nearest: i * scale in float32; nearest-exact: (i + 0.5) * scale in double, then floorf
    src = (i.astype(np.float32) * scale) if not exact else (i + 0.5) * np.float64(scale)
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n - 1)


def _scale(n, m, dt, scale_factor, align_corners):
    """PyTorch's area_pixel_compute_scale, in the input's dtype."""
    if align_corners:
        return dt.type(n - 1) / dt.type(m - 1) if m > 1 else dt.type(0)
    return dt.type(1.0 / scale_factor) if scale_factor else dt.type(n) / dt.type(m)


def _source(m, scale, align_corners, dt):
    """The source coordinate of each output pixel: ``(i + 0.5) * scale - 0.5`` (one fused
    multiply-add), or ``i * scale`` with align_corners."""
    i = np.arange(m)
    if align_corners:
        return scale * i.astype(dt)
    return _fma(scale, (i + 0.5).astype(dt), dt.type(-0.5))


def _floor_frac(real, n, dt):
    """The left neighbour (floor taken in float32, as C's floorf) and the fraction t in [0, 1]."""
    i0 = np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), n - 1)
    return i0, np.clip(real - i0.astype(dt), dt.type(0), dt.type(1))


def _linear(n, m, scale, align_corners, dt):
    i0, t = _floor_frac(np.maximum(_source(m, scale, align_corners, dt), dt.type(0)), n, dt)
    i1 = i0 + (i0 < n - 1)
    return np.stack([i0, i1], 1), np.stack([dt.type(1) - t, t], 1)


# Keys' cubic convolution kernel: (a + 2)|x|^3 - (a + 3)|x|^2 + 1 for |x| <= 1,
# a|x|^3 - 5a|x|^2 + 8a|x| - 4a for 1 < |x| < 2; Horner's rule, fused as each PyTorch loop is
def _keys_near(x, a, fused):
    return _fma(_fma(a + 2, x, -(a + 3)) * x, x, 1) if fused else ((a + 2) * x - (a + 3)) * x * x + 1


def _keys_far(x, a, fused):
    if fused:
        return _fma(_fma(_fma(a, x, -5 * a), x, 8 * a), x, -4 * a)
    return _fma(a * x - 5 * a, x, 8 * a) * x - 4 * a


def _cubic(n, m, scale, align_corners, dt):
    a, one = dt.type(-0.75), dt.type(1)
    i0, t = _floor_frac(_source(m, scale, align_corners, dt), n, dt)
    u = one - t
    weights = [_keys_far(t + one, a, False), _keys_near(t, a, False), _keys_near(u, a, False),
               _keys_far(u + one, a, False)]
    index = [np.clip(i0 - 1 + k, 0, n - 1) for k in range(4)]
    return np.stack(index, 1), np.stack(weights, 1).astype(dt)


def _aa_linear(x, dt):   # the triangle filter
    x = np.abs(x)
    return np.where(x < 1, (1.0 - x.astype(np.float64)).astype(dt), dt.type(0))


def _aa_cubic(x, dt):    # Keys' cubic with Pillow's a = -0.5
    x, a = np.abs(x), dt.type(-0.5)
    near, far = _keys_near(x, a, True), _keys_far(x, a, True)
    return np.where(x < 1, near, np.where(x < 2, far, dt.type(0))).astype(dt)


def _antialiased(n, m, scale, dt, taps, kernel):
    """Pillow's resampling with a filter of ``taps`` taps at scale 1, stretched by the scale
    when shrinking: output i reads the input pixels within ``support`` of its centre
    ``(i + 0.5) * scale`` (align_corners changes only the scale, as PyTorch's)."""
    f = dt.type
    s = float(scale)
    support = f(taps * 0.5 * s) if s >= 1.0 else f(taps * 0.5)
    invscale = f(1.0 / s) if s >= 1.0 else f(1.0)
    width = int(np.ceil(support)) * 2 + 1
    center = (s * (np.arange(m) + 0.5)).astype(dt)
    lo = np.maximum(np.trunc((center - support).astype(np.float64) + 0.5).astype(np.int64), 0)
    hi = np.minimum(np.trunc((center + support).astype(np.float64) + 0.5).astype(np.int64), n)
    size = np.clip(hi - lo, 0, width)
    j = np.arange(width)
    pos = (lo[:, None] + j).astype(dt) - center[:, None]
    w = kernel(((pos.astype(np.float64) + 0.5) * float(invscale)).astype(dt), dt)
    w = np.where(j < size[:, None], w, f(0))
    total = np.zeros(m, dt)
    for k in range(width):              # the running sum of the C++ loop
        total += w[:, k]
    w = np.where(total[:, None] != 0, w / np.where(total == 0, f(1), total)[:, None], w)
    used = max(int(size.max()), 2)     # PyTorch's loop stops at each output's size: drop the
    return np.minimum(lo[:, None] + j, n - 1)[:, :used], w[:, :used].astype(dt)   # zero taps


@functools.lru_cache(maxsize=64)
def _axis_taps(n, m, dt, mode, scale_factor, align_corners, antialias):
    """(index, weight), each (m, taps), read-only: cached, as a transform resizes many images of
    one size."""
    scale = _scale(n, m, dt, scale_factor, align_corners)
    if antialias:
        taps, kernel = (2, _aa_linear) if mode in _LINEAR else (4, _aa_cubic)
        index, weight = _antialiased(n, m, scale, dt, taps, kernel)
    elif mode == "bicubic":
        index, weight = _cubic(n, m, scale, align_corners, dt)
    else:
        index, weight = _linear(n, m, scale, align_corners, dt)
    index.flags.writeable = weight.flags.writeable = False
    return index, weight


def _taps(x, axis, index, weight, fuse="rest"):
    """``sum_k x.take(index[:, k], axis) * weight[:, k]`` in order of k. ``fuse="rest"``: ``x0 w0``
    rounded, then each tap fused into the running sum, as PyTorch's loops do; ``"first"``: the
    first tap is the fused one, ``fma(x0, w0, x1 w1)`` (how its compiled kernel rounds the last
    axis without antialias, and every axis of bicubic); None: plain products and sums (the
    adjoint, which has no kernel to match). ``weight`` None: one tap, a copy (nearest)."""
    if weight is None:
        return np.take(x, index[:, 0], axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    tap = lambda k: (np.take(x, index[:, k], axis=axis), weight[:, k].reshape(shape))   # noqa: E731
    x0, w0 = tap(0)
    if fuse is None or index.shape[1] == 1:
        out = x0 * w0
        for k in range(1, index.shape[1]):
            xk, wk = tap(k)
            out += xk * wk
        return out
    x1, w1 = tap(1)
    out = _fma(x0, w0, x1 * w1) if fuse == "first" else _fma(x1, w1, x0 * w0)
    for k in range(2, index.shape[1]):
        out = _fma(*tap(k), out)
    return out


def _transpose(index, weight, n, dtype):
    """The taps of Aᵀ: for each of the n input pixels, the outputs that read it and with which
    weights (as many taps as the most-read pixel has; the rest weigh 0)."""
    m, k = index.shape
    cols = index.reshape(-1)
    order = np.argsort(cols, kind="stable")
    rows, cols = np.repeat(np.arange(m), k)[order], cols[order]
    w = np.ones(m * k, dtype) if weight is None else weight.reshape(-1)[order]
    counts = np.bincount(cols, minlength=n)
    slot = np.arange(m * k) - (np.cumsum(counts) - counts)[cols]
    t_index, t_weight = np.zeros((n, counts.max()), np.int64), np.zeros((n, counts.max()), dtype)
    t_index[cols, slot], t_weight[cols, slot] = rows, w
    return t_index, t_weight


# === Resample: one axis's linear map and its transpose ===========================================
class Resample(Function):
    # y = A x along dim, A[i, index[i, k]] = weight[i, k]:  y[i] = Σ_k x[index[i, k]] · weight[i, k]
    # (weight None: y[i] = x[index[i, 0]], nearest's copy);  dL/dx = Aᵀ G (ResampleAdjoint)
    def forward(ctx, x, dim, index, weight, fuse="rest"):
        ctx.args = dim, index, weight, x.shape[dim]
        return _taps(x, dim, index, weight, fuse)

    def backward(ctx, grad):
        dim, index, weight, n = ctx.args
        return ResampleAdjoint.apply(grad, dim=dim, index=index, weight=weight, n=n)


class ResampleAdjoint(Function):
    # x' = Aᵀ g along dim: the same tap sum over the transposed taps;  dL/dg = A G (Resample)
    def forward(ctx, g, dim, index, weight, n):
        ctx.args = dim, index, weight
        return _taps(g, dim, *_transpose(index, weight, n, g.dtype), fuse=None)

    def backward(ctx, grad):
        dim, index, weight = ctx.args
        return Resample.apply(grad, dim=dim, index=index, weight=weight)


class Pick(Function):
    # y[b, :, p] = x[b, :, index[b, p]] · inside[b, p] (0 where the point is outside the image)
    # dL/dx[b, :, j] = Σ_{p: index[b, p] = j} G[b, :, p] · inside[b, p]  (PickAdjoint)
    def forward(ctx, x, index, inside):
        ctx.args = index, inside, x.shape[2]
        y = np.stack([np.take(x[b], index[b], axis=1) for b in range(x.shape[0])])
        y *= inside[:, None, :]
        return y

    def backward(ctx, grad):
        index, inside, size = ctx.args
        return PickAdjoint.apply(grad, index=index, inside=inside, size=size)


class PickAdjoint(Function):
    # x'[b, :, index[b, p]] += g[b, :, p] · inside[b, p];  dL/dg = Pick(G)
    def forward(ctx, g, index, inside, size):
        ctx.args = index, inside
        gx = np.zeros(g.shape[:2] + (size,), g.dtype)
        for b in range(g.shape[0]):
            np.add.at(gx[b].T, index[b], (g[b] * inside[b]).T)
        return gx

    def backward(ctx, grad):
        index, inside = ctx.args
        return Pick.apply(grad, index=index, inside=inside)


# === interpolate =================================================================================
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of ``input`` (N, C, *spatial) to ``size`` or by ``scale_factor``.

    mode: ``nearest`` (default), ``nearest-exact``, ``linear`` (3-D input), ``bilinear`` (4-D),
    ``trilinear`` (5-D), ``bicubic`` (4-D), ``area`` (adaptive average pooling). ``align_corners``
    (linear modes and bicubic): map the corner pixels' centres onto each other. ``antialias``
    (bilinear and bicubic): when shrinking, average over the footprint of each output pixel, as
    Pillow does. Same values as PyTorch's; every mode is differentiable in ``input``.

    >>> F.interpolate(x, size=(112, 112), mode="bilinear", antialias=True)   # x (N, C, 224, 224)
    """
    x = input
    nsp = x.ndim - 2
    if nsp < 1 or nsp > 3:
        raise ValueError(f"interpolate: expects (N, C, *spatial) with 1 to 3 spatial dims, got "
                         f"shape {x.shape}")
    if mode in _LINEAR and _LINEAR[mode] != nsp:
        raise ValueError(f"interpolate: mode {mode!r} expects {_LINEAR[mode] + 2}-D input, got "
                         f"{x.ndim}-D (shape {x.shape})")
    if mode == "bicubic" and nsp != 2:
        raise ValueError(f"interpolate: mode 'bicubic' expects 4-D input, got shape {x.shape}")
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ValueError(f"interpolate: antialias=True applies to modes 'bilinear' and 'bicubic' "
                         f"(4-D input), not {mode!r}")
    if align_corners is not None and mode not in (*_LINEAR, "bicubic"):
        raise ValueError(f"interpolate: align_corners applies to linear and bicubic modes, not "
                         f"{mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = x.shape[2:]
    if size is not None:
        sizes = (size,) * nsp if isinstance(size, int) else tuple(int(s) for s in size)
        scales = (None,) * nsp
    else:
        scales = (scale_factor,) * nsp if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        sizes = tuple(int(math.floor(n * s)) for n, s in zip(in_sizes, scales))
        if recompute_scale_factor:
            scales = (None,) * nsp
    if len(sizes) != nsp or len(scales) != nsp:
        raise ValueError(f"interpolate: size/scale_factor must give {nsp} values for input of "
                         f"shape {x.shape}")
    if mode == "area":
        if nsp == 1:
            return adaptive_avg_pool1d(x, sizes[0])
        if nsp == 2:
            return adaptive_avg_pool2d(x, sizes)
        raise NotImplementedError("interpolate: mode 'area' on 5-D input is not supported")
    if mode not in ("nearest", "nearest-exact", "bicubic", *_LINEAR):
        raise ValueError(f"interpolate: unknown mode {mode!r}; use nearest, nearest-exact, linear, "
                         "bilinear, trilinear, bicubic or area")
    nearest = mode in ("nearest", "nearest-exact")
    dt = np.dtype(x.dtype)
    if not nearest and dt.kind != "f":
        raise TypeError(f"interpolate: mode {mode!r} computes in floating point; got a {dt} "
                        f"tensor. Convert it first, e.g. x.float()")
    for k in reversed(range(nsp)):     # separable: the last axis first, as PyTorch's kernels
        d, n, m, sf = k + 2, in_sizes[k], sizes[k], scales[k]
        if nearest:
            idx = _nearest(n, m, sf, mode == "nearest-exact")
            if m != n or np.any(idx != np.arange(n)):
                x = Resample.apply(x, dim=d, index=idx[:, None], weight=None)
            continue
        # an axis that keeps its size is copied (PyTorch's rule for linear and antialiased
        # modes; bicubic's weights are then 0, 1, 0, 0 unless a scale_factor says otherwise)
        if m == n and (antialias or mode != "bicubic"
                       or _scale(n, m, dt, sf, align_corners) == 1):
            continue
        index, weight = _axis_taps(n, m, dt, mode, sf, bool(align_corners), bool(antialias))
        fuse = "first" if not antialias and (d == x.ndim - 1 or mode == "bicubic") else "rest"
        x = Resample.apply(x, dim=d, index=index, weight=weight, fuse=fuse)
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


# === grid_sample =================================================================================
def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Read ``input`` (N, C, H, W) at the points ``grid`` (N, H_out, W_out, 2), whose last dim
    holds (x, y) in [-1, 1] (-1: the left/top edge) -> (N, C, H_out, W_out).

    mode ``bilinear`` (default) or ``nearest`` (ties to even); padding_mode ``zeros`` (points
    outside read 0) or ``border`` (they read the nearest edge pixel). align_corners (default
    False): -1 and 1 are the centres of the corner pixels rather than their outer edges. Bilinear
    is differentiable in both input and grid. The arithmetic is that of PyTorch's CPU kernel.
    """
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise ValueError(f"grid_sample: expects input (N, C, H, W) and grid (N, H_out, W_out, 2); "
                         f"got input {input.shape}, grid {grid.shape} (5-D input is not supported)")
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"grid_sample: mode must be 'bilinear' or 'nearest', got {mode!r} "
                         "('bicubic' is not supported)")
    if padding_mode not in ("zeros", "border"):
        raise ValueError(f"grid_sample: padding_mode must be 'zeros' or 'border', got "
                         f"{padding_mode!r} ('reflection' is not supported)")
    n, c, h, w = input.shape
    ho, wo = grid.shape[1:3]
    if grid.dtype != input.dtype:
        grid = grid.to(input.dtype)

    def pixel(coord, size):  # [-1, 1] -> pixel coordinates
        if align_corners:
            p = (coord + 1) * ((size - 1) / 2)
        else:
            p = (coord + 1) * (size / 2) - 0.5                 # -1 -> -0.5, 1 -> size - 0.5
        return clamp(p, 0, size - 1) if padding_mode == "border" else p

    px, py = pixel(grid[..., 0], w), pixel(grid[..., 1], h)       # (N, H_out, W_out)
    flat = reshape(input, (n, c, h * w))

    def read(ix, iy):  # values at integer pixels (arrays), 0 outside: (N, C, H_out, W_out)
        inside = ((ix >= 0) & (ix <= w - 1) & (iy >= 0) & (iy <= h - 1)).reshape(n, ho * wo)
        lin = np.minimum(np.maximum(iy, 0), h - 1) * w + np.minimum(np.maximum(ix, 0), w - 1)
        return reshape(Pick.apply(flat, index=lin.reshape(n, ho * wo),
                                  inside=inside.astype(input.dtype)), (n, c, ho, wo))

    if mode == "nearest":
        return read(np.rint(px.array).astype(np.int64), np.rint(py.array).astype(np.int64))
    x0, y0 = floor(px), floor(py)
    tx, ty = px - x0, py - y0                                  # differentiable in the grid
    x0a, y0a = x0.array.astype(np.int64), y0.array.astype(np.int64)
    tx, ty = reshape(tx, (n, 1, ho, wo)), reshape(ty, (n, 1, ho, wo))
    # each corner's weight is the product of the distances to the opposite sides, multiplied and
    # summed in the kernel's order (north-west, north-east, south-west, south-east)
    return (read(x0a, y0a) * ((1 - ty) * (1 - tx)) + read(x0a + 1, y0a) * ((1 - ty) * tx)
            + read(x0a, y0a + 1) * (ty * (1 - tx)) + read(x0a + 1, y0a + 1) * (ty * tx))
