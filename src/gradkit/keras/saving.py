"""Saving whole models and weights, and the registry of custom classes.

``model.save(path)`` writes ONE safetensors file: the weights (the model's ``state_dict``, by
name), the optimizer's state once it has trained (Adam's moments, the step count: tensors under
``optimizer.*``, as Keras' archive holds the optimizer's variables) and, in the file's metadata,
the architecture as JSON (each layer's class and ``get_config()``) and the compile settings. No
pickle: loading reads numbers and JSON and can run no code. The write is atomic (a temporary
file renamed over the target), so a crash never leaves half a file.

``keras.models.load_model(path)`` rebuilds the model from the JSON, reads the weights into it
and, if the model was compiled, compiles it again with the optimizer's state restored, so that
``fit`` continues exactly where it stopped (a file without that state gets a fresh optimizer).
Loading takes about the file's size in memory: every layer's size is first checked against
the weights' shapes in the file (a crafted config cannot make it allocate a huge layer), the
layers are built without drawing initial values, and each weight is read from the file
straight into its tensor.

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
import warnings

import numpy as np

from .. import _internal
from ..autograd import grad_mode
from ..io import SafetensorsFile, atomic_write_bytes, flatten_state, pickle_error, unflatten_state
from ..nn import init as nn_init
from . import optimizers
from .layers.base import Adapter, Layer, build_on_zeros
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
    obj = _from_config(cls, config, custom_objects)
    shape = config.get("build_input_shape")
    if shape is not None and not obj.built:
        build_on_zeros(obj, shape)
    return obj


def _from_config(cls, config, custom_objects):
    return cls.from_config(dict(config["config"]), custom_objects) \
        if _takes_custom_objects(cls) else cls.from_config(dict(config["config"]))


def _takes_custom_objects(cls):
    try:
        return "custom_objects" in inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        return False


# === whole models =============================================================================
_OPTIMIZER = "optimizer"   # the optimizer's tensors are stored under "optimizer.*"


def _check_not_keras_file(path):
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"PK":
        raise ValueError(f"{path} is a Keras .keras archive (a zip with HDF5 weights) written by "
                         "Keras itself; gradkit reads the files that gradkit's model.save writes "
                         "(safetensors + JSON). Rebuild the model in gradkit and load weights "
                         "converted to NumPy with set_weights()") from None
    if magic == b"\x89HDF":
        raise ValueError(f"{path} is an HDF5 file (Keras .h5); gradkit does not read HDF5. Save "
                         "with gradkit's model.save / save_weights (safetensors)") from None


def _open(path, what):
    """The file, its header checked; a file of another kind is named with the fix."""
    try:
        return SafetensorsFile(path, what)
    except ValueError:
        # parsed as safetensors first: a header length can start with these bytes too
        if pickle_error(path) is None:   # PyTorch's pickles are named by SafetensorsFile
            _check_not_keras_file(path)
        raise


def _write(path, tensors, metadata):
    from safetensors.numpy import save as st_save
    # np.require, not np.ascontiguousarray, which turns a 0-d array (a step count) into 1-d
    atomic_write_bytes(path, st_save({k: np.require(v, requirements="C") for k, v in tensors.items()},
                                     metadata=metadata))


def _state_arrays(model):
    return {k: t.array for k, t in model.state_dict().items()}


def _optimizer_state(model):
    """What restores the model's optimizer exactly: its variables (by state_dict name), step
    count, learning rate and gradkit.optim state; None before its first update."""
    opt = getattr(model, "optimizer", None)
    if not isinstance(opt, optimizers.Optimizer) or not opt.variables:
        return None
    names = {id(t): k for k, t in model.state_dict(keep_vars=True).items()}
    if any(id(v) not in names for v in opt.variables):  # it also trains tensors of another model
        return None
    lr = opt.get_config()["learning_rate"]   # the current one (callbacks may have changed it)
    return {"variables": [names[id(v)] for v in opt.variables],
            "learning_rate": lr if isinstance(lr, (int, float)) else None, **opt.state_dict()}


def save_model(model, filepath, overwrite=True):
    """Architecture (JSON) + weights + optimizer state (safetensors) + compile settings, in one
    file."""
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save: {filepath} exists and overwrite=False")
    if not model.built:
        raise ValueError(f"save: model '{model.name}' is not built yet (it has no weights); call "
                         "it on a batch, fit it, or give the first layer input_shape=")
    metadata = {"format": FORMAT, "version": "1",
                "model_config": json.dumps(serialize_keras_object(model))}
    tensors = _state_arrays(model)
    compile_config = getattr(model, "_compile_config", None)
    if compile_config is not None:
        metadata["compile_config"] = json.dumps(compile_config)
        opt_state = _optimizer_state(model)
        if opt_state is not None:
            skeleton, arrays = flatten_state(opt_state, _OPTIMIZER)
            metadata["optimizer_state"] = json.dumps(skeleton)
            tensors.update(arrays)
    _write(filepath, tensors, metadata)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model written by ``model.save`` (see the module docstring)."""
    f = _open(filepath, "load_model")
    meta = f.metadata
    if meta.get("format") != FORMAT or "model_config" not in meta:
        raise ValueError(f"load_model: {filepath} holds weights only (no architecture): it was "
                         "written by save_weights. Rebuild the model in code, then "
                         "model.load_weights(path)")
    config = _metadata_json(f, "model_config")
    _check_layer_sizes(f, config, custom_objects)
    # no initial values are drawn: the weights are read next (uninitialised values may
    # overflow in the build's pass on zeros, harmlessly)
    with nn_init.skipped(), np.errstate(all="ignore"):
        model = deserialize_keras_object(config, custom_objects)
    _read_weights(model, f)
    if compile and "compile_config" in meta:
        model._compile_from_config(_metadata_json(f, "compile_config"), custom_objects)
        if "optimizer_state" in meta and getattr(model, "optimizer", None) is not None:
            _restore_optimizer(model, f)
    return model


