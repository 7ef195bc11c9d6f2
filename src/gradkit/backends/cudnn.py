"""``gk.backends.cudnn``: ``benchmark``, ``deterministic``, ``enabled`` and ``allow_tf32`` keep
what programs write (PyTorch's defaults); without cuDNN they change nothing."""
from .. import cuda as _cuda

benchmark = False
deterministic = False
enabled = True
allow_tf32 = True


def is_available():
    return _cuda.is_available()


def version():
    return None
