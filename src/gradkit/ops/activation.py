"""Activations, the f in y = f(Σ w x + b), and dropout: a table of derivatives.

Each forward is computed so that it cannot overflow (sigmoid from e^-|x|, softplus as
max(x, 0) + ln(1 + e^-|x|)); each backward is written with Tensor ops, so it is differentiable.

=== activations              sigmoid relu leaky_relu elu erf gelu silu softplus
=== dropout                  dropout
"""
import math

import numpy as np

from .. import random as _random
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import _float_unary, _quiet, exp, mul, piecewise_scale, where


# === activations ===========================================================
def _sigmoid_array(x):
    # 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) for x < 0: e^-|x| never overflows, no cancellation
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    # y = 1/(1 + e^-x);  dy/dx = y (1 - y)
    def forward(ctx, x):
        y = _sigmoid_array(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad * (y * (1 - y))


class Relu(Function):
    # y = max(x, 0);  dy/dx = 1 if x > 0 else 0   (0 at x = 0, as PyTorch)
    def forward(ctx, x):
        y = np.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        (y,) = ctx.saved
        return piecewise_scale(grad, y, (y.data > 0).astype(grad.data.dtype))


class LeakyRelu(Function):
    # y = x if x > 0 else a x;  dy/dx = 1 or a
    def forward(ctx, x, negative_slope):
        ctx.slope = np.where(x > 0, 1, negative_slope).astype(x.dtype)
        ctx.save_for_backward(x)
        return x * ctx.slope

    def backward(ctx, grad):
        (x,) = ctx.saved
        return piecewise_scale(grad, x, ctx.slope)


class Elu(Function):
    # y = x if x > 0 else α(e^x - 1);  dy/dx = 1 or y + α
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        with _quiet():
            y = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, grad):
        x, y = ctx.saved
        pos = x.data > 0
        return where(pos, grad, grad * (y + ctx.alpha))


_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class Erf(Function):
    # y = erf x;  dy/dx = 2/√π e^(-x²)
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf_array(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * exp(-(x * x)) * (2 / math.sqrt(math.pi))


class Gelu(Function):
    # y = x Φ(x), Φ(x) = (1 + erf(x/√2))/2;  dy/dx = Φ(x) + x φ(x), φ(x) = e^(-x²/2)/√(2π)
    def forward(ctx, x):
        ctx.save_for_backward(x)
        if x.dtype == np.float32:  # hot in transformers: one blocked pass, Φ kept for backward
            y, ctx.cdf = _gelu32(x, save_cdf=ctx.needs_input_grad is not None)
            return y
        cdf = erf_array(x * x.dtype.type(1 / _SQRT_2))   # a fresh array: finish Φ in place
        cdf += 1
        cdf *= 0.5
        ctx.cdf = cdf  # Φ(x), reused by the array backward
        return x * cdf

    def backward(ctx, grad):
        (x,) = ctx.saved
        if grad_mode.state.enabled:  # create_graph: the same formula with differentiable ops
            cdf = (erf(x * (1 / _SQRT_2)) + 1) * 0.5
            pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
            return grad * (cdf + x * pdf)
        # first order only: NumPy in place, Φ(x) from the forward
        xd = x.data
        if xd.dtype == np.float32 and grad.dtype == np.float32:
            return Tensor._make(_gelu32_grad(xd, ctx.cdf, grad.data).reshape(xd.shape))
        d = np.multiply(xd, xd, out=np.empty_like(xd))
        d *= -0.5
        np.exp(d, out=d)
        d *= _INV_SQRT_2PI
        d *= xd                      # x φ(x)
        d += ctx.cdf                 # Φ(x) + x φ(x)
        d *= grad.data
        return Tensor._make(d)


class GeluTanh(Function):
    # y = x (1 + tanh u)/2 = x s,  u = √(2/π)(x + 0.044715 x³),  s = σ(2u)
    # dy/dx = s + 2 x s (1 - s) du/dx,  du/dx = √(2/π)(1 + 3·0.044715 x²)
    # (σ(2u) rather than (1 + tanh u)/2: in float32 tanh u rounds to -1 for x < -4 and the
    # cancellation in 1 + t and 1 - t² cost the gradient all its digits there)
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with _quiet():
            u = x * (1 + 0.044715 * (x * x)) * _SQRT_2_OVER_PI
            return x * _sigmoid_array(2 * u)

    def backward(ctx, grad):
        (x,) = ctx.saved
        x2 = x * x
        s = sigmoid(x * (x2 * 0.044715 + 1) * (2 * _SQRT_2_OVER_PI))
        du = (x2 * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
        return grad * (s + x * s * (1 - s) * du * 2)


class Silu(Function):
    # y = x σ(x);  dy/dx = σ(x) (1 + x (1 - σ(x)))
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * _sigmoid_array(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        s = sigmoid(x)
        return grad * (s * (1 + x * (1 - s)))


class Softplus(Function):
    # y = ln(1 + e^(βx))/β, or x where βx > threshold;  dy/dx = σ(βx) (1 where linear)
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        bx = x * beta
        # max(bx, 0) + ln(1 + e^-|bx|) is ln(1 + e^bx) without overflow
        soft = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta
        return np.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    def backward(ctx, grad):
        (x,) = ctx.saved
        bx = x * ctx.beta
        return where(bx.data > ctx.threshold, grad, grad * sigmoid(bx))


sigmoid = _float_unary(Sigmoid)
erf = _float_unary(Erf)
silu = _float_unary(Silu)


def relu(x):
    return Relu.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyRelu.apply(x, negative_slope=negative_slope)


def _require_float(x, name):
    # as PyTorch ("not implemented for 'Long'"): these have no integer version to promote to
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point tensor, got {x.dtype}; convert it "
                        "first, e.g. x.float()")


def elu(x, alpha=1.0):
    _require_float(x, "elu")
    return Elu.apply(x, alpha=alpha)


def gelu(x, approximate="none"):
    """GELU: exact ``x Φ(x)`` (``approximate='none'``) or the tanh approximation ('tanh')."""
    _require_float(x, "gelu")
    if approximate == "none":
        return Gelu.apply(x)
    if approximate == "tanh":
        return GeluTanh.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(x, beta=1.0, threshold=20.0):
    _require_float(x, "softplus")
    return Softplus.apply(x, beta=beta, threshold=threshold)


# erf without SciPy. float32: the rational approximation of Eigen/XLA (max error ~1 ulp, one
# pass of NumPy ops); float64: W. J. Cody's rational approximations, as in Cephes (full precision).
_ERF32_A = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
            -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
            -1.60960333262415e-02)
_ERF32_B = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
            -7.37332916720468e-03, -1.42647390514189e-02)


