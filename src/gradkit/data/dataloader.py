"""DataLoader: batches from a dataset, reproducible, resumable, optionally prefetched.

    for x, y in DataLoader(train_ds, batch_size=128, shuffle=True, seed=0):
        loss = loss_fn(model(x), y)

How a batch is made. The epoch's index order is drawn when iteration starts (from the sampler).
Batch k of epoch e then takes indices ``order[k*B:(k+1)*B]`` and either

* the fast path: ``dataset.get_batch(indices, rng)`` for array-backed datasets (TensorDataset and
  friends, see ``dataset.py``): one fancy index per array and vectorised transforms, or
* the item path: ``collate_fn([dataset[i] for i in indices])`` for any other map-style dataset
  (and whenever a ``collate_fn`` is given).

``rng`` is derived from ``(seed, epoch, k)`` only, so random augmentations do not depend on the
thread that runs them or on the batches before them. That makes three things equal: a run with
``prefetch=0``, the same run with a background thread, and a run resumed from
``state_dict()`` at (epoch, batch).
"""
import itertools
import math
import queue
import threading

import numpy as np

from ..ops.creation import tensor as _tensor
from .collate import default_collate
from .dataset import IterableDataset, batch_fetcher
from .sampler import RandomSampler, SequentialSampler, index_batches
from ._random import AUGMENT, check_seed, seeded_generator

__all__ = ["DataLoader"]


