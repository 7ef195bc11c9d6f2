"""Gradient utilities: clipping, parameters as one flat vector, building without initialising;
``rnn`` (pad_sequence), weight normalisation (``weight_norm``, ``parametrizations.weight_norm``)
and ``parametrize`` in the modules beside this one."""
import numpy as np

from ... import _internal
from ...tensor import Tensor
from .. import init


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.
    Returns the norm before clipping (a 0-d tensor)."""
    parameters = _params(parameters)
    grads = [p.grad.array for p in parameters if p.grad is not None]
    if not grads:
        return Tensor(0.0)
    norm_type = float(norm_type)
    if norm_type == float("inf"):
        total = max(float(np.abs(g).max()) for g in grads)
    else:
        total = float(sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads)
                      ** (1.0 / norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients "
                           "is non-finite; set error_if_nonfinite=False to clip anyway")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in parameters:
            if p.grad is not None:
                p.grad = _internal.wrap(p.grad.array * p.grad.array.dtype.type(coef))
    return Tensor(np.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient element into [-clip_value, clip_value]."""
    for p in _params(parameters):
        if p.grad is not None:
            p.grad = _internal.wrap(np.clip(p.grad.array, -clip_value, clip_value))


def parameters_to_vector(parameters):
    """All parameters flattened into one 1-D tensor (a copy)."""
    return _internal.wrap(np.concatenate([p.array.reshape(-1) for p in _params(parameters)]))


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into the parameters (the inverse of the above)."""
    data = _internal.as_array(vec)
    ps = _params(parameters)
    total = sum(p.array.size for p in ps)
    if data.ndim != 1 or data.size != total:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector of {total} elements (the "
                         f"parameters' total), got shape {data.shape}")
    i = 0
    for p in ps:
        n = p.array.size
        p.array[...] = data[i:i + n].reshape(p.shape)
        _internal.bump_version(p)
        i += n


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with its parameters left uninitialised, as PyTorch's
    ``torch.nn.utils.skip_init``: for a module whose weights are loaded next (pretrained models),
    it skips drawing random values that would be overwritten."""
    with init.skipped():
        return module_cls(*args, **kwargs)


from . import parametrizations, parametrize, rnn  # noqa: E402
from .weight_norm import remove_weight_norm, weight_norm  # noqa: E402
