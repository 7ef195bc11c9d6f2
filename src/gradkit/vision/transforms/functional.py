"""``gradkit.vision.transforms.functional``: torchvision's functional transforms, and the one
place where their math lives (every class in ``gradkit.vision.transforms`` calls these).

    import torchvision.transforms.functional as F  ->  import gradkit.vision.transforms.functional as F

    sizes        get_dimensions  get_image_size  get_image_num_channels
    conversion   to_tensor  normalize  convert_image_dtype  to_pil_image
    geometry     crop  center_crop  pad  hflip  vflip  resize  resized_crop  rotate  erase
    colour       rgb_to_grayscale  to_grayscale  adjust_brightness  adjust_contrast
                 adjust_saturation  adjust_hue  adjust_gamma  gaussian_blur   (written in _color.py)

What an image is, and the dtype rules, are ``_image.py``'s. The resampling math is
``gradkit.nn.functional``'s, as torchvision's is torch's: resize calls ``interpolate`` (with
``antialias``) and rotate calls ``grid_sample`` on torchvision's affine grid; what stays here is
torchvision's glue around them (the dtype it computes in, uint8 rounding and clamping, PIL's
layout, the fill).

What an image is (gradkit does not depend on PIL): a **uint8 Tensor**, a NumPy array or a PIL
image is an image in PIL's layout, H x W or H x W x C; any other Tensor is a tensor image
(..., C, H, W). Each function returns the kind it was given (a PIL image comes back as a uint8
Tensor in PIL's layout).

The numbers are torchvision's tensor path's: for a tensor image those of
``torchvision.transforms.functional`` on the same tensor (float32 and float64 computed in their
own dtype, other dtypes in float32 and rounded back, as torchvision does); for an image in PIL's
layout those that torchvision computes for the same pixels as a uint8 tensor
(``F.pil_to_tensor(img)``). Pillow's own fixed-point arithmetic, which torchvision uses for a PIL
image, can differ from that by one grey level.
"""
import math
import numbers
from enum import Enum

import numpy as np

from ... import _internal
from ...backend import get_default_dtype
from ...data import transforms as _batch
from ...nn.functional import grid_sample, interpolate
from ...tensor import Tensor
from ._color import (adjust_brightness, adjust_contrast, adjust_gamma, adjust_hue,  # noqa: F401
                     adjust_saturation, gaussian_blur, rgb_to_grayscale, to_grayscale)
from ._image import (cast_back, channels, convert_dtype, is_pil_layout, pil_array, unpack,
                     work_dtype)

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
           "to_tensor", "normalize", "convert_image_dtype", "to_pil_image", "crop",
           "center_crop", "pad", "hflip", "vflip", "resize", "resized_crop", "rotate", "erase",
           "rgb_to_grayscale", "to_grayscale", "adjust_brightness", "adjust_contrast",
           "adjust_saturation", "adjust_hue", "adjust_gamma", "gaussian_blur"]


