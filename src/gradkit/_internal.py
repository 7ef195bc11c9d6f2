"""The core's protocol for the packages above it: the few things nn, optim, keras, tf, io and
the rest need from a Tensor's inside, each written once, here.

    wrap(array)                 a Tensor around an ndarray (no copy, no checks: the fast path)
    bump_version(t)             t was written in place: a graph that saved its old value will
                                refuse to backward through it (the in-place check)
    share_version(view, base)   view shares base's memory, so it shares its version counter
    mark_tf_values(*tensors)    numpy() on these and on what is computed from them returns the
                                values, graph or not (TensorFlow's rule, for the Keras dialect)
    as_array(value, dtype)      any value (Tensor, ndarray, list, number) as an ndarray: one rule
    error_layer / set_error_layer / error_is_named / name_error
                                which layer an exception came from, and prefixing its message
                                with that layer's name once

Nothing outside tensor.py, autograd/, ops/ and this file touches a Tensor's private fields
(``_vc``, ``_make``) or the exceptions' marks; tests/test_internal_protocol.py checks it.
"""
import numpy as np

from .tensor import Tensor

__all__ = ["wrap", "bump_version", "share_version", "mark_tf_values", "as_array", "error_layer",
           "set_error_layer", "error_is_named", "name_error"]

wrap = Tensor._make   # wrap(array, node=None): the array must already have the dtype it keeps


def bump_version(*tensors):
    """Record that each tensor's values were changed in place."""
    for t in tensors:
        t._vc[0] += 1


def mark_tf_values(*tensors):
    """The tensors are TensorFlow-dialect values (a Keras layer's outputs): ``numpy()`` returns the
    values of them and of every tensor computed from them, graph or not, as TensorFlow does."""
    for t in tensors:
        if t._node is not None:
            t._node._tf_value = True


def share_version(view, base):
    """``view`` shares ``base``'s memory: an in-place write to either bumps both."""
    view._vc = base._vc
    return view


def as_array(value, dtype=None):
    """``value`` as an ndarray: a Tensor's own array (no copy; a tensor that requires grad is
    read as its values, as ``.detach()`` would), anything else through ``np.asarray``."""
    if isinstance(value, Tensor):
        value = value.array
    return np.asarray(value, dtype=dtype)


# === which layer an error came from ============================================================
# An exception raised inside a model passes through every enclosing layer's __call__. The
# innermost layer marks it as its own; the outermost knows every name in the model and prefixes
# the message once ("in layer 'encoder.fc2' (Linear): ...").
def error_layer(e):
    """The innermost layer that saw ``e``, or None."""
    return getattr(e, "_gk_layer", None)


def set_error_layer(e, layer):
    """Mark ``layer`` as where ``e`` came from, unless an inner layer already did."""
    if getattr(e, "_gk_layer", None) is None:
        e._gk_layer = layer


def error_is_named(e):
    """True once ``e``'s message names its layer (or must be left as it is)."""
    return getattr(e, "_gk_named", False)


def name_error(e, prefix=None):
    """Prefix ``e``'s message with ``prefix`` (e.g. "in layer 'fc2' (Linear): ") once; with no
    prefix, only mark ``e`` as named so that no outer layer rewrites it."""
    if prefix and e.args and isinstance(e.args[0], str):
        e.args = (prefix + e.args[0],) + e.args[1:]
    e._gk_named = True
