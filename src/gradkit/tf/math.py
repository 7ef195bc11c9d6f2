"""TensorFlow's math names (``tf.reduce_sum``, ``tf.matmul``, ``tf.math.log`` ...) over gradkit's ops.

Each function converts its inputs (``tf.convert_to_tensor``), renames TensorFlow's arguments to
gradkit's (``axis`` -> ``dim``, ``keepdims`` -> ``keepdim``) and calls the op; the op's forward
and backward live in ``gradkit.ops``. TensorFlow defaults that differ from PyTorch's:

    tf.argmax(x)                 axis defaults to 0 (PyTorch: the flattened tensor)
    tf.reduce_mean(int tensor)   integer result, truncated (PyTorch refuses integer means)
    tf.reduce_std / variance     population statistics, divide by N (PyTorch: N - 1)
    tf.one_hot                   float32; an index outside [0, depth) gives a row of zeros
    tf.transpose(x)              reverses all axes (perm=None)
"""
import numpy as np

from .. import _internal, backend, ops
from ..tensor import Tensor
from ._names import unsupported
from .tensors import convert_to_tensor

__all__ = [
    # reductions
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_std",
    "reduce_variance", "reduce_logsumexp", "reduce_all", "reduce_any", "argmax", "argmin",
    # arithmetic
    "add", "subtract", "multiply", "divide", "negative", "pow", "square", "sqrt", "exp", "log",
    "abs", "sigmoid", "tanh", "sin", "cos", "maximum", "minimum", "matmul", "add_n",
    # comparison and selection
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "where",
    "clip_by_value",
    # shape and dtype
    "cast", "reshape", "transpose", "expand_dims", "squeeze", "concat", "stack", "gather",
    "one_hot",
]

_t = convert_to_tensor


def _axis(axis):
    if isinstance(axis, Tensor):
        axis = axis.array.tolist()
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis


# === reductions: reduce_sum reduce_mean reduce_max reduce_min reduce_prod reduce_std ... argmax
def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    return ops.sum(_t(input_tensor), dim=_axis(axis), keepdim=keepdims)


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    x = _t(input_tensor)
    if x.array.dtype.kind != "f":  # TensorFlow keeps the integer dtype (the mean is truncated)
        return ops.cast(ops.mean(ops.cast(x, backend.float64), dim=_axis(axis), keepdim=keepdims),
                        x.array.dtype)
    return ops.mean(x, dim=_axis(axis), keepdim=keepdims)


def reduce_max(input_tensor, axis=None, keepdims=False, name=None):
    return ops.amax(_t(input_tensor), dim=_axis(axis), keepdim=keepdims)


def reduce_min(input_tensor, axis=None, keepdims=False, name=None):
    return ops.amin(_t(input_tensor), dim=_axis(axis), keepdim=keepdims)


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    return ops.prod(_t(input_tensor), dim=_axis(axis), keepdim=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    return ops.std(_t(input_tensor), dim=_axis(axis), keepdim=keepdims, correction=0)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    return ops.var(_t(input_tensor), dim=_axis(axis), keepdim=keepdims, correction=0)


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    return ops.logsumexp(_t(input_tensor), dim=_axis(axis), keepdim=keepdims)


def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    return ops.all(_t(input_tensor), dim=_axis(axis), keepdim=keepdims)


def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    return ops.any(_t(input_tensor), dim=_axis(axis), keepdim=keepdims)


def argmax(input, axis=None, output_type=backend.int64, name=None):
    """Index of the largest value along ``axis`` (default 0, as TensorFlow)."""
    return ops.cast(ops.argmax(_t(input), dim=0 if axis is None else int(axis)), output_type)


def argmin(input, axis=None, output_type=backend.int64, name=None):
    return ops.cast(ops.argmin(_t(input), dim=0 if axis is None else int(axis)), output_type)


# === arithmetic: add subtract multiply divide ... matmul ======================================
def _pair(x, y):
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        x = _t(x)
    return x, y


def add(x, y, name=None):
    return ops.add(*_pair(x, y))


def subtract(x, y, name=None):
    return ops.sub(*_pair(x, y))


def multiply(x, y, name=None):
    return ops.mul(*_pair(x, y))


def divide(x, y, name=None):
    return ops.div(*_pair(x, y))


def pow(x, y, name=None):  # noqa: A001  tf.pow
    return ops.pow(*_pair(x, y))


def maximum(x, y, name=None):
    return ops.maximum(*_pair(x, y))


def minimum(x, y, name=None):
    return ops.minimum(*_pair(x, y))


def negative(x, name=None):
    return ops.neg(_t(x))


def square(x, name=None):
    return ops.square(_t(x))


def sqrt(x, name=None):
    return ops.sqrt(_t(x))


def exp(x, name=None):
    return ops.exp(_t(x))


def log(x, name=None):
    return ops.log(_t(x))


def abs(x, name=None):  # noqa: A001  tf.abs
    return ops.abs(_t(x))


def sigmoid(x, name=None):
    return ops.sigmoid(_t(x))


def tanh(x, name=None):
    return ops.tanh(_t(x))


def sin(x, name=None):
    return ops.sin(_t(x))


def cos(x, name=None):
    return ops.cos(_t(x))


def add_n(inputs, name=None):
    """The elementwise sum of a list of same-shape tensors."""
    inputs = [_t(x) for x in inputs]
    total = inputs[0]
    for x in inputs[1:]:
        total = total + x
    return total


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, name=None):
    """a @ b, optionally transposing the last two axes of either first (real tensors: adjoint
    is transpose)."""
    a, b = _t(a), _t(b)
    if transpose_a or adjoint_a:
        a = a.mT
    if transpose_b or adjoint_b:
        b = b.mT
    return ops.matmul(a, b)


