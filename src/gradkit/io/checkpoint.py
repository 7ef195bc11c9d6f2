"""``gk.save`` / ``gk.load``: state_dicts in the safetensors format, never pickle.

A safetensors file is a JSON header (names, dtypes, shapes, offsets, and a free-form string
metadata block) followed by raw little-endian tensor bytes: loading one cannot run code, unlike a
pickle. Module state_dicts are stored under their own keys (``fc1.weight``), so a file written by
``safetensors.torch.save_file(model.state_dict(), path)`` loads into the same gradkit model, and
the reverse. Anything that is not a tensor (an optimizer's step counts, learning rates, nested
dicts and lists) goes into the metadata block as JSON, with each tensor replaced by its key.

Writes are atomic: the bytes go to a temporary file in the same directory, are fsynced, and the
file is renamed over the target, so a crash mid-write leaves the previous file intact.
"""
import json
import os
import tempfile
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor

_META_KEY = "gradkit"


def _flatten(obj, prefix, tensors):
    """Replace every tensor in a nested structure by {"__tensor__": key}, collecting the arrays."""
    if isinstance(obj, (Tensor, np.ndarray)):
        arr = obj.data if isinstance(obj, Tensor) else obj
        key = prefix or "tensor"
        if key in tensors:
            raise ValueError(f"save: two tensors would be stored under the same key {key!r}")
        tensors[key] = np.ascontiguousarray(arr)
        return {"__tensor__": key}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise TypeError(f"save: dict keys must be str, int, float or bool, got "
                                f"{type(k).__name__} at {prefix!r}")
            items.append([k, _flatten(v, f"{prefix}.{k}" if prefix else str(k), tensors)])
        return {"__dict__": items}
    if isinstance(obj, (list, tuple)):
        kind = "__list__" if isinstance(obj, list) else "__tuple__"
        return {kind: [_flatten(v, f"{prefix}.{i}" if prefix else str(i), tensors)
                       for i, v in enumerate(obj)]}
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__} (at {prefix!r}); gradkit saves "
                    "tensors, arrays, numbers, strings, None, and dicts/lists/tuples of them")


def _unflatten(node, tensors):
    if isinstance(node, dict):
        if "__tensor__" in node:
            return Tensor._make(tensors[node["__tensor__"]])
        if "__dict__" in node:
            return OrderedDict((k, _unflatten(v, tensors)) for k, v in node["__dict__"])
        if "__list__" in node:
            return [_unflatten(v, tensors) for v in node["__list__"]]
        if "__tuple__" in node:
            return tuple(_unflatten(v, tensors) for v in node["__tuple__"])
    return node


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(obj, path):
    """Save a state_dict (of a module or an optimizer), a tensor, or a nested dict/list of them."""
    from safetensors.numpy import save as _st_save

    tensors = {}
    skeleton = _flatten(obj, "", tensors)
    metadata = {_META_KEY: json.dumps(skeleton), "format": "np"}
    atomic_write_bytes(path, _st_save(tensors, metadata=metadata))


def load(path, map_location=None, weights_only=True):
    """Load what ``save`` wrote (or any safetensors file: a dict of tensors by name).

    ``map_location`` and ``weights_only`` are accepted for PyTorch compatibility; gradkit only ever
    reads tensors and JSON, so every load is "weights only".
    """
    from safetensors.numpy import load_file as _st_load_file

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"PK" or data[:1] == b"\x80":
        raise ValueError(f"load: {path} looks like a PyTorch pickle checkpoint (torch.save); gradkit "
                         "never unpickles files. Convert it where you trust it: "
                         "safetensors.torch.save_file(torch.load(path), 'model.safetensors')")
    try:
        tensors = _st_load_file(path)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_len])
    except Exception as e:  # safetensors raises its own error type for bad headers and sizes
        raise ValueError(f"load: {path} is not a valid safetensors file: it is truncated or "
                         f"corrupted ({type(e).__name__}: {e}). Re-save or re-download it.") from None
    meta = header.get("__metadata__") or {}
    if _META_KEY in meta:
        return _unflatten(json.loads(meta[_META_KEY]), tensors)
    # a plain safetensors file (e.g. from safetensors.torch.save_file): tensors in file order
    order = sorted((k for k in header if k != "__metadata__"),
                   key=lambda k: header[k]["data_offsets"][0])
    return OrderedDict((k, Tensor._make(tensors[k])) for k in order)
