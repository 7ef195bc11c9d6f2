"""Recurrent layers: SimpleRNN, LSTM, GRU, batch-first as in Keras.

Input (N, T, features) -> (N, units), the last step's output, or (N, T, units) with
``return_sequences=True``; ``return_state=True`` adds the final states ([h] or [h, c] for
LSTM). Each wraps the matching ``nn`` module (``batch_first=True``) with Keras' weights:

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

from ... import nn
from ...tensor import Tensor
from .. import activations, initializers
from .base import KerasWeight, Layer

__all__ = ["SimpleRNN", "LSTM", "GRU"]


class _RNN(Layer):
    _gates = 1
    _module = None

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
        if go_backwards or stateful:
            given.append("go_backwards/stateful")
        if given:
            raise NotImplementedError(f"{name}: {', '.join(given)} not supported by "
                                      "gradkit.keras yet")
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"{name}: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.return_sequences, self.return_state, self.unroll = return_sequences, return_state, unroll
        self._init_names = dict(kernel_initializer=kernel_initializer,
                                recurrent_initializer=recurrent_initializer,
                                bias_initializer=bias_initializer)

    # ---- building: the nn module, then Keras' initial values in Keras layout
    def _make_module(self, in_features):
        raise NotImplementedError

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a 3-D input "
                             f"(batch, timesteps, features), got shape {input_shape}")
        n_in, G = input_shape[-1], self._gates * self.units
        self.rnn = self._make_module(n_in)
        get = initializers.get
        kernel = get(self._init_names["kernel_initializer"])((n_in, G), dtype=self._dtype)
        recurrent = get(self._init_names["recurrent_initializer"])((self.units, G),
                                                                   dtype=self._dtype)
        w = self._own_weights()
        w[0].set(np.asarray(kernel))
        w[1].set(np.asarray(recurrent))
        if self.use_bias:
            w[2].set(self._initial_bias())

    def _initial_bias(self):
        shape = (self._gates * self.units,)
        return np.asarray(initializers.get(self._init_names["bias_initializer"])(
            shape, dtype=self._dtype))

    def _single_bias(self):
        """Keep Keras' one bias: bias_hh becomes a zero buffer (see the module docstring)."""
        if self.use_bias:
            zeros = Tensor(np.zeros_like(self.rnn.bias_hh_l0.data))
            del self.rnn.bias_hh_l0
            self.rnn.register_buffer("bias_hh_l0", zeros)

    _wraps_modules = True

    def _own_weights(self):
        if not self.built and "rnn" not in self._modules:
            return []
        r = self.rnn
        ws = [KerasWeight(r.weight_ih_l0, self._to_keras, self._from_keras),
              KerasWeight(r.weight_hh_l0, self._to_keras, self._from_keras)]
        if self.use_bias:
            ws.append(KerasWeight(r.bias_ih_l0, self._order, self._order))
        return ws

    # gate blocks: identical order except in GRU
    @staticmethod
    def _order(a):
        return a

    def _to_keras(self, a):
        return self._order(a).T

    def _from_keras(self, a):
        return self._order(a.T)

    # ---- calling
    def _check_inputs(self, x):
        if x.ndim != 3:
            e = ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is "
                           "incompatible with the layer: expected a 3-D batch (batch, timesteps, "
                           f"features), received shape {tuple(x.shape)}")
            e._gk_named = True
            raise e
        if x.shape[-1] != self.rnn.input_size:
            raise self._input_error(self.rnn.input_size, x.shape[-1], x.shape)

    def call(self, inputs, initial_state=None, training=None):
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
                      return_state=self.return_state, unroll=self.unroll,
                      **{k: v if isinstance(v, str) else initializers.serialize(v)
                         for k, v in self._init_names.items()})
        return config

    def extra_repr(self):
        return f"name={self.name!r}, units={self.units}"


def _nonlinearity(layer, fn, allowed):
    for name in allowed:
        if fn is activations.get(name):
            return name
    raise NotImplementedError(f"{type(layer).__name__}: activation must be one of {allowed} in "
                              f"gradkit.keras (the nn recurrence has them built in)")


class SimpleRNN(_RNN):
    """h_t = activation(x_t · kernel + h_{t-1} · recurrent_kernel + bias). Wraps ``nn.RNN``.
    ``activation`` is 'tanh' (default) or 'relu'."""

    def _make_module(self, n_in):
        act = _nonlinearity(self, self.activation, ("tanh", "relu"))
        m = nn.RNN(n_in, self.units, nonlinearity=act, bias=self.use_bias, batch_first=True,
                   dtype=self._dtype)
        self.rnn = m
        self._single_bias()
        return self.rnn


class LSTM(_RNN):
    """Long short-term memory. Wraps ``nn.LSTM``; ``activation='tanh'`` and
    ``recurrent_activation='sigmoid'`` (the only ones supported). ``unit_forget_bias=True``
    starts the forget gate's bias at 1 (Jozefowicz et al., 2015)."""

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias

    def _make_module(self, n_in):
        _nonlinearity(self, self.activation, ("tanh",))
        if self.recurrent_activation is not activations.sigmoid:
            raise NotImplementedError("LSTM: recurrent_activation must be 'sigmoid' in "
                                      "gradkit.keras")
        self.rnn = nn.LSTM(n_in, self.units, bias=self.use_bias, batch_first=True,
                           dtype=self._dtype)
        self._single_bias()
        return self.rnn

    def _initial_bias(self):
        b = super()._initial_bias()
        if self.unit_forget_bias:
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

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        if not reset_after:
            raise NotImplementedError("GRU(reset_after=False) (the TF 1 formula) is not "
                                      "supported by gradkit.keras; use the default reset_after=True")
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = True

    def _make_module(self, n_in):
        _nonlinearity(self, self.activation, ("tanh",))
        if self.recurrent_activation is not activations.sigmoid:
            raise NotImplementedError("GRU: recurrent_activation must be 'sigmoid' in "
                                      "gradkit.keras")
        return nn.GRU(n_in, self.units, bias=self.use_bias, batch_first=True, dtype=self._dtype)

    def _order(self, a):
        """Swap the first two gate blocks along the gate axis: (r, z, n) <-> (z, r, h)."""
        u = self.units
        return np.concatenate([a[u:2 * u], a[:u], a[2 * u:]], axis=0)

    def _initial_bias(self):
        return np.asarray(initializers.get(self._init_names["bias_initializer"])(
            (2, 3 * self.units), dtype=self._dtype))

    def _own_weights(self):
        if not self.built and "rnn" not in self._modules:
            return []
        ws = super()._own_weights()
        if self.use_bias:
            r = self.rnn

            def get():
                return np.stack([self._order(r.bias_ih_l0.data), self._order(r.bias_hh_l0.data)])

            def set_(a):
                np.copyto(r.bias_ih_l0.data, self._order(a[0]).astype(r.bias_ih_l0.dtype))
                np.copyto(r.bias_hh_l0.data, self._order(a[1]).astype(r.bias_hh_l0.dtype))

            ws[2] = KerasWeight([r.bias_ih_l0, r.bias_hh_l0], get=get, set=set_)
        return ws

    def get_config(self):
        config = super().get_config()
        config.update(recurrent_activation=activations.serialize(self.recurrent_activation),
                      reset_after=True)
        return config
