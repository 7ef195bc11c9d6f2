"""ModulesToSaveWrapper: a module trained in full beside the adapters (a classifier head).

PEFT keeps the original (frozen) and a trainable copy side by side, so that
``disable_adapter()`` can still run the original; the copy is what ``save_pretrained`` writes,
under the module's own name (``base_model.model.score.weight``).
"""
import copy

from .. import nn

__all__ = ["ModulesToSaveWrapper"]


class ModulesToSaveWrapper(nn.Module):
    """``original_module`` (frozen) and ``modules_to_save[adapter_name]``, a trainable copy that
    forward runs unless the adapters are disabled."""

    def __init__(self, module_to_save, adapter_name="default"):
        super().__init__()
        self.original_module = module_to_save
        self.modules_to_save = nn.ModuleDict({adapter_name: copy.deepcopy(module_to_save)})
        self.active_adapter = adapter_name
        self.disable_adapters = False
        self.original_module.requires_grad_(False)
        self.modules_to_save[adapter_name].requires_grad_(True)

    def forward(self, *args, **kwargs):
        if self.disable_adapters:
            return self.original_module(*args, **kwargs)
        return self.modules_to_save[self.active_adapter](*args, **kwargs)

    def __getattr__(self, name):
        # a model may read the wrapped module's attributes (self.classifier.out_features)
        if name.startswith("_") or "modules_to_save" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.modules_to_save[self.__dict__["active_adapter"]], name)
