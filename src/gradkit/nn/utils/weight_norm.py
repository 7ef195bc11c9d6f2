"""Weight normalisation, the original hook form: w = g · v / ‖v‖ (Salimans & Kingma, 2016).

``weight_norm(module)`` replaces the parameter ``weight`` by ``weight_g`` (the norms, one per
slice along ``dim``) and ``weight_v`` (the direction), and recomputes ``weight`` before every
forward; ``remove_weight_norm`` folds them back. Names and state_dict keys are PyTorch's. The
parametrization form (``parametrizations.weight_norm``) is in parametrizations.py.
"""
from ... import ops
from ..module import Parameter


def norm_except_dim(v, dim):
    """‖v‖ over every dim but ``dim`` (keeping them, size 1); over all of v when dim is None/-1."""
    if dim is None or dim == -1:
        return ops.sqrt((v * v).sum())
    dims = tuple(d for d in range(v.ndim) if d != dim % v.ndim)
    return ops.sqrt((v * v).sum(dims, keepdim=True))


def _weight_norm(v, g, dim):
    return v * (g / norm_except_dim(v, dim))


class _WeightNormHook:
    def __init__(self, name, dim):
        self.name, self.dim = name, dim

    def compute(self, module):
        return _weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"),
                            self.dim)

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute(module))


def weight_norm(module, name="weight", dim=0):
    """Reparametrise ``module.<name>`` as ``<name>_g · <name>_v / ‖<name>_v‖``; returns module.

    >>> layer = nn.utils.weight_norm(nn.Linear(20, 40)); layer.weight_g.shape
    (40, 1)
    """
    hooks = module.__dict__.setdefault("_weight_norm_hooks", {})
    if name in hooks:
        raise RuntimeError(f"weight_norm: {type(module).__name__}.{name} already has weight norm")
    w = getattr(module, name)
    hook = _WeightNormHook(name, dim)
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(norm_except_dim(w, dim).detach()))
    module.register_parameter(name + "_v", Parameter(w.detach()))
    setattr(module, name, hook.compute(module))
    hooks[name] = (hook, module.register_forward_pre_hook(hook))
    return module


def remove_weight_norm(module, name="weight"):
    """Undo weight_norm: ``<name>`` is a Parameter again, holding g · v / ‖v‖."""
    hooks = module.__dict__.get("_weight_norm_hooks", {})
    if name not in hooks:
        raise ValueError(f"remove_weight_norm: weight_norm of '{name}' not found in "
                         f"{type(module).__name__}")
    hook, handle = hooks.pop(name)
    w = hook.compute(module).detach()
    handle.remove()
    delattr(module, name)
    delattr(module, name + "_g")
    delattr(module, name + "_v")
    module.register_parameter(name, Parameter(w))
    return module
