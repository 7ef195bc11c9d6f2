"""Cheap checks on data before it reaches a model.

A NaN in the inputs, a label 10 in a 10-class problem or features and labels of different
lengths cost hours when they surface as a diverging loss. Each check here is one or two NumPy
reductions on the happy path, and on failure names the count and the first bad index.

    check_finite(x, name)             NaN / inf in float arrays
    check_labels(y, num_classes)      integer class labels in [0, num_classes)
    check_same_length(*arrays)        every array has the same number of samples (first dimension)
"""
import numpy as np

from .. import _internal

__all__ = ["check_finite", "check_labels", "check_same_length"]


def _first_index(mask):
    """The first True position of ``mask`` as a tuple of ints (C order)."""
    flat = int(np.flatnonzero(mask.ravel())[0])
    return tuple(int(i) for i in np.unravel_index(flat, mask.shape))


def _fmt(index):
    return str(index[0]) if len(index) == 1 else str(index)


def _plural(n, word):
    return f"{n} {word}{'s' if n != 1 else ''}"


def check_finite(x, name="x"):
    """Raise ``ValueError`` if float array ``x`` holds NaN or inf; return ``x`` unchanged.

    Integer and bool arrays cannot hold either and pass at once. The happy path is two
    reductions (``min`` and ``max`` propagate NaN and reveal ±inf), without a boolean
    temporary the size of ``x``.

    Example: ``check_finite(np.array([1.0, np.nan]), "x")`` raises
    ``check_finite(x): 1 non-finite value (1 NaN, 0 inf) in 2 values, shape (2,); first at index (1,) ...``
    """
    a = _internal.as_array(x)
    if a.dtype.kind not in "fc" or a.size == 0:
        return x
    lo, hi = a.min(), a.max()
    if np.isfinite(lo) and np.isfinite(hi):
        return x
    bad = ~np.isfinite(a)
    n_nan = int(np.isnan(a).sum())
    n_bad = int(bad.sum())
    first = _first_index(bad)
    where = f"first at index {first}" + (f" (sample {first[0]})" if a.ndim > 1 else "")
    raise ValueError(
        f"check_finite({name}): {n_bad} non-finite value{'s' if n_bad != 1 else ''} "
        f"({n_nan} NaN, {n_bad - n_nan} inf) in {a.size} values, shape {a.shape}; {where}, "
        f"value {a[first]}. Clean or drop those samples (e.g. np.nan_to_num, or a mask on "
        f"np.isfinite(x).all(axis=1)) before training"
    )


def check_labels(y, num_classes, name="labels"):
    """Raise ``ValueError`` unless every label of ``y`` is an integer in ``[0, num_classes)``.

    ``y``: (N,) or any shape of class indices. Float arrays holding whole numbers (``3.0``) are
    accepted, since some files store labels as floats; ``2.5`` is not. Returns ``y`` unchanged.
    """
    num_classes = int(num_classes)
    if num_classes < 1:
        raise ValueError(f"check_labels: num_classes must be >= 1; got {num_classes}")
    a = _internal.as_array(y)
    if a.size == 0:
        return y
    if a.dtype.kind == "f":
        check_finite(a, name)
        frac = a != np.floor(a)
        if frac.any():
            i = _first_index(frac)
            raise ValueError(
                f"check_labels({name}): {int(frac.sum())} of {a.size} labels are not whole numbers; first "
                f"at index {_fmt(i)}, value {a[i]}. Class labels must be integers 0..{num_classes - 1}; "
                f"for regression targets do not use a classification check or loss"
            )
    elif a.dtype.kind not in "iub":
        raise TypeError(f"check_labels({name}): expected integer class labels; got dtype {a.dtype}")
    lo, hi = a.min(), a.max()
    if lo >= 0 and hi < num_classes:
        return y
    bad = (a < 0) | (a >= num_classes)
    i = _first_index(bad)
    n_bad = int(bad.sum())
    raise ValueError(
        f"check_labels({name}): {n_bad} label{'s' if n_bad != 1 else ''} outside "
        f"[0, {num_classes}); first at index {_fmt(i)}, label {a[i]} "
        f"(labels seen range {lo}..{hi}). If the classes are numbered 1..{num_classes}, "
        f"subtract 1; otherwise num_classes is too small"
    )


def check_same_length(*arrays, names=None, where="check_same_length"):
    """Raise ``ValueError`` unless every array has the same first dimension; return that length.

    ``names`` labels the arrays in the message (defaults to ``arrays[0]``, ``arrays[1]``, ...).
    """
    if not arrays:
        raise ValueError(f"{where}: at least one array is required")
    names = list(names) if names is not None else [f"arrays[{i}]" for i in range(len(arrays))]
    lengths = []
    for nm, a in zip(names, arrays):
        shape = getattr(a, "shape", None)
        if shape is None:
            shape = np.shape(a) if not isinstance(a, (list, tuple)) else (len(a),)
        if len(shape) == 0:
            raise ValueError(f"{where}: {nm} is a scalar; every array needs a first (sample) dimension")
        lengths.append(int(shape[0]))
    if len(set(lengths)) > 1:
        parts = ", ".join(f"{nm} has {n}" for nm, n in zip(names, lengths))
        raise ValueError(
            f"{where}: arrays have different numbers of samples ({parts}); the first dimension of "
            f"every array is the sample index, so features and labels must have the same length"
        )
    return lengths[0]
