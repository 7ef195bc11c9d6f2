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

Shuffling follows TensorFlow's buffer: the first ``buffer_size`` elements fill a buffer; each
output is drawn uniformly from the buffer and its slot refilled with the next input element; at
the end the buffer drains in random order. A buffer at least as large as the dataset is a
uniform shuffle, done with one ``permutation``. Randomness comes from ``gradkit.data``'s seeded
streams: with ``seed=s`` the order of pass k depends only on (s, k); with no seed, one is drawn
from gradkit's global generator when the dataset is built (so ``tf.random.set_seed`` makes it
reproducible).

Differences from TensorFlow: ``prefetch`` does nothing (there is no graph to overlap with),
``cache(filename)`` keeps elements in memory whatever the filename, and elements that are not
numbers (strings) come out as NumPy arrays rather than tensors. ``cardinality()`` and ``len()``
follow TensorFlow (-1 infinite, -2 unknown; ``len`` raises TypeError for those).

The steps themselves (one class each) are in ``_pipeline.py``.
"""
import numpy as np

from ..data import TensorDataset
from ..data.checks import check_same_length
from ..tensor import Tensor
from ._names import unsupported
from .tensors import to_array

__all__ = ["Dataset", "AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "experimental"]

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2
_CHUNK = 1024  # index-stream granularity of the buffer shuffle


# === nested structures: tuples, namedtuples and dicts are structure; everything else is a leaf ==
def _flatten(struct):
    if isinstance(struct, dict):
        return [leaf for v in struct.values() for leaf in _flatten(v)]
    if isinstance(struct, tuple):
        return [leaf for s in struct for leaf in _flatten(s)]
    return [struct]


def _pack(template, leaves):
    """``template``'s structure with its leaves taken, in order, from the iterator ``leaves``."""
    if isinstance(template, dict):
        return type(template)((k, _pack(v, leaves)) for k, v in template.items())
    if isinstance(template, tuple):
        items = [_pack(s, leaves) for s in template]
        return type(template)(*items) if hasattr(template, "_fields") else tuple(items)
    return next(leaves)


def _map_structure(fn, struct):
    return _pack(struct, iter([fn(x) for x in _flatten(struct)]))


def _leaf_array(x):
    """One component as an array: tensors give their data, lists become one array (TF dtypes)."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], str) or isinstance(x, str):
        return np.array(x, dtype=object)
    return to_array(x, where="tf.data")


def _as_element(struct, lists_are_data=False):
    """A user value as an element. ``from_tensor_slices`` reads a list as data (one array), as
    TensorFlow does; a list returned by a map function is a tuple of components."""
    if isinstance(struct, list) and not lists_are_data:
        struct = tuple(struct)
    if isinstance(struct, dict):
        return type(struct)((k, _as_element(v, lists_are_data)) for k, v in struct.items())
    if isinstance(struct, tuple):
        items = [_as_element(s, lists_are_data) for s in struct]
        return type(struct)(*items) if hasattr(struct, "_fields") else tuple(items)
    return _leaf_array(struct)


def _to_tensor(a):
    a = np.asarray(a)
    return Tensor._make(a) if a.dtype.kind in "fiub" else a


def _to_numpy(a):
    return a[()] if isinstance(a, np.ndarray) and a.ndim == 0 else a


def _call(fn, element):
    """TensorFlow's calling convention: a tuple element is spread over the arguments."""
    args = _map_structure(_to_tensor, element)
    if isinstance(args, tuple) and not hasattr(args, "_fields"):
        return fn(*args)
    return fn(args)


def _cardinality_name(n):
    return {INFINITE_CARDINALITY: "infinite", UNKNOWN_CARDINALITY: "unknown"}.get(n, str(n))


# === the source: rows of equal-length arrays ===================================================
class _Rows:
    """The source arrays: element i is row i of every component."""

    def __init__(self, template, arrays):
        self.template = template
        self.table = TensorDataset(*arrays)   # gradkit.data's batch gathering
        self.n = len(self.table)

    def row(self, i):
        return _pack(self.template, iter([np.array(a[i]) for a in self.table.tensors]))

    def rows(self, idx):
        return _pack(self.template, iter(self.table.get_batch(idx)))


