"""Files: checkpoints in safetensors (``gk.save``/``gk.load``), atomic writes, and resumable
training checkpoints (``save_checkpoint``/``load_checkpoint``)."""
from .checkpoint import (SafetensorsFile, atomic_write_bytes, flatten_state, load, pickle_error,
                         save, unflatten_state)
from .resume import load_checkpoint, save_checkpoint

__all__ = ["save", "load", "atomic_write_bytes", "save_checkpoint", "load_checkpoint",
           "SafetensorsFile", "pickle_error", "flatten_state", "unflatten_state"]
