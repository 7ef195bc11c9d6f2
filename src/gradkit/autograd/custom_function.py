"""PyTorch's form of a custom op: ``forward`` and ``backward`` as staticmethods on Tensors.

The PyTorch tutorials write a custom op so, and the same code runs on gradkit::

    class MyReLU(gk.autograd.Function):
        @staticmethod
        def forward(ctx, input):              # Tensors in (non-tensor arguments as they are)
            ctx.save_for_backward(input)
            return input.clamp(min=0)         # a Tensor, or a tuple of them

        @staticmethod
        def backward(ctx, grad_output):       # one gradient per output
            input, = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input                 # one per forward input (None: no gradient)

    y = MyReLU.apply(x)

gradkit's own ops are written in its array form (function.py): forward a plain method on
NumPy arrays. ``Function.__init_subclass__`` tells the two apart by ``forward`` being a
staticmethod, and gives a PyTorch-form class the ``apply`` below and a node class
``<Name>Backward`` made of ``FunctionCtx`` and ``Function``: the node is also the ``ctx`` that
forward and backward receive, as PyTorch's ``BackwardCFunction`` is. (That class is put
together in function.py: this module can't import function.py, which imports it.) The ops'
own ``apply``, the hot path, is not touched.

* ``apply``: forward runs with grad recording off, on the Tensors themselves. When grad mode is
  on and some input requires grad, the outputs (floating point, not marked non-differentiable)
  get the node as their ``grad_fn``, and the node keeps what ``save_for_backward`` named, with
  the versions to check: an input or output changed in place after forward makes
  ``saved_tensors`` raise.
* several outputs: the engine sends one gradient to a node, so each output gets an
  ``OutputSlot`` node of its own, whose parent is the call's node and whose backward sends its
  gradient on under its output's index (an ``OutputGrads``, which the engine adds with ``+``).
* ``FunctionCtx.backward``, called by the engine (with recording on only under
  ``create_graph``, so a backward written with Tensor ops gives second derivatives): one
  gradient per output (zeros for outputs that got none, unless ``set_materialize_grads(False)``)
  to the class's ``backward``; its result is checked: one gradient per forward input, each of
  the input's shape (a gradient of a shape the input broadcasts to is summed down to it).

The newer form, ``forward(*args)`` without ctx plus ``setup_context(ctx, inputs, output)``,
works too.

=== FunctionCtx (ctx and node)  apply  OutputSlot  OutputGrads
"""
import inspect

import numpy as np

from . import grad_mode
from ..tensor import Tensor

__all__ = ["FunctionCtx"]

_grad = grad_mode.state


# === FunctionCtx: the ctx of one call, and its node in the graph ===========
class FunctionCtx:
    """What ``forward`` (or ``setup_context``) leaves for ``backward``: ``save_for_backward``,
    ``saved_tensors``, ``needs_input_grad`` (per forward argument: a Tensor that requires grad),
    ``mark_dirty``, ``mark_non_differentiable``, ``set_materialize_grads``, and any attribute
    set on it (``ctx.constant = c``)."""

    __slots__ = ()  # a mixin of the node class; the call's state is in the node's __dict__
    saved = None    # Function.saved (array form) does not apply here: ``ctx.saved = ...`` is free

    # ---- what forward calls
    def save_for_backward(ctx, *tensors):
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"{_name(ctx)}: save_for_backward can only save Tensors (or "
                                f"None), but argument {i} is of type {type(t).__name__}; keep "
                                "other values as attributes of ctx (ctx.k = k)")
        ctx._to_save = tensors

    def mark_dirty(ctx, *tensors):
        """forward changed these inputs in place and returns them."""
        ctx._dirty = tensors

    def mark_non_differentiable(ctx, *tensors):
        """These outputs get no gradient (indices, masks); backward still receives one per output."""
        ctx._non_differentiable = tensors

    def set_materialize_grads(ctx, value):
        """With True (the default), outputs that got no gradient reach backward as zeros; with
        False, as None."""
        ctx.materialize_grads = bool(value)

    @property
    def saved_tensors(ctx):
        """What forward saved, checked against in-place modification since forward."""
        saved = ctx._saved
        if saved is None:
            raise RuntimeError(
                f"{_name(ctx)}: trying to backward through the graph a second time (or to use "
                "its saved tensors after they were freed). Saved tensors are freed after the "
                "first backward; pass retain_graph=True to the first backward() if you need to "
                "backward twice.")
        for k, (vc, version) in enumerate(ctx._versions):
            if vc is not None and vc[0] != version:
                raise RuntimeError(
                    f"{_name(ctx)}: one of the tensors needed for gradient computation "
                    f"(ctx.saved_tensors[{k}]) has been modified by an in-place operation (its "
                    f"version is {vc[0]}, expected {version}). Use the out-of-place op (e.g. "
                    "x = x + 1 instead of x += 1) or clone() the tensor before modifying it.")
        # an output is kept as its array (a node holding its own output would be a cycle)
        return tuple(_output(ctx, s) if type(s) is int else s for s in saved)

    # ---- what the engine calls
    def backward(ctx, grad):
        fn = ctx._forward_cls
        outputs = ctx._outputs
        if ctx._single:
            grads = [grad]
        else:
            grads = [grad.parts.get(i) for i in range(len(outputs))]
            if ctx.materialize_grads:
                grads = [Tensor._make(np.zeros(*meta)) if g is None and meta is not None else g
                         for g, meta in zip(grads, outputs)]
        result = _user_backward(fn)(ctx, *grads)
        return _check_grads(ctx, result)

    @classmethod
    def name(cls):
        return cls._forward_cls.__name__ + "Backward"

    def __repr__(ctx):
        return f"<{type(ctx).__name__}>"


