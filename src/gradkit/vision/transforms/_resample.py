"""Resampling for ``gradkit.vision.transforms.functional``: resize and rotate, computed as
PyTorch's CPU kernels compute them, so that the numbers are torchvision's tensor path's.

    resize(x, (h, w), mode, antialias)          x: (N, H, W) float -> (N, h, w)
    affine_grid(matrix, (H, W), (h, w), dtype)  where each output pixel reads the input
    grid_sample(x, grid, mode)                  x: (N, C, H, W) float -> (N, C, h, w)

The rules (PyTorch's ``UpSample.h``, ``cpu/UpSampleKernel.cpp``, ``cpu/GridSamplerKernel.cpp``):

- Pixel i of an axis of n pixels resized to m reads around the source coordinate
  ``(i + 0.5) * scale - 0.5``, ``scale = n / m`` (align_corners=False).
- One axis at a time, the width first: ``y[i] = sum_k x[index[i, k]] * weight[i, k]``, in the
  order of k.
- bilinear: the two neighbours, weights ``1 - t`` and ``t``. bicubic: Keys' cubic convolution
  with a = -0.75 over four neighbours, the indices clamped at the border.
- antialias (bilinear and bicubic, as Pillow): when shrinking by ``scale`` the filter is
  stretched by ``scale`` (a triangle of half-width ``scale`` for bilinear; Keys' cubic with
  a = -0.5 for bicubic) and the taps are renormalised to sum to 1.
- nearest: ``floor(i * scale)``; nearest-exact: ``floor((i + 0.5) * scale)``; in float32.

Rounding. The weights are computed in the image's float dtype (float32 for float32 and for
integer images) with the C++ code's casts, and where PyTorch's compiled x86-64 kernels fuse a
multiply-add (one rounding instead of two) so does ``_fma`` here. Most float32 results are then
equal bit for bit (bilinear without antialias when both sides change, and antialiased shrinking
by more than about 1.5, still differ in the last bit), so uint8 images round to torchvision's
integers except, rarely, at an exact tie; float64 differs by ~1e-15.
"""
import numpy as np

__all__ = ["resize", "affine_grid", "grid_sample", "MODES"]

MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")


def _fma(a, b, c):
    """``a * b + c`` rounded once (a fused multiply-add): exact for float32, through float64;
    float64 is left to ordinary rounding."""
    if np.result_type(a, b, c) == np.float32:
        return (np.float64(a) * b + c).astype(np.float32) if np.ndim(a) == 0 else \
            (a.astype(np.float64) * b + c).astype(np.float32)
    return a * b + c


# === the weights of one axis: (index, weight), each (m, taps) ====================================
def _nearest(n, m, exact):
    i = np.arange(m)
    if m == n:
        return i
    if m == 2 * n and not exact:
        return i >> 1
    scale = np.float32(n) / np.float32(m)
    # nearest: i * scale in float32; nearest-exact: (i + 0.5) * scale in double, then floorf
    src = (i.astype(np.float32) * scale) if not exact else (i + 0.5) * np.float64(scale)
    return np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n - 1)


def _source(n, m, dt):
    """The source coordinate ``(i + 0.5) * scale - 0.5`` (one fused multiply-add), its floor
    (taken in float32, as C's floorf) and the fraction ``t`` in [0, 1]."""
    scale = dt.type(n) / dt.type(m)
    real = _fma(scale, (np.arange(m) + 0.5).astype(dt), dt.type(-0.5))
    return real, scale


def _floor_frac(real, n, dt):
    i0 = np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), n - 1)
    return i0, np.clip(real - i0.astype(dt), dt.type(0), dt.type(1))


def _linear(n, m, dt):
    real, _ = _source(n, m, dt)
    i0, t = _floor_frac(np.maximum(real, dt.type(0)), n, dt)
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


def _cubic(n, m, dt):
    a = dt.type(-0.75)
    real, _ = _source(n, m, dt)
    i0, t = _floor_frac(real, n, dt)
    u = dt.type(1) - t
    weights = [_keys_far(t + dt.type(1), a, False), _keys_near(t, a, False),
               _keys_near(u, a, False), _keys_far(u + dt.type(1), a, False)]
    index = [np.clip(i0 - 1 + k, 0, n - 1) for k in range(4)]
    return np.stack(index, 1), np.stack(weights, 1).astype(dt)


def _aa_linear(x, dt):
    x = np.abs(x)
    return np.where(x < 1, (1.0 - x.astype(np.float64)).astype(dt), dt.type(0))


def _aa_cubic(x, dt):
    x, a = np.abs(x), dt.type(-0.5)   # Pillow's a
    near, far = _keys_near(x, a, True), _keys_far(x, a, True)
    return np.where(x < 1, near, np.where(x < 2, far, dt.type(0))).astype(dt)


