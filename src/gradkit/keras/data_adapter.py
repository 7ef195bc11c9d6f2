"""What ``fit``/``evaluate``/``predict`` accept as data, turned into batches of (x, y, weights).

* **Arrays**: ``x`` and ``y`` as NumPy arrays, gradkit Tensors or nested lists; ``x`` may be a
  list or dict of arrays (a model with several inputs). Batched by a ``gradkit.data.DataLoader``
  over a ``TensorDataset``, shuffled each epoch when ``shuffle=True`` (the order comes from
  gradkit's global generator, so ``gradkit.manual_seed`` / ``tf.random.set_seed`` fixes it).
* **A dataset of batches**: a ``DataLoader``, a ``tf.data.Dataset``, a list of batches, or any
  iterable (a generator too) yielding ``(x, y)`` or ``(x, y, sample_weight)`` — ``y`` must
  then be None. Re-iterable sources start over each epoch; a one-pass iterator (a generator)
  is consumed ``steps_per_epoch`` batches per epoch.
* **A map-style ``gradkit.data.Dataset``** of samples: wrapped in a DataLoader with
  ``batch_size`` and ``shuffle``.

``validation_split=f`` keeps the LAST fraction f of the arrays for validation, cut BEFORE any
shuffling, as Keras does: if the arrays are sorted (by class, by date) the validation set is
the last classes or the latest dates, not a random sample. Shuffle the arrays first if that is
not what you want.
"""
import collections.abc
import math

import numpy as np

from .. import _internal
from .. import data as gk_data
from ..data.checks import check_finite, check_same_length
from ..tensor import Tensor

__all__ = ["is_array_data", "split_validation", "adapt", "ArrayData", "IterableData",
           "class_weights_for"]


def _is_array(a):
    return isinstance(a, (np.ndarray, Tensor)) or (
        isinstance(a, list) and len(a) > 0 and not isinstance(a[0], (np.ndarray, Tensor, tuple,
                                                                      list, dict)))


