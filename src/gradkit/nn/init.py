"""Weight initialisation, in place.

The formulas are PyTorch's, so a layer's default initialisation has the same distribution:
``Linear`` and ``Conv`` draw weights from kaiming_uniform_(a=√5), i.e. U(-1/√fan_in, 1/√fan_in).

The random ones draw from the global generator (``gk.manual_seed``), or, as PyTorch's, from
``generator=`` when one is given: a NumPy ``Generator``, which is then the only one advanced::

    init.xavier_uniform_(w, generator=np.random.default_rng(0))   # = the draws of that generator
"""
import contextlib
import functools
import math

import numpy as np

from .. import _internal
from .. import random as _random

_skip = [False]  # set while nn.utils.skip_init builds a module


@contextlib.contextmanager
def skipped():
    """Within this block every initialiser leaves its tensor as it is (uninitialised memory).
    For modules whose weights are about to be loaded: it saves the time of drawing them and
    the memory of the draws (an ``np.empty`` array takes no RAM until written)."""
    old = _skip[0]
    _skip[0] = True
    try:
        yield
    finally:
        _skip[0] = old


def is_skipping():
    """True within a ``skipped()`` block: the weights being made are about to be loaded, so
    other initialisers (Keras layers') skip their draws too."""
    return _skip[0]


def _skippable(init):
    @functools.wraps(init)
    def wrapper(tensor, *args, **kwargs):
        if _skip[0]:
            return tensor
        return init(tensor, *args, **kwargs)
    return wrapper


def _fill(tensor, values):
    tensor.array[...] = values
    _internal.bump_version(tensor)
    return tensor


def _rng(generator, fn):
    """The generator ``fn`` draws from: ``generator`` if given, else the global one."""
    if generator is None:
        return _random.get_generator()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{fn}: generator must be a numpy Generator (np.random.default_rng(seed)), "
                        f"got {type(generator).__name__}")
    return generator


def calculate_gain(nonlinearity, param=None):
    """The std multiplier that keeps activations' variance stable through ``nonlinearity``."""
    linear = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid"}
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions (shape {tensor.shape})")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


@_skippable
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    return _fill(tensor, _rng(generator, "uniform_").uniform(a, b, tensor.shape))


@_skippable
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    return _fill(tensor, _rng(generator, "normal_").normal(mean, std, tensor.shape))


@_skippable
def constant_(tensor, val):
    return _fill(tensor, val)


@_skippable
def zeros_(tensor):
    return _fill(tensor, 0)


@_skippable
def ones_(tensor):
    return _fill(tensor, 1)


@_skippable
def eye_(tensor):
    if tensor.ndim != 2:
        raise ValueError("eye_: only 2-D tensors are supported")
    return _fill(tensor, np.eye(*tensor.shape))


@_skippable
def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a), a = gain √(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


@_skippable
def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std²), std = gain √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


@_skippable
def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-b, b), b = gain √(3 / fan) (He et al., 2015)."""
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


@_skippable
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std²), std = gain / √fan."""
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(_fan(tensor, mode)), generator)


@_skippable
def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al., 2013)."""
    if tensor.ndim < 2:
        raise ValueError("orthogonal_: only tensors with 2 or more dimensions are supported")
    rows = tensor.shape[0]
    cols = tensor.array.size // rows
    flat = _rng(generator, "orthogonal_").standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


@_skippable
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std²) truncated to [a, b] (absolute bounds, as PyTorch), by rejection."""
    g = _rng(generator, "trunc_normal_")
    out = g.normal(mean, std, tensor.array.size)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = g.normal(mean, std, int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, out.reshape(tensor.shape))
