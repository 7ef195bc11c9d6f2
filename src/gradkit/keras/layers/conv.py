"""Convolution and pooling, channels-last: Conv2D, MaxPooling2D, AveragePooling2D,
GlobalAveragePooling2D, GlobalMaxPooling2D, and over the steps of sequences
GlobalAveragePooling1D (which averages only the steps a mask keeps) and GlobalMaxPooling1D.

Keras images are (N, H, W, C); ``nn.Conv2d`` and the pools take (N, C, H, W). Each layer
transposes its input to NCHW, calls the ``nn`` module, and transposes the result back, so a
Keras model sees channels-last throughout (``data_format='channels_first'`` skips the
transposes). Conv2D's kernel reads as Keras' (kh, kw, in, out); it is stored as
``conv.weight`` (out, in, kh, kw).

``padding='same'`` is TensorFlow's: the output has ceil(size / stride) positions and the
padding is split with the extra row/column at the bottom/right. Pools pad with -inf (max) or
leave the padding out of each average (Keras' ``'same'`` average pooling).
"""
import math

import numpy as np

from ... import _internal, nn, ops
from .. import activations, regularizers
from .base import Adapter, KerasWeight, Layer, permuted
from .masks import mask_array

__all__ = ["Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "MaxPool2D", "AvgPool2D", "Convolution2D",
           "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAvgPool1D", "GlobalMaxPool1D"]


def _pair(v, name, layer):
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or not all(isinstance(i, (int, np.integer)) and i > 0 for i in t):
        raise ValueError(f"{layer}: {name} must be a positive int or a pair of them, got {v!r}")
    return tuple(int(i) for i in t)


def _check_padding(padding, layer):
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {padding!r}")
    return padding


