"""Ready-made parametrizations (PyTorch's ``nn.utils.parametrizations``)."""
from ..module import Module
from . import parametrize
from .weight_norm import _weight_norm, norm_except_dim


class _WeightNorm(Module):
    # weight = g · v / ‖v‖ from (original0 = g, original1 = v)
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, self.dim).detach(), weight.detach()


def weight_norm(module, name="weight", dim=0):
    """Weight normalisation as a parametrization: ``module.parametrizations.weight.original0``
    holds g (the norms along ``dim``), ``original1`` holds v; ``module.weight`` is g · v / ‖v‖."""
    return parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


__all__ = ["weight_norm"]
