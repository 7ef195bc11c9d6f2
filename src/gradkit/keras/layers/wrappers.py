"""Layers that wrap another layer: Bidirectional (a recurrent layer both ways), TimeDistributed
(a layer at every time step). They compute nothing themselves: each calls the wrapped layers and
joins or reshapes what they return.

    keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True))  # (N, T, 128)
    keras.layers.TimeDistributed(keras.layers.Dense(10))                      # (N, T, 10)

Both pass a mask (masks.py) on: Bidirectional gives it to both directions (the backward layer
reads it last to first, as its steps), TimeDistributed to the wrapped layer when its ``call``
takes one, a row per folded step.
"""
from ... import _internal, ops
from ..registry import class_name, jsonable, layer_class
from .base import Layer, _names_arg, build_on_zeros
from .masks import mask_array
from .recurrent import _RNN

__all__ = ["Bidirectional", "TimeDistributed"]


# === the wrapped layer in a config (saving.py's serialize_keras_object, without a build shape:
# the wrapper builds the layers it holds)
def _serialize(layer):
    """The wrapped layer's entry in the wrapper's config (saving.serialize_keras_object, minus the
    build shape: the wrapper builds it)."""
    return {"class_name": class_name(type(layer)), "config": jsonable(layer.get_config())}


def _deserialize(config, custom_objects=None):
    return layer_class(config["class_name"], custom_objects).from_config(dict(config["config"]))


