"""The steps of a ``tf.data`` pipeline on ``gradkit.data``: one node class per transformation.

``tf.data.Dataset`` (``data.py``) holds one node and builds a new one for each method; this
module knows nothing of ``Dataset``. Every node answers four questions:

    cardinality()   the number of elements: >= 0, INFINITE (-1) or UNKNOWN (-2)
    rows()          the source arrays (``Rows``) if the node only selects rows of them, else None
    indices()       when rows() is not None: the selected row indices, as a stream of int arrays
    elements()      the elements, one by one (derived from rows() and indices() by default)

While a pipeline only reorders or selects rows (shuffle, repeat, take, skip, prefetch, cache) it
passes row indices; ``Batch`` turns them into one gather per batch (``TensorDataset.get_batch``).
After ``map``, ``filter``, ``unbatch``, ``enumerate`` or ``zip`` it passes elements.

What comes from gradkit.data: the source table (``TensorDataset``), shuffling
(``BufferShuffle``: TensorFlow's buffer, seeded per pass), batching (``index_batches`` for
indices, ``default_collate`` for elements). What is TensorFlow's own and stays here: the shape of
an element (nested tuples, namedtuples and dicts; a list given to ``from_tensor_slices`` is data),
the calling convention of ``map`` and ``filter``, and cardinality.
"""
import itertools

import numpy as np

from .. import _internal
from ..data import BufferShuffle, TensorDataset, default_collate, index_batches
from ..ops.creation import from_numpy
from ..tensor import Tensor
from .tensors import to_array

INFINITE, UNKNOWN = -1, -2  # tf.data.INFINITE_CARDINALITY, tf.data.UNKNOWN_CARDINALITY


# === elements: tuples, namedtuples and dicts are structure; everything else is a leaf ============
def flatten(struct):
    """The leaves of ``struct``, in order."""
    if isinstance(struct, dict):
        return [leaf for v in struct.values() for leaf in flatten(v)]
    if isinstance(struct, tuple):
        return [leaf for s in struct for leaf in flatten(s)]
    return [struct]


def pack(template, leaves):
    """``template``'s structure with its leaves taken, in order, from the iterator ``leaves``."""
    if isinstance(template, dict):
        return type(template)((k, pack(v, leaves)) for k, v in template.items())
    if isinstance(template, tuple):
        items = [pack(s, leaves) for s in template]
        return type(template)(*items) if hasattr(template, "_fields") else tuple(items)
    return next(leaves)


def map_structure(fn, struct):
    """``struct`` with ``fn`` applied to every leaf."""
    return pack(struct, iter([fn(x) for x in flatten(struct)]))


def _leaf_array(x):
    """One component as an array: tensors give their data, lists become one array (TF dtypes)."""
    if isinstance(x, (np.ndarray, Tensor)):
        return _internal.as_array(x)
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], str) or isinstance(x, str):
        return np.array(x, dtype=object)
    return to_array(x, where="tf.data")


def as_element(struct, lists_are_data=False):
    """A user value as an element. ``from_tensor_slices`` reads a list as data (one array), as
    TensorFlow does; a list returned by a map function is a tuple of components."""
    if isinstance(struct, list) and not lists_are_data:
        struct = tuple(struct)
    if isinstance(struct, dict):
        return type(struct)((k, as_element(v, lists_are_data)) for k, v in struct.items())
    if isinstance(struct, tuple):
        items = [as_element(s, lists_are_data) for s in struct]
        return type(struct)(*items) if hasattr(struct, "_fields") else tuple(items)
    return _leaf_array(struct)


def to_tensor(a):
    """A numeric component as a gradkit Tensor (sharing memory); strings stay NumPy arrays."""
    a = np.asarray(a)
    return from_numpy(a) if a.dtype.kind in "fiub" else a


def to_numpy(a):
    """A component for ``as_numpy_iterator``: 0-d arrays become NumPy scalars."""
    return a[()] if isinstance(a, np.ndarray) and a.ndim == 0 else a


def _call(fn, element):
    """TensorFlow's calling convention: a tuple element is spread over the arguments."""
    args = map_structure(to_tensor, element)
    if isinstance(args, tuple) and not hasattr(args, "_fields"):
        return fn(*args)
    return fn(args)


def cardinality_name(n):
    return {INFINITE: "infinite", UNKNOWN: "unknown"}.get(n, str(n))


# === the source: rows of equal-length arrays ====================================================
class Rows:
    """The source arrays: element i is row i of every component, shaped like ``template``."""

    def __init__(self, template, arrays):
        self.template = template
        self.table = TensorDataset(*arrays)   # gradkit.data's batch gathering
        self.n = len(self.table)

    @classmethod
    def of_elements(cls, elements):
        """A table whose rows are ``elements`` (a non-empty list of elements of one structure)."""
        return cls(map_structure(lambda a: None, elements[0]), flatten(default_collate(elements)))

    def row(self, i):
        return pack(self.template, iter([np.array(a[i]) for a in self.table.tensors]))

    def rows(self, idx):
        return pack(self.template, iter(self.table.get_batch(idx)))


