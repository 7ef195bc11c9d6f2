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

A custom layer or model class must be registered (registry.py) to be loaded, so that loading never imports
code named by a file::

    @keras.saving.register_keras_serializable(package="my_project")
    class Scale(keras.layers.Layer): ...

or passed at load time: ``load_model(path, custom_objects={"Scale": Scale})``.
"""
import inspect
import json
import os

import numpy as np

from ..io import atomic_write_bytes
from ..tensor import Tensor
from .layers.base import build_on_zeros
# the registry's names, also reached as keras.saving.* (as in Keras)
from .registry import (class_name, custom_object_scope, get_registered_name,  # noqa: F401
                       get_registered_object, jsonable, layer_class, register_keras_serializable,
                       registered_name)

__all__ = ["register_keras_serializable", "get_registered_object", "get_registered_name",
           "custom_object_scope", "save_model", "load_model", "save_weights", "load_weights",
           "serialize_keras_object", "deserialize_keras_object"]

FORMAT = "gradkit.keras"


def serialize_keras_object(layer):
    """A layer (or model) -> {"class_name", "config", "build_input_shape"}."""
    shape = getattr(layer, "_build_input_shape", None)
    return {"class_name": class_name(type(layer)),
            "config": jsonable(layer.get_config()),
            "build_input_shape": jsonable(shape)}


def deserialize_keras_object(config, custom_objects=None):
    """The inverse of ``serialize_keras_object``: a new, built layer or model."""
    cls = layer_class(config["class_name"], custom_objects)
    obj = cls.from_config(dict(config["config"]), custom_objects) \
        if _takes_custom_objects(cls) else cls.from_config(dict(config["config"]))
    shape = config.get("build_input_shape")
    if shape is not None and not obj.built:
        build_on_zeros(obj, shape)
    return obj


def _takes_custom_objects(cls):
    try:
        return "custom_objects" in inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        return False


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