def _polyval(coeffs, x):
    r = coeffs[0]
    for c in coeffs[1:]:
        r = r * x + c
    return r


def _monic(p, q, scale=1.0, arg=1.0):
    """Coefficients of scale·P(arg·u) / Q(arg·u) as float32, divided through so that Q is monic
    (its Horner loop then starts with an add: one NumPy pass fewer)."""
    n, m = len(p) - 1, len(q) - 1
    p = [c * arg ** (n - i) * scale for i, c in enumerate(p)]
    q = [c * arg ** (m - i) for i, c in enumerate(q)]
    return tuple(np.float32(c / q[0]) for c in p), tuple(np.float32(c / q[0]) for c in q[1:])


# erf(x) = z P(z²)/Q(z²) with z = clip(x, ±4); Φ(x) = ½ + ½ erf(x/√2) is the same rational in
# x², its constants folded into the coefficients (GELU's Φ without extra passes).
# Each: (constant term, clip limit, P coefficients, monic Q's coefficients after the first).
# The limits are points where the rational rounds to exactly erf = ±1 and Φ = 0 or 1 (true
# beyond them in float32), so GELU(x) is exactly 0 and x there, as in PyTorch.
_ERF32 = (np.float32(0.0), np.float32(4.0)) + _monic(_ERF32_A, _ERF32_B)
_PHI32 = (np.float32(0.5), np.float32(5.5)) + _monic(_ERF32_A, _ERF32_B, 0.5 / _SQRT_2, 0.5)
_BLOCK = 1 << 18  # float32 elements per block (1 MiB): measured best on (16, 128, 1024), 1 thread:
# GELU forward 7.8 ms against 9.6 at 1 << 15 (NumPy's per-call cost) and 9.5 at 1 << 20 (cache)


def _rational32(x, out, coeffs, z, u, q):
    """out = c + z P(z²)/Q(z²), z = clip(x, ±lim), on one float32 block; z, u, q are scratch."""
    c, lim, p_coeffs, q_coeffs = coeffs
    np.clip(x, -lim, lim, out=z)
    np.multiply(z, z, out=u)
    np.multiply(u, p_coeffs[0], out=out)
    for a in p_coeffs[1:-1]:
        np.add(out, a, out=out)
        np.multiply(out, u, out=out)
    np.add(out, p_coeffs[-1], out=out)
    np.multiply(out, z, out=out)         # z P(u)
    np.add(u, q_coeffs[0], out=q)        # Q is monic: Horner starts with an add
    for b in q_coeffs[1:]:
        np.multiply(q, u, out=q)
        np.add(q, b, out=q)
    np.divide(out, q, out=out)
    if c:
        np.add(out, c, out=out)
    return out


