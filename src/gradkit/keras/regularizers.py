"""Weight penalties for ``kernel_regularizer=`` / ``bias_regularizer=`` / ``activity_regularizer=``.

Keras' definitions (note: L2 is NOT halved, unlike ``gradkit.optim.l2_penalty``)::

    L1(l1)      l1 · Σ|w|
    L2(l2)      l2 · Σ w²
    L1L2(l1, l2) both

A layer adds the penalties of its last call to ``layer.losses``; ``fit`` adds ``model.losses``
to the loss it minimises (and reports ``loss`` with them included, as Keras does).
"""
from ..optim.regularization import l1_penalty, l2_penalty
from .registry import serialize_object

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize"]


class Regularizer:
    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """l1 · Σ|w| + l2 · Σ w². Defaults: ``l1=0.0``, ``l2=0.0``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        total = 0.0
        if self.l1:
            total = total + l1_penalty([x], self.l1)
        if self.l2:
            total = total + l2_penalty([x], 2.0 * self.l2)  # l2_penalty is (λ/2) Σ w²
        return total

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 · Σ|w|. Defaults: ``l1=0.01``."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """l2 · Σ w². Defaults: ``l2=0.01``."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown regularizer '{identifier}'; known: 'l1', 'l2', 'l1_l2'")
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        return _BY_NAME[identifier["class_name"]].from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"regularizer must be a name, a Regularizer or a callable; got "
                    f"{type(identifier).__name__}")


def serialize(reg):
    if reg is None:
        return None
    if type(reg) in (L1, L2, L1L2):
        return {"class_name": type(reg).__name__, "config": reg.get_config()}
    return serialize_object(reg)
