"""``torch.utils.checkpoint`` for gradkit: ``from gradkit.utils.checkpoint import checkpoint``.

Names only; the mechanism (a node whose backward reruns the function) is
``gradkit/autograd/checkpoint.py``.
"""
from ..autograd.checkpoint import checkpoint, checkpoint_sequential

__all__ = ["checkpoint", "checkpoint_sequential"]
