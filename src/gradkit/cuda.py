"""``gk.cuda``: PyTorch's ``torch.cuda`` questions, answered for a build without a GPU backend.

Programs ask before they choose a device (``torch.cuda.is_available()``), seed every device
(``torch.cuda.manual_seed_all``), and report memory; those calls answer as PyTorch's CPU build
does: no device, nothing allocated, seeding ignored. Calls that need a GPU to mean anything
(``synchronize``, ``current_device``, ``get_device_name``, ``set_device``) raise the error of
``gradkit.devices.check_available``. When the CuPy backend lands, this module asks it instead.
"""
from . import devices as _device

__all__ = ["is_available", "device_count", "is_initialized", "manual_seed", "manual_seed_all",
           "seed", "seed_all", "empty_cache", "memory_allocated", "max_memory_allocated",
           "memory_reserved", "max_memory_reserved", "reset_peak_memory_stats",
           "is_bf16_supported", "synchronize", "current_device", "get_device_name",
           "set_device", "device"]


def is_available():
    """False: this build computes on the CPU only."""
    return "cuda" in _device.AVAILABLE


def device_count():
    return 0


def is_initialized():
    return False


def manual_seed(seed):
    """Ignored without a GPU, as in PyTorch (gradkit's one generator: ``gk.manual_seed``)."""


manual_seed_all = seed = manual_seed


def seed_all():
    """Ignored without a GPU, as in PyTorch."""


def empty_cache():
    """Nothing is cached on a device that is not there."""


def memory_allocated(device=None):
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def reset_peak_memory_stats(device=None):
    """Nothing to reset without a GPU."""


def is_bf16_supported(including_emulation=True):
    return False


def _unavailable(where):
    _device.check_available("cuda", where)


def synchronize(device=None):
    _unavailable("gk.cuda.synchronize")


def current_device():
    _unavailable("gk.cuda.current_device")


def get_device_name(device=None):
    _unavailable("gk.cuda.get_device_name")


def set_device(device):
    _unavailable("gk.cuda.set_device")


class device:  # noqa: N801  torch.cuda.device, the context manager
    """``with gk.cuda.device(0):`` needs a GPU: entering it raises."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        _unavailable("gk.cuda.device")

    def __exit__(self, *exc):
        return False