def _without_prefix(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


# === Bidirectional =============================================================================
_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """A recurrent layer run forwards and backwards over the sequence, the two outputs merged.

    ``layer``: a SimpleRNN, LSTM or GRU; the wrapper makes two new layers from its config,
    ``forward_<name>`` and ``backward_<name>`` (``go_backwards`` flipped), as Keras does, so
    ``layer`` itself holds no weights of the model. ``backward_layer``: give the backward layer
    yourself instead (it must read the other way and return what ``layer`` returns).

    x: (N, T, features) -> with f, b the two layers' outputs (each (N, units), or (N, T, units)
    with ``return_sequences=True``, b then turned back into forward time order), by
    ``merge_mode``:

        'concat' (default)  [f, b] joined on the last axis: (..., 2·units)
        'sum', 'mul', 'ave'  f + b, f · b, (f + b) / 2
        None                 the list [f, b]

    ``return_state=True`` appends the forward layer's final states, then the backward one's
    (``[out, h_f, c_f, h_b, c_b]`` for an LSTM); ``initial_state`` takes them in that order.
    Weights (``get_weights``): the forward layer's, then the backward layer's.

    A mask (N, T) goes to both layers: each skips the padded steps in its own reading order. With
    ``return_sequences=True`` both layers output zeros at the masked steps (Keras sets their
    ``zero_output_for_mask``), and the merged sequence keeps the mask.

    >>> Bidirectional(LSTM(8), merge_mode="sum")(np.zeros((2, 5, 3), np.float32)).shape   # (2, 8)
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, _RNN):
            raise ValueError("Bidirectional: `layer` must be a recurrent layer (SimpleRNN, LSTM or "
                             f"GRU) instance; got {layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: invalid merge_mode {merge_mode!r}; it must be one "
                             f"of {_MERGE_MODES}")
        config = layer.get_config()
        config.pop("batch_input_shape", None)   # the wrapper's own input_shape builds it
        if kwargs.get("dtype") is None:         # the layer's dtype, unless the wrapper has one
            kwargs["dtype"] = layer.dtype
        config["dtype"] = kwargs["dtype"]
        super().__init__(**kwargs)
        base = _without_prefix(layer.name, "forward_")
        self.forward_layer = type(layer).from_config(dict(config, name="forward_" + base))
        if backward_layer is None:
            self.backward_layer = type(layer).from_config(
                dict(config, name="backward_" + base, go_backwards=not layer.go_backwards))
        else:
            self._check_backward(layer, backward_layer)
            self.backward_layer = backward_layer
        self._backward_given = backward_layer is not None
        if self._batch_input_shape is None and layer._batch_input_shape is not None:
            self._batch_input_shape = layer._batch_input_shape   # LSTM(..., input_shape=...)
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        self._initial_weights = weights
        for rnn in (self.forward_layer, self.backward_layer):   # Keras' rule
            rnn.zero_output_for_mask = rnn.return_sequences

    supports_masking = True

    @staticmethod
    def _check_backward(layer, backward):
        if not isinstance(backward, _RNN):
            raise ValueError("Bidirectional: `backward_layer` must be a recurrent layer instance; "
                             f"got {backward!r}")
        if backward.go_backwards == layer.go_backwards:
            raise ValueError("Bidirectional: `backward_layer` must read the sequence the other way "
                             f"from `layer`: both have go_backwards={layer.go_backwards}")
        for attr in ("return_sequences", "return_state"):
            if getattr(backward, attr) != getattr(layer, attr):
                raise ValueError(f"Bidirectional: `layer` and `backward_layer` must have the same "
                                 f"{attr}; got {getattr(layer, attr)} and "
                                 f"{getattr(backward, attr)}")

    def build(self, input_shape):
        for layer in (self.forward_layer, self.backward_layer):
            if not layer.built:
                build_on_zeros(layer, input_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(inputs, initial_state=forward_state, mask=mask, training=training)
        y_rev = self.backward_layer(inputs, initial_state=backward_state, mask=mask,
                                    training=training)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:   # the backward layer's steps come last to first
            y_rev = y_rev.flip(1)
        if self.merge_mode == "concat":
            output = ops.cat([y, y_rev], dim=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if not self.return_state:
            return output
        return (output if self.merge_mode is None else [output]) + states

    def compute_mask(self, inputs, mask=None):
        """Keras': the merged sequence keeps the mask (both outputs, with merge_mode=None); the
        last outputs and the states have none."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if not self.return_state:
            return [out, out] if self.merge_mode is None else out
        states = [None] * (2 * self.forward_layer._n_states)
        return ([out, out] if self.merge_mode is None else [out]) + states

    def get_config(self):
        config = super().get_config()
        config.update(layer=_serialize(self.forward_layer), merge_mode=self.merge_mode)
        if self._backward_given:
            config["backward_layer"] = _serialize(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"], custom_objects)
        return cls(**config)

    def extra_repr(self):
        return f"name={self.name!r}, merge_mode={self.merge_mode!r}"


# === TimeDistributed ===========================================================================
class TimeDistributed(Layer):
    """Applies ``layer`` to every time step: x (N, T, ...) -> (N, T, ...layer's output).

    The steps are folded into the batch, (N·T, ...), for one call of ``layer``, and unfolded
    after; ``layer`` is built for one step's shape and its weights are shared by all steps (they
    are this wrapper's weights). ``TimeDistributed(Dense(10))`` equals ``Dense(10)`` on each
    ``x[:, t]``. A mask (N, T, ...) is passed on unchanged, and folded the same way, (N·T, ...),
    into ``layer`` when its ``call`` takes ``mask``.
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("TimeDistributed: `layer` must be a Keras layer instance; got "
                             f"{layer!r}")
        if kwargs.get("dtype") is None:   # inputs are cast to the wrapped layer's dtype
            kwargs["dtype"] = layer.dtype
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError("TimeDistributed: the input must have at least 3 dimensions "
                             f"(batch, timesteps, ...); received input shape {input_shape}")
        if not self.layer.built:
            build_on_zeros(self.layer, (None,) + tuple(input_shape[2:]))

    def _check_inputs(self, x):
        if x.ndim < 3:
            e = ValueError(f"Input 0 of layer '{self.name}' (TimeDistributed) is incompatible with "
                           "the layer: expected at least 3 dimensions (batch, timesteps, ...), "
                           f"received shape {tuple(x.shape)}")
            _internal.name_error(e)   # the message names the layer: no outer layer prefixes it
            raise e

    def call(self, inputs, training=None, mask=None):
        n, t = inputs.shape[:2]
        kwargs = {}
        if mask is not None:
            keep = mask_array(mask)
            if keep.shape[:2] != (n, t):
                raise ValueError(f"TimeDistributed '{self.name}': the mask has shape {keep.shape}; "
                                 f"expected ({n}, {t}, ...), one entry per step of each sequence")
            if _names_arg(type(self.layer).call, "mask"):
                kwargs["mask"] = keep.reshape(n * t, *keep.shape[2:])
        y = self.layer(inputs.reshape(n * t, *inputs.shape[2:]), training=training, **kwargs)
        return y.reshape(n, t, *y.shape[1:])

    def get_config(self):
        config = super().get_config()
        config["layer"] = _serialize(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        return cls(**config)
