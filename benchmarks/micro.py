"""Micro-benchmarks behind benchmarks/PROFILE.md: each hot op of the four workloads as gradkit
runs it now, as a NumPy prototype of the proposed change, and in PyTorch.

    python -m benchmarks.micro [--only gelu,adam] [--steps 15] [--threads 1]

Every variant of one case runs round-robin, step by step (as in compare.py), and the table gives
the median ms of each and its ratio to gradkit's current time and to PyTorch's. A prototype is
first checked to give the same values as gradkit (to 1e-5 relative), so that its time is the time
of the same computation done the proposed way. The prototypes are plain NumPy on arrays: they
show what an op costs once its Python and its temporaries are gone, i.e. the gain available in
that op, not a drop-in implementation (no graph, no checks).
"""
import argparse
import math
import statistics
import sys
import time

import numpy as np

SQRT1_2 = 1 / math.sqrt(2)
INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _rng():
    return np.random.default_rng(0)


def _randn(*shape):
    return _rng().standard_normal(shape, dtype=np.float32)


def _close(a, b, what, rtol=1e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    err = np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)
    if err > rtol:
        raise AssertionError(f"micro: prototype {what} differs from gradkit by {err:.2e}")


def _leaf(gk, a):
    return gk.from_numpy(a.copy()).requires_grad_()


