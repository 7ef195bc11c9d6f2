"""gradkit: a deep-learning framework from first principles on NumPy.

    import gradkit as gk
    x = gk.randn(4, 3, requires_grad=True)
    loss = (x @ gk.randn(3, 2)).tanh().sum()
    loss.backward()            # x.grad now holds d loss / d x

The names follow PyTorch, so ``import gradkit as torch`` runs PyTorch-style code unchanged.
"""
import math as _math

from .tensor import Tensor  # first: the core's one cycle is closed at the bottom of tensor.py
from . import autograd
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.functional import grad
from .autograd.grad_mode import inference_mode
from . import backend
from .backend import (bool_, double, dtype, finfo, float, float16, float32, float64,
                      get_default_dtype, half, iinfo, int, int8, int16, int32, int64, long,
                      set_default_dtype, short, uint8)
from .ops import *  # noqa: F401,F403  every op, listed in ops/__init__.py
from .ops import __dict__ as _ops_namespace
from .ops.creation import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor,
                           HalfTensor, IntTensor, LongTensor, ShortTensor)
from .random import Generator, get_rng_state, manual_seed, seed, set_rng_state
from .tensor import Size
from . import _unsupported
from .io import load, save
from .devices import device
from . import accelerator, backends, cuda
from .backends import (are_deterministic_algorithms_enabled, get_float32_matmul_precision,
                       set_float32_matmul_precision, use_deterministic_algorithms)
from . import nn  # noqa: E402

bool = bool_  # noqa: A001  torch.bool
__version__ = "0.1.0"
inf, nan, pi, e = _math.inf, _math.nan, _math.pi, _math.e
newaxis = None


def is_autocast_enabled(device_type=None):
    """False: gradkit never autocasts (it computes in the tensors' own dtype)."""
    return False


def _assert(condition, message):
    """``torch._assert``: assert that survives ``python -O`` (and tracing, in PyTorch)."""
    if not condition:
        raise AssertionError(message)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(x):
    return x.numel()


__all__ = ["Tensor", "autograd", "grad", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "inference_mode", "manual_seed", "seed", "get_rng_state",
           "set_rng_state", "save", "load", "nn", "get_default_dtype", "set_default_dtype", "is_tensor", "numel",
           "float16", "float32", "float64", "half", "float", "double", "int8", "int16", "int32",
           "int64", "short", "int", "long", "uint8", "bool", "device", "cuda", "accelerator",
           "backends", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
           "set_float32_matmul_precision", "get_float32_matmul_precision", "dtype", "finfo", "iinfo",
           "Size", "Generator", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor",
           "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor", "inf", "nan", "pi",
           "e", "is_autocast_enabled"] + sorted(
    k for k, v in _ops_namespace.items() if callable(v) and not k.startswith("_") and k[0].islower()
    and getattr(v, "__module__", "").startswith("gradkit.ops"))
del _ops_namespace
from . import optim  # noqa: E402

# imported on first use, so that `import gradkit` stays fast: gk.data, gk.utils.data (PyTorch's
# torch.utils.data), gk.keras, ...
_LAZY_SUBPACKAGES = frozenset({"data", "datasets", "distributed", "jit", "keras", "metrics",
                               "models", "onnx", "peft", "serialization", "tf", "utils", "vision"})


def _lazy(name):
    if name in _LAZY_SUBPACKAGES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name == "bfloat16":  # NumPy knows bfloat16 once ml_dtypes registers it (an extra)
        return backend.bfloat16()
    return None


# anything else: "gradkit does not support torch.X yet", and what to use instead
__getattr__ = _unsupported.module_getattr(__name__, "torch", _lazy)
