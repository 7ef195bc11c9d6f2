"""In-place ops (``add_``, ``mul_``, ``x[i] = v``, ``+=``, ...), made safe by a version counter.

Under ``no_grad`` (an optimizer's update) they write straight into the array. When a graph is
being recorded, the new value is computed out of place from a snapshot of the old one and
written back into the same array, and the tensor takes the new op as its ``grad_fn`` (PyTorch
calls this rebasing the history). Either way the tensor's version goes up by one, and any op that
saved the old value for its backward sees the change and raises, instead of computing a silently
wrong gradient.

A view made by basic indexing (``y[0]``, ``y[:, 1:]``) shares its base's memory and version
counter, as in PyTorch. While recording, an in-place op on a view also rebases its base (as
``y[index] = new view``), and an in-place op on a tensor re-derives its live views from the new
history (``v = y[index]``), so that no tensor keeps a history that its values no longer follow.
"""
import sys

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from .indexing import GetItem, _normalise_index
from .shape import sum_to_shape

_grad = grad_mode.state


def _view_chain(x):
    """(root, indices from root down to x) when x is a view made by basic indexing, else None.
    The chain is kept on x's node as ``view_of`` by getitem."""
    link = getattr(x._node, "view_of", None)
    if link is None:
        return None
    indices = []
    while link is not None:
        base, index, link = link
        indices.append(index)
    return base, indices[::-1]


def _positions(root, indices):
    """The coordinates in root of the elements of root[indices[0]][indices[1]]..."""
    pos = np.arange(root.array.size).reshape(root.array.shape)
    for i in indices:
        pos = pos[i]
    return np.unravel_index(pos, root.array.shape)


def _rebase(t, node, skip=None):
    """t's history becomes ``node``; its live views are re-derived from it (v = t[index]),
    so that none of them keeps a history that no longer matches its values."""
    old = t._node
    t._node = node
    t.requires_grad = True
    if old is None or old is node:
        return
    if getattr(old, "view_of", None) is not None:
        node.view_of = old.view_of  # t is still a view of the same bases
    live = []
    for ref, index in getattr(old, "views", ()):
        v = ref()
        if v is not None:
            live.append((ref, index))
            if v is not skip:
                _rebase(v, GetItem.apply(t, index=index, accumulate=False)._node, skip)
    if live:
        node.__dict__.setdefault("views", []).extend(live)


def _check_writable(x, op):
    """With grad recording on, refuse to overwrite a leaf that requires grad (or a view of one):
    its value is what the gradient is taken with respect to."""
    if not _grad.enabled:
        return
    if x._node is None:
        if x.requires_grad:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad is being used in an in-place operation. "
                "Do the update inside `with gk.no_grad():` (as optimizers do), or use the "
                "out-of-place op (y = x + 1).")
        return
    chain = _view_chain(x)
    if chain is not None:
        root = chain[0]
        if root._node is None and root.requires_grad:
            raise RuntimeError(
                f"{op}: a view of a leaf tensor that requires grad (such as x[0] of a parameter "
                "x) is being used in an in-place operation. Do the update inside "
                "`with gk.no_grad():`, or work on a copy (x.clone()).")


def _check_result(x, result, op, cast_rule):
    if result.shape != x.array.shape:
        raise ValueError(f"{op}: a tensor of shape {x.array.shape} can't be updated in place "
                         f"with a result of shape {result.shape}; an in-place op keeps the shape "
                         "(use the out-of-place op)")
    # PyTorch's rule for arithmetic in place: never float into integer, nor a number into bool
    if cast_rule and _CATEGORY.get(result.dtype.kind, 3) > _CATEGORY.get(x.array.dtype.kind, 3):
        raise TypeError(f"{op}: result type {result.dtype} can't be cast to the dtype of the "
                        f"tensor written in place ({x.array.dtype}); use the out-of-place op")


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _write(x, result, op):
    """Store ``result`` (computed out of place) into x's array. While recording, x takes result's
    history, and so do the tensors x is a view of (as ``base[positions] = x``) and the views of
    all of them."""
    if result.requires_grad and x._node is None and x.array.base is not None:
        raise RuntimeError(
            f"{op}: this tensor shares memory with another one (a view from slicing, reshape or "
            "from_numpy) and the value written requires grad, which the other tensor could not "
            "record. clone() the tensor first.")
    np.copyto(x.array, result.array, casting="unsafe")
    if result.requires_grad:
        chain = _view_chain(x)
        _rebase(x, result._node)
        if chain is not None:
            root, indices = chain
            # the memory is shared, so the values are already in root: only its history changes
            node = SetItem.apply(root, x, index=_positions(root, indices))._node
            _rebase(root, node, skip=x)
    x._vc[0] += 1


def inplace(x, fn, other, np_fn=None, name=None):
    """Apply ``x = fn(x, other)`` in place. ``np_fn``, the ufunc of an arithmetic op (add_ sub_
    mul_ div_ pow_), is the fast path when no graph is needed; those ops follow PyTorch's casting
    rule (a float result can't go into an integer tensor)."""
    op = name or sys._getframe(1).f_code.co_name  # the public method: add_, clamp_, ...
    _check_writable(x, op)
    recording = _grad.enabled and (x.requires_grad or (isinstance(other, Tensor)
                                                       and other.requires_grad))
    if np_fn is not None and not recording and x.array.dtype.kind == "f":
        o = other.array if isinstance(other, Tensor) else other
        try:
            np_fn(x.array, o, out=x.array, casting="unsafe")
        except ValueError as e:
            raise ValueError(f"{op}: a tensor of shape {x.array.shape} can't be updated in place "
                             f"with an operand of shape {np.shape(o)}; an in-place op keeps the "
                             f"shape (use the out-of-place op). NumPy says: {e}") from None
        x._vc[0] += 1
        return x
    # Out of place, from a private copy of the old value: the ops in fn may save it for their
    # backward while x's array is overwritten.
    src = Tensor._make(x.array.copy(), x._node) if recording else x
    result = fn(src, other)
    _check_result(x, result, op, np_fn is not None)
    if _grad.enabled and (src.requires_grad or result.requires_grad) and (
            result._node is None or result is other):
        # fn replaced the value (copy_, fill_): record it as x[...] = value, so that x gets a node
        # of its own and its old history a zero gradient, as in PyTorch
        result = SetItem.apply(src, result, index=Ellipsis)
    _write(x, result, op)
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
        gx = gv = None
        if ctx.needs_input_grad[0]:
            zero = Tensor._make(np.zeros((), grad.array.dtype))
            gx = SetItem.apply(grad, zero, index=ctx.index)
        if ctx.needs_input_grad[1]:
            gv = sum_to_shape(GetItem.apply(grad, index=ctx.index, accumulate=False), ctx.v_shape)
        return gx, gv


def setitem(x, index, value):
    index = _normalise_index(index)[0]
    _check_writable(x, "setitem")
    v = value if isinstance(value, Tensor) else Tensor._make(np.asarray(value, x.array.dtype))
    if _grad.enabled and (x.requires_grad or v.requires_grad):
        _write(x, SetItem.apply(x, v, index=index), "setitem")
    else:
        x.array[index] = v.array
        x._vc[0] += 1


class Clone(Function):
    # y = a copy of x;  dL/dx = dL/dy
    def forward(ctx, x):
        return x.copy()

    def backward(ctx, grad):
        return grad


def clone(x):
    return Clone.apply(x)
