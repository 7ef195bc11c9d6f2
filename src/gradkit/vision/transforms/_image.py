"""What an image is, for ``gradkit.vision.transforms.functional``: the two kinds it accepts and
the dtype rules they share.

A **uint8 Tensor**, a NumPy array or a PIL image is an image in PIL's layout, H x W or H x W x C;
any other Tensor is a tensor image (..., C, H, W). ``unpack`` gives either as an array
``(..., C, H, W)`` (a view) and a function that turns a result back into the kind it came as.
"""
import numpy as np

from ... import _internal
from ...tensor import Tensor

__all__ = ["is_pil_layout", "pil_array", "unpack", "channels", "check_channels", "max_value",
           "work_dtype", "cast_back", "convert_dtype"]


def is_pil_layout(img):
    """True for an image in PIL's layout: a uint8 Tensor, a NumPy array or a PIL image."""
    if isinstance(img, Tensor):
        return img.dtype == np.uint8
    return isinstance(img, np.ndarray) or hasattr(img, "__array_interface__")


def pil_array(img, name):
    """An image in PIL's layout as an (H, W) or (H, W, C) array (no copy where possible)."""
    a = _internal.as_array(img)
    if a.ndim not in (2, 3):
        raise ValueError(f"{name}: an image in PIL's layout is H x W or H x W x C; got shape "
                         f"{a.shape}")
    if a.ndim == 3 and isinstance(img, Tensor) and a.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(
            f"{name}: a uint8 Tensor is an image in PIL's layout, H x W x C with C in (1, 2, 3, 4); "
            f"got shape {tuple(a.shape)}, which looks channels-first. Convert it with ToTensor() "
            f"first (or .to(gradkit.float32) / 255), or permute it to H x W x C")
    return a


def _as_pil_kind(array, like):
    """``array`` (PIL layout) in the kind of ``like``: a NumPy array stays one, else a Tensor."""
    array = np.ascontiguousarray(array)
    return array if isinstance(like, np.ndarray) else _internal.wrap(array)


def _wrap(array):
    return _internal.wrap(np.ascontiguousarray(array))


def unpack(img, name):
    """``img`` as an array ``(..., C, H, W)`` (a 2-D tensor image stays (H, W); an image in PIL's
    layout becomes a (C, H, W) view), the function that turns a result back into ``img``'s kind,
    and whether ``img`` is in PIL's layout."""
    if not is_pil_layout(img):
        if not isinstance(img, Tensor):
            raise TypeError(f"{name}: img should be a Tensor image or an image in PIL's layout "
                            f"(uint8 Tensor, NumPy array or PIL image); got {type(img).__name__}")
        x = _internal.as_array(img)
        if x.ndim < 2:
            raise ValueError(f"{name}: expected a tensor image of shape (..., C, H, W) or (H, W); "
                             f"got shape {tuple(x.shape)}")
        return x, _wrap, False
    a = pil_array(img, name)
    chw = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)

    def back(y):
        # one channel comes back H x W unless it was H x W x 1 (PIL's "L" has no channel axis)
        if y.shape[0] == 1 and (a.ndim == 2 or chw.shape[0] != 1):
            return _as_pil_kind(y[0], img)
        return _as_pil_kind(y.transpose(1, 2, 0), img)

    return chw, back, True


def channels(x):
    return 1 if x.ndim == 2 else x.shape[-3]


def check_channels(x, permitted, name):
    if channels(x) not in permitted:
        raise TypeError(f"{name}: expected an image with {' or '.join(map(str, permitted))} "
                        f"channels; got {channels(x)} (array shape {tuple(x.shape)})")


def max_value(dtype):
    """The value of white: 1 for floats, the largest integer for integer dtypes (torchvision's)."""
    return int(np.iinfo(dtype).max) if dtype.kind in "iu" else 1


def work_dtype(dtype):
    """The dtype torchvision resamples in: float32 and float64 stay, the rest use float32."""
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)


def cast_back(y, dtype):
    """A float result into the image's dtype: integers are rounded first (half to even)."""
    return (np.rint(y) if dtype.kind in "iu" else y).astype(dtype, copy=False)


def convert_dtype(x, dtype):
    """torchvision's ``convert_image_dtype`` on an array: floats are in [0, 1], integers in
    [0, max of the dtype]; float -> int is ``x * (max + 1 - 0.001)`` truncated."""
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if x.dtype.kind == "f":
        if dtype.kind == "f":
            return x.astype(dtype)
        if (x.dtype == np.float32 and dtype in (np.int32, np.int64)) or (
                x.dtype == np.float64 and dtype == np.int64):
            raise RuntimeError(f"convert_image_dtype: the cast from {x.dtype} to {dtype} cannot be "
                               f"performed safely (the float cannot hold every integer)")
        return (x * x.dtype.type(max_value(dtype) + 1.0 - 1e-3)).astype(dtype)
    in_max = max_value(x.dtype)
    if dtype.kind == "f":
        return x.astype(dtype) / dtype.type(in_max)
    out_max = max_value(dtype)
    if in_max > out_max:
        return (x // ((in_max + 1) // (out_max + 1))).astype(dtype)
    return x.astype(dtype) * dtype.type((out_max + 1) // (in_max + 1))
