"""The registry of classes and functions that a saved model may name, and objects <-> JSON.

This is the bottom of the Keras dialect: layers, losses, optimizers, regularizers and activations
register here and serialize their settings through here; saving.py (files) sits on top of all of
them. Loading never imports code named by a file: a name resolves only to what was registered
(gradkit's own layers register themselves when their class is defined), passed as
``custom_objects``, or put in a ``custom_object_scope``::

    @keras.saving.register_keras_serializable(package="my_project")
    class Scale(keras.layers.Layer): ...
"""
import contextlib

import numpy as np

__all__ = ["register_keras_serializable", "get_registered_object", "get_registered_name",
           "registered_name", "custom_object_scope", "is_plain", "serialize_object",
           "deserialize_object", "retrieve_object", "jsonable", "unknown_name", "register_builtin", "builtin_class", "register_alias", "class_name",
           "layer_class"]

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


def register_alias(name, obj):
    """Let files that name ``obj`` by an older ``package>Name`` still load (the class moved)."""
    if name in _REGISTRY and _REGISTRY[name] is not obj:
        raise ValueError(f"register_alias: {name!r} is already registered to another object")
    _REGISTRY[name] = obj


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


def unknown_name(name, kind):
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


def jsonable(value):
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
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
    return {"class_name": get_registered_name(type(obj)), "config": jsonable(config)}


def deserialize_object(config, custom_objects=None, kind="object"):
    if config is None or not isinstance(config, dict):
        return config
    if config.get("class_name") == "function":
        fn = get_registered_object(config["config"], custom_objects)
        if fn is None:
            raise unknown_name(config["config"], "function")
        return fn
    cls = get_registered_object(config["class_name"], custom_objects)
    if cls is None:
        raise unknown_name(config["class_name"], kind)
    if hasattr(cls, "from_config"):
        return cls.from_config(config.get("config", {}))
    return cls(**config.get("config", {}))


def retrieve_object(config, kind, custom_objects=None):
    if isinstance(config, str):
        obj = get_registered_object(config, custom_objects)
        if obj is None:
            raise unknown_name(config, kind)
        return obj
    return deserialize_object(config, custom_objects, kind)


# === gradkit's own layers and models ==========================================================
_BUILTIN = {}        # class name -> gradkit.keras class (Dense, Sequential, ...)


def register_builtin(cls):
    """Called by ``Layer.__init_subclass__`` for every class defined inside gradkit.keras, so a
    saved model names them by their plain class name."""
    _BUILTIN[cls.__name__] = cls


def builtin_class(name):
    """gradkit.keras' own layer or model class called ``name``, or None."""
    return _BUILTIN.get(name)


def class_name(cls):
    """The name a saved file gives a layer class: the plain name for gradkit's own, else its
    registered ``package>Name``."""
    return cls.__name__ if builtin_class(cls.__name__) is cls else get_registered_name(cls)


def layer_class(name, custom_objects=None):
    """The layer class a saved file names (registered, passed, or gradkit's own); else the error
    that says how to register it."""
    cls = get_registered_object(name, custom_objects) or builtin_class(name)
    if cls is None:
        raise unknown_name(name, "layer class")
    return cls