class InterpolationMode(Enum):
    """torchvision's interpolation modes. gradkit computes NEAREST, NEAREST_EXACT, BILINEAR and
    BICUBIC (torchvision's tensor path); BOX, HAMMING and LANCZOS are Pillow's."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_CONSTANTS = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
                  3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
                  5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}


def _interpolation(mode, name, supported):
    """An InterpolationMode (or Pillow's integer constant, or its string) -> its string value."""
    if isinstance(mode, int) and not isinstance(mode, bool) and mode in _PIL_CONSTANTS:
        mode = _PIL_CONSTANTS[mode]
    value = getattr(mode, "value", mode)
    if not isinstance(value, str) or value not in {m.value for m in InterpolationMode}:
        raise TypeError(f"{name}: interpolation should be an InterpolationMode (or Pillow's integer "
                        f"constant); got {mode!r}")
    if value not in supported:
        raise ValueError(f"{name}: interpolation {value!r} is not computed on tensors (torchvision "
                         f"computes it only for PIL images, with Pillow); use one of "
                         f"{', '.join(supported)}")
    return value


# === sizes ======================================================================================
def get_dimensions(img):
    """``[channels, height, width]`` of an image of either kind."""
    x, _, _ = unpack(img, "get_dimensions")
    return [int(channels(x)), int(x.shape[-2]), int(x.shape[-1])]


def get_image_size(img):
    """``[width, height]``."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    return get_dimensions(img)[0]


# === conversion: to_tensor / normalize / convert_image_dtype / to_pil_image =====================
def to_tensor(pic):
    """An image in PIL's layout -> a float tensor ``(C, H, W)`` (see ``transforms.ToTensor``)."""
    if isinstance(pic, Tensor) and pic.dtype != np.uint8:
        raise TypeError(
            f"ToTensor: got a {pic.dtype} Tensor of shape {tuple(pic.shape)}; ToTensor converts "
            f"an image in PIL's layout (a uint8 Tensor H x W [x C] as the datasets give, a "
            f"NumPy array or a PIL image). This one is already a tensor image: drop ToTensor()")
    if not is_pil_layout(pic):
        raise TypeError(f"ToTensor: pic should be an image (uint8 Tensor, NumPy array or PIL "
                        f"image); got {type(pic).__name__}")
    a = pil_array(pic, "ToTensor")
    if a.dtype == np.bool_:  # PIL's mode "1": torchvision scales it as 0 / 255
        a = a.astype(np.uint8) * np.uint8(255)
    chw = (a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    if a.dtype == np.uint8:
        return _internal.wrap(_batch.ToFloat(dtype=get_default_dtype())(chw))
    return _internal.wrap(np.ascontiguousarray(chw))


def _normalizer(mean, std):
    """The per-channel normaliser for ``mean``/``std`` and the number of channels it expects
    (1: any). Raises for malformed statistics or a zero std."""
    m, s = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if m.ndim > 1 or s.ndim > 1:
        raise ValueError(f"Normalize: mean and std must be numbers or sequences; got {mean!r}, {std!r}")
    # length-1 statistics apply to every channel, as torch's broadcasting does
    m, s = (m.reshape(()) if m.size == 1 else m), (s.reshape(()) if s.size == 1 else s)
    return _batch.Normalize(m, s, dim=-3), max(m.size, s.size)


def normalize(tensor, mean, std, inplace=False):
    """``y = (x - mean) / std`` per channel, on a float tensor image ``(..., C, H, W)``."""
    return _normalize(tensor, *_normalizer(mean, std), inplace)


def _normalize(tensor, normalizer, channels, inplace):
    """``normalize`` with the normaliser built once (``transforms.Normalize`` keeps it)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"Normalize: img should be a Tensor image; got {type(tensor).__name__}. "
                        f"Put ToTensor() before Normalize in the Compose")
    if tensor.dtype.kind != "f":
        raise TypeError(f"Normalize: input tensor should be a float tensor; got {tensor.dtype} "
                        f"(shape {tuple(tensor.shape)}). Put ToTensor() before Normalize, which "
                        f"turns a uint8 image into float32 in [0, 1]")
    x = _internal.as_array(tensor)
    if x.ndim < 3 or (channels > 1 and x.shape[-3] != channels):
        raise ValueError(
            f"Normalize: expected a tensor image of size (..., C, H, W) with C = "
            f"{channels} (the length of mean/std); got size {tuple(x.shape)}")
    y = normalizer(x)
    if not inplace:
        return _internal.wrap(y)
    x[...] = y
    _internal.bump_version(tensor)
    return tensor


def convert_image_dtype(image, dtype=np.float32):
    """Convert a Tensor to ``dtype`` and scale its values: float in [0, 1] <-> integers in
    [0, max] (uint8: 255). Elementwise, so the layout is kept."""
    if not isinstance(image, Tensor):
        raise TypeError(f"convert_image_dtype: image should be a Tensor; got {type(image).__name__}")
    y = convert_dtype(_internal.as_array(image), dtype)
    return image if y is _internal.as_array(image) else _internal.wrap(y)


def _pil_image_module(name):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{name} needs Pillow, which gradkit does not depend on: pip install "
                          f"pillow. Without it, an image in PIL's layout is a uint8 Tensor "
                          f"(H x W [x C]), which every gradkit transform takes") from None
    return Image


def to_pil_image(pic, mode=None):
    """A tensor image ``(C, H, W)``, an image in PIL's layout or an array ``(H, W[, C])`` -> a
    PIL image (needs Pillow). Float values are taken as [0, 1] and scaled by 255, as torchvision."""
    Image = _pil_image_module("to_pil_image")
    if isinstance(pic, Tensor):
        a = _internal.as_array(pic)
        if pic.dtype != np.uint8 and a.ndim == 3:      # a tensor image: channels last for PIL
            a = a.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        a = pic
    else:
        raise TypeError(f"to_pil_image: pic should be a Tensor or an ndarray; got {type(pic).__name__}")
    a = a[:, :, None] if a.ndim == 2 else a
    if a.ndim != 3:
        raise ValueError(f"to_pil_image: pic should be 2 or 3 dimensional; got shape {a.shape}")
    if a.shape[-1] > 4:
        raise ValueError(f"to_pil_image: pic should not have > 4 channels; got {a.shape[-1]} "
                         f"(shape {a.shape})")
    if a.dtype.kind == "f" and mode != "F":
        a = (a * 255).astype(np.uint8)
    a = np.ascontiguousarray(a[:, :, 0] if a.shape[-1] == 1 else a)
    image = Image.fromarray(a)
    if mode is not None and image.mode != mode:   # read the same bytes in the asked mode
        image = Image.frombuffer(mode, image.size, a.tobytes(), "raw", mode, 0, 1)
    return image


# === geometry: crop / center_crop / pad / flips ==================================================
def _ltrb(padding, name):
    """torchvision's padding argument -> (left, top, right, bottom)."""
    if isinstance(padding, numbers.Number):
        return (int(padding),) * 4
    if isinstance(padding, (tuple, list)) and len(padding) in (1, 2, 4):
        p = [int(v) for v in padding]
        return tuple(p * 4 if len(p) == 1 else p * 2 if len(p) == 2 else p)
    raise ValueError(f"{name}: padding must be an int or a sequence of 1, 2 or 4 ints "
                     f"(left, top, right, bottom); got {padding!r}")


PAD_MODES = ("constant", "edge", "reflect", "symmetric")   # the same names in np.pad


def _fill_value(fill, x, pil, name):
    """``fill`` as a number, or (an image in PIL's layout only, as Pillow) one value per channel."""
    if fill is None:
        return 0
    if isinstance(fill, numbers.Number):
        return fill
    if isinstance(fill, (tuple, list)) and pil and len(fill) in (1, channels(x)):
        return np.asarray(fill, dtype=x.dtype).reshape(-1, 1, 1)
    if isinstance(fill, (tuple, list)) and pil:
        raise ValueError(f"{name}: fill has {len(fill)} values for an image of {channels(x)} "
                         f"channels")
    raise TypeError(f"{name}: fill must be a number for a tensor image (a sequence is for an image "
                    f"in PIL's layout, one value per channel); got {fill!r}")


def _pad(x, ltrb, fill=0, mode="constant"):
    """Pad the last two axes of ``x`` by (left, top, right, bottom); negative values crop."""
    h, w = x.shape[-2:]
    x = x[..., max(-ltrb[1], 0):h - max(-ltrb[3], 0), max(-ltrb[0], 0):w - max(-ltrb[2], 0)]
    left, top, right, bottom = (max(p, 0) for p in ltrb)
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if mode != "constant":
        return np.pad(x, widths, mode=mode)
    out = np.empty(x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right), x.dtype)
    out[...] = fill                       # a number, or one value per channel
    out[..., top:top + x.shape[-2], left:left + x.shape[-1]] = x
    return out


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the image's borders. ``padding``: int, (left/right, top/bottom) or (left, top, right,
    bottom); ``padding_mode``: "constant" (with ``fill``), "edge", "reflect" or "symmetric"."""
    if padding_mode not in PAD_MODES:
        raise ValueError(f"pad: padding_mode should be one of {', '.join(PAD_MODES)}; got "
                         f"{padding_mode!r}")
    x, back, pil = unpack(img, "pad")
    return back(_pad(x, _ltrb(padding, "pad"), _fill_value(fill, x, pil, "pad"), padding_mode))


def crop(img, top, left, height, width):
    """The window ``[top, top + height) x [left, left + width)``; where it leaves the image the
    window is padded with 0, as torchvision's."""
    x, back, _ = unpack(img, "crop")
    h, w = x.shape[-2:]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        ltrb = (max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                max(right - max(w, left), 0), max(bottom - max(h, top), 0))
        return back(_pad(x[..., max(top, 0):bottom, max(left, 0):right], ltrb))
    return back(x[..., top:bottom, left:right])


