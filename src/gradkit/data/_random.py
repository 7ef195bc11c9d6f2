"""Where the data pipeline's randomness comes from.

Every random choice in gradkit.data (shuffle order, split, augmentation) is drawn from a NumPy
generator derived from an integer seed and the coordinates of the choice, e.g.
``seeded_generator(seed, SHUFFLE, epoch)`` or ``seeded_generator(seed, AUGMENT, epoch, batch)``.
The numbers for epoch e, batch b therefore do not depend on what ran before them: the same seed
gives the same batches with or without a prefetch thread, and a run resumed at (e, b) sees what an
uninterrupted run would have seen. A seed left as ``None`` is drawn once from gradkit's global
generator, so ``gradkit.manual_seed(0)`` makes it reproducible too.

``check_seed`` and ``seeded_generator`` are public (``gradkit.data.check_seed``,
``gradkit.data.seeded_generator``): packages above gradkit.data use those names, not this module.
"""
import numpy as np

from ..random import get_generator

__all__ = ["check_seed", "seeded_generator"]

# Stream tags: the first key after the seed, so that shuffling and augmentation never share numbers.
SHUFFLE, AUGMENT, SPLIT = 0, 1, 2


def global_generator():
    """gradkit's global generator (``gradkit.manual_seed`` reseeds it)."""
    return get_generator()


def fresh_seed():
    """A new non-negative seed drawn from gradkit's global generator."""
    return int(global_generator().integers(0, 2**63 - 1))


def check_seed(seed, where):
    """``seed`` as a non-negative int; ``None`` draws one from gradkit's global generator (so
    ``gradkit.manual_seed`` fixes it). Raises TypeError/ValueError naming ``where`` otherwise.

    >>> check_seed(7, "my_loader")      # 7
    """
    if seed is None:
        return fresh_seed()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{where}: seed must be a non-negative int or None; got {seed!r}")
    if seed < 0:
        raise ValueError(f"{where}: seed must be non-negative; got {seed}")
    return int(seed)


def seeded_generator(seed, *keys):
    """A ``np.random.Generator`` that depends only on ``seed`` and ``keys`` (non-negative ints).

    >>> seeded_generator(0, 3).random() == seeded_generator(0, 3).random()   # True
    """
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def as_generator(generator, where):
    """None -> gradkit's global generator; int -> a fresh seeded one; a Generator is used as is."""
    if generator is None:
        return global_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    return np.random.default_rng(check_seed(generator, where))