# === nodes ======================================================================================
class Node:
    """A step of the pipeline. Subclasses define ``cardinality()`` and either ``elements()`` or,
    when they only select rows of a source, ``rows()`` and ``indices()``."""

    kind = None  # TensorFlow's class name for repr, e.g. "ShuffleDataset"

    def cardinality(self):
        raise NotImplementedError

    def rows(self):
        return None

    def indices(self):
        raise NotImplementedError

    def elements(self):
        rows = self.rows()
        for chunk in self.indices():
            for i in chunk:
                yield rows.row(i)

    def _details(self):
        return ""

    def __repr__(self):
        return f"<{self.kind} {self._details()}cardinality={cardinality_name(self.cardinality())}>"


class Source(Node):
    """``from_tensor_slices``, ``from_tensors``, ``range``: all the rows of ``rows``."""

    kind = "TensorSliceDataset"

    def __init__(self, rows):
        self.source = rows

    def cardinality(self):
        return self.source.n

    def rows(self):
        return self.source

    def indices(self):
        if self.source.n:
            yield np.arange(self.source.n)


class Unary(Node):
    """A transformation of one input node (of the same length unless it says otherwise)."""

    def __init__(self, input_node):
        self.input = input_node

    def cardinality(self):
        return self.input.cardinality()


class SelectsRows(Unary):
    """A step that only selects or reorders elements: on the row path it passes the input's
    rows and changes only the indices."""

    def rows(self):
        return self.input.rows()


class Passthrough(SelectsRows):
    """``prefetch``: the input unchanged (there is no graph to overlap with)."""

    def __init__(self, input_node, kind):
        super().__init__(input_node)
        self.kind = kind

    def indices(self):
        return self.input.indices()

    def elements(self):
        return self.input.elements()


class Shuffle(SelectsRows):
    """TensorFlow's shuffle buffer, one seeded pass per iteration: ``gradkit.data.BufferShuffle``
    over the row indices, or over the elements once there are no rows. The seed is fixed here,
    when the dataset is built (``None`` draws one from gradkit's global generator)."""

    kind = "ShuffleDataset"

    def __init__(self, input_node, buffer_size, seed, reshuffle_each_iteration):
        super().__init__(input_node)
        self.shuffle = BufferShuffle(buffer_size, seed, reshuffle_each_iteration,
                                     where="Dataset.shuffle")

    def _length(self):
        n = self.input.cardinality()
        return n if n >= 0 else None

    def indices(self):
        yield from self.shuffle.index_arrays(self.input.indices(), self._length())

    def elements(self):
        if self.rows() is not None:
            yield from super().elements()
            return
        yield from self.shuffle(self.input.elements(), self._length())

    def _details(self):
        return f"buffer_size={self.shuffle.buffer_size} "


class Batch(Unary):
    """``batch_size`` consecutive elements stacked: one gather per batch on the row path
    (``gradkit.data.index_batches``), ``gradkit.data.default_collate`` on the element path."""

    kind = "BatchDataset"

    def __init__(self, input_node, batch_size, drop_remainder):
        super().__init__(input_node)
        self.batch_size, self.drop_remainder = batch_size, drop_remainder

    def cardinality(self):
        n = self.input.cardinality()
        if n < 0:
            return n
        return n // self.batch_size if self.drop_remainder else -(-n // self.batch_size)

    def elements(self):
        rows = self.input.rows()
        if rows is not None:
            for idx in index_batches(self.input.indices(), self.batch_size, self.drop_remainder):
                yield rows.rows(idx)
            return
        batch = []
        for e in self.input.elements():
            batch.append(e)
            if len(batch) == self.batch_size:
                yield self._stack(batch)
                batch = []
        if batch and not self.drop_remainder:
            yield self._stack(batch)

    @staticmethod
    def _stack(batch):
        try:
            return default_collate(batch)
        except ValueError as e:
            raise ValueError(f"Dataset.batch: cannot batch elements of different shapes ({e}); "
                             "map them to one shape first, or batch(1)") from None

    def _details(self):
        return f"batch_size={self.batch_size} "


class Unbatch(Unary):
    """Each element split along its first axis."""

    kind = "UnbatchDataset"

    def cardinality(self):
        n = self.input.cardinality()
        return n if n == INFINITE else UNKNOWN

    def elements(self):
        for e in self.input.elements():
            leaves = flatten(e)
            for i in range(len(leaves[0]) if leaves else 0):
                yield pack(e, iter([np.array(a[i]) for a in leaves]))