def _metadata_json(f, key):
    try:
        return json.loads(f.metadata[key])
    except (ValueError, RecursionError) as e:
        raise ValueError(f"load_model: {f.path}: its {key} is not valid JSON ({e}); the file "
                         "was edited or is corrupted. Re-save the model") from None


def _as_shape(saved):
    """A build_input_shape read back from JSON: a shape as a tuple, or a list of them."""
    if all(d is None or isinstance(d, int) for d in saved):
        return tuple(saved)
    return [_as_shape(s) for s in saved]


def _check_layer_sizes(f, config, custom_objects, prefix=""):
    """Before the model is built: each layer that wraps nn modules (an ``Adapter``: Dense,
    Conv2D, ...) is built alone on its saved input shape, its initialisation skipped (its
    arrays then take no memory until written), and its weights' shapes are compared with the
    file's. So a config edited to ask for Dense(2**38) is refused before anything is
    allocated for it. A Sequential's or functional model's layer i holds the weights "i.*"
    (``_layers_by_index``); other layers are checked once built, before their weights are read."""
    cls = layer_class(config["class_name"], custom_objects)
    if getattr(cls, "_layers_by_index", False):
        for i, layer_config in enumerate(config["config"]["layers"]):
            _check_layer_sizes(f, layer_config, custom_objects, f"{prefix}{i}.")
        return
    shape = config.get("build_input_shape")
    if shape is None or not (isinstance(cls, type) and issubclass(cls, Adapter)):
        return
    layer = _from_config(cls, config, custom_objects)
    held = {k[len(prefix):]: s for k, s in f.shapes.items() if k.startswith(prefix)}
    where = f"load_model: {f.path}: layer '{layer.name}' ({cls.__name__})"
    fix = "the file was edited or is corrupted; re-save the model"
    try:
        with nn_init.skipped():
            layer.build(_as_shape(shape))
    except MemoryError as e:
        raise ValueError(f"{where}: its config asks for a weight of shape "
                         f"{getattr(e, 'shape', '(too large)')}, more memory than this machine "
                         f"can allocate, but the file holds {_shapes(held, prefix)} for it: "
                         f"{fix}") from None
    for k, t in layer.state_dict().items():
        if held.get(k) != tuple(t.shape):
            got = held[k] if k in held else "no such weight"
            raise ValueError(f"{where}: its config implies {prefix}{k} of shape {tuple(t.shape)}, "
                             f"but the file holds {got}: {fix}")


def _shapes(held, prefix):
    return ", ".join(f"{prefix}{k} {s}" for k, s in held.items()) or "no weights"