def adam_flat(w, g, m, v, tmp, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Adam over flat float32 buffers (all parameters at once), in place, with one scratch."""
    np.subtract(g, m, out=tmp)
    tmp *= 1 - b1
    m += tmp                                         # m = β1 m + (1 − β1) g
    v *= b2
    np.multiply(g, g, out=tmp)
    tmp *= 1 - b2
    v += tmp                                         # v = β2 v + (1 − β2) g²
    np.sqrt(v, out=tmp)
    tmp *= 1 / math.sqrt(1 - b2 ** t)
    tmp += eps                                       # √v̂ + ε
    np.divide(m, tmp, out=tmp)
    tmp *= lr / (1 - b1 ** t)
    w -= tmp                                         # w −= lr m̂ / (√v̂ + ε)


# === cases: each returns {variant: fn}; "gradkit" and "PyTorch" are always present ==========
def _numba_gelu():
    """GELU kernels compiled by numba (an optional dependency the issue allows), or None: the
    float32 rational erf of ``kernels.erf`` in one ``fastmath`` loop each way, and, to compare, a
    loop calling ``math.erf``."""
    try:
        import numba
    except ImportError:
        return None
    from types import SimpleNamespace

    from gradkit.ops.kernels import _ERF32_A, _ERF32_B
    a0, a1, a2, a3, a4, a5, a6 = (np.float32(c) for c in _ERF32_A)
    b0, b1, b2, b3, b4 = (np.float32(c) for c in _ERF32_B)
    s, p = np.float32(SQRT1_2), np.float32(INV_SQRT_2PI)
    lo, hi, half, one, mhalf = (np.float32(c) for c in (-4.0, 4.0, 0.5, 1.0, -0.5))

    @numba.njit(fastmath=True)
    def forward(xf, y, cdf):
        for i in range(xf.size):
            xi = xf[i]
            u = min(max(xi * s, lo), hi)
            z = u * u
            num = (((((a0 * z + a1) * z + a2) * z + a3) * z + a4) * z + a5) * z + a6
            den = (((b0 * z + b1) * z + b2) * z + b3) * z + b4
            c = half * (one + u * num / den)
            cdf[i] = c
            y[i] = xi * c

    @numba.njit(fastmath=True)
    def backward(xf, cdf, gf, gx):
        for i in range(xf.size):
            xi = xf[i]
            gx[i] = gf[i] * (cdf[i] + xi * np.exp(mhalf * xi * xi) * p)

    @numba.njit
    def math_erf(xf, gf, y, gx):
        for i in range(xf.size):
            xi = xf[i]
            c = 0.5 * (1.0 + math.erf(xi * SQRT1_2))
            y[i] = xi * c
            gx[i] = gf[i] * (c + xi * math.exp(-0.5 * xi * xi) * INV_SQRT_2PI)

    return SimpleNamespace(forward=forward, backward=backward, math_erf=math_erf)


def case_gelu(gk, torch):
    """GELU exact, forward + backward, on the GPT's MLP activation (16, 128, 1024)."""
    from gradkit.ops.kernels import _ERF32_A, _ERF32_B
    x, g = _randn(16, 128, 1024), _randn(16, 128, 1024)
    tg = torch.from_numpy(g)

    def gradkit():
        xt = _leaf(gk, x)
        gk.nn.functional.gelu(xt).backward(gk.from_numpy(g))
        return xt.grad.numpy()

    def _poly(coeffs, z):
        r = z * np.float32(coeffs[0])
        r += np.float32(coeffs[1])
        for c in coeffs[2:]:
            r *= z
            r += np.float32(c)
        return r

    def gelu_arrays(erf):
        u = x * np.float32(SQRT1_2)
        cdf = erf(u)
        cdf += 1
        cdf *= 0.5                                   # Φ(x), kept for backward
        y = x * cdf
        pdf = np.multiply(x, x, out=u)
        pdf *= -0.5
        np.exp(pdf, out=pdf)
        pdf *= np.float32(INV_SQRT_2PI)              # φ(x)
        pdf *= x
        pdf += cdf
        pdf *= g                                     # dL/dx = g (Φ + x φ)
        return y, pdf

    def erf_inplace(u):
        np.clip(u, -4.0, 4.0, out=u)
        z = u * u
        p = _poly(_ERF32_A, z)
        p *= u
        p /= _poly(_ERF32_B, z)
        return p

    def inplace_numpy():
        return gelu_arrays(erf_inplace)[1]

    def torch_gelu():
        xt = torch.from_numpy(x).requires_grad_()
        torch.nn.functional.gelu(xt).backward(tg)
        return xt.grad

    cases = {"gradkit": gradkit, "NumPy in place, Φ saved": inplace_numpy}
    try:
        from scipy.special import erf as sp_erf
        cases["scipy.special.erf, Φ saved"] = lambda: gelu_arrays(sp_erf)[1]
    except ImportError:
        pass
    kernels = _numba_gelu()
    if kernels is not None:
        def numba_gelu():
            y, cdf, gx = np.empty_like(x), np.empty_like(x), np.empty_like(x)
            kernels.forward(x.reshape(-1), y.reshape(-1), cdf.reshape(-1))
            kernels.backward(x.reshape(-1), cdf.reshape(-1), g.reshape(-1), gx.reshape(-1))
            return gx

        def numba_math_erf():
            y, gx = np.empty_like(x), np.empty_like(x)
            kernels.math_erf(x.reshape(-1), g.reshape(-1), y.reshape(-1), gx.reshape(-1))
            return gx
        cases["numba fastmath loops, rational erf, Φ saved"] = numba_gelu
        cases["numba loop calling math.erf"] = numba_math_erf
    cases["PyTorch"] = torch_gelu
    ref = gradkit()
    for k, fn in cases.items():
        if k not in ("gradkit", "PyTorch"):
            _close(fn(), ref, f"gelu ({k})")
    return cases


def case_gelu_infer(gk, torch):
    """GELU exact, forward only under no_grad (inference), on (16, 128, 1024)."""
    from gradkit.ops.kernels import _ERF32_A, _ERF32_B
    x = _randn(16, 128, 1024)
    gx, tx = gk.from_numpy(x), torch.from_numpy(x)

    def gradkit():
        with gk.no_grad():
            return gk.nn.functional.gelu(gx).numpy()

    def inplace():
        u = x * np.float32(SQRT1_2)
        np.clip(u, -4.0, 4.0, out=u)
        z = u * u
        p = z * np.float32(_ERF32_A[0])
        for c in _ERF32_A[1:]:
            p += np.float32(c)
            p *= z if c is not _ERF32_A[-1] else u
        q = z * np.float32(_ERF32_B[0])
        for c in _ERF32_B[1:-1]:
            q += np.float32(c)
            q *= z
        q += np.float32(_ERF32_B[-1])
        p /= q                                       # erf(x/√2)
        p += 1
        p *= x
        p *= 0.5
        return p

    def torch_gelu():
        with torch.no_grad():
            return torch.nn.functional.gelu(tx)

    cases = {"gradkit": gradkit, "NumPy in place": inplace}
    kernels = _numba_gelu()
    if kernels is not None:
        def numba_fwd():
            y, cdf = np.empty_like(x), np.empty_like(x)
            kernels.forward(x.reshape(-1), y.reshape(-1), cdf.reshape(-1))
            return y
        cases["numba fastmath loop, rational erf"] = numba_fwd
    cases["PyTorch"] = torch_gelu
    ref = gradkit()
    for k, fn in cases.items():
        if k not in ("gradkit", "PyTorch"):
            _close(fn(), ref, f"gelu forward ({k})")
    return cases


def case_linear3d(gk, torch):
    """Linear 256→1024 on (16, 128, 256), forward + backward: as the GPT calls it (3-D input)
    and with the leading dims folded into one (2048, 256) GEMM."""
    x, w, b, g = _randn(16, 128, 256), _randn(1024, 256) * 0.06, _randn(1024), _randn(16, 128, 1024)
    F = gk.nn.functional

    def run(shape):
        xt, wt, bt = _leaf(gk, x.reshape(shape)), _leaf(gk, w), _leaf(gk, b)
        F.linear(xt, wt, bt).backward(gk.from_numpy(g.reshape(shape[:-1] + (1024,))))
        return wt.grad.numpy()

    def folded_numpy():
        x2, g2 = x.reshape(-1, 256), g.reshape(-1, 1024)
        y = x2 @ w.T
        y += b
        return y, g2.T @ x2, g2 @ w, g2.sum(0)

    def torch_linear():
        xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        torch.nn.functional.linear(xt, wt, bt).backward(torch.from_numpy(g))

    _close(run((2048, 256)), run((16, 128, 256)), "linear folded")
    return {"gradkit": lambda: run((16, 128, 256)),
            "gradkit, input folded to 2-D": lambda: run((2048, 256)),
            "NumPy: 3 GEMMs + bias sum": folded_numpy, "PyTorch": torch_linear}


def _adam_case(gk, torch, name):
    from .models import build
    torch.manual_seed(0)
    tm = build(name, torch)
    gm = build(name, gk)
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    gparams, tparams = list(gm.parameters()), list(tm.parameters())
    grads = [_rng().standard_normal(p.shape, dtype=np.float32) * 1e-2 for p in gparams]
    for p, tp, gr in zip(gparams, tparams, grads):
        p.grad = gk.from_numpy(gr)
        tp.grad = torch.from_numpy(gr.copy())
    g_opt = gk.optim.Adam(gparams, lr=1e-3)
    t_opt = torch.optim.Adam(tparams, lr=1e-3)
    # the prototype: parameters, gradients and both moments as flat float32 buffers
    sizes = [p.array.size for p in gparams]
    n = sum(sizes)
    w = np.concatenate([p.array.reshape(-1) for p in gparams])
    gflat = np.concatenate([gr.reshape(-1) for gr in grads])
    m, v, tmp = np.zeros(n, np.float32), np.zeros(n, np.float32), np.empty(n, np.float32)
    state = {"t": 0}

    def flat():
        state["t"] += 1
        adam_flat(w, gflat, m, v, tmp, state["t"])

    chunk = 1 << 16  # 256 KiB of float32 per operand: the whole update of a chunk stays in L2

    def flat_chunked():
        state["t"] += 1
        for i in range(0, n, chunk):
            s = slice(i, i + chunk)
            adam_flat(w[s], gflat[s], m[s], v[s], tmp[s], state["t"])

    return {"gradkit": g_opt.step, f"NumPy flat buffer ({n / 1e6:.2f}M params, "
            f"{len(sizes)} tensors)": flat, "NumPy flat buffer, in chunks of 64K": flat_chunked,
            "PyTorch": t_opt.step}


def case_adam_mlp(gk, torch):
    """Adam step over the MLP's parameters (6 tensors, 0.54M)."""
    return _adam_case(gk, torch, "mlp")


def case_adam_gpt(gk, torch):
    """Adam step over the GPT's parameters (52 tensors, 3.2M)."""
    return _adam_case(gk, torch, "gpt")


def _ce_case(gk, torch, n, c):
    logits, y = _randn(n, c), _rng().integers(0, c, n)
    F = gk.nn.functional

    def gradkit():
        lt = _leaf(gk, logits)
        F.cross_entropy(lt, gk.from_numpy(y)).backward()
        return lt.grad.numpy()

    def fused():
        z = logits - logits.max(1, keepdims=True)
        e = np.exp(z)
        s = e.sum(1, keepdims=True)
        rows = np.arange(n)
        loss = np.log(s[:, 0]).mean() - z[rows, y].mean()  # noqa: F841  (the forward value)
        e /= s
        e[rows, y] -= 1
        e *= 1 / n                                   # dL/dz = (softmax − onehot) / N
        return e

    def torch_ce():
        lt = torch.from_numpy(logits).requires_grad_()
        torch.nn.functional.cross_entropy(lt, torch.from_numpy(y)).backward()

    _close(fused(), gradkit(), "cross_entropy")
    return {"gradkit": gradkit, "NumPy fused softmax-CE": fused, "PyTorch": torch_ce}


def case_ce_gpt(gk, torch):
    """cross_entropy forward + backward on (2048, 65) logits (GPT; the LSTM's are the same size)."""
    return _ce_case(gk, torch, 2048, 65)


def case_ce_mlp(gk, torch):
    """cross_entropy forward + backward on (128, 10) logits (MLP)."""
    return _ce_case(gk, torch, 128, 10)


def case_maxpool(gk, torch):
    """MaxPool2d(2) forward + backward on (64, 32, 28, 28) (the CNN's first pool)."""
    x, g = _randn(64, 32, 28, 28), _randn(64, 32, 14, 14)

    def gradkit():
        xt = _leaf(gk, x)
        gk.nn.functional.max_pool2d(xt, 2).backward(gk.from_numpy(g))
        return xt.grad.numpy()

    def reshaped():
        xr = x.reshape(64, 32, 14, 2, 14, 2)
        y = xr.max(axis=(3, 5))
        # backward from x and y (no index array saved): the first maximum of each window gets
        # the gradient, as in PyTorch
        gx = np.zeros_like(xr)
        taken = np.zeros(y.shape, bool)
        for i in (0, 1):
            for j in (0, 1):
                hit = xr[:, :, :, i, :, j] == y
                hit &= ~taken
                taken |= hit
                np.multiply(hit, g, out=gx[:, :, :, i, :, j])
        return gx.reshape(x.shape)

    def torch_pool():
        xt = torch.from_numpy(x).requires_grad_()
        torch.nn.functional.max_pool2d(xt, 2).backward(torch.from_numpy(g))

    _close(reshaped(), gradkit(), "max_pool2d")
    return {"gradkit": gradkit, "NumPy reshape (2×2 blocks)": reshaped, "PyTorch": torch_pool}


def case_conv(gk, torch):
    """Conv2d(32→64, 3, padding=1) forward + backward on (64, 32, 14, 14) (the CNN's second conv),
    and its parts as gradkit's kernels run them."""
    from gradkit.nn.functional import conv as C
    x, w, b, g = _randn(64, 32, 14, 14), _randn(64, 32, 3, 3) * 0.06, _randn(64), _randn(64, 64, 14, 14)
    geom = dict(stride=(1, 1), pad=(1, 1, 1, 1), dilation=(1, 1))

    def gradkit():
        xt, wt, bt = _leaf(gk, x), _leaf(gk, w), _leaf(gk, b)
        gk.nn.functional.conv2d(xt, wt, bt, padding=1).backward(gk.from_numpy(g))

    cols = C._im2col(x, (3, 3), geom["stride"], geom["pad"], geom["dilation"], (14, 14))
    wm = w.reshape(64, -1)
    gm = C._channel_major(g, 1)[0]
    ym, dcols = wm @ cols, wm.T @ gm

    def torch_conv():
        xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        torch.nn.functional.conv2d(xt, wt, bt, padding=1).backward(torch.from_numpy(g))

    return {
        "gradkit": gradkit,
        "part: im2col copy (×2 per step: forward and weight grad)":
            lambda: C._im2col(x, (3, 3), geom["stride"], geom["pad"], geom["dilation"], (14, 14)),
        "part: forward GEMM (64×288 @ 288×12544)": lambda: wm @ cols,
        "part: NCHW transpose + bias copy": lambda: np.add(
            ym.reshape(64, 64, 14, 14).transpose(1, 0, 2, 3), b.reshape(64, 1, 1)),
        "part: channel-major copy of dL/dy (×2 per step)": lambda: C._channel_major(g, 1),
        "part: dW GEMM": lambda: gm @ cols.T,
        "part: dx GEMM": lambda: wm.T @ gm,
        "part: col2im": lambda: C._col2im(dcols, x.shape, (3, 3), geom["stride"],
                                          geom["pad"], geom["dilation"], (14, 14)),
        "PyTorch": torch_conv,
    }


def case_layernorm(gk, torch):
    """LayerNorm(256) forward + backward on (16, 128, 256) (the GPT's, 9 per step)."""
    x, g = _randn(16, 128, 256), _randn(16, 128, 256)
    wgt, bias = np.ones(256, np.float32), np.zeros(256, np.float32)

    def gradkit():
        xt, wt, bt = _leaf(gk, x), _leaf(gk, wgt), _leaf(gk, bias)
        gk.nn.functional.layer_norm(xt, (256,), wt, bt).backward(gk.from_numpy(g))

    def torch_ln():
        xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, wgt, bias))
        torch.nn.functional.layer_norm(xt, (256,), wt, bt).backward(torch.from_numpy(g))

    return {"gradkit": gradkit, "PyTorch": torch_ln}


