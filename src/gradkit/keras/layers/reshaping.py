"""Reshaping layers that move or repeat values: UpSampling1D/2D, ZeroPadding1D/2D,
Cropping1D/2D, Permute, RepeatVector (Flatten and Reshape are in core.py).

Sequences are (N, T, C) and images (N, H, W, C) (``data_format='channels_first'``:
(N, C, H, W)). Upsampling is ``nn.Upsample`` on the channels-first layout; padding and cropping
are ``F.pad`` (a negative pad crops) on the spatial axes, whatever the layout.
"""
import numpy as np

from ... import _internal, nn, ops
from .base import Layer
from .conv import _ChannelsLast, _tuple

__all__ = ["UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D",
           "Cropping2D", "Permute", "RepeatVector"]


def _pad_pairs(value, n, name, layer):
    """Keras' padding/cropping argument -> n (before, after) pairs: an int (all sides), n ints
    (one per axis, both sides), or n pairs."""
    if isinstance(value, (int, np.integer)):
        pairs = [(int(value), int(value))] * n
    else:
        value = list(value)
        if n == 1 and len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
            pairs = [tuple(value)]
        elif len(value) == n and all(isinstance(v, (int, np.integer)) for v in value):
            pairs = [(int(v), int(v)) for v in value]
        elif len(value) == n and all(isinstance(v, (list, tuple)) and len(v) == 2
                                     for v in value):
            pairs = [(int(a), int(b)) for a, b in value]
        else:
            pairs = None
    if pairs is None or any(v < 0 for p in pairs for v in p):
        form = "an int or a pair (before, after)" if n == 1 else \
            "an int, a tuple of 2 ints, or a tuple of 2 pairs ((top, bottom), (left, right))"
        raise ValueError(f"{layer}: {name} must be {form} of non-negative ints, got {value!r}")
    return [tuple(p) for p in pairs]


class _Spatial(_ChannelsLast):
    """Padding or cropping the spatial axes by ``_pairs`` (``_sign`` -1 crops)."""

    _sign = 1

    def call(self, inputs):
        pads = []   # F.pad lists the last axis first
        if self.data_format == "channels_last":
            pads += [0, 0]
        for before, after in reversed(self._pairs):
            pads += [self._sign * before, self._sign * after]
        return ops.pad(inputs, tuple(pads))


# === upsampling ===============================================================================
class UpSampling1D(_ChannelsLast):
    """Repeats each step ``size`` times: (N, T, C) -> (N, T·size, C). Defaults: ``size=2``.
    Wraps ``nn.Upsample(scale_factor=size)`` (nearest)."""

    _spatial = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = _tuple(size, 1, "size", "UpSampling1D")[0]
        self.upsample = nn.Upsample(scale_factor=self.size, mode="nearest")

    def call(self, inputs):
        return self._from_nchw(self.upsample(self._to_nchw(inputs)))

    def get_config(self):
        config = super().get_config()
        config.pop("data_format")
        config["size"] = self.size
        return config


