"""The steps of a ``tf.data`` pipeline, one class each (``Dataset``'s methods build them).

A step either passes row indices of the source arrays along (``_rows()`` returns the source and
``_indices()`` yields index arrays: shuffle, repeat, take, skip, prefetch, cache) or elements
(``_elements()``: map, filter, unbatch, enumerate, zip, and anything after a ``map``); ``batch``
turns indices into one gather per batch. See the docstring of ``data.py``.
"""
import itertools

import numpy as np

from ..data import default_collate
from ..data._random import SHUFFLE, check_seed, derived
from ..tensor import Tensor
from .data import (_CHUNK, AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, _as_element,
                   _call, _cardinality_name, _flatten, _map_structure, _pack, _Rows)


class _Unary(Dataset):
    """A transformation of one input dataset."""

    def __init__(self, input_dataset):
        if not isinstance(input_dataset, Dataset):
            raise TypeError(f"expected a tf.data.Dataset, got {type(input_dataset).__name__}")
        self._input = input_dataset

    def _cardinality(self):
        return self._input._cardinality()


class _Passthrough(_Unary):
    def __init__(self, input_dataset, kind):
        super().__init__(input_dataset)
        self._kind = kind

    def _rows(self):
        return self._input._rows()

    def _indices(self):
        return self._input._indices()

    def _elements(self):
        return self._input._elements()

    def __repr__(self):
        return f"<{self._kind} cardinality={_cardinality_name(self._cardinality())}>"


def _buffer_shuffle(stream, buffer_size, rng):
    """TensorFlow's shuffle buffer over any iterable; yields the items in shuffled order."""
    buf = []
    draws, k = rng.random(_CHUNK), 0
    for item in stream:
        if len(buf) < buffer_size:
            buf.append(item)
            continue
        if k == _CHUNK:
            draws, k = rng.random(_CHUNK), 0
        j = int(draws[k] * buffer_size)
        k += 1
        out, buf[j] = buf[j], item
        yield out
    rng.shuffle(buf)  # draining: each output uniform over what is left, i.e. a random order
    yield from buf


class _Shuffle(_Unary):
    def __init__(self, input_dataset, buffer_size, seed, reshuffle_each_iteration):
        super().__init__(input_dataset)
        buffer_size = int(buffer_size)
        if buffer_size == AUTOTUNE:
            buffer_size = 10_000
        if buffer_size < 1:
            raise ValueError(f"Dataset.shuffle: buffer_size must be at least 1; got {buffer_size}. "
                             "Use the dataset size for a full shuffle")
        self.buffer_size = buffer_size
        self.seed = check_seed(seed, "Dataset.shuffle")
        self.reshuffle_each_iteration = reshuffle_each_iteration
        self._passes = 0

    def _rng(self):
        p = self._passes
        if self.reshuffle_each_iteration:
            self._passes += 1
        else:
            p = 0
        return derived(self.seed, SHUFFLE, p)

    def _whole(self):
        n = self._input._cardinality()
        return 0 <= n <= self.buffer_size

    def _rows(self):
        return self._input._rows()

    def _indices(self):
        rng = self._rng()
        if self._whole():  # the buffer holds everything: a uniform permutation
            chunks = list(self._input._indices())
            if chunks:
                idx = np.concatenate(chunks)
                yield idx[rng.permutation(len(idx))]
            return
        flat = (int(i) for chunk in self._input._indices() for i in chunk)
        out = []
        for i in _buffer_shuffle(flat, self.buffer_size, rng):
            out.append(i)
            if len(out) == _CHUNK:
                yield np.asarray(out, np.int64)
                out = []
        if out:
            yield np.asarray(out, np.int64)

    def _elements(self):
        if self._rows() is not None:
            yield from super()._elements()
            return
        rng = self._rng()
        if self._whole():
            items = list(self._input._elements())
            for j in rng.permutation(len(items)):
                yield items[j]
            return
        yield from _buffer_shuffle(self._input._elements(), self.buffer_size, rng)

    def __repr__(self):
        return (f"<ShuffleDataset buffer_size={self.buffer_size} "
                f"cardinality={_cardinality_name(self._cardinality())}>")


class _Batch(_Unary):
    def __init__(self, input_dataset, batch_size, drop_remainder):
        super().__init__(input_dataset)
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"Dataset.batch: batch_size must be at least 1; got {batch_size}")
        self.batch_size, self.drop_remainder = batch_size, bool(drop_remainder)

    def _cardinality(self):
        n = self._input._cardinality()
        if n < 0:
            return n
        return n // self.batch_size if self.drop_remainder else -(-n // self.batch_size)

    def _index_batches(self):
        """The input's index stream regrouped into arrays of batch_size."""
        b, pending, have = self.batch_size, [], 0
        for chunk in self._input._indices():
            pending.append(chunk)
            have += len(chunk)
            if have < b:
                continue
            idx = np.concatenate(pending) if len(pending) > 1 else pending[0]
            full = len(idx) // b * b
            for s in range(0, full, b):
                yield idx[s:s + b]
            pending, have = ([idx[full:]], len(idx) - full) if full < len(idx) else ([], 0)
        if have and not self.drop_remainder:
            yield np.concatenate(pending)

    def _elements(self):
        rows = self._input._rows()
        if rows is not None:
            for idx in self._index_batches():
                yield rows.rows(idx)
            return
        batch = []
        for e in self._input._elements():
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

    def __repr__(self):
        return (f"<BatchDataset batch_size={self.batch_size} "
                f"cardinality={_cardinality_name(self._cardinality())}>")