# === apply: forward with recording off, then one node for the call ==========
def apply(cls, *args, **kwargs):
    """``cls.forward`` on ``args`` and, when grad mode is on and a Tensor argument requires
    grad, the node that ties the outputs to the inputs. (Each PyTorch-form class's ``apply``.)"""
    setup_context = getattr(cls, "setup_context", None)
    if kwargs or setup_context is not None:  # as PyTorch: keyword arguments are inputs too
        args, kwargs = _bind(cls, args, kwargs, setup_context)
    ctx = cls._backward_cls.__new__(cls._backward_cls)
    ctx._to_save = ()
    ctx._dirty = ctx._non_differentiable = ()
    ctx.materialize_grads = True
    needs = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
    ctx.needs_input_grad = needs
    recording = _grad.enabled
    _grad.enabled = False
    try:
        if setup_context is None:
            out = cls.forward(ctx, *args, **kwargs)
        else:
            out = cls.forward(*args, **kwargs)
            setup_context(ctx, args, out)
    finally:
        _grad.enabled = recording
    single = isinstance(out, Tensor)
    if not single and not isinstance(out, tuple):
        if isinstance(out, np.ndarray):
            _refuse_array(cls)
        return out  # any other object passes through, as in PyTorch
    if not single and any(isinstance(o, np.ndarray) for o in out):
        _refuse_array(cls)
    if not recording or True not in needs:
        return out
    return _record(ctx, args, single, (out,) if single else out)


def _record(ctx, args, single, outs):
    """Give the outputs their node (or one OutputSlot each) and keep what was saved."""
    inputs = [a if isinstance(a, Tensor) else None for a in args]
    dirty = ctx._dirty
    for t in dirty:
        i = _index(inputs, t)
        if i is None:
            raise RuntimeError(f"{_name(ctx)}: mark_dirty was given a tensor that is not an "
                               "input of forward; only inputs changed in place can be marked dirty")
        if t._node is None and t.requires_grad:
            raise RuntimeError(
                f"{_name(ctx)}: forward changed input {i} in place (mark_dirty), but it is a "
                "leaf tensor that requires grad, whose value is what the gradient is taken "
                "with respect to. Pass a copy (x.clone()), or do it under no_grad().")
        if _index(outs, t) is None:
            raise RuntimeError(f"{_name(ctx)}: input {i} was marked dirty but forward did not "
                               "return it; forward must return the tensors it changed in place")
    # per input: the node that made it, itself (a leaf that requires grad) or None
    ctx.parents = tuple([None if t is None else
                         t._node if t._node is not None else t if t.requires_grad else None
                         for t in inputs])
    ctx._hooks = ctx._retained = None
    ctx._inputs = tuple([None if t is None else (t.array.shape, t.array.dtype) for t in inputs])
    ctx._outputs = tuple([(o.array.shape, o.array.dtype) if isinstance(o, Tensor) else None
                          for o in outs])
    ctx._single = single

    results, arrays = [], []
    for i, o in enumerate(outs):
        if (not isinstance(o, Tensor) or o.array.dtype.kind != "f"
                or _index(ctx._non_differentiable, o) is not None):
            results.append(o.detach() if isinstance(o, Tensor) and o.requires_grad else o)
            arrays.append(None)
            continue
        node = ctx if single else _output_slot(ctx, i)
        if _index(dirty, o) is not None:  # the input's own history now ends in this call
            o._node = node
            o.requires_grad = True
            results.append(o)
        else:
            r = Tensor._make(o.array, node)
            r._vc = o._vc  # the same memory
            results.append(r)
        arrays.append(o.array)

    saved, versions = [], []
    for t in ctx._to_save:
        i = None if t is None else _index(outs, t)
        if i is not None and arrays[i] is not None and (_index(inputs, t) is None
                                                        or _index(dirty, t) is not None):
            saved.append(i)  # an output: kept as its array, made a Tensor again in backward
        else:
            saved.append(t)
        versions.append((None, 0) if t is None else (t._vc, t._vc[0]))
    ctx._to_save = None
    ctx._saved, ctx._versions = saved, versions
    ctx._out = {i: arrays[i] for i in saved if type(i) is int} or None  # the saved outputs only
    return results[0] if single else tuple(results)


def _output(ctx, i):
    """Output ``i`` again, with its place in the graph (for a second derivative)."""
    node = ctx if ctx._single else _output_slot(ctx, i)
    return Tensor._make(ctx._out[i], node)


