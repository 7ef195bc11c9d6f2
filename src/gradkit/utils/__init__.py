"""PyTorch-shaped aliases: ``torch.utils.data`` is ``gradkit.data`` here."""
from . import data  # noqa: F401
