"""Convolutions, channels-last: Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D,
SeparableConv2D (the pooling layers are in pooling.py).

Keras images are (N, H, W, C) and sequences (N, T, C); ``nn.Conv1d``/``nn.Conv2d`` take the
channels first. Each layer moves the channels to dim 1, calls the ``nn`` module, and moves them
back, so a Keras model sees channels-last throughout (``data_format='channels_first'`` skips the
moves). Each kernel reads in Keras' layout and is stored in PyTorch's:

    Conv1D           kernel (k, in/groups, out)        = conv.weight (out, in/groups, k)
    Conv2D           kernel (kh, kw, in/groups, out)   = conv.weight (out, in/groups, kh, kw)
    Conv2DTranspose  kernel (kh, kw, out, in)          = conv.weight (in, out, kh, kw)
    DepthwiseConv2D  kernel (kh, kw, in, multiplier)   = conv.weight (in·multiplier, 1, kh, kw)
    SeparableConv2D  depthwise_kernel as above, pointwise_kernel (1, 1, in·multiplier, filters)

Both transposed convolutions are the adjoint of a cross-correlation (TensorFlow's
``conv2d_transpose`` and PyTorch's ``conv_transpose2d``), so the kernel is not flipped.

``padding='same'`` is TensorFlow's: the output has ceil(size / stride) positions and the
padding is split with the extra row/column at the bottom/right. Conv1D also takes
``padding='causal'`` (all the padding on the left: step t sees steps <= t only).
"""
import math

import numpy as np

from ... import _internal, nn, ops
from .. import activations, regularizers
from .base import Adapter, KerasWeight, Layer, permuted

__all__ = ["Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D",
           "Convolution1D", "Convolution2D", "Convolution2DTranspose", "Conv2DTranspose",
           "SeparableConvolution2D"]


# === shared: arguments, TensorFlow's 'same' padding, channels-last ============================
def _tuple(v, n, name, layer):
    t = (v,) * n if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != n or not all(isinstance(i, (int, np.integer)) and i > 0 for i in t):
        what = "a positive int" + ("" if n == 1 else f" or a tuple of {n} of them")
        raise ValueError(f"{layer}: {name} must be {what}, got {v!r}")
    return tuple(int(i) for i in t)


def _pair(v, name, layer):
    return _tuple(v, 2, name, layer)


def _check_padding(padding, layer, allowed=("valid", "same")):
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding not in allowed:
        raise ValueError(f"{layer}: padding must be one of {', '.join(map(repr, allowed))}, "
                         f"got {padding!r}")
    return padding


def _same_pads(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding of one axis: (before, after), the extra one after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _pad_same(x, kernel, stride, dilation=None, value=0.0):
    """Pad a channels-first batch (N, C, *spatial) for 'same' output size."""
    spatial = x.shape[2:]
    dilation = dilation or (1,) * len(spatial)
    pads = []
    for size, k, s, d in reversed(list(zip(spatial, kernel, stride, dilation))):
        pads += _same_pads(size, k, s, d)   # F.pad lists the last axis first
    if not any(pads):
        return x
    return ops.pad(x, tuple(pads), value=value)


class _ChannelsLast(Layer):
    """Shared by the image and sequence layers: channels-last <-> channels-first around the
    wrapped nn module. ``_spatial`` is the number of spatial axes (2 for images)."""

    _spatial = 2

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{type(self).__name__}: data_format must be 'channels_last' or "
                             f"'channels_first', got {data_format!r}")
        self.data_format = data_format

    def _to_nchw(self, x):
        if self.data_format == "channels_first":
            return x
        return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))

    def _from_nchw(self, x):
        if self.data_format == "channels_first":
            return x
        return x.permute(0, *range(2, x.ndim), 1)

    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def _check_rank(self, shape):
        if len(shape) != self._spatial + 2:
            if self._spatial == 1:
                what, layout = "3-D batch of sequences", "(N, steps, C)" \
                    if self.data_format == "channels_last" else "(N, C, steps)"
                hint = " For one feature per step add the channel axis: x[..., None]." \
                    if len(shape) == 2 else ""
            else:
                what = "4-D batch of images"
                layout = "(N, H, W, C)" if self.data_format == "channels_last" else "(N, C, H, W)"
                hint = (" For grayscale images add the channel axis: x.reshape(-1, H, W, 1) or "
                        "x[..., None].") if len(shape) == 3 else ""
            e = ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is "
                           f"incompatible with the layer: expected a {what} {layout}, "
                           f"received shape {tuple(shape)}.{hint}")
            _internal.name_error(e)
            raise e

    def _check_inputs(self, x):
        self._check_rank(x.shape)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