def _positive_int(value, name, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (0 if allow_zero else 1):
        raise ValueError(f"DataLoader: {name} must be a {'non-negative' if allow_zero else 'positive'} int; got {value!r}")
    return int(value)


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style ``Dataset`` (anything with ``__getitem__``/``__len__``) or an
            ``IterableDataset``.
        batch_size: samples per batch. Defaults to ``1``.
        shuffle: a new random order every epoch (from ``seed``). Defaults to ``False``.
        sampler: yields the indices of an epoch (e.g. ``DistributedSampler``); excludes ``shuffle``.
        batch_sampler: yields lists of indices, one list per batch; excludes ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``.
        num_workers: accepted for PyTorch code; any value > 0 turns on the background prefetch
            thread (gradkit loads in one thread, not in worker processes).
        collate_fn: list of samples -> batch; giving one selects the item-by-item path.
            Defaults to ``default_collate``.
        pin_memory: accepted for PyTorch code; no effect on NumPy arrays.
        drop_last: drop the last, short batch. Defaults to ``False``.
        seed: the seed of shuffling and of random transforms. ``None`` draws one from gradkit's
            global generator (so ``gradkit.manual_seed`` fixes it).
        prefetch: batches prepared ahead in a background thread; ``0`` (default) uses no thread.
        as_numpy: yield NumPy arrays instead of gradkit Tensors. Defaults to ``False``: numeric
            arrays become ``gradkit.tensor``s (copies); strings stay lists / object arrays.

    Each ``iter(loader)`` starts the next epoch; ``state_dict()`` says where the run stands and
    ``load_state_dict()`` on a fresh loader (same dataset and arguments) continues from there.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, seed=None,
                 prefetch=0, as_numpy=False):
        self.dataset = dataset
        self.num_workers = _positive_int(num_workers, "num_workers", allow_zero=True)
        self.prefetch = _positive_int(prefetch, "prefetch", allow_zero=True)
        if self.num_workers and not self.prefetch:
            self.prefetch = 2 * self.num_workers
        self.pin_memory, self.as_numpy = pin_memory, as_numpy
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.seed = check_seed(seed, "DataLoader")
        self.batch_sampler = batch_sampler
        self.is_iterable = isinstance(dataset, IterableDataset)
        self._own_sampler = False

        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler and drop_last")
            batch_size, drop_last = None, False
        else:
            batch_size = _positive_int(batch_size, "batch_size")
        self.batch_size, self.drop_last = batch_size, drop_last

        if self.is_iterable:
            if shuffle or sampler is not None or batch_sampler is not None:
                raise ValueError(
                    "DataLoader: an IterableDataset has no indices, so shuffle, sampler and "
                    "batch_sampler do not apply; shuffle inside its __iter__ instead"
                )
            self.sampler = None
            n = len(dataset) if hasattr(dataset, "__len__") else None
        else:
            if shuffle and sampler is not None:
                raise ValueError("DataLoader: shuffle=True and a sampler are mutually exclusive; the sampler sets the order")
            if sampler is None and batch_sampler is None and not hasattr(dataset, "__len__"):
                raise TypeError(f"DataLoader: {type(dataset).__name__} has no __len__; define it or pass a sampler")
            self._own_sampler = sampler is None and batch_sampler is None
            if self._own_sampler:
                sampler = RandomSampler(dataset, seed=self.seed) if shuffle else SequentialSampler(dataset)
            self.sampler = sampler
            n = len(sampler) if sampler is not None else None
        self._check_size(n)

        self._get_batch = None if (self.is_iterable or collate_fn is not None) else batch_fetcher(dataset)
        self._next_epoch, self._start_batch, self._pos = 0, 0, None

    def _check_size(self, n):
        if self.batch_sampler is not None and hasattr(self.batch_sampler, "__len__") and len(self.batch_sampler) == 0:
            raise ValueError("DataLoader: the batch_sampler yields 0 batches, so there is nothing to iterate")
        if n is None:
            return
        what = "sampler" if self.sampler is not None and not self._own_sampler else "dataset"
        if n == 0:
            raise ValueError(
                f"DataLoader: the {what} is empty (0 samples), so there is nothing to iterate; check "
                f"the file, split or filter that built {type(self.dataset).__name__}"
            )
        if self.drop_last and self.batch_size > n:
            raise ValueError(
                f"DataLoader: batch_size={self.batch_size} is larger than the {what} ({n} samples) and "
                f"drop_last=True, so every epoch would have 0 batches; lower batch_size or set drop_last=False"
            )

    # === len / iteration ==========================================================================

    def __len__(self):
        """Batches per epoch."""
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _num_batches(self):
        try:
            return len(self)
        except TypeError:  # an IterableDataset without __len__
            return None

    def _sampler_state(self):
        sd = getattr(self.sampler, "state_dict", None)
        return sd() if callable(sd) else None

    def _epoch_batches(self):
        """This epoch's batches of indices, drawn now from the sampler (in the calling thread)."""
        if self.batch_sampler is not None:
            return [np.asarray(b, dtype=np.int64) for b in self.batch_sampler]
        if hasattr(self.sampler, "index_array"):
            order = np.asarray(self.sampler.index_array(), dtype=np.int64)
        else:
            order = np.fromiter((int(i) for i in self.sampler), dtype=np.int64)
        return list(index_batches([order], self.batch_size, self.drop_last))

    def _map_batches(self, epoch, batches, start):
        get_batch, collate, dataset = self._get_batch, self.collate_fn, self.dataset
        for k in range(start, len(batches)):
            if get_batch is not None:
                yield get_batch(batches[k], seeded_generator(self.seed, AUGMENT, epoch, k))
            else:
                yield collate([dataset[i] for i in batches[k].tolist()])

    def _stream_batches(self, start):
        it, k, seen = iter(self.dataset), 0, 0
        while True:
            chunk = list(itertools.islice(it, self.batch_size))
            seen += len(chunk)
            if not chunk or (self.drop_last and len(chunk) < self.batch_size):
                break
            if k >= start:
                yield self.collate_fn(chunk)
            k += 1
        if k == 0:
            raise ValueError(
                f"DataLoader: the IterableDataset yielded {seen} samples, "
                + ("so there is nothing to iterate" if seen == 0 else
                   f"fewer than batch_size={self.batch_size} with drop_last=True: 0 batches")
            )

    def __iter__(self):
        tensor = None if self.as_numpy else _tensor
        epoch, start = self._next_epoch, self._start_batch
        self._next_epoch, self._start_batch = epoch + 1, 0
        pos = _Position(epoch, start, self._sampler_state())
        if self.is_iterable:
            source = self._stream_batches(start)
        else:
            source = self._map_batches(epoch, self._epoch_batches(), start)
        if self.prefetch:
            source = _Prefetcher(source, self.prefetch)
        self._pos = pos
        return _LoaderIterator(pos, source, self._num_batches(), tensor)

    # === state_dict / load_state_dict ================================================================

    def state_dict(self):
        """Where the run stands, as a JSON-able dict: ``{"epoch", "batch", "seed", "sampler"}``.

        ``batch`` counts the batches already handed out in ``epoch``: saved inside the training
        loop after b batches, a resumed loader hands out batch index b (the (b+1)-th) next.
        After a full epoch it is the next epoch, batch 0.
        """
        pos = self._pos
        if pos is not None and not pos.done:
            total = self._num_batches()
            if total is None or pos.batch < total:
                return {"epoch": pos.epoch, "batch": pos.batch, "seed": self.seed, "sampler": pos.sampler_state}
            return {"epoch": pos.epoch + 1, "batch": 0, "seed": self.seed, "sampler": self._sampler_state()}
        return {"epoch": self._next_epoch, "batch": self._start_batch, "seed": self.seed,
                "sampler": self._sampler_state()}

    def load_state_dict(self, state):
        """Continue from ``state``: the next ``iter()`` yields batch ``state["batch"]`` of epoch
        ``state["epoch"]``, exactly as the run that saved it would have."""
        missing = {"epoch", "batch", "seed"} - set(state)
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: state is missing {sorted(missing)}; pass what state_dict() returned")
        self.seed = check_seed(state["seed"], "DataLoader.load_state_dict")
        if isinstance(self.sampler, RandomSampler) and state.get("sampler") is None:
            self.sampler.seed = self.seed
        if state.get("sampler") is not None and hasattr(self.sampler, "load_state_dict"):
            self.sampler.load_state_dict(state["sampler"])
        self._next_epoch, self._start_batch = int(state["epoch"]), int(state["batch"])
        total = self._num_batches()
        if self._start_batch < 0 or (total is not None and self._start_batch > total):
            raise ValueError(f"DataLoader.load_state_dict: batch={self._start_batch} is outside [0, {total}] for this loader")
        self._pos = None


