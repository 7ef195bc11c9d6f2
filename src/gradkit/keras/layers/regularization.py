"""Regularization layers, active only in training (the identity in inference): SpatialDropout1D,
SpatialDropout2D (whole channels, ``nn.Dropout1d``/``nn.Dropout2d``), GaussianNoise (additive
noise) and GaussianDropout (multiplicative noise). Dropout itself is in core.py. The noise comes
from gradkit's global generator (``keras.utils.set_random_seed`` / ``gk.manual_seed``); ``seed``
is kept for the config.
"""
import math

from ... import nn, ops
from .base import Layer
from .conv import _ChannelsLast

__all__ = ["SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout"]


def _check_rate(layer, rate):
    if not 0 <= rate <= 1:
        raise ValueError(f"{layer}: rate must be in [0, 1], got {rate}")
    return float(rate)


class SpatialDropout1D(_ChannelsLast):
    """Dropout of whole channels: in training each (sample, channel) of (N, T, C) is zeroed at
    every step with probability ``rate``, the rest scaled by 1/(1 - rate). Wraps
    ``nn.Dropout1d`` (on (N, C, T))."""

    supports_masking = True
    _spatial = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = _check_rate("SpatialDropout1D", rate), seed
        self.dropout = nn.Dropout1d(self.rate)

    def call(self, inputs, training=None):
        return self._from_nchw(self.dropout(self._to_nchw(inputs)))   # the layer's mode

    def get_config(self):
        config = super().get_config()
        config.pop("data_format")
        config.update(rate=self.rate, seed=self.seed)
        return config


class SpatialDropout2D(_ChannelsLast):
    """Dropout of whole feature maps: in training each (sample, channel) of (N, H, W, C) is
    zeroed with probability ``rate``. Wraps ``nn.Dropout2d``."""

    supports_masking = True

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.rate, self.seed = _check_rate("SpatialDropout2D", rate), seed
        self.dropout = nn.Dropout2d(self.rate)

    def call(self, inputs, training=None):
        return self._from_nchw(self.dropout(self._to_nchw(inputs)))

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


class GaussianNoise(Layer):
    """x + noise, noise ~ N(0, stddev²) drawn anew at every training call (a regulariser and a
    form of data augmentation); the identity in inference."""

    supports_masking = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if stddev < 0:
            raise ValueError(f"GaussianNoise: stddev must be >= 0, got {stddev}")
        self.stddev, self.seed = float(stddev), seed

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        return inputs + ops.randn(*inputs.shape, dtype=inputs.dtype) * self.stddev

    def get_config(self):
        config = super().get_config()
        config.update(stddev=self.stddev, seed=self.seed)
        return config


class GaussianDropout(Layer):
    """x · noise, noise ~ N(1, rate / (1 - rate)) in training: the variance of dropout with
    ``rate``, without zeros (Srivastava et al., 2014, section 10); the identity in inference."""

    supports_masking = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = _check_rate("GaussianDropout", rate), seed

    def call(self, inputs, training=None):
        if not training or not 0 < self.rate < 1:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * (ops.randn(*inputs.shape, dtype=inputs.dtype) * stddev + 1.0)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config
