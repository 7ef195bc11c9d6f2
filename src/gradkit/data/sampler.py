"""Samplers: which dataset indices an epoch visits, in which order.

    Sampler               base: ``__iter__`` yields ints, ``index_array()`` gives them as one array
    SequentialSampler     0, 1, ..., n-1
    RandomSampler         a permutation per epoch (or draws with replacement)
    SubsetRandomSampler   a permutation of given indices per epoch
    WeightedRandomSampler draws in proportion to per-sample weights
    BatchSampler          groups another sampler's indices into lists of batch_size
    DistributedSampler    this rank's shard of each epoch's permutation

    buffer_shuffle        TensorFlow's shuffle buffer over any iterable (one pass, given a generator)
    BufferShuffle         the same, seeded, one epoch per call (``tf.data.Dataset.shuffle``)
    BufferShuffleSampler  indices 0 .. n-1 through a BufferShuffle, for the DataLoader
    index_batches         a stream of index arrays regrouped into batches of batch_size

Random samplers are seeded: epoch ``e`` uses a generator derived from ``(seed, e)`` only, so an
epoch's order can be recomputed (to resume) without replaying the epochs before it.
``RandomSampler``-like samplers move to the next epoch each time they are iterated;
``DistributedSampler`` does not, and needs ``set_epoch(e)`` before each epoch on every rank (as
in PyTorch), so that all ranks agree on the permutation.
"""
import math
import os

import numpy as np

from ._random import SHUFFLE, check_seed, seeded_generator

__all__ = [
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler", "DistributedSampler",
    "buffer_shuffle", "BufferShuffle", "BufferShuffleSampler", "index_batches",
]


def _length(data_source, where):
    if isinstance(data_source, (int, np.integer)):
        return int(data_source)
    try:
        return len(data_source)
    except TypeError:
        raise TypeError(f"{where}: the data source has no len(); pass a map-style dataset or the number of samples") from None


class Sampler:
    """Base class. Subclasses define ``index_array()`` (one epoch's indices, int64) and ``__len__``."""

    def index_array(self):
        raise NotImplementedError(f"{type(self).__name__} must define index_array() or __iter__")

    def __iter__(self):
        return iter(self.index_array().tolist())


class SequentialSampler(Sampler):
    """Indices ``0 .. len(data_source) - 1`` in order."""

    def __init__(self, data_source):
        self.num_samples = _length(data_source, "SequentialSampler")

    def index_array(self):
        return np.arange(self.num_samples, dtype=np.int64)

    def __len__(self):
        return self.num_samples


class _Seeded:
    """Seed and epoch bookkeeping: epoch e draws from ``seeded_generator(seed, SHUFFLE, e)``.
    ``advance``: move to the next epoch each time an epoch's generator is taken."""

    advance = True

    def __init__(self, seed, where):
        self.seed = check_seed(seed, where)
        self.epoch = 0

    def set_epoch(self, epoch):
        """Use epoch ``epoch``'s order next (every rank must call it with the same value)."""
        self.epoch = int(epoch)

    def _next_generator(self):
        """This epoch's generator; moves to the next epoch if ``advance``."""
        rng = seeded_generator(self.seed, SHUFFLE, self.epoch)
        if self.advance:
            self.epoch += 1
        return rng

    def state_dict(self):
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state):
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


class _SeededSampler(_Seeded, Sampler):
    """A sampler whose epoch order is ``_draw(rng)`` with this epoch's generator."""

    def index_array(self):
        return self._draw(self._next_generator())


