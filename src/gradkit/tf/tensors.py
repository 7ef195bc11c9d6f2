"""Making tensors the TensorFlow way: ``constant``, ``Variable``, ``convert_to_tensor``, factories.

TensorFlow's dtype rules for new tensors, which differ from PyTorch's (``gradkit.tensor``):

    Python floats          float32
    Python ints            int32        (gradkit.tensor / PyTorch: int64)
    NumPy arrays, scalars  their own dtype (a float64 array stays float64)
    tensors                unchanged

The results are ordinary gradkit Tensors; a ``Variable`` is an ``nn.Parameter``, so it goes into
optimizers and ``model.trainable_variables`` lists as any weight does.
"""
import numpy as np

from .. import _internal, backend
from ..nn.module import Parameter
from ..tensor import Tensor

__all__ = ["constant", "convert_to_tensor", "Variable", "zeros", "ones", "zeros_like", "ones_like",
           "fill", "range", "shape"]

float32, int32 = backend.float32, backend.int32


def to_array(value, dtype=None, where="convert_to_tensor"):
    """``value`` as a NumPy array under TensorFlow's dtype rules (module docstring); may share memory."""
    dtype = backend.to_dtype(dtype)
    if isinstance(value, (Tensor, np.ndarray, np.generic)):
        arr = _internal.as_array(value)  # keeps its dtype
    else:  # a Python value: TensorFlow's dtypes
        arr = np.asarray(value)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu" and dtype is None:
            arr = arr.astype(np.int32)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{where}: cannot make a tensor of {type(value).__name__} (NumPy dtype "
                        f"{arr.dtype}); gradkit tensors hold numbers and booleans only")
    return arr


def constant(value, dtype=None, shape=None, name=None):
    """A new tensor holding a copy of ``value`` (``tf.constant``).

    >>> tf.constant([1.0, 2.0]).dtype       # float32
    >>> tf.constant(0, shape=(2, 3))        # int32 zeros, broadcast to the shape
    """
    arr = np.array(to_array(value, dtype, "constant"), copy=True)
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        if arr.size == 1:
            arr = np.full(shape, arr.reshape(()), arr.dtype)
        elif arr.size == int(np.prod(shape)):
            arr = arr.reshape(shape)
        else:
            raise ValueError(f"constant: {arr.size} values cannot fill shape {shape}; give one "
                             f"value or exactly {int(np.prod(shape))}")
    return _internal.wrap(arr)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    """``value`` as a tensor; a tensor is returned as is (graph included), others are converted.

    ``dtype_hint`` is used only when ``value`` is not already a tensor or array with a dtype.
    """
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != backend.to_dtype(dtype):
            raise ValueError(f"convert_to_tensor: the tensor has dtype {value.dtype}, but dtype="
                             f"{backend.to_dtype(dtype)} was requested; use tf.cast(x, dtype) "
                             "to change a tensor's dtype")
        return value
    if dtype is None and dtype_hint is not None and not isinstance(value, (np.ndarray, np.generic)):
        dtype = dtype_hint
    return _internal.wrap(to_array(value, dtype))


def _shape(shape, where):
    if isinstance(shape, Tensor):
        shape = shape.array.tolist()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{where}: shape must be a list/tuple of ints; got {shape!r}") from None


def zeros(shape, dtype=float32, name=None):
    return _internal.wrap(np.zeros(_shape(shape, "zeros"), backend.to_dtype(dtype)))


def ones(shape, dtype=float32, name=None):
    return _internal.wrap(np.ones(_shape(shape, "ones"), backend.to_dtype(dtype)))


def zeros_like(input, dtype=None, name=None):
    a = to_array(input)
    return _internal.wrap(np.zeros(a.shape, backend.to_dtype(dtype) or a.dtype))


def ones_like(input, dtype=None, name=None):
    a = to_array(input)
    return _internal.wrap(np.ones(a.shape, backend.to_dtype(dtype) or a.dtype))


def fill(dims, value, name=None):
    return _internal.wrap(np.full(_shape(dims, "fill"), to_array(value, where="fill")))


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001  tf.range
    """``tf.range(5)`` -> [0 1 2 3 4] int32; floats give float32, as TensorFlow infers."""
    if limit is None:
        start, limit = 0, start
    kind = np.result_type(*(to_array(v).dtype for v in (start, limit, delta)))
    dtype = backend.to_dtype(dtype) or kind
    return _internal.wrap(np.arange(to_array(start).item(), to_array(limit).item(),
                                    to_array(delta).item()).astype(dtype))


def shape(input, out_type=int32, name=None):
    """The shape as a 1-d int32 tensor (``tf.shape``); ``x.shape`` gives the Python tuple."""
    return _internal.wrap(np.asarray(to_array(input).shape, backend.to_dtype(out_type)))


# === Variable ================================================================================
class Variable(Parameter):
    """A mutable tensor (``tf.Variable``): model weights, counters, anything updated in place.

    A gradkit ``nn.Parameter``: it requires grad when ``trainable`` (and floating point), so a
    ``GradientTape`` watches it automatically and optimizers accept it. ``assign``,
    ``assign_add`` and ``assign_sub`` write into it without recording a graph.

    >>> v = tf.Variable(1.0)
    >>> v.assign_add(2.0); v.numpy()        # 3.0
    """

    __slots__ = ("_trainable", "_name")
    _count = 0
    _tf_value = True   # numpy() works on what it computes, as in TensorFlow

    def __init__(self, initial_value, trainable=True, name=None, dtype=None, shape=None, **kwargs):
        if callable(initial_value) and not isinstance(initial_value, Tensor):
            initial_value = initial_value()
        arr = np.array(to_array(initial_value, dtype, "Variable"), copy=True)
        super().__init__(arr, requires_grad=False)
        self._trainable = bool(trainable)
        if self._trainable and arr.dtype.kind == "f":
            self.requires_grad_(True)
        if name is None:
            Variable._count += 1
            name = "Variable" if Variable._count == 1 else f"Variable_{Variable._count - 1}"
        self._name = name

    @property
    def trainable(self):
        return self._trainable

    @property
    def name(self):
        return f"{self._name}:0"

    def numpy(self):
        """A copy of the value (as ``tf.Variable.numpy()``; later assigns do not change it)."""
        return self.array.copy()

    def value(self):
        return self

    def read_value(self):
        return self

    def _write(self, value, op):
        new = to_array(value, self.array.dtype, op)
        try:
            return np.broadcast_to(new, self.array.shape)
        except ValueError:
            raise ValueError(f"Variable.{op}: the value has shape {new.shape} but the variable "
                             f"{self._name!r} has shape {self.array.shape}; they must match (a "
                             "variable's shape is fixed)") from None

    def assign(self, value, use_locking=False, name=None, read_value=True):
        """Set the value (same shape); returns the variable."""
        np.copyto(self.array, self._write(value, "assign"))
        _internal.bump_version(self)  # a graph that saved the old value refuses to backward now
        return self if read_value else None

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        """Add ``delta`` in place; returns the variable."""
        np.add(self.array, self._write(delta, "assign_add"), out=self.array)
        _internal.bump_version(self)
        return self if read_value else None

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        """Subtract ``delta`` in place; returns the variable."""
        np.subtract(self.array, self._write(delta, "assign_sub"), out=self.array)
        _internal.bump_version(self)
        return self if read_value else None

    def __repr__(self):
        body = np.array2string(self.array, separator=", ", precision=4)
        return (f"<tf.Variable '{self.name}' shape={self.array.shape} dtype={self.array.dtype}, "
                f"numpy={body}>")

    __str__ = __repr__
