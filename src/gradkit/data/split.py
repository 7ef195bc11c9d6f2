"""Splitting data into train / validation / test.

    random_split(dataset, lengths, generator)     Subsets of a dataset (PyTorch's function)
    train_test_split(*arrays, test_size, stratify, seed)
                                                  arrays split in two (scikit-learn's function),
                                                  optionally keeping class proportions
"""
import math

import numpy as np

from .. import _internal
from .checks import check_same_length
from .dataset import Subset
from ._random import as_generator

__all__ = ["random_split", "train_test_split"]


def _split_lengths(lengths, n, where):
    """Integer lengths from ``lengths`` (ints summing to n, or fractions summing to 1)."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError(f"{where}: lengths is empty")
    if any(x < 0 for x in lengths):
        raise ValueError(f"{where}: lengths must be non-negative; got {lengths}")
    # PyTorch's rule: lengths that sum to 1 and are each <= 1 are fractions, anything else counts
    if math.isclose(sum(lengths), 1.0, abs_tol=1e-6) and all(x <= 1 for x in lengths):
        counts = [int(math.floor(n * f)) for f in lengths]
        # the remainder goes round-robin from the first split, as PyTorch does
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        return counts
    if any(not float(x).is_integer() for x in lengths):
        raise ValueError(
            f"{where}: lengths must be ints summing to {n} or fractions summing to 1; got {lengths} "
            f"(sum {sum(lengths)})"
        )
    counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError(f"{where}: lengths {counts} sum to {sum(counts)}, but the dataset has {n} samples")
    return counts


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping ``Subset``s of the given lengths, at random.

    ``lengths``: ints summing to ``len(dataset)``, or fractions summing to 1 (rounded down, the
    remainder given one by one to the first splits). ``generator``: an int seed, a
    ``np.random.Generator``, or ``None`` for gradkit's global generator.

    >>> train, val = random_split(ds, [0.9, 0.1], generator=0)
    """
    n = len(dataset)
    counts = _split_lengths(lengths, n, "random_split")
    perm = as_generator(generator, "random_split").permutation(n)
    offsets = np.cumsum([0] + counts)
    return [Subset(dataset, perm[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]


def _count(size, n, name, default):
    if size is None:
        return default
    if isinstance(size, (float, np.floating)):
        if not 0 < size < 1:
            raise ValueError(f"train_test_split: {name}={size} as a fraction must be in (0, 1)")
        return size
    if not 0 < size < n:
        raise ValueError(f"train_test_split: {name}={size} as a count must be in [1, {n - 1}] for {n} samples")
    return int(size)


def _allocate(counts, total):
    """Split ``total`` across classes in proportion to ``counts`` (largest remainder; ties to the
    earlier class). Returns ints summing to ``total``."""
    exact = counts * (total / counts.sum())
    out = np.floor(exact).astype(np.int64)
    rest = int(total - out.sum())
    if rest:
        out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return out


def _take(a, idx):
    if isinstance(a, np.ndarray):
        return a[idx]
    if hasattr(a, "numpy") and not isinstance(a, (list, tuple)):  # a tensor
        return _internal.as_array(a)[idx]
    return [a[i] for i in idx.tolist()]


def train_test_split(*arrays, test_size=None, train_size=None, shuffle=True, stratify=None, seed=None):
    """Split equal-length arrays into train and test parts: ``x_tr, x_te, y_tr, y_te = ...``.

    ``test_size``/``train_size``: a fraction in (0, 1) or a count; with neither, test is 25%.
    The test count is rounded up and the train count down, as scikit-learn does.
    ``stratify``: labels (N,) whose class proportions both parts keep (each class needs at least
    2 samples); requires ``shuffle=True``. ``seed``: int, ``np.random.Generator`` or ``None``
    (gradkit's global generator). Lists are split into lists, arrays into arrays.
    """
    if not arrays:
        raise ValueError("train_test_split: give at least one array")
    names = [f"arrays[{i}]" for i in range(len(arrays))]
    n = check_same_length(*arrays, names=names, where="train_test_split")
    if n < 2:
        raise ValueError(f"train_test_split: need at least 2 samples to split; got {n}")
    test = _count(test_size, n, "test_size", None)
    train = _count(train_size, n, "train_size", None)
    if test is None and train is None:
        test = 0.25
    n_test = math.ceil(test * n) if isinstance(test, float) else test
    n_train = math.floor(train * n) if isinstance(train, float) else train
    if n_test is None:
        n_test = n - n_train
    if n_train is None:
        n_train = n - n_test
    if n_train < 1 or n_test < 1 or n_train + n_test > n:
        raise ValueError(f"train_test_split: {n_train} train + {n_test} test samples do not fit in {n} (each part needs >= 1)")
    rng = as_generator(seed, "train_test_split")

    if stratify is None:
        if shuffle:
            perm = rng.permutation(n)
            test_idx, train_idx = perm[:n_test], perm[n_test:n_test + n_train]
        else:
            train_idx, test_idx = np.arange(n_train), np.arange(n_train, n_train + n_test)
    else:
        if not shuffle:
            raise ValueError("train_test_split: stratify needs shuffle=True (a stratified split picks samples at random within each class)")
        labels = _take(stratify, np.arange(n)) if not isinstance(stratify, np.ndarray) else stratify
        classes, y = np.unique(np.asarray(labels), return_inverse=True)
        if len(y) != n:
            raise ValueError(f"train_test_split: stratify has {len(y)} labels for {n} samples")
        counts = np.bincount(y)
        if counts.min() < 2:
            k = int(np.argmin(counts))
            raise ValueError(
                f"train_test_split: class {classes[k].item()!r} has only {counts[k]} sample; stratifying "
                f"needs at least 2 per class so that both parts can hold it"
            )
        if n_test < len(classes) or n_train < len(classes):
            raise ValueError(
                f"train_test_split: {len(classes)} classes do not fit in {n_train} train / {n_test} "
                f"test samples; each part needs at least one sample per class"
            )
        test_per = _allocate(counts, n_test)
        train_per = _allocate(counts - test_per, n_train) if n_train < n - n_test else counts - test_per
        by_class = np.split(np.argsort(y, kind="stable"), np.cumsum(counts)[:-1])
        test_parts, train_parts = [], []
        for members, t, r in zip(by_class, test_per, train_per):
            members = rng.permutation(members)
            test_parts.append(members[:t])
            train_parts.append(members[t:t + r])
        train_idx = rng.permutation(np.concatenate(train_parts))
        test_idx = rng.permutation(np.concatenate(test_parts))

    out = []
    for a in arrays:
        out += [_take(a, train_idx), _take(a, test_idx)]
    return out
