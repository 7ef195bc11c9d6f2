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

Two paths, one step formula, nn's:

* no mask and no recurrent dropout: the nn module's fused recurrence (``self.rnn``), untouched
  (``dropout`` on the inputs alone multiplies them by one mask per sequence first);
* a mask (masks.py: from ``Embedding(mask_zero=True)``, ``Masking``, or ``mask=``), or
  ``recurrent_dropout`` in training: the loop over the steps is written here, calling nn's step
  nodes (``nn.functional.recurrent``: one input projection for all steps, one fused node per
  step) with Keras 3's rules around each step:

  - a masked step (Keras' ``backend.rnn``): the state (h, and c for LSTM) is carried unchanged
    and the step's output is the previous step's (zeros before the first), or zeros with
    ``zero_output_for_mask=True`` (which Bidirectional sets with ``return_sequences``; it only
    changes the returned sequence). The final state is the last unmasked step's, so a
    right-padded batch ends where PyTorch's ``pack_padded_sequence`` does;
  - dropout (Keras' ``DropoutRNNCell``): in training, masks (scaled by 1/(1 - rate)) are drawn
    once per call, one row per sequence, and used at every step: ``dropout`` on the step's
    input, ``recurrent_dropout`` on h inside h · recurrent_kernel (never on the carried state).
    SimpleRNN has one mask of each; with ``recurrent_dropout`` an LSTM draws one per gate
    (i, f, c, o), Keras' "implementation 1" since Keras 3.8. Inference is unaffected.
    GRU's ``recurrent_dropout`` is refused: Keras blends the new state with the undropped h,
    which nn's fused GRU step, taking one h for both, cannot express.
"""
import numbers

import numpy as np

from ... import _internal, nn, ops
from ...nn.functional import linear
from ...nn.functional.recurrent import (GRUStep, LSTMStep, RNNStep, StackSteps, StepSlice,
                                        StepWeight, TimeSteps)
from ...tensor import Tensor
from .. import activations
from .base import TRANSPOSED, Adapter, KerasWeight
from .masks import mask_array

__all__ = ["SimpleRNN", "LSTM", "GRU"]


def _rate(layer, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{layer}: {name} must be a fraction in [0, 1) (of the units to drop), "
                         f"got {value!r}")
    return float(value)


def _per_step(p):
    """A weight that every step of the sequence uses, as StepWeight output (its gradient is one
    GEMM over the sequence; it shares the weight's version counter), as nn's recurrence does."""
    return _internal.share_version(StepWeight.apply(p), p)


class _RNN(Adapter):
    """Shared by SimpleRNN, LSTM and GRU (G gates): Keras' arguments, the weights kernel
    (in, G·units), recurrent_kernel (units, G·units) and bias (G·units,), the calling convention,
    masks and dropout. A subclass gives ``_stepper``: one step of the loop, on nn's step node."""

    _gates = 1        # G
    _n_states = 1     # LSTM: 2, (h, c)
    supports_masking = True

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False,
                 **kwargs):
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
        self.zero_output_for_mask = bool(zero_output_for_mask)
        # the masks come from gradkit's global generator (as Dropout's); seed is kept for config
        self.dropout = _rate(name, "dropout", dropout)
        self.recurrent_dropout = _rate(name, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
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

    def call(self, inputs, initial_state=None, mask=None, training=None):
        """inputs (N, T, features); mask (N, T), True where a step counts (None: all do)."""
        keep = self._kept_steps(mask, inputs.shape[:2])
        if self.go_backwards:
            inputs = inputs.flip(1)   # (batch, timesteps, features): the steps last to first
            keep = None if keep is None else keep[:, ::-1]
        drop_x, drop_h = self._dropout_masks(inputs) if training else (None, None)
        if keep is not None or drop_h is not None:
            y, states = self._loop(inputs, initial_state, keep, drop_x, drop_h)
            return [y] + states if self.return_state else y
        if drop_x is not None:
            inputs = inputs * drop_x[0].unsqueeze(1)   # the same mask at every step
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

    def compute_mask(self, inputs, mask=None):
        """Keras': the sequence output keeps the inputs' mask (``return_sequences=True``); the
        last output and the states have none."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        return [out] + [None] * self._n_states if self.return_state else out

    # ---- the loop over the steps: masks and recurrent dropout (see the module docstring)
    def _kept_steps(self, mask, batch_steps):
        """The mask as a NumPy bool (N, T), or None when every step counts."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        keep = mask_array(mask)
        if keep is None:
            return None
        if keep.ndim == 3 and keep.shape[-1] == 1:
            keep = keep[..., 0]
        if keep.shape != tuple(batch_steps):
            raise ValueError(f"{type(self).__name__} '{self.name}': the mask has shape "
                             f"{keep.shape}; expected (batch, timesteps) = {tuple(batch_steps)}, "
                             "one entry per step of each sequence")
        return None if keep.all() else keep

    def _dropout_masks(self, x):
        """This call's dropout masks, drawn once and used at every step: lists of (N, features)
        and (N, units) masks (0 or 1/(1 - rate)), one per gate with recurrent_dropout (Keras'
        implementation 1), else one; None where the rate is 0."""
        count = self._gates if self.recurrent_dropout else 1

        def draw(size, rate):
            ones = Tensor(np.ones((x.shape[0], size), x.dtype))
            return [ops.dropout(ones, rate, True) for _ in range(count)]

        return (draw(x.shape[-1], self.dropout) if self.dropout else None,
                draw(self.units, self.recurrent_dropout) if self.recurrent_dropout else None)

    def _loop(self, x, initial_state, keep, drop_x, drop_h):
        """x (N, T, features) in reading order, keep (N, T) bool or None. Returns the output
        (the sequence (N, T, units) or the last step's (N, units)) and the final states."""
        N, T, _ = x.shape
        xs = TimeSteps.apply(self._input_projection(x.transpose(0, 1), drop_x),
                             shape=(T, N, self._gates * self.units))
        step = self._stepper(xs, drop_h, N, x.dtype)
        state = self._first_state(initial_state, N, x.dtype)
        kept = None if keep is None else keep.T[:, :, None]   # (T, N, 1)
        out = Tensor(np.zeros((N, self.units), x.dtype))      # "the previous output" at t = 0
        outs = []
        for t in range(T):
            new = step(t, state)
            h = new[0] if self._n_states == 2 else new
            if kept is None:
                state, out = new, h
            else:   # a masked step carries the state and repeats the previous output
                state = ops.where(kept[t], new, state)
                out = ops.where(kept[t], h, out)
            outs.append(out)
        if self.return_sequences:
            y = StackSteps.apply(*outs, num_directions=1, lstm=False).transpose(0, 1)
            if keep is not None and self.zero_output_for_mask:
                y = ops.where(keep[:, :, None], y, 0.0)
        else:
            y = outs[-1]
        return y, ([state[0], state[1]] if self._n_states == 2 else [state])

    def _input_projection(self, xt, drop_x):
        """x_t · kernel + bias for all steps at once, (T·N, G·units), from xt (T, N, features);
        with per-gate input masks, gate g reads x_t · m_g."""
        T, N, F = xt.shape
        w, b = self.rnn.weight_ih_l0, self._input_bias()
        if drop_x is None or len(drop_x) == 1:
            if drop_x is not None:
                xt = xt * drop_x[0]
            return linear(xt.reshape(T * N, F), w, b)
        H = self.units
        return ops.cat([linear((xt * m).reshape(T * N, F), w[g * H:(g + 1) * H],
                               None if b is None else b[g * H:(g + 1) * H])
                        for g, m in enumerate(drop_x)], 1)

    def _input_bias(self):
        """The bias of the input projection: both nn biases, which only ever appear summed."""
        return self.rnn.bias_ih_l0 + self.rnn.bias_hh_l0 if self.use_bias else None

    def _first_state(self, initial_state, n, dtype):
        """The state the steps start from: (N, units), or (2, N, units) = (h, c) for LSTM."""
        if initial_state is None:
            shape = (n, self.units) if self._n_states == 1 else (2, n, self.units)
            return Tensor(np.zeros(shape, dtype))
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
            else [initial_state]
        return states[0] if self._n_states == 1 else ops.stack(states[:2])

    def _stepper(self, xs, drop_h, n, dtype):
        """``step(t, state) -> new state`` on nn's step node for this layer's cell."""
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=activations.serialize(self.activation),
                      use_bias=self.use_bias, dropout=self.dropout,
                      recurrent_dropout=self.recurrent_dropout, seed=self.seed,
                      return_sequences=self.return_sequences, return_state=self.return_state,
                      go_backwards=self.go_backwards, unroll=self.unroll,
                      zero_output_for_mask=self.zero_output_for_mask,
                      **self._initializers_config())
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

    def _stepper(self, xs, drop_h, n, dtype):
        w, act = self.rnn.weight_hh_l0, self.rnn.nonlinearity
        ws, m = _per_step(w), None if drop_h is None else drop_h[0]

        def step(t, h):   # recurrent dropout: h · m in h · recurrent_kernel
            return RNNStep.apply(xs, h if m is None else h * m, ws, t=t, w=w, nonlinearity=act)
        return step


class LSTM(_RNN):
    """Long short-term memory. Wraps ``nn.LSTM``; ``activation='tanh'`` and
    ``recurrent_activation='sigmoid'`` (the only ones supported). ``unit_forget_bias=True``
    starts the forget gate's bias at 1 (Jozefowicz et al., 2015)."""

    _gates, _n_states = 4, 2

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

    def _stepper(self, xs, drop_h, n, dtype):
        w = self.rnn.weight_hh_l0
        if drop_h is None:
            ws = _per_step(w)
            return lambda t, hc: LSTMStep.apply(xs, hc, ws, t=t, w=w)
        # One recurrent mask per gate: gate g reads (h · m_g) · W_gᵀ. That product is formed
        # here and added to the step's input; the step gets h = 0 and W_hh = 0, so it adds no
        # recurrent term of its own, while c, the gates and their derivatives stay nn's.
        H = self.units
        w_gates = w.reshape(4, H, H).transpose(1, 2)           # W_gᵀ: (4, units, units)
        masks = ops.stack(drop_h)                              # (4, N, units)
        zero_h, zero_w = Tensor(np.zeros((n, H), dtype)), Tensor(np.zeros((4 * H, H), dtype))

        def step(t, hc):
            rec = ops.matmul(hc[0] * masks, w_gates)           # (h · m_g) · W_gᵀ: (4, N, H)
            a = StepSlice.apply(xs, t=t) + rec.permute(1, 0, 2).reshape(n, 4 * H)
            return LSTMStep.apply(a, ops.stack([zero_h, hc[1]]), zero_w, t=None, w=zero_w)
        return step

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
        if self.recurrent_dropout:
            raise NotImplementedError(
                "GRU(recurrent_dropout>0) is not supported by gradkit.keras yet: Keras drops h "
                "with one mask per gate inside h · recurrent_kernel and blends the new state with "
                "the undropped h, and nn's fused GRU step (nn.functional.recurrent.GRUStep) "
                "takes one h for both. Use dropout= (on the inputs), or an LSTM with "
                "recurrent_dropout")
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

    def _input_bias(self):   # b_hh sits inside r ⊙ (...): it stays in the step
        return self.rnn.bias_ih_l0 if self.use_bias else None

    def _stepper(self, xs, drop_h, n, dtype):
        w, b = self.rnn.weight_hh_l0, self.rnn.bias_hh_l0 if self.use_bias else None
        ws, bs = _per_step(w), () if b is None else (_per_step(b),)
        return lambda t, h: GRUStep.apply(xs, h, ws, *bs, t=t, w=w, b=b)

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
