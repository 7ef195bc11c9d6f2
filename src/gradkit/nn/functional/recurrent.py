"""Recurrent steps: one time step of RNN (tanh/relu), LSTM and GRU, each one fused node, and the
loop over time for one layer and direction (``recurrence``).

The gate order is PyTorch's (LSTM: i, f, g, o; GRU: r, z, n):

    RNN    h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)
    LSTM   i, f, g, o = σ, σ, tanh, σ of (x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)
           c' = f c + i g,    h' = o tanh(c')
    GRU    r, z = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr), σ(... z ...)
           n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)),    h' = (1 − z) n + z h

How the work is laid out (the speed of a Python RNN is the number of nodes per time step):

* the input projection x W_ihᵀ + b of ALL time steps is one GEMM per layer and direction
  (``linear`` on the (T·N, H_in) input); ``TimeSteps`` hands it to the steps;
* each step is ONE node: h W_hhᵀ (one GEMM for all gates) and the gate arithmetic together;
* ``StackSteps`` joins the steps' outputs (both directions) into (T, N, D·H) in one node;
* in backward, dL/dW_hh is one GEMM over the whole sequence (``StepWeight``), not T small ones.

A step reads its slice x[t] of the projection directly; its gradient for that input is a
``StepGrads`` (the slice's gradient, tagged with t) rather than a full (T, N, G) array that is
zero except at t: summing T of those would cost O(T²). ``TimeSteps.backward`` receives the
engine's sum of the StepGrads (``+`` collects them) and stacks them once. The steps' share of
dL/dW_hh travels the same way, as the pairs (da_t, h_t) that ``StepWeight`` multiplies at once.

Each backward formula is written once and runs on NumPy arrays (no graph: the common case; a
Tensor op costs ~2.5x a NumPy op on step-sized arrays) or, under ``create_graph=True``, on
Tensors recomputed from the inputs, so that second derivatives are exact.
"""
import numpy as np

from ... import _internal, ops
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops import kernels
from ...tensor import Tensor
from .linear import linear

_grad = grad_mode.state


# === backends for the backward formulas ====================================
class _Arrays:
    """Array versions of the few non-arithmetic ops the formulas use."""

    @staticmethod
    def cat(xs, axis):
        return np.concatenate(xs, axis)

    @staticmethod
    def stack(xs):
        out = np.empty((len(xs),) + xs[0].shape, xs[0].dtype)  # np.stack costs ~5 µs more
        for k, x in enumerate(xs):
            out[k] = x
        return out

    @staticmethod
    def zeros_like(x):
        return np.zeros_like(x)

    @staticmethod
    def lstm_slopes(act, H):
        """σ'(a) = s(1 − s) for the i, f, o blocks and tanh'(a) = 1 − g² for the g block, from
        the activations s: whole-array ops (slices of (N, 4H) are ~3x slower per element)."""
        d = act * (1 - act)
        g = act[:, 2 * H:3 * H]
        np.subtract(1, g * g, out=d[:, 2 * H:3 * H])
        return d


class _Tensors:
    """The same, differentiable (for create_graph=True)."""

    @staticmethod
    def cat(xs, axis):
        return ops.cat(xs, axis)

    @staticmethod
    def stack(xs):
        return ops.stack(xs)

    @staticmethod
    def zeros_like(x):
        return _internal.wrap(np.zeros_like(x.array))

    @staticmethod
    def lstm_slopes(act, H):
        s = act * (1 - act)
        g = act[:, 2 * H:3 * H]
        return ops.cat([s[:, :2 * H], 1 - g * g, s[:, 3 * H:]], 1)


def _backend(*tensors):
    """(xp, values): arrays without create_graph, else the Tensors themselves."""
    if _grad.enabled:
        return _Tensors, tensors
    return _Arrays, tuple(None if t is None else t.array for t in tensors)


def _wrap(x):
    return x if x is None or isinstance(x, Tensor) else _internal.wrap(x)


# === the time axis =========================================================
class StepGrads:
    """The gradient of a (T, N, G) tensor at some time steps: {t: (N, G) gradient}.

    The engine adds the gradients that meet at a node with ``+``; adding StepGrads merges them
    (no arithmetic on full-size arrays). Only ``TimeSteps`` and ``StepWeight`` receive one.
    """

    __slots__ = ("parts",)

    def __init__(self, t, g):
        self.parts = {t: g}  # a Tensor, or for StepWeight a pair of Tensors (a_t, b_t)

    def __add__(self, other):
        for t, g in other.parts.items():
            self.parts[t] = self.parts[t] + g if t in self.parts else g
        return self

    @property
    def array(self):  # read by detect_anomaly's finiteness check
        flat = []
        for g in self.parts.values():
            flat.extend(x.array.reshape(-1) for x in (g if isinstance(g, tuple) else (g,)))
        return np.concatenate(flat)


