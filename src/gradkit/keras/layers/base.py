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
  records a ``Node`` (the functional API's graph, in ``symbolic.py``) and returns KerasTensors
  with the output shape, found by running the layer once on zeros.
* **Masks.** A mask (which time steps are padding) rides beside a tensor from layer to layer:
  a layer whose ``call`` takes ``mask`` receives its input's, and one that supports masking
  gives its outputs ``compute_mask(inputs, mask)`` (the rules are in ``masks.py``).

Weights keep the wrapped ``nn`` module's layout (``Dense``'s is ``nn.Linear``'s (units, in));
``get_weights()``/``set_weights()`` speak Keras' layout ((in, units) for a Dense kernel).

The layers that wrap an ``nn`` module (Dense, Conv2D, ...) are ``Adapter``s: each declares its
module, its argument map, its weight map and its initializers, and ``Adapter`` builds, initialises
and lists the weights for all of them (see ``Adapter``).
"""
import functools
import inspect

import numpy as np

from ... import _internal
from ...autograd import grad_mode
from ...nn import init as nn_init
from ...nn.module import Module, Parameter
from ...nn.containers import ModuleList
from ...tensor import Tensor
from .. import initializers
from ..backend import floatx, snake_case, unique_name
from ..registry import is_plain, register_builtin
from .masks import get_keras_mask, set_keras_mask, warn_mask_dropped
from .symbolic import (KerasTensor, Node, _is_symbolic, _shape_of, _symbolic_call, flatten,
                       map_structure)

__all__ = ["Layer", "Adapter", "KerasTensor", "KerasWeight", "Node", "map_structure", "flatten",
           "permuted", "TRANSPOSED"]


# === the Layer ================================================================================
@functools.lru_cache(maxsize=None)
def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


@functools.lru_cache(maxsize=None)
def _names_arg(fn, name):
    """``fn`` has a parameter called ``name`` (not just **kwargs): Keras' test for ``mask``."""
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


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
    _masks_by_layers = False  # True for Model: its layers pass the masks on, not the model

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

    # ------------------------------------------------------------------ masks (masks.py)
    @property
    def supports_masking(self):
        """Keras' flag: the layer gives its outputs ``compute_mask(inputs, mask)``. True when the
        class defines its own ``compute_mask``; the built-in layers that pass a mask on declare
        ``supports_masking = True``; your own layer sets ``self.supports_masking = True``."""
        own = self.__dict__.get("_supports_masking")
        return own if own is not None else type(self).compute_mask is not Layer.compute_mask

    @supports_masking.setter
    def supports_masking(self, value):
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs, previous_mask=None):
        """The mask of the outputs, given the inputs and their mask (None: no mask). Defaults
        to the inputs' mask, unchanged: right for a layer that keeps the time axis."""
        return previous_mask

    def _set_output_masks(self, inputs, outputs, previous_mask):
        """After a call: attach ``compute_mask``'s masks to the outputs that have none, or warn
        that the mask stops here (Keras 3's step "set masks on outputs")."""
        if self._masks_by_layers:
            return
        if not self.supports_masking:
            if any(m is not None for m in flatten(previous_mask)):
                warn_mask_dropped(self)
            return
        flat = [t for t in flatten(outputs) if isinstance(t, Tensor)]
        if all(get_keras_mask(t) is not None for t in flat):
            return   # the layer set them itself
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        for t, m in zip(flatten(outputs), flatten(masks)):
            if isinstance(t, Tensor) and m is not None and get_keras_mask(t) is None:
                set_keras_mask(t, m)

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
        if nn_init.is_skipping():  # the weight is about to be loaded (load_model): no draws
            values = np.empty(shape, dtype)
        else:
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
        read/write them in Keras' layout). ``Adapter`` lists its declared ones instead."""
        own = [(n, p) for n, p in self._parameters.items() if p is not None]
        own += [(n, b) for n, b in self._buffers.items()
                if b is not None and n not in self._non_persistent]
        return [KerasWeight(n, t) for n, t in own]

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
                for n, t in child.state_dict(keep_vars=True).items():
                    if id(t) not in seen and t.dtype.kind == "f":
                        seen.add(id(t))
                        out.append(KerasWeight(n, t))
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
            a = np.asarray(a.array if isinstance(a, Tensor) else a)
            want = w.get().shape
            if a.shape != want:
                raise ValueError(f"{self.name}.set_weights: weight {i} has shape {a.shape}; "
                                 f"expected {want} (Keras layout)")
            arrays.append(a)
        with grad_mode.no_grad():
            for w, a in zip(entries, arrays):
                w.set(a)
                _internal.bump_version(*w.tensors)

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call count_params on layer '{self.name}', but the "
                             "layer isn't built. Build it first: call it on a batch or give "
                             "input_shape=")
        return int(sum(t.array.size for t in self.weights))

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
        """Checks before the call that the wrapped code cannot make (Keras' rank rules: no
        unbatched inputs). Raise ``_input_error``."""

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
        _internal.name_error(e)   # the message names the layer: no outer layer prefixes it
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
        given = args[0]
        previous_mask = map_structure(get_keras_mask, given)   # masks.py: Keras 3's rules
        args = (map_structure(self._convert, args[0]),) + tuple(
            self._convert(a) if isinstance(a, (np.ndarray, Tensor)) else a for a in args[1:])
        if any(m is not None for m in flatten(previous_mask)):
            for old, new, m in zip(flatten(given), flatten(args[0]), flatten(previous_mask)):
                if new is not old and m is not None:   # cast by _convert: the mask goes along
                    set_keras_mask(new, m)
            if kwargs.get("mask") is None and _names_arg(type(self).call, "mask"):
                kwargs["mask"] = previous_mask
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
        self._set_output_masks(args[0], out, previous_mask)
        self._output_shape = map_structure(
            lambda t: _shape_of(t) if isinstance(t, Tensor) else None, out)
        # TensorFlow's rule: model(x)[:1].numpy() works, graph or not
        _internal.mark_tf_values(*[t for t in flatten(out) if isinstance(t, Tensor)])
        return out

    def _call(self, args, kwargs):
        if _accepts(type(self).call, "training") and "training" not in kwargs:
            kwargs["training"] = self.training
        try:
            return Module.__call__(self, *args, **kwargs)
        except (ValueError, TypeError, IndexError, RuntimeError) as e:
            # name the innermost Keras layer, by its Keras name, once
            if not _internal.error_is_named(e) and e.args and isinstance(e.args[0], str):
                _internal.name_error(e, f"in layer '{self.name}' ({type(self).__name__}): ")
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


