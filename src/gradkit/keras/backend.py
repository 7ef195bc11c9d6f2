"""Session-level helpers of the Keras dialect: unique layer names, ``clear_session``, ``floatx``.

Keras names every layer after its class, made unique in the session: the first ``Dense`` is
``dense``, the next ``dense_1``, then ``dense_2``. ``clear_session()`` restarts the count.
"""
import re

import numpy as np

from .. import random as _random

__all__ = ["clear_session", "floatx", "set_floatx", "image_data_format", "get_uid", "snake_case"]

_uids = {}
_floatx = "float32"


def snake_case(name):
    """'Conv2D' -> 'conv2d', 'BatchNormalization' -> 'batch_normalization' (Keras' rule)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def get_uid(prefix):
    """0 the first time ``prefix`` is asked for, then 1, 2, ... (per session)."""
    n = _uids.get(prefix, -1) + 1
    _uids[prefix] = n
    return n


def unique_name(prefix):
    n = get_uid(prefix)
    return prefix if n == 0 else f"{prefix}_{n}"


def clear_session(free_memory=True):
    """Forget the layer-name counters (the next Dense is 'dense' again)."""
    _uids.clear()


def floatx():
    """The default float dtype of layer weights, as a string. Defaults to ``'float32'``."""
    return _floatx


def set_floatx(value):
    global _floatx
    if np.dtype(value).kind != "f":
        raise ValueError(f"set_floatx: expected a float dtype name such as 'float32', got {value!r}")
    _floatx = str(np.dtype(value))


def image_data_format():
    """gradkit.keras images are channels-last, (N, H, W, C), as Keras' default."""
    return "channels_last"


def set_random_seed(seed):
    """Seed gradkit's one global generator (weights, dropout, shuffling) and NumPy's."""
    _random.manual_seed(seed)
    np.random.seed(int(seed) % 2**32)
