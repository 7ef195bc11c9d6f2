"""Whether operations record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

One process-wide switch (PyTorch's is per thread; gradkit trains in one thread, and a data
loader's prefetch thread never builds graphs). Each class works as a context manager and as a
decorator.
"""
import functools


class _State:
    enabled = True


state = _State()


def is_grad_enabled():
    return state.enabled


class _GradModeContext:
    _mode = None

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self._mode

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = state.enabled
            state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Operations inside record no graph: for evaluation and for optimizer updates.

    >>> with gk.no_grad():
    ...     y = model(x)          # y.requires_grad is False
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Turn graph recording back on inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` is ``no_grad()``; usable as a function call too."""

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = state.enabled
        state.enabled = self._mode  # torch.set_grad_enabled(False) as a plain call takes effect at once

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False


class inference_mode(no_grad):
    """Same as ``no_grad`` in gradkit (kept for PyTorch code that uses it)."""

    def __init__(self, mode=True):
        self._mode = not mode