def case_layernorm_infer(gk, torch):
    """LayerNorm(256) forward only under no_grad on (16, 128, 256)."""
    x = _randn(16, 128, 256)
    w, b = np.ones(256, np.float32), np.zeros(256, np.float32)
    gx, gw, gb = gk.from_numpy(x), gk.from_numpy(w), gk.from_numpy(b)
    tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)

    def gradkit():
        with gk.no_grad():
            return gk.nn.functional.layer_norm(gx, (256,), gw, gb)

    def torch_ln():
        with torch.no_grad():
            return torch.nn.functional.layer_norm(tx, (256,), tw, tb)

    return {"gradkit": gradkit, "PyTorch": torch_ln}


def case_attention_infer(gk, torch):
    """Causal scaled_dot_product_attention forward only under no_grad, (16, 4, 128, 64)."""
    q, k, v = (_randn(16, 4, 128, 64) for _ in range(3))
    gq, gkk, gv = (gk.from_numpy(a) for a in (q, k, v))
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))

    def gradkit():
        with gk.no_grad():
            return gk.nn.functional.scaled_dot_product_attention(gq, gkk, gv, is_causal=True)

    def torch_sdpa():
        with torch.no_grad():
            return torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True)

    return {"gradkit": gradkit, "NumPy: the 2 matmuls alone": lambda: (q @ k.transpose(0, 1, 3, 2)) @ v,
            "PyTorch": torch_sdpa}


