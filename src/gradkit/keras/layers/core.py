"""Core Keras layers: Input, InputLayer, Dense, Activation, Softmax, Flatten, Dropout, Reshape,
Masking, Identity, Lambda — each a thin adapter over ``gradkit.nn`` / ``gradkit.ops``. (Add and
Concatenate live in merging.py with the other merging layers; they are importable from here.)

Masks (masks.py): Dense, Activation, Softmax, Dropout, Identity pass their input's mask on
(Keras' ``supports_masking``), Masking makes one; Flatten and Reshape do not support masking, as
in Keras."""
import inspect

import numpy as np

from ... import _internal, nn, ops
from ...tensor import Tensor
from .. import activations, regularizers
from .base import TRANSPOSED, Adapter, KerasTensor, KerasWeight, Layer, Node
from .merging import Add, Concatenate  # noqa: F401  (their old home)

__all__ = ["Input", "InputLayer", "Dense", "Activation", "Softmax", "Flatten", "Dropout", "Reshape",
           "Masking", "Identity", "Lambda"]


def _no_constraints(layer, **constraints):
    given = [k for k, v in constraints.items() if v is not None]
    if given:
        raise NotImplementedError(f"{type(layer).__name__}: {', '.join(given)} are not supported "
                                  "by gradkit.keras yet")


# === inputs ===================================================================================
class InputLayer(Layer):
    """The entry of a functional model: passes its input through. Made by ``keras.Input``."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None,
                 input_shape=None, **kwargs):
        shape = shape if shape is not None else input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: give shape= (without the batch dimension), e.g. "
                                 "keras.Input(shape=(784,))")
            batch_shape = (batch_size,) + ((shape,) if isinstance(shape, int) else tuple(shape))
        super().__init__(name=name, dtype=dtype, batch_input_shape=batch_shape, **kwargs)
        self.built = True
        self._build_input_shape = self._output_shape = tuple(batch_shape)
        self.output = KerasTensor(batch_shape, self.dtype, name=self.name)
        node = Node(self, (), {}, self.output)
        self.output._history = (node, 0)
        self._inbound_nodes.append(node)

    def _convert(self, x):
        return x  # an Input passes data on untouched; the next layer casts it

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "batch_shape": list(self._batch_input_shape)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):
    """A symbolic batch of inputs for the functional API: ``keras.Input(shape=(784,))`` is a
    KerasTensor of shape (None, 784). ``dtype`` defaults to float32; use 'int64' for indices."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape).output


# === Dense ====================================================================================
class Dense(Adapter):
    """y = activation(x · kernel + bias): a fully connected layer of ``units`` neurons.

    x: (N, ..., in) -> (N, ..., units). Wraps ``nn.Linear(in, units)``, built at the first call
    (or from ``input_shape=``). Defaults: ``activation=None`` (linear), ``use_bias=True``,
    ``kernel_initializer='glorot_uniform'``, ``bias_initializer='zeros'`` (Keras' defaults, not
    PyTorch's). ``kernel`` reads as Keras' (in, units); it is stored as ``linear.weight``
    (units, in).

    >>> Dense(128, activation="relu")
    """

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        _no_constraints(self, kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self._set_initializers(kernel_initializer=kernel_initializer,
                               bias_initializer=bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)

    # the adapter: nn.Linear as ``linear``; kernel (in, units) = linear.weight transposed
    def nn_modules(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must be known; "
                             f"got input shape {input_shape}")
        return {"linear": nn.Linear(input_shape[-1], self.units, bias=self.use_bias,
                                    dtype=self._dtype)}

    def keras_weights(self):
        return [KerasWeight("kernel", self.linear.weight, TRANSPOSED,
                            init=self.kernel_initializer),
                KerasWeight("bias", self.linear.bias, init=self.bias_initializer)]

    def input_error(self, x):
        features = x.shape[-1] if x.ndim else 0
        if features != self.linear.in_features:
            return self._input_error(self.linear.in_features, features, x.shape)

    def call(self, inputs):
        y = self.activation(self.linear(inputs))
        self._add_regularization_losses(self.linear.weight, self.linear.bias, y)
        return y

    @property
    def kernel(self):
        """The kernel as Keras shows it, (in, units): a view of ``linear.weight`` transposed."""
        return self.linear.weight.T

    @property
    def bias(self):
        return self.linear.bias

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=activations.serialize(self.activation),
                      use_bias=self.use_bias, **self._initializers_config(),
                      kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
                      bias_regularizer=regularizers.serialize(self.bias_regularizer),
                      activity_regularizer=regularizers.serialize(self.activity_regularizer))
        return config

    def extra_repr(self):
        return f"name={self.name!r}, units={self.units}"


