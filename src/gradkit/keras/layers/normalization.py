"""BatchNormalization, LayerNormalization, GroupNormalization and UnitNormalization over the
last (channels) axis, as Keras does.

``BatchNormalization`` wraps ``nn.BatchNorm1d`` (inputs (N, C) or (N, L, C)) or
``nn.BatchNorm2d`` ((N, H, W, C)), moving the channel axis to dim 1 and back. Keras' arguments
map onto PyTorch's: ``momentum=0.99`` (the weight of the old moving average) is PyTorch's
``momentum=0.01`` (the weight of the new batch), ``epsilon=1e-3`` is ``eps``; gamma/beta are
``weight``/``bias``, moving_mean/moving_variance are ``running_mean``/``running_var``.
One difference remains: PyTorch (and so gradkit) updates the moving variance with the unbiased
batch variance (÷ (n-1)), Keras with the biased one (÷ n).

A BatchNormalization with ``trainable=False`` runs in inference mode even inside ``fit`` (Keras'
rule for fine-tuning).

Both pass a mask (masks.py) on unchanged. Keras' BatchNormalization also leaves the masked steps
out of the batch statistics; gradkit's counts every step.
"""
import numpy as np

from ... import nn
from ...nn import functional as F
from .base import Adapter, KerasWeight, Layer

__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization"]


class BatchNormalization(Adapter):
    """y = gamma · (x - mean) / √(var + epsilon) + beta per channel (the last axis).

    Training mode uses the batch's mean and variance and updates the moving averages
    ``moving = momentum · moving + (1 - momentum) · batch``; inference uses the moving
    averages. Defaults: ``axis=-1``, ``momentum=0.99``, ``epsilon=0.001``, ``center=True``,
    ``scale=True``.
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if any(v is not None for v in (beta_regularizer, gamma_regularizer, beta_constraint,
                                       gamma_constraint)):
            raise NotImplementedError("BatchNormalization: regularizers/constraints on gamma and "
                                      "beta are not supported by gradkit.keras yet")
        if axis not in (-1, 1, 3) and not isinstance(axis, int):
            raise ValueError(f"BatchNormalization: axis must be an int, got {axis!r}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self._set_initializers(beta_initializer=beta_initializer,
                               gamma_initializer=gamma_initializer,
                               moving_mean_initializer=moving_mean_initializer,
                               moving_variance_initializer=moving_variance_initializer)

    # the adapter: nn.BatchNorm1d/2d as ``bn``, the channels moved to dim 1 and back;
    # gamma, beta, moving_mean, moving_variance = weight, bias, running_mean, running_var
    def nn_modules(self, input_shape):
        rank = len(input_shape)
        axis = self.axis % rank
        if rank not in (2, 3, 4) or axis == 0:
            raise ValueError(f"BatchNormalization '{self.name}': expected an input of rank 2, 3 "
                             f"or 4 with the channels on a non-batch axis, got shape {input_shape}")
        self._axis = axis
        cls = nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d
        return {"bn": cls(input_shape[axis], eps=self.epsilon, momentum=1.0 - self.momentum,
                          affine=True, dtype=self._dtype, bias=self.center)}

    def keras_weights(self):
        bn = self.bn
        # scale=False: gamma stays at its initial value (1), kept in the state_dict, never trained
        return [KerasWeight("gamma", bn.weight, init=self.gamma_initializer, fixed=not self.scale),
                KerasWeight("beta", bn.bias, init=self.beta_initializer),
                KerasWeight("moving_mean", bn.running_mean, init=self.moving_mean_initializer),
                KerasWeight("moving_variance", bn.running_var,
                            init=self.moving_variance_initializer)]

    def _check_inputs(self, x):   # before the call: the channel axis was fixed for this rank
        if x.ndim != len(self._build_input_shape):
            raise self.input_error(x)

    def input_error(self, x):
        C = self.bn.num_features
        channels = x.shape[self._axis] if x.ndim > self._axis else None
        if x.ndim != len(self._build_input_shape) or channels != C:
            return self._input_error(C, channels, x.shape, what=f"channels (axis {self.axis})")

    def call(self, inputs, training=None):
        # trainable=False means inference mode, in fit too (Keras' rule)
        self.bn.train(bool(training) and self.trainable)
        axis = self._axis
        x = inputs if axis == 1 else _move(inputs, axis, 1)
        y = self.bn(x)
        return y if axis == 1 else _move(y, 1, axis)

    @property
    def gamma(self):
        return self.bn.weight

    @property
    def beta(self):
        return self.bn.bias

    @property
    def moving_mean(self):
        return self.bn.running_mean

    @property
    def moving_variance(self):
        return self.bn.running_var

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, momentum=self.momentum, epsilon=self.epsilon,
                      center=self.center, scale=self.scale, **self._initializers_config())
        return config


def _move(x, src, dst):
    """Move axis ``src`` to position ``dst`` (a permute)."""
    order = list(range(x.ndim))
    order.insert(dst, order.pop(src))
    return x.permute(*order)


class LayerNormalization(Adapter):
    """y = gamma · (x - mean) / √(var + epsilon) + beta over the last axis (or the trailing
    ``axis`` list) of each sample. Wraps ``nn.LayerNorm``. Defaults: ``axis=-1``,
    ``epsilon=0.001`` (PyTorch's default is 1e-5), ``center=True``, ``scale=True``."""

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        if any(v is not None for v in (beta_regularizer, gamma_regularizer, beta_constraint,
                                       gamma_constraint)) or rms_scaling:
            raise NotImplementedError("LayerNormalization: regularizers, constraints and "
                                      "rms_scaling are not supported by gradkit.keras yet")
        self.axis = axis
        self.epsilon, self.center, self.scale = float(epsilon), center, scale
        self._set_initializers(beta_initializer=beta_initializer,
                               gamma_initializer=gamma_initializer)

    # the adapter: nn.LayerNorm over the trailing axes as ``norm``; gamma, beta = weight, bias
    def nn_modules(self, input_shape):
        rank = len(input_shape)
        axes = sorted(a % rank for a in ([self.axis] if isinstance(self.axis, int) else self.axis))
        if axes != list(range(rank - len(axes), rank)) or 0 in axes:
            raise NotImplementedError(f"LayerNormalization '{self.name}': gradkit normalises over "
                                      f"trailing axes only; got axis={self.axis} for rank {rank}")
        return {"norm": nn.LayerNorm([input_shape[a] for a in axes], eps=self.epsilon,
                                     elementwise_affine=True, bias=self.center,
                                     dtype=self._dtype)}

    def keras_weights(self):
        return [KerasWeight("gamma", self.norm.weight, init=self.gamma_initializer,
                            fixed=not self.scale),
                KerasWeight("beta", self.norm.bias, init=self.beta_initializer)]

    def input_error(self, x):
        want = tuple(self.norm.normalized_shape)
        got = tuple(x.shape[-len(want):])
        if got != want:
            return self._input_error(want, got, x.shape, what="as the normalised trailing axes")

    def call(self, inputs):
        return self.norm(inputs)

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, epsilon=self.epsilon, center=self.center, scale=self.scale,
                      **self._initializers_config())
        return config


