"""Recurrent layers: RNN, LSTM, GRU (multi-layer, bidirectional) and RNNCell, LSTMCell, GRUCell.

The parameters are PyTorch's, with its names, shapes and gate order (LSTM: i, f, g, o; GRU:
r, z, n), so state_dicts move between the two:

    weight_ih_l{k}{_reverse}   (G·hidden_size, input_size for k = 0, else D·hidden_size)
    weight_hh_l{k}{_reverse}   (G·hidden_size, hidden_size)
    bias_ih_l{k}{_reverse}, bias_hh_l{k}{_reverse}   (G·hidden_size,)

with G = 1 (RNN), 4 (LSTM), 3 (GRU) and D = 2 if bidirectional else 1; all initialised from
U(-1/√hidden_size, 1/√hidden_size). The step formulas and the layout of the work (one GEMM for
the input projection of all time steps, one fused node per step) are in
``nn/functional/recurrent.py``.
"""
import math
import numbers
import warnings

import numpy as np

from .. import _internal, ops
from ..tensor import Tensor
from . import init
from .functional.linear import linear
from .functional.recurrent import GRUStep, LSTMStep, RNNStep, StackSteps, recurrence
from .module import Module, Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """Shared by RNN, LSTM and GRU: parameters, shape checks and the loop over layers."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None,
                 dtype=None):
        super().__init__()
        name = mode if mode in ("LSTM", "GRU") else "RNN"
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing "
                             f"the probability of an element being zeroed, got {dropout!r}")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive integer, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive integer, got {num_layers!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size > 0 (LSTM with projections) is not "
                                      "supported by gradkit yet")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        D = 2 if bidirectional else 1
        G = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(D):
                n_in = input_size if layer == 0 else hidden_size * D
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                names = ["weight_ih" + sfx, "weight_hh" + sfx]
                shapes = [(G, n_in), (G, hidden_size)]
                if bias:
                    names += ["bias_ih" + sfx, "bias_hh" + sfx]
                    shapes += [(G,), (G,)]
                for n, s in zip(names, shapes):
                    setattr(self, n, Parameter(ops.empty(*s, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    @property
    def all_weights(self):
        """Per layer and direction, the list [weight_ih, weight_hh, bias_ih, bias_hh]."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    def flatten_parameters(self):
        """A no-op (PyTorch packs the weights for cuDNN here); kept so that code calling it runs."""

    def _name(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    # ------------------------------------------------------------------ checks
    def _check_input(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{self._name()}: expected a Tensor input, got {type(x).__name__} "
                            "(packed sequences are not supported; pad the batch instead)")
        if x.ndim not in (2, 3):
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ValueError(f"{self._name()}: expected a 3-D input {layout} or a 2-D unbatched "
                             f"input (L, H_in), got {x.ndim}-D input of shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{self._name()}: input has {x.shape[-1]} features (shape "
                             f"{x.shape}); the last dimension must be input_size="
                             f"{self.input_size}")
        if x.shape[1 if self.batch_first and x.ndim == 3 else 0] == 0:
            raise ValueError(f"{self._name()}: the input sequence is empty (shape {x.shape}); "
                             "expected at least one time step")
        w = self.weight_ih_l0
        if x.dtype != w.dtype:
            raise TypeError(f"{self._name()}: input dtype {x.dtype} does not match the weights' "
                            f"{w.dtype}; convert the input (x.to({w.dtype})) or the model")

    def _check_state(self, h, what, batched, N, dtype):
        D = 2 if self.bidirectional else 1
        expected = (self.num_layers * D, N, self.hidden_size) if batched else \
            (self.num_layers * D, self.hidden_size)
        if not isinstance(h, Tensor) or h.shape != expected:
            got = h.shape if isinstance(h, Tensor) else type(h).__name__
            dims = "num_layers * num_directions, " + ("batch, " if batched else "") + "hidden_size"
            raise ValueError(f"{self._name()}: expected {what} of shape {expected} ({dims}), "
                             f"got {got}")
        if h.dtype != dtype:
            raise TypeError(f"{self._name()}: {what} has dtype {h.dtype} but the input has "
                            f"{dtype}; they must match")
        return h if batched else ops.unsqueeze(h, 1)

    def _initial_states(self, hx, batched, N, dtype):
        """The initial state of each (layer, direction): (N, H), or (2, N, H) = (h, c) for LSTM."""
        D = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        if hx is None:
            shape = (2, N, self.hidden_size) if lstm else (N, self.hidden_size)
            zeros = _internal.wrap(np.zeros(shape, dtype))
            return [zeros] * (self.num_layers * D)
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self._name()}: the initial state must be a tuple (h_0, c_0), "
                                f"got {type(hx).__name__}")
            h0 = self._check_state(hx[0], "h_0", batched, N, dtype)
            c0 = self._check_state(hx[1], "c_0", batched, N, dtype)
            hx = ops.stack([h0, c0], 1)  # (L·D, 2, N, H)
        else:
            hx = self._check_state(hx, "h_0", batched, N, dtype)
        return [hx[k] for k in range(self.num_layers * D)]

    # ------------------------------------------------------------------ forward
    def forward(self, input, hx=None):
        """input: (L, N, H_in) ((N, L, H_in) with batch_first) or unbatched (L, H_in).

        Returns (output, h_n): output (L, N, D·H) ((N, L, D·H) with batch_first; (L, D·H)
        unbatched), h_n (num_layers·D, N, H) (unbatched: (num_layers·D, H)). For LSTM hx and h_n
        are the pairs (h, c).
        """
        self._check_input(input)
        batched = input.ndim == 3
        x = input if batched else ops.unsqueeze(input, 1)
        if batched and self.batch_first:
            x = ops.transpose(x, 0, 1)
        N = x.shape[1]
        D = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        mode = self.mode if self.mode in ("LSTM", "GRU") else "RNN"
        act = "relu" if self.mode == "RNN_RELU" else "tanh"
        states = self._initial_states(hx, batched, N, x.dtype)
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                params = [getattr(self, n) for n in self._all_weights[k]]
                o, last = recurrence(mode, x, states[k], *params, reverse=d == 1,
                                     nonlinearity=act)
                outs.extend(o)
                finals.append(last)
            x = StackSteps.apply(*outs, num_directions=D, lstm=lstm)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = ops.dropout(x, float(self.dropout), True)
        h_n = ops.stack(finals)  # (L·D, N, H); LSTM: (L·D, 2, N, H)
        if lstm:
            h_n = (h_n[:, 0], h_n[:, 1])
        if not batched:
            x = ops.squeeze(x, 1)
            h_n = tuple(ops.squeeze(h, 1) for h in h_n) if lstm else ops.squeeze(h_n, 1)
        elif self.batch_first:
            x = ops.transpose(x, 0, 1)
        return x, h_n

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), act = tanh or relu.

    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False). Input (L, N, H_in) -> output
    (L, N, D·H), h_n (num_layers·D, N, H); see RNNBase.forward.

    >>> rnn = nn.RNN(10, 20, num_layers=2); out, h_n = rnn(gk.randn(5, 3, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; select from 'tanh' "
                             "or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), gates i, f, g, o:

        c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False). ``lstm(x, (h_0, c_0))`` -> (output, (h_n, c_n)); see RNNBase.forward.

    >>> lstm = nn.LSTM(10, 20, batch_first=True); out, (h, c) = lstm(gk.randn(3, 5, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014), gates r, z, n:

        n_t = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn)),   h_t = (1 − z) ⊙ n_t + z ⊙ h_{t-1}

    GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False). Input (L, N, H_in) -> (output, h_n); see RNNBase.forward.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


