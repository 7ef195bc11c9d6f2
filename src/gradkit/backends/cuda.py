"""``gk.backends.cuda``: ``matmul.allow_tf32`` and friends, kept and without effect on the CPU."""
from .. import cuda as _cuda

__all__ = ["matmul", "is_built"]


class _Matmul:
    """``torch.backends.cuda.matmul``: the TF32 and reduced-precision switches."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _Matmul()


def is_built():
    return _cuda.is_available()
