"""Parametrizations (PyTorch's ``nn.utils.parametrize``): a module's tensor computed on access.

``register_parametrization(m, "weight", P())`` moves ``m.weight`` into
``m.parametrizations.weight.original`` (or ``original0``, ``original1``, ... when
``P.right_inverse`` returns several tensors) and makes ``m.weight`` a property that returns
``P()(original)``, recomputed at every access, so gradients reach the originals. As in PyTorch,
the module's class is swapped for a subclass that holds the property; state_dict keys are
PyTorch's (``parametrizations.weight.original0``).
"""
from ...tensor import Tensor
from ..containers import ModuleDict, ModuleList
from ..module import Parameter


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the original(s) they act on."""

    def __init__(self, modules, original):
        super().__init__(modules)
        first = modules[0]
        new = first.right_inverse(original) if hasattr(first, "right_inverse") else original
        if isinstance(new, Tensor):
            self.is_tensor = True
            self.register_parameter("original", Parameter(new.detach(), original.requires_grad))
        else:
            self.is_tensor = False
            self.ntensors = len(new)
            for i, t in enumerate(new):
                self.register_parameter(f"original{i}", Parameter(t.detach(), original.requires_grad))

    def forward(self):
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in list(self)[1:]:
            x = m(x)
        return x


def _property(name):
    def get(module):
        return module.parametrizations[name]()

    def set(module, value):
        raise RuntimeError(f"parametrize: assigning to the parametrized '{name}' is not supported; "
                           "write to module.parametrizations[name].original instead")
    return property(get, set)


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` the output of ``parametrization`` on the original tensor."""
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        return module
    original = getattr(module, tensor_name)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {"_unparametrized": cls})
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = ParametrizationList([parametrization], original)
    setattr(type(module), tensor_name, _property(tensor_name))
    return module


def is_parametrized(module, tensor_name=None):
    p = module.__dict__.get("_modules", {}).get("parametrizations")
    if p is None:
        return False
    return tensor_name is None or tensor_name in p


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo register_parametrization: ``<tensor_name>`` is a Parameter again, holding the
    current computed value (or the original, with ``leave_parametrized=False``)."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no "
                         f"parametrization on '{tensor_name}'")
    plist = module.parametrizations[tensor_name]
    value = getattr(module, tensor_name) if leave_parametrized or not plist.is_tensor else plist.original
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    if not len(module.parametrizations):
        delattr(module, "parametrizations")
        module.__class__ = type(module)._unparametrized
    module.register_parameter(tensor_name, Parameter(value.detach()))
    return module


__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized",
           "ParametrizationList"]