def _size_hw(size, name):
    """torchvision's crop size: an int (a square) or a sequence of 1 or 2 ints -> (h, w)."""
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return int(size[0]), int(size[0])
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise ValueError(f"{name}: please provide only two dimensions (h, w) for size; got {size!r}")
    return int(size[0]), int(size[1])


def center_crop(img, output_size):
    """The central ``output_size`` window (int or (h, w)); a smaller image is zero-padded first.
    The top-left corner is ``round((H - h) / 2), round((W - w) / 2)`` (Python's round)."""
    th, tw = _size_hw(output_size, "center_crop")
    _, h, w = get_dimensions(img)
    if tw > w or th > h:
        ltrb = ((tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0,
                (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0)
        img = pad(img, ltrb)
        _, h, w = get_dimensions(img)
        if (th, tw) == (h, w):
            return img
    return crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)


def hflip(img):
    """Mirror left-right."""
    x, back, _ = unpack(img, "hflip")
    return back(x[..., ::-1])


def vflip(img):
    """Mirror top-bottom."""
    x, back, _ = unpack(img, "vflip")
    return back(x[..., ::-1, :])


# === geometry: resize / resized_crop / rotate / erase ===========================================
def _resized_size(h, w, size, max_size):
    """torchvision's output size: [s] matches the shorter side (the longer one is
    ``int(s * long / short)``, then capped by ``max_size``); [h, w] is taken as it is."""
    if len(size) == 2:
        return size[0], size[1]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise ValueError(f"resize: max_size = {max_size} must be strictly greater than the "
                             f"requested size for the smaller edge size = {size[0]}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


RESIZE_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")


def _resize_array(x, size, mode, antialias):
    """Resample the last two axes of ``x`` to ``size`` = (h, w), as torchvision's tensor path:
    ``interpolate`` in float (float32 for integer images), bicubic clamped to [0, 255] for uint8,
    integers rounded back."""
    flat = x.reshape(-1, 1, *x.shape[-2:])            # (N, 1, H, W): the images as a batch
    if mode in ("nearest", "nearest-exact"):          # picks pixels: no arithmetic, no cast
        y = interpolate(_internal.wrap(flat), size, mode=mode).array
    else:
        y = interpolate(_internal.wrap(flat.astype(work_dtype(x.dtype), copy=False)), size,
                        mode=mode, align_corners=False, antialias=bool(antialias)).array
        if mode == "bicubic" and x.dtype == np.uint8:
            y = np.clip(y, 0, 255)
        y = cast_back(y, x.dtype)
    return y.reshape(*x.shape[:-2], *size)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size``: (h, w), or an int (or [int]) for the shorter side, keeping the aspect
    ratio. ``interpolation``: NEAREST, NEAREST_EXACT, BILINEAR (default) or BICUBIC;
    ``antialias`` (bilinear, bicubic): filter as Pillow does when shrinking. Defaults to True.

    >>> F.resize(x, 16).shape      # x (3, 32, 48) -> (3, 16, 24)
    """
    mode = _interpolation(interpolation, "resize", RESIZE_MODES)
    sizes = [size] if isinstance(size, numbers.Integral) else size
    if not isinstance(sizes, (list, tuple)) or len(sizes) not in (1, 2) or not all(
            isinstance(s, numbers.Integral) for s in sizes):
        raise TypeError(f"resize: size should be an int or a sequence of 1 or 2 ints (h, w); got "
                        f"{size!r}")
    if any(s <= 0 for s in sizes):
        raise ValueError(f"resize: size must be positive; got {size!r}")
    if max_size is not None and len(sizes) != 1:
        raise ValueError("resize: max_size should only be passed if size specifies the length of "
                         f"the smaller edge (an int); got size={size!r}")
    x, back, _ = unpack(img, "resize")
    out = tuple(int(s) for s in _resized_size(*x.shape[-2:], list(sizes), max_size))
    if out == x.shape[-2:]:
        return back(x)
    return back(_resize_array(x, out, mode, antialias))


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR,
                 antialias=True):
    """``crop`` then ``resize`` (RandomResizedCrop's step)."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def _inverse_affine_matrix(center, angle, translate, scale, shear):
    """torchvision's inverse affine matrix (6 numbers): output pixel -> input pixel, both
    measured from ``center``; ``angle`` and ``shear`` in degrees."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    (cx, cy), (tx, ty) = center, translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [v / scale for v in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return m


def _affine_output_size(matrix, w, h):
    """The (w, h) that holds the whole transformed image (``rotate(expand=True)``), computed in
    float32 with torchvision's 1e-4 truncation."""
    f = np.float32
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0], [0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, -0.5 * h, 1.0]], f)
    new = pts @ np.asarray(matrix, f).reshape(2, 3).T
    half = np.array([w * 0.5, h * 0.5], f)
    lo, hi = new.min(0) + half, new.max(0) + half
    tol = f(1e-4)
    size = np.ceil(np.trunc(hi / tol) * tol) - np.floor(np.trunc(lo / tol) * tol)
    return int(size[0]), int(size[1])


