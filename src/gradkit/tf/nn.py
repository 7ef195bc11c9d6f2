"""``tf.nn``: activations and the logits losses, named and defaulted as TensorFlow has them.

The functions are gradkit's (``gradkit.ops``, ``gradkit.nn.functional``); TensorFlow's argument
names map onto them (``features``/``logits`` -> the input, ``axis`` -> ``dim``, ``alpha`` ->
``negative_slope``). TensorFlow differences kept here: ``softmax``/``log_softmax`` default to the
last axis, ``leaky_relu``'s slope defaults to 0.2, ``dropout`` takes the *drop* ``rate`` and
always applies, and the cross-entropy losses return one value per example (no reduction) with
the class axis last.
"""
from .. import ops
from ..nn import functional as F
from ._names import unsupported
from .tensors import convert_to_tensor as _t

__all__ = ["relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "leaky_relu",
           "elu", "softplus", "silu", "swish", "dropout", "sparse_softmax_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits"]


# === activations ==============================================================================
def relu(features, name=None):
    return ops.relu(_t(features))


def relu6(features, name=None):
    return F.relu6(_t(features))


def sigmoid(x, name=None):
    return ops.sigmoid(_t(x))


def tanh(x, name=None):
    return ops.tanh(_t(x))


def softmax(logits, axis=None, name=None):
    """e^x / Σ e^x along ``axis`` (default: the last)."""
    return ops.softmax(_t(logits), dim=-1 if axis is None else axis)


def log_softmax(logits, axis=None, name=None):
    return ops.log_softmax(_t(logits), dim=-1 if axis is None else axis)


def gelu(features, approximate=False, name=None):
    return ops.gelu(_t(features), approximate="tanh" if approximate else "none")


def leaky_relu(features, alpha=0.2, name=None):
    return ops.leaky_relu(_t(features), negative_slope=alpha)


def elu(features, name=None):
    return ops.elu(_t(features))


def softplus(features, name=None):
    return ops.softplus(_t(features))


def silu(features, beta=1.0):
    x = _t(features)
    return ops.silu(x) if beta == 1.0 else x * ops.sigmoid(beta * x)


swish = silu


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zero each element with probability ``rate`` and scale the rest by 1/(1 - rate)."""
    if noise_shape is not None:
        raise NotImplementedError("tf.nn.dropout: noise_shape is not supported in gradkit; use "
                                  "tf.keras.layers.Dropout or gradkit.nn.functional.dropout")
    return ops.dropout(_t(x), p=float(rate), training=True)


# === losses from logits (one value per example) =================================================
def _classes_last_to_rows(logits):
    """(..., C) -> (N, C) and the leading shape, for gradkit's (N, C) cross-entropy."""
    return logits.reshape(-1, logits.shape[-1]), logits.shape[:-1]


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    """labels: int (...), logits: (..., C) -> (...): -log softmax(logits)[label]."""
    logits, labels = _t(logits), _t(labels)
    rows, lead = _classes_last_to_rows(logits)
    loss = F.cross_entropy(rows, labels.reshape(-1), reduction="none")
    return loss.reshape(lead)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """labels: class probabilities, same shape as logits -> one value per row: -Σ p log softmax."""
    logits, labels = _t(logits), _t(labels)
    if axis not in (-1, logits.ndim - 1):
        logits, labels = ops.swapaxes(logits, axis, -1), ops.swapaxes(labels, axis, -1)
    rows, lead = _classes_last_to_rows(logits)
    loss = F.cross_entropy(rows, labels.reshape(-1, labels.shape[-1]).to(rows.dtype),
                           reduction="none")
    return loss.reshape(lead)


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Elementwise binary cross-entropy of sigmoid(logits) against labels in [0, 1]."""
    logits = _t(logits)
    return F.binary_cross_entropy_with_logits(logits, _t(labels).to(logits.dtype),
                                              reduction="none")


__getattr__ = unsupported(__name__, __all__)