# === comparison and selection: equal ... where clip_by_value ==================================
def equal(x, y, name=None):
    return ops.eq(*_pair(x, y))


def not_equal(x, y, name=None):
    return ops.ne(*_pair(x, y))


def less(x, y, name=None):
    return ops.lt(*_pair(x, y))


def less_equal(x, y, name=None):
    return ops.le(*_pair(x, y))


def greater(x, y, name=None):
    return ops.gt(*_pair(x, y))


def greater_equal(x, y, name=None):
    return ops.ge(*_pair(x, y))


def where(condition, x=None, y=None, name=None):
    """``condition ? x : y``; with the condition alone, the coordinates of its true elements as
    an int64 tensor of shape (count, rank), as TensorFlow returns them."""
    if x is None and y is None:
        cond = _t(condition).array
        return _internal.wrap(np.argwhere(cond).astype(np.int64))
    return ops.where(_t(condition), *_pair(x, y))


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    return ops.clamp(_t(t), clip_value_min, clip_value_max)


# === shape and dtype: cast reshape transpose expand_dims squeeze concat stack gather one_hot ====
def cast(x, dtype, name=None):
    """``x`` as ``dtype``; float to float is differentiable, float to int truncates toward 0."""
    return ops.cast(_t(x), backend.to_dtype(dtype))


def reshape(tensor, shape, name=None):
    if isinstance(shape, Tensor):
        shape = shape.array.tolist()
    return ops.reshape(_t(tensor), tuple(int(s) for s in shape))


def transpose(a, perm=None, conjugate=False, name=None):
    a = _t(a)
    perm = tuple(range(a.ndim - 1, -1, -1)) if perm is None else tuple(_axis(perm))
    return ops.permute(a, *perm)


def expand_dims(input, axis, name=None):
    return ops.unsqueeze(_t(input), int(axis))


def squeeze(input, axis=None, name=None):
    return ops.squeeze(_t(input), _axis(axis))


def concat(values, axis, name="concat"):
    return ops.cat([_t(v) for v in values], dim=int(axis))


def stack(values, axis=0, name="stack"):
    return ops.stack([_t(v) for v in values], dim=int(axis))


def gather(params, indices, axis=None, batch_dims=0, name=None):
    """Slices of ``params`` along ``axis`` (default 0) at ``indices`` (any shape): the result's
    shape is ``params.shape[:axis] + indices.shape + params.shape[axis + 1:]``."""
    if batch_dims:
        raise NotImplementedError("gather: batch_dims is not supported in gradkit; index with "
                                  "tf.gather per batch row or use gradkit.gather")
    x = _t(params)
    idx = _t(indices).array
    axis = 0 if axis is None else int(axis) % x.ndim
    out = ops.index_select(x, axis, _internal.wrap(idx.reshape(-1).astype(np.int64)))
    return ops.reshape(out, x.shape[:axis] + idx.shape + x.shape[axis + 1:])


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """Integer labels (any shape) to one-hot vectors along a new axis (default last).

    dtype: float32 unless given (or implied by on_value/off_value). An index outside
    [0, depth), e.g. -1, gives all ``off_value``, as in TensorFlow.
    """
    idx = _t(indices).array
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got {idx.dtype}; cast them with "
                        "tf.cast(indices, tf.int32)")
    if dtype is None:
        dtype = np.asarray(on_value).dtype if on_value is not None else backend.float32
        if on_value is not None and isinstance(on_value, float):
            dtype = backend.float32
    dtype = backend.to_dtype(dtype)
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    hit = idx[..., None] == np.arange(int(depth))
    out = np.where(hit, np.asarray(on, dtype), np.asarray(off, dtype)).astype(dtype)
    if axis is not None and axis != -1:
        out = np.moveaxis(out, -1, axis)
    return _internal.wrap(out)


__getattr__ = unsupported(__name__, __all__)