class RandomSampler(_SeededSampler):
    """A fresh random order of ``data_source``'s indices every epoch.

    ``replacement=True`` draws ``num_samples`` indices (default ``len(data_source)``) with
    replacement instead. ``seed``: int, or ``None`` to draw one from gradkit's global generator.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, seed=None):
        super().__init__(seed, "RandomSampler")
        self.n = _length(data_source, "RandomSampler")
        self.replacement = replacement
        self.num_samples = self.n if num_samples is None else int(num_samples)
        if not replacement and self.num_samples > self.n:
            raise ValueError(f"RandomSampler: num_samples={self.num_samples} > {self.n} samples needs replacement=True")

    def _draw(self, rng):
        if self.replacement:
            return rng.integers(0, self.n, size=self.num_samples, dtype=np.int64)
        return rng.permutation(self.n)[: self.num_samples]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(_SeededSampler):
    """The given ``indices`` in a fresh random order every epoch."""

    def __init__(self, indices, seed=None):
        super().__init__(seed, "SubsetRandomSampler")
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def _draw(self, rng):
        return self.indices[rng.permutation(len(self.indices))]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(_SeededSampler):
    """``num_samples`` indices drawn with probability proportional to ``weights`` (N,)."""

    def __init__(self, weights, num_samples, replacement=True, seed=None):
        super().__init__(seed, "WeightedRandomSampler")
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.size == 0 or (w < 0).any() or not np.isfinite(w).all() or w.sum() == 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        self.p = w / w.sum()
        self.num_samples, self.replacement = int(num_samples), replacement
        if not replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: num_samples={self.num_samples} without replacement exceeds the {np.count_nonzero(w)} non-zero weights")

    def _draw(self, rng):
        return rng.choice(len(self.p), size=self.num_samples, replace=self.replacement, p=self.p).astype(np.int64)

    def __len__(self):
        return self.num_samples


class BatchSampler:
    """Lists of ``batch_size`` indices from ``sampler``; ``drop_last`` drops a short final list."""

    def __init__(self, sampler, batch_size, drop_last=False):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"BatchSampler: batch_size must be a positive int; got {batch_size!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def index_batches(index_arrays, batch_size, drop_last=False):
    """Regroup a stream of int index arrays (any lengths) into arrays of ``batch_size`` indices.

    The last, short batch is yielded unless ``drop_last``. Slices of the input arrays are yielded
    as views where a batch lies in one array. Works on endless streams.

    >>> [b.tolist() for b in index_batches([np.arange(5), np.arange(5, 7)], 3)]
    [[0, 1, 2], [3, 4, 5], [6]]
    """
    b, pending, have = batch_size, [], 0
    for chunk in index_arrays:
        pending.append(chunk)
        have += len(chunk)
        if have < b:
            continue
        idx = np.concatenate(pending) if len(pending) > 1 else pending[0]
        full = len(idx) // b * b
        for s in range(0, full, b):
            yield idx[s:s + b]
        pending, have = ([idx[full:]], len(idx) - full) if full < len(idx) else ([], 0)
    if have and not drop_last:
        yield np.concatenate(pending)


class DistributedSampler(_SeededSampler):
    """Rank ``rank``'s share of each epoch, for data-parallel training on ``num_replicas`` ranks.

    Every rank draws the same permutation of all N indices (from ``seed`` and the epoch set with
    ``set_epoch``), then takes every ``num_replicas``-th index starting at ``rank``. The shards
    are disjoint and together cover the set. When N does not divide evenly, ``drop_last=False``
    pads by repeating the first indices of the permutation, so that every rank gets
    ``ceil(N / num_replicas)`` samples and no rank waits for a batch that never comes;
    ``drop_last=True`` drops the tail instead (``floor(N / num_replicas)`` each). PyTorch's
    algorithm. ``num_replicas``/``rank`` default to the ``WORLD_SIZE``/``RANK`` environment
    variables.
    """

    advance = False

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        super().__init__(seed, "DistributedSampler")
        if num_replicas is None:
            if "WORLD_SIZE" not in os.environ:
                raise ValueError("DistributedSampler: num_replicas not given and WORLD_SIZE is not set; pass num_replicas= and rank=")
            num_replicas = int(os.environ["WORLD_SIZE"])
        if rank is None:
            if "RANK" not in os.environ:
                raise ValueError("DistributedSampler: rank not given and RANK is not set; pass rank= (0 .. num_replicas-1)")
            rank = int(os.environ["RANK"])
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1; got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank={rank} is outside [0, {num_replicas - 1}] for num_replicas={num_replicas}")
        self.n = _length(dataset, "DistributedSampler")
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.shuffle, self.drop_last = shuffle, drop_last
        if drop_last and self.n % self.num_replicas:
            self.num_samples = math.ceil((self.n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(self.n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        if self.num_samples < 1:
            raise ValueError(f"DistributedSampler: {self.n} samples with drop_last=True leave nothing for {self.num_replicas} ranks")

    def _draw(self, rng):
        idx = rng.permutation(self.n) if self.shuffle else np.arange(self.n, dtype=np.int64)
        if self.total_size > self.n:  # pad by repeating from the start, as many times as needed
            idx = np.resize(idx, self.total_size)
        else:
            idx = idx[: self.total_size]
        return idx[self.rank:self.total_size:self.num_replicas]

    def __len__(self):
        return self.num_samples


# === TensorFlow's shuffle buffer: buffer_shuffle / BufferShuffle / BufferShuffleSampler =========
_CHUNK = 1024  # draws taken from the generator at a time; length of the index arrays yielded


def buffer_shuffle(items, buffer_size, rng):
    """TensorFlow's shuffle buffer over any iterable, one pass (``tf.data``'s algorithm).

    The first ``buffer_size`` items fill a buffer. For each further item a slot ``j`` is drawn
    uniformly, the item in slot ``j`` is yielded and the new item takes its place; when the items
    run out, the buffer drains in random order. Output ``k`` is thus one of items
    ``0 .. k + buffer_size - 1``: a buffer as large as the data is a uniform shuffle, a small one
    mixes only neighbours. ``rng``: a ``np.random.Generator``. Lazy, so endless streams work.

    >>> list(buffer_shuffle(range(6), 2, np.random.default_rng(0)))
    [1, 0, 3, 4, 2, 5]
    """
    buf = []
    draws, k = rng.random(_CHUNK), 0
    for item in items:
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


def _check_buffer_size(buffer_size, where):
    if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)):
        raise TypeError(f"{where}: buffer_size must be an int; got {buffer_size!r}")
    if buffer_size < 1:
        raise ValueError(f"{where}: buffer_size must be at least 1; got {buffer_size}. "
                         "Use the dataset size for a full shuffle")
    return int(buffer_size)


class BufferShuffle(_Seeded):
    """``buffer_shuffle`` with a seed, one epoch per call: ``tf.data.Dataset.shuffle``.

        shuffle = BufferShuffle(1000, seed=0)
        for x in shuffle(stream): ...            # epoch 0's order
        for x in shuffle(stream): ...            # epoch 1's (epoch 0's again if not reshuffling)

    Epoch ``e`` draws from a generator derived from ``(seed, e)`` only, taken when the pass starts
    (its first item), so the orders of a run can be recomputed; ``reshuffle_each_iteration=False``
    uses epoch 0's order every time. When the pass's length is known and fits in the buffer
    (``length <= buffer_size``) the buffer would hold everything: the pass is one uniform
    ``permutation`` instead, the one ``RandomSampler`` with the same seed draws for that epoch.
    ``seed``: int, or ``None`` to draw one now from gradkit's global generator. ``where`` names
    the caller in error messages (an adapter passes its own name, e.g. ``"Dataset.shuffle"``).
    """

    def __init__(self, buffer_size, seed=None, reshuffle_each_iteration=True, *, where="BufferShuffle"):
        self.buffer_size = _check_buffer_size(buffer_size, where)
        super().__init__(seed, where)
        self.reshuffle_each_iteration = self.advance = bool(reshuffle_each_iteration)

    def _fits(self, length):
        return length is not None and 0 <= length <= self.buffer_size

    def __call__(self, items, length=None):
        """One epoch: ``items`` (any iterable; ``length`` items if known) in shuffled order."""
        rng = self._next_generator()
        if self._fits(length):
            items = list(items)
            for j in rng.permutation(len(items)):
                yield items[j]
            return
        yield from buffer_shuffle(items, self.buffer_size, rng)

    def index_arrays(self, chunks, length=None):
        """One epoch over a stream of int index arrays (``length`` indices in all, if known):
        the order of ``__call__`` on the flattened stream, yielded as int64 arrays."""
        rng = self._next_generator()
        if self._fits(length):  # one gather instead of a loop over the indices
            arrays = list(chunks)
            if arrays:
                idx = np.concatenate(arrays)
                yield idx[rng.permutation(len(idx))]
            return
        flat = (int(i) for chunk in chunks for i in chunk)
        out = []
        for i in buffer_shuffle(flat, self.buffer_size, rng):
            out.append(i)
            if len(out) == _CHUNK:
                yield np.asarray(out, np.int64)
                out = []
        if out:
            yield np.asarray(out, np.int64)

    def __repr__(self):
        return (f"BufferShuffle(buffer_size={self.buffer_size}, seed={self.seed}, "
                f"reshuffle_each_iteration={self.reshuffle_each_iteration})")


class BufferShuffleSampler(Sampler):
    """The indices of ``data_source`` through TensorFlow's shuffle buffer, a new order per epoch.

    ``DataLoader(ds, sampler=BufferShuffleSampler(ds, 1000, seed=0))`` visits ``ds`` in the order
    ``tf.data.Dataset.from_tensor_slices(...).shuffle(1000, seed=0)`` does. ``set_epoch``,
    ``state_dict`` and ``load_state_dict`` work as for ``RandomSampler``.
    """

    def __init__(self, data_source, buffer_size, seed=None, reshuffle_each_iteration=True):
        self.n = _length(data_source, "BufferShuffleSampler")
        self.shuffle = BufferShuffle(buffer_size, seed, reshuffle_each_iteration,
                                     where="BufferShuffleSampler")

    def index_array(self):
        order = list(self.shuffle.index_arrays([np.arange(self.n, dtype=np.int64)], self.n))
        return np.concatenate(order) if order else np.arange(0, dtype=np.int64)

    def __len__(self):
        return self.n

    def set_epoch(self, epoch):
        self.shuffle.set_epoch(epoch)

    def state_dict(self):
        return self.shuffle.state_dict()

    def load_state_dict(self, state):
        self.shuffle.load_state_dict(state)
