"""Recurrent layers: SimpleRNN, LSTM, GRU, batch-first as in Keras.

Input (N, T, features) -> (N, units), the last step's output, or (N, T, units) with
``return_sequences=True``; ``return_state=True`` adds the final states ([h] or [h, c] for
LSTM); ``go_backwards=True`` reads the steps last to first (the output sequence is then in that
order too, as in Keras: ``Bidirectional`` turns it back). Each wraps the matching ``nn`` module
(``batch_first=True``) with Keras' weights:

* kernel (in, G·units) ``glorot_uniform``, recurrent_kernel (units, G·units) ``orthogonal``,
  bias ``zeros`` (LSTM: the forget gate's quarter at 1, ``unit_forget_bias=True``).
* Keras' SimpleRNN and LSTM have ONE bias per gate; PyTorch has two (``bias_ih`` and
  ``bias_hh``) that only ever appear summed. The wrapper keeps ``bias_hh`` as a zero buffer, so
  the layer has exactly Keras' weights and parameter count.
* LSTM gate order is the same in both (i, f, c/g, o). GRU is Keras' ``reset_after=True`` form
  (its default since TF 2), which is PyTorch's formula; Keras orders the gates (z, r, h),
  PyTorch (r, z, n): ``get_weights``/``set_weights`` reorder the blocks.
"""
import numpy as np

from ... import _internal, nn
from ...tensor import Tensor
from .. import activations
from .base import TRANSPOSED, Adapter, KerasWeight

__all__ = ["SimpleRNN", "LSTM", "GRU"]


class _RNN(Adapter):
    """Shared by SimpleRNN, LSTM and GRU (G gates): Keras' arguments, the weights kernel
    (in, G·units), recurrent_kernel (units, G·units) and bias (G·units,), the calling convention."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        unsupported = {"kernel_regularizer": kernel_regularizer,
                       "recurrent_regularizer": recurrent_regularizer,
                       "bias_regularizer": bias_regularizer,
                       "activity_regularizer": activity_regularizer,
                       "kernel_constraint": kernel_constraint,
                       "recurrent_constraint": recurrent_constraint,
                       "bias_constraint": bias_constraint}
        given = [k for k, v in unsupported.items() if v is not None]
        if dropout or recurrent_dropout:
            given.append("dropout/recurrent_dropout (add a Dropout layer after the RNN instead)")
        if stateful:
            given.append("stateful")
        if given:
            raise NotImplementedError(f"{name}: {', '.join(given)} not supported by "
                                      "gradkit.keras yet")
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"{name}: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.return_sequences, self.return_state, self.unroll = return_sequences, return_state, unroll
        self.go_backwards = bool(go_backwards)
        self._set_initializers(kernel_initializer=kernel_initializer,
                               recurrent_initializer=recurrent_initializer,
                               bias_initializer=bias_initializer)

    # ---- the adapter: the nn recurrence (batch_first) as ``rnn``
    def nn_modules(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a 3-D input "
                             f"(batch, timesteps, features), got shape {input_shape}")
        return {"rnn": self._nn_rnn(input_shape[-1])}

    def _nn_rnn(self, n_in):
        """The nn module for ``n_in`` input features, from Keras' arguments."""
        raise NotImplementedError

    def _one_bias(self, rnn):
        """Keep Keras' one bias: bias_hh becomes a zero buffer (see the module docstring)."""
        if self.use_bias:
            zeros = Tensor(np.zeros_like(rnn.bias_hh_l0.array))
            del rnn.bias_hh_l0
            rnn.register_buffer("bias_hh_l0", zeros)
        return rnn

    def keras_weights(self):
        # kernel = weight_ih transposed, recurrent_kernel = weight_hh transposed, bias = bias_ih
        r = self.rnn
        return [KerasWeight("kernel", r.weight_ih_l0, TRANSPOSED, init=self.kernel_initializer),
                KerasWeight("recurrent_kernel", r.weight_hh_l0, TRANSPOSED,
                            init=self.recurrent_initializer),
                KerasWeight("bias", r.bias_ih_l0 if self.use_bias else None,
                            init=self._initial_bias)]

    def _initial_bias(self, shape, dtype=None):
        return self.bias_initializer(shape, dtype=dtype)

    # ---- calling
    def _check_inputs(self, x):   # before the call: nn's recurrences take 2-D as unbatched
        if x.ndim != 3:
            e = ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is "
                           "incompatible with the layer: expected a 3-D batch (batch, timesteps, "
                           f"features), received shape {tuple(x.shape)}")
            _internal.name_error(e)
            raise e

    def input_error(self, x):
        if x.shape[-1] != self.rnn.input_size:
            return self._input_error(self.rnn.input_size, x.shape[-1], x.shape)

    def call(self, inputs, initial_state=None, training=None):
        if self.go_backwards:
            inputs = inputs.flip(1)   # (batch, timesteps, features): the steps last to first
        out, h_n = self.rnn(inputs, self._initial(initial_state))
        y = out if self.return_sequences else out[:, -1]
        if not self.return_state:
            return y
        if isinstance(h_n, tuple):  # LSTM: (h, c), each (1, N, units)
            return [y, h_n[0][0], h_n[1][0]]
        return [y, h_n[0]]

    def _initial(self, state):
        if state is None:
            return None
        if isinstance(state, (list, tuple)) and len(state) == 2:
            return tuple(s.unsqueeze(0) for s in state)
        state = state[0] if isinstance(state, (list, tuple)) else state
        return state.unsqueeze(0)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=activations.serialize(self.activation),
                      use_bias=self.use_bias, return_sequences=self.return_sequences,
                      return_state=self.return_state, go_backwards=self.go_backwards,
                      unroll=self.unroll, **self._initializers_config())
        return config

    def extra_repr(self):
        return f"name={self.name!r}, units={self.units}"


