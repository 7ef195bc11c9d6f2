"""``tf.data.Dataset``: an input pipeline built by chaining transformations.

    ds = (tf.data.Dataset.from_tensor_slices((x_train, y_train))   # element i = (x[i], y[i])
          .shuffle(10_000, seed=0)                                 # TensorFlow's shuffle buffer
          .batch(32)                                               # (32, ...) batches
          .prefetch(tf.data.AUTOTUNE))
    for images, labels in ds:                                      # gradkit Tensors
        ...

Each transformation returns a new, lazy Dataset; iterating runs the pipeline once (one epoch).
Elements are nested structures (tuples, dicts, namedtuples) of arrays; a Python list given to
``from_tensor_slices`` is data (one array), as in TensorFlow.

How it stays fast: while a pipeline only reorders or selects rows of the source arrays
(``shuffle``, ``repeat``, ``take``, ``skip``, ``prefetch``, ``cache``), it passes *row indices*
instead of elements, and ``batch`` gathers a whole batch with one ``np.take`` per array
(``gradkit.data.TensorDataset.get_batch``). ``map`` and ``filter`` run per element, as written.

Shuffling follows TensorFlow's buffer (``gradkit.data.BufferShuffle``): the first
``buffer_size`` elements fill a buffer; each output is drawn uniformly from the buffer and its
slot refilled with the next input element; at the end the buffer drains in random order. A
buffer at least as large as the dataset is a uniform shuffle, done with one ``permutation``.
With ``seed=s`` the order of pass k depends only on (s, k) (straight after
``from_tensor_slices`` it is the order ``gradkit.data.BufferShuffleSampler(n, buffer_size,
seed=s)`` gives in epoch k); with no seed, one is drawn from gradkit's global generator when the
dataset is built (so ``tf.random.set_seed`` makes it reproducible).

Differences from TensorFlow: ``prefetch`` does nothing (there is no graph to overlap with),
``cache(filename)`` keeps elements in memory whatever the filename, and elements that are not
numbers (strings) come out as NumPy arrays rather than tensors. ``cardinality()`` and ``len()``
follow TensorFlow (-1 infinite, -2 unknown; ``len`` raises TypeError for those).

This module is the TensorFlow-shaped front: ``Dataset`` checks the arguments and holds one step
of the pipeline; the steps (one class each) are in ``_pipeline.py``, built on ``gradkit.data``.
"""
import numpy as np

from ..data import check_same_length
from ..ops.creation import from_numpy
from . import _pipeline as steps
from ._names import unsupported
from ._pipeline import as_element, flatten, map_structure, to_numpy, to_tensor