class TimeSteps(Function):
    # y = x reshaped to (T, N, G): the input projection of every step, read by the steps one
    # time step at a time;  dL/dx = the steps' gradients (a StepGrads) stacked along time
    def forward(ctx, x, shape):
        ctx.in_shape, ctx.shape = x.shape, shape
        return x.reshape(shape)

    def backward(ctx, grad):
        if isinstance(grad, Tensor):
            return ops.reshape(grad, ctx.in_shape)
        parts = grad.parts  # steps whose output got no gradient are missing: their share is 0
        T, N, G = ctx.shape
        dtype = next(iter(parts.values())).dtype
        if _grad.enabled:
            zero = _internal.wrap(np.zeros((N, G), dtype))
            return ops.reshape(ops.stack([parts.get(t, zero) for t in range(T)]), ctx.in_shape)
        out = np.empty(ctx.shape, dtype)
        for t in range(T):
            if t in parts:
                out[t] = parts[t].array
            else:
                out[t] = 0
        return _internal.wrap(out.reshape(ctx.in_shape))


class StepSlice(Function):
    # y = x[t] of a TimeSteps output;  dL/dx = StepGrads(t, dL/dy). Used by the steps' backward
    # under create_graph (a plain x[t] would send TimeSteps a full-size gradient)
    def forward(ctx, xs, t):
        ctx.t = t
        return xs[t]

    def backward(ctx, grad):
        return StepGrads(ctx.t, grad)


def _step_input(xs, t):
    """x[t] of the projection, or the whole input of a cell (t=None): arrays in forward, Tensors
    (through StepSlice) in a differentiable backward."""
    if t is None:
        return xs
    return xs[t] if type(xs) is np.ndarray else StepSlice.apply(xs, t=t)


def _step_grad(g, t):
    return _wrap(g) if t is None else StepGrads(t, _wrap(g))


class StepWeight(Function):
    # y = w: the recurrent weight W_hh (or GRU's b_hh) that every time step of one direction
    # uses;  dL/dW = Σ_t da_tᵀ h_t (dL/db = Σ_t Σ_n da_t), from the steps' StepGrads, as ONE GEMM
    # over the whole sequence instead of one small GEMM and one full-size sum per step
    def forward(ctx, w):
        return w

    def backward(ctx, grad):
        if isinstance(grad, Tensor):
            return grad
        parts = [grad.parts[t] for t in sorted(grad.parts)]
        if _grad.enabled:
            cat = lambda xs: ops.cat(xs, 0)
        else:
            cat = lambda xs: np.concatenate([x.array for x in xs])
        if isinstance(parts[0], tuple):
            return _wrap(cat([a for a, _ in parts]).T @ cat([b for _, b in parts]))
        return _wrap(cat(parts).sum(0))


def _weight_grad(da, h, t):
    """dL/dW_hh of one step: daᵀ h now (a cell), or the pair for StepWeight (a sequence)."""
    return _wrap(da.T @ h) if t is None else StepGrads(t, (_wrap(da), _wrap(h)))


def _bias_grad(da, t):
    return _wrap(da.sum(0)) if t is None else StepGrads(t, _wrap(da))


class StackSteps(Function):
    # y[t] = [h_t of direction 0, h_t of direction 1, ...]: (T, N, D·H);
    # dL/dh_t = its slice of dL/dy. LSTM steps output (2, N, H) = (h, c): only h is taken.
    def forward(ctx, *hs, num_directions, lstm):
        D = num_directions
        T = len(hs) // D
        first = hs[0][0] if lstm else hs[0]
        N, H = first.shape
        ctx.args = D, T, H, lstm
        out = np.empty((T, N, D * H), first.dtype)
        for d in range(D):
            for t in range(T):
                h = hs[d * T + t]
                out[t, :, d * H:(d + 1) * H] = h[0] if lstm else h
        return out

    def backward(ctx, grad):
        _, T, H, lstm = ctx.args
        xp, (g,) = _backend(grad)
        grads = []
        for k, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            d, t = divmod(k, T)
            gh = g[t, :, d * H:(d + 1) * H]
            grads.append(_wrap(xp.stack([gh, xp.zeros_like(gh)]) if lstm else gh))
        return tuple(grads)