class GroupNormalization(Adapter):
    """Normalizes each sample's channels in ``groups`` groups (Wu & He, 2018): the mean and
    variance are taken over the spatial axes and the channels of one group, then
    y = gamma · x̂ + beta per channel. Independent of the batch size (unlike BatchNormalization).
    Wraps ``nn.GroupNorm`` (channels moved to dim 1 and back). Defaults: ``groups=32``
    (``-1``: one group per channel), ``axis=-1``, ``epsilon=0.001``, ``center=True``,
    ``scale=True``. Weights: gamma, beta (channels,).
    """

    supports_masking = True

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if any(v is not None for v in (beta_regularizer, gamma_regularizer, beta_constraint,
                                       gamma_constraint)):
            raise NotImplementedError("GroupNormalization: regularizers/constraints are not "
                                      "supported by gradkit.keras yet")
        self.groups, self.axis = int(groups), int(axis)
        self.epsilon, self.center, self.scale = float(epsilon), center, scale
        self._set_initializers(beta_initializer=beta_initializer,
                               gamma_initializer=gamma_initializer)

    # the adapter: nn.GroupNorm as ``norm``; gamma, beta = weight, bias
    def nn_modules(self, input_shape):
        rank = len(input_shape)
        axis = self.axis % rank
        channels = input_shape[axis]
        if axis == 0 or channels is None:
            raise ValueError(f"GroupNormalization '{self.name}': axis {self.axis} must be a "
                             f"known non-batch axis; got input shape {tuple(input_shape)}")
        groups = channels if self.groups == -1 else self.groups
        if groups > channels or channels % groups:
            raise ValueError(f"GroupNormalization '{self.name}': the number of groups "
                             f"({groups}) must divide the number of channels ({channels}) "
                             f"and not exceed it (input shape {tuple(input_shape)})")
        self._axis = axis
        return {"norm": nn.GroupNorm(groups, channels, eps=self.epsilon, affine=True,
                                     bias=self.center, dtype=self._dtype)}

    def keras_weights(self):
        return [KerasWeight("gamma", self.norm.weight, init=self.gamma_initializer,
                            fixed=not self.scale),
                KerasWeight("beta", self.norm.bias, init=self.beta_initializer)]

    def input_error(self, x):
        C = self.norm.num_channels
        channels = x.shape[self._axis] if x.ndim > self._axis else None
        if channels != C:
            return self._input_error(C, channels, x.shape, what=f"channels (axis {self.axis})")

    def call(self, inputs):
        axis = self._axis
        x = inputs if axis == 1 else _move(inputs, axis, 1)
        y = self.norm(x)
        return y if axis == 1 else _move(y, 1, axis)

    def get_config(self):
        config = super().get_config()
        config.update(groups=self.groups, axis=self.axis, epsilon=self.epsilon,
                      center=self.center, scale=self.scale, **self._initializers_config())
        return config


class UnitNormalization(Layer):
    """x / ‖x‖₂ along ``axis`` (Defaults to ``-1``): each sample's vector scaled to length 1,
    x / √max(Σx², 1e-12) as Keras (``nn.functional.normalize`` with eps 1e-6)."""

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis) if isinstance(axis, (int, np.integer)) else [int(a) for a in axis]

    def call(self, inputs):
        dim = self.axis if isinstance(self.axis, int) else tuple(self.axis)
        return F.normalize(inputs, 2.0, dim, eps=1e-6)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
