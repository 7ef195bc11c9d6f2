"""Files: checkpoints in safetensors (``gk.save``/``gk.load``), atomic writes, and the whole
state of a training run for an exact resume (``save_checkpoint``/``load_checkpoint``)."""
from .checkpoint import atomic_write_bytes, load, save
from .resume import load_checkpoint, save_checkpoint

__all__ = ["save", "load", "atomic_write_bytes", "save_checkpoint", "load_checkpoint"]
