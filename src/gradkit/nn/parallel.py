"""gradkit.nn.parallel: ``torch.nn.parallel``'s wrappers, for programs that wrap their model.

    model = nn.DataParallel(model)          # or nn.parallel.DataParallel

gradkit computes on one device, where PyTorch's ``DataParallel`` (on a machine without GPUs)
holds the model as ``.module`` and calls it: so does this one. Its state_dict keys are the
model's prefixed with ``module.``, as PyTorch's, so checkpoints move between the two;
``model.module`` is the wrapped model. ``DistributedDataParallel`` needs a process group, which
gradkit never has (see gradkit.distributed): it raises ValueError when constructed, as PyTorch's
does before ``init_process_group``.
"""
from ..distributed import no_process_group
from .module import Module

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]


class DataParallel(Module):
    """Holds ``module`` and calls it: ``forward(*inputs, **kwargs) = module(*inputs, **kwargs)``.

    ``device_ids``, ``output_device`` and ``dim`` are accepted and unused (one device), as in
    PyTorch without GPUs; ``device_ids`` is then ``[]``.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: module must be a gradkit.nn.Module; got "
                            f"{type(module).__name__}")
        self.module = module
        self.device_ids = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """The functional form: ``module(*inputs, **module_kwargs)`` on the one device."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))


class DistributedDataParallel(Module):
    """Raises ValueError when constructed: there is no process group to synchronise with."""

    def __init__(self, module, *args, **kwargs):
        raise no_process_group("DistributedDataParallel")
