"""``gk.grad(outputs, inputs)``: gradients as return values, without touching ``.grad``."""
from ..tensor import Tensor, _implicit_grad
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
