"""``gk.accelerator``: PyTorch's device-neutral questions (``torch.accelerator``). The CPU is not
an accelerator, so a build without a GPU backend has none: ``is_available()`` is False and
``current_accelerator()`` is None, and programs written as
``device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else
"cpu"`` run on the CPU."""
from . import devices as _device

__all__ = ["is_available", "current_accelerator", "device_count"]


def is_available():
    return any(t != "cpu" for t in _device.AVAILABLE)


def current_accelerator(check_available=False):
    return None


def device_count():
    return 0
