"""Colour and filtering for ``gradkit.vision.transforms.functional`` (which exports these names):
torchvision's tensor-path arithmetic, on either kind of image.

    rgb_to_grayscale  to_grayscale  adjust_brightness  adjust_contrast  adjust_saturation
    adjust_hue  adjust_gamma  gaussian_blur

Integer images are computed in float32 and truncated back, as torchvision's ``.to(dtype)`` does
(resampling, in ``gaussian_blur``, rounds instead).
"""
import numbers

import numpy as np

from ...backend import get_default_dtype
from ._image import (cast_back, channels, check_channels, convert_dtype, is_pil_layout, max_value,
                     unpack, work_dtype)

__all__ = ["rgb_to_grayscale", "to_grayscale", "adjust_brightness", "adjust_contrast",
           "adjust_saturation", "adjust_hue", "adjust_gamma", "gaussian_blur"]


# === grayscale / brightness / contrast / saturation ============================================
def _grey(x):
    """``(..., 3, H, W) -> (..., 1, H, W)``: ``0.2989 R + 0.587 G + 0.114 B``, in the image's
    dtype (integers truncated, as torchvision's ``.to(dtype)``)."""
    if x.shape[-3] == 1:
        return x.copy()
    dt = x.dtype if x.dtype.kind == "f" else get_default_dtype()
    r, g, b = (x[..., k, :, :].astype(dt, copy=False) for k in range(3))
    return (dt.type(0.2989) * r + dt.type(0.587) * g + dt.type(0.114) * b).astype(x.dtype)[..., None, :, :]


def rgb_to_grayscale(img, num_output_channels=1):
    """``L = 0.2989 R + 0.587 G + 0.114 B`` (an image of 1 channel is kept). With
    ``num_output_channels=3`` L is repeated into 3 channels, except that a 1-channel tensor image
    stays 1 channel, as torchvision's tensor path does."""
    x, back, pil = unpack(img, "rgb_to_grayscale")
    if x.ndim < 3:
        raise TypeError(f"rgb_to_grayscale: a tensor image should have at least 3 dimensions "
                        f"(..., C, H, W); got shape {tuple(x.shape)}")
    check_channels(x, (1, 3), "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels should be 1 or 3; got "
                         f"{num_output_channels!r}")
    grey = _grey(x)
    if num_output_channels == 3:
        shape = x.shape[:-3] + (3,) + x.shape[-2:] if pil else x.shape
        grey = np.broadcast_to(grey, shape)
    return back(grey)


def to_grayscale(img, num_output_channels=1):
    """``rgb_to_grayscale`` for an image in PIL's layout (torchvision's takes a PIL image)."""
    if not is_pil_layout(img):
        raise TypeError("to_grayscale: takes an image in PIL's layout (as torchvision's takes a PIL "
                        "image); for a tensor image use rgb_to_grayscale")
    return rgb_to_grayscale(img, num_output_channels)


def _blend(x1, x2, ratio):
    """``clamp(ratio * x1 + (1 - ratio) * x2, 0, white)`` in x1's dtype (integers truncated)."""
    ratio = float(ratio)
    dt = x1.dtype if x1.dtype.kind == "f" else get_default_dtype()
    y = dt.type(ratio) * x1.astype(dt, copy=False) + dt.type(1.0 - ratio) * x2.astype(dt, copy=False)
    return np.clip(y, 0, max_value(x1.dtype)).astype(x1.dtype)


def _colour_input(img, name):
    x, back, _ = unpack(img, name)
    check_channels(x, (1, 3), name)
    return x, back


def adjust_brightness(img, brightness_factor):
    """``x * factor`` clamped to [0, white]: 0 gives black, 1 the image, 2 twice as bright."""
    if brightness_factor < 0:
        raise ValueError(f"adjust_brightness: brightness_factor ({brightness_factor}) is not "
                         f"non-negative")
    x, back = _colour_input(img, "adjust_brightness")
    return back(_blend(x, np.zeros((), x.dtype), brightness_factor))


def adjust_contrast(img, contrast_factor):
    """Blend with the mean grey level of each image: 0 gives solid grey, 1 the image."""
    if contrast_factor < 0:
        raise ValueError(f"adjust_contrast: contrast_factor ({contrast_factor}) is not "
                         f"non-negative")
    x, back = _colour_input(img, "adjust_contrast")
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    grey = (_grey(x) if channels(x) == 3 else x).astype(dt)
    axes = tuple(range(-min(grey.ndim, 3), 0))
    mean = grey.sum(axis=axes, keepdims=True) / dt.type(np.prod([grey.shape[a] for a in axes]))
    return back(_blend(x, mean, contrast_factor))