def case_attention(gk, torch):
    """Causal scaled_dot_product_attention forward + backward, q, k, v: (16, 4, 128, 64)."""
    q, k, v, g = (_randn(16, 4, 128, 64) for _ in range(4))
    F = gk.nn.functional

    def gradkit():
        qt, kt, vt = _leaf(gk, q), _leaf(gk, k), _leaf(gk, v)
        F.scaled_dot_product_attention(qt, kt, vt, is_causal=True).backward(gk.from_numpy(g))

    def matmuls_only():  # the 6 batched matmuls of forward + backward, nothing else
        s = q @ k.transpose(0, 1, 3, 2)
        o = s @ v
        return o, s @ k, s.transpose(0, 1, 3, 2) @ q, s.transpose(0, 1, 3, 2) @ g, g @ v.transpose(0, 1, 3, 2)

    def torch_sdpa():
        qt, kt, vt = (torch.from_numpy(a).requires_grad_() for a in (q, k, v))
        torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=True).backward(
            torch.from_numpy(g))

    def torch_math():  # PyTorch without its fused kernel: the same ops gradkit runs
        qt, kt, vt = (torch.from_numpy(a).requires_grad_() for a in (q, k, v))
        s = (qt @ kt.transpose(-2, -1)) * 0.125
        s = s.masked_fill(torch.ones(128, 128, dtype=torch.bool).triu(1), float("-inf"))
        (s.softmax(-1) @ vt).backward(torch.from_numpy(g))

    return {"gradkit": gradkit, "NumPy: the 5 matmuls alone": matmuls_only,
            "PyTorch, unfused ops": torch_math, "PyTorch": torch_sdpa}