# === RNN ===================================================================
# Each step takes (xs, state, w_hh[, b_hh]) where w_hh (and b_hh) are StepWeight outputs in a
# sequence; ``w`` (and ``b``) are the parameters themselves, which the differentiable backward
# (create_graph) uses directly, so that StepWeight only ever receives StepGrads.

class RNNStep(Function):
    # h' = act(a), a = x_t + h W_hhᵀ;  da = dh' · act'(a) (tanh: 1 − h'², relu: [h' > 0]);
    # dx_t = da,  dh = da W_hh,  dW_hh = daᵀ h
    def forward(ctx, xs, h, w_hh, t, w, nonlinearity):
        ctx.args = t, w, nonlinearity
        a = h @ w_hh.T
        a += _step_input(xs, t)
        y = np.tanh(a, out=a) if nonlinearity == "tanh" else np.maximum(a, 0, out=a)
        ctx.save_for_backward(h, w_hh, y)
        return y

    def backward(ctx, grad):
        t, w, nonlinearity = ctx.args
        h, w_hh, y = ctx.saved  # y is this node's output: differentiable as it is
        if _grad.enabled:
            w_hh = w
        xp, (g, h, w_hh, y) = _backend(grad, h, w_hh, y)
        if nonlinearity == "tanh":
            da = g * (1 - y * y)
        else:  # relu: a constant 0/1 mask
            mask = (y.array if xp is _Tensors else y) > 0
            da = g * (_internal.wrap(mask.astype(g.dtype)) if xp is _Tensors else mask)
        n_xs, n_h, n_w = ctx.needs_input_grad
        return (_step_grad(da, t) if n_xs else None,
                _wrap(da @ w_hh) if n_h else None,
                _weight_grad(da, h, t) if n_w else None)


# === LSTM ==================================================================
class LSTMStep(Function):
    # (h', c') from x_t + h W_hhᵀ = [a_i a_f a_g a_o]:  c' = f c + i g,  h' = o tanh(c')
    # dc' += dh' o (1 − tanh²c');  da_i = dc' g i(1−i);  da_f = dc' c f(1−f);
    # da_g = dc' i (1 − g²);  da_o = dh' tanh(c') o(1−o);  dc = dc' f;  dh = da W_hh;  dW_hh = daᵀ h
    def forward(ctx, xs, hc, w_hh, t, w):
        h, c = hc[0], hc[1]
        H = h.shape[-1]
        a = h @ w_hh.T
        a += _step_input(xs, t)
        act = kernels.sigmoid_(a)  # i, f, o (and, overwritten next, g)
        np.tanh(a[:, 2 * H:3 * H], out=act[:, 2 * H:3 * H])
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        out = np.empty((2,) + h.shape, h.dtype)
        np.multiply(f, c, out=out[1])
        out[1] += i * g
        tc = np.tanh(out[1])
        np.multiply(o, tc, out=out[0])
        ctx.args = t, w
        ctx.save_for_backward(xs, hc, w_hh, act, tc)
        return out

    def backward(ctx, grad):
        t, w = ctx.args
        xs, hc, w_hh, act, tc = ctx.saved
        H = w_hh.shape[1]
        if _grad.enabled:  # create_graph: the activations as functions of the inputs
            w_hh = w
            a = _step_input(xs, t) + ops.matmul(hc[0], w_hh.T)
            act = ops.cat([ops.sigmoid(a[:, :2 * H]), ops.tanh(a[:, 2 * H:3 * H]),
                           ops.sigmoid(a[:, 3 * H:])], 1)
            tc = ops.tanh(act[:, H:2 * H] * hc[1] + act[:, :H] * act[:, 2 * H:3 * H])
        xp, (grad, hc, w_hh, act, tc) = _backend(grad, hc, w_hh, act, tc)
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        h, c = hc[0], hc[1]
        dh, dc = grad[0], grad[1]
        dc = dc + dh * o * (1 - tc * tc)
        da = xp.cat([dc * g, dc * c, dc * i, dh * tc], 1) * xp.lstm_slopes(act, H)
        n_xs, n_hc, n_w = ctx.needs_input_grad
        return (_step_grad(da, t) if n_xs else None,
                _wrap(xp.stack([da @ w_hh, dc * f])) if n_hc else None,
                _weight_grad(da, h, t) if n_w else None)


