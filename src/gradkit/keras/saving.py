"""Saving whole models and weights, and the registry of custom classes.

``model.save(path)`` writes ONE safetensors file: the weights (the model's ``state_dict``, by
name) and, in the file's metadata, the architecture as JSON (each layer's class and
``get_config()``) and the compile settings. No pickle: loading reads numbers and JSON and can
run no code. The write is atomic (a temporary file renamed over the target), so a crash never
leaves half a file. ``keras.models.load_model(path)`` rebuilds the model from the JSON, loads
the weights and, if the model was compiled, compiles it again (the optimizer starts fresh: its
state, e.g. Adam's moments, is not saved).

The file is gradkit's own: it is not a Keras ``.keras`` zip, and gradkit cannot read Keras'
files (their weights are HDF5). The extension is free; ``.keras`` is fine.

A custom layer or model class must be registered to be loaded, so that loading never imports
code named by a file::

    @keras.saving.register_keras_serializable(package="my_project")
    class Scale(keras.layers.Layer): ...

or passed at load time: ``load_model(path, custom_objects={"Scale": Scale})``.
"""
import contextlib
import json
import os

import numpy as np

from ..io import atomic_write_bytes
from ..tensor import Tensor

__all__ = ["register_keras_serializable", "get_registered_object", "get_registered_name",
           "custom_object_scope", "save_model", "load_model", "save_weights", "load_weights",
           "serialize_keras_object", "deserialize_keras_object"]

FORMAT = "gradkit.keras"
_REGISTRY = {}       # "package>Name" -> class or function
_SCOPES = [{}]       # custom_object_scope stack


# === the registry =============================================================================
def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a custom layer, model, loss, metric or function loadable by name."""
    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        if key in _REGISTRY and _REGISTRY[key] is not obj:
            raise ValueError(f"register_keras_serializable: {key!r} is already registered to "
                             f"another object; choose another package= or name=")
        _REGISTRY[key] = obj
        try:
            obj._registered_name = key
        except (AttributeError, TypeError):
            pass
        return obj
    return decorator


def get_registered_name(obj):
    """'package>Name' for a registered object, else its plain name."""
    for key, value in _REGISTRY.items():
        if value is obj:
            return key
    return getattr(obj, "__name__", type(obj).__name__)


registered_name = get_registered_name


@contextlib.contextmanager
def custom_object_scope(custom_objects):
    """Within the block, ``load_model`` also finds these classes/functions by name."""
    _SCOPES.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        _SCOPES.pop()


def get_registered_object(name, custom_objects=None):
    for table in [custom_objects or {}] + _SCOPES[::-1]:
        if name in table:
            return table[name]
    if name in _REGISTRY:
        return _REGISTRY[name]
    short = name.split(">")[-1]
    for table in [custom_objects or {}] + _SCOPES[::-1]:
        if short in table:
            return table[short]
    return None


def _unknown(name, kind):
    short = name.split(">")[-1]
    saved_as = f" (saved as '{name}')" if name != short else ""
    return ValueError(
        f"Unknown {kind} '{short}'{saved_as}: gradkit does not know this class or "
        f"function, and never imports code named in a file. Register it before loading:\n"
        f"    @keras.saving.register_keras_serializable(package=\"my_project\")\n"
        f"    class {short}(...): ...\n"
        f"or pass it: keras.models.load_model(path, custom_objects={{'{short}': {short}}})")


# === objects <-> JSON =========================================================================
def is_plain(value):
    """True for JSON values: None, bool, numbers, strings, and lists/tuples/dicts of them."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value


def serialize_object(obj):
    """A function or an object with ``get_config`` -> {"class_name", "config"}."""
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, type) or callable(obj) and not hasattr(obj, "get_config"):
        return {"class_name": "function", "config": get_registered_name(obj)}
    config = obj.get_config() if hasattr(obj, "get_config") else {}
    return {"class_name": get_registered_name(type(obj)), "config": _jsonable(config)}


def deserialize_object(config, custom_objects=None, kind="object"):
    if config is None or not isinstance(config, dict):
        return config
    if config.get("class_name") == "function":
        fn = get_registered_object(config["config"], custom_objects)
        if fn is None:
            raise _unknown(config["config"], "function")
        return fn
    cls = get_registered_object(config["class_name"], custom_objects)
    if cls is None:
        raise _unknown(config["class_name"], kind)
    if hasattr(cls, "from_config"):
        return cls.from_config(config.get("config", {}))
    return cls(**config.get("config", {}))


def retrieve_object(config, kind, custom_objects=None):
    if isinstance(config, str):
        obj = get_registered_object(config, custom_objects)
        if obj is None:
            raise _unknown(config, kind)
        return obj
    return deserialize_object(config, custom_objects, kind)


def serialize_keras_object(layer):
    """A layer (or model) -> {"class_name", "config", "build_input_shape"}."""
    from .layers import base
    cls = type(layer)
    builtin = cls.__module__.startswith("gradkit.keras.")
    shape = layer._build_input_shape if isinstance(layer, base.Layer) else None
    return {"class_name": cls.__name__ if builtin else get_registered_name(cls),
            "config": _jsonable(layer.get_config()),
            "build_input_shape": _jsonable(shape)}