__all__ = ["Dataset", "AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "experimental"]

AUTOTUNE = -1
INFINITE_CARDINALITY = steps.INFINITE   # -1
UNKNOWN_CARDINALITY = steps.UNKNOWN     # -2
_AUTOTUNE_SHUFFLE_BUFFER = 10_000       # shuffle(tf.data.AUTOTUNE): a buffer of this size


def _source(template, arrays):
    """A dataset whose element i is row i of ``arrays``, shaped like ``template``."""
    return Dataset(steps.Source(steps.Rows(map_structure(lambda a: None, template), arrays)))


# === Dataset ====================================================================================
class Dataset:
    """A sequence of elements (see the module docstring). Build one with ``from_tensor_slices``,
    ``from_tensors`` or ``range``; transform it with the methods below. Each method returns a new
    Dataset around one more step (``self._step``, a ``_pipeline`` node)."""

    def __init__(self, step):
        self._step = step

    def _then(self, step_class, *args):
        return Dataset(step_class(self._step, *args))

    # ---- iteration
    def __iter__(self):
        for e in self._step.elements():
            yield map_structure(to_tensor, e)

    def as_numpy_iterator(self):
        """Iterate with NumPy arrays (scalars for 0-d components) instead of tensors."""
        for e in self._step.elements():
            yield map_structure(to_numpy, e)

    def cardinality(self):
        """The number of elements as a 0-d int64 tensor; ``tf.data.INFINITE_CARDINALITY`` (-1)
        after ``repeat()``, ``tf.data.UNKNOWN_CARDINALITY`` (-2) after ``filter``."""
        return from_numpy(np.asarray(self._step.cardinality(), np.int64))

    def __len__(self):
        n = self._step.cardinality()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite (it ends in repeat()); len() needs a finite "
                            "dataset: use .take(n) or give fit() steps_per_epoch")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown (it passed through filter()); count "
                            "it by iterating, or use cardinality() to test for this case")
        return n

    def __bool__(self):
        return True  # never falls back on __len__ (which may raise)

    def __repr__(self):
        return repr(self._step)

    # ---- sources
    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """Slice along the first axis: element i is ``tensors`` with each array replaced by its
        row i. ``tensors``: an array/tensor/list, or a tuple or dict of them (same length)."""
        template = as_element(tensors, lists_are_data=True)
        arrays = flatten(template)
        if len(arrays) == 1:
            names = ["the tensor"]
        else:
            names = [f"component {i}" for i in range(len(arrays))]
        check_same_length(*arrays, names=names, where="Dataset.from_tensor_slices")
        return _source(template, arrays)

    @staticmethod
    def from_tensors(tensors, name=None):
        """A dataset of one element: ``tensors`` itself."""
        template = as_element(tensors, lists_are_data=True)
        return _source(template, [np.asarray(a)[None] for a in flatten(template)])

    @staticmethod
    def range(*args, dtype=np.int64, name=None):
        """``range(stop)``, ``range(start, stop[, step])``: int64 scalars, as Python's range."""
        return Dataset(steps.Source(steps.Rows(None, [np.arange(*args).astype(dtype)])))

    @staticmethod
    def zip(*datasets, name=None):
        """Elements are tuples of the datasets' elements; stops at the shortest."""
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, list)):
            datasets = tuple(datasets[0])
        for d in datasets:
            if not isinstance(d, Dataset):
                raise TypeError(f"Dataset.zip: expected tf.data.Dataset objects, got "
                                f"{type(d).__name__}")
        return Dataset(steps.Zip([d._step for d in datasets]))

    # ---- transformations
    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
        """Shuffle with a buffer of ``buffer_size`` elements (see the module docstring).

        ``buffer_size >= len(dataset)`` gives a uniform shuffle; a small buffer only mixes
        nearby elements. ``reshuffle_each_iteration=False`` repeats the first pass's order.
        ``buffer_size=tf.data.AUTOTUNE`` uses 10,000.
        """
        buffer_size = int(buffer_size)
        if buffer_size == AUTOTUNE:
            buffer_size = _AUTOTUNE_SHUFFLE_BUFFER
        return self._then(steps.Shuffle, buffer_size, seed, reshuffle_each_iteration)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None):
        """Stack ``batch_size`` consecutive elements; the last batch may be smaller unless
        ``drop_remainder``."""
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"Dataset.batch: batch_size must be at least 1; got {batch_size}")
        return self._then(steps.Batch, batch_size, bool(drop_remainder))

    def unbatch(self, name=None):
        """Split each element along its first axis (the inverse of ``batch``)."""
        return self._then(steps.Unbatch)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """Apply ``map_func`` to each element (a tuple element is passed as separate arguments)."""
        if not callable(map_func):
            raise TypeError(f"Dataset.map: map_func must be callable; got {type(map_func).__name__}")
        return self._then(steps.Map, map_func)

    def filter(self, predicate, name=None):
        """Keep the elements for which ``predicate`` is true."""
        return self._then(steps.Filter, predicate)

    def repeat(self, count=None, name=None):
        """Pass over the dataset ``count`` times (forever if None or -1); a shuffle before
        ``repeat`` reshuffles on every pass."""
        return self._then(steps.Repeat, -1 if count is None else int(count))

    def take(self, count, name=None):
        """The first ``count`` elements (all with -1)."""
        return self._then(steps.Take, int(count))

    def skip(self, count, name=None):
        """All but the first ``count`` elements."""
        return self._then(steps.Skip, int(count))

    def prefetch(self, buffer_size, name=None):
        """Accepted for compatibility; gradkit runs eagerly, so there is nothing to overlap."""
        return self._then(steps.Passthrough, "PrefetchDataset")

    def cache(self, filename="", name=None):
        """Keep the elements in memory after the first full pass (map results are not recomputed).
        ``filename`` is ignored: the cache is always in memory."""
        return self._then(steps.Cache)

    def enumerate(self, start=0, name=None):
        """Elements become ``(index, element)``."""
        return self._then(steps.Enumerate, int(start))


class _Experimental:
    """``tf.data.experimental``: the constants older tutorials import from there."""

    AUTOTUNE = AUTOTUNE
    INFINITE_CARDINALITY = INFINITE_CARDINALITY
    UNKNOWN_CARDINALITY = UNKNOWN_CARDINALITY

    @staticmethod
    def cardinality(dataset):
        return dataset.cardinality()

    def __getattr__(self, name):
        raise AttributeError(f"gradkit.tf.data.experimental has no attribute {name!r}; it offers "
                             "AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, cardinality")


experimental = _Experimental()

__getattr__ = unsupported(__name__, __all__)
