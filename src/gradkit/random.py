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


class Generator(np.random.Generator):
    """A generator of its own, as ``torch.Generator``: ``g = gk.Generator().manual_seed(0)``, then
    ``gk.randn(3, generator=g)``. It is a NumPy Generator, so it goes wherever one does."""

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % 2**63)
        super().__init__(np.random.PCG64(self._seed))
        self.device = device

    def manual_seed(self, seed):
        self._seed = int(seed)
        self.bit_generator.state = np.random.PCG64(self._seed).state
        return self

    def seed(self):
        return self.manual_seed(np.random.SeedSequence().entropy % 2**63)._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self.bit_generator.state

    def set_state(self, state):
        self.bit_generator.state = state
        return self
