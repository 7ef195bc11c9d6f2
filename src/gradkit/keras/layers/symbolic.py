"""The functional API's graph: a ``KerasTensor`` is a symbolic batch (a shape and a dtype, what
``keras.Input`` returns); calling a layer on one records a ``Node`` and gives KerasTensors of the
output shapes, found by running the layer on zeros. Also the helpers for nested inputs (a tensor,
a list of them, a dict)."""
import numpy as np

from ...autograd import grad_mode
from ...tensor import Tensor
from .masks import get_keras_mask, set_keras_mask

__all__ = ["KerasTensor", "Node", "flatten", "map_structure"]


# === nested structures (a layer's input may be a tensor, a list of them, a dict) ============
def flatten(structure):
    """The leaves of nested lists/tuples/dicts, in order."""
    if isinstance(structure, (list, tuple)):
        return [leaf for s in structure for leaf in flatten(s)]
    if isinstance(structure, dict):
        return [leaf for k in structure for leaf in flatten(structure[k])]
    return [structure]


def map_structure(fn, structure):
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def _shape_of(t):
    return (None,) + tuple(t.shape[1:]) if t.ndim else ()


# === symbolic tensors: the functional API's graph ============================================
class KerasTensor:
    """A placeholder for a batch: its shape (``None`` for the batch size) and dtype, and the
    layer call that produced it. ``keras.Input(shape=(784,))`` makes one. ``_keras_mask``: the
    KerasTensor of its mask, when the layer that produced it gives one (as in Keras)."""

    def __init__(self, shape, dtype="float32", history=None, name=None):
        self.shape = tuple(shape)
        self.dtype = str(np.dtype(dtype))
        self._history = history  # (node, index in the node's outputs)
        self.name = name
        self._keras_mask = None

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def _no_ops(self, *args, **kwargs):
        raise TypeError("gradkit.keras: arithmetic on symbolic KerasTensors is not supported; "
                        "use layers: keras.layers.Add()([a, b]), Concatenate, Activation, "
                        "Reshape, or write a Layer subclass")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __matmul__ = _no_ops
    __truediv__ = __neg__ = __getitem__ = _no_ops

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self!r} is symbolic (from keras.Input): it holds no values. Build a "
                        "Model(inputs, outputs) and call it on data, or use model.predict(x)")


class Node:
    """One call of ``layer`` in a functional graph: the (symbolic) arguments and outputs."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs

    @property
    def parent_tensors(self):
        return [t for t in flatten((self.args, self.kwargs)) if isinstance(t, KerasTensor)]


def _is_symbolic(args, kwargs):
    return any(isinstance(t, KerasTensor) for t in flatten((list(args), kwargs)))


def _symbolic_call(layer, args, kwargs):
    """Record ``layer(*args, **kwargs)`` on KerasTensors; infer the output shapes by running the
    layer on zeros twice (size 2 and 3 for every ``None`` dimension: dims that follow are None).
    A masked KerasTensor becomes zeros with an all-True mask, so that the outputs' masks are
    found by the same runs."""
    def concrete(n):
        def make(t):
            if not isinstance(t, KerasTensor):
                return t
            z = Tensor(np.zeros(tuple(n if d is None else d for d in t.shape), t.dtype))
            if t._keras_mask is not None:
                m = t._keras_mask
                set_keras_mask(z, Tensor(np.ones(tuple(n if d is None else d for d in m.shape),
                                                 bool)))
            return z
        return map_structure(make, list(args)), map_structure(make, dict(kwargs))

    with grad_mode.no_grad():
        runs = []
        for n in (2, 3):
            a, k = concrete(n)
            k["training"] = False
            runs.append(layer(*a, **k))
    node = Node(layer, tuple(args), dict(kwargs), None)
    counter = iter(range(1 << 30))

    def symbolic(pair):
        t2, t3 = pair
        out = KerasTensor(_common_shape(t2, t3), t2.dtype, (node, next(counter)), name=layer.name)
        m2, m3 = get_keras_mask(t2), get_keras_mask(t3)
        if m2 is not None and m3 is not None:
            out._keras_mask = KerasTensor(_common_shape(m2, m3), "bool", name=layer.name)
        return out

    outputs = _zip_map(symbolic, runs[0], runs[1])
    node.outputs = outputs
    layer._inbound_nodes.append(node)
    return outputs


def _common_shape(t2, t3):
    return tuple(d2 if d2 == d3 else None for d2, d3 in zip(t2.shape, t3.shape))


def _zip_map(fn, a, b):
    if isinstance(a, (list, tuple)):
        return type(a)(_zip_map(fn, x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: _zip_map(fn, a[k], b[k]) for k in a}
    return fn((a, b))