class UpSampling2D(_ChannelsLast):
    """Enlarges images by ``size`` (rows, columns): (N, H, W, C) -> (N, H·sh, W·sw, C).
    ``interpolation``: 'nearest' (Defaults; each pixel repeated) or 'bilinear' (half-pixel
    centres, TensorFlow's resize and PyTorch's ``align_corners=False``). Wraps ``nn.Upsample``.
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.size = _tuple(size, 2, "size", "UpSampling2D")
        if interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"UpSampling2D: interpolation={interpolation!r} is not "
                                      "supported by gradkit.keras; use 'nearest' or 'bilinear'")
        self.interpolation = interpolation
        self.upsample = nn.Upsample(scale_factor=self.size, mode=interpolation,
                                    align_corners=False if interpolation == "bilinear" else None)

    def call(self, inputs):
        return self._from_nchw(self.upsample(self._to_nchw(inputs)))

    def get_config(self):
        config = super().get_config()
        config.update(size=list(self.size), interpolation=self.interpolation)
        return config


# === zero padding, cropping ===================================================================
class ZeroPadding1D(_Spatial):
    """Adds zero steps at the start and end: (N, T, C) -> (N, T + before + after, C).
    ``padding``: an int (both ends) or (before, after). Defaults: ``padding=1``."""

    _spatial = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._pairs = _pad_pairs(padding, 1, "padding", "ZeroPadding1D")
        self.padding = self._pairs[0]

    def get_config(self):
        config = super().get_config()
        config["padding"] = list(self.padding)
        return config


class ZeroPadding2D(_Spatial):
    """Adds rows and columns of zeros around images: (N, H, W, C) -> (N, H + top + bottom,
    W + left + right, C). ``padding``: an int, (rows, columns) (both sides), or
    ((top, bottom), (left, right)). Defaults: ``padding=(1, 1)``."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._pairs = _pad_pairs(padding, 2, "padding", "ZeroPadding2D")
        self.padding = tuple(self._pairs)

    def get_config(self):
        config = super().get_config()
        config["padding"] = [list(p) for p in self.padding]
        return config


class Cropping1D(_Spatial):
    """Removes steps at the start and end: (N, T, C) -> (N, T - before - after, C).
    ``cropping``: an int or (before, after). Defaults: ``cropping=(1, 1)``."""

    _spatial, _sign = 1, -1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self._pairs = _pad_pairs(cropping, 1, "cropping", "Cropping1D")
        self.cropping = self._pairs[0]

    def _check_inputs(self, x):
        super()._check_inputs(x)
        _check_crop(self, x.shape[1:2])

    def get_config(self):
        config = super().get_config()
        config.pop("data_format")
        config["cropping"] = list(self.cropping)
        return config


class Cropping2D(_Spatial):
    """Removes rows and columns at the edges of images. ``cropping``: an int, (rows, columns)
    (both sides), or ((top, bottom), (left, right)). Defaults: ``cropping=((0, 0), (0, 0))``."""

    _sign = -1

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._pairs = _pad_pairs(cropping, 2, "cropping", "Cropping2D")
        self.cropping = tuple(self._pairs)

    def _check_inputs(self, x):
        super()._check_inputs(x)
        _check_crop(self, x.shape[1:3] if self.data_format == "channels_last" else x.shape[2:4])

    def get_config(self):
        config = super().get_config()
        config["cropping"] = [list(p) for p in self.cropping]
        return config


def _check_crop(layer, sizes):
    for size, (before, after) in zip(sizes, layer._pairs):
        if before + after >= size:
            e = ValueError(f"Input 0 of layer '{layer.name}' ({type(layer).__name__}): cropping "
                           f"{layer._pairs} removes every position of an axis of size {size}; "
                           "crop less or give larger inputs")
            _internal.name_error(e)
            raise e


# === Permute, RepeatVector ====================================================================
class Permute(Layer):
    """Reorders the axes after the batch: ``Permute((2, 1))`` turns (N, T, C) into (N, C, T).
    ``dims`` numbers the axes from 1 (the batch axis stays first)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: invalid permutation argument dims={dims!r}; it must be a "
                             f"permutation of 1..{len(self.dims)} (the batch axis is not counted)")

    def call(self, inputs):
        if inputs.ndim != len(self.dims) + 1:
            raise ValueError(f"Permute(dims={self.dims}): expected an input of rank "
                             f"{len(self.dims) + 1}, got shape {tuple(inputs.shape)}")
        return inputs.permute(0, *self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config


class RepeatVector(Layer):
    """Repeats a vector ``n`` times: (N, F) -> (N, n, F) (an encoder's summary fed to every
    step of a decoder)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"RepeatVector: n must be a positive integer, got {n!r}")
        self.n = int(n)

    def call(self, inputs):
        if inputs.ndim != 2:
            raise ValueError(f"RepeatVector expects a 2-D input (batch, features), got shape "
                             f"{tuple(inputs.shape)}")
        return inputs.unsqueeze(1).expand(inputs.shape[0], self.n, inputs.shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config
