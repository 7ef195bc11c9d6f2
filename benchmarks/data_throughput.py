"""Loader throughput: one epoch of Fashion-MNIST train (60,000 x 784, batch 128, shuffled, normalised).

    python benchmarks/data_throughput.py [--epochs 5] [--batch-size 128]

Prints the median seconds per epoch (loader time only: the loop body does nothing) for gradkit's
fast path with and without the prefetch thread, yielding NumPy arrays or gradkit Tensors, with
augmentation, the item-by-item path for comparison, and PyTorch's DataLoader on the same arrays
when torch is installed. The issue's target is < 1 s per epoch for the first line.

The data comes from the usual search (GRADKIT_DATA, ~/.cache/gradkit, Debian's
/usr/share/datasets/fashion-mnist); set GRADKIT_DATA=../shared/data from a repository clone.
"""
import argparse
import statistics
import time

import numpy as np

from gradkit.data import (Compose, DataLoader, Dataset, Normalize, RandomCrop, RandomHorizontalFlip,
                          TensorDataset, ToFloat)
from gradkit.datasets import fashion_mnist

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST train pixel statistics


class ItemByItem(Dataset):
    """The same data behind a plain __getitem__: forces default_collate, sample by sample."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return ((self.x[i] / np.float32(255) - MEAN) / STD).astype(np.float32), self.y[i]


def epoch_seconds(loader, epochs):
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        n = 0
        for x, _ in loader:
            n += len(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times), n


def torch_seconds(x, y, batch_size, epochs):
    try:
        import torch
        from torch.utils.data import DataLoader as TorchLoader, TensorDataset as TorchDataset
    except ImportError:
        return None
    ds = TorchDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = TorchLoader(ds, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for xb, _ in loader:
            xb = (xb.float() / 255 - MEAN) / STD
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()

    start = time.perf_counter()
    images, labels = fashion_mnist("train")
    print(f"fashion_mnist('train'): {images.shape} {images.dtype}, read and MD5-verified in "
          f"{time.perf_counter() - start:.2f} s")
    flat = images.reshape(-1, 784)
    normalise = Compose([ToFloat(), Normalize(MEAN, STD)])
    augment = Compose([RandomCrop(28, padding=2), RandomHorizontalFlip(), ToFloat(), Normalize(MEAN, STD)])
    B, E = args.batch_size, args.epochs

    rows = [
        ("fast path, NumPy arrays", DataLoader(TensorDataset(flat, labels, transform=normalise), B, shuffle=True, seed=0, as_numpy=True)),
        ("fast path, NumPy, prefetch=2", DataLoader(TensorDataset(flat, labels, transform=normalise), B, shuffle=True, seed=0, as_numpy=True, prefetch=2)),
        ("fast path, gradkit Tensors", DataLoader(TensorDataset(flat, labels, transform=normalise), B, shuffle=True, seed=0)),
        ("fast path + crop/flip (N,1,28,28)", DataLoader(TensorDataset(images[:, None], labels, transform=augment), B, shuffle=True, seed=0, as_numpy=True)),
        ("item by item + default_collate", DataLoader(ItemByItem(flat, labels), B, shuffle=True, seed=0, as_numpy=True)),
    ]
    print(f"\none epoch, batch {B}, shuffled, normalised; median of {E} epochs")
    for name, loader in rows:
        seconds, n = epoch_seconds(loader, E if "item" not in name else 1)
        print(f"  {name:<36} {seconds:7.3f} s   ({n / seconds:,.0f} samples/s, {len(loader)} batches)")
    t = torch_seconds(flat, labels.astype(np.int64), B, min(E, 2))
    if t is not None:
        print(f"  {'PyTorch DataLoader (TensorDataset)':<36} {t:7.3f} s   ({len(flat) / t:,.0f} samples/s)")


if __name__ == "__main__":
    main()