# === GRU ===================================================================
class GRUStep(Function):
    # u = h W_hhᵀ + b_hh;  r, z = σ(x_r + u_r), σ(x_z + u_z);  n = tanh(x_n + r u_n);
    # h' = n + z (h − n).  dn = dh'(1 − z);  dz = dh'(h − n);  da_n = dn (1 − n²);
    # da_r = da_n u_n r(1−r);  da_z = dz z(1−z);  dx_t = [da_r da_z da_n];
    # du = [da_r da_z da_n r];  dh = dh' z + du W_hh;  dW_hh = duᵀ h;  db_hh = Σ du
    def forward(ctx, xs, h, w_hh, *b_hh, t, w, b):
        H = h.shape[-1]
        x = _step_input(xs, t)
        u = h @ w_hh.T
        if b_hh:
            u += b_hh[0]
        rz = x[:, :2 * H] + u[:, :2 * H]
        kernels.sigmoid_(rz, out=rz)
        r, z = rz[:, :H], rz[:, H:]
        n = r * u[:, 2 * H:]
        n += x[:, 2 * H:]
        np.tanh(n, out=n)
        y = h - n
        y *= z
        y += n
        ctx.args = t, w, b
        ctx.save_for_backward(xs, h, w_hh, rz, n, u[:, 2 * H:])
        return y

    def backward(ctx, grad):
        t, w, b = ctx.args
        xs, h, w_hh, rz, n, un = ctx.saved
        H = h.shape[-1]
        if _grad.enabled:  # create_graph: the gates as functions of the inputs
            w_hh = w
            x = _step_input(xs, t)
            u = ops.matmul(h, w_hh.T)
            if b is not None:
                u = u + b
            rz = ops.sigmoid(x[:, :2 * H] + u[:, :2 * H])
            un = u[:, 2 * H:]
            n = ops.tanh(x[:, 2 * H:] + rz[:, :H] * un)
        xp, (g, h, w_hh, rz, n, un) = _backend(grad, h, w_hh, rz, n, un)
        r, z = rz[:, :H], rz[:, H:]
        dn = g * (1 - z) * (1 - n * n)
        drz = xp.cat([dn * un * r * (1 - r), g * (h - n) * z * (1 - z)], 1)
        du = xp.cat([drz, dn * r], 1)
        needs = ctx.needs_input_grad
        grads = [_step_grad(xp.cat([drz, dn], 1), t) if needs[0] else None,
                 _wrap(g * z + du @ w_hh) if needs[1] else None,
                 _weight_grad(du, h, t) if needs[2] else None]
        if len(needs) == 4:
            grads.append(_bias_grad(du, t) if needs[3] else None)
        return tuple(grads)


# === one layer, one direction ==============================================
def _shared(p):
    """A parameter as StepWeight output (sharing its version counter, so that an in-place change
    before backward is still detected)."""
    if p is None:
        return None
    return _internal.share_version(StepWeight.apply(p), p)


def recurrence(mode, x, state, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False,
               nonlinearity="tanh"):
    """Run one layer in one direction over the whole sequence.

    x: (T, N, H_in); state: (N, H), or (2, N, H) = (h, c) for 'LSTM'. Returns the list of the T
    step outputs in time order (each like ``state``) and the final state.
    """
    T, N, H_in = x.shape
    G = w_ih.shape[0]
    if mode == "GRU":  # b_hn sits inside r ⊙ (...): b_hh stays in the step
        bias = b_ih
    else:  # both biases simply add: fold b_hh into the one projection
        bias = None if b_ih is None else b_ih + b_hh
    xw = linear(ops.reshape(x, (T * N, H_in)), w_ih, bias)
    xs = TimeSteps.apply(xw, shape=(T, N, G))
    ws = _shared(w_hh)
    bs = () if mode != "GRU" or b_hh is None else (_shared(b_hh),)
    outs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        if mode == "LSTM":
            state = LSTMStep.apply(xs, state, ws, t=t, w=w_hh)
        elif mode == "GRU":
            state = GRUStep.apply(xs, state, ws, *bs, t=t, w=w_hh, b=b_hh)
        else:
            state = RNNStep.apply(xs, state, ws, t=t, w=w_hh, nonlinearity=nonlinearity)
        outs[t] = state
    return outs, state
