"""``gk.backends``: the switches PyTorch programs set for their accelerator's math
(``torch.backends.cudnn.benchmark = True``, ``torch.backends.cuda.matmul.allow_tf32 = True``) and
the questions they ask (``torch.backends.mps.is_available()``).

The switches are real attributes that keep what is written to them, so programs that set and
read them run; on the CPU they change nothing, since gradkit's float32 matmul is always full
precision (NumPy's BLAS) and its ops are deterministic given the seed. ``use_deterministic_
algorithms`` and ``set_float32_matmul_precision`` are here too and re-exported as ``gk.<name>``,
where PyTorch has them.
"""
from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "set_float32_matmul_precision",
           "get_float32_matmul_precision"]

_deterministic = False
_precision = "highest"


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Accepted: every gradkit op is already deterministic (the same seed gives the same bits)."""
    global _deterministic
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms: mode must be True or False, got {mode!r}")
    _deterministic = mode


def are_deterministic_algorithms_enabled():
    return _deterministic


def set_float32_matmul_precision(precision):
    """'highest', 'high' or 'medium' (PyTorch's TF32/bfloat16 shortcuts on GPUs); the CPU
    matmul is full float32 whatever is chosen."""
    global _precision
    if precision not in ("highest", "high", "medium"):
        raise ValueError(f"set_float32_matmul_precision: expected 'highest', 'high' or 'medium', "
                         f"got {precision!r}")
    _precision = precision


def get_float32_matmul_precision():
    return _precision
