"""``torch.jit``'s questions, answered for eager NumPy execution: gradkit never traces or scripts,
so ``is_tracing()``/``is_scripting()`` are False and the marking decorators leave the function as
it is. Compiling (``script``, ``trace``) is not supported and says so."""
from ._unsupported import unsupported


def is_tracing():
    return False


def is_scripting():
    return False


def _mark(fn=None, *args, **kwargs):
    """``@torch.jit.unused``, ``@torch.jit.ignore``, ``@torch.jit.export`` (with or without
    arguments): the function, unchanged."""
    if callable(fn):
        return fn
    return lambda f: f


unused = ignore = export = _mark


def script(obj=None, *args, **kwargs):
    raise unsupported("torch.jit.script", "NotImplementedError")


def trace(func=None, *args, **kwargs):
    raise unsupported("torch.jit.trace", "NotImplementedError")


def __getattr__(name):
    raise unsupported(f"torch.jit.{name}")
