"""``gk.save`` / ``gk.load``: state_dicts in the safetensors format, never pickle.

A safetensors file is a JSON header (names, dtypes, shapes, offsets, and a free-form string
metadata block) followed by raw little-endian tensor bytes: loading one cannot run code, unlike a
pickle. Module state_dicts are stored under their own keys (``fc1.weight``), so a file written by
``safetensors.torch.save_file(model.state_dict(), path)`` loads into the same gradkit model, and
the reverse. Anything that is not a tensor (an optimizer's step counts, learning rates, nested
dicts and lists) goes into the metadata block as JSON, with each tensor replaced by its key.

Writes are atomic: the bytes go to a temporary file in the same directory, are fsynced, and the
file is renamed over the target, so a crash mid-write leaves the previous file intact. The
temporary file's name holds the writer's pid, so the next save of the same target can remove the
temporary files of writers that were killed midway.
"""
import json
import os
import re
import secrets
import stat
from collections import OrderedDict

import numpy as np

from .. import _internal
from .._install import pip_install
from ..tensor import Tensor

_META_KEY = "gradkit"


def _flatten(obj, prefix, tensors):
    """Replace every tensor in a nested structure by {"__tensor__": key}, collecting the arrays."""
    if isinstance(obj, (Tensor, np.ndarray)):
        key = prefix or "tensor"
        if key in tensors:
            raise ValueError(f"save: two tensors would be stored under the same key {key!r}")
        # np.require, not np.ascontiguousarray, which turns a 0-d array (BatchNorm's
        # num_batches_tracked) into a 1-d one
        tensors[key] = np.require(_internal.as_array(obj), requirements="C")
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
            return _internal.wrap(tensors[node["__tensor__"]])
        if "__dict__" in node:
            return OrderedDict((k, _unflatten(v, tensors)) for k, v in node["__dict__"])
        if "__list__" in node:
            return [_unflatten(v, tensors) for v in node["__list__"]]
        if "__tuple__" in node:
            return tuple(_unflatten(v, tensors) for v in node["__tuple__"])
    return node


_TEMP = re.compile(r"(\d+)\.[0-9a-f]{8}\.tmp")  # after the prefix: the writer's pid, a random token


def _remove_stale_temps(directory, prefix):
    """Remove the temporary files ``{prefix}{pid}.{token}.tmp`` whose writer process is gone."""
    if os.name != "posix":  # os.kill(pid, 0) checks for a process only on POSIX
        return
    for name in os.listdir(directory):
        # fullmatch: the temps of another target ("ckpt.5" beside "ckpt") do not match
        m = name.startswith(prefix) and _TEMP.fullmatch(name, len(prefix))
        if not m or int(m[1]) == os.getpid():  # this process's own: maybe another thread's
            continue
        try:
            os.kill(int(m[1]), 0)
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:  # another saver removed it first
                pass
        except OSError:  # e.g. PermissionError: the process exists, under another user
            pass


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The file gets the mode ``open()`` would give it (0o666 less the umask), or the mode of the
    file it replaces."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path}: the folder {directory} does not exist; "
                                f"create it first (os.makedirs({directory!r}, exist_ok=True))")
    prefix = "." + os.path.basename(path) + "."
    _remove_stale_temps(directory, prefix)
    tmp = os.path.join(directory, f"{prefix}{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # created like open() creates a file: mode 0o666, less the umask (mkstemp would give 0o600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            try:  # overwriting: keep the replaced file's mode
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
            except FileNotFoundError:
                pass
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


def _header(path):
    """The JSON header of a safetensors file, or None when the file does not start with one."""
    with open(path, "rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little")
        if len(head) < 8 or n > 100_000_000:  # safetensors' own limit on the header's size
            return None
        try:
            header = json.loads(f.read(n))
        except (ValueError, RecursionError):  # bad UTF-8 or JSON, or nested too deeply
            return None
    return header if isinstance(header, dict) else None


def _import_ml_dtypes(path):
    """NumPy knows bfloat16 only once ml_dtypes is imported (it registers the dtype)."""
    try:
        import ml_dtypes  # noqa: F401
    except ImportError:
        raise ImportError(f"load: {path} holds bfloat16 tensors, which NumPy reads through the "
                          f"ml_dtypes package; install it: {pip_install('bf16')} "
                          "(or pip install ml_dtypes)") from None


def load(path, map_location=None, weights_only=True):
    """Load what ``save`` wrote (or any safetensors file: a dict of tensors by name).

    ``map_location`` and ``weights_only`` are accepted for PyTorch compatibility; gradkit only ever
    reads tensors and JSON, so every load is "weights only".
    """
    from safetensors.numpy import load_file as _st_load_file

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    header = _header(path)
    if header and any(isinstance(v, dict) and v.get("dtype") == "BF16" for v in header.values()):
        _import_ml_dtypes(path)
    try:
        tensors = _st_load_file(path)
    except Exception as e:  # safetensors raises its own error type for bad headers and sizes
        # sniffed only now: a safetensors header length can start with these bytes too
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic == b"PK\x03\x04" or magic[:1] == b"\x80":
            raise ValueError(f"load: {path} looks like a PyTorch pickle checkpoint (torch.save); "
                             "gradkit never unpickles files. Convert it where you trust it: "
                             "safetensors.torch.save_file(torch.load(path), 'model.safetensors')"
                             ) from None
        raise ValueError(f"load: {path} is not a valid safetensors file: it is truncated or "
                         f"corrupted ({type(e).__name__}: {e}). Re-save or re-download it.") from None
    meta = header.get("__metadata__") or {}
    if _META_KEY in meta:
        try:
            return _unflatten(json.loads(meta[_META_KEY]), tensors)
        except (ValueError, KeyError, TypeError, IndexError, RecursionError) as e:
            raise ValueError(f"load: {path} has a valid safetensors body but its gradkit metadata "
                             f"is malformed ({type(e).__name__}: {str(e)[:200]}); the file was "
                             "not written by gk.save or was edited. Re-save it, or load the "
                             "tensors alone with safetensors.numpy.load_file") from None
    # a plain safetensors file (e.g. from safetensors.torch.save_file): tensors in file order
    order = sorted((k for k in header if k != "__metadata__"),
                   key=lambda k: header[k]["data_offsets"][0])
    return OrderedDict((k, _internal.wrap(tensors[k])) for k in order)