class _Unbatch(_Unary):
    def _cardinality(self):
        n = self._input._cardinality()
        return n if n == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY

    def _elements(self):
        for e in self._input._elements():
            leaves = _flatten(e)
            for i in range(len(leaves[0]) if leaves else 0):
                yield _pack(e, iter([np.array(a[i]) for a in leaves]))


class _Map(_Unary):
    def __init__(self, input_dataset, fn):
        super().__init__(input_dataset)
        self.fn = fn

    def _elements(self):
        for e in self._input._elements():
            yield _as_element(_call(self.fn, e))


class _Filter(_Unary):
    def __init__(self, input_dataset, predicate):
        super().__init__(input_dataset)
        self.predicate = predicate

    def _cardinality(self):
        n = self._input._cardinality()
        return n if n == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY

    def _elements(self):
        for e in self._input._elements():
            keep = _call(self.predicate, e)
            if bool(np.asarray(keep.data if isinstance(keep, Tensor) else keep)):
                yield e


class _Repeat(_Unary):
    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self.count = count

    def _cardinality(self):
        n = self._input._cardinality()
        if self.count < 0:
            return 0 if n == 0 else INFINITE_CARDINALITY
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

    def _rows(self):
        return self._input._rows()

    def _indices(self):
        return self._passes(self._input._indices)

    def _elements(self):
        if self._rows() is not None:
            return super()._elements()
        return self._passes(self._input._elements)


class _Take(_Unary):
    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self.count = count

    def _cardinality(self):
        n = self._input._cardinality()
        if self.count < 0:
            return n
        if n == INFINITE_CARDINALITY:
            return self.count
        return n if n == UNKNOWN_CARDINALITY else min(n, self.count)

    def _rows(self):
        return self._input._rows()

    def _indices(self):
        left = self.count
        if left < 0:
            yield from self._input._indices()
            return
        for chunk in self._input._indices():
            if left <= 0:
                return
            yield chunk[:left]
            left -= len(chunk)

    def _elements(self):
        if self._rows() is not None:
            yield from super()._elements()
            return
        if self.count < 0:
            yield from self._input._elements()
            return
        yield from itertools.islice(self._input._elements(), self.count)


class _Skip(_Unary):
    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self.count = count

    def _cardinality(self):
        n = self._input._cardinality()
        if self.count < 0:
            return 0 if n >= 0 else n
        return n if n < 0 else max(n - self.count, 0)

    def _rows(self):
        return self._input._rows()

    def _indices(self):
        if self.count < 0:
            return
        left = self.count
        for chunk in self._input._indices():
            if left >= len(chunk):
                left -= len(chunk)
                continue
            yield chunk[left:]
            left = 0

    def _elements(self):
        if self._rows() is not None:
            yield from super()._elements()
            return
        if self.count < 0:
            return
        for k, e in enumerate(self._input._elements()):
            if k >= self.count:
                yield e


class _Cache(_Unary):
    """Rows of in-memory arrays need no cache; anything else (after ``map``) is kept in memory
    after the first complete pass, as arrays, so later passes take the fast row path."""

    def __init__(self, input_dataset):
        super().__init__(input_dataset)
        self._stored = None

    def _rows(self):
        rows = self._input._rows()
        return rows if rows is not None else self._stored

    def _indices(self):
        rows = self._rows()
        if rows is self._stored:
            if rows.n:
                yield np.arange(rows.n)
            return
        yield from self._input._indices()

    def _elements(self):
        if self._rows() is not None:
            yield from super()._elements()
            return
        seen = []
        for e in self._input._elements():
            seen.append(e)
            yield e
        if seen:  # a complete pass: keep it
            self._stored = _Rows(_map_structure(lambda a: None, seen[0]),
                                 _flatten(default_collate(seen)))

    def __repr__(self):
        return f"<CacheDataset cardinality={_cardinality_name(self._cardinality())}>"


class _Enumerate(_Unary):
    def __init__(self, input_dataset, start):
        super().__init__(input_dataset)
        self.start = start

    def _elements(self):
        for k, e in enumerate(self._input._elements(), self.start):
            yield (np.asarray(k, np.int64), e)


class _Zip(Dataset):
    def __init__(self, datasets):
        for d in datasets:
            if not isinstance(d, Dataset):
                raise TypeError(f"Dataset.zip: expected tf.data.Dataset objects, got "
                                f"{type(d).__name__}")
        self._datasets = tuple(datasets)

    def _cardinality(self):
        ns = [d._cardinality() for d in self._datasets]
        finite = [n for n in ns if n >= 0]
        if finite:
            return min(finite)
        return UNKNOWN_CARDINALITY if UNKNOWN_CARDINALITY in ns else INFINITE_CARDINALITY

    def _elements(self):
        return zip(*(d._elements() for d in self._datasets))
