"""Keras activation functions by name, each a call into ``gradkit.ops`` / ``nn.functional``.

    Dense(128, activation="relu")  ==  Dense(128, activation=keras.activations.relu)

``get(name_or_fn)`` resolves a string (``'relu'``, ``'softmax'``, ...), a function, or None
(= ``linear``); ``serialize(fn)`` gives the name saved in a model's config.
"""
from .. import ops
from ..nn import functional as F
from .registry import registered_name, retrieve_object

__all__ = ["relu", "sigmoid", "softmax", "log_softmax", "tanh", "linear", "elu", "selu", "gelu",
           "silu", "swish", "softplus", "softsign", "leaky_relu", "relu6", "exponential",
           "hard_sigmoid", "mish", "get", "serialize", "deserialize"]


# === the functions (x: any shape -> same shape) ==============================================
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0); with Keras' options: slope below ``threshold``, cap at ``max_value``."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    y = ops.where((x >= threshold).array, x, (x - threshold) * negative_slope) \
        if threshold else F.leaky_relu(x, negative_slope)
    return ops.clamp(y, max=max_value) if max_value is not None else y


def sigmoid(x):
    return ops.sigmoid(x)


def softmax(x, axis=-1):
    """Over the last axis by default (Keras' default; PyTorch's nn.Softmax needs dim=)."""
    return ops.softmax(x, dim=axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, dim=axis)


def tanh(x):
    return ops.tanh(x)


def linear(x):
    """The identity: what a layer with ``activation=None`` applies."""
    return x


def elu(x, alpha=1.0):
    return F.elu(x, alpha)


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def selu(x):
    """scale · elu(x, alpha) with Klambauer et al.'s constants."""
    return F.elu(x, _SELU_ALPHA) * _SELU_SCALE


def gelu(x, approximate=False):
    return F.gelu(x, approximate="tanh" if approximate else "none")


def silu(x):
    return F.silu(x)


swish = silu


def softplus(x):
    return F.softplus(x)


def softsign(x):
    return F.softsign(x)


def leaky_relu(x, negative_slope=0.2):
    """Keras' default slope is 0.2 (PyTorch's F.leaky_relu defaults to 0.01)."""
    return F.leaky_relu(x, negative_slope)


def relu6(x):
    return F.relu6(x)


def exponential(x):
    return ops.exp(x)


def hard_sigmoid(x):
    """clip(x/6 + 1/2, 0, 1) (Keras 3's definition)."""
    return ops.clamp(x * (1.0 / 6.0) + 0.5, 0.0, 1.0)


def mish(x):
    return x * ops.tanh(F.softplus(x))


# === lookup ==================================================================================
_BY_NAME = {fn.__name__: fn for fn in (relu, sigmoid, softmax, log_softmax, tanh, linear, elu,
                                        selu, gelu, silu, softplus, softsign, leaky_relu, relu6,
                                        exponential, hard_sigmoid, mish)}
_BY_NAME["swish"] = silu


def get(identifier):
    """A string name, a callable or None (-> ``linear``) -> the activation function."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            import difflib
            close = difflib.get_close_matches(identifier, list(_BY_NAME), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"Unknown activation '{identifier}'{hint}; known: "
                             f"{', '.join(sorted(_BY_NAME))}, or pass a function")
        return fn
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"activation must be a string, a function or None; got "
                    f"{type(identifier).__name__}")


def serialize(fn):
    """The name saved in a layer's config: 'relu' for the built-ins, else the registered name."""
    for name, f in _BY_NAME.items():
        if f is fn:
            return name
    return registered_name(fn)


def deserialize(config, custom_objects=None):
    if isinstance(config, str) and config in _BY_NAME:
        return _BY_NAME[config]
    return retrieve_object(config, "activation", custom_objects)