# === Keras weights: what get_weights() / set_weights() read and write ========================
def permuted(*axes):
    """The layout of a Keras weight stored with its axes in another order:
    ``keras = stored.transpose(axes)``, and back through the inverse permutation."""
    inverse = tuple(int(i) for i in np.argsort(axes))
    return (lambda a: a.transpose(axes)), (lambda a: a.transpose(inverse))


TRANSPOSED = permuted(1, 0)   # nn.Linear's weight (out, in) is Keras' kernel (in, out)


class KerasWeight:
    """One Keras weight: its Keras name, the gradkit tensor(s) that hold it and its layout, a pair
    ``(to_keras, from_keras)`` of array functions (None: stored as Keras shows it). A weight held
    in several tensors (a GRU's two biases) has ``to_keras(*arrays) -> array`` and
    ``from_keras(array) -> one array per tensor``. In an ``Adapter`` a weight also names its
    Keras initializer (``init(keras_shape, dtype=...)``); ``fixed=True`` marks a tensor Keras does
    not have, kept at its initial value and never trained (BatchNormalization's gamma with
    ``scale=False``)::

        KerasWeight("kernel", linear.weight, TRANSPOSED, init=self.kernel_initializer)
    """

    __slots__ = ("name", "tensors", "to_keras", "from_keras", "init", "fixed")

    def __init__(self, name, tensors, layout=None, init=None, fixed=False):
        self.name, self.init, self.fixed = name, init, fixed
        self.tensors = [tensors] if tensors is None or isinstance(tensors, Tensor) \
            else list(tensors)
        self.to_keras, self.from_keras = layout or (None, None)

    def get(self):
        """The values in Keras' layout (a view where the layout allows)."""
        arrays = [t.array for t in self.tensors]
        return self.to_keras(*arrays) if self.to_keras else arrays[0]

    def set(self, a):
        """Write ``a`` (Keras' layout) into the tensors, in place."""
        parts = self.from_keras(a) if self.from_keras else a
        for t, part in zip(self.tensors, [parts] if len(self.tensors) == 1 else parts):
            np.copyto(t.array, np.asarray(part).astype(t.dtype, copy=False))

    @property
    def shape(self):
        """The shape in Keras' layout."""
        return self.get().shape