def _bind(cls, args, kwargs, setup_context):
    """args with the keyword arguments bound to their places (and, for setup_context's
    ``inputs``, the defaults filled in), as PyTorch passes them."""
    params = inspect.signature(cls.forward)
    bound = params.bind(*args, **kwargs) if setup_context else params.bind(None, *args, **kwargs)
    if setup_context:
        bound.apply_defaults()
        return bound.args, bound.kwargs
    return bound.args[1:], bound.kwargs


def _user_backward(fn):
    for c in fn.__mro__:  # the PyTorch-form classes, most derived first
        if "_backward_cls" in vars(c):
            if "backward" in vars(c):
                return fn.backward
            if "vjp" in vars(c):  # PyTorch's other name for it
                return fn.vjp
    raise NotImplementedError(
        f"{fn.__name__}: the custom Function defines no backward; add "
        "@staticmethod def backward(ctx, *grad_outputs) returning one gradient per forward input")


def _check_grads(ctx, result):
    """One gradient per forward input, of the input's shape and dtype; None where the input is
    not a Tensor or needs no gradient."""
    name = _name(ctx)
    if not isinstance(result, (tuple, list)):
        result = (result,)
    n = len(ctx.parents)
    if len(result) != n:
        if len(result) > n and all(g is None for g in result[n:]):
            result = result[:n]  # trailing Nones are fine, as in PyTorch
        else:
            raise RuntimeError(
                f"{name} returned an incorrect number of gradients (expected {n}, got "
                f"{len(result)}): backward returns one gradient per forward input, None for "
                "inputs that are not Tensors or need no gradient")
    grads = list(result)
    for i, g in enumerate(result):
        if g is None:
            continue
        meta = ctx._inputs[i]
        if meta is None:
            raise RuntimeError(f"{name} returned a gradient different from None for input {i}, "
                               f"but forward's input {i} was not a Tensor; return None there")
        if not isinstance(g, Tensor):
            raise TypeError(f"{name} returned a {type(g).__module__}.{type(g).__name__} as the "
                            f"gradient of input {i}; expected a Tensor or None")
        if ctx.parents[i] is None:  # an input that needs no gradient: it is dropped
            grads[i] = None
            continue
        shape, dtype = meta
        if g.array.shape != shape:
            if not _broadcasts(shape, g.array.shape):
                raise RuntimeError(
                    f"{name} returned an invalid gradient for input {i}: expected shape "
                    f"{tuple(shape)} (the input's shape), got {tuple(g.array.shape)}")
            g = _sum_to(g, shape)
        if g.array.dtype != dtype:
            g = g.to(dtype)
        grads[i] = g
    return tuple(grads)


def _broadcasts(shape, to):
    try:
        return np.broadcast_shapes(shape, to) == tuple(to)
    except ValueError:
        return False


def _sum_to(g, shape):
    """g summed over what broadcasting ``shape`` to g's shape added (Tensor ops: differentiable)."""
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(dim=tuple(range(lead)))
    dims = tuple(d for d, n in enumerate(shape) if n == 1 and g.shape[d] != 1)
    return g.sum(dim=dims, keepdim=True) if dims else g


def _index(items, t):
    """The position of ``t`` (this very object) in items, or None."""
    for i, x in enumerate(items):
        if x is t:
            return i
    return None


def _name(ctx):
    return type(ctx)._forward_cls.__name__ + "Backward"


def _refuse_array(cls):
    raise TypeError(
        f"{cls.__name__}.forward returned a NumPy array; a Function whose forward is a "
        "@staticmethod is written in PyTorch's form and works on Tensors: return "
        "torch.from_numpy(...) of it, or write forward(ctx, x) as a plain method to use "
        "gradkit's array form")


# === several outputs: one OutputSlot node per output ========================
class OutputSlot:
    """The node of one output of a multi-output call; its parent is the call's node. (A mixin
    of function.py's ``Function`` as ``OutputNode``.)"""

    __slots__ = ()

    def backward(node, grad):
        return (OutputGrads(node.index, grad),)

    def name(node):
        return node.parents[0].name()

    def __repr__(node):
        return f"<{node.name()}>"


def _output_slot(ctx, i):
    node = ctx._output_node.__new__(ctx._output_node)
    node.parents = (ctx,)
    node.needs_input_grad = (True,)
    node.index = i
    node._hooks = node._retained = None
    node._saved = node._versions = ()
    return node


class OutputGrads:
    """The gradients of some outputs of a call: {output index: gradient}. The engine adds the
    gradients that meet at a node with ``+``; adding OutputGrads merges them."""

    __slots__ = ("parts",)

    def __init__(self, i, g):
        self.parts = {i: g}

    def __add__(self, other):
        for i, g in other.parts.items():
            self.parts[i] = self.parts[i] + g if i in self.parts else g
        return self

    @property
    def array(self):  # read by detect_anomaly's finiteness check
        return np.concatenate([g.array.reshape(-1) for g in self.parts.values()])
