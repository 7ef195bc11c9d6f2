"""Layer: the Keras layer on top of ``nn.Module``, with lazy building and symbolic calls.

A Keras layer is an ``nn.Module`` (its Parameters are found by ``parameters()``, saved by
``state_dict()``) that differs from a PyTorch module in three Keras ways:

* **Lazy building.** ``Dense(128)`` does not know its input size; the first call runs
  ``build(input_shape)``, which creates the wrapped ``nn`` module (``nn.Linear(784, 128)``).
  Before that the layer has no weights. ``input_shape=(784,)`` on the first layer of a
  ``Sequential`` builds the whole model at construction.
* **Inference by default.** ``layer(x)`` runs in inference mode (Dropout off, BatchNorm on its
  moving statistics) unless called with ``training=True``, inside ``fit``, or after
  ``model.train()``. ``training=`` switches the whole layer for one call and switches it back.
* **Symbolic calls.** Called on a ``KerasTensor`` (what ``keras.Input`` returns), a layer
  records a ``Node`` (the functional API's graph) and returns KerasTensors with the output
  shape, found by running the layer once on zeros.

Weights keep the wrapped ``nn`` module's layout (``Dense``'s is ``nn.Linear``'s (units, in));
``get_weights()``/``set_weights()`` speak Keras' layout ((in, units) for a Dense kernel).
"""
import functools
import inspect

import numpy as np

from ...autograd import grad_mode
from ...nn.module import Module, Parameter
from ...nn.containers import ModuleList
from ...tensor import Tensor
from .. import initializers
from ..backend import floatx, snake_case, unique_name
from ..registry import is_plain, register_builtin

__all__ = ["Layer", "KerasTensor", "KerasWeight", "Node", "map_structure", "flatten"]


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
    layer call that produced it. ``keras.Input(shape=(784,))`` makes one."""

    def __init__(self, shape, dtype="float32", history=None, name=None):
        self.shape = tuple(shape)
        self.dtype = str(np.dtype(dtype))
        self._history = history  # (node, index in the node's outputs)
        self.name = name

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
    layer on zeros twice (size 2 and 3 for every ``None`` dimension: dims that follow are None)."""
    def concrete(n):
        def make(t):
            if not isinstance(t, KerasTensor):
                return t
            return Tensor(np.zeros(tuple(n if d is None else d for d in t.shape), t.dtype))
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
        shape = tuple(d2 if d2 == d3 else None for d2, d3 in zip(t2.shape, t3.shape))
        return KerasTensor(shape, t2.dtype, (node, next(counter)), name=layer.name)

    outputs = _zip_map(symbolic, runs[0], runs[1])
    node.outputs = outputs
    layer._inbound_nodes.append(node)
    return outputs