def _blockwise32(x, coeffs, gelu=False, cdf=None):
    """The rational of ``coeffs`` over a float32 array, block by block, so that its ~25 NumPy
    passes run from cache instead of streaming the whole array through memory 25 times (GELU
    on 2M elements: 12.6 ms -> 7.8 ms, 1 thread). With ``gelu``, returns x·r(x) and writes r(x)
    into ``cdf`` (a flat array) when one is given."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    n = flat.size
    z, u, q = np.empty((3, min(n, _BLOCK)), np.float32)
    for i in range(0, n, _BLOCK):
        xb, ob = flat[i:i + _BLOCK], out[i:i + _BLOCK]
        m = xb.size
        rb = cdf[i:i + m] if cdf is not None else ob  # r(x) straight into cdf when it is kept
        _rational32(xb, rb, coeffs, z[:m], u[:m], q[:m])
        if gelu:
            np.multiply(rb, xb, out=ob)
    return out.reshape(x.shape)


def erf_array(x):
    """erf elementwise on an ndarray (float32 or float64); returns a new array."""
    if x.dtype == np.float32:
        return _blockwise32(x, _ERF32)
    if x.dtype == np.float64:
        return _erf64(x)
    return _erf64(x.astype(np.float64)).astype(x.dtype)


def _gelu32(x, save_cdf):
    """GELU x Φ(x) of a float32 array, and Φ(x) when save_cdf (else None)."""
    cdf = np.empty(x.size, np.float32) if save_cdf else None
    y = _blockwise32(x, _PHI32, gelu=True, cdf=cdf)
    return y, (cdf.reshape(x.shape) if save_cdf else None)


def _gelu32_grad(x, cdf, grad):
    """dL/dx = g (Φ(x) + x φ(x)) on float32 arrays, block by block: 7 passes from cache."""
    x = np.ascontiguousarray(x).reshape(-1)
    cdf = cdf.reshape(-1)
    g = np.ascontiguousarray(grad, dtype=np.float32).reshape(-1)
    out = np.empty_like(x)
    for i in range(0, x.size, _BLOCK):
        xb, d = x[i:i + _BLOCK], out[i:i + _BLOCK]
        np.multiply(xb, xb, out=d)
        np.multiply(d, np.float32(-0.5), out=d)
        np.exp(d, out=d)
        np.multiply(d, xb, out=d)
        np.multiply(d, np.float32(_INV_SQRT_2PI), out=d)   # x φ(x)
        np.add(d, cdf[i:i + _BLOCK], out=d)                 # Φ(x) + x φ(x)
        np.multiply(d, g[i:i + _BLOCK], out=d)
    return out


# Cephes ndtr.c coefficients (erf for |x| < 1; erfc = exp(-x²) P/Q for 1 <= |x| < 8, R/S beyond)
_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
      7.00332514112805075473e3, 5.55923013010394962768e4)
_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
      2.26290000613890934246e4, 4.92673942608635921086e4)
_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
      4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
      9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
      9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
      1.65666309194161350182e3, 5.57535340817727675546e2)
_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
      6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_S = (1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
      1.70814450747565897222e1, 9.60896809063285878018e0, 3.36907645100081516050e0)


def _erf64(x):
    with np.errstate(all="ignore"):
        # erfc(10) < 1e-44: clipping there keeps the polynomials finite at huge and infinite x
        ax = np.minimum(np.abs(x), 10.0)
        z = x * x
        small = x * _polyval(_T, z) / _polyval(_U, z)
        e = np.exp(-z)
        mid = e * _polyval(_P, ax) / _polyval(_Q, ax)
        big = e * _polyval(_R, ax) / _polyval(_S, ax)
        erfc = np.where(ax < 8.0, mid, big)
        large = np.sign(x) * (1.0 - erfc)
        return np.where(ax < 1.0, small, large)


# === dropout ===============================================================
def dropout(x, p=0.5, training=True):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p), so the expected
    value is unchanged (inverted dropout). The identity when ``training`` is False or p == 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = _random.get_generator().random(x.shape) >= p
    return mul(x, Tensor._make(keep.astype(x.data.dtype) * x.data.dtype.type(1.0 / (1.0 - p))))