def _no_constraints(layer, **given):
    names = [k for k, v in given.items() if v is not None]
    if names:
        raise NotImplementedError(f"{type(layer).__name__}: {', '.join(names)} "
                                  "are not supported by gradkit.keras yet")


# === Conv1D, Conv2D ===========================================================================
class _Conv(Adapter, _ChannelsLast):
    """The convolutions' shared arguments and calling; a subclass sets ``_spatial`` and
    ``_paddings`` and declares its nn module and kernel layout."""

    _paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name, n = type(self).__name__, self._spatial
        _no_constraints(self, kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{name}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", name)
        self.strides = _tuple(strides, n, "strides", name)
        self.dilation_rate = _tuple(dilation_rate, n, "dilation_rate", name)
        self.padding = _check_padding(padding, name, self._paddings)
        if self.padding != "valid" and max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{name}: strides > 1 with dilation_rate > 1 is not supported")
        self.groups = int(groups)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self._set_initializers(kernel_initializer=kernel_initializer,
                               bias_initializer=bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)

    def _in_channels(self, input_shape):
        self._check_rank(input_shape)
        channels = input_shape[self._channel_axis()]
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} '{self.name}': the input's {channels} "
                             f"channels must be divisible by groups={self.groups}")
        return channels

    def input_error(self, x):
        axis = self._channel_axis()
        if x.shape[axis] != self.conv.in_channels:
            return self._input_error(self.conv.in_channels, x.shape[axis], x.shape,
                                     what=f"channels (axis {axis})")

    def _pad(self, x):
        """Keras' padding done here (nn's modules are built with padding=0)."""
        if self.padding == "same":
            return _pad_same(x, self.kernel_size, self.strides, self.dilation_rate)
        if self.padding == "causal":
            return ops.pad(x, ((self.kernel_size[0] - 1) * self.dilation_rate[0], 0))
        return x

    def call(self, inputs):
        y = self.activation(self._from_nchw(self.conv(self._pad(self._to_nchw(inputs)))))
        self._add_regularization_losses(self.conv.weight, self.conv.bias, y)
        return y

    def keras_weights(self):
        return [KerasWeight("kernel", self.conv.weight, self._kernel_layout,
                            init=self.kernel_initializer),
                KerasWeight("bias", self.conv.bias, init=self.bias_initializer)]

    @property
    def kernel(self):
        """The kernel as Keras shows it (a view of ``conv.weight``)."""
        return self.conv.weight.permute(*self._kernel_axes)

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


class Conv1D(_Conv):
    """1-D convolution over channels-last sequences: (N, T, C_in) -> (N, T', filters).

    Wraps ``nn.Conv1d(C_in, filters, kernel_size, stride=strides, dilation=dilation_rate,
    groups=groups)``. ``padding``: 'valid' (Defaults), 'same', or 'causal' (left padding only).
    Other defaults as Conv2D's.

    >>> Conv1D(64, 3, activation="relu", padding="causal")
    """

    _spatial = 1
    _paddings = ("valid", "same", "causal")
    _kernel_axes = (2, 1, 0)   # kernel (k, in/groups, out) = conv.weight (out, in/groups, k)
    _kernel_layout = permuted(2, 1, 0)

    def nn_modules(self, input_shape):
        return {"conv": nn.Conv1d(self._in_channels(input_shape), self.filters,
                                  self.kernel_size[0], stride=self.strides[0], padding=0,
                                  dilation=self.dilation_rate[0], groups=self.groups,
                                  bias=self.use_bias, dtype=self._dtype)}


class Conv2D(_Conv):
    """2-D convolution over channels-last images: (N, H, W, C_in) -> (N, H', W', filters).

    Wraps ``nn.Conv2d(C_in, filters, kernel_size, stride=strides, dilation=dilation_rate,
    groups=groups)``, built at the first call. Defaults: ``strides=(1, 1)``, ``padding='valid'``,
    ``activation=None``, ``use_bias=True``, ``kernel_initializer='glorot_uniform'``,
    ``bias_initializer='zeros'``.

    >>> Conv2D(32, (3, 3), activation="relu", padding="same")
    """

    _kernel_axes = (2, 3, 1, 0)   # kernel (kh, kw, in/groups, out) = weight (out, in/g, kh, kw)
    _kernel_layout = permuted(2, 3, 1, 0)

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, **kwargs)

    def nn_modules(self, input_shape):
        return {"conv": nn.Conv2d(self._in_channels(input_shape), self.filters, self.kernel_size,
                                  stride=self.strides, padding=0, dilation=self.dilation_rate,
                                  groups=self.groups, bias=self.use_bias, dtype=self._dtype)}