def _same_pads(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding of one axis: (before, after), the extra one after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _pad_same(x, kernel, stride, dilation=(1, 1), value=0.0):
    """Pad an NCHW batch for 'same' output size."""
    (t, b), (lft, r) = (_same_pads(x.shape[2], kernel[0], stride[0], dilation[0]),
                        _same_pads(x.shape[3], kernel[1], stride[1], dilation[1]))
    if t == b == lft == r == 0:
        return x
    return ops.pad(x, (lft, r, t, b), value=value)


class _ChannelsLast(Layer):
    """Shared by the image layers: NHWC <-> NCHW around the wrapped nn module."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_last' or "
                             f"'channels_first', got {data_format!r}")
        self.data_format = data_format

    def _to_nchw(self, x):
        return x.permute(0, 3, 1, 2) if self.data_format == "channels_last" else x

    def _from_nchw(self, x):
        return x.permute(0, 2, 3, 1) if self.data_format == "channels_last" else x

    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def _check_rank(self, shape):
        if len(shape) != 4:
            layout = "(N, H, W, C)" if self.data_format == "channels_last" else "(N, C, H, W)"
            hint = ""
            if len(shape) == 3:
                hint = (" For grayscale images add the channel axis: x.reshape(-1, H, W, 1) or "
                        "x[..., None].")
            e = ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is "
                           f"incompatible with the layer: expected a 4-D batch of images {layout}, "
                           f"received shape {tuple(shape)}.{hint}")
            _internal.name_error(e)
            raise e

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


# === Conv2D ===================================================================================
class Conv2D(Adapter, _ChannelsLast):
    """2-D convolution over channels-last images: (N, H, W, C_in) -> (N, H', W', filters).

    Wraps ``nn.Conv2d(C_in, filters, kernel_size, stride=strides, dilation=dilation_rate,
    groups=groups)``, built at the first call. Defaults: ``strides=(1, 1)``, ``padding='valid'``,
    ``activation=None``, ``use_bias=True``, ``kernel_initializer='glorot_uniform'``,
    ``bias_initializer='zeros'``.

    >>> Conv2D(32, (3, 3), activation="relu", padding="same")
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name = type(self).__name__
        if kernel_constraint is not None or bias_constraint is not None:
            raise NotImplementedError(f"{name}: constraints are not supported by gradkit.keras yet")
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{name}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size", name)
        self.strides = _pair(strides, "strides", name)
        self.dilation_rate = _pair(dilation_rate, "dilation_rate", name)
        self.padding = _check_padding(padding, name)
        if self.padding == "same" and self.strides != (1, 1) and self.dilation_rate != (1, 1):
            raise ValueError(f"{name}: strides > 1 with dilation_rate > 1 is not supported")
        self.groups = groups
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self._set_initializers(kernel_initializer=kernel_initializer,
                               bias_initializer=bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)

    # the adapter: nn.Conv2d as ``conv`` (padding done here, as TensorFlow's 'same');
    # kernel (kh, kw, in, out) = conv.weight (out, in, kh, kw) permuted
    def nn_modules(self, input_shape):
        self._check_rank(input_shape)
        channels = input_shape[self._channel_axis()]
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} '{self.name}': the input's {channels} "
                             f"channels must be divisible by groups={self.groups}")
        return {"conv": nn.Conv2d(channels, self.filters, self.kernel_size, stride=self.strides,
                                  padding=0, dilation=self.dilation_rate, groups=self.groups,
                                  bias=self.use_bias, dtype=self._dtype)}

    def keras_weights(self):
        return [KerasWeight("kernel", self.conv.weight, permuted(2, 3, 1, 0),
                            init=self.kernel_initializer),
                KerasWeight("bias", self.conv.bias, init=self.bias_initializer)]

    def _check_inputs(self, x):   # before the call: nn.Conv2d would take (C, H, W) as unbatched
        self._check_rank(x.shape)

    def input_error(self, x):
        axis = self._channel_axis()
        if x.shape[axis] != self.conv.in_channels:
            return self._input_error(self.conv.in_channels, x.shape[axis], x.shape,
                                     what=f"channels (axis {axis})")

    def call(self, inputs):
        x = self._to_nchw(inputs)
        if self.padding == "same":
            x = _pad_same(x, self.kernel_size, self.strides, self.dilation_rate)
        y = self.activation(self._from_nchw(self.conv(x)))
        self._add_regularization_losses(self.conv.weight, self.conv.bias, y)
        return y

    @property
    def kernel(self):
        """The kernel as Keras shows it, (kh, kw, in, out): a view of ``conv.weight``."""
        return self.conv.weight.permute(2, 3, 1, 0)

    @property
    def bias(self):
        return self.conv.bias

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=list(self.kernel_size),
                      strides=list(self.strides), padding=self.padding,
                      dilation_rate=list(self.dilation_rate), groups=self.groups,
                      activation=activations.serialize(self.activation), use_bias=self.use_bias,
                      **self._initializers_config(),
                      kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
                      bias_regularizer=regularizers.serialize(self.bias_regularizer),
                      activity_regularizer=regularizers.serialize(self.activity_regularizer))
        return config


Convolution2D = Conv2D


# === pooling ==================================================================================
class _Pooling2D(_ChannelsLast):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name = type(self).__name__
        self.pool_size = _pair(pool_size, "pool_size", name)
        self.strides = self.pool_size if strides is None else _pair(strides, "strides", name)
        self.padding = _check_padding(padding, name)

    def _check_inputs(self, x):
        self._check_rank(x.shape)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=list(self.pool_size), strides=list(self.strides),
                      padding=self.padding)
        return config


class MaxPooling2D(_Pooling2D):
    """The maximum over each ``pool_size`` window, moved by ``strides`` (default: pool_size).
    (N, H, W, C) -> (N, H', W', C). Wraps ``nn.MaxPool2d``."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)
        self.pool = nn.MaxPool2d(self.pool_size, stride=self.strides)

    def call(self, inputs):
        x = self._to_nchw(inputs)
        if self.padding == "same":
            x = _pad_same(x, self.pool_size, self.strides, value=-np.inf)
        return self._from_nchw(self.pool(x))


class AveragePooling2D(_Pooling2D):
    """The mean over each ``pool_size`` window. With ``padding='same'`` the padded positions
    are left out of each mean, as in Keras. Wraps ``nn.AvgPool2d``."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)
        self.pool = nn.AvgPool2d(self.pool_size, stride=self.strides)

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