def is_array_data(x):
    """True when ``x`` is an array, or a list/tuple/dict of arrays (several inputs)."""
    if _is_array(x):
        return True
    if isinstance(x, dict):
        return bool(x) and all(_is_array(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return bool(x) and all(_is_array(v) for v in x) and not isinstance(x[0], tuple)
    return False


def _structure(x, leaves):
    """Rebuild ``x``'s structure (array / list / tuple / dict) from its leaves in order."""
    it = iter(leaves)
    if isinstance(x, dict):
        return {k: next(it) for k in x}
    if isinstance(x, (list, tuple)) and not _is_array(x):
        return [next(it) for _ in x]
    return next(it)


def _leaves(x):
    if isinstance(x, dict):
        return [_internal.as_array(v) for v in x.values()]
    if isinstance(x, (list, tuple)) and not _is_array(x):
        return [_internal.as_array(v) for v in x]
    return [_internal.as_array(x)]


# === validation_split =========================================================================
def split_validation(x, y, sample_weight, validation_split):
    """(train, validation), each (x, y, sample_weight): the validation part is the last
    ``floor(n · validation_split)`` samples, cut before shuffling (Keras' rule)."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
    if not is_array_data(x):
        raise ValueError("fit: validation_split works with arrays only (it cuts the last "
                         "fraction of x and y); for a dataset pass validation_data= instead")
    n = len(_leaves(x)[0])
    cut = int(math.floor(n * (1.0 - validation_split)))
    if cut == 0 or cut == n:
        raise ValueError(f"fit: validation_split={validation_split} of {n} samples leaves "
                         f"{cut} for training and {n - cut} for validation; both need samples")

    def part(a, sl):
        if a is None:
            return None
        return _structure(a, [leaf[sl] for leaf in _leaves(a)])

    first, last = slice(0, cut), slice(cut, n)
    return ((part(x, first), part(y, first), part(sample_weight, first)),
            (part(x, last), part(y, last), part(sample_weight, last)))


# === class weights ============================================================================
def class_weights_for(y, class_weight):
    """Per-sample weights from ``{class: weight}``: the class of a sample is its integer label,
    the argmax of a one-hot row, or a 0/1 label rounded (classes not in the dict weigh 1)."""
    y = _internal.as_array(y)
    if y.ndim >= 2 and y.shape[-1] > 1:
        cls = y.argmax(axis=-1)
    else:
        cls = np.rint(y.reshape(len(y), -1)[:, 0] if y.ndim >= 2 else y).astype(np.int64)
    table = np.ones(max(int(cls.max(initial=0)), max(class_weight)) + 1, np.float32)
    for k, w in class_weight.items():
        table[int(k)] = float(w)
    return table[cls]


# === the two kinds of data ====================================================================
class ArrayData:
    """Arrays in memory, batched by a DataLoader."""

    is_arrays = True

    def __init__(self, x, y, sample_weight, batch_size, shuffle, steps):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.x_leaves = _leaves(x)
        self.y_leaves = _leaves(y) if y is not None else []
        self.w = (None if sample_weight is None
                  else _internal.as_array(sample_weight).astype(np.float32))
        self.num_samples = len(self.x_leaves[0])
        if batch_size is None:
            batch_size = 32
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = int(batch_size)
        arrays = self.x_leaves + self.y_leaves + ([self.w] if self.w is not None else [])
        self.loader = gk_data.DataLoader(gk_data.TensorDataset(*arrays), batch_size=self.batch_size,
                                         shuffle=bool(shuffle))
        self.steps = steps
        self.num_batches = len(self.loader) if steps is None else min(int(steps), len(self.loader))

    def epoch(self):
        nx, ny = len(self.x_leaves), len(self.y_leaves)
        for k, batch in enumerate(self.loader):
            if self.steps is not None and k >= self.steps:
                break
            batch = list(batch)
            x = _structure(self.x, batch[:nx])
            y = _structure(self.y, batch[nx:nx + ny]) if ny else None
            w = batch[nx + ny] if self.w is not None else None
            yield x, y, w


class IterableData:
    """Batches from a DataLoader, a tf.data.Dataset, a list of batches or any iterable."""

    is_arrays = False

    def __init__(self, source, steps, where):
        self.source, self.steps, self.where = source, steps, where
        # a generator or other iterator: one pass only (iter() on it returns itself); never
        # call iter() here on a DataLoader, which would start (and shuffle) an epoch
        self._one_pass = isinstance(source, collections.abc.Iterator)
        self._iterator = None
        self.num_samples = None
        n = None
        if hasattr(source, "__len__"):
            try:
                n = len(source)
            except TypeError:
                n = None
        if n == 0:
            raise ValueError(f"{where}: the dataset is empty (0 batches)")
        self.num_batches = steps if steps is not None else n

    def epoch(self):
        if self._one_pass:
            if self._iterator is None:
                self._iterator = self.source
            it = self._iterator
        else:
            it = iter(self.source)
        k = 0
        while self.steps is None or k < self.steps:
            try:
                batch = next(it)
            except StopIteration:
                if k == 0:
                    raise ValueError(
                        f"{self.where}: the data yielded no batches"
                        + (" (a one-pass iterator, such as a generator, is exhausted after its "
                           "first pass: pass a re-iterable source — a list, a DataLoader, a "
                           "tf.data.Dataset — or steps_per_epoch= with enough data)"
                           if self._one_pass else "")) from None
                return
            yield unpack(batch, self.where)
            k += 1


def unpack(batch, where):
    """A batch -> (x, y, sample_weight): a tuple/list (x,), (x, y) or (x, y, w), or x alone."""
    if isinstance(batch, (tuple, list)) and not _is_array(batch):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch[0], batch[1], batch[2]
        raise ValueError(f"{where}: each batch must be (x,), (x, y) or (x, y, sample_weight); "
                         f"got a {type(batch).__name__} of {len(batch)} items")
    if isinstance(batch, dict) and "x" in batch:
        return batch["x"], batch.get("y"), batch.get("sample_weight")
    return batch, None, None


# === entry point ==============================================================================
def adapt(x, y, sample_weight, batch_size, shuffle, steps, where, need_y=True):
    """The right adapter for ``x``; checks what can be checked without a model (empty data,
    lengths, NaN/inf)."""
    if x is None:
        raise ValueError(f"{where}: x is None; pass the inputs (an array) or a dataset")
    if is_array_data(x):
        if need_y and y is None:
            raise ValueError(f"{where}: y is None; pass the targets: {where.split('(')[0]}(x, y)")
        check_arrays(x, y, sample_weight, where)
        return ArrayData(x, y, sample_weight, batch_size, shuffle, steps)
    if y is not None:
        raise ValueError(f"{where}: y must be None when x is a dataset ({type(x).__name__}): the "
                         "dataset yields (x, y) batches itself")
    if sample_weight is not None:
        raise ValueError(f"{where}: sample_weight must be None when x is a dataset; yield "
                         "(x, y, sample_weight) batches instead")
    if isinstance(x, gk_data.Dataset) and not isinstance(x, gk_data.IterableDataset) \
            and not isinstance(x, gk_data.DataLoader):
        x = gk_data.DataLoader(x, batch_size=batch_size or 32, shuffle=bool(shuffle))
    if not hasattr(x, "__iter__"):
        raise TypeError(f"{where}: cannot use a {type(x).__name__} as data; pass arrays (x, y), "
                        "a DataLoader, a tf.data.Dataset or an iterable of (x, y) batches")
    return IterableData(x, steps, where)


def check_arrays(x, y, sample_weight, where):
    """Empty data, different numbers of samples, NaN/inf: one NumPy pass each, before training."""
    xs = _leaves(x)
    ys = _leaves(y) if y is not None else []
    names = ([f"x[{i}]" for i in range(len(xs))] if len(xs) > 1 else ["x"]) + \
        ([f"y[{i}]" for i in range(len(ys))] if len(ys) > 1 else ["y"] if ys else [])
    arrays = xs + ys
    if sample_weight is not None:
        arrays.append(_internal.as_array(sample_weight))
        names.append("sample_weight")
    for a, name in zip(arrays, names):
        if a.ndim == 0:
            raise ValueError(f"{where}: {name} is a scalar; it needs a first (sample) dimension")
        if len(a) == 0:
            raise ValueError(f"{where}: {name} is empty (0 samples, shape {a.shape}); there is "
                             "nothing to train on: check the file, split or filter that made it")
    check_same_length(*arrays, names=names, where=where)
    for a, name in zip(arrays, names):
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{where}: {name} has dtype {a.dtype}; gradkit needs numbers "
                            "(convert strings to ids or floats first)")
        try:
            check_finite(a, name)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None

