"""Function: one differentiable op, its forward and its backward side by side.

A subclass writes

* ``forward(ctx, *arrays, **params) -> array``: plain NumPy on the inputs' arrays; it calls
  ``ctx.save_for_backward(...)`` with any arrays (inputs, the output, or new constants) that the
  backward needs, and may store small non-array facts (shapes, dims) as attributes of ctx;
* ``backward(ctx, grad) -> grad or tuple of grads``: one gradient per tensor input (or None),
  written with gradkit Tensor ops on ``grad`` and ``ctx.saved``. Because it uses differentiable
  ops, the same formula gives second derivatives: the engine runs it with graph recording off,
  unless ``create_graph=True``.

``Cls.apply(*tensors, **params)`` runs forward and, when grad mode is on and some input requires
grad, records the node: the instance itself is the node (the "ctx"), and ``out.grad_fn``.

A subclass written in PyTorch's form (``@staticmethod forward(ctx, *tensors)`` and
``backward(ctx, *grads)``, on Tensors) gets its own ``apply`` and node class from
custom_function.py, at class creation (``__init_subclass__``); the ``apply`` below is only ever
the array form's.
"""
import sys

import numpy as np

from . import grad_mode
from .custom_function import FunctionCtx, OutputSlot, apply as _apply_pytorch_form
from ..tensor import Tensor

_grad = grad_mode.state
_OUTPUT = object()  # marks "the saved array is this op's own output" (saved without a reference cycle)


class Function:
    """Base class of every differentiable op. See the module docstring."""

    # parents: per input, the node that made it (non-leaf), the tensor itself (a leaf that
    # requires grad) or None. _saved: per saved value, the input Tensor, a constant array,
    # or _OUTPUT. The node never holds its own output tensor (no reference cycle).
    __slots__ = ("parents", "needs_input_grad", "_to_save", "_saved", "_versions", "_out", "_hooks", "_retained", "_trace", "__dict__")

    anomaly_enabled = False  # set by autograd.anomaly.detect_anomaly

    # ---- the two methods an op writes
    def forward(ctx, *arrays, **params):
        raise NotImplementedError

    def backward(ctx, grad):
        raise NotImplementedError

    # ---- saving for backward
    def save_for_backward(ctx, *arrays):
        ctx._to_save = arrays

    @property
    def saved(ctx):
        """The saved values as Tensors, checked against in-place modification since forward."""
        saved = ctx._saved
        if saved is None:
            raise RuntimeError(
                f"{ctx.name()}: trying to backward through the graph a second time (or to use its "
                "saved values after they were freed). Saved intermediate values are freed after "
                "the first backward; pass retain_graph=True to the first backward() if you need "
                "to backward twice.")
        for vc, version in ctx._versions:
            if vc[0] != version:
                raise RuntimeError(
                    f"{ctx.name()}: one of the tensors needed for gradient computation has been "
                    f"modified by an in-place operation (its version is {vc[0]}, expected "
                    f"{version}). Use the out-of-place op (e.g. x = x + 1 instead of x += 1) or "
                    "clone() the tensor before modifying it.")
        out = []
        for s in saved:
            if s is _OUTPUT:
                out.append(Tensor._make(ctx._out, ctx))
            elif s is None:
                out.append(None)
            elif type(s) is np.ndarray:
                out.append(Tensor._make(s))
            else:
                out.append(s)
        return out

    def _release(ctx):
        ctx._saved = None
        ctx._out = None

    # ---- recording
    # apply runs once per op: one and two inputs are spelled out (inputs[0], inputs[1]) because
    # on Python 3.11 each list comprehension here would cost about as much as a small NumPy call.
    @classmethod
    def apply(cls, *inputs, **params):
        ctx = cls.__new__(cls)
        ctx._to_save = ()
        n = len(inputs)
        # per input, whether it requires grad; None when no graph is recorded. forward may read it
        # to save only what backward will use
        needs = None
        if _grad.enabled:
            try:
                if n == 2:
                    needs = (inputs[0].requires_grad, inputs[1].requires_grad)
                elif n == 1:
                    needs = (inputs[0].requires_grad,)
                else:
                    needs = tuple([t.requires_grad for t in inputs])
            except AttributeError:
                raise _not_a_tensor(cls, inputs) from None
            if True not in needs:
                needs = None
        ctx.needs_input_grad = needs
        try:
            if n == 2:
                out = ctx.forward(inputs[0].array, inputs[1].array, **params)
            elif n == 1:
                out = ctx.forward(inputs[0].array, **params)
            else:
                out = ctx.forward(*[t.array for t in inputs], **params)
        except ValueError as e:
            if not all(isinstance(t, Tensor) for t in inputs):
                raise _not_a_tensor(cls, inputs) from None
            shapes = ", ".join(str(t.shape) for t in inputs)
            raise ValueError(f"{cls.__name__.lower()}: {e} (input shapes: {shapes})") from None
        except (AttributeError, TypeError):
            if not all(isinstance(t, Tensor) for t in inputs):
                raise _not_a_tensor(cls, inputs) from None
            raise
        if type(out) is not np.ndarray:  # NumPy ufuncs give scalars for 0-d inputs
            scalar = out
            out = np.asarray(out)
            if ctx._to_save:
                ctx._to_save = tuple(out if a is scalar else a for a in ctx._to_save)
        if needs is None or out.dtype.kind != "f":  # integer and bool results carry no gradient
            return _make(out)

        # record the node: its parents, what it saved (with the versions to check), its output
        if n == 2:
            ctx.parents = (_parent(inputs[0]), _parent(inputs[1]))
        elif n == 1:
            ctx.parents = (_parent(inputs[0]),)
        else:
            ctx.parents = tuple([_parent(t) for t in inputs])
        ctx._hooks = None
        ctx._retained = None
        result = _make(out, ctx)
        to_save = ctx._to_save
        ctx._to_save = None
        if not to_save:  # add, sub, reshape, sum, ...: nothing to hold, nothing to version-check
            ctx._saved = ctx._versions = ()
        else:
            saved, versions = [], []
            for a in to_save:
                if a is None:
                    saved.append(None)
                elif a is out:
                    saved.append(_OUTPUT)
                    ctx._out = out
                    versions.append((result._vc, 0))
                else:
                    for t in inputs:
                        if t.array is a:
                            saved.append(t)
                            versions.append((t._vc, t._vc[0]))
                            break
                    else:  # a constant (a NumPy scalar from a full reduction becomes a 0-d array)
                        saved.append(a if type(a) is np.ndarray else np.asarray(a))
            ctx._saved = saved
            ctx._versions = versions
        if Function.anomaly_enabled:
            ctx._trace = _user_frame()
        return result

    # ---- PyTorch's form (custom_function.py): routed at class creation, not per call
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        forward = next(c.__dict__["forward"] for c in cls.__mro__ if "forward" in c.__dict__)
        if isinstance(forward, staticmethod):
            # the node of one call, which is also its ctx (PyTorch's BackwardCFunction)
            cls._backward_cls = type(cls.__name__ + "Backward", (FunctionCtx, Function), {
                "__slots__": (), "__module__": cls.__module__, "_forward_cls": cls,
                "_output_node": OutputNode})
            cls.apply = classmethod(_apply_pytorch_form)

    # ---- introspection
    @classmethod
    def name(cls):
        return cls.__name__ + "Backward"

    def __repr__(ctx):
        return f"<{ctx.name()}>"

    @property
    def next_functions(ctx):
        return tuple((p, 0) for p in ctx.parents)


