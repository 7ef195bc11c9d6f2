"""``from gradkit.vision import utils``: torchvision's ``make_grid`` and ``save_image``.

    make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0)          images (B, C, H, W) -> one image (C, H', W'), torchvision's layout
    save_image(tensor, fp, format=None, **same)
                                    make_grid, then a PNG file (no PIL: zlib and struct)

The PNG writer is the minimal one: 8 bits per channel, RGB or RGBA, no filter, one IDAT chunk.
"""
import math
import os
import struct
import zlib

import numpy as np

from .. import _internal
from ..io import atomic_write_bytes
from ..tensor import Tensor

__all__ = ["make_grid", "save_image", "png_bytes"]


def _images(tensor, where):
    """A Tensor / array, or a list of them (stacked), as an ndarray."""
    if isinstance(tensor, (list, tuple)):
        for t in tensor:
            if not isinstance(t, (Tensor, np.ndarray)):
                raise TypeError(f"{where}: tensor or list of tensors expected, got a list "
                                f"containing {type(t).__name__}")
        return np.stack([_internal.as_array(t) for t in tensor])
    if not isinstance(tensor, (Tensor, np.ndarray)):
        raise TypeError(f"{where}: tensor or list of tensors expected, got {type(tensor).__name__}")
    return _internal.as_array(tensor)


def _grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
          pad_value=0.0, where="make_grid"):
    x = _images(tensor, where)
    if x.ndim == 2:                 # one image H x W
        x = x[None]
    if x.ndim == 3:                 # one image C x H x W
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"{where}: expected images (B, C, H, W), one image (C, H, W) or (H, W); "
                         f"got shape {x.shape}")
    if x.shape[1] == 1:             # grey becomes RGB
        x = np.concatenate([x, x, x], axis=1)
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError(f"{where}: value_range has to be a tuple (min, max) if specified; "
                            f"got {value_range!r}")
        x = x.astype(x.dtype if x.dtype.kind == "f" else np.float32)   # a copy
        for img in (x if scale_each else [x]):
            low, high = value_range if value_range is not None else (float(img.min()), float(img.max()))
            np.clip(img, low, high, out=img)
            img -= low
            img /= max(high - low, 1e-5)
    if x.shape[0] == 1:             # one image: returned without padding
        return x[0]
    n, c, h, w = x.shape
    xmaps = min(nrow, n)
    ymaps = int(math.ceil(n / xmaps))
    height, width = h + padding, w + padding
    grid = np.full((c, height * ymaps + padding, width * xmaps + padding), pad_value, dtype=x.dtype)
    for k in range(n):
        y0, x0 = (k // xmaps) * height + padding, (k % xmaps) * width + padding
        grid[:, y0:y0 + h, x0:x0 + w] = x[k]
    return grid


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """Lay a batch of images out as one image, as torchvision's ``make_grid``.

    ``tensor``: (B, C, H, W), or a list of (C, H, W) tensors; one image (C, H, W) or (H, W) is
    returned as it is (without padding). The rules, torchvision's:

    - 1-channel images become 3-channel (the channel repeated), so the grid is RGB;
    - ``min(nrow, B)`` images per row, ``ceil(B / that)`` rows, filled row by row;
    - ``padding`` pixels of ``pad_value`` before each image and after the last one in each
      direction: the grid is (C, rows * (H + padding) + padding, cols * (W + padding) + padding);
    - ``normalize=True`` clamps to ``value_range`` (default: the batch's min and max, or each
      image's with ``scale_each=True``) and maps it to [0, 1]: ``(x - low) / max(high - low, 1e-5)``.

    Returns a Tensor of the input's dtype (float32 for integer input with ``normalize=True``).
    """
    return _internal.wrap(_grid(tensor, nrow, padding, normalize, value_range, scale_each, pad_value))


def png_bytes(image):
    """uint8 (H, W, 3) or (H, W, 4) -> the bytes of a PNG file (RGB or RGBA, 8 bits)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w, c = image.shape
    color_type = {3: 2, 4: 6}[c]

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = np.concatenate([np.zeros((h, 1), np.uint8), image.reshape(h, w * c)], axis=1)  # filter 0
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + chunk(b"IEND", b""))


def save_image(tensor, fp, format=None, **kwargs):
    """Save a batch of images (or one) as a PNG grid, as torchvision's ``save_image``.

    ``tensor``: float values in [0, 1], (B, C, H, W) or (C, H, W); laid out by ``make_grid``
    with ``kwargs`` (``nrow``, ``padding``, ``normalize``, ``value_range``, ``pad_value``, ...),
    then stored as torchvision stores it: ``uint8(clamp(x * 255 + 0.5, 0, 255))``. ``fp``: a path
    ending in ``.png`` (written atomically) or a binary file object. Only PNG is written:
    ``format`` may be None or "png". 1-channel images give an RGB file (see ``make_grid``), 4
    channels an RGBA one.
    """
    if format is not None and str(format).lower() != "png":
        raise ValueError(f"save_image: format={format!r}: gradkit writes PNG only (it does not "
                         f"depend on PIL); use format='png' or a .png file name")
    is_path = isinstance(fp, (str, os.PathLike))
    if is_path and format is None and os.path.splitext(os.fspath(fp))[1].lower() != ".png":
        raise ValueError(f"save_image: {os.fspath(fp)!r}: gradkit writes PNG only (it does not "
                         f"depend on PIL); give the file a .png name")
    grid = _grid(tensor, where="save_image", **kwargs)
    if grid.shape[0] not in (3, 4):
        raise ValueError(f"save_image: a PNG holds 1, 3 or 4 channels; the images have "
                         f"{grid.shape[0]} (grid shape {grid.shape})")
    if grid.dtype.kind != "f":
        grid = grid.astype(np.float32)
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    data = png_bytes(pixels)
    if is_path:
        atomic_write_bytes(fp, data)
    else:
        fp.write(data)