def deserialize_keras_object(config, custom_objects=None):
    """The inverse of ``serialize_keras_object``: a new, built layer or model."""
    from . import layers, models
    name = config["class_name"]
    cls = get_registered_object(name, custom_objects)
    if cls is None:
        cls = getattr(layers, name, None) or getattr(models, name, None)
        if not (isinstance(cls, type) and issubclass(cls, layers.Layer)):
            cls = None
    if cls is None:
        raise _unknown(name, "layer class")
    obj = cls.from_config(dict(config["config"]), custom_objects) \
        if _takes_custom_objects(cls) else cls.from_config(dict(config["config"]))
    shape = config.get("build_input_shape")
    if shape is not None and not obj.built:
        _build_on_zeros(obj, shape)
    return obj


def _takes_custom_objects(cls):
    import inspect
    try:
        return "custom_objects" in inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        return False


def _build_on_zeros(layer, shape):
    """Build ``layer`` by calling it once on zeros of ``shape`` (batch of 1), in inference."""
    from ..autograd import grad_mode

    def zeros(s):
        return Tensor(np.zeros(tuple(1 if d is None else d for d in s), np.float32))

    is_shape = all(d is None or isinstance(d, int) for d in shape)
    dummy = zeros(shape) if is_shape else [zeros(s) for s in shape]
    with grad_mode.no_grad():
        layer(dummy, training=False)


# === whole models =============================================================================
def _check_not_keras_file(data, path):
    if data[:2] == b"PK":
        raise ValueError(f"{path} is a Keras .keras archive (a zip with HDF5 weights) written by "
                         "Keras itself; gradkit reads the files that gradkit's model.save writes "
                         "(safetensors + JSON). Rebuild the model in gradkit and load weights "
                         "converted to NumPy with set_weights()")
    if data[:4] == b"\x89HDF":
        raise ValueError(f"{path} is an HDF5 file (Keras .h5); gradkit does not read HDF5. Save "
                         "with gradkit's model.save / save_weights (safetensors)")


def _read(path, what):
    from safetensors.numpy import load as st_load
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: no such file: {path}")
    with open(path, "rb") as f:
        data = f.read()
    _check_not_keras_file(data, path)
    try:
        tensors = st_load(data)
        header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    except Exception as e:  # safetensors raises its own error types
        raise ValueError(f"{what}: {path} is not a valid safetensors file (truncated or "
                         f"corrupted: {type(e).__name__}: {e})") from None
    return tensors, header.get("__metadata__") or {}


def _write(path, tensors, metadata):
    from safetensors.numpy import save as st_save
    # np.require, not np.ascontiguousarray, which turns a 0-d array (a step count) into 1-d
    atomic_write_bytes(path, st_save({k: np.require(v, requirements="C") for k, v in tensors.items()},
                                     metadata=metadata))


def _state_arrays(model):
    return {k: t.data for k, t in model.state_dict().items()}


def save_model(model, filepath, overwrite=True):
    """Architecture (JSON) + weights (safetensors) + compile settings, in one file."""
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save: {filepath} exists and overwrite=False")
    if not model.built:
        raise ValueError(f"save: model '{model.name}' is not built yet (it has no weights); call "
                         "it on a batch, fit it, or give the first layer input_shape=")
    metadata = {"format": FORMAT, "version": "1",
                "model_config": json.dumps(serialize_keras_object(model))}
    compile_config = getattr(model, "_compile_config", None)
    if compile_config is not None:
        metadata["compile_config"] = json.dumps(compile_config)
    _write(filepath, _state_arrays(model), metadata)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model written by ``model.save`` (see the module docstring)."""
    tensors, meta = _read(filepath, "load_model")
    if meta.get("format") != FORMAT or "model_config" not in meta:
        raise ValueError(f"load_model: {filepath} holds weights only (no architecture): it was "
                         "written by save_weights. Rebuild the model in code, then "
                         "model.load_weights(path)")
    model = deserialize_keras_object(json.loads(meta["model_config"]), custom_objects)
    model.load_state_dict({k: Tensor(v) for k, v in tensors.items()})
    if compile and "compile_config" in meta:
        model._compile_from_config(json.loads(meta["compile_config"]), custom_objects)
    return model


# === weights only =============================================================================
def save_weights(model, filepath, overwrite=True):
    """The model's ``state_dict`` (PyTorch's names, e.g. ``0.linear.weight``) in safetensors."""
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath} exists and overwrite=False")
    if not model.built:
        raise ValueError(f"save_weights: model '{model.name}' is not built yet (it has no "
                         "weights); call it on a batch or fit it first")
    _write(filepath, _state_arrays(model), {"format": FORMAT + ".weights", "version": "1"})


def load_weights(model, filepath, skip_mismatch=False):
    """Load weights saved by ``save_weights`` or ``save`` into a model of the same structure."""
    tensors, _ = _read(filepath, "load_weights")
    if not model.built:
        raise ValueError(f"load_weights: model '{model.name}' is not built yet, so it has no "
                         "weights to load into; build it first (call it on a batch, or give the "
                         "first layer input_shape=)")
    state = {k: Tensor(v) for k, v in tensors.items()}
    if skip_mismatch:
        own = model.state_dict()
        state = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        model.load_state_dict(state, strict=False)
    else:
        model.load_state_dict(state)
