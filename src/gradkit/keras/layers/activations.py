"""Activation layers: ReLU, LeakyReLU, PReLU, ELU (Softmax is in core.py). Each calls the nn
module or function that computes it; Keras' arguments and defaults, which differ from PyTorch's
(LeakyReLU's slope is 0.3, not 0.01; PReLU's slopes start at 0, one per input element).
"""
import warnings

from ... import nn
from ...nn import functional as F
from .. import activations, initializers
from .base import Layer

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU"]


class ReLU(Layer):
    """max(x, 0), with Keras' options: ``x`` at or above ``threshold``, else
    ``negative_slope · (x - threshold)``; capped at ``max_value``. Defaults:
    ``max_value=None``, ``negative_slope=0.0``, ``threshold=0.0``."""

    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value of a ReLU layer cannot be negative, got {max_value}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0, got {negative_slope}")
        if threshold is None or threshold < 0:
            raise ValueError(f"ReLU: threshold must be >= 0, got {threshold}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    def call(self, inputs):
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        config = super().get_config()
        config.update(max_value=self.max_value, negative_slope=self.negative_slope,
                      threshold=self.threshold)
        return config


class LeakyReLU(Layer):
    """x if x >= 0 else negative_slope · x. Defaults: ``negative_slope=0.3`` (Keras'; PyTorch's
    is 0.01). Wraps ``nn.LeakyReLU``. ``alpha=`` (Keras 2's name) is accepted with a warning."""

    supports_masking = True

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated; use `negative_slope` "
                          "instead", stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"LeakyReLU: negative_slope must be >= 0, got {negative_slope}")
        self.negative_slope = float(negative_slope)
        self.leaky_relu = nn.LeakyReLU(self.negative_slope)

    def call(self, inputs):
        return self.leaky_relu(inputs)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class ELU(Layer):
    """x if x > 0 else alpha · (eˣ - 1). Defaults: ``alpha=1.0``. Wraps ``nn.ELU``."""

    supports_masking = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.elu = nn.ELU(self.alpha)

    def call(self, inputs):
        return self.elu(inputs)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class PReLU(Layer):
    """x if x > 0 else alpha · x, with ``alpha`` learned: one slope per input element, shape
    input_shape[1:] (Keras' rule, not PyTorch's one per channel), or shared along
    ``shared_axes`` (``shared_axes=[1, 2]`` on images: one slope per channel, PyTorch's
    ``nn.PReLU(C)``). Computed by ``nn.functional.prelu``. Defaults:
    ``alpha_initializer='zeros'`` (PyTorch's start is 0.25).
    """

    supports_masking = True

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        if alpha_regularizer is not None or alpha_constraint is not None:
            raise NotImplementedError("PReLU: alpha_regularizer/alpha_constraint are not "
                                      "supported by gradkit.keras yet")
        self._alpha_initializer_id = alpha_initializer
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.shared_axes = None if shared_axes is None else \
            [int(a) for a in ([shared_axes] if isinstance(shared_axes, int) else shared_axes)]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU '{self.name}': every non-shared axis must be known; got "
                             f"input shape {tuple(input_shape)} (share the unknown ones with "
                             "shared_axes=)")
        self.alpha = self.add_weight(shape=shape, initializer=self.alpha_initializer,
                                     name="alpha")

    def call(self, inputs):
        return F.prelu(inputs, self.alpha)

    def get_config(self):
        config = super().get_config()
        init = self._alpha_initializer_id
        config.update(alpha_initializer=init if isinstance(init, str)
                      else initializers.serialize(self.alpha_initializer),
                      shared_axes=self.shared_axes)
        return config
