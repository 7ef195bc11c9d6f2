"""Array module and dtype policy.

Every tensor lives on NumPy for now (a later issue adds CuPy). The dtype rules are PyTorch's:

* the default float dtype is float32; Python floats, and factories given floats, make float32;
* Python scalars never change a tensor's dtype (``x_f32 * 2.0`` stays float32, ``x_int + 1``
  stays int, ``x_int * 0.5`` becomes the default float dtype);
* between tensors, the category decides first (bool < integer < floating): an integer tensor
  meeting a float tensor becomes that float dtype; within one category the wider dtype wins;
* a 0-d tensor counts as a scalar against a tensor with dimensions of the same category
  (``x_f32 + tensor(1.0, dtype=float64)`` stays float32).
"""
import builtins

import numpy as np

xp = np
builtin_float, builtin_int = builtins.float, builtins.int  # the names below shadow them, as torch.float does

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
bool_ = np.dtype("bool")

_default_float = float32


def bfloat16():
    """NumPy's bfloat16 dtype, which the ``ml_dtypes`` package provides (``gk.bfloat16``)."""
    try:
        import ml_dtypes
    except ImportError:
        from ._install import pip_install

        raise ImportError("gk.bfloat16 needs the ml_dtypes package, which gives NumPy a bfloat16 "
                          f"dtype; install it: {pip_install('bf16')}") from None
    return np.dtype(ml_dtypes.bfloat16)


def get_default_dtype():
    """The dtype that Python floats and float factories produce. Defaults to float32."""
    return _default_float


def set_default_dtype(dtype):
    """Set the default float dtype (float32 or float64)."""
    global _default_float
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes can be the default, got {dtype}")
    _default_float = dtype


def to_dtype(dtype):
    """Normalise anything dtype-like (np.float32, 'float32', gk.float32, torch-style names) to np.dtype."""
    if dtype is None:
        return None
    if isinstance(dtype, np.dtype):
        return dtype
    if dtype is bool:
        return bool_
    if dtype is builtin_float:
        return _default_float
    if dtype is builtin_int:
        return int64
    if isinstance(getattr(dtype, "dtype", None), np.dtype):  # gk.LongTensor, ... (x.type(...))
        return dtype.dtype
    return np.dtype(dtype)


def is_floating(dtype):
    return dtype.kind == "f"


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def result_dtype(a, b):
    """The dtype of a binary op between arrays ``a`` and ``b`` under the rules in this module's docstring."""
    da, db = a.dtype, b.dtype
    if da == db:
        return da
    ca, cb = _CATEGORY.get(da.kind, 3), _CATEGORY.get(db.kind, 3)
    if ca != cb:
        return da if ca > cb else db
    if a.ndim == 0 and b.ndim > 0:
        return db
    if b.ndim == 0 and a.ndim > 0:
        return da
    return np.promote_types(da, db)


def scalar_array(value, like_dtype):
    """A 0-d array for Python scalar ``value`` next to a tensor of dtype ``like_dtype``."""
    if isinstance(value, (bool, np.bool_)):
        return np.asarray(value, dtype=like_dtype if like_dtype.kind != "b" else bool_)
    if isinstance(value, (builtin_int, np.integer)):
        return np.asarray(value, dtype=like_dtype if like_dtype.kind != "b" else int64)
    if like_dtype.kind == "f":
        return np.asarray(value, dtype=like_dtype)
    return np.asarray(value, dtype=_default_float)


# === dtype facts (torch.dtype, torch.finfo, torch.iinfo) ======================
dtype = np.dtype  # every gradkit dtype is a NumPy dtype: isinstance(gk.float32, gk.dtype)


class finfo:
    """Machine limits of a float dtype, as ``torch.finfo``: ``bits eps max min tiny
    smallest_normal resolution`` (Python floats). Defaults to the default float dtype."""

    def __init__(self, type=None):
        dt = to_dtype(type) or _default_float
        if dt.kind != "f":
            raise TypeError(f"finfo: {dt} is not a floating dtype; use gk.iinfo for integers")
        f = np.finfo(dt)
        self.dtype, self.bits = str(dt), f.bits
        self.eps, self.max, self.min = builtin_float(f.eps), builtin_float(f.max), builtin_float(f.min)
        self.tiny = self.smallest_normal = builtin_float(f.smallest_normal)
        self.resolution = builtin_float(f.resolution)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, "
                f"eps={self.eps}, smallest_normal={self.smallest_normal}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype, as ``torch.iinfo``: ``bits max min`` (Python ints)."""

    def __init__(self, type):
        dt = to_dtype(type)
        if dt.kind not in "iub":
            raise TypeError(f"iinfo: {dt} is not an integer dtype; use gk.finfo for floats")
        i = np.iinfo(dt) if dt.kind != "b" else np.iinfo(np.uint8)
        self.dtype, self.bits, self.max, self.min = str(dt), i.bits, builtin_int(i.max), builtin_int(i.min)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
