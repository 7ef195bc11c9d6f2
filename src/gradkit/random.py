"""The one global random generator. ``manual_seed(s)`` makes every random factory, dropout mask
and initialiser reproducible."""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed the global generator; returns it (like torch.manual_seed)."""
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


seed = manual_seed


def get_generator():
    return _generator


def get_rng_state():
    """The generator's state as a plain dict (JSON-able): save it with a checkpoint."""
    return _generator.bit_generator.state


def set_rng_state(state):
    _generator.bit_generator.state = state
