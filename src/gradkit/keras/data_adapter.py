"""What ``fit``/``evaluate``/``predict`` accept as data, turned into batches of (x, y, weights).

* **Arrays**: ``x`` and ``y`` as NumPy arrays, gradkit Tensors or nested lists; ``x`` may be a
  list or dict of arrays (a model with several inputs). Batched by a ``gradkit.data.DataLoader``
  over a ``TensorDataset``, shuffled each epoch when ``shuffle=True``.
* **A dataset of batches**: a ``DataLoader``, a ``tf.data.Dataset``, a list of batches, or any
  iterable (a generator too) yielding ``(x, y)`` or ``(x, y, sample_weight)`` — ``y`` must
  then be None. Re-iterable sources start over each epoch; a one-pass iterator (a generator)
  is consumed ``steps_per_epoch`` batches per epoch.
* **A map-style ``gradkit.data.Dataset``** of samples: wrapped in a DataLoader with
  ``batch_size`` and ``shuffle``.

The order of an epoch. ``epoch(e, start, seed)`` yields epoch ``e``'s batches from batch
``start`` on. For arrays and map-style Datasets the order is derived from ``(seed, e)`` alone
(``gradkit.data``'s samplers), where ``seed`` is the model's data seed, drawn once from
gradkit's global generator (so ``gradkit.manual_seed`` / ``tf.random.set_seed`` fixes it). Two
``fit`` calls, the second with ``initial_epoch=k``, therefore see the orders of one longer fit,
and a run resumed at (epoch, batch) sees what it would have seen. A DataLoader passed in keeps
its own position (``state_dict()``, saved by BackupAndRestore); any other iterable starts its
pass again, and a resumed epoch skips the batches already done.

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
def _seek(loader, shuffle, epoch, start, seed):
    """Put our own DataLoader at batch ``start`` of epoch ``epoch`` of the order of ``seed``."""
    loader.load_state_dict({"epoch": epoch, "batch": start, "seed": seed,
                            # RandomSampler's state: epoch e's order is drawn from (seed, e)
                            "sampler": {"seed": seed, "epoch": epoch} if shuffle else None})


class ArrayData:
    """Arrays in memory, batched by a DataLoader."""

    is_arrays = True
    saved_loader = None  # the position is (epoch, batch, seed): nothing else to save

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
        self.shuffle = bool(shuffle)
        # seed=0: the order's seed is given to epoch(); None would draw one from the global
        # generator here, an RNG side effect of every fit, evaluate and predict
        self.loader = gk_data.DataLoader(gk_data.TensorDataset(*arrays), batch_size=self.batch_size,
                                         shuffle=self.shuffle, seed=0)
        self.steps = steps
        self.num_batches = len(self.loader) if steps is None else min(int(steps), len(self.loader))

    def epoch(self, epoch=0, start=0, seed=0):
        """(x, y, w) batches of epoch ``epoch`` from batch ``start`` on, in the order of
        ``(seed, epoch)``."""
        _seek(self.loader, self.shuffle, epoch, start, seed)
        nx, ny = len(self.x_leaves), len(self.y_leaves)
        for k, batch in enumerate(self.loader, start):
            if self.steps is not None and k >= self.steps:
                break
            batch = list(batch)
            x = _structure(self.x, batch[:nx])
            y = _structure(self.y, batch[nx:nx + ny]) if ny else None
            w = batch[nx + ny] if self.w is not None else None
            yield x, y, w


class IterableData:
    """Batches from a DataLoader, a tf.data.Dataset, a list of batches or any iterable.

    ``owned``: ``source`` is the DataLoader that ``adapt`` made over a map-style Dataset, so its
    order is ours to set from (seed, epoch), as for arrays."""

    is_arrays = False

    def __init__(self, source, steps, where, owned=False, shuffle=False):
        self.source, self.steps, self.where = source, steps, where
        self.owned, self.shuffle = owned, shuffle
        # a DataLoader passed in knows its own position: a checkpoint saves it
        self._positioned = owned or (callable(getattr(source, "state_dict", None))
                                     and callable(getattr(source, "load_state_dict", None)))
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

    @property
    def saved_loader(self):
        """The DataLoader whose ``state_dict()`` a checkpoint keeps: one passed in (None else)."""
        return self.source if self._positioned and not self.owned else None

    def epoch(self, epoch=0, start=0, seed=0):
        """The batches of this epoch from batch ``start`` on (see the module docstring)."""
        if self.owned:
            _seek(self.source, self.shuffle, epoch, start, seed)
        if self._one_pass:
            if self._iterator is None:
                self._iterator = self.source
            it = self._iterator
        else:
            it = iter(self.source)
        if start and not self._positioned:  # a resumed epoch: skip the batches already done
            for _ in range(start):
                if next(it, _END) is _END:
                    return
        k = start
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


_END = object()


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
        loader = gk_data.DataLoader(x, batch_size=batch_size or 32, shuffle=bool(shuffle), seed=0)
        return IterableData(loader, steps, where, owned=True, shuffle=bool(shuffle))
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

