"""Tiny generated 2-D classification sets for a first tutorial: no file at all."""
import numpy as np

from ..data import check_seed
from ._common import arrays_or_dataset

__all__ = ["two_moons", "spirals"]


def two_moons(n_samples=200, noise=0.1, seed=0, as_dataset=False):
    """Two interleaving half circles (scikit-learn's ``make_moons``): not linearly separable.

    Returns ``(x, y)``: float32 ``(n_samples, 2)`` and int64 ``(n_samples,)`` in {0, 1}, the
    upper moon (centre (0, 0), radius 1) being class 0 and the lower one (centre (1, 0.5)) class 1;
    ``ceil(n/2)`` / ``floor(n/2)`` points, Gaussian ``noise`` (std) added, rows shuffled.
    """
    seed = check_seed(seed, "two_moons")
    if n_samples < 2:
        raise ValueError(f"two_moons: n_samples must be >= 2; got {n_samples}")
    rng = np.random.default_rng(seed)
    n_out = (n_samples + 1) // 2
    n_in = n_samples - n_out
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    x += rng.normal(0, noise, x.shape)
    perm = rng.permutation(n_samples)
    return arrays_or_dataset((x[perm].astype(np.float32), y[perm]), as_dataset)


def spirals(n_samples=300, n_classes=3, noise=0.2, seed=0, as_dataset=False):
    """``n_classes`` interleaved spiral arms (the CS231n toy set): a small MLP's first test.

    Class k has ``n_samples // n_classes`` points at radius ``r`` in [0, 1] and angle
    ``4k + 4r`` (+ Gaussian ``noise`` on the angle), so the arms wind around each other. Returns
    ``(x, y)``: float32 ``(N, 2)``, int64 ``(N,)`` in 0..n_classes-1, N = n_classes * (n_samples
    // n_classes), rows shuffled.
    """
    seed = check_seed(seed, "spirals")
    per = n_samples // n_classes
    if n_classes < 2 or per < 1:
        raise ValueError(f"spirals: need n_classes >= 2 and n_samples >= n_classes; got {n_samples}, {n_classes}")
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.0, 1.0, per), n_classes)
    y = np.repeat(np.arange(n_classes, dtype=np.int64), per)
    t = 4 * y + 4 * r + rng.normal(0, noise, r.shape)
    x = np.stack([r * np.sin(t), r * np.cos(t)], 1)
    perm = rng.permutation(len(y))
    return arrays_or_dataset((x[perm].astype(np.float32), y[perm]), as_dataset)
