"""Numerical gradient check: central differences in float64 against the engine's gradients."""
import numpy as np

from ..tensor import Tensor
from .functional import grad as _grad


def _as_tuple(x):
    return x if isinstance(x, tuple) else (tuple(x) if isinstance(x, list) else (x,))


def numerical_jacobian(fn, inputs, eps=1e-6):
    """J[k] has shape (output numel, inputs[k] numel): d out_i / d in_j by central differences."""

    outs = _as_tuple(fn(*inputs))
    n_out = sum(o.array.size for o in outs)
    jac = []
    for x in inputs:
        if not isinstance(x, Tensor) or not x.requires_grad:
            jac.append(None)
            continue
        J = np.zeros((n_out, x.array.size))
        flat = x.array.reshape(-1)  # a view: perturb in place, restore after
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = np.concatenate([o.array.reshape(-1) for o in _as_tuple(fn(*inputs))])
            flat[j] = orig - eps
            minus = np.concatenate([o.array.reshape(-1) for o in _as_tuple(fn(*inputs))])
            flat[j] = orig
            J[:, j] = (plus - minus) / (2 * eps)
        jac.append(J)
    return jac


def analytical_jacobian(fn, inputs):

    outs = _as_tuple(fn(*inputs))
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    rows = []
    for o in outs:
        flat_o = o.reshape(-1)
        for i in range(flat_o.shape[0]):
            if not flat_o.requires_grad:
                rows.append([np.zeros(x.array.size) for x in diff])
                continue
            gs = _grad(flat_o[i], diff, retain_graph=True, allow_unused=True)
            rows.append([np.zeros(x.array.size) if g is None else g.array.reshape(-1) for g, x in
                         zip(gs, diff)])
    jac, k = [], 0
    for x in inputs:
        if not isinstance(x, Tensor) or not x.requires_grad:
            jac.append(None)
            continue
        jac.append(np.array([r[k] for r in rows]).reshape(len(rows), x.array.size))
        k += 1
    return jac


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check ``fn``'s gradients at ``inputs`` against central differences.

    inputs: a Tensor or a tuple of them; those with ``requires_grad`` must be float64 (a float32
    central difference has too few digits to judge anything). Passes when, for every Jacobian
    entry, ``|analytical - numerical| <= atol + rtol * |numerical|``. On failure raises (or
    returns False) naming the input and the worst entry.
    """

    inputs = _as_tuple(inputs)
    for k, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x.dtype != np.float64:
            raise TypeError(f"gradcheck: input {k} is {x.dtype}; gradcheck needs float64 inputs "
                            "(use x.double())")
    num = numerical_jacobian(fn, inputs, eps)
    ana = analytical_jacobian(fn, inputs)
    for k, (n, a) in enumerate(zip(num, ana)):
        if n is None:
            continue
        err = np.abs(a - n) - (atol + rtol * np.abs(n))
        if err.size and (err.max() > 0 or not np.isfinite(a).all()):
            i, j = np.unravel_index(np.nanargmax(np.where(np.isfinite(err), err, np.inf)), err.shape)
            msg = (f"gradcheck: Jacobian mismatch for input {k} at output element {i}, input "
                   f"element {j}: numerical {float(n[i, j]):.10g}, analytical {float(a[i, j]):.10g} "
                   f"(|diff| {abs(a[i, j] - n[i, j]):.3g} > atol {atol} + rtol {rtol} * |numerical|)")
            if raise_exception:
                raise AssertionError(msg)
            return False
    return True