def case_lstm(gk, torch):
    """nn.LSTM(128→256, batch_first) forward + backward on (32, 64, 128), and the floor set by
    its matrix products alone (input projection, 64 recurrent GEMMs forward, 64 backward,
    weight gradients)."""
    torch.manual_seed(0)
    tl = torch.nn.LSTM(128, 256, batch_first=True)
    gl = gk.nn.LSTM(128, 256, batch_first=True)
    gl.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    x, g = _randn(32, 64, 128), _randn(32, 64, 256)
    w_ih, w_hh = _randn(1024, 128), _randn(1024, 256)
    h = _randn(32, 256)
    da = _randn(64 * 32, 1024)
    hs = _randn(64 * 32, 256)

    def gradkit():
        xt = _leaf(gk, x)
        out, _ = gl(xt)
        out.backward(gk.from_numpy(g))

    def gemms():
        x.reshape(-1, 128) @ w_ih.T
        for _ in range(64):
            h @ w_hh.T
        for _ in range(64):
            da[:32] @ w_hh
        da.T @ hs
        da.T @ x.reshape(-1, 128)
        da @ w_ih

    def torch_lstm():
        xt = torch.from_numpy(x).requires_grad_()
        out, _ = tl(xt)
        out.backward(torch.from_numpy(g))

    return {"gradkit": gradkit, "NumPy: the GEMMs alone": gemms, "PyTorch": torch_lstm}