class Map(Unary):
    """``fn`` applied to each element (TensorFlow's calling convention, ``_call``)."""

    kind = "MapDataset"

    def __init__(self, input_node, fn):
        super().__init__(input_node)
        self.fn = fn

    def elements(self):
        for e in self.input.elements():
            yield as_element(_call(self.fn, e))


class Filter(Unary):
    """The elements for which ``predicate`` is true."""

    kind = "FilterDataset"

    def __init__(self, input_node, predicate):
        super().__init__(input_node)
        self.predicate = predicate

    def cardinality(self):
        n = self.input.cardinality()
        return n if n == INFINITE else UNKNOWN

    def elements(self):
        for e in self.input.elements():
            keep = _call(self.predicate, e)
            if bool(_internal.as_array(keep)):
                yield e


class Repeat(SelectsRows):
    """``count`` passes over the input (forever if negative); each pass re-runs it, so a shuffle
    before ``repeat`` reshuffles."""

    kind = "RepeatDataset"

    def __init__(self, input_node, count):
        super().__init__(input_node)
        self.count = count

    def cardinality(self):
        n = self.input.cardinality()
        if self.count < 0:
            return 0 if n == 0 else INFINITE
        return n if n < 0 else n * self.count

    def _passes(self, stream):
        k = 0
        while self.count < 0 or k < self.count:
            empty = True
            for item in stream():
                empty = False
                yield item
            if empty:  # an empty dataset repeated forever is still empty
                return
            k += 1

    def indices(self):
        return self._passes(self.input.indices)

    def elements(self):
        if self.rows() is not None:
            return super().elements()
        return self._passes(self.input.elements)


class Take(SelectsRows):
    """The first ``count`` elements (all if negative)."""

    kind = "TakeDataset"

    def __init__(self, input_node, count):
        super().__init__(input_node)
        self.count = count

    def cardinality(self):
        n = self.input.cardinality()
        if self.count < 0:
            return n
        if n == INFINITE:
            return self.count
        return n if n == UNKNOWN else min(n, self.count)

    def indices(self):
        left = self.count
        if left < 0:
            yield from self.input.indices()
            return
        for chunk in self.input.indices():
            if left <= 0:
                return
            yield chunk[:left]
            left -= len(chunk)

    def elements(self):
        if self.rows() is not None:
            yield from super().elements()
            return
        if self.count < 0:
            yield from self.input.elements()
            return
        yield from itertools.islice(self.input.elements(), self.count)


class Skip(SelectsRows):
    """All but the first ``count`` elements (none if negative)."""

    kind = "SkipDataset"

    def __init__(self, input_node, count):
        super().__init__(input_node)
        self.count = count

    def cardinality(self):
        n = self.input.cardinality()
        if self.count < 0:
            return 0 if n >= 0 else n
        return n if n < 0 else max(n - self.count, 0)

    def indices(self):
        if self.count < 0:
            return
        left = self.count
        for chunk in self.input.indices():
            if left >= len(chunk):
                left -= len(chunk)
                continue
            yield chunk[left:]
            left = 0

    def elements(self):
        if self.rows() is not None:
            yield from super().elements()
            return
        if self.count < 0:
            return
        for k, e in enumerate(self.input.elements()):
            if k >= self.count:
                yield e


class Cache(Unary):
    """Rows of in-memory arrays need no cache; anything else (after ``map``) is kept in memory
    after the first complete pass, as arrays, so later passes take the fast row path."""

    kind = "CacheDataset"

    def __init__(self, input_node):
        super().__init__(input_node)
        self._stored = None

    def rows(self):
        rows = self.input.rows()
        return rows if rows is not None else self._stored

    def indices(self):
        rows = self.rows()
        if rows is self._stored:
            if rows.n:
                yield np.arange(rows.n)
            return
        yield from self.input.indices()

    def elements(self):
        if self.rows() is not None:
            yield from super().elements()
            return
        seen = []
        for e in self.input.elements():
            seen.append(e)
            yield e
        if seen:  # a complete pass: keep it
            self._stored = Rows.of_elements(seen)


class Enumerate(Unary):
    """Elements become ``(index, element)``, the index an int64 counting from ``start``."""

    kind = "EnumerateDataset"

    def __init__(self, input_node, start):
        super().__init__(input_node)
        self.start = start

    def elements(self):
        for k, e in enumerate(self.input.elements(), self.start):
            yield (np.asarray(k, np.int64), e)


class Zip(Node):
    """Tuples of the inputs' elements; stops at the shortest input."""

    kind = "ZipDataset"

    def __init__(self, input_nodes):
        self.inputs = tuple(input_nodes)

    def cardinality(self):
        ns = [d.cardinality() for d in self.inputs]
        finite = [n for n in ns if n >= 0]
        if finite:
            return min(finite)
        return UNKNOWN if UNKNOWN in ns else INFINITE

    def elements(self):
        return zip(*(d.elements() for d in self.inputs))