# === cells ===================================================================
class RNNCellBase(Module):
    """One time step; parameters weight_ih (G·H, H_in), weight_hh (G·H, H), bias_ih, bias_hh."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        G = num_chunks * hidden_size
        self.weight_ih = Parameter(ops.empty(G, input_size, dtype=dtype))
        self.weight_hh = Parameter(ops.empty(G, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(ops.empty(G, dtype=dtype))
            self.bias_hh = Parameter(ops.empty(G, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _name(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _check(self, x, states):
        """x: (N, H_in) or unbatched (H_in,); states: the given h (and c), or None -> zeros.
        Returns x and the states, all batched."""
        if x.ndim not in (1, 2):
            raise ValueError(f"{self._name()}: expected a 2-D input (N, H_in) or a 1-D unbatched "
                             f"input (H_in,), got {x.ndim}-D input of shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{self._name()}: input has {x.shape[-1]} features (shape "
                             f"{x.shape}); the last dimension must be input_size="
                             f"{self.input_size}")
        if x.dtype != self.weight_ih.dtype:
            raise TypeError(f"{self._name()}: input dtype {x.dtype} does not match the weights' "
                            f"{self.weight_ih.dtype}; convert the input or the model")
        batched = x.ndim == 2
        x = x if batched else ops.unsqueeze(x, 0)
        N = x.shape[0]
        out = []
        for name, h in states:
            if h is None:
                h = _internal.wrap(np.zeros((N, self.hidden_size), x.dtype))
            else:
                expected = (N, self.hidden_size) if batched else (self.hidden_size,)
                if h.shape != expected:
                    raise ValueError(f"{self._name()}: expected {name} of shape {expected}, got "
                                     f"{h.shape}")
                if h.dtype != x.dtype:
                    raise TypeError(f"{self._name()}: {name} has dtype {h.dtype} but the input "
                                    f"has {x.dtype}; they must match")
                h = h if batched else ops.unsqueeze(h, 0)
            out.append(h)
        return x, batched, out

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


def _unbatch(h, batched):
    return h if batched else ops.squeeze(h, 0)


def _both_biases(cell):
    return None if cell.bias_ih is None else cell.bias_ih + cell.bias_hh


class RNNCell(RNNCellBase):
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh). x: (N, H_in), h: (N, H) -> h': (N, H)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; select from "
                             "'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x, batched, (h,) = self._check(input, [("hx", hx)])
        gx = linear(x, self.weight_ih, _both_biases(self))
        h = RNNStep.apply(gx, h, self.weight_hh, t=None, w=self.weight_hh,
                         nonlinearity=self.nonlinearity)
        return _unbatch(h, batched)


class LSTMCell(RNNCellBase):
    """One LSTM step: (h', c') from x (N, H_in) and (h, c) (each (N, H)); gates i, f, g, o."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self._name()}: hx must be a tuple (h, c), got {type(hx).__name__}")
        h, c = (None, None) if hx is None else hx
        x, batched, (h, c) = self._check(input, [("h", h), ("c", c)])
        gx = linear(x, self.weight_ih, _both_biases(self))
        hc = LSTMStep.apply(gx, ops.stack([h, c]), self.weight_hh, t=None, w=self.weight_hh)
        return _unbatch(hc[0], batched), _unbatch(hc[1], batched)


class GRUCell(RNNCellBase):
    """One GRU step: h' from x (N, H_in) and h (N, H); gates r, z, n."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, batched, (h,) = self._check(input, [("hx", hx)])
        gx = linear(x, self.weight_ih, self.bias_ih)
        b = () if self.bias_hh is None else (self.bias_hh,)
        h = GRUStep.apply(gx, h, self.weight_hh, *b, t=None, w=self.weight_hh, b=self.bias_hh)
        return _unbatch(h, batched)