def _zip_map(fn, a, b):
    if isinstance(a, (list, tuple)):
        return type(a)(_zip_map(fn, x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: _zip_map(fn, a[k], b[k]) for k in a}
    return fn((a, b))


# === the Layer ================================================================================
@functools.lru_cache(maxsize=None)
def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


class Layer(Module):
    """Base class of every Keras layer (and of ``Model``).

    Subclass it as in Keras: create weights in ``build(input_shape)`` with ``add_weight`` (or
    by assigning ``nn`` modules / other layers), compute in ``call(inputs, training=None)``::

        class Scale(keras.layers.Layer):
            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")
            def call(self, x):
                return x * self.w

    Common arguments: ``name`` (unique per session, e.g. 'dense_1'), ``trainable``,
    ``dtype`` (of the weights; defaults to ``'float32'``), ``input_shape`` (without the batch
    dimension) / ``input_dim`` / ``batch_size``, used by ``Sequential`` to build eagerly.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("gradkit.keras."):   # gradkit's own: saved by plain name
            register_builtin(cls)

    _integer_inputs = False  # True for layers that take indices (Embedding): inputs not cast
    _wraps_modules = False   # True when _own_weights() lists the wrapped nn module's weights

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        object.__setattr__(obj, "_init_args", (args, dict(kwargs)))
        return obj

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None, input_dim=None,
                 batch_size=None, batch_input_shape=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{', '.join(sorted(kwargs))}")
        super().__init__()
        object.__setattr__(self, "training", False)
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype = np.dtype(dtype or floatx())
        self.built = False
        self._build_input_shape = None
        self._output_shape = None
        self._inbound_nodes = []
        self._losses = []
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
            self._batch_input_shape = (batch_size,) + shape
        else:
            self._batch_input_shape = None

    # ------------------------------------------------------------------ attributes
    @property
    def dtype(self):
        """The weights' dtype name, e.g. 'float32'."""
        return self._dtype.name

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """False freezes every weight of the layer (and of its sub-layers); True unfreezes them,
        except the weights a layer never trains (``_untrained_weights``)."""
        for m in self.modules():
            if isinstance(m, Layer):
                object.__setattr__(m, "_trainable", bool(value))
        for p in self.parameters():
            p.requires_grad_(bool(value))
        if value:
            for m in self.modules():
                if isinstance(m, Layer):
                    for p in m._untrained_weights():
                        p.requires_grad_(False)

    def _untrained_weights(self):
        """Parameters that stay frozen whatever ``trainable`` says (BatchNormalization's gamma
        with ``scale=False``)."""
        return []

    def __setattr__(self, name, value):
        # Keras tracks lists of layers assigned as attributes; a ModuleList registers them
        if isinstance(value, list) and value and all(isinstance(v, Module) for v in value):
            value = ModuleList(value)
        if isinstance(value, Module) and not isinstance(value, Layer) and "_modules" in self.__dict__:
            value.train(self.training)  # a wrapped nn module follows the layer's mode
        super().__setattr__(name, value)

    @property
    def input_shape(self):
        return self._build_input_shape

    @property
    def output_shape(self):
        return self._output_shape

    @property
    def losses(self):
        """Extra loss terms added with ``add_loss`` in the last call (e.g. activity penalties)."""
        out = []
        for m in self.modules():
            if isinstance(m, Layer):
                out.extend(m._losses)
        return out

    def add_loss(self, loss):
        self._losses.append(loss)

    def _add_regularization_losses(self, kernel, bias, outputs):
        """The kernel_/bias_/activity_regularizer penalties of a layer with a kernel (Dense,
        Conv2D); the activity penalty is averaged over the batch, as Keras does."""
        if self.kernel_regularizer is not None:
            self.add_loss(self.kernel_regularizer(kernel))
        if self.bias_regularizer is not None and bias is not None:
            self.add_loss(self.bias_regularizer(bias))
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(outputs) / outputs.shape[0])

    # ------------------------------------------------------------------ weights
    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None, trainable=True,
                   name=None, regularizer=None, constraint=None):
        """Create a weight of ``shape`` (Keras layout), initialised by ``initializer`` (a name,
        an Initializer or a callable). Trainable weights are Parameters; non-trainable ones are
        buffers (saved, not optimised). Returns the Tensor, also set as attribute ``name``."""
        if regularizer is not None or constraint is not None:
            raise NotImplementedError(f"{self.name}: add_weight(regularizer=/constraint=) is not "
                                      "supported by gradkit.keras yet; add the penalty with "
                                      "self.add_loss(...) in call()")
        shape = () if shape is None else tuple(shape)
        dtype = np.dtype(dtype or self._dtype)
        init = initializers.get(initializer if initializer is not None else "zeros")
        values = np.asarray(init(shape, dtype=dtype), dtype=dtype).reshape(shape)
        if name is None:
            name = f"variable_{len(self._parameters) + len(self._buffers)}"
        if trainable:
            w = Parameter(values)
            w.requires_grad_(self._trainable)
            self.register_parameter(name, w)
        else:
            w = Tensor(values)
            self.register_buffer(name, w)
        return w

    def _own_weights(self):
        """The weights this layer owns, in Keras order, as ``KerasWeight``s (tensors + how to
        read/write them in Keras' layout). Wrappers of ``nn`` modules override it."""
        own = [p for p in self._parameters.values() if p is not None]
        own += [b for n, b in self._buffers.items() if b is not None and n not in self._non_persistent]
        return [KerasWeight(t) for t in own]

    def _weight_entries(self, seen=None):
        seen = set() if seen is None else seen
        out = []
        for w in self._own_weights():
            if not any(id(t) in seen for t in w.tensors):
                seen.update(id(t) for t in w.tensors)
                out.append(w)
        if self._wraps_modules:
            return out
        for child in self.children():
            if isinstance(child, Layer):
                out += child._weight_entries(seen)
            else:  # a plain nn module inside a Keras layer: its state as it is
                for t in child.state_dict(keep_vars=True).values():
                    if id(t) not in seen and t.dtype.kind == "f":
                        seen.add(id(t))
                        out.append(KerasWeight(t))
        return out

    @property
    def weights(self):
        """All weights (trainable first within each layer), as gradkit Tensors in the wrapped
        module's layout. ``get_weights()`` gives NumPy copies in Keras' layout."""
        return [t for w in self._weight_entries() for t in w.tensors]

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_weights(self):
        return [t for t in self.weights if isinstance(t, Parameter) and t.requires_grad]

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_weights(self):
        return [t for t in self.weights if not (isinstance(t, Parameter) and t.requires_grad)]

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    def get_weights(self):
        """NumPy copies of the weights in Keras' layout and order (Dense: [kernel (in, units),
        bias]; Conv2D: [kernel (kh, kw, in, out), bias]; BatchNormalization: [gamma, beta,
        moving_mean, moving_variance])."""
        return [np.array(w.get()) for w in self._weight_entries()]

    def set_weights(self, weights):
        """Load arrays in ``get_weights()``'s layout and order; shapes are checked first."""
        entries = self._weight_entries()
        weights = list(weights)
        if len(weights) != len(entries):
            raise ValueError(f"{self.name}.set_weights: expected a list of {len(entries)} arrays "
                             f"(the layer's weights), got {len(weights)}")
        arrays = []
        for i, (w, a) in enumerate(zip(entries, weights)):
            a = np.asarray(a.data if isinstance(a, Tensor) else a)
            want = w.get().shape
            if a.shape != want:
                raise ValueError(f"{self.name}.set_weights: weight {i} has shape {a.shape}; "
                                 f"expected {want} (Keras layout)")
            arrays.append(a)
        with grad_mode.no_grad():
            for w, a in zip(entries, arrays):
                w.set(a)
                for t in w.tensors:
                    t._vc[0] += 1

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call count_params on layer '{self.name}', but the "
                             "layer isn't built. Build it first: call it on a batch or give "
                             "input_shape=")
        return int(sum(t.data.size for t in self.weights))

    # ------------------------------------------------------------------ building
    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (batch dimension first, None)."""

    def _maybe_build(self, inputs):
        if self.built:
            return
        shapes = map_structure(_shape_of, inputs)
        self.build(shapes)
        self.built = True
        self._build_input_shape = shapes
        if not self._trainable:
            for p in self.parameters():
                p.requires_grad_(False)

    def _check_inputs(self, inputs):
        """Checks before the call (shapes against the built weights). Raise ``_input_error``."""

    def _input_error(self, expected, received, shape, what="features (the last axis)"):
        """The message for an input that does not fit the built layer, with the fix."""
        declared = self._batch_input_shape
        msg = (f"Input 0 of layer '{self.name}' ({type(self).__name__}) is incompatible with the "
               f"layer: expected {expected} {what}, received {received} (input shape "
               f"{tuple(shape)}). ")
        if declared is not None:
            fixed = tuple(declared[1:-1]) + (received,)
            msg += (f"The layer was declared with input_shape={tuple(declared[1:])}, but the data "
                    f"has {received}: change it to input_shape={fixed}, or remove input_shape= "
                    "and let the layer infer it from the first batch.")
        else:
            msg += (f"The layer was built for {expected} by its first input; every later input "
                    "must have the same size (build a new model for data of another shape).")
        e = ValueError(msg)
        e._gk_named = True
        return e

    # ------------------------------------------------------------------ calling
    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define call(self, inputs)")

    def forward(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def _convert(self, x):
        """NumPy arrays and lists become Tensors; floats are cast to the layer's dtype, and
        integers too unless the layer takes indices (Keras' autocast, extended to ints)."""
        if isinstance(x, (np.ndarray, np.generic)):
            x = Tensor(np.asarray(x))
        if isinstance(x, Tensor):
            kind = x.dtype.kind
            if (kind == "f" or (kind in "iub" and not self._integer_inputs)) \
                    and x.dtype != self._dtype:
                x = x.to(self._dtype)
        return x

    def __call__(self, *args, **kwargs):
        if _is_symbolic(args, kwargs):
            return _symbolic_call(self, args, kwargs)
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"{self.name}: call the layer on its inputs, layer(x)")
            args = (kwargs.pop("inputs"),)
        training = kwargs.pop("training", None)
        if isinstance(args[0], list) and not any(isinstance(t, (Tensor, np.ndarray))
                                                 for t in flatten(args[0])):
            args = (np.asarray(args[0]),) + args[1:]  # a nested list of numbers: one array
        args = (map_structure(self._convert, args[0]),) + tuple(
            self._convert(a) if isinstance(a, (np.ndarray, Tensor)) else a for a in args[1:])
        self._maybe_build(args[0])
        self._check_inputs(args[0])
        self._losses = []
        if training is not None and bool(training) != self.training:
            modes = [(m, m.training) for m in self.modules()]
            self.train(bool(training))
            try:
                out = self._call(args, kwargs)
            finally:
                for m, mode in modes:
                    object.__setattr__(m, "training", mode)
        else:
            out = self._call(args, kwargs)
        self._output_shape = map_structure(
            lambda t: _shape_of(t) if isinstance(t, Tensor) else None, out)
        return out

    def _call(self, args, kwargs):
        if _accepts(type(self).call, "training") and "training" not in kwargs:
            kwargs["training"] = self.training
        try:
            return Module.__call__(self, *args, **kwargs)
        except (ValueError, TypeError, IndexError, RuntimeError) as e:
            # name the innermost Keras layer, by its Keras name, once
            if not getattr(e, "_gk_named", False) and e.args and isinstance(e.args[0], str):
                e.args = (f"in layer '{self.name}' ({type(self).__name__}): {e.args[0]}",) \
                    + e.args[1:]
                e._gk_named = True
            raise

    # ------------------------------------------------------------------ config (saving)
    def get_config(self):
        """The constructor arguments that rebuild this layer (saved by ``model.save``).

        The default, for a custom layer, is the arguments it was constructed with, when they
        are plain values (numbers, strings, lists, dicts); override it otherwise."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        if type(self).get_config is not Layer.get_config or type(self) is Layer:
            return config
        args, kwargs = self._init_args
        try:
            bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        except TypeError:
            bound = None
        extra = {}
        if bound is not None:
            for k, v in list(bound.arguments.items())[1:]:
                p = inspect.signature(type(self).__init__).parameters[k]
                if p.kind == p.VAR_KEYWORD:
                    extra.update(v)
                elif p.kind != p.VAR_POSITIONAL:
                    extra[k] = v
        if not is_plain(extra):
            raise NotImplementedError(
                f"Layer {type(self).__name__} has constructor arguments that are not plain "
                "values, so gradkit cannot write its config: define get_config() returning "
                "the arguments that rebuild it (and from_config if needed)")
        for k in ("name", "trainable", "dtype"):
            extra.pop(k, None)
        config.update(extra)
        return config

    @classmethod
    def from_config(cls, config):
        """``cls(**config)``; the name and trainable flag are set afterwards when the class's
        ``__init__`` does not accept them (a custom layer that forgot ``**kwargs``)."""
        config = dict(config)
        params = inspect.signature(cls.__init__).parameters
        if any(p.kind == p.VAR_KEYWORD for p in params.values()):
            return cls(**config)
        name, trainable = config.pop("name", None), config.pop("trainable", True)
        layer = cls(**{k: v for k, v in config.items() if k in params})
        if name:
            layer.name = name
        layer.trainable = trainable
        return layer

    def extra_repr(self):
        return f"name={self.name!r}" + ("" if self.built else ", unbuilt")


def build_on_zeros(layer, shape):
    """Build ``layer`` by calling it once on zeros of ``shape`` (batch of 1), in inference."""

    def zeros(s):
        return Tensor(np.zeros(tuple(1 if d is None else d for d in s), np.float32))

    is_shape = all(d is None or isinstance(d, int) for d in shape)
    dummy = zeros(shape) if is_shape else [zeros(s) for s in shape]
    with grad_mode.no_grad():
        layer(dummy, training=False)


class KerasWeight:
    """One Keras weight: the gradkit tensors that hold it, and how to read and write it in
    Keras' layout. ``KerasWeight(t)`` is a tensor as it is; ``KerasWeight(t, to_keras,
    from_keras)`` maps the layout (e.g. a transpose); ``KerasWeight(tensors, get=, set=)``
    covers a Keras weight stored in several tensors (a GRU's two biases)."""

    __slots__ = ("tensors", "get", "set")

    def __init__(self, tensors, to_keras=None, from_keras=None, get=None, set=None):
        self.tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
        t = self.tensors[0]
        to_keras = to_keras or (lambda a: a)
        from_keras = from_keras or (lambda a: a)
        self.get = get or (lambda: to_keras(t.data))
        self.set = set or (lambda a: np.copyto(t.data, from_keras(a).astype(t.dtype, copy=False)))


def transposed(t):
    """A 2-D weight stored (out, in) as nn.Linear does, read as Keras' (in, out) kernel."""
    return KerasWeight(t, lambda a: a.T, lambda a: a.T)