Convolution1D, Convolution2D = Conv1D, Conv2D


# === Conv2DTranspose ==========================================================================
def _transpose_geometry(kernel, stride, dilation, padding, output_padding):
    """Where Keras' transposed-convolution output lies in the full (unpadded) one, along one
    axis. The full output is F(n) = (n-1)·stride + k (k the dilated kernel); Keras' is
    length(n) = (n-1)·stride + offset positions starting at F's ``before``-th, the last ``extra``
    of them past F's end (bias only). Keras' rule (compute_conv_transpose_output_length, and the
    JAX backend's padding, which is TensorFlow's): 'valid' starts at 0 and is
    (n-1)·stride + max(k, stride) long; 'same' is n·stride long with the crop split as in
    TensorFlow's 'same' (the extra one after); ``output_padding`` sets the length to
    (n-1)·stride + k - 2·pad + output_padding (pad = k // 2 for 'same', 0 for 'valid').
    Returns (before, extra, offset)."""
    k = (kernel - 1) * dilation + 1
    if padding == "valid":
        before = 0
        offset = max(k, stride) if output_padding is None else k + output_padding
    else:
        pad_len = stride + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
        before = k - 1 - min(pad_len // 2 + pad_len % 2, k - 1)
        offset = stride if output_padding is None else k - 2 * (k // 2) + output_padding
    return before, max(before + offset - k, 0), offset


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution ("deconvolution", the upsampling half of a U-Net or a
    generator): (N, H, W, C_in) -> (N, H', W', filters), H' = H·stride with ``padding='same'``,
    (H-1)·stride + max(kh, stride) with 'valid'.

    Wraps ``nn.ConvTranspose2d(C_in, filters, kernel_size, stride=strides,
    dilation=dilation_rate)``; the kernel reads as Keras' (kh, kw, filters, C_in). Defaults as
    Conv2D's; ``output_padding=None`` (a given one sets the output size exactly).

    >>> Conv2DTranspose(32, 3, strides=2, padding="same")      # (N, 8, 8, C) -> (N, 16, 16, 32)
    """

    _kernel_axes = (2, 3, 1, 0)   # kernel (kh, kw, out, in) = weight (in, out, kh, kw)
    _kernel_layout = permuted(2, 3, 1, 0)

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), **kwargs):
        if kwargs.pop("groups", 1) != 1:
            raise NotImplementedError("Conv2DTranspose: groups is not a Keras argument")
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         **kwargs)
        self.output_padding = None if output_padding is None else \
            tuple(int(p) for p in ((output_padding,) * 2 if isinstance(
                output_padding, (int, np.integer)) else output_padding))
        given = self.output_padding or (None, None)
        self._geometry = [_transpose_geometry(k, s, d, self.padding, p) for k, s, d, p in
                          zip(self.kernel_size, self.strides, self.dilation_rate, given)]

    # the adapter: nn.ConvTranspose2d as ``conv`` with padding 0 and output_padding = the rows
    # Keras adds past the full output (bias included, as TensorFlow's); the crop is done here
    def nn_modules(self, input_shape):
        return {"conv": nn.ConvTranspose2d(
            self._in_channels(input_shape), self.filters, self.kernel_size, stride=self.strides,
            padding=0, output_padding=tuple(g[1] for g in self._geometry),
            dilation=self.dilation_rate, bias=self.use_bias, dtype=self._dtype)}

    def call(self, inputs):
        x = self._to_nchw(inputs)
        y = self.conv(x)
        crop = []
        for (before, _, offset), n, s, full in reversed(list(zip(
                self._geometry, x.shape[2:], self.strides, y.shape[2:]))):
            crop += [-before, -(full - before - ((n - 1) * s + offset))]
        if any(crop):
            y = ops.pad(y, tuple(crop))   # negative padding crops
        y = self.activation(self._from_nchw(y))
        self._add_regularization_losses(self.conv.weight, self.conv.bias, y)
        return y

    def get_config(self):
        config = super().get_config()
        config.pop("groups")
        config["output_padding"] = None if self.output_padding is None \
            else list(self.output_padding)
        return config


Convolution2DTranspose = Conv2DTranspose


# === DepthwiseConv2D, SeparableConv2D: nn.Conv2d with groups = channels ======================
def _depthwise_layout(multiplier):
    """kernel (kh, kw, in, m) = weight (in·m, 1, kh, kw): output channel c·m + j is input
    channel c's j-th filter (TensorFlow's and PyTorch's order alike)."""
    def to_keras(w):
        return w.reshape(-1, multiplier, *w.shape[2:]).transpose(2, 3, 0, 1)

    def from_keras(k):
        return k.transpose(2, 3, 0, 1).reshape(-1, 1, *k.shape[:2])

    return to_keras, from_keras


class DepthwiseConv2D(_Conv):
    """Each input channel convolved with its own ``depth_multiplier`` filters:
    (N, H, W, C) -> (N, H', W', C·depth_multiplier). Wraps ``nn.Conv2d(C, C·depth_multiplier,
    kernel_size, groups=C)``; kernel (kh, kw, C, depth_multiplier). Defaults:
    ``depth_multiplier=1``, ``padding='valid'``, ``depthwise_initializer='glorot_uniform'``.
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        _no_constraints(self, depthwise_regularizer=depthwise_regularizer,
                        depthwise_constraint=depthwise_constraint)
        super().__init__(1, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = int(depth_multiplier)
        self._set_initializers(depthwise_initializer=depthwise_initializer,
                               bias_initializer=bias_initializer)
        self.kernel_initializer = self.depthwise_initializer

    def nn_modules(self, input_shape):
        c = self._in_channels(input_shape)
        return {"conv": nn.Conv2d(c, c * self.depth_multiplier, self.kernel_size,
                                  stride=self.strides, padding=0, dilation=self.dilation_rate,
                                  groups=c, bias=self.use_bias, dtype=self._dtype)}

    def keras_weights(self):
        return [KerasWeight("kernel", self.conv.weight, _depthwise_layout(self.depth_multiplier),
                            init=self.depthwise_initializer),
                KerasWeight("bias", self.conv.bias, init=self.bias_initializer)]

    @property
    def kernel(self):
        w = self.conv.weight
        return w.reshape(-1, self.depth_multiplier, *w.shape[2:]).permute(2, 3, 0, 1)

    def get_config(self):
        config = super().get_config()
        for k in ("filters", "groups", "kernel_initializer", "kernel_regularizer"):
            config.pop(k, None)
        config["depth_multiplier"] = self.depth_multiplier
        return config


class SeparableConv2D(DepthwiseConv2D):
    """A depthwise convolution (each channel alone, ``depth_multiplier`` filters each) followed
    by a 1×1 pointwise one mixing the channels: (N, H, W, C) -> (N, H', W', filters), far fewer
    weights than Conv2D (Xception, MobileNet). Wraps two ``nn.Conv2d``: ``depthwise`` (groups=C,
    no bias, strides/padding/dilation here) and ``pointwise`` (1×1, the bias). Weights:
    depthwise_kernel (kh, kw, C, m), pointwise_kernel (1, 1, C·m, filters), bias (filters,).
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        _no_constraints(self, pointwise_regularizer=pointwise_regularizer,
                        pointwise_constraint=pointwise_constraint)
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"SeparableConv2D: filters must be a positive integer, "
                             f"got {filters!r}")
        self.filters = int(filters)
        self._set_initializers(depthwise_initializer=depthwise_initializer,
                               pointwise_initializer=pointwise_initializer,
                               bias_initializer=bias_initializer)

    def nn_modules(self, input_shape):
        c = self._in_channels(input_shape)
        m = c * self.depth_multiplier
        return {"conv": nn.Conv2d(c, m, self.kernel_size, stride=self.strides, padding=0,
                                  dilation=self.dilation_rate, groups=c, bias=False,
                                  dtype=self._dtype),
                "pointwise": nn.Conv2d(m, self.filters, 1, bias=self.use_bias,
                                       dtype=self._dtype)}

    def keras_weights(self):
        return [KerasWeight("depthwise_kernel", self.conv.weight,
                            _depthwise_layout(self.depth_multiplier),
                            init=self.depthwise_initializer),
                KerasWeight("pointwise_kernel", self.pointwise.weight, permuted(2, 3, 1, 0),
                            init=self.pointwise_initializer),
                KerasWeight("bias", self.pointwise.bias, init=self.bias_initializer)]

    def call(self, inputs):
        y = self.pointwise(self.conv(self._pad(self._to_nchw(inputs))))
        y = self.activation(self._from_nchw(y))
        self._add_regularization_losses(self.pointwise.weight, self.pointwise.bias, y)
        return y

    @property
    def depthwise_kernel(self):
        return DepthwiseConv2D.kernel.fget(self)

    @property
    def pointwise_kernel(self):
        return self.pointwise.weight.permute(2, 3, 1, 0)

    @property
    def bias(self):
        return self.pointwise.bias

    def get_config(self):
        config = super().get_config()
        config["filters"] = self.filters
        return config


SeparableConvolution2D = SeparableConv2D