def _nonlinearity(layer, fn, allowed):
    for name in allowed:
        if fn is activations.get(name):
            return name
    raise NotImplementedError(f"{type(layer).__name__}: activation must be one of {allowed} in "
                              f"gradkit.keras (the nn recurrence has them built in)")


def _check_gated(layer):
    """LSTM and GRU: the nn recurrences have tanh and sigmoid built in."""
    _nonlinearity(layer, layer.activation, ("tanh",))
    if layer.recurrent_activation is not activations.sigmoid:
        raise NotImplementedError(f"{type(layer).__name__}: recurrent_activation must be "
                                  "'sigmoid' in gradkit.keras")


def _swap_zr(a):
    """Swap the first two of three gate blocks along axis 0: PyTorch's (r, z, n) <-> Keras'
    (z, r, h)."""
    u = a.shape[0] // 3
    return np.concatenate([a[u:2 * u], a[:u], a[2 * u:]], axis=0)


class SimpleRNN(_RNN):
    """h_t = activation(x_t · kernel + h_{t-1} · recurrent_kernel + bias). Wraps ``nn.RNN``.
    ``activation`` is 'tanh' (default) or 'relu'."""

    def _nn_rnn(self, n_in):
        act = _nonlinearity(self, self.activation, ("tanh", "relu"))
        return self._one_bias(nn.RNN(n_in, self.units, nonlinearity=act, bias=self.use_bias,
                                     batch_first=True, dtype=self._dtype))


class LSTM(_RNN):
    """Long short-term memory. Wraps ``nn.LSTM``; ``activation='tanh'`` and
    ``recurrent_activation='sigmoid'`` (the only ones supported). ``unit_forget_bias=True``
    starts the forget gate's bias at 1 (Jozefowicz et al., 2015)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias

    def _nn_rnn(self, n_in):
        _check_gated(self)
        return self._one_bias(nn.LSTM(n_in, self.units, bias=self.use_bias, batch_first=True,
                                      dtype=self._dtype))

    def _initial_bias(self, shape, dtype=None):
        b = np.asarray(self.bias_initializer(shape, dtype=dtype))
        if self.unit_forget_bias:   # gates (i, f, c, o): the forget gate's quarter at 1
            b[self.units:2 * self.units] = 1.0
        return b

    def get_config(self):
        config = super().get_config()
        config.update(recurrent_activation=activations.serialize(self.recurrent_activation),
                      unit_forget_bias=self.unit_forget_bias)
        return config


class GRU(_RNN):
    """Gated recurrent unit, Keras' ``reset_after=True`` form (= PyTorch's GRU). Wraps
    ``nn.GRU``; its two biases are Keras' bias of shape (2, 3·units)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        if not reset_after:
            raise NotImplementedError("GRU(reset_after=False) (the TF 1 formula) is not "
                                      "supported by gradkit.keras; use the default reset_after=True")
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = True

    def _nn_rnn(self, n_in):
        _check_gated(self)
        return nn.GRU(n_in, self.units, bias=self.use_bias, batch_first=True, dtype=self._dtype)

    # the gates reordered (_swap_zr) on the way; Keras' bias (2, 3·units) = [bias_ih, bias_hh]
    _GATES = (lambda a: _swap_zr(a).T), (lambda a: _swap_zr(a.T))
    _BIASES = (lambda ih, hh: np.stack([_swap_zr(ih), _swap_zr(hh)])), \
        (lambda a: (_swap_zr(a[0]), _swap_zr(a[1])))

    def keras_weights(self):
        r = self.rnn
        return [KerasWeight("kernel", r.weight_ih_l0, self._GATES, init=self.kernel_initializer),
                KerasWeight("recurrent_kernel", r.weight_hh_l0, self._GATES,
                            init=self.recurrent_initializer),
                KerasWeight("bias", [r.bias_ih_l0, r.bias_hh_l0] if self.use_bias else None,
                            self._BIASES, init=self.bias_initializer)]

    def get_config(self):
        config = super().get_config()
        config.update(recurrent_activation=activations.serialize(self.recurrent_activation),
                      reset_after=True)
        return config
