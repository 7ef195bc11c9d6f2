"""checkpoint(fn, *args): activation (gradient) checkpointing. The graph keeps a block's inputs
instead of its activations, and the backward recomputes them.

Training keeps every array that some backward formula reads until the backward gets there: for
a Transformer layer a dozen arrays of (B, L, hidden) and the attention weights (B, heads, L, L).
Run each layer through ``checkpoint`` and the graph keeps each layer's input only; the
activations of one layer at a time exist again, while the backward goes through it. Memory for
time: one more forward pass of every checkpointed layer (Chen et al., 2016, "Training Deep Nets
with Sublinear Memory Cost").

One node, Checkpoint, stands in the caller's graph for the whole call:

* forward: ``fn`` runs on new leaves over the tensor arguments' arrays, recording as usual. Its
  graph is walked once to find the other leaves it reached (the trainable parameters used
  inside) and then dropped; the node takes the arguments and those parameters as its inputs and
  keeps references to them, no copies. Recording here, instead of running under no_grad, is how
  the parameters are found: it holds one layer's activations for the length of the call, which
  the backward's recomputation needs anyway, so the peak is not raised.
* backward: the random generator is set back to its state at the forward (dropout draws the
  same masks), ``fn`` runs again, recording, and the incoming gradient is backpropagated through
  the recomputed graph to the argument leaves and the parameters, as ``gk.grad`` does (nothing
  is written to ``.grad`` there). Those are the node's input gradients, and the engine treats
  them as any node's: the parameters' go into ``.grad`` (with their hooks, once) or to
  ``gk.grad``'s results.

So the parameters get their gradients whether or not an input requires grad (PyTorch's
non-reentrant checkpoint; its reentrant one gives them none when no input does).

=== checkpoint  checkpoint_sequential  Checkpoint (the node)
"""
import warnings

import numpy as np

from .. import random as _random
from . import grad_mode
from .engine import run_backward
from .function import Function
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


