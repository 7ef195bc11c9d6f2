"""Preprocessing layers that run inside a model: Rescaling (x · scale + offset) and
Normalization ((x - mean) / √variance, with ``adapt(data)`` to learn them). They have no
gradients to learn; Normalization's mean and variance are non-trainable weights, saved with the
model.
"""
import numpy as np

from ... import _internal
from ...tensor import Tensor
from .base import Layer

__all__ = ["Rescaling", "Normalization"]

_EPSILON = 1e-7   # Keras' backend.epsilon()


class Rescaling(Layer):
    """x · scale + offset: ``Rescaling(1. / 255)`` maps pixels to [0, 1],
    ``Rescaling(1. / 127.5, offset=-1)`` to [-1, 1]. Defaults: ``offset=0.0``."""

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        def value(v):   # a float, or one value per channel
            return v if np.isscalar(v) else Tensor(np.asarray(v, inputs.dtype))
        return inputs * value(self.scale) + value(self.offset)

    def get_config(self):
        config = super().get_config()
        config.update(scale=_plain(self.scale), offset=_plain(self.offset))
        return config


def _plain(v):
    return np.asarray(v).tolist() if not np.isscalar(v) else float(v)


class Normalization(Layer):
    """(x - mean) / max(√variance, ε) per index of ``axis`` (Defaults to ``-1``: one mean and
    variance per feature; ``None``: one for all), ε = 1e-7 (Keras' ``backend.epsilon()``).

    The statistics are given (``mean=``, ``variance=``) or learnt from data by
    ``layer.adapt(data)`` (an array, or an iterable of batches: a Dataset, a generator), which
    computes the data's mean and (population) variance over every other axis. ``invert=True``
    maps back: mean + x · √variance. Weights (learnt ones): mean, variance, count (kept at 0,
    for Keras' layout).

    >>> norm = Normalization(); norm.adapt(x_train); model = Sequential([norm, Dense(1)])
    """

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both mean and variance, or neither (and call "
                             f"adapt(data)); got mean={mean!r}, variance={variance!r}")
        if axis is None:
            axis = ()
        self.axis = (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(axis)
        self.input_mean, self.input_variance, self.invert = mean, variance, bool(invert)

    def build(self, input_shape):
        ndim = len(input_shape)
        keep = sorted(a % ndim for a in self.axis)
        if 0 in keep and ndim > 1:
            raise ValueError(f"Normalization '{self.name}': axis {self.axis} includes the batch "
                             "axis; the statistics are per feature, not per sample")
        if any(input_shape[a] is None for a in keep):
            raise ValueError(f"Normalization '{self.name}': the axes {self.axis} must be known; "
                             f"got input shape {tuple(input_shape)}")
        self._keep_axis = keep
        self._reduce_axis = tuple(a for a in range(ndim) if a not in keep)
        self._broadcast_shape = tuple(input_shape[a] if a in keep else 1 for a in range(ndim))
        shape = tuple(input_shape[a] for a in keep)
        if self.input_mean is None:
            self.mean = self.add_weight(shape=shape, initializer="zeros", trainable=False,
                                        name="mean")
            self.variance = self.add_weight(shape=shape, initializer="ones", trainable=False,
                                            name="variance")
            self.count = self.add_weight(shape=(), initializer="zeros", dtype="int64",
                                         trainable=False, name="count")
        else:
            self._mean_array = np.broadcast_to(np.asarray(self.input_mean, self._dtype),
                                               self._broadcast_shape)
            self._variance_array = np.broadcast_to(np.asarray(self.input_variance, self._dtype),
                                                   self._broadcast_shape)

    def adapt(self, data, batch_size=None, steps=None):
        """Set mean and variance to the data's, over every axis but ``axis``: an array/Tensor,
        or an iterable of batches (a Dataset or generator; of (x, y) pairs, x is used)."""
        if self.input_mean is not None:
            raise ValueError(f"Normalization '{self.name}': adapt() cannot change a mean and "
                             "variance given to the constructor")
        batches = [data] if isinstance(data, (np.ndarray, Tensor, list)) else data
        count, total, total_sq = 0, 0.0, 0.0
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple):
                batch = batch[0]
            x = np.asarray(_internal.as_array(batch), np.float64)
            if not self.built:
                self._maybe_build(Tensor(x[:1].astype(self._dtype)))
            n = int(np.prod([x.shape[a] for a in self._reduce_axis]))
            count += n
            total = total + x.sum(axis=self._reduce_axis)
            total_sq = total_sq + (x * x).sum(axis=self._reduce_axis)
        if count == 0:
            raise ValueError(f"Normalization '{self.name}': adapt() got no data")
        mean = total / count
        variance = np.maximum(total_sq / count - mean * mean, 0.0)
        for t, value in ((self.mean, mean), (self.variance, variance)):
            np.copyto(t.array, np.asarray(value, t.dtype).reshape(t.shape))
            _internal.bump_version(t)

    def _statistics(self):
        if self.input_mean is not None:
            return Tensor(self._mean_array), Tensor(self._variance_array)
        return (self.mean.reshape(self._broadcast_shape),
                self.variance.reshape(self._broadcast_shape))

    def call(self, inputs):
        mean, variance = self._statistics()
        std = variance.sqrt().clamp(min=_EPSILON)
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def get_config(self):
        config = super().get_config()
        config.update(axis=list(self.axis) if len(self.axis) != 1 else self.axis[0],
                      invert=self.invert,
                      mean=None if self.input_mean is None else _plain(self.input_mean),
                      variance=None if self.input_variance is None
                      else _plain(self.input_variance))
        return config
