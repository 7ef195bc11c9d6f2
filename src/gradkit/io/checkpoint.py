"""``gk.save`` / ``gk.load``: state_dicts in the safetensors format, never pickle.

A safetensors file is a JSON header (names, dtypes, shapes, offsets, and a free-form string
metadata block) followed by raw little-endian tensor bytes: loading one cannot run code, unlike a
pickle. Module state_dicts are stored under their own keys (``fc1.weight``), so a file written by
``safetensors.torch.save_file(model.state_dict(), path)`` loads into the same gradkit model, and
the reverse. Anything that is not a tensor (an optimizer's step counts, learning rates, nested
dicts and lists) goes into the metadata block as JSON, with each tensor replaced by its key.

Reads take the tensors' size in memory once: each tensor is read from the file straight into
its own array (``SafetensorsFile``), never through a copy of the whole file.

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
import zipfile
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


def flatten_state(obj, prefix=""):
    """``(skeleton, arrays)``: a nested structure of tensors and plain values as JSON-able
    ``skeleton`` (each tensor replaced by ``{"__tensor__": key}``) and ``{key: ndarray}``, keys
    starting with ``prefix``: what ``save`` writes, for a caller that adds it to its own file."""
    arrays = {}
    return _flatten(obj, prefix, arrays), arrays


def unflatten_state(skeleton, arrays):
    """The inverse of ``flatten_state``; a malformed skeleton raises ValueError, KeyError,
    TypeError or IndexError."""
    return _unflatten(skeleton, arrays)


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
    """Save a state_dict (of a module or an optimizer), a tensor, or a nested dict/list of them.

    ``path``: a file name (written atomically: a crash never leaves half a file), or an open
    binary file or BytesIO, written at its position as ``torch.save`` does."""
    from safetensors.numpy import save as _st_save

    tensors = {}
    skeleton = _flatten(obj, "", tensors)
    metadata = {_META_KEY: json.dumps(skeleton), "format": "np"}
    data = _st_save(tensors, metadata=metadata)
    if hasattr(path, "write"):   # an open binary file or a BytesIO, as torch.save takes
        path.write(data)
        return
    atomic_write_bytes(path, data)


def _read_stream(f):
    """(metadata, {name: ndarray} in file order) of the safetensors bytes an open binary file or
    a BytesIO holds from its position on (``gk.load(f)``, as ``torch.load(f)``)."""
    from safetensors.numpy import load as _st_load

    data = f.read()
    where = getattr(f, "name", type(f).__name__)
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"load: {where} was opened in text mode; open it with 'rb'")
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8:8 + n]) if len(data) >= 8 and n <= len(data) - 8 else None
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict):
        if data[:4] == b"PK\x03\x04" or data[:1] == b"\x80":
            raise ValueError(f"load: {where} looks like a PyTorch pickle checkpoint (torch.save); "
                             "gradkit never unpickles files. Convert it where you trust it: "
                             "safetensors.torch.save_file(torch.load(path), 'model.safetensors')")
        raise ValueError(f"load: {where} does not hold a safetensors file (no valid header at "
                         "its position; was it written by gk.save, and rewound with seek(0)?)")
    kinds = {v.get("dtype") for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)}
    if kinds & set(_ML_DTYPES):
        _import_ml_dtypes(where)
    try:
        arrays = _st_load(bytes(data))
    except Exception as e:  # safetensors' own SafetensorError: a truncated or tampered body
        raise ValueError(f"load: {where} is not a valid safetensors file ({e})") from None
    order = sorted(arrays, key=lambda k: header[k]["data_offsets"][0])
    return header.get("__metadata__") or {}, OrderedDict((k, arrays[k].copy()) for k in order)


def _header(path):
    """The JSON header of a safetensors file and where its data starts, or (None, 0) when the
    file does not start with one."""
    with open(path, "rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little")
        if len(head) < 8 or n > 100_000_000:  # safetensors' own limit on the header's size
            return None, 0
        try:
            header = json.loads(f.read(n))
        except (ValueError, RecursionError):  # bad UTF-8 or JSON, or nested too deeply
            return None, 0
    return (header, 8 + n) if isinstance(header, dict) else (None, 0)


def _import_ml_dtypes(path, kind="bfloat16"):
    """NumPy knows bfloat16 (and float8) only through the ml_dtypes package."""
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError(f"load: {path} holds {kind} tensors, which NumPy reads through the "
                          f"ml_dtypes package; install it: {pip_install('bf16')} "
                          "(or pip install ml_dtypes)") from None
    return ml_dtypes


def pickle_error(path, what="load"):
    """A ValueError for a PyTorch pickle checkpoint (``torch.save``: a zip holding ``data.pkl``,
    or a raw pickle), or None when ``path`` is not one. Ask only once the file failed to parse
    as safetensors: a safetensors header length can start with the same bytes."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as z:
                is_torch = any(name.endswith("data.pkl") for name in z.namelist())
        except (zipfile.BadZipFile, OSError, EOFError):
            is_torch = False
    else:
        is_torch = magic[:1] == b"\x80"   # the pickle protocol opcode
    if not is_torch:
        return None
    return ValueError(f"{what}: {path} looks like a PyTorch pickle checkpoint (torch.save); "
                      "gradkit never unpickles files. Convert it where you trust it: "
                      "safetensors.torch.save_file(torch.load(path), 'model.safetensors')")


# the safetensors dtypes NumPy reads natively (little-endian, as the format stores them)
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "U64": "<u8", "I32": "<i4",
           "U32": "<u4", "I16": "<i2", "U16": "<u2", "I8": "i1", "U8": "u1", "BOOL": "?",
           "C64": "<c8"}
