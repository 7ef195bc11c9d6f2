"""The AttributeError for names gradkit.tf does not provide: it lists what is there instead."""
import difflib


def unsupported(module, offered):
    """A module-level ``__getattr__`` for ``module`` that names the ``offered`` alternatives."""
    public = sorted(n for n in offered if not n.startswith("_"))

    def __getattr__(name):
        if name.startswith("__"):  # dunder probes (copy, pickle, doctest): the plain error
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        close = difflib.get_close_matches(name, public, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise AttributeError(
            f"{module}.{name} is not available in gradkit's TensorFlow-shaped namespace.{hint} "
            f"{module} offers: {', '.join(public)}. For anything else, use gradkit itself "
            "(import gradkit as gk: the PyTorch-style API over the same engine).")

    return __getattr__
