"""Resampling: values read at computed positions, written with differentiable ops.

=== interpolate   nearest, nearest-exact, (bi/tri)linear, bicubic, area, over 1-3 spatial dims
=== grid_sample   bilinear / nearest reads of (N, C, H, W) at the points of a grid in [-1, 1]

Each is a composition of index_select / gather (whose backward adds the gradient back to the
positions read) and products with weights, so the gradients (for grid_sample, the grid's too) are
those ops' own: there is no backward to write here.
"""
import math

import numpy as np

from ...ops import clamp, floor, gather, index_select, reshape
from ... import _internal
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _const(a, like):
    return _internal.wrap(np.asarray(a, like.dtype))


def _along(w, d, ndim):
    """A 1-D weight vector shaped to broadcast along dim d of an ndim-dim tensor."""
    shape = [1] * ndim
    shape[d] = -1
    return w.reshape(shape)


def _source(out_size, in_size, scale, align_corners, mode):
    """The source coordinate of each output position (PyTorch's area_pixel_compute_source_index)."""
    dst = np.arange(out_size, dtype=np.float64)
    if mode in ("nearest", "nearest-exact"):
        s = (1.0 / scale) if scale else in_size / out_size
        src = np.floor((dst + 0.5) * s) if mode == "nearest-exact" else np.floor(dst * s)
        return np.minimum(src, in_size - 1).astype(np.int64)
    if align_corners:
        return dst * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    s = (1.0 / scale) if scale else in_size / out_size
    src = (dst + 0.5) * s - 0.5
    return np.maximum(src, 0.0) if mode != "bicubic" else src


def _cubic_weights(t, A=-0.75):
    """Keys' cubic convolution weights of the 4 taps at offsets -1, 0, 1, 2 (PyTorch's A)."""
    def near(x):   # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):    # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of ``input`` (N, C, *spatial) to ``size`` or by ``scale_factor``.

    mode: ``nearest`` (default), ``nearest-exact``, ``linear`` (3-D input), ``bilinear`` (4-D),
    ``trilinear`` (5-D), ``bicubic`` (4-D), ``area`` (adaptive average pooling). ``align_corners``
    (linear modes and bicubic): map the corner pixels' centres onto each other. Same values as
    PyTorch's; every mode is differentiable in ``input``.
    """
    x = input
    nsp = x.ndim - 2
    if nsp < 1 or nsp > 3:
        raise ValueError(f"interpolate: expects (N, C, *spatial) with 1 to 3 spatial dims, got "
                         f"shape {x.shape}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported; downsample with "
                                  "mode='area' (an average over each output cell) instead")
    if mode in _LINEAR and _LINEAR[mode] != nsp:
        raise ValueError(f"interpolate: mode {mode!r} expects {_LINEAR[mode] + 2}-D input, got "
                         f"{x.ndim}-D (shape {x.shape})")
    if mode == "bicubic" and nsp != 2:
        raise ValueError(f"interpolate: mode 'bicubic' expects 4-D input, got shape {x.shape}")
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
    for k in range(nsp):  # separable: one spatial dim at a time
        d, n_in, n_out, sc = k + 2, in_sizes[k], sizes[k], scales[k]
        src = _source(n_out, n_in, sc, align_corners, mode)
        if mode in ("nearest", "nearest-exact"):
            x = index_select(x, d, _internal.wrap(src))
            continue
        i0 = np.floor(src).astype(np.int64)
        t = src - i0
        if mode == "bicubic":
            taps = [np.clip(i0 + o, 0, n_in - 1) for o in (-1, 0, 1, 2)]
            weights = _cubic_weights(t)
        else:
            taps = [np.minimum(i0, n_in - 1), np.minimum(i0 + 1, n_in - 1)]
            weights = [1.0 - t, t]
        y = None
        for idx, w in zip(taps, weights):
            term = index_select(x, d, _internal.wrap(idx)) * _const(_along(w, d, x.ndim), x)
            y = term if y is None else y + term
        x = y
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Read ``input`` (N, C, H, W) at the points ``grid`` (N, H_out, W_out, 2), whose last dim
    holds (x, y) in [-1, 1] (-1: the left/top edge) -> (N, C, H_out, W_out).

    mode ``bilinear`` (default) or ``nearest``; padding_mode ``zeros`` (points outside read 0) or
    ``border`` (they read the nearest edge pixel). align_corners (default False): -1 and 1 are the
    centres of the corner pixels rather than their outer edges. Bilinear is differentiable in both
    input and grid.
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
            p = ((coord + 1) * size - 1) / 2
        return clamp(p, 0, size - 1) if padding_mode == "border" else p

    px, py = pixel(grid[..., 0], w), pixel(grid[..., 1], h)       # (N, H_out, W_out)
    flat = reshape(input, (n, c, h * w))

    def read(ix, iy):  # values at integer pixels (arrays), 0 outside: (N, C, H_out, W_out)
        inside = (ix >= 0) & (ix <= w - 1) & (iy >= 0) & (iy <= h - 1)
        lin = (np.clip(iy, 0, h - 1) * w + np.clip(ix, 0, w - 1)).astype(np.int64)
        idx = np.broadcast_to(lin.reshape(n, 1, ho * wo), (n, c, ho * wo))
        v = reshape(gather(flat, 2, _internal.wrap(np.ascontiguousarray(idx))), (n, c, ho, wo))
        return v * _const(inside[:, None].astype(input.dtype), input)

    if mode == "nearest":
        return read(np.rint(px.array).astype(np.int64), np.rint(py.array).astype(np.int64))
    x0, y0 = floor(px), floor(py)
    tx, ty = px - x0, py - y0                                  # differentiable in the grid
    x0a, y0a = x0.array.astype(np.int64), y0.array.astype(np.int64)
    tx, ty = reshape(tx, (n, 1, ho, wo)), reshape(ty, (n, 1, ho, wo))
    return (read(x0a, y0a) * (1 - tx) * (1 - ty) + read(x0a + 1, y0a) * tx * (1 - ty)
            + read(x0a, y0a + 1) * (1 - tx) * ty + read(x0a + 1, y0a + 1) * tx * ty)


__all__ = ["interpolate", "upsample", "grid_sample"]
