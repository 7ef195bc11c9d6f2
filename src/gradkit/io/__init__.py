"""Files: checkpoints in safetensors (``gk.save``/``gk.load``), atomic writes."""
from .checkpoint import atomic_write_bytes, load, save

__all__ = ["save", "load", "atomic_write_bytes"]
