"""``import gradkit.tf as tf``: TensorFlow's names over gradkit's engine.

TensorFlow 2 programs that use the common subset run with only the import line changed::

    import gradkit.tf as tf                      # instead of: import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.Dense(10, activation="relu"),
                                 tf.keras.layers.Dense(1, activation="sigmoid")])
    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

This package holds names only: every computation is a gradkit op (``gradkit.ops``), every layer a
``gradkit.nn`` module (through ``gradkit.keras``), every gradient the one autograd engine.

    tf.keras                      gradkit.keras (imported on first use; keras.py makes
                                  `from gradkit.tf.keras.layers import Dense` work too)
    tf.GradientTape               gradkit.keras.tape.GradientTape
    tf.function                   runs the function as written (gradkit is eager; see below)
    tf.constant, tf.Variable ...  tensors.py       tf.reduce_sum, tf.matmul ...  math.py
    tf.nn, tf.random, tf.data     nn.py, random.py, data.py

``tf.function`` compiles nothing: gradkit executes every op eagerly, so the decorated function
runs exactly as written, each call, with Python side effects (``print``) every time. Its
arguments (``input_signature``, ``jit_compile``, ``reduce_retracing``, ...) are accepted and
ignored. A name this namespace does not provide raises an AttributeError listing those it does.
"""
import functools as _functools

from .. import __version__ as _gradkit_version
from .. import backend as _backend
from ..tensor import Tensor
from . import data, math, nn, random
from ._names import unsupported as _unsupported
from .math import *  # noqa: F401,F403  the math names, listed in math.__all__
from .math import __all__ as _math_names
from .tensors import (Variable, constant, convert_to_tensor, fill, ones, ones_like, range, shape,
                      zeros, zeros_like)

__version__ = f"2.x (gradkit {_gradkit_version})"

# === dtypes =====================================================================================
float16, float32, float64 = _backend.float16, _backend.float32, _backend.float64
int8, int16, int32, int64, uint8 = (_backend.int8, _backend.int16, _backend.int32,
                                    _backend.int64, _backend.uint8)
bool = _backend.bool_  # noqa: A001  tf.bool
newaxis = None


class dtypes:
    """``tf.dtypes.float32`` ... (the same NumPy dtypes as ``tf.float32``)."""

    float16, float32, float64 = float16, float32, float64
    int8, int16, int32, int64, uint8, bool = int8, int16, int32, int64, uint8, bool
    cast = staticmethod(math.cast)


class TensorSpec:
    """A shape and dtype, for ``tf.function(input_signature=[...])`` (accepted and ignored)."""

    def __init__(self, shape, dtype=float32, name=None):
        self.shape = None if shape is None else tuple(shape)
        self.dtype, self.name = _backend.to_dtype(dtype), name

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype}, name={self.name!r})"


class UnconnectedGradients:
    """What ``GradientTape.gradient`` returns for a source the target does not depend on."""

    NONE = "none"
    ZERO = "zero"


# === tf.function, and small eager helpers =========================================================
def function(func=None, input_signature=None, autograph=True, jit_compile=None,
             reduce_retracing=False, experimental_implements=None,
             experimental_autograph_options=None, experimental_relax_shapes=None,
             experimental_compile=None, experimental_follow_type_hints=None):
    """Decorator kept for TensorFlow code: gradkit is eager, so the function runs as written.

    Usable bare (``@tf.function``), with arguments (``@tf.function(jit_compile=True)``), on
    methods, or called (``tf.function(f)``). The original is at ``.python_function``.
    """
    def decorate(f):
        @_functools.wraps(f)
        def wrapper(*args, **kwargs):
            return f(*args, **kwargs)

        wrapper.python_function = f
        return wrapper

    return decorate if func is None else decorate(func)


def executing_eagerly():
    """Always True: gradkit has no graph mode."""
    return True


def is_tensor(x):
    return isinstance(x, Tensor)


def identity(input, name=None):
    """A copy of ``input`` that gradients flow through."""
    return convert_to_tensor(input).clone()


def stop_gradient(input, name=None):
    """``input`` cut from the graph: no gradient flows back through it (``detach``)."""
    return convert_to_tensor(input).detach()


def print(*inputs, sep=" ", end="\n", output_stream=None, summarize=None):  # noqa: A001  tf.print
    """Print tensors by value (as their NumPy arrays) and other objects as ``print`` would."""
    import builtins
    import sys

    parts = [str(x.array) if isinstance(x, Tensor) else x for x in inputs]
    builtins.print(*parts, sep=sep, end=end, file=output_stream or sys.stderr)


class config:
    """``tf.config``: gradkit runs on the CPU; the GPU queries answer accordingly."""

    @staticmethod
    def list_physical_devices(device_type=None):
        return [] if device_type and device_type.upper() != "CPU" else ["/physical_device:CPU:0"]

    @staticmethod
    def run_functions_eagerly(run_eagerly):
        """Accepted and ignored: gradkit always runs eagerly."""


_OWN = ["keras", "GradientTape", "function", "Variable", "constant", "convert_to_tensor", "zeros",
        "ones", "zeros_like", "ones_like", "fill", "range", "shape", "Tensor", "is_tensor",
        "identity", "stop_gradient", "print", "executing_eagerly", "config", "newaxis", "dtypes",
        "UnconnectedGradients", "TensorSpec", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
        "uint8", "bool", "data", "math", "nn", "random"]
__all__ = _OWN + list(_math_names)
_missing = _unsupported(__name__, __all__)


def __getattr__(name):
    # keras and the tape load on first use: `import gradkit.tf` works without gradkit.keras
    if name == "keras":   # gradkit.keras, also importable as gradkit.tf.keras (see keras.py)
        import importlib   # not `from . import keras`: that asks this __getattr__ again

        return importlib.import_module(f"{__name__}.keras")
    if name == "GradientTape":
        from ..keras.tape import GradientTape

        globals()["GradientTape"] = GradientTape
        return GradientTape
    return _missing(name)


def __dir__():
    return sorted(set(globals()) | {"keras", "GradientTape"})
