"""Keras weight initialisers, drawn through ``nn.init``.

An initialiser is called with a shape in KERAS layout and returns an array of that shape:
a Dense kernel is (in, units), a Conv2D kernel (kh, kw, in, out). The fans follow Keras::

    fan_in, fan_out = shape                     for a 2-D kernel
    fan_in  = shape[-2] · prod(shape[:-2])      for a conv kernel (receptive field · channels)
    fan_out = shape[-1] · prod(shape[:-2])

and the variance-scaling rule gives every named initialiser (n = fan_in, fan_out or their mean)::

    uniform            U(-limit, limit),   limit = √(3 · scale / n)
    truncated_normal   N(0, σ²) cut at ±2σ, σ = √(scale / n) / 0.8796...  (the cut's std)
    untruncated_normal N(0, σ²),          σ = √(scale / n)

    glorot_uniform = (1, fan_avg, uniform)      he_normal    = (2, fan_in, truncated_normal)
    glorot_normal  = (1, fan_avg, trunc.)       he_uniform   = (2, fan_in, uniform)
    lecun_normal   = (1, fan_in, trunc.)        lecun_uniform = (1, fan_in, uniform)

Keras layers default to ``glorot_uniform`` kernels and ``zeros`` biases (PyTorch's layers use
kaiming_uniform(a=√5) for both). Without a seed an initialiser draws from gradkit's global
generator (``keras.utils.set_random_seed``); a ``seed=`` makes it draw the same values at every
call, from a generator of its own (``nn.init``'s ``generator=``), leaving the global one as it was.
"""
import math

import numpy as np

from ..nn import init as nn_init
from ..tensor import Tensor
from .registry import deserialize_object, serialize_object
from .backend import floatx, snake_case

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal",
           "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal", "Identity", "get",
           "serialize", "deserialize", "compute_fans"]


def compute_fans(shape):
    """(fan_in, fan_out) of a weight of ``shape`` in Keras layout."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _empty(shape, dtype):
    return Tensor(np.empty(tuple(shape), dtype=np.dtype(dtype or floatx())))


class Initializer:
    """Base class: ``init(shape, dtype=None) -> np.ndarray`` in Keras layout. A subclass writes
    ``_fill(t, generator)``: fill the Tensor ``t`` with nn.init, passing ``generator`` on (None,
    the global generator, unless the initialiser has a seed)."""

    seed = None

    def __call__(self, shape, dtype=None):
        t = _empty(shape, dtype)
        self._fill(t, None if self.seed is None else np.random.default_rng(int(self.seed)))
        return t.array

    def _fill(self, t, generator):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def _fill(self, t, generator):
        nn_init.zeros_(t)


class Ones(Initializer):
    def _fill(self, t, generator):
        nn_init.ones_(t)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def _fill(self, t, generator):
        nn_init.constant_(t, self.value)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """N(mean, stddev²). Defaults: ``mean=0.0``, ``stddev=0.05``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def _fill(self, t, generator):
        nn_init.normal_(t, self.mean, self.stddev, generator)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """U(minval, maxval). Defaults: ``minval=-0.05``, ``maxval=0.05``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def _fill(self, t, generator):
        nn_init.uniform_(t, self.minval, self.maxval, generator)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    """N(mean, stddev²), values beyond 2 stddev redrawn. Defaults: ``mean=0.0``, ``stddev=0.05``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def _fill(self, t, generator):
        nn_init.trunc_normal_(t, self.mean, self.stddev, self.mean - 2 * self.stddev,
                              self.mean + 2 * self.stddev, generator)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """The rule in this module's docstring. Defaults: ``scale=1.0``, ``mode='fan_in'``,
    ``distribution='truncated_normal'``."""

    _TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) cut at ±2

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', "
                             f"got {mode!r}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError("VarianceScaling: distribution must be 'uniform', "
                             f"'truncated_normal' or 'untruncated_normal', got {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def _fill(self, t, generator):
        fan_in, fan_out = compute_fans(t.shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        v = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * v)
            nn_init.uniform_(t, -limit, limit, generator)
        elif self.distribution == "untruncated_normal":
            nn_init.normal_(t, 0.0, math.sqrt(v), generator)
        else:
            std = math.sqrt(v) / self._TRUNCATED_STD
            nn_init.trunc_normal_(t, 0.0, std, -2 * std, 2 * std, generator)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _named_scaling(name, scale, mode, distribution):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    doc = f"VarianceScaling(scale={scale}, mode='{mode}', distribution='{distribution}')."
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc})


GlorotUniform = _named_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _named_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _named_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _named_scaling("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _named_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _named_scaling("LecunUniform", 1.0, "fan_in", "uniform")
for _cls in (GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform):
    _cls.__module__ = __name__


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain`` (QR of a Gaussian matrix); a kernel of more
    than 2 dims is flattened to (prod(shape[:-1]), shape[-1]) as Keras does."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def _fill(self, t, generator):
        flat = Tensor(np.empty((int(np.prod(t.shape[:-1])), t.shape[-1]), t.dtype))
        nn_init.orthogonal_(flat, self.gain, generator)
        t.array[...] = flat.array.reshape(t.shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def _fill(self, t, generator):
        nn_init.eye_(t)
        t.array *= self.gain

    def get_config(self):
        return {"gain": self.gain}


# === lookup ==================================================================================
_CLASSES = (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
            LecunUniform, Orthogonal, Identity)
_BY_NAME = {snake_case(c.__name__): c for c in _CLASSES}
_BY_NAME.update({c.__name__: c for c in _CLASSES})
_BY_NAME.update({"zeros": Zeros, "ones": Ones, "uniform": RandomUniform,
                 "normal": RandomNormal, "identity": Identity, "orthogonal": Orthogonal})
_ALIASES = {"zero": "zeros", "one": "ones"}


def get(identifier):
    """A name ('glorot_uniform', 'he_normal', 'zeros', ...), a config dict, an Initializer or
    any callable ``(shape, dtype) -> array``."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = _BY_NAME.get(_ALIASES.get(identifier, identifier))
        if cls is None:
            names = sorted(n for n in _BY_NAME if n.islower())
            raise ValueError(f"Unknown initializer '{identifier}'; known: {', '.join(names)}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"initializer must be a name, an Initializer or a callable; got "
                    f"{type(identifier).__name__}")


def serialize(init):
    if isinstance(init, Initializer) and type(init) in _CLASSES:
        return {"class_name": type(init).__name__, "config": init.get_config()}
    return serialize_object(init)


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return get(config)
    if isinstance(config, dict) and config.get("class_name") in _BY_NAME:
        return _BY_NAME[config["class_name"]].from_config(config.get("config", {}))
    return deserialize_object(config, custom_objects)
