"""``keras.utils``: label encoding, padding, seeds, and the saving registry's Keras 2 names.

    y_onehot = keras.utils.to_categorical(y, num_classes=10)
    x = keras.utils.pad_sequences(token_lists, maxlen=200)     # (N, 200) int32, padded in front
    keras.utils.set_random_seed(0)      # weights, dropout, shuffling: reproducible
"""
import numpy as np

from .. import _internal
from ..data.checks import check_labels
from .backend import set_random_seed
from .preprocessing.sequence import pad_sequences
from .registry import custom_object_scope, get_registered_name, get_registered_object, \
    register_keras_serializable

__all__ = ["to_categorical", "normalize", "pad_sequences", "set_random_seed",
           "register_keras_serializable", "get_registered_name", "get_registered_object",
           "custom_object_scope"]


def to_categorical(x, num_classes=None):
    """Integer class ids (any shape, or with a trailing axis of 1) -> one-hot float32 rows.

    ``num_classes`` defaults to ``max(x) + 1``. Ids outside [0, num_classes) raise, naming the
    first bad one (Keras gives an IndexError or silently wraps negatives)."""
    y = _internal.as_array(x)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and y.dtype.kind == "f":
        check_labels(y, int(y.max()) + 1 if num_classes is None else num_classes, name="x")
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    check_labels(y, num_classes, name="x") if y.size else None
    out = np.zeros(y.shape + (num_classes,), np.float32)
    np.put_along_axis(out, y[..., None], 1.0, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    """x / ‖x‖ along ``axis`` (rows of norm 1; zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64 if np.asarray(x).dtype == np.float64 else np.float32)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)
