"""In-place ops (``add_``, ``mul_``, ``x[i] = v``, ``+=``, ...), made safe by a version counter.

Under ``no_grad`` (an optimizer's update) they write straight into the array. When a graph is
being recorded, the new value is computed out of place and written back into the same array,
and the tensor takes the new op as its ``grad_fn`` (PyTorch calls this rebasing the history).
Either way the tensor's version goes up by one, and any op that saved the old value for its
backward sees the change and raises, instead of computing a silently wrong gradient.
"""
import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from .indexing import _normalise_index

_grad = grad_mode.state


def _check_leaf(x, op):
    if x._node is None and x.requires_grad and _grad.enabled:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad is being used in an in-place operation. "
            "Do the update inside `with gk.no_grad():` (as optimizers do), or use the "
            "out-of-place op (y = x + 1).")


def inplace(x, fn, other, np_fn=None):
    """Apply ``x = fn(x, other)`` in place. ``np_fn`` is the fast ufunc path when no graph is needed."""
    _check_leaf(x, getattr(np_fn, "__name__", "in-place op"))
    other_grad = isinstance(other, Tensor) and other.requires_grad
    if not (_grad.enabled and (x.requires_grad or other_grad)):
        if np_fn is not None:
            o = other.data if isinstance(other, Tensor) else other
            np_fn(x.data, o, out=x.data, casting="unsafe")
        else:
            np.copyto(x.data, fn(x, other).data, casting="unsafe")
    else:
        result = fn(x, other)
        np.copyto(x.data, result.data, casting="unsafe")
        x._node = result._node
        x.requires_grad = result.requires_grad
    x._vc[0] += 1
    return x


class SetItem(Function):
    # y = x with y[index] = v;  dL/dx = dL/dy with zeros at index, dL/dv = dL/dy[index] (summed to v's shape)
    def forward(ctx, x, v, index):
        ctx.index = index
        ctx.v_shape = v.shape
        y = x.copy()
        y[index] = v
        return y

    def backward(ctx, grad):
        from .shape import sum_to_shape
        from .indexing import GetItem
        gx = gv = None
        if ctx.needs_input_grad[0]:
            zero = Tensor._make(np.zeros((), grad.data.dtype))
            gx = SetItem.apply(grad, zero, index=ctx.index)
        if ctx.needs_input_grad[1]:
            gv = sum_to_shape(GetItem.apply(grad, index=ctx.index, accumulate=False), ctx.v_shape)
        return gx, gv


def setitem(x, index, value):
    index, _ = _normalise_index(index)
    _check_leaf(x, "setitem")
    v = value if isinstance(value, Tensor) else Tensor._make(np.asarray(value, x.data.dtype))
    if _grad.enabled and (x.requires_grad or v.requires_grad):
        result = SetItem.apply(x, v, index=index)
        np.copyto(x.data, result.data)
        x._node = result._node
        x.requires_grad = True
    else:
        x.data[index] = v.data
    x._vc[0] += 1


class Clone(Function):
    # y = a copy of x;  dL/dx = dL/dy
    def forward(ctx, x):
        return x.copy()

    def backward(ctx, grad):
        return grad


def clone(x):
    return Clone.apply(x)