class OutputNode(OutputSlot, Function):
    """The node of one output of a PyTorch-form Function with several (custom_function.py)."""

    __slots__ = ("index",)


def _parent(t):
    """What a node keeps for one input: the node that made it, the input itself (a leaf that
    requires grad, whose .grad the engine fills) or None (a constant)."""
    if t._node is not None:
        return t._node
    return t if t.requires_grad else None


def _not_a_tensor(cls, inputs):
    """The error for an op given something that is not a Tensor (a NumPy array, a list)."""
    i, bad = next((i, t) for i, t in enumerate(inputs) if not isinstance(t, Tensor))
    return TypeError(f"{cls.__name__.lower()}: input {i} is a {type(bad).__module__}."
                     f"{type(bad).__name__}, not a Tensor; convert it first with gk.tensor(x) "
                     "(or gk.from_numpy(x) to share a NumPy array's memory)")


def _user_frame():
    """(filename, lineno, line) of the first frame outside the gradkit package."""
    import linecache
    import os

    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    f = sys._getframe(2)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(pkg):
        f = f.f_back
    if f is None:
        return None
    line = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    return f.f_code.co_filename, f.f_lineno, line


_make = Tensor._make


# === once_differentiable: a backward that cannot itself be differentiated ==================
class DelayedError(Function):
    """Identity in forward; its backward raises ``message``. Put on the outputs of a backward
    that was computed without a graph, so that differentiating it again fails loudly instead of
    giving a silent zero."""

    def forward(ctx, x, message):
        ctx.message = message
        return x

    def backward(ctx, grad):
        raise RuntimeError(ctx.message)


def once_differentiable(backward):
    """Decorate a custom Function's ``backward`` that is written with non-differentiable code
    (NumPy, in-place updates): it runs without recording a graph, and a second derivative
    through it (``create_graph=True``, then backward again) raises instead of being wrong::

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_output):
            ...

    As ``torch.autograd.function.once_differentiable``.
    """
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *args, **kwargs):
        with grad_mode.no_grad():
            outputs = backward(ctx, *args, **kwargs)
        if not grad_mode.is_grad_enabled() or not any(
                isinstance(a, Tensor) and a.requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        message = ("trying to differentiate twice a function that was marked with "
                   f"@once_differentiable ({backward.__qualname__})")
        marked = tuple(None if o is None else
                       DelayedError.apply(o.detach().requires_grad_(True), message=message)
                       for o in ((outputs,) if single else outputs))
        return marked[0] if single else marked

    return wrapper
