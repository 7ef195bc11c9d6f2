"""Devices: where a tensor's numbers live. ``gk.device("cpu")`` is PyTorch's ``torch.device``.

gradkit computes with NumPy, on the CPU; the CPU is a real device here, not a placeholder, and
a tensor's ``.device`` is ``device(type='cpu')``. The device types a build can run on are listed
in ``AVAILABLE``; the GPU backend (CuPy) adds ``"cuda"`` there when it lands, and nothing else
in this API changes. Until then, asking for a device that is not available (``x.to("cuda")``,
``x.cuda()``, ``gk.zeros(3, device="cuda")``) raises one clear error, and the checks programs
make before choosing a device answer honestly: ``gk.cuda.is_available()`` is False,
``gk.backends.mps.is_available()`` is False, ``gk.accelerator.current_accelerator()`` is None.
So the usual ``device = "cuda" if torch.cuda.is_available() else "cpu"`` picks the CPU.
"""

__all__ = ["device", "as_device", "check_available", "AVAILABLE", "CPU"]

AVAILABLE = ("cpu",)
KNOWN = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "mtia", "privateuseone")


class device:  # noqa: N801  torch.device's name
    """``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 0)``, ``device(other_device)``.

    Making a device object never fails for a known type (as in PyTorch, ``device("cuda")`` is
    just a name); using one that is not available does. As in PyTorch, a device equals another
    device of the same type and index, never a string: write ``x.device.type == "cpu"``.
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002  torch.device's argument name
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and not isinstance(type, bool):  # torch.device(0) is cuda:0
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string such as 'cpu' or 'cuda:0', got "
                            f"{type!r}")
        name, _, number = type.partition(":")
        if number:
            if index is not None:
                raise ValueError(f"device(): type {type!r} already holds an index; give it once")
            if not number.isdigit():
                raise ValueError(f"device(): invalid device string {type!r}; expected 'cpu', "
                                 "'cuda' or 'cuda:N'")
            index = int(number)
        if name not in KNOWN:
            raise ValueError(f"device(): unknown device type {name!r}; expected one of "
                             f"{', '.join(KNOWN)} (gradkit runs on {', '.join(AVAILABLE)})")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise ValueError(f"device(): the index must be a non-negative int, got {index!r}")
        object.__setattr__(self, "type", name)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"

    def __eq__(self, other):
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return device, (self.type, self.index)


CPU = device("cpu")


def as_device(value):
    """A ``device`` from a string, an int (a CUDA index, as PyTorch reads it) or a device."""
    return value if isinstance(value, device) else device(value)


def check_available(value, where):
    """The device ``value`` names, if this build can compute on it; otherwise a RuntimeError
    saying what to do. ``where`` names the call (``"Tensor.to"``)."""
    dev = as_device(value)
    if dev.type in AVAILABLE:
        return dev
    raise RuntimeError(
        f"{where}: device {str(dev)!r} is not available: gradkit computes on the CPU with NumPy "
        f"(available: {', '.join(AVAILABLE)}). Choose the device as PyTorch programs do, "
        "device = 'cuda' if gk.cuda.is_available() else 'cpu', or pass device='cpu'")


def is_device_like(value):
    """True for what ``.to()`` reads as a device: a device, or a string naming one."""
    if isinstance(value, device):
        return True
    if isinstance(value, str):
        return value.partition(":")[0] in KNOWN
    return False
