"""Keras masks: the booleans, (N, T) for a batch of sequences, that say which time steps are real
and which are padding. A mask travels beside the tensor it describes, from layer to layer:

    x = keras.layers.Embedding(10_000, 64, mask_zero=True)(ids)   # makes one: ids != 0
    x = keras.layers.Dense(64, activation="relu")(x)               # passes it on
    x = keras.layers.LSTM(32)(x)                                   # skips the padded steps

The rules are Keras 3's (``Layer.__call__`` in keras/src/layers/layer.py), applied by
``Layer.__call__`` in base.py:

* a layer whose ``call`` has a ``mask`` argument receives the mask of its first input (unless the
  caller passes ``mask=`` itself; such a mask is used by the call, not attached to the outputs);
* a layer that supports masking (``supports_masking = True``, or a ``compute_mask`` of its own)
  gives its outputs the mask ``compute_mask(inputs, mask)`` of its first input's mask. The
  default passes the mask on
  (Dense, Dropout, LayerNormalization, ...); ``Embedding(mask_zero=True)`` and ``Masking`` make
  one; a recurrent layer keeps it with ``return_sequences=True`` only; GlobalAveragePooling1D
  ends it;
* a layer that does not support masking (Flatten, Conv2D, GlobalMaxPooling1D, ...) warns, when
  a masked input reaches it, that the layers after it will not see the mask (Keras 3 warns; it
  does not raise);
* ``fit``/``evaluate`` weight the loss and the mean metrics by the mask of the model's output
  (``losses.apply_mask``).

Keras keeps the mask on the tensor itself (``x._keras_mask``). A gradkit Tensor has fixed slots,
so the mask is kept here, in a table keyed by the tensor, holding the tensor weakly: the entry
goes when its tensor does, so an id is never reused while its entry is alive. A symbolic
``KerasTensor`` keeps its mask (a KerasTensor too) as ``_keras_mask``, as in Keras.
"""
import warnings
import weakref

import numpy as np

from ...tensor import Tensor

__all__ = ["get_keras_mask", "set_keras_mask", "mask_array", "warn_mask_dropped"]

_MASKS = {}   # id(tensor) -> (weak reference to the tensor, its mask)


def get_keras_mask(x):
    """The mask attached to ``x`` (a bool Tensor, or a KerasTensor for a symbolic ``x``), or
    None."""
    if isinstance(x, Tensor):
        entry = _MASKS.get(id(x))
        return entry[1] if entry is not None and entry[0]() is x else None
    return getattr(x, "_keras_mask", None)


def set_keras_mask(x, mask):
    """Attach ``mask`` to ``x`` (None removes it)."""
    if not isinstance(x, Tensor):
        x._keras_mask = mask
        return
    key = id(x)
    if mask is None:
        _MASKS.pop(key, None)
        return
    # the callback removes the entry when x is freed, before its id can be given to another
    _MASKS[key] = (weakref.ref(x, lambda _, key=key: _MASKS.pop(key, None)), mask)


def mask_array(mask):
    """A mask (Tensor, array, list) as a NumPy bool array; None stays None."""
    if mask is None:
        return None
    a = np.asarray(mask.array if isinstance(mask, Tensor) else mask)
    return a if a.dtype == np.bool_ else a.astype(bool)


def warn_mask_dropped(layer):
    """Keras 3's warning for a masked input reaching a layer that does not support masking."""
    warnings.warn(f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input "
                  "with a mask attached to it. However, this layer does not support masking and "
                  "will therefore destroy the mask information. Downstream layers will not see "
                  "the mask.", UserWarning, stacklevel=4)
