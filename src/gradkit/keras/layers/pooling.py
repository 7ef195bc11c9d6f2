"""Pooling, channels-last: MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling2D,
GlobalMaxPooling2D, and over the steps of sequences GlobalAveragePooling1D (which averages only
the steps a mask keeps) and GlobalMaxPooling1D.

Each window pool moves the channels to dim 1 (conv.py's ``_ChannelsLast``), calls
``nn.MaxPool1d/2d`` or ``nn.AvgPool1d/2d``, and moves them back. ``padding='same'`` is
TensorFlow's (conv.py): max pooling pads with -inf, average pooling leaves the padded positions
out of each mean (Keras' ``'same'`` average pooling).
"""
import numpy as np

from ... import _internal, nn, ops
from .conv import _ChannelsLast, _check_padding, _pad_same, _tuple
from .masks import mask_array

__all__ = ["MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D",
           "MaxPool1D", "AvgPool1D", "MaxPool2D", "AvgPool2D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
           "GlobalAvgPool1D", "GlobalMaxPool1D"]


# === window pooling ===========================================================================
class _Pooling(_ChannelsLast):
    """pool_size, strides (Defaults to pool_size), padding; ``_spatial`` axes; the nn pools."""

    _pool_classes = None   # the nn pools: (the 1-D class, the 2-D class)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name, n = type(self).__name__, self._spatial
        self.pool_size = _tuple(pool_size, n, "pool_size", name)
        self.strides = self.pool_size if strides is None else _tuple(strides, n, "strides", name)
        self.padding = _check_padding(padding, name)
        size, stride = (self.pool_size[0], self.strides[0]) if n == 1 \
            else (self.pool_size, self.strides)
        self.pool = self._pool_classes[n - 1](size, stride=stride)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=list(self.pool_size), strides=list(self.strides),
                      padding=self.padding)
        return config


class _MaxPooling(_Pooling):
    _pool_classes = (nn.MaxPool1d, nn.MaxPool2d)

    def call(self, inputs):
        x = self._to_nchw(inputs)
        if self.padding == "same":
            x = _pad_same(x, self.pool_size, self.strides, value=-np.inf)
        return self._from_nchw(self.pool(x))


class _AveragePooling(_Pooling):
    _pool_classes = (nn.AvgPool1d, nn.AvgPool2d)

    def call(self, inputs):
        x = self._to_nchw(inputs)
        if self.padding == "same":
            padded = _pad_same(x, self.pool_size, self.strides)
            if padded is not x:
                # mean over the real pixels = mean of the zero-padded window / share of real ones
                ones = ops.ones(1, 1, *x.shape[2:], dtype=x.dtype)
                share = self.pool(_pad_same(ones, self.pool_size, self.strides))
                return self._from_nchw(self.pool(padded) / share)
        return self._from_nchw(self.pool(x))


class MaxPooling1D(_MaxPooling):
    """The maximum over each ``pool_size`` window of steps, moved by ``strides`` (default:
    pool_size): (N, T, C) -> (N, T', C). Defaults: ``pool_size=2``. Wraps ``nn.MaxPool1d``."""

    _spatial = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_AveragePooling):
    """The mean over each ``pool_size`` window of steps: (N, T, C) -> (N, T', C). With
    ``padding='same'`` the padded steps are left out of each mean. Wraps ``nn.AvgPool1d``."""

    _spatial = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_MaxPooling):
    """The maximum over each ``pool_size`` window, moved by ``strides`` (default: pool_size).
    (N, H, W, C) -> (N, H', W', C). Wraps ``nn.MaxPool2d``."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_AveragePooling):
    """The mean over each ``pool_size`` window. With ``padding='same'`` the padded positions
    are left out of each mean, as in Keras. Wraps ``nn.AvgPool2d``."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D
MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D


class GlobalAveragePooling2D(_ChannelsLast):
    """The mean over H and W: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims``."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.keepdims = keepdims

    def _check_inputs(self, x):
        self._check_rank(x.shape)

    def call(self, inputs):
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return inputs.mean(dim=axes, keepdim=self.keepdims)

    def get_config(self):
        config = super().get_config()
        config["keepdims"] = self.keepdims
        return config


class GlobalMaxPooling2D(GlobalAveragePooling2D):
    """The maximum over H and W: (N, H, W, C) -> (N, C)."""

    def call(self, inputs):
        axes = (1, 2) if self.data_format == "channels_last" else (2, 3)
        return inputs.amax(dim=axes, keepdim=self.keepdims)


# === global pooling over the steps of sequences ===============================================
class GlobalAveragePooling1D(_ChannelsLast):
    """The mean over the steps: (N, T, C) -> (N, C), or (N, 1, C) with ``keepdims``
    (``data_format='channels_first'``: (N, C, T)).

    With a mask (N, T) (from ``Embedding(mask_zero=True)`` or ``Masking``, see masks.py) the
    mean is over the steps that count, Σ_t m_t x_t / Σ_t m_t, and the mask ends here, as in
    Keras (a sequence with no step left gives 0/0 = nan, as in Keras).
    """

    supports_masking = True

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.keepdims = keepdims

    def _steps_axis(self):
        return 1 if self.data_format == "channels_last" else 2

    def _check_inputs(self, x):
        if x.ndim != 3:
            e = ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is "
                           "incompatible with the layer: expected a 3-D batch of sequences "
                           f"(batch, steps, features), received shape {tuple(x.shape)}")
            _internal.name_error(e)
            raise e

    def call(self, inputs, mask=None):
        axis = self._steps_axis()
        if mask is None:
            return inputs.mean(dim=axis, keepdim=self.keepdims)
        keep = np.expand_dims(mask_array(mask), 3 - axis)   # (N, T, 1) or (N, 1, T)
        total = ops.where(keep, inputs, 0.0).sum(dim=axis, keepdim=self.keepdims)
        count = keep.sum(axis=axis, keepdims=self.keepdims).astype(inputs.dtype)
        return total / count

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config["keepdims"] = self.keepdims
        return config


class GlobalMaxPooling1D(GlobalAveragePooling1D):
    """The maximum over the steps: (N, T, C) -> (N, C). Keras' does not support masking: a
    masked input gives a warning, and every step (padding too) takes part."""

    supports_masking = False

    def call(self, inputs):
        return inputs.amax(dim=self._steps_axis(), keepdim=self.keepdims)


GlobalAvgPool1D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalMaxPooling1D