def _read_weights(model, f):
    """Read every weight of ``model`` from ``f`` straight into its tensor."""
    own = model.state_dict(keep_vars=True)
    held = {k: s for k, s in f.shapes.items() if not k.startswith(_OPTIMIZER + ".")}
    problems = [f"{k}: {held[k]} in the file, {tuple(t.shape)} in the model"
                for k, t in own.items() if k in held and held[k] != tuple(t.shape)]
    problems += [f"{k}: not in the file" for k in own if k not in held]
    problems += [f"{k}: in the file, not in the model" for k in held if k not in own]
    if problems:
        raise ValueError(f"load_model: {f.path}: the weights do not fit the architecture of its "
                         "own config (" + "; ".join(problems[:10]) + "): the file was edited or "
                         "is corrupted; re-save the model")
    with grad_mode.no_grad():
        f.read(list(own), out={k: t.array for k, t in own.items()})
    _internal.bump_version(*own.values())


def _restore_optimizer(model, f):
    """Build the compiled optimizer over the variables it trained, then load its state.

    The state is loaded with a placeholder for each array (a broadcast zero: no memory), and
    each array is then read from the file straight into the optimizer's own copy: loading
    ``load_state_dict`` real arrays would hold the state twice (it copies them)."""
    opt = model.optimizer
    try:
        names = [k for k in f.names if k.startswith(_OPTIMIZER + ".")]
        arrays = f.read([k for k in names if not f.shapes[k]])   # 0-d: become numbers
        arrays.update({k: np.broadcast_to(np.zeros((), f.dtypes[k]), f.shapes[k])
                       for k in names if f.shapes[k]})
        state = unflatten_state(_metadata_json(f, "optimizer_state"), arrays)
        own = model.state_dict(keep_vars=True)
        variables = [own[k] for k in state.pop("variables")]
        lr = state.pop("learning_rate")
        n = 0
        for group in state["inner"]["param_groups"]:  # one build per group: the same groups
            n += len(group["params"])
            opt.build(variables[:n])
        opt.load_state_dict(state)
        _, live = flatten_state(opt.state_dict(), _OPTIMIZER)  # the optimizer's own arrays
        big = [k for k in names if f.shapes[k]]
        if any(k not in live for k in big):
            raise KeyError(f"{[k for k in big if k not in live][:5]} are not the optimizer's")
        f.read(big, out=live)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        raise ValueError(f"load_model: {f.path}: the optimizer state is malformed "
                         f"({type(e).__name__}: {str(e)[:300]}); the file was edited or is "
                         "corrupted. Load it with compile=False and compile afresh") from None
    if lr is not None:
        opt.learning_rate = lr


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
    """Load weights saved by ``save_weights`` or ``save`` into a model of the same structure.

    ``skip_mismatch=True`` loads the weights whose name and shape match and warns, listing the
    others (Keras' behaviour)."""
    f = _open(filepath, "load_weights")
    if not model.built:
        raise ValueError(f"load_weights: model '{model.name}' is not built yet, so it has no "
                         "weights to load into; build it first (call it on a batch, or give the "
                         "first layer input_shape=)")
    held = [k for k in f.names if not k.startswith(_OPTIMIZER + ".")
            or "optimizer_state" not in f.metadata]
    if not skip_mismatch:
        model.load_state_dict({k: _internal.wrap(a) for k, a in f.read(held).items()})
        return
    own = model.state_dict()
    fits = [k for k in held if k in own and tuple(own[k].shape) == f.shapes[k]]
    skipped = [f"layer '{_layer_name(model, k)}' {k}: file {f.shapes[k]}, model {own[k].shape}"
               for k in held if k in own and k not in fits]
    skipped += [f"{k} {f.shapes[k]}: in the file, not in the model" for k in held if k not in own]
    skipped += [f"layer '{_layer_name(model, k)}' {k} {own[k].shape}: not in the file (left as "
                "it is)" for k in own if k not in f.shapes]
    if skipped:
        warnings.warn(f"load_weights(skip_mismatch=True): {f.path}: loaded {len(fits)} of the "
                      f"file's {len(held)} weights; skipped {len(skipped)} that do not match "
                      "the model:\n  " + "\n  ".join(skipped), stacklevel=3)
    model.load_state_dict({k: _internal.wrap(a) for k, a in f.read(fits).items()}, strict=False)


def _layer_name(model, key):
    """The name of the innermost Keras layer that holds state_dict entry ``key``."""
    modules = dict(model.named_modules())
    parts = key.split(".")
    for i in range(len(parts) - 1, 0, -1):
        m = modules.get(".".join(parts[:i]))
        if isinstance(m, Layer):
            return m.name
    return model.name
