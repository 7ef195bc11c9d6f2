"""Datasets: what a DataLoader draws samples from.

    Dataset            map-style: ``ds[i]`` -> one sample, ``len(ds)``
    IterableDataset    a stream: ``iter(ds)`` yields samples
    TensorDataset      samples are the i-th rows of equal-length arrays, with optional transforms
    ConcatDataset      datasets one after another
    Subset             a dataset seen through a list of indices

The fast path: a dataset that can fetch a whole batch at once defines
``get_batch(indices, rng=None) -> tuple of arrays``. The DataLoader then slices 128 rows with one
fancy index instead of calling ``__getitem__`` 128 times and stacking the results; that is what
makes an epoch over 60,000 images take milliseconds of loader time. ``TensorDataset``,
``SequenceWindowDataset``, and ``Subset``/``ConcatDataset`` of them provide it. A subclass that
overrides ``__getitem__`` without overriding ``get_batch`` goes item by item, so its
``__getitem__`` stays the truth.
"""
import bisect

import numpy as np

from .. import _internal
from .checks import check_same_length
from .transforms import apply_transform

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "Subset", "batch_fetcher"]


class Dataset:
    """Map-style dataset: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(self, index)")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__``. The DataLoader groups it into batches;
    it cannot shuffle a stream, so shuffle inside ``__iter__`` if needed."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__(self)")

    def __add__(self, other):
        raise TypeError("IterableDataset: + (ConcatDataset) needs map-style datasets; chain the iterators instead")


def _defining_index(cls, name):
    """Position in ``cls.__mro__`` of the class that defines ``name`` (lower = more derived)."""
    for i, klass in enumerate(cls.__mro__):
        if name in klass.__dict__:
            return i
    return len(cls.__mro__)


def batch_fetcher(dataset):
    """``dataset.get_batch`` if the DataLoader may fetch whole batches from it, else ``None``."""
    get_batch = getattr(dataset, "get_batch", None)
    if get_batch is None or isinstance(dataset, IterableDataset):
        return None
    cls = type(dataset)
    if _defining_index(cls, "get_batch") > _defining_index(cls, "__getitem__"):
        return None  # __getitem__ overridden below get_batch: get_batch would bypass it
    if not getattr(dataset, "supports_batches", True):
        return None
    return get_batch


def _as_array(a):
    if isinstance(a, (list, tuple)) and a and isinstance(a[0], str):
        return np.array(a, dtype=object)  # strings stay Python str, not fixed-width '<U'
    return _internal.as_array(a)


def _check_index(i, n, where):
    if not isinstance(i, (int, np.integer)):
        raise TypeError(f"{where}: index must be an int; got {type(i).__name__}")
    if not -n <= i < n:
        raise IndexError(f"{where}: index {i} is out of range for {n} samples")
    return int(i) + n if i < 0 else int(i)


class TensorDataset(Dataset):
    """Sample ``i`` is ``(arrays[0][i], arrays[1][i], ...)``: usually ``TensorDataset(x, y)``.

    ``transform`` is applied to ``arrays[0]`` and ``target_transform`` to ``arrays[1]``, both on
    batches (see ``gradkit.data.transforms``): ``ds[i]`` runs them on a batch of one. Arrays can
    be NumPy arrays, lists, or tensors (their values, as ``.detach()`` reads them: no graph); all
    must have the same length. ``ds.tensors`` holds the arrays (PyTorch's name).
    """

    def __init__(self, *arrays, transform=None, target_transform=None):
        if not arrays:
            raise ValueError("TensorDataset: give at least one array, e.g. TensorDataset(x, y)")
        arrays = tuple(_as_array(a) for a in arrays)
        names = ["features (arrays[0])", "labels (arrays[1])"] + [f"arrays[{i}]" for i in range(2, len(arrays))]
        self._len = check_same_length(*arrays, names=names[: len(arrays)], where="TensorDataset")
        self.tensors = arrays
        if target_transform is not None and len(arrays) < 2:
            raise ValueError("TensorDataset: target_transform needs a second array (the labels)")
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return self._len

    def _transformed(self, batch, rng):
        if self.transform is None and self.target_transform is None:
            return batch
        batch = list(batch)
        if self.transform is not None:
            batch[0] = apply_transform(self.transform, batch[0], rng)
        if self.target_transform is not None:
            batch[1] = apply_transform(self.target_transform, batch[1], rng)
        return tuple(batch)

    def get_batch(self, indices, rng=None):
        """Rows ``indices`` (int array or slice) of every array, transformed: a tuple of arrays."""
        if isinstance(indices, slice):
            return self._transformed(tuple(a[indices] for a in self.tensors), rng)
        # np.take: about twice as fast as a[indices] for row gathers
        return self._transformed(tuple(np.take(a, indices, axis=0) for a in self.tensors), rng)

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            return self.get_batch(index)
        i = _check_index(index, self._len, "TensorDataset")
        if self.transform is None and self.target_transform is None:
            return tuple(a[i] for a in self.tensors)
        return tuple(b[0] for b in self.get_batch(slice(i, i + 1)))

    def __repr__(self):
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.tensors)
        return f"TensorDataset({shapes}{', transform=' + repr(self.transform) if self.transform else ''})"


class Subset(Dataset):
    """``dataset`` restricted to ``indices`` (sample i is ``dataset[indices[i]]``)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if hasattr(dataset, "__len__") and self.indices.size:
            n = len(dataset)
            bad = np.flatnonzero((self.indices < -n) | (self.indices >= n))
            if bad.size:
                raise IndexError(
                    f"Subset: {bad.size} indices are out of range for a dataset of {n} samples; "
                    f"first at position {bad[0]}: {self.indices[bad[0]]}"
                )
            self.indices = np.where(self.indices < 0, self.indices + n, self.indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            return self.get_batch(index)
        return self.dataset[int(self.indices[_check_index(index, len(self.indices), "Subset")])]

    @property
    def supports_batches(self):
        return batch_fetcher(self.dataset) is not None

    def get_batch(self, indices, rng=None):
        return self.dataset.get_batch(self.indices[indices], rng)


class ConcatDataset(Dataset):
    """The samples of ``datasets`` one after another (``ds1 + ds2`` builds one)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: the list of datasets is empty")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset: datasets[{i}] is an IterableDataset; only map-style datasets can be concatenated")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1] if self.cumulative_sizes else 0

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            return self.get_batch(index)
        i = _check_index(index, len(self), "ConcatDataset")
        d = bisect.bisect_right(self.cumulative_sizes, i)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][i - start]

    @property
    def supports_batches(self):
        return all(batch_fetcher(d) is not None for d in self.datasets)

    def get_batch(self, indices, rng=None):
        idx = np.arange(*indices.indices(len(self))) if isinstance(indices, slice) else np.asarray(indices)
        which = np.searchsorted(self.cumulative_sizes, idx, side="right")
        starts = np.concatenate([[0], self.cumulative_sizes[:-1]])
        parts, order = [], []
        for d in np.unique(which):
            sel = np.flatnonzero(which == d)
            parts.append(self.datasets[d].get_batch(idx[sel] - starts[d], rng))
            order.append(sel)
        if len(parts) == 1:
            return parts[0]
        if len({len(p) for p in parts}) != 1:
            raise ValueError("ConcatDataset: the datasets return samples with different numbers of fields")
        inverse = np.argsort(np.concatenate(order), kind="stable")
        return tuple(np.concatenate(field)[inverse] for field in zip(*parts))