def case_lstm_infer(gk, torch):
    """nn.LSTM(128→256, batch_first) forward only under no_grad on (32, 64, 128), and the NumPy
    floor: the same recurrence on bare arrays (input projection, then per step one GEMM, the gate
    activations and the cell update, as LSTMStep.forward computes them)."""
    torch.manual_seed(0)
    tl = torch.nn.LSTM(128, 256, batch_first=True)
    gl = gk.nn.LSTM(128, 256, batch_first=True)
    gl.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    x = _randn(32, 64, 128)
    sd = {k: v.detach().numpy() for k, v in tl.state_dict().items()}
    w_ih, w_hh, b = sd["weight_ih_l0"], sd["weight_hh_l0"], sd["bias_ih_l0"] + sd["bias_hh_l0"]
    gx, tx = gk.from_numpy(x), torch.from_numpy(x)
    H = 256

    def sigmoid(a):
        out = np.negative(a)
        np.exp(out, out=out)
        out += 1
        return np.reciprocal(out, out=out)

    def arrays():
        xs = (x.transpose(1, 0, 2).reshape(-1, 128) @ w_ih.T + b).reshape(64, 32, 4 * H)
        h, c = np.zeros((32, H), np.float32), np.zeros((32, H), np.float32)
        out = np.empty((64, 32, H), np.float32)
        for t in range(64):
            a = h @ w_hh.T
            a += xs[t]
            act = sigmoid(a)
            np.tanh(a[:, 2 * H:3 * H], out=act[:, 2 * H:3 * H])
            c = act[:, H:2 * H] * c + act[:, :H] * act[:, 2 * H:3 * H]
            h = out[t] = act[:, 3 * H:] * np.tanh(c)
        return out

    def gradkit():
        with gk.no_grad():
            return gl(gx)[0]

    def torch_lstm():
        with torch.no_grad():
            return tl(tx)[0]

    ref = torch_lstm().numpy()
    _close(arrays().transpose(1, 0, 2), ref, "lstm arrays", rtol=1e-4)
    return {"gradkit": gradkit, "NumPy: the same recurrence on arrays": arrays, "PyTorch": torch_lstm}


