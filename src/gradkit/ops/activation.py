"""Activations, the f in y = f(Σ w x + b), and dropout: a table of derivatives.

Each forward is computed so that it cannot overflow (sigmoid from e^-|x|, softplus as
max(x, 0) + ln(1 + e^-|x|)); each backward is written with Tensor ops, so it is differentiable.
erf and GELU run kernels (kernels.py: erf without SciPy, GELU's float32 passes blocked); GELU's
backward is a kernel too, so it is an op of its own, GeluGrad, with its own derivative.

=== activations              sigmoid relu leaky_relu elu erf gelu silu softplus
=== dropout                  dropout
"""
import math

import numpy as np

from .. import random as _random
from ..autograd.function import Function
from ..tensor import Tensor
from . import kernels
from .elementwise import _float_unary, _quiet, exp, mul, piecewise_scale, where
from .kernels import BLOCK as _BLOCK  # noqa: F401  (tests/ops/test_elementwise.py reads it here)


# === activations ===========================================================
class Sigmoid(Function):
    # y = 1/(1 + e^-x);  dy/dx = y (1 - y)
    def forward(ctx, x):
        y = kernels.sigmoid(x)
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
        # NOTE: y != 0, not y > 0: a NaN passes its gradient through, as PyTorch's (x <= 0 ? 0 : g)
        return piecewise_scale(grad, y, (y.array != 0).astype(grad.array.dtype))


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
        pos = x.array > 0
        return where(pos, grad, grad * (y + ctx.alpha))


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class Erf(Function):
    # y = erf x;  dy/dx = 2/√π e^(-x²)
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return kernels.erf(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * exp(-(x * x)) * (2 / math.sqrt(math.pi))


class Gelu(Function):
    # y = x Φ(x), Φ(x) = (1 + erf(x/√2))/2;  dy/dx = Φ(x) + x φ(x), φ(x) = e^(-x²/2)/√(2π)
    def forward(ctx, x):
        ctx.save_for_backward(x)
        y, ctx.cdf = kernels.gelu(x, keep_cdf=ctx.needs_input_grad is not None)  # Φ for backward
        return y

    def backward(ctx, grad):
        (x,) = ctx.saved
        return GeluGrad.apply(x, grad, cdf=ctx.cdf)


class GeluGrad(Function):
    # y = g (Φ(x) + x φ(x)), GELU's backward (kernels.gelu_grad; Φ(x) given, from the forward)
    # dy/dg = Φ(x) + x φ(x) (GeluGrad again);  dy/dx = g φ(x) (2 - x²), as φ'(x) = -x φ(x)
    def forward(ctx, x, g, cdf):
        ctx.cdf = cdf
        ctx.save_for_backward(x, g)
        return kernels.gelu_grad(x, cdf, g)

    def backward(ctx, grad):
        x, g = ctx.saved
        needs = ctx.needs_input_grad
        dx = grad * g * exp(x * x * -0.5) * (2 - x * x) * _INV_SQRT_2PI if needs[0] else None
        return dx, (GeluGrad.apply(x, grad, cdf=ctx.cdf) if needs[1] else None)


class GeluTanh(Function):
    # y = x (1 + tanh u)/2 = x s,  u = √(2/π)(x + 0.044715 x³),  s = σ(2u)
    # dy/dx = s + 2 x s (1 - s) du/dx,  du/dx = √(2/π)(1 + 3·0.044715 x²)
    # (σ(2u) rather than (1 + tanh u)/2: in float32 tanh u rounds to -1 for x < -4 and the
    # cancellation in 1 + t and 1 - t² cost the gradient all its digits there)
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with _quiet():
            u = x * (1 + 0.044715 * (x * x)) * _SQRT_2_OVER_PI
            return x * kernels.sigmoid(2 * u)

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
        return x * kernels.sigmoid(x)

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
        return where(bx.array > ctx.threshold, grad, grad * sigmoid(bx))


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
    return mul(x, Tensor._make(keep.astype(x.array.dtype) * x.array.dtype.type(1.0 / (1.0 - p))))
