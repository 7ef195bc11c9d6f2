"""PyTorch-shaped aliases: ``torch.utils.data`` is ``gradkit.data`` here, ``torch.utils.checkpoint``
is ``gradkit.utils.checkpoint``."""
from . import checkpoint, data  # noqa: F401