def case_conv_layout(gk, torch):
    """The im2col layout choice (NCHW in and out, as the API), forward of the CNN's second conv
    (64, 32, 14, 14) → 64 channels, 3×3, padding 1: gradkit's channel-major columns
    (C·kh·kw, N·Ho·Wo) and one GEMM, against an NHWC prototype (input to NHWC, columns
    (N·Ho·Wo, kh·kw·C), one GEMM, result back to NCHW) and per-sample GEMMs."""
    from numpy.lib.stride_tricks import sliding_window_view
    x = _randn(64, 32, 14, 14)
    w = _randn(64, 32, 3, 3)
    gx, gw = gk.from_numpy(x), gk.from_numpy(w)
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    w_cm = w.reshape(64, -1)                                   # (O, C·kh·kw)
    w_hwc = np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(-1, 64)  # (kh·kw·C, O)

    def nhwc():
        xp = np.zeros((64, 16, 16, 32), np.float32)
        xp[:, 1:15, 1:15] = x.transpose(0, 2, 3, 1)
        win = sliding_window_view(xp, (3, 3), axis=(1, 2))    # (N, Ho, Wo, C, kh, kw)
        cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(-1, 9 * 32)
        y = cols @ w_hwc                                      # (N·Ho·Wo, O)
        return np.ascontiguousarray(y.reshape(64, 14, 14, 64).transpose(0, 3, 1, 2))

    def per_sample():
        xp = np.zeros((64, 32, 16, 16), np.float32)
        xp[:, :, 1:15, 1:15] = x
        win = sliding_window_view(xp, (3, 3), axis=(2, 3))    # (N, C, Ho, Wo, kh, kw)
        y = np.empty((64, 64, 196), np.float32)
        for n in range(64):
            y[n] = w_cm @ win[n].transpose(0, 3, 4, 1, 2).reshape(9 * 32, 196)
        return y.reshape(64, 64, 14, 14)

    def gradkit():
        with gk.no_grad():
            return gk.nn.functional.conv2d(gx, gw, padding=1)

    def torch_conv():
        with torch.no_grad():
            return torch.nn.functional.conv2d(tx, tw, padding=1)

    ref = gradkit().array
    _close(nhwc(), ref, "conv NHWC")
    _close(per_sample(), ref, "conv per sample")
    return {"gradkit": gradkit, "NumPy NHWC: columns (N·Ho·Wo, kh·kw·C), one GEMM": nhwc,
            "NumPy NCHW, one GEMM per sample": per_sample, "PyTorch": torch_conv}


def case_dispatch(gk, torch):
    """Per-op cost of the engine on a tiny op: 100 chained adds of (4,) tensors, forward with
    graph recording and backward, against 100 NumPy adds (and PyTorch's 100 adds)."""
    a = np.ones(4, np.float32)

    def gradkit():
        x = _leaf(gk, a)
        y = x
        for _ in range(100):
            y = y + x
        y.sum().backward()

    def gradkit_no_grad():
        x = gk.from_numpy(a)
        y = x
        for _ in range(100):
            y = y + x

    def numpy_adds():
        y = a
        for _ in range(100):
            y = y + a

    def torch_adds():
        x = torch.from_numpy(a).requires_grad_()
        y = x
        for _ in range(100):
            y = y + x
        y.sum().backward()

    return {"gradkit": gradkit, "gradkit, no graph (forward only)": gradkit_no_grad,
            "NumPy (forward only)": numpy_adds, "PyTorch": torch_adds}


