"""Samplers: which dataset indices an epoch visits, in which order.

    Sampler               base: ``__iter__`` yields ints, ``index_array()`` gives them as one array
    SequentialSampler     0, 1, ..., n-1
    RandomSampler         a permutation per epoch (or draws with replacement)
    SubsetRandomSampler   a permutation of given indices per epoch
    WeightedRandomSampler draws in proportion to per-sample weights
    BatchSampler          groups another sampler's indices into lists of batch_size
    DistributedSampler    this rank's shard of each epoch's permutation

Random samplers are seeded: epoch ``e`` uses a generator derived from ``(seed, e)`` only, so an
epoch's order can be recomputed (to resume) without replaying the epochs before it.
``RandomSampler``-like samplers move to the next epoch each time they are iterated;
``DistributedSampler`` does not, and needs ``set_epoch(e)`` before each epoch on every rank (as
in PyTorch), so that all ranks agree on the permutation.
"""
import math
import os

import numpy as np

from ._random import SHUFFLE, check_seed, derived

__all__ = [
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler", "DistributedSampler",
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


class _SeededSampler(Sampler):
    """Shared epoch/seed bookkeeping. ``advance``: move to the next epoch after each draw."""

    advance = True

    def __init__(self, seed, where):
        self.seed = check_seed(seed, where)
        self.epoch = 0

    def set_epoch(self, epoch):
        """Use epoch ``epoch``'s order next (every rank must call it with the same value)."""
        self.epoch = int(epoch)

    def _generator(self):
        return derived(self.seed, SHUFFLE, self.epoch)

    def index_array(self):
        idx = self._draw(self._generator())
        if self.advance:
            self.epoch += 1
        return idx

    def state_dict(self):
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state):
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


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
