"""One epoch of Fashion-MNIST train through the loader: fast, complete, normalised.

The target is < 1 s on this machine (benchmarks/data_throughput.py prints the figure); the test
asserts a generous 5 s so that a busy CI machine does not flake.
"""
import time

import numpy as np

from gradkit.data import Compose, DataLoader, Normalize, TensorDataset, ToFloat


def test_one_fashion_mnist_epoch_is_fast(fashion_train):
    images, labels = fashion_train
    ds = TensorDataset(images.reshape(-1, 784), labels, transform=Compose([ToFloat(), Normalize(0.2860, 0.3530)]))
    loader = DataLoader(ds, batch_size=128, shuffle=True, seed=0, as_numpy=True)
    start = time.perf_counter()
    count, total, seen = 0, 0.0, np.zeros(10, np.int64)
    for x, y in loader:
        count += len(x)
        total += float(x.sum(dtype=np.float64))
        seen += np.bincount(y, minlength=10)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"one epoch took {elapsed:.2f} s"
    assert len(loader) == 469 and count == 60_000
    assert x.dtype == np.float32 and x.shape == (60_000 - 468 * 128, 784)
    assert seen.tolist() == [6000] * 10
    # Fashion-MNIST's train pixel mean is 0.2860 (std 0.3530): normalised, the epoch mean is ~0
    assert abs(total / (60_000 * 784)) < 1e-3