_ML_DTYPES = {"BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}


class SafetensorsFile:
    """A safetensors file opened for reading: its header checked (by the safetensors package),
    then each tensor read once, from the file straight into its own array.

    ``metadata`` (the header's string dict), ``shapes``, ``dtypes`` and ``names`` (in file order)
    come from the header alone; ``read(names, out)`` reads the data. Loading so takes the
    tensors' size in memory once: no copy of the whole file, no memory map (a map would keep
    the file open, cannot be replaced on Windows, and a program that truncates the file in
    place, as ``safetensors.numpy.save_file`` does, would crash the one reading it)::

        f = SafetensorsFile("model.safetensors")
        f.shapes["fc.weight"]          # (10, 784), nothing read yet
        arrays = f.read()              # {name: ndarray}, writable, the file untouched
    """

    def __init__(self, path, what="load"):
        from safetensors import safe_open

        self.path, self.what = os.fspath(path), what
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"{what}: no such file: {self.path}")
        header, self._start = _header(self.path)
        try:
            if header is None:
                raise ValueError("no safetensors header")
            with safe_open(self.path, framework="np") as f:  # checks every entry and offset
                names = set(f.keys())
        except Exception as e:  # safetensors raises its own error type for bad headers, sizes
            raise self._not_safetensors(e) from None
        self.metadata = header.pop("__metadata__", None) or {}
        if set(header) != names:
            raise self._not_safetensors(ValueError("inconsistent header"))
        self.names = sorted(header, key=lambda k: header[k]["data_offsets"][0])
        self.shapes = {k: tuple(header[k]["shape"]) for k in self.names}
        self._offsets = {k: tuple(header[k]["data_offsets"]) for k in self.names}
        self.dtypes = {k: self._dtype(header[k]["dtype"]) for k in self.names}

    def _not_safetensors(self, e):
        return pickle_error(self.path, self.what) or ValueError(
            f"{self.what}: {self.path} is not a valid safetensors file: it is truncated or "
            f"corrupted ({type(e).__name__}: {e}). Re-save or re-download it.")

    def _dtype(self, name):
        if name in _DTYPES:
            return np.dtype(_DTYPES[name])
        if name in _ML_DTYPES:
            kind = _ML_DTYPES[name]
            return np.dtype(getattr(_import_ml_dtypes(self.path, kind), kind))
        raise ValueError(f"{self.what}: {self.path} holds {name} tensors, which gradkit cannot "
                         f"read (it reads {', '.join(list(_DTYPES) + list(_ML_DTYPES))})")

    def read(self, names=None, out=None):
        """``{name: ndarray}`` for ``names`` (default: all), in file order. ``out``: optional
        ``{name: array}`` of the same shapes to read into instead (what ``load_model`` does with
        the model's own weights); one of another dtype or layout goes through a temporary."""
        out = out or {}
        wanted = set(self.names if names is None else names)
        arrays = OrderedDict()
        with open(self.path, "rb", buffering=0) as f:
            for k in (k for k in self.names if k in wanted):
                dest = out.get(k)
                if dest is not None and dest.shape != self.shapes[k]:
                    raise ValueError(f"{self.what}: {self.path}: {k} has shape {self.shapes[k]} "
                                     f"in the file, {dest.shape} where it is read into")
                direct = dest is not None and dest.dtype == self.dtypes[k] \
                    and dest.flags.c_contiguous and dest.flags.writeable
                a = dest if direct else np.empty(self.shapes[k], self.dtypes[k])
                self._read_into(f, k, a)
                if dest is not None and not direct:
                    np.copyto(dest, a, casting="unsafe")
                arrays[k] = a if dest is None else dest
        return arrays

    def _read_into(self, f, name, a):
        begin, end = self._offsets[name]
        buf = memoryview(a.reshape(-1).view(np.uint8))  # C-contiguous: a view of its bytes
        if len(buf) != end - begin:
            raise self._not_safetensors(ValueError(f"{name}: size differs from its shape"))
        f.seek(self._start + begin)
        done = 0
        while done < len(buf):
            n = f.readinto(buf[done:])
            if not n:  # the file shrank since its header was checked
                raise self._not_safetensors(EOFError(f"{name}: the file ends early"))
            done += n


def load(path, map_location=None, weights_only=True):
    """Load what ``save`` wrote (or any safetensors file: a dict of tensors by name).

    ``path`` may be an open binary file or a BytesIO (read from its position), as in
    ``torch.load``. ``map_location`` and ``weights_only`` are accepted for PyTorch compatibility; gradkit only ever
    reads tensors and JSON, so every load is "weights only".
    """
    if hasattr(path, "read"):
        metadata, tensors = _read_stream(path)
        where = getattr(path, "name", type(path).__name__)
    else:
        f = SafetensorsFile(path, "load")
        metadata, tensors, where = f.metadata, f.read(), f.path
    if _META_KEY in metadata:
        try:
            return _unflatten(json.loads(metadata[_META_KEY]), tensors)
        except (ValueError, KeyError, TypeError, IndexError, RecursionError) as e:
            raise ValueError(f"load: {where} has a valid safetensors body but its gradkit "
                             f"metadata is malformed ({type(e).__name__}: {str(e)[:200]}); the "
                             "file was not written by gk.save or was edited. Re-save it, or load "
                             "the tensors alone with safetensors.numpy.load_file") from None
    # a plain safetensors file (e.g. from safetensors.torch.save_file): tensors in file order
    return OrderedDict((k, _internal.wrap(a)) for k, a in tensors.items())