# === adapters: the Keras layers that are an nn module ==========================================
class Adapter(Layer):
    """A Keras layer that is an ``nn`` module with Keras' arguments, weight names, layouts and
    initializers. A subclass writes ``__init__`` (Keras' arguments) and ``call``, and declares:

        nn_modules(input_shape)  {attribute: nn module}: the argument map, Keras' arguments as the
                                 nn constructor's (the attribute is the state_dict prefix)
        keras_weights()          [KerasWeight(Keras name, nn tensor, layout, init=...)]: the
                                 weight map and the initializer map, in Keras' order, which is the
                                 order of get_weights() and of the draws (a None tensor: no weight)
        input_error(x)           Keras' message for an input the module refused, or None

    ``build`` makes the modules once with ``nn.init`` skipped (PyTorch's initialisation would be
    drawn only to be overwritten), then draws every weight from its Keras initializer: the Keras
    draws are the only ones. Built inside ``nn.init.skipped()`` (what ``load_model`` does, the
    weights being read next), it draws none. Checking the inputs is the module's job (nn.functional's): when it
    refuses one, ``input_error`` says in Keras' terms what the layer was built for, and otherwise
    the layer adds its name to the module's message. For example ``Dense``::

        def nn_modules(self, input_shape):
            return {"linear": nn.Linear(input_shape[-1], self.units, bias=self.use_bias,
                                        dtype=self._dtype)}

        def keras_weights(self):
            return [KerasWeight("kernel", self.linear.weight, TRANSPOSED,
                                init=self.kernel_initializer),
                    KerasWeight("bias", self.linear.bias, init=self.bias_initializer)]
    """

    _wraps_modules = True
    _modules_built = False   # set by build_modules

    def nn_modules(self, input_shape):
        raise NotImplementedError(f"{type(self).__name__} must define nn_modules(input_shape)")

    def keras_weights(self):
        raise NotImplementedError(f"{type(self).__name__} must define keras_weights()")

    def input_error(self, x):
        """The error (``_input_error(...)``) for an input ``x`` that the built layer cannot take,
        or None. Asked only after the call failed."""
        return None

    def _set_initializers(self, **identifiers):
        """``kernel_initializer='glorot_uniform', ...``: each becomes an attribute holding the
        initializer (``self.kernel_initializer``); get_config writes them as they were given."""
        self._initializer_ids = identifiers
        for name, identifier in identifiers.items():
            setattr(self, name, initializers.get(identifier))

    def _initializers_config(self):
        return {name: i if isinstance(i, str) else initializers.serialize(i)
                for name, i in self._initializer_ids.items()}

    # ------------------------------------------------------------------ building
    def build(self, input_shape):
        self.build_modules(input_shape)

    def build_modules(self, input_shape):
        """Make the nn modules, then give every weight its Keras initial value, in Keras' order."""
        with nn_init.skipped():
            modules = self.nn_modules(input_shape)
        for name, module in modules.items():
            setattr(self, name, module)
        self._modules_built = True
        weights = self._declared_weights()
        draw = not nn_init.is_skipping()  # within nn.init.skipped() the weights are loaded next
        for w in weights:
            if draw:
                w.set(np.asarray(w.init(w.shape, dtype=w.tensors[0].dtype)))
            if w.fixed or not self._trainable:
                for t in w.tensors:
                    t.requires_grad_(False)
        declared = {id(t) for w in weights for t in w.tensors}
        for name, module in modules.items():
            for p_name, p in module.named_parameters():
                if id(p) not in declared:   # it would keep np.empty's memory
                    raise RuntimeError(f"{type(self).__name__}.keras_weights() does not declare "
                                       f"{name}.{p_name}, so nothing initialises it")

    def _declared_weights(self):
        return [w for w in self.keras_weights() if w.tensors[0] is not None]

    def _own_weights(self):
        if not self._modules_built:
            return []
        return [w for w in self._declared_weights() if not w.fixed]

    def _untrained_weights(self):
        if not self._modules_built:
            return []
        return [t for w in self._declared_weights() if w.fixed for t in w.tensors]

    # ------------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        try:
            return self.call(*args, **kwargs)
        except (ValueError, TypeError, IndexError, RuntimeError) as e:
            x = args[0] if args else None
            refusal = self.input_error(x) if isinstance(x, Tensor) and self._modules_built \
                else None
            if refusal is None:
                raise
            raise refusal from e