# === checkpoint ============================================================
def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)``, keeping its tensor arguments instead of its activations;
    the backward recomputes them (see the module docstring).

    function: returns a Tensor, or a tuple/list of them (items that are not Tensors requiring
        grad pass through as they are).
    args, kwargs: passed to ``function``; the Tensors among them (at the top level: not inside
        lists) are the node's inputs and get their gradients. Tensors that require grad reach
        ``function`` this way or as parameters (leaves), not as results of earlier ops captured
        by a closure.
    use_reentrant: accepted for PyTorch code; gradkit has one implementation, with the
        behaviour of PyTorch's ``use_reentrant=False`` (keyword arguments, ``gk.grad``, and
        parameter gradients when no input requires grad all work).
    preserve_rng_state: replay the random generator (dropout masks) in the recomputation.
        Defaults to ``True``.

    Under ``no_grad`` the function is simply called. A function that changes state when run
    (a BatchNorm's running statistics in training mode) changes it twice; second derivatives
    (``create_graph=True``) through a checkpoint are refused.

    >>> h = checkpoint(layer, h, cos, sin)      # in a model's forward, one call per layer
    """
    if not grad_mode.state.enabled:
        return function(*args, **kwargs)
    call = _Call(function, args, kwargs, preserve_rng_state)
    tensors = [a for a in [*args, *kwargs.values()] if isinstance(a, Tensor)]
    out, xs = call.run([t.array for t in tensors], [t.requires_grad for t in tensors])
    roots = call.read_outputs(out)
    if not roots:
        if not any(t.requires_grad for t in tensors):
            warnings.warn(
                f"checkpoint({_name(function)}): none of the inputs requires grad, and neither "
                "does any parameter used inside: the output needs no gradient, and checkpointing "
                "saves nothing. Check requires_grad on the inputs and parameters, or call the "
                "function directly.", stacklevel=2)
        return out
    call.params = _leaves_reached(roots, {id(x) for x in xs})
    if len(roots) == 1:
        value = roots[0].array
    else:  # one node has one output: the outputs travel as one flat array, then are cut apart
        value = np.concatenate([r.array.reshape(-1) for r in roots],
                               dtype=np.result_type(*[r.array for r in roots]))
    del out, xs, roots  # the recorded graph goes with them: only the value is kept
    y = Checkpoint.apply(*tensors, *call.params, call=call, value=value)
    return call.write_outputs(y)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (an ``nn.Sequential`` or a list of modules) one after another on
    ``input``, checkpointing all but the last of ``segments`` consecutive runs of them (as
    PyTorch's: the last segment's activations are needed at once by the backward)."""
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    n = len(functions)
    if not 1 <= segments <= max(n, 1):
        raise ValueError(f"checkpoint_sequential: segments must be between 1 and the number of "
                         f"functions ({n}); got {segments}")
    size = n // segments

    def run(start, end):
        def segment(x):
            for f in functions[start:end]:
                x = f(x)
            return x
        return segment

    last = 0  # where the last segment, run without checkpoint, starts
    for start in range(0, size * (segments - 1), size):
        last = start + size
        input = checkpoint(run(start, last), input, use_reentrant=use_reentrant, **kwargs)
    return run(last, n)(input)


# === Checkpoint: the node ==================================================
class Checkpoint(Function):
    # y = fn(x₁…, θ₁…): the xᵢ the tensor arguments, the θⱼ the parameters fn uses;
    # dL/dxᵢ, dL/dθⱼ = the backward of fn's graph, recomputed from the saved xᵢ
    def forward(ctx, *arrays, call, value):
        ctx.call = call
        ctx.save_for_backward(*arrays)  # references (version-checked), not copies
        return value  # computed by checkpoint(), which recorded the run to find the θⱼ

    def backward(ctx, grad):
        if grad_mode.state.enabled:
            raise RuntimeError(
                f"checkpoint({_name(ctx.call.function)}): second derivatives (create_graph=True) "
                "through a checkpointed function are not supported; compute them without "
                "checkpoint (e.g. model.gradient_checkpointing_disable())")
        call = ctx.call
        n = len(call.slots)
        saved = ctx.saved  # raises if an input or parameter was changed in place since
        needs = ctx.needs_input_grad
        out, xs = call.replay([t.array for t in saved[:n]], needs[:n])
        roots, grads = call.output_grads(out, grad)
        params = [p for p, need in zip(call.params, needs[n:]) if need]
        wanted = [x for x in xs if x.requires_grad] + params
        # the parameters' hooks run once, when the engine that called us delivers their gradient
        hooks = [(p, p._hooks) for p in params if p._hooks]
        for p, _ in hooks:
            p._hooks = None
        try:
            found = run_backward(roots, grads, inputs=wanted, allow_unused=True)
        finally:
            for p, h in hooks:
                p._hooks = h
        found = iter(found)
        gx = [next(found) if x.requires_grad else None for x in xs]
        by_param = {id(p): next(found) for p in params}
        return tuple(gx) + tuple(by_param.get(id(p)) for p in call.params)


# === one checkpointed call =================================================
class _Call:
    """What the node needs to run ``function`` again: the function, the arguments with the
    places of the tensors among them, the generator's state at the forward, the parameters it
    reached, and the outputs' layout."""

    def __init__(self, function, args, kwargs, preserve_rng_state):
        self.function = function
        # the arguments with None where a tensor goes (the node saves the tensors), and where
        # each tensor goes: an index or a name
        self.args, self.kwargs, self.slots = list(args), dict(kwargs), []
        for where, a in [*enumerate(args), *kwargs.items()]:
            if isinstance(a, Tensor):
                self.slots.append(where)
                if type(where) is int:
                    self.args[where] = None
                else:
                    self.kwargs[where] = None
            elif isinstance(a, (list, tuple, dict)):
                _refuse_nested(function, where, a)
        self.rng = _random.get_rng_state() if preserve_rng_state else None
        self.params = []
        self.layout = None

    def run(self, arrays, requires):
        """``function`` on new leaves over ``arrays``, recording -> (its output, the leaves)."""
        xs = []
        for a, r in zip(arrays, requires):
            x = Tensor._make(a)
            x.requires_grad = bool(r)
            xs.append(x)
        args, kwargs = list(self.args), dict(self.kwargs)
        for where, x in zip(self.slots, xs):
            if type(where) is int:
                args[where] = x
            else:
                kwargs[where] = x
        with grad_mode.enable_grad():
            return self.function(*args, **kwargs), xs

    def replay(self, arrays, requires):
        """``run`` with the generator as it was at the forward, and as it is now afterwards."""
        if self.rng is None:
            return self.run(arrays, requires)
        now = _random.get_rng_state()
        _random.set_rng_state(self.rng)
        try:
            return self.run(arrays, requires)
        finally:
            _random.set_rng_state(now)

    # ---- outputs: a Tensor, or a tuple/list with some Tensors that require grad
    def read_outputs(self, out):
        """The outputs that require grad; remembers where they sit and their shapes."""
        if isinstance(out, Tensor):
            self.layout = None
            return [out] if out.requires_grad else []
        if not isinstance(out, (tuple, list)):
            raise TypeError(f"checkpoint({_name(self.function)}): the function must return a "
                            f"Tensor or a tuple/list of Tensors; got {type(out).__name__}")
        where = [i for i, o in enumerate(out) if isinstance(o, Tensor) and o.requires_grad]
        self.layout = (type(out), list(out), where, [(out[i].shape, out[i].dtype) for i in where])
        for i in where:
            self.layout[1][i] = None  # the forward's tensors (and their graph) are not kept
        return [out[i] for i in where]

    def write_outputs(self, y):
        """The node's output as the function's: itself, or the tuple with y's pieces put back."""
        if self.layout is None:
            return y
        kind, items, where, specs = self.layout
        items, start = list(items), 0
        for i, (shape, dtype) in zip(where, specs):
            size = int(np.prod(shape))
            piece = y[start:start + size].reshape(shape)
            items[i] = piece if piece.dtype == dtype else piece.to(dtype)
            start += size
        return kind(items)

    def output_grads(self, out, grad):
        """The recomputed outputs that require grad, and the gradient of each (cut from the
        node's flat gradient when there are several)."""
        if self.layout is None:
            roots, grads = [out], [grad]
            expected = [grad.shape]
        else:
            _, _, where, specs = self.layout
            roots = [out[i] if i < len(out) else None for i in where]
            grads, start, flat = [], 0, grad.array
            for shape, dtype in specs:
                size = int(np.prod(shape))
                grads.append(Tensor._make(flat[start:start + size].reshape(shape).astype(dtype, copy=False)))
                start += size
            expected = [s for s, _ in specs]
        for r, shape in zip(roots, expected):
            if not isinstance(r, Tensor) or r.shape != shape:
                got = r.shape if isinstance(r, Tensor) else type(r).__name__
                raise RuntimeError(
                    f"checkpoint({_name(self.function)}): recomputing the function gave "
                    f"{got} where the forward gave shape {shape}; the function must compute the "
                    "same thing both times (does it depend on state that changed in between?)")
        keep = [i for i, r in enumerate(roots) if r.requires_grad]
        return [roots[i] for i in keep], [grads[i] for i in keep]


def _leaves_reached(roots, own):
    """The leaves that require grad in the graph recorded from ``roots``, except those whose id
    is in ``own`` (the argument leaves): the parameters the function used, each once, in the
    order met."""
    found, seen, stack = {}, set(), []
    for r in roots:
        if r._node is not None:
            stack.append(r._node)
        elif id(r) not in own:
            found[id(r)] = r
    while stack:
        for p in stack.pop().parents:
            if p is None:
                continue
            if isinstance(p, Function):
                if id(p) not in seen:
                    seen.add(id(p))
                    stack.append(p)
            elif id(p) not in own and id(p) not in found:
                found[id(p)] = p
    return list(found.values())


def _refuse_nested(function, where, value):
    items = value.values() if isinstance(value, dict) else value
    if any(isinstance(v, Tensor) and v.requires_grad for v in items):
        name = f"argument {where}" if type(where) is int else f"keyword argument '{where}'"
        raise TypeError(f"checkpoint({_name(function)}): {name} is a {type(value).__name__} "
                        "holding tensors that require grad; pass each tensor as an argument of "
                        "its own, so that its gradient can reach it")


def _name(function):
    return getattr(function, "__name__", None) or type(function).__name__
