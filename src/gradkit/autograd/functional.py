"""Derivatives as return values, without touching ``.grad``: ``gk.grad(outputs, inputs)`` (one
vector-Jacobian product), ``jacobian(func, inputs)`` and ``hessian(func, inputs)`` (PyTorch's
``torch.autograd.functional``), and the Jacobian assembly that ``GradientTape.jacobian`` uses.

A Jacobian is built in reverse mode, one backward pass per element of the output: row k is
d out.flat[k] / d input, the vector-Jacobian product with the k-th unit vector.
"""
import numpy as np

from ..tensor import Tensor, _implicit_grad
from . import grad_mode
from .engine import run_backward


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """d(outputs)/d(inputs), vector-Jacobian product with ``grad_outputs`` (ones for scalars).

    >>> x = gk.tensor(2.0, requires_grad=True); y = x ** 3
    >>> (dy,) = gk.grad(y, x, create_graph=True)     # 3x² = 12, itself differentiable
    >>> (d2y,) = gk.grad(dy, x)                      # 6x = 12
    """

    single_in = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single_in else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for o in outputs:
        if not o.requires_grad:
            raise RuntimeError(
                "grad: an output does not require grad: it was not computed from any tensor with "
                "requires_grad=True (or it was computed under no_grad())")
    gs = [_implicit_grad(o, g, "grad") for o, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(outputs, gs, retain_graph=retain_graph, create_graph=create_graph,
                       inputs=inputs, allow_unused=allow_unused)
    return tuple(res)


# === Jacobians ===================================================================================
def jacobian_rows(vjp, output):
    """[vjp(e_k) for each element k of ``output``]: ``vjp(unit)`` returns, for each input, the
    gradient of Σ unit · output with respect to it (None where the input is unconnected)."""
    n = output.array.size
    rows = []
    for k in range(n):
        unit = np.zeros(n, output.array.dtype)
        unit[k] = 1
        rows.append(vjp(unit.reshape(output.shape)))
    return rows


def stack_gradients(grads, like, axis=0, differentiable=False):
    """The gradients ``grads`` (each shaped like ``like``, None for zeros) stacked along a new
    ``axis``. With ``differentiable``, the result stays in the graph (each gradient is written
    into its slot by a recorded in-place op), so a Jacobian can itself be differentiated."""
    shape = like.shape[:axis] + (len(grads),) + like.shape[axis:]
    if not differentiable or not any(g is not None and g.requires_grad for g in grads):
        out = np.zeros(shape, like.array.dtype)
        for k, g in enumerate(grads):
            if g is not None:
                out[(slice(None),) * axis + (k,)] = g.array
        return Tensor._make(out)
    out = Tensor._make(np.zeros(shape, like.array.dtype))
    for k, g in enumerate(grads):
        if g is not None:
            out[(slice(None),) * axis + (k,)] = g      # in place, recorded: differentiable
    return out


def _as_tuple(x, what, who):
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for t in xs:
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: {what} must be a Tensor or a tuple of Tensors, got "
                            f"{type(t).__name__}")
    return is_tuple, xs


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs`` (PyTorch's ``torch.autograd.functional.jacobian``).

    For one input and one output, a tensor of shape ``output.shape + input.shape``; for a tuple
    of inputs, a tuple (one per input); for a tuple of outputs, a tuple per output. An output
    that does not depend on an input gives zeros, or with ``strict=True`` an error.
    ``create_graph=True`` keeps the result differentiable (a Hessian is the Jacobian of a
    gradient). ``vectorize`` is accepted and ignored (one backward pass per output element).

    >>> gk.autograd.functional.jacobian(lambda x: x ** 2, gk.tensor([1.0, 2.0]))
    tensor([[2., 0.], [0., 4.]])
    """
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: strategy {strategy!r} is not available; gradkit computes "
                         "Jacobians in reverse mode only (strategy='reverse-mode')")
    in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    with grad_mode.enable_grad():
        # differentiate with respect to fresh leaves (or, to keep a graph, to copies of the inputs)
        ins = tuple(x.clone() if create_graph and x.requires_grad
                    else x.detach().requires_grad_(True) for x in ins)
        outputs = func(*ins)
        out_tuple, outs = _as_tuple(outputs, "the function's output", "jacobian")
        result = []
        for i, out in enumerate(outs):
            def vjp(unit, out=out):
                if not out.requires_grad:
                    return [None] * len(ins)
                return list(grad([out], list(ins), grad_outputs=[Tensor._make(unit)],
                                 retain_graph=True, create_graph=create_graph,
                                 allow_unused=True))
            rows = jacobian_rows(vjp, out)
            per_input = []
            for j, x in enumerate(ins):
                col = [r[j] for r in rows]
                if strict and all(g is None for g in col) and col:
                    raise RuntimeError(f"jacobian: output {i} does not depend on input {j} "
                                       "(strict=True); pass strict=False to get zeros")
                jac = stack_gradients(col, x, differentiable=create_graph)
                jac = jac.reshape(tuple(out.shape) + tuple(x.shape))
                per_input.append(jac if create_graph else jac.detach())
            result.append(tuple(per_input) if in_tuple else per_input[0])
    return tuple(result) if out_tuple else result[0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of the scalar function ``func`` at ``inputs`` (PyTorch's
    ``torch.autograd.functional.hessian``): the Jacobian of its gradient, shape
    ``input.shape + input.shape`` (a tuple of tuples for a tuple of inputs)."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor) or out.array.size != 1:
            raise RuntimeError("hessian: the function must return a single-element Tensor, got "
                               + (f"shape {out.shape}" if isinstance(out, Tensor)
                                  else type(out).__name__))
        if not out.requires_grad:
            if strict:
                raise RuntimeError("hessian: the output does not depend on the inputs "
                                   "(strict=True); pass strict=False to get zeros")
            return tuple(Tensor._make(np.zeros_like(x.array)) for x in xs)
        gs = grad([out.reshape(())], list(xs), create_graph=True, allow_unused=True)
        return tuple(Tensor._make(np.zeros_like(x.array)) if g is None else g
                     for g, x in zip(gs, xs))

    jac = jacobian(gradient, ins, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return jac if in_tuple else jac[0][0]
