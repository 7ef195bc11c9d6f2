"""``pad_sequences``: a list of variable-length sequences as one padded array (Keras' rules).

Also ``keras.utils.pad_sequences`` (Keras 3's name) and
``keras.preprocessing.sequence.pad_sequences`` (Keras 2's).
"""
import numpy as np

__all__ = ["pad_sequences"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pad (or cut) each sequence to ``maxlen`` steps: a list of N sequences -> (N, maxlen) array.

    Args:
        sequences: a list of sequences (lists or arrays); each step may itself be an array, of the
            same shape in every sequence: the result is then (N, maxlen, *step_shape).
        maxlen: the length of the result; defaults to the longest sequence.
        dtype: of the result. Defaults to ``'int32'`` (use ``object`` for strings).
        padding: ``'pre'`` (default) puts the padding before each sequence, ``'post'`` after.
        truncating: a sequence longer than ``maxlen`` loses its first steps (``'pre'``, the
            default) or its last (``'post'``).
        value: the padding value. Defaults to ``0.0`` (0 once cast to int32).

    >>> pad_sequences([[1, 2, 3], [4, 5], [6]], maxlen=2)
    array([[2, 3], [4, 5], [0, 6]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be a list of sequences; got "
                         f"{type(sequences).__name__}")
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding type "{padding}" not understood; use "pre" or '
                         '"post"')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating type "{truncating}" not understood; use "pre" '
                         'or "post"')
    lengths, step_shape = [], None
    for i, s in enumerate(sequences):
        try:
            lengths.append(len(s))
        except TypeError:
            raise ValueError(f"pad_sequences: `sequences` must be a list of sequences; item {i} "
                             f"is {s!r}, which has no length") from None
        if step_shape is None and len(s):   # the first non-empty sequence sets the step shape
            step_shape = np.asarray(s).shape[1:]
    step_shape = step_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    if isinstance(value, str) and dtype is not object \
            and not np.issubdtype(np.dtype(dtype), np.str_):
        raise ValueError(f"pad_sequences: dtype {dtype} cannot hold the padding value {value!r} "
                         "(a str); set dtype=object for variable-length strings")

    out = np.full((len(lengths), maxlen) + step_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        kept = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if kept.shape[1:] != step_shape:
            raise ValueError(f"pad_sequences: the steps of sequence {i} have shape "
                             f"{kept.shape[1:]}; expected {step_shape}, the shape of the first "
                             "non-empty sequence's steps")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, -len(kept):] = kept
    return out