class _Position:
    __slots__ = ("epoch", "batch", "sampler_state", "done")

    def __init__(self, epoch, batch, sampler_state):
        self.epoch, self.batch, self.sampler_state, self.done = epoch, batch, sampler_state, False


def _to_tensors(batch, tensor):
    if isinstance(batch, np.ndarray):
        return tensor(batch) if batch.dtype.kind in "biuf" else batch
    if isinstance(batch, tuple):
        items = [_to_tensors(b, tensor) for b in batch]
        return type(batch)(*items) if hasattr(batch, "_fields") else tuple(items)
    if isinstance(batch, list):
        return [_to_tensors(b, tensor) for b in batch]
    if isinstance(batch, dict):
        return {k: _to_tensors(v, tensor) for k, v in batch.items()}
    return batch


class _LoaderIterator:
    """One epoch's iterator; counts the batches handed out (for ``state_dict``)."""

    def __init__(self, pos, source, total, tensor):
        self._pos, self._source, self._total, self._tensor = pos, source, total, tensor

    def __iter__(self):
        return self

    def __len__(self):
        return self._total - self._pos.batch

    def __next__(self):
        try:
            batch = next(self._source)
        except StopIteration:
            self._pos.done = True
            raise
        self._pos.batch += 1
        return batch if self._tensor is None else _to_tensors(batch, self._tensor)

    def close(self):
        if isinstance(self._source, _Prefetcher):
            self._source.close()

    def __del__(self):
        self.close()


class _Prefetcher:
    """Runs ``source`` (a generator of batches) in a daemon thread, ``depth`` batches ahead.

    Exceptions raised while loading reach the consumer at the batch where they happened. The
    thread stops when the epoch ends or the iterator is closed / garbage-collected.
    """

    def __init__(self, source, depth):
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), name="gradkit-prefetch", daemon=True)
        self._thread.start()

    def _put(self, message):
        while not self._stop.is_set():
            try:
                self._queue.put(message, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def _run(self, source):
        try:
            for batch in source:
                if not self._put(("batch", batch)):
                    return
            self._put(("end", None))
        except BaseException as error:  # handed to the consumer, re-raised there
            self._put(("error", error))

    def __iter__(self):
        return self

    def __next__(self):
        if self._stop.is_set() and self._queue.empty():
            raise StopIteration
        kind, value = self._queue.get()
        if kind == "batch":
            return value
        self.close()
        if kind == "end":
            raise StopIteration
        raise value

    def close(self):
        self._stop.set()
