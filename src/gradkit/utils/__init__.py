"""PyTorch-shaped aliases: ``torch.utils.data`` is ``gradkit.data`` here, ``torch.utils.checkpoint``
is ``gradkit.utils.checkpoint``; and ``gradkit.utils.memory`` (keeping freed memory for reuse)."""
from . import checkpoint, data, memory  # noqa: F401
