"""Models: ``Sequential``, the functional ``Model(inputs, outputs)``, and subclassing ``Model``.

A Model is a Layer (so an ``nn.Module``: ``model.parameters()`` and PyTorch-style loops work)
that also trains itself (``compile``/``fit``/``evaluate``/``predict``, in ``trainer.py``),
prints a ``summary()`` and saves itself (``save``/``save_weights``, in ``saving.py``).

    model = keras.Sequential([keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])

    inputs = keras.Input(shape=(784,))                      # functional: a graph of layer calls
    outputs = keras.layers.Dense(10)(keras.layers.Dense(128, activation="relu")(inputs))
    model = keras.Model(inputs, outputs)

    class MLP(keras.Model):                                 # subclassing: write call()
        def __init__(self):
            super().__init__()
            self.hidden, self.out = keras.layers.Dense(128, "relu"), keras.layers.Dense(10)
        def call(self, x, training=None):
            return self.out(self.hidden(x))

Weights are registered under PyTorch-style names: a Sequential's layers by position
(``0.linear.weight``), a functional model's by their index in ``model.layers``, a subclassed
model's by attribute name (``hidden.linear.weight``).
"""
import numpy as np

from .. import _internal
from ..nn.containers import ModuleList
from ..tensor import Tensor
from . import saving
from .layers.base import KerasTensor, Layer, build_on_zeros, flatten, map_structure
from .layers.core import InputLayer
from .trainer import Trainer

__all__ = ["Model", "Sequential", "Functional", "load_model", "save_model", "clone_model"]