# === shape and element-wise layers ============================================================
class Activation(Layer):
    """Applies an activation: ``Activation('relu')``."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Softmax(Layer):
    """e^x / Σ e^x along ``axis`` (Defaults to ``-1``; a tuple of axes normalises over all of
    them together). Wraps ``nn.Softmax``.

    ``layer(x, mask=m)``: ``m`` is True (or > 0.5) where x counts, broadcastable to x; masked
    entries are set to -1e9 before the softmax and to 0 after it (Keras 3's rule: a row masked
    entirely is all zeros). A time-step mask (N, T) that arrives with x (N, T, C) from the
    layers before (masks.py) masks whole rows: the padded steps' outputs are zeros.

    >>> Softmax()(np.array([[1.0, 1.0]]))       # [[0.5, 0.5]]
    """

    _LARGE_NEGATIVE = -1e9   # Keras' "large negative number" for float32 masks
    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else int(axis)
        if isinstance(self.axis, int):
            self.softmax = nn.Softmax(dim=self.axis)
        elif len(self.axis) == 1:
            self.softmax = nn.Softmax(dim=self.axis[0])

    def call(self, inputs, mask=None):
        if mask is not None:
            keep = np.asarray(mask.array if isinstance(mask, Tensor) else mask)
            keep = keep if keep.dtype == np.bool_ else keep > 0.5
            if keep.ndim == inputs.ndim - 1:   # one entry per time step
                keep = keep[..., None]
            inputs = inputs.masked_fill(Tensor(~keep), self._LARGE_NEGATIVE)
        if isinstance(self.axis, tuple) and len(self.axis) > 1:
            out = (inputs - inputs.logsumexp(dim=self.axis, keepdim=True)).exp()
        else:
            out = self.softmax(inputs)
        return out if mask is None else out * Tensor(keep.astype(out.dtype))

    def get_config(self):
        config = super().get_config()
        config["axis"] = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return config


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1·d2·...), in channels-last order as Keras flattens."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"
        self.flatten = nn.Flatten(start_dim=1)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = inputs.permute(0, *range(2, inputs.ndim), 1)
        if inputs.ndim == 1:
            return inputs.reshape(-1, 1)
        return self.flatten(inputs)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Dropout(Layer):
    """Zeroes each input element with probability ``rate`` in training and scales the rest by
    1/(1 - rate); the identity in inference (``evaluate``, ``predict``, ``model(x)``)."""

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        if noise_shape is not None:
            raise NotImplementedError("Dropout: noise_shape is not supported by gradkit.keras yet")
        self.rate, self.seed = float(rate), seed
        self.dropout = nn.Dropout(self.rate)

    def call(self, inputs, training=None):
        return self.dropout(inputs)  # follows the layer's mode, which training= sets

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


class Reshape(Layer):
    """(N, ...) -> (N, *target_shape); one entry of ``target_shape`` may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs):
        return inputs.reshape(inputs.shape[0], *self.target_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


# === masks ====================================================================================
class Masking(Layer):
    """Marks the time steps to skip: a step of x (N, T, features) whose features all equal
    ``mask_value`` is padding. The output is x with those steps zeroed, carrying the mask (N, T)
    (True = the step counts) to the layers after it (masks.py). Defaults: ``mask_value=0.0``.

    >>> Masking()(np.array([[[1.0], [0.0]]]))     # steps [True, False]
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def compute_mask(self, inputs, mask=None):
        return Tensor(np.any(_internal.as_array(inputs) != self.mask_value, axis=-1))

    def call(self, inputs):
        keep = np.any(inputs.array != self.mask_value, axis=-1, keepdims=True)
        return inputs * Tensor(keep.astype(inputs.dtype))

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config


# === Identity, Lambda =========================================================================
class Identity(Layer):
    """Returns its input unchanged (a placeholder, e.g. where a block may have no projection)."""

    supports_masking = True

    def call(self, inputs):
        return inputs


class Lambda(Layer):
    """Wraps a Python function as a layer: ``Lambda(lambda x: x ** 2)``. The function gets the
    inputs, ``arguments`` as keyword arguments, and ``mask``/``training`` if it names them.
    ``mask``: the output's mask, a value or a function ``(inputs, mask) -> mask``.

    A model with a Lambda cannot be saved by ``model.save``: the file would have to hold the
    function's code (Keras writes its bytecode and refuses to load it in ``safe_mode``). Write
    the function as a registered layer instead, or use ``save_weights``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {type(function).__name__}")
        self.function, self.arguments = function, dict(arguments or {})
        self._output_shape_arg, self.mask = output_shape, mask
        self.supports_masking = mask is not None
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_takes = {k for k in ("mask", "training") if k in params}

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if "mask" in self._fn_takes:
            kwargs["mask"] = mask
        if "training" in self._fn_takes:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    def get_config(self):
        name = getattr(self.function, "__name__", type(self.function).__name__)
        e = ValueError(
            f"Lambda layer '{self.name}' (function {name}) cannot be saved: its function is "
            "Python code, and gradkit's model files hold no code (loading one would mean "
            "unpickling it, which can run anything; Keras refuses such files in safe_mode). "
            "Fix: write the function as a layer, @keras.saving.register_keras_serializable() "
            "class MyLayer(keras.layers.Layer) with call(self, x), and use it instead of the "
            "Lambda; or save the weights only, model.save_weights(path), and rebuild the model in "
            "code before model.load_weights(path).")
        _internal.name_error(e)
        raise e