def _affine_grid(matrix, in_size, out_size, dt):
    """torchvision's ``_gen_affine_grid``: for each output pixel the input position (x, y) in
    [-1, 1] that it reads, from the inverse affine ``matrix`` (6 numbers, pixels measured from
    the image centre) -> (1, h, w, 2), grid_sample's grid."""
    (h, w), (oh, ow) = in_size, out_size
    xs = np.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, ow).astype(dt)
    ys = np.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, oh).astype(dt)[:, None]
    theta = np.asarray(matrix, dtype=dt).reshape(2, 3)
    r = theta.T / np.array([0.5 * w, 0.5 * h], dtype=dt)        # (3, 2)
    gx = xs * r[0, 0] + ys * r[1, 0] + r[2, 0]
    gy = xs * r[0, 1] + ys * r[1, 1] + r[2, 1]
    return np.stack([gx, gy], -1)[None]


def _grid_transform(x, matrix, out_size, mode, fill):
    """Sample ``x`` (..., C, H, W) at the affine grid of ``matrix`` with grid_sample (zeros
    padding); outside the image reads ``fill`` (None: 0). torchvision's fill trick: one more
    channel of ones, sampled alike, says how much of each output pixel is inside the image."""
    dt, c = work_dtype(x.dtype), (x.shape[-3] if x.ndim >= 3 else 1)
    img = x.reshape(1, -1, *x.shape[-2:]).astype(dt, copy=False)   # one grid: the batch as channels
    if fill is not None:
        img = np.concatenate([img, np.ones((1, 1) + img.shape[2:], dt)], axis=1)
    grid = _affine_grid(matrix, x.shape[-2:], out_size, dt)
    y = grid_sample(_internal.wrap(img), _internal.wrap(grid), mode=mode, padding_mode="zeros",
                    align_corners=False).array
    if fill is not None:
        mask, y = y[:, -1:], y[:, :-1].reshape(-1, c, *out_size)
        values = list(fill) if isinstance(fill, (tuple, list)) else [float(fill)]
        if len(values) > 1 and len(values) != y.shape[1]:
            raise ValueError(f"rotate: the {len(values)} values of fill cannot broadcast to the "
                             f"{y.shape[1]} channels of the image")
        fill_img = np.asarray(values, dt).reshape(1, -1, 1, 1)
        if mode == "nearest":
            y = np.where(mask < 0.5, fill_img, y)
        else:
            y = y * mask + (dt.type(1.0) - mask) * fill_img
    return cast_back(y, x.dtype).reshape(*x.shape[:-2], *out_size)


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` ((x, y) in pixels from the
    top-left corner; default the image's centre). ``interpolation``: NEAREST (default) or
    BILINEAR; ``expand``: grow the output to hold the whole rotated image; ``fill``: the value
    (or one per channel) of pixels that come from outside the image, default 0."""
    mode = _interpolation(interpolation, "rotate", ("nearest", "bilinear"))
    if not isinstance(angle, numbers.Real):
        raise TypeError(f"rotate: angle should be a number; got {angle!r}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError(f"rotate: center should be a sequence (x, y); got {center!r}")
    x, back, _ = unpack(img, "rotate")
    h, w = x.shape[-2:]
    # pixels measured from the image centre; -angle: torchvision's rotate turns the other way
    # from its affine
    c = [0.0, 0.0] if center is None else [1.0 * (v - s * 0.5) for v, s in zip(center, (w, h))]
    matrix = _inverse_affine_matrix(c, -float(angle), [0.0, 0.0], 1.0, [0.0, 0.0])
    ow, oh = _affine_output_size(matrix, w, h) if expand else (w, h)
    return back(_grid_transform(x, matrix, (oh, ow), mode, fill))


def erase(img, i, j, h, w, v, inplace=False):
    """Set the window ``[i, i + h) x [j, j + w)`` of a tensor image (..., C, H, W) to ``v`` (a
    number, or an array that broadcasts to (C, h, w))."""
    if not isinstance(img, Tensor) or img.dtype == np.uint8:
        given = ("a uint8 Tensor, which is an image in PIL's layout" if isinstance(img, Tensor)
                 else type(img).__name__)
        raise TypeError(f"erase: img should be a tensor image (..., C, H, W); got {given}. "
                        f"RandomErasing and erase work after ToTensor(), as torchvision's do")
    x = _internal.as_array(img)
    y = x if inplace else x.copy()
    y[..., i:i + h, j:j + w] = _internal.as_array(v)
    if not inplace:
        return _internal.wrap(y)
    _internal.bump_version(img)
    return img


# === names torchvision has and this module does not ==============================================
UNSUPPORTED = {
    "affine": "affine transforms other than rotate are not implemented; use rotate",
    "perspective": "not implemented",
    "elastic_transform": "not implemented",
    "five_crop": "use crop / center_crop",
    "ten_crop": "use crop / center_crop with hflip",
    "invert": "write it as white - x, e.g. 1 - x for a float tensor image",
    "posterize": "not implemented",
    "solarize": "not implemented",
    "adjust_sharpness": "not implemented",
    "autocontrast": "not implemented",
    "equalize": "not implemented",
    "pil_to_tensor": "a dataset's uint8 Tensor is already the image in PIL's layout; use to_tensor "
                     "for a float tensor image",
}


def __getattr__(name):
    if name in UNSUPPORTED:
        raise AttributeError(f"gradkit.vision.transforms.functional.{name} is not supported: "
                             f"{UNSUPPORTED[name]}")
    raise AttributeError(f"gradkit.vision.transforms.functional has no {name!r}; it provides "
                         f"{', '.join(__all__)}")
