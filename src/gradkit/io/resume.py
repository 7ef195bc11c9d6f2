"""Exact resume: the whole state of a training run in one checkpoint file.

    gk.io.save_checkpoint("ckpt.safetensors", model=model, optimizer=opt, scheduler=sched,
                          epoch=epoch, step=step, loader=loader)
    ...                                              # the process dies; a new one builds the same
    state = gk.io.load_checkpoint("ckpt.safetensors", model=model, optimizer=opt,
                                  scheduler=sched, loader=loader)   # objects, then continues

What a run needs to continue as if it had never stopped, and where each part comes from:

    model, optimizer, scheduler, scaler   their ``state_dict()``
    the data loader's position            ``loader.state_dict()``: epoch, batch, seed (its
                                          shuffle order and augmentation are derived from these)
    every random number still to come     gradkit's global generator (dropout masks, random
                                          factories), saved as its bit-generator state
    callbacks                             each one's ``state_dict()`` (counters, best values)
    epoch, step, extra                    the caller's own bookkeeping, returned on load

The file is an ordinary ``gk.save`` file (safetensors: tensors and JSON, never pickle), written
atomically (temporary file, fsync, rename, the folder fsynced), so a crash during the save
leaves the previous checkpoint intact. A SHA-256 checksum over every tensor and value is stored
inside it, so a truncated, damaged or edited file names itself on load instead of resuming from
wrong numbers.
"""
import hashlib
import json
import os

import numpy as np

from .. import random as _random
from .checkpoint import _flatten, load, save

__all__ = ["save_checkpoint", "load_checkpoint"]

FORMAT = "gradkit.checkpoint/1"
_PARTS = ("model", "optimizer", "scheduler", "scaler", "loader")


def _state_of(obj, name):
    state_dict = getattr(obj, "state_dict", None)
    if not callable(state_dict):
        raise TypeError(f"save_checkpoint: {name}= must have a state_dict() method; got a "
                        f"{type(obj).__name__}")
    return state_dict()


def _callback_states(callbacks):
    """``callbacks``: a list (stored by position) or a dict (by name) of objects with
    ``state_dict()``/``load_state_dict()``."""
    if callbacks is None:
        return {}
    items = callbacks.items() if isinstance(callbacks, dict) else enumerate(callbacks)
    return {str(k): cb for k, cb in items if cb is not None}


def _checksum(state):
    """SHA-256 over the structure (as JSON) and every array's name, dtype, shape and bytes."""
    tensors = {}
    skeleton = _flatten(state, "", tensors)
    h = hashlib.sha256(json.dumps(skeleton).encode())
    for key, a in tensors.items():
        h.update(f"\0{key}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(memoryview(np.ascontiguousarray(a).reshape(-1)).cast("B"))
    return h.hexdigest()


def save_checkpoint(path, *, model=None, optimizer=None, scheduler=None, scaler=None,
                    epoch=None, step=None, loader=None, callbacks=None, extra=None):
    """Save everything a training run needs to continue exactly where it stands.

    Every argument is optional; pass what the run has. ``epoch`` and ``step`` are the caller's
    counters (returned by ``load_checkpoint``); ``loader`` is a ``DataLoader`` (or anything with
    ``state_dict()``) whose position inside the epoch is saved; ``callbacks`` a list or dict of
    objects with ``state_dict()``; ``extra`` any value ``gk.save`` can store (numbers, strings,
    arrays, lists and dicts of them). gradkit's global random generator is always saved.
    """
    state = {"format": FORMAT, "epoch": epoch, "step": step, "rng": _random.get_rng_state()}
    for name, obj in zip(_PARTS, (model, optimizer, scheduler, scaler, loader)):
        if obj is not None:
            state[name] = _state_of(obj, name)
    cbs = _callback_states(callbacks)
    if cbs:
        state["callbacks"] = {k: _state_of(cb, f"callbacks[{k}]") for k, cb in cbs.items()}
    if extra is not None:
        state["extra"] = extra
    state["checksum"] = _checksum(state)
    try:
        save(state, path)
    except OSError as e:  # disk full, permissions, a folder in the way: the old file is untouched
        if e.errno is None:  # gradkit's own message already (e.g. the folder does not exist)
            raise
        intact = "the previous checkpoint there is intact" if os.path.exists(path) else \
            "no earlier checkpoint was there"
        raise OSError(e.errno, f"save_checkpoint: could not write {os.fspath(path)} "
                               f"({e.strerror or e}); {intact}. Free space or fix the folder's "
                               "permissions, then save again") from e


def load_checkpoint(path, *, model=None, optimizer=None, scheduler=None, scaler=None,
                    loader=None, callbacks=None, restore_rng=True, strict=True):
    """Restore what ``save_checkpoint`` saved into the objects given, and return the state dict
    (``epoch``, ``step``, ``extra`` and every part as saved).

    Build the same objects as the run that saved (same model, optimizer on its parameters,
    loader on the same data and arguments), then call this before training. ``restore_rng``
    puts gradkit's global generator back where it was (default True: needed for an exact
    resume when anything random, such as dropout, runs). ``strict`` is passed to the model's
    ``load_state_dict``. Raises ValueError when the file is not a gradkit checkpoint, fails its
    checksum, or lacks a part that was asked for.
    """
    path = os.fspath(path)
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"load_checkpoint: {path} is not a gradkit training checkpoint (format "
                         f"{found!r}, expected {FORMAT!r}); it was not written by "
                         "gk.io.save_checkpoint. A model's weights alone load with gk.load")
    saved_sum = state.pop("checksum", None)
    if saved_sum != _checksum(state):
        raise ValueError(f"load_checkpoint: {path} fails its checksum: the file was damaged or "
                         "edited after it was written. Resume from an earlier checkpoint")
    for name, obj in zip(_PARTS, (model, optimizer, scheduler, scaler, loader)):
        if obj is None:
            continue
        if name not in state:
            raise ValueError(f"load_checkpoint: {path} holds no {name} state (it has "
                             f"{', '.join(k for k in _PARTS if k in state) or 'none'}); "
                             f"pass {name}=None or save it with save_checkpoint({name}=...)")
        if name == "model":
            obj.load_state_dict(state[name], strict=strict)
        else:
            obj.load_state_dict(state[name])
    cbs = _callback_states(callbacks)
    saved_cbs = state.get("callbacks", {})
    for key, cb in cbs.items():
        if key not in saved_cbs:
            raise ValueError(f"load_checkpoint: {path} holds no state for callback {key!r} (it "
                             f"has {sorted(saved_cbs) or 'none'}); pass the callbacks in the "
                             "same order (or under the same names) as when saving")
        cb.load_state_dict(saved_cbs[key])
    if restore_rng:
        _random.set_rng_state(state["rng"])
    return state