def adjust_saturation(img, saturation_factor):
    """Blend with the grey image: 0 gives black and white, 1 the image, 2 twice the saturation."""
    if saturation_factor < 0:
        raise ValueError(f"adjust_saturation: saturation_factor ({saturation_factor}) is not "
                         f"non-negative")
    x, back = _colour_input(img, "adjust_saturation")
    if channels(x) == 1:       # grey stays grey (Pillow's behaviour)
        return back(x)
    return back(_blend(x, _grey(x), saturation_factor))


# === hue / gamma =================================================================================
def _rgb_to_hsv(x):
    """(..., 3, H, W) in [0, 1] -> h, s, v, each (..., H, W); Pillow's formulas, torchvision's
    arithmetic (no division by zero where max == min)."""
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    maxc, minc = x.max(axis=-3), x.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_divisor = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return h, s, maxc


def _hsv_to_rgb(h, s, v):
    """h, s, v (..., H, W) -> (..., 3, H, W): the sector ``i = floor(6 h)`` picks the channels."""
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]   # (r, g, b)
    rgb = [np.choose(i, [row[k] for row in table]) for k in range(3)]
    return np.stack(rgb, axis=-3)


def adjust_hue(img, hue_factor):
    """Shift the hue (HSV's H, in turns) by ``hue_factor`` in [-0.5, 0.5]; computed in float32
    as torchvision does, whatever the dtype."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5]")
    x, back = _colour_input(img, "adjust_hue")
    if channels(x) == 1:
        return back(x)
    h, s, v = _rgb_to_hsv(convert_dtype(x, np.float32))
    h = (h + np.float32(hue_factor)) % np.float32(1.0)
    return back(convert_dtype(_hsv_to_rgb(h, s, v), x.dtype))


def adjust_gamma(img, gamma, gain=1):
    """``gain * x ** gamma`` on [0, 1] values, clamped to [0, 1] (integers through float32)."""
    if gamma < 0:
        raise ValueError(f"adjust_gamma: gamma should be a non-negative real number; got {gamma}")
    x, back = _colour_input(img, "adjust_gamma")
    y = x if x.dtype.kind == "f" else convert_dtype(x, np.float32)
    y = np.clip(gain * y ** y.dtype.type(gamma), 0, 1).astype(y.dtype, copy=False)
    return back(convert_dtype(y, x.dtype))


# === gaussian_blur ===============================================================================
def _gaussian_kernel1d(size, sigma, dt):
    half = (size - 1) * 0.5
    x = np.linspace(-half, half, size).astype(dt)
    pdf = np.exp(dt.type(-0.5) * (x / dt.type(sigma)) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img, kernel_size, sigma=None):
    """Convolve with a Gaussian of ``kernel_size`` (int or (kx, ky), odd and positive) and
    ``sigma`` (float or (sx, sy); default ``0.15 * k + 0.35``), reflecting at the borders."""
    if isinstance(kernel_size, numbers.Integral):
        kernel_size = [int(kernel_size)] * 2
    if not isinstance(kernel_size, (list, tuple)) or len(kernel_size) != 2:
        raise ValueError(f"gaussian_blur: kernel_size should be an int or a sequence of 2 ints; "
                         f"got {kernel_size!r}")
    if any(k % 2 == 0 or k < 0 for k in kernel_size):
        raise ValueError(f"gaussian_blur: kernel_size should have odd and positive integers; got "
                         f"{kernel_size!r}")
    if sigma is None:
        sigma = [k * 0.15 + 0.35 for k in kernel_size]
    sigma = [float(sigma)] * 2 if isinstance(sigma, numbers.Real) else list(sigma)
    sigma = sigma * 2 if len(sigma) == 1 else sigma
    if len(sigma) != 2 or any(s <= 0 for s in sigma):
        raise ValueError(f"gaussian_blur: sigma should be one or two positive numbers; got {sigma!r}")
    x, back, _ = unpack(img, "gaussian_blur")
    (kx, ky), (h, w) = kernel_size, x.shape[-2:]
    if kx // 2 >= w or ky // 2 >= h:
        raise ValueError(f"gaussian_blur: the kernel ({kx} x {ky}) needs an image wider than "
                         f"{kx // 2} and taller than {ky // 2} pixels (reflect padding); got "
                         f"{h} x {w}")
    dt = work_dtype(x.dtype)
    kernel = (_gaussian_kernel1d(ky, sigma[1], dt)[:, None]
              * _gaussian_kernel1d(kx, sigma[0], dt)[None, :])
    widths = [(0, 0)] * (x.ndim - 2) + [(ky // 2, ky // 2), (kx // 2, kx // 2)]
    padded = np.pad(x.astype(dt), widths, mode="reflect")
    out = np.zeros(x.shape, dt)
    for dy in range(ky):
        for dx in range(kx):
            out += kernel[dy, dx] * padded[..., dy:dy + h, dx:dx + w]
    return back(cast_back(out, x.dtype))