def _antialiased(n, m, dt, taps, kernel):
    """Pillow's resampling with a filter of ``taps`` taps at scale 1, stretched by the scale
    when shrinking: output i reads the input pixels within ``support`` of its centre."""
    f = dt.type
    scale = f(n) / f(m)
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
    return np.minimum(lo[:, None] + j, n - 1), w.astype(dt)


def _taps(x, axis, index, weight, fuse_first):
    """``sum_k x.take(index[:, k], axis) * weight[:, k]`` in order of k: ``x0 w0`` rounded, then
    each tap fused into the running sum, as PyTorch's loops do; except that with ``fuse_first``
    the first tap is the fused one, ``fma(x0, w0, x1 w1)`` (how its compiled kernel rounds the
    width pass without antialias)."""
    shape = [1] * x.ndim
    shape[axis] = -1
    tap = lambda k: (np.take(x, index[:, k], axis=axis), weight[:, k].reshape(shape))   # noqa: E731
    (x0, w0), (x1, w1) = tap(0), tap(1)              # every filter here has at least two taps
    out = _fma(x0, w0, x1 * w1) if fuse_first else _fma(x1, w1, x0 * w0)
    for k in range(2, index.shape[1]):
        out = _fma(*tap(k), out)
    return out


# === resize =======================================================================================
def resize(x, size, mode, antialias):
    """``x``: (N, H, W), float32 or float64 for bilinear/bicubic (any dtype for nearest) ->
    (N, h, w) in the same dtype."""
    (n_h, n_w), (m_h, m_w) = x.shape[-2:], size
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        return x[:, _nearest(n_h, m_h, exact)[:, None], _nearest(n_w, m_w, exact)[None, :]]
    dt = x.dtype
    if antialias:
        taps, kernel = (2, _aa_linear) if mode == "bilinear" else (4, _aa_cubic)
        weights = lambda n, m: _antialiased(n, m, dt, taps, kernel)   # noqa: E731
    else:
        weights = (lambda n, m: _linear(n, m, dt)) if mode == "bilinear" else (lambda n, m: _cubic(n, m, dt))
    # the rounding of PyTorch's compiled loops: see _taps
    fuse_w, fuse_h = (False, False) if antialias else (True, mode == "bicubic")
    if m_w != n_w:                       # the width first, then the height, as PyTorch
        x = _taps(x, 2, *weights(n_w, m_w), fuse_w)
    if m_h != n_h:
        x = _taps(x, 1, *weights(n_h, m_h), fuse_h)
    return x


# === rotate: an affine grid and grid_sample ======================================================
def affine_grid(matrix, in_size, out_size, dt):
    """torchvision's ``_gen_affine_grid``: for each output pixel (h, w) the input position
    (x, y) in [-1, 1] that it reads, from the inverse affine ``matrix`` (6 numbers, pixels
    measured from the image centre). Returns (gx, gy), each (h, w)."""
    (h, w), (oh, ow) = in_size, out_size
    xs = np.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, ow).astype(dt)
    ys = np.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, oh).astype(dt)[:, None]
    theta = np.asarray(matrix, dtype=dt).reshape(2, 3)
    r = theta.T / np.array([0.5 * w, 0.5 * h], dtype=dt)        # (3, 2)
    gx = xs * r[0, 0] + ys * r[1, 0] + r[2, 0]
    gy = xs * r[0, 1] + ys * r[1, 1] + r[2, 1]
    return gx, gy


def grid_sample(x, grid, mode):
    """``torch.nn.functional.grid_sample(x, grid, mode, padding_mode="zeros",
    align_corners=False)`` for one grid shared by the batch: x (N, C, H, W) -> (N, C, h, w).
    Positions outside the image read 0."""
    n_h, n_w = x.shape[-2:]
    dt = x.dtype
    gx, gy = grid
    ix = (gx + dt.type(1)) * dt.type(n_w / 2) - dt.type(0.5)     # -1 -> -0.5, 1 -> W - 0.5
    iy = (gy + dt.type(1)) * dt.type(n_h / 2) - dt.type(0.5)

    def read(yy, xx):
        inside = (yy > -1) & (yy < n_h) & (xx > -1) & (xx < n_w)
        v = x[:, :, np.clip(yy, 0, n_h - 1).astype(np.intp), np.clip(xx, 0, n_w - 1).astype(np.intp)]
        return np.where(inside, v, dt.type(0))

    if mode == "nearest":
        return read(np.rint(iy), np.rint(ix))       # round half to even, as nearbyint
    x0, y0 = np.floor(ix), np.floor(iy)
    e_w = ix - x0           # the distance to the west neighbour
    n_n = iy - y0
    w_e, s_n = dt.type(1) - e_w, dt.type(1) - n_n
    return (read(y0, x0) * (s_n * w_e) + read(y0, x0 + 1) * (s_n * e_w)
            + read(y0 + 1, x0) * (n_n * w_e) + read(y0 + 1, x0 + 1) * (n_n * e_w))