# === Dataset ====================================================================================
class Dataset:
    """A sequence of elements (see the module docstring). Build one with ``from_tensor_slices``,
    ``from_tensors`` or ``range``; transform it with the methods below."""

    # Subclasses define _cardinality() and either _elements() (an iterator over elements) or,
    # when they only select rows of a source, _rows() (the source, or None) and _indices().
    def _cardinality(self):
        raise NotImplementedError

    def _rows(self):
        return None

    def _indices(self):
        raise NotImplementedError

    def _elements(self):
        rows = self._rows()
        for chunk in self._indices():
            for i in chunk:
                yield rows.row(i)

    # ---- iteration
    def __iter__(self):
        for e in self._elements():
            yield _map_structure(_to_tensor, e)

    def as_numpy_iterator(self):
        """Iterate with NumPy arrays (scalars for 0-d components) instead of tensors."""
        for e in self._elements():
            yield _map_structure(_to_numpy, e)

    def cardinality(self):
        """The number of elements as a 0-d int64 tensor; ``tf.data.INFINITE_CARDINALITY`` (-1)
        after ``repeat()``, ``tf.data.UNKNOWN_CARDINALITY`` (-2) after ``filter``."""
        return Tensor._make(np.asarray(self._cardinality(), np.int64))

    def __len__(self):
        n = self._cardinality()
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
        return f"<{type(self).__name__} cardinality={_cardinality_name(self._cardinality())}>"

    # ---- sources
    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """Slice along the first axis: element i is ``tensors`` with each array replaced by its
        row i. ``tensors``: an array/tensor/list, or a tuple or dict of them (same length)."""
        template = _as_element(tensors, lists_are_data=True)
        arrays = _flatten(template)
        if len(arrays) == 1:
            names = ["the tensor"]
        else:
            names = [f"component {i}" for i in range(len(arrays))]
        check_same_length(*arrays, names=names, where="Dataset.from_tensor_slices")
        return _Source(_Rows(_map_structure(lambda a: None, template), arrays))

    @staticmethod
    def from_tensors(tensors, name=None):
        """A dataset of one element: ``tensors`` itself."""
        template = _as_element(tensors, lists_are_data=True)
        arrays = [np.asarray(a)[None] for a in _flatten(template)]
        return _Source(_Rows(_map_structure(lambda a: None, template), arrays))

    @staticmethod
    def range(*args, dtype=np.int64, name=None):
        """``range(stop)``, ``range(start, stop[, step])``: int64 scalars, as Python's range."""
        return _Source(_Rows(None, [np.arange(*args).astype(dtype)]))

    @staticmethod
    def zip(*datasets, name=None):
        """Elements are tuples of the datasets' elements; stops at the shortest."""
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, list)):
            datasets = tuple(datasets[0])
        return _Zip(datasets)

    # ---- transformations
    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
        """Shuffle with a buffer of ``buffer_size`` elements (see the module docstring).

        ``buffer_size >= len(dataset)`` gives a uniform shuffle; a small buffer only mixes
        nearby elements. ``reshuffle_each_iteration=False`` repeats the first pass's order.
        """
        return _Shuffle(self, buffer_size, seed, reshuffle_each_iteration)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None):
        """Stack ``batch_size`` consecutive elements; the last batch may be smaller unless
        ``drop_remainder``."""
        return _Batch(self, batch_size, drop_remainder)

    def unbatch(self, name=None):
        """Split each element along its first axis (the inverse of ``batch``)."""
        return _Unbatch(self)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """Apply ``map_func`` to each element (a tuple element is passed as separate arguments)."""
        if not callable(map_func):
            raise TypeError(f"Dataset.map: map_func must be callable; got {type(map_func).__name__}")
        return _Map(self, map_func)

    def filter(self, predicate, name=None):
        """Keep the elements for which ``predicate`` is true."""
        return _Filter(self, predicate)

    def repeat(self, count=None, name=None):
        """Pass over the dataset ``count`` times (forever if None or -1); a shuffle before
        ``repeat`` reshuffles on every pass."""
        return _Repeat(self, -1 if count is None else int(count))

    def take(self, count, name=None):
        """The first ``count`` elements (all with -1)."""
        return _Take(self, int(count))

    def skip(self, count, name=None):
        """All but the first ``count`` elements."""
        return _Skip(self, int(count))

    def prefetch(self, buffer_size, name=None):
        """Accepted for compatibility; gradkit runs eagerly, so there is nothing to overlap."""
        return _Passthrough(self, "PrefetchDataset")

    def cache(self, filename="", name=None):
        """Keep the elements in memory after the first full pass (map results are not recomputed).
        ``filename`` is ignored: the cache is always in memory."""
        return _Cache(self)

    def enumerate(self, start=0, name=None):
        """Elements become ``(index, element)``."""
        return _Enumerate(self, int(start))


# === the source dataset ===========================================================================
class _Source(Dataset):
    def __init__(self, rows):
        self._source = rows

    def _cardinality(self):
        return self._source.n

    def _rows(self):
        return self._source

    def _indices(self):
        if self._source.n:
            yield np.arange(self._source.n)

    def __repr__(self):
        return f"<TensorSliceDataset cardinality={self._source.n}>"


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

# the steps subclass Dataset, so they are defined after it (in _pipeline.py)
from ._pipeline import (_Batch, _Cache, _Enumerate, _Filter, _Map, _Passthrough,  # noqa: E402
                        _Repeat, _Shuffle, _Skip, _Take, _Unbatch, _Zip)

__getattr__ = unsupported(__name__, __all__)
