"""gradkit.serialization: ``torch.serialization``'s names, for programs that import it.

    from gradkit.serialization import add_safe_globals, safe_globals, save, load

``save``/``load`` are ``gradkit.save``/``gradkit.load`` (gradkit.io: safetensors files).
``add_safe_globals`` and ``safe_globals`` accept PyTorch's arguments and change nothing: PyTorch
keeps an allow-list of classes that ``torch.load(weights_only=True)`` may unpickle, but gradkit
never unpickles (a file holds tensors and JSON metadata), so there is nothing to allow. The
list is kept only so that ``get_safe_globals`` answers as PyTorch's does.
"""
import contextlib

from .io import load, save

__all__ = ["save", "load", "add_safe_globals", "safe_globals", "get_safe_globals",
           "clear_safe_globals"]

_safe_globals = []


def _check(items, where):
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"{where}: expected a list of classes or functions (or (object, name) "
                        f"pairs); got {type(items).__name__}")
    return list(items)


def add_safe_globals(safe_globals):
    """Accepted and recorded; no effect, since gradkit never unpickles (see the module docstring)."""
    _safe_globals.extend(_check(safe_globals, "add_safe_globals"))


def get_safe_globals():
    """The objects given to ``add_safe_globals`` (PyTorch's accessor)."""
    return list(_safe_globals)


def clear_safe_globals():
    _safe_globals.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    """``with safe_globals([MyClass]): gradkit.load(path)``: accepted; nothing to allow-list."""
    added = _check(safe_globals, "safe_globals")
    _safe_globals.extend(added)
    try:
        yield
    finally:
        for item in added:
            _safe_globals.remove(item)
