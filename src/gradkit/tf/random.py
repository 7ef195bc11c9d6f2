"""``tf.random``: the global seed and random tensors, drawn from gradkit's one generator.

``set_seed(s)`` is ``gradkit.manual_seed(s)``: it makes weight initialisers, dropout, random
tensors and ``tf.data`` shuffles (whose seed, when not given, is drawn from that generator)
reproducible. An op-level ``seed=`` gives that call site its own sequence, as TensorFlow does:
two calls with ``seed=1`` differ, and rerunning the program repeats both.
"""
import numpy as np

from .. import _internal, backend
from ..random import get_generator, manual_seed
from ..tensor import Tensor
from ._names import unsupported

__all__ = ["set_seed", "normal", "uniform", "shuffle"]

_op_generators = {}  # op seed -> its generator, until the next set_seed
_global_seed = [0]   # the last set_seed (op-level seeds combine with it)


def set_seed(seed):
    """Seed everything random in gradkit (``gradkit.manual_seed``)."""
    manual_seed(int(seed))
    _global_seed[0] = int(seed)
    _op_generators.clear()


def _generator(seed):
    if seed is None:
        return get_generator()
    g = _op_generators.get(seed)
    if g is None:
        g = _op_generators[seed] = np.random.default_rng([_global_seed[0], int(seed)])
    return g


def _shape(shape):
    if isinstance(shape, Tensor):
        shape = shape.array.tolist()
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=backend.float32, seed=None, name=None):
    """Samples of N(mean, stddev²) with the given shape; float32 by default."""
    dtype = backend.to_dtype(dtype)
    return _internal.wrap(_generator(seed).normal(mean, stddev, _shape(shape)).astype(dtype))


def uniform(shape, minval=0, maxval=None, dtype=backend.float32, seed=None, name=None):
    """Samples of U[minval, maxval) (maxval defaults to 1 for floats; required for integers)."""
    dtype = backend.to_dtype(dtype)
    g = _generator(seed)
    if dtype.kind in "iu":
        if maxval is None:
            raise ValueError("uniform: an integer dtype needs maxval (e.g. uniform(shape, 0, 10, "
                             "dtype=tf.int32))")
        return _internal.wrap(g.integers(minval, maxval, _shape(shape)).astype(dtype))
    maxval = 1.0 if maxval is None else maxval
    return _internal.wrap(g.uniform(minval, maxval, _shape(shape)).astype(dtype))


def shuffle(value, seed=None, name=None):
    """A copy of ``value`` with its first axis randomly permuted."""
    from .tensors import to_array

    arr = to_array(value, where="shuffle")
    return _internal.wrap(arr[_generator(seed).permutation(len(arr))])


__getattr__ = unsupported(__name__, __all__)
