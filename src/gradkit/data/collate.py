"""default_collate: a list of samples -> one batch (the DataLoader's item-by-item path).

    arrays / NumPy scalars     np.stack                       (B, ...)
    Python ints, bools         int64 / bool array             (B,)
    Python floats              float32 array (gradkit's default float dtype)
    str, bytes                 a list, unchanged
    tuples, lists, dicts       collated field by field, same container type
    tensors (``.numpy()``)     stacked as arrays
"""
import numpy as np

from .. import _internal

__all__ = ["default_collate"]


def _stack(samples, where):
    try:
        return np.stack(samples)
    except ValueError:
        first = np.shape(samples[0])
        for i, s in enumerate(samples):
            if np.shape(s) != first:
                raise ValueError(
                    f"default_collate: {where}sample {i} has shape {np.shape(s)} but sample 0 has "
                    f"{first}; samples in a batch must share a shape (pad or crop them, or pass a "
                    f"collate_fn that does)"
                ) from None
        raise


def default_collate(samples, _where=""):
    """Stack a list of samples into a batch; see the module docstring for the rules."""
    if len(samples) == 0:
        raise ValueError("default_collate: got an empty list of samples")
    first = samples[0]
    if isinstance(first, np.ndarray) or isinstance(first, np.generic):
        return _stack(samples, _where)
    if isinstance(first, (bool, np.bool_)):
        return np.asarray(samples, dtype=bool)
    if isinstance(first, int):
        return np.asarray(samples, dtype=np.int64)
    if isinstance(first, float):
        return np.asarray(samples, dtype=np.float32)
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples], f"{_where}key {k!r}: ") for k in first}
    if isinstance(first, (tuple, list)):
        n = len(first)
        for i, s in enumerate(samples):
            if len(s) != n:
                raise ValueError(f"default_collate: {_where}sample {i} has {len(s)} fields but sample 0 has {n}")
        fields = [default_collate(list(f), f"{_where}field {j}: ") for j, f in enumerate(zip(*samples))]
        if isinstance(first, tuple):
            return type(first)(*fields) if hasattr(first, "_fields") else tuple(fields)  # namedtuples keep their type
        return fields
    if hasattr(first, "numpy"):
        return _stack([_internal.as_array(s) for s in samples], _where)
    raise TypeError(
        f"default_collate: {_where}cannot batch samples of type {type(first).__name__}; return arrays, "
        f"numbers, str, or tuples/dicts of them from __getitem__, or pass a collate_fn"
    )