class Model(Trainer, Layer):
    """A trainable graph of layers. ``Model(inputs, outputs)`` builds a functional model;
    subclass ``Model`` and define ``call(inputs, training=None)`` for any other forward."""

    _masks_by_layers = True   # the layers inside attach the masks (layers/masks.py)

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if args:
            raise TypeError("Model(inputs, outputs) builds a functional model; a Model subclass "
                            "calls super().__init__() (optionally with name=)")
        Layer.__init__(self, **kwargs)
        Trainer.__init__(self)

    def _convert(self, x):
        # floats become float32; integer inputs are left for the layers that take indices
        if isinstance(x, (np.ndarray, np.generic)):
            x = Tensor(np.asarray(x))
        if isinstance(x, Tensor) and x.dtype.kind == "f" and x.dtype != self._dtype:
            x = x.to(self._dtype)
        return x

    def call(self, inputs, training=None):
        raise NotImplementedError(f"{type(self).__name__}: a Model subclass must define "
                                  "call(self, inputs, training=None); or build the model with "
                                  "keras.Sequential([...]) or keras.Model(inputs, outputs)")

    @property
    def layers(self):
        """The model's layers: for a subclassed model, its Layer attributes in assignment order."""
        out = []
        for m in self._modules.values():
            if isinstance(m, Layer):
                out.append(m)
            elif isinstance(m, ModuleList):
                out.extend(x for x in m if isinstance(x, Layer))
        return out

    def get_layer(self, name=None, index=None):
        """A layer by its name (e.g. 'dense_1') or its index in ``model.layers``."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}; the layers are "
                         f"{[layer.name for layer in self.layers]}")

    def build(self, input_shape):
        """Build by calling the model once on zeros of ``input_shape`` (batch dim first)."""
        if not self.built and type(self).call is not Model.call:
            build_on_zeros(self, input_shape)

    def _maybe_build(self, inputs):
        # a model's layers build themselves during its first call; a subclass may still
        # override build() to create weights of its own
        if self.built:
            return
        if type(self).build is not Model.build:
            return Layer._maybe_build(self, inputs)
        self.built = True
        self._build_input_shape = map_structure(
            lambda t: (None,) + tuple(t.shape[1:]) if isinstance(t, Tensor) else None, inputs)

    # ------------------------------------------------------------------ saving
    def save(self, filepath, overwrite=True, **kwargs):
        """Architecture + weights + compile settings in one safetensors file (see saving.py)."""
        saving.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return Layer.from_config.__func__(cls, config)

    # ------------------------------------------------------------------ summary
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False):
        """Print a table of the layers: name (type), output shape, parameter count."""
        print_fn = print_fn or print
        rows = [(f"{layer.name} ({type(layer).__name__})",
                 _shape_str(layer) if layer.built else "?",
                 f"{layer.count_params():,}" if layer.built else "0 (unbuilt)")
                for layer in self._summary_layers()]
        weights = self.weights
        total = sum(t.array.size for t in weights)
        trainable = sum(t.array.size for t in self.trainable_weights)
        nbytes = sum(t.array.nbytes for t in weights)
        w0 = max([len("Layer (type)")] + [len(r[0]) for r in rows]) + 2
        w1 = max([len("Output Shape")] + [len(r[1]) for r in rows]) + 2
        w2 = max([len("Param #")] + [len(r[2]) for r in rows])
        width = line_length or (w0 + w1 + w2)
        lines = [f'Model: "{self.name}"', "_" * width,
                 "Layer (type)".ljust(w0) + "Output Shape".ljust(w1) + "Param #".rjust(w2),
                 "=" * width]
        for i, (a, b, c) in enumerate(rows):
            lines.append(a.ljust(w0) + b.ljust(w1) + c.rjust(w2))
            lines.append("_" * width if i < len(rows) - 1 else "=" * width)
        if not rows:
            lines.append("=" * width)
        lines += [f"Total params: {total:,} ({_size(nbytes)})",
                  f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", "_" * width]
        for line in lines:
            print_fn(line)

    def _summary_layers(self):
        return self.layers


def _shape_str(layer):
    shape = layer.output_shape
    if shape is None:
        return "?"
    return str(shape) if not isinstance(shape, list) else ", ".join(str(s) for s in shape)


def _size(nbytes):
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.2f} {unit}" if unit != "B" else f"{nbytes} B"
        nbytes /= 1024


# === Sequential ===============================================================================
class Sequential(Model):
    """A stack of layers, each feeding the next: ``Sequential([Dense(128, activation='relu'),
    Dense(10)])``. The first layer may declare ``input_shape=`` (or the list may start with
    ``keras.Input(shape=...)``): the whole model is then built at once, and data of another
    shape is refused with a message naming the layer. Otherwise it builds at the first batch.
    """

    _layers_by_index = True   # config["layers"][i] holds the weights "i.*" (saving checks them)

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._layers = []
        self._declared_shape = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return list(self._layers)

    def add(self, layer):
        """Append a layer (or, first, a ``keras.Input``), building it if the input shape is known."""
        if isinstance(layer, KerasTensor) and layer._history is not None \
                and isinstance(layer._history[0].layer, InputLayer):
            layer = layer._history[0].layer
        if isinstance(layer, InputLayer):
            if self._layers or self._declared_shape is not None:
                raise ValueError("Sequential: an Input can only be the first element")
            self._declared_shape = tuple(layer._batch_input_shape)
            return
        if not isinstance(layer, Layer):
            hint = (" (for gradkit.nn modules use gradkit.nn.Sequential)"
                    if hasattr(layer, "forward") else "")
            raise TypeError(f"Sequential.add: expected a keras layer, got "
                            f"{type(layer).__name__}{hint}")
        if not self._layers and self._declared_shape is None and layer._batch_input_shape:
            self._declared_shape = tuple(layer._batch_input_shape)
        if not self._layers and self._declared_shape is not None \
                and layer._batch_input_shape is None:
            layer._batch_input_shape = self._declared_shape  # errors then cite the declared shape
        self.add_module(str(len(self._layers)), layer)
        self._layers.append(layer)
        if self._declared_shape is not None:
            self.built = False
            build_on_zeros(self, self._declared_shape)

    def pop(self):
        """Remove the last layer and return it."""
        if not self._layers:
            raise TypeError("Sequential.pop: there are no layers to remove")
        layer = self._layers.pop()
        del self._modules[str(len(self._layers))]
        return layer

    def _check_inputs(self, x):
        declared = self._declared_shape
        if declared is None or not isinstance(x, Tensor):
            return
        rest = tuple(declared[1:])
        fits = x.ndim == len(declared) and all(d is None or d == s
                                               for d, s in zip(rest, x.shape[1:]))
        if fits:
            return
        first = self._layers[0] if self._layers else self
        if x.ndim == len(declared) and rest[:-1] == tuple(x.shape[1:-1]):
            raise first._input_error(rest[-1], x.shape[-1], x.shape)
        e = ValueError(f"Input 0 of layer '{first.name}' ({type(first).__name__}) is incompatible "
                       f"with the layer: expected input shape {(None,) + rest} (input_shape={rest}), "
                       f"received {tuple(x.shape)}. Change input_shape to {tuple(x.shape[1:])} or "
                       f"reshape the data to (-1, {', '.join(str(d) for d in rest)}).")
        _internal.name_error(e)
        raise e

    def call(self, inputs, training=None):
        if not self._layers:
            raise ValueError(f"Sequential '{self.name}' has no layers; add some: "
                             "model.add(keras.layers.Dense(...))")
        x = inputs
        for layer in self._layers:
            x = layer(x)
        return x

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "layers": [saving.serialize_keras_object(layer) for layer in self._layers],
                "declared_shape": list(self._declared_shape) if self._declared_shape else None}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        if config.get("declared_shape"):
            model._declared_shape = tuple(config["declared_shape"])
        for layer_config in config["layers"]:
            layer_config = dict(layer_config, build_input_shape=None)
            model.add(saving.deserialize_keras_object(layer_config, custom_objects))
        return model


# === the functional Model =====================================================================
def _producer(t):
    return t._history[0]


def _topological_nodes(outputs, inputs):
    """The nodes that compute ``outputs`` from ``inputs``, each after those it reads."""
    order, done, on_path = [], set(), set()
    input_ids = {id(t) for t in inputs}

    def visit(t):
        if t._history is None:
            raise ValueError(f"{t!r} was not produced by a layer call; build outputs from "
                             "keras.Input(...) through layers")
        node = _producer(t)
        if id(node) in done:
            return
        if isinstance(node.layer, InputLayer) and id(t) not in input_ids:
            raise ValueError(f"Graph disconnected: the outputs depend on the Input "
                             f"'{node.layer.name}' {t.shape}, which is not in the model's inputs")
        if id(node) in on_path:
            raise ValueError("the layer graph has a cycle")
        on_path.add(id(node))
        for parent in node.parent_tensors:
            visit(parent)
        on_path.discard(id(node))
        done.add(id(node))
        order.append(node)

    for t in inputs:
        visit(t)
    for t in outputs:
        visit(t)
    return order


class Functional(Model):
    """``Model(inputs, outputs)``: the graph of layer calls from ``keras.Input``s to outputs.
    Called on data, it runs the recorded calls in order. ``inputs`` may be one KerasTensor, a
    list, or a dict (then the data is a dict with the same keys or a list in that order)."""

    _layers_by_index = True   # config["layers"][i] holds the weights "i.*" (saving checks them)

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        flat_in, flat_out = flatten(inputs), flatten(outputs)
        for t in flat_in + flat_out:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model(inputs, outputs): expected KerasTensors (from "
                                f"keras.Input and layer calls), got {type(t).__name__}")
        for t in flat_in:
            if not isinstance(_producer(t).layer, InputLayer):
                raise ValueError(f"Model(inputs, outputs): every input must come straight from "
                                 f"keras.Input; {t!r} is the output of layer "
                                 f"'{_producer(t).layer.name}'")
        self._inputs, self._outputs = inputs, outputs
        self._flat_inputs, self._flat_outputs = flat_in, flat_out
        self._nodes = _topological_nodes(flat_out, flat_in)
        self._layers = []
        for node in self._nodes:
            if node.layer not in self._layers:
                self._layers.append(node.layer)
        for i, layer in enumerate(self._layers):
            self.add_module(str(i), layer)
        self.built = True
        self._build_input_shape = map_structure(lambda t: t.shape, inputs)
        self._output_shape = map_structure(lambda t: t.shape, outputs)

    @property
    def layers(self):
        return list(self._layers)

    @property
    def inputs(self):
        return list(self._flat_inputs)

    @property
    def outputs(self):
        return list(self._flat_outputs)

    def _convert(self, x):
        return Model._convert(self, x)

    def _bind_inputs(self, inputs):
        """Data -> one tensor per Input, in the order of ``self._flat_inputs``."""
        n = len(self._flat_inputs)
        if isinstance(inputs, dict):
            names = [_producer(t).layer.name for t in self._flat_inputs]
            if isinstance(self._inputs, dict):
                names = list(self._inputs)
            missing = [k for k in names if k not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}': input dict lacks {missing}; it has "
                                 f"{sorted(inputs)}")
            return [inputs[k] for k in names]
        flat = flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != n:
            raise ValueError(f"Model '{self.name}' expects {n} input(s), got {len(flat)}; pass "
                             "a list with one array per keras.Input")
        return flat

    def _check_inputs(self, inputs):
        for t, x in zip(self._flat_inputs, self._bind_inputs(inputs)):
            if not isinstance(x, Tensor):
                continue
            want = t.shape
            if x.ndim != len(want) or any(d is not None and d != s
                                          for d, s in zip(want[1:], x.shape[1:])):
                layer = _producer(t).layer
                e = ValueError(f"Input '{layer.name}' of model '{self.name}' is incompatible: "
                               f"expected shape {want}, received {tuple(x.shape)}. Change "
                               f"keras.Input(shape={tuple(x.shape[1:])}) or reshape the data.")
                _internal.name_error(e)
                raise e

    def call(self, inputs, training=None):
        values = {}
        for t, x in zip(self._flat_inputs, self._bind_inputs(inputs)):
            if isinstance(x, Tensor) and t.dtype != x.dtype.name and np.dtype(t.dtype).kind == "f":
                x = x.to(np.dtype(t.dtype))
            values[id(t)] = x

        def value(a):
            return values[id(a)] if isinstance(a, KerasTensor) else a

        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            args = map_structure(value, list(node.args))
            kwargs = map_structure(value, dict(node.kwargs))
            out = node.layer(*args, **kwargs)
            for t, o in zip(flatten(node.outputs), flatten(out)):
                values[id(t)] = o
        return map_structure(value, self._outputs)

    # ------------------------------------------------------------------ config
    def get_config(self):
        index = {id(node): i for i, node in enumerate(self._nodes)}

        def encode(a):
            if isinstance(a, KerasTensor):
                node, k = a._history
                return {"__keras_tensor__": [index[id(node)], k]}
            return a

        nodes = [{"layer": self._layers.index(n.layer),
                  "args": map_structure(encode, list(n.args)),
                  "kwargs": map_structure(encode, dict(n.kwargs))} for n in self._nodes]
        return {"name": self.name, "trainable": self.trainable,
                "layers": [saving.serialize_keras_object(layer) for layer in self._layers],
                "nodes": nodes, "inputs": map_structure(encode, self._inputs),
                "outputs": map_structure(encode, self._outputs)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = [saving.deserialize_keras_object(dict(c, build_input_shape=None), custom_objects)
                  for c in config["layers"]]
        produced = []

        def decode(a):
            if isinstance(a, dict) and "__keras_tensor__" in a:
                i, k = a["__keras_tensor__"]
                return flatten(produced[i])[k]
            if isinstance(a, dict):
                return {key: decode(v) for key, v in a.items()}
            if isinstance(a, list):
                return [decode(v) for v in a]
            return a

        for node in config["nodes"]:
            layer = layers[node["layer"]]
            if isinstance(layer, InputLayer):
                produced.append(layer.output)
            else:
                produced.append(layer(*decode(node["args"]), **decode(node["kwargs"])))
        model = cls(decode(config["inputs"]), decode(config["outputs"]), name=config.get("name"),
                    trainable=config.get("trainable", True))
        return model


# === module-level helpers (keras.models.*) ====================================================
def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    return saving.load_model(filepath, custom_objects, compile, safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    saving.save_model(model, filepath, overwrite=overwrite)


def clone_model(model, custom_objects=None):
    """A new model with the same architecture and freshly initialised weights."""
    config = saving.serialize_keras_object(model)
    return saving.deserialize_keras_object(config, custom_objects)