def case_mlp_step(gk, torch):
    """The whole MLP training step (batch 128): gradkit, PyTorch, and the same step in NumPy
    with fused linear+bias, fused softmax-CE and a flat-buffer Adam (the floor for gradkit)."""
    from .models import build, loss_of, make_data
    torch.manual_seed(0)
    tm = build("mlp", torch)
    gm = build("mlp", gk)
    sd = {k: v.detach().numpy().copy() for k, v in tm.state_dict().items()}
    gm.load_state_dict(sd)
    xn, yn = make_data("mlp")
    g_opt, t_opt = gk.optim.Adam(gm.parameters()), torch.optim.Adam(tm.parameters())
    gx, gy, tx, ty = gk.from_numpy(xn), gk.from_numpy(yn), torch.from_numpy(xn), torch.from_numpy(yn)
    # NumPy: all parameters as views of one flat buffer, and the gradients of another
    names = list(sd)
    n = sum(sd[k].size for k in names)
    w, gw = np.empty(n, np.float32), np.empty(n, np.float32)
    m, v, tmp = np.zeros(n, np.float32), np.zeros(n, np.float32), np.empty(n, np.float32)
    P, G, off = {}, {}, 0
    for k in names:
        s = sd[k].size
        P[k], G[k] = w[off:off + s].reshape(sd[k].shape), gw[off:off + s].reshape(sd[k].shape)
        P[k][...] = sd[k]
        off += s
    st = {"t": 0}
    rows = np.arange(128)

    def numpy_step():
        W1, b1, W2, b2, W3, b3 = (P[k] for k in names)
        a1 = xn @ W1.T
        a1 += b1
        h1 = np.maximum(a1, 0)
        a2 = h1 @ W2.T
        a2 += b2
        h2 = np.maximum(a2, 0)
        z = h2 @ W3.T
        z += b3
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        s = e.sum(1, keepdims=True)
        loss = np.log(s[:, 0]).mean() - z[rows, yn].mean()
        e /= s
        e[rows, yn] -= 1
        e *= 1 / 128
        np.matmul(e.T, h2, out=G[names[4]])
        e.sum(0, out=G[names[5]])
        d2 = e @ W3
        d2 *= a2 > 0
        np.matmul(d2.T, h1, out=G[names[2]])
        d2.sum(0, out=G[names[3]])
        d1 = d2 @ W2
        d1 *= a1 > 0
        np.matmul(d1.T, xn, out=G[names[0]])
        d1.sum(0, out=G[names[1]])
        st["t"] += 1
        adam_flat(w, gw, m, v, tmp, st["t"])
        return loss

    def gk_step():
        g_opt.zero_grad()
        loss = loss_of(gk, gm, gx, gy)
        loss.backward()
        g_opt.step()
        return loss.item()

    def torch_step():
        t_opt.zero_grad()
        loss = loss_of(torch, tm, tx, ty)
        loss.backward()
        t_opt.step()

    first = numpy_step()
    ref = gk_step()
    if abs(first - ref) > 1e-5 * abs(ref):
        raise AssertionError(f"micro: NumPy MLP step loss {first} != gradkit {ref}")
    return {"gradkit": gk_step, "NumPy, fused (floor)": numpy_step, "PyTorch": torch_step}


CASES = {"mlp_step": case_mlp_step, "adam_mlp": case_adam_mlp, "adam_gpt": case_adam_gpt,
         "ce_mlp": case_ce_mlp, "ce_gpt": case_ce_gpt, "gelu": case_gelu,
         "gelu_infer": case_gelu_infer,
         "linear3d": case_linear3d, "layernorm": case_layernorm,
         "layernorm_infer": case_layernorm_infer, "attention": case_attention,
         "attention_infer": case_attention_infer,
         "conv": case_conv, "maxpool": case_maxpool, "lstm": case_lstm,
         "lstm_infer": case_lstm_infer, "conv_layout": case_conv_layout,
         "dispatch": case_dispatch}


def round_robin(fns, steps, warmup=2):
    """Median seconds of each callable, run in turn step by step (order rotated every step)."""
    names = list(fns)
    for _ in range(warmup):
        for k in names:
            fns[k]()
    times = {k: [] for k in names}
    for i in range(steps):
        for j in range(len(names)):
            k = names[(i + j) % len(names)]
            t0 = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    import torch

    import gradkit as gk
    torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads, user_api="blas")
    except ImportError:
        pass
    print(f"threads: {args.threads}; median of {args.steps} round-robin steps\n")
    print("| case | variant | ms | vs gradkit | vs PyTorch |\n| --- | --- | ---: | ---: | ---: |")
    for name in args.only.split(","):
        fns = CASES[name](gk, torch)
        med = round_robin(fns, args.steps)
        for k, s in med.items():
            print(f"| {name} | {k} | {1e3 * s:.3f} | {s / med['gradkit']:.2f} | "
                  f"{s / med['PyTorch']:.2f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
