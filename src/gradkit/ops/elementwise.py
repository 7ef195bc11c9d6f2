"""Elementwise ops: a table of derivatives.

Binary ops broadcast; their backward undoes the broadcast with ``sum_to_shape`` (in shape.py),
the one place that knows how. Every backward is written with Tensor ops, so it is itself
differentiable (second derivatives come for free with ``create_graph=True``).

=== operands and promotion   _operands
=== arithmetic               add sub mul div pow neg
=== exp / log                exp log log1p expm1 sqrt rsqrt
=== trigonometric            sin cos tanh
=== activations              sigmoid relu leaky_relu elu gelu silu softplus erf
=== piecewise                abs sign clamp maximum minimum where
=== without gradient         comparisons, logic, floor ceil round, isnan isfinite
"""
import math

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from .shape import sum_to_shape


def _const(value, like_dtype):
    """Wrap a non-Tensor operand: Python scalars take the tensor's dtype (no upcast)."""
    if isinstance(value, (int, float, bool, np.number, np.bool_)):
        return Tensor._make(backend.scalar_array(value, like_dtype))
    if isinstance(value, np.ndarray):
        return Tensor._make(value)
    return Tensor(value)


def _operands(a, b, op):
    """Both operands as Tensors of one dtype, by the promotion rule in backend.py."""
    # isinstance, not type(): a Tensor subclass (nn.Parameter) is an operand, not a constant
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"{op}: at least one operand must be a Tensor; got "
                            f"{type(a).__name__} and {type(b).__name__}")
        a = _const(a, b.data.dtype)
    elif not isinstance(b, Tensor):
        b = _const(b, a.data.dtype)
    if a.data.dtype != b.data.dtype:
        dt = backend.result_dtype(a.data, b.data)
        if a.data.dtype != dt:
            a = cast(a, dt)
        if b.data.dtype != dt:
            b = cast(b, dt)
    return a, b


def _quiet():
    # PyTorch computes 1/0 = inf, log(0) = -inf, exp(1000) = inf silently; so do we.
    return np.errstate(all="ignore")


# === cast ==================================================================
class Cast(Function):
    # y = x as another dtype;  dL/dx = dL/dy cast back
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(ctx, grad):
        return cast(grad, ctx.in_dtype)


def cast(x, dtype):
    dtype = backend.to_dtype(dtype)
    if x.data.dtype == dtype:
        return x
    if dtype.kind != "f" and x.requires_grad:
        return Tensor._make(x.data.astype(dtype))
    return Cast.apply(x, dtype=dtype)


# === arithmetic ============================================================
class Add(Function):
    # y = a + b;  dy/da = 1, dy/db = 1
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        return a + b

    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return sum_to_shape(grad, sa), sum_to_shape(grad, sb)


class Sub(Function):
    # y = a - b;  dy/da = 1, dy/db = -1
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        return a - b

    def backward(ctx, grad):
        sa, sb = ctx.shapes
        nb = ctx.needs_input_grad[1]
        return sum_to_shape(grad, sa), (sum_to_shape(-grad, sb) if nb else None)


class Mul(Function):
    # y = a * b;  dy/da = b, dy/db = a
    def forward(ctx, a, b):
        need = ctx.needs_input_grad
        if need is not None:  # keep only what backward reads: a constant factor pins nothing
            ctx.save_for_backward(a if need[1] else None, b if need[0] else None)
            ctx.shapes = a.shape, b.shape
        return a * b

    def backward(ctx, grad):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        sa, sb = ctx.shapes
        return (sum_to_shape(grad * b, sa) if na else None,
                sum_to_shape(grad * a, sb) if nb else None)


class Div(Function):
    # y = a / b;  dy/da = 1/b, dy/db = -a/b²
    def forward(ctx, a, b):
        need = ctx.needs_input_grad
        if need is not None:
            ctx.save_for_backward(a if need[1] else None, b)
            ctx.a_shape = a.shape
        with _quiet():
            return a / b

    def backward(ctx, grad):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        ga = sum_to_shape(grad / b, ctx.a_shape) if na else None
        gb = sum_to_shape(-grad * a / (b * b), b.shape) if nb else None
        return ga, gb


class PowScalar(Function):
    # y = x^p (p a constant);  dy/dx = p x^(p-1)
    def forward(ctx, x, p):
        ctx.save_for_backward(x)
        ctx.p = p
        with _quiet():
            return np.power(x, p)

    def backward(ctx, grad):
        (x,) = ctx.saved
        p = ctx.p
        if p == 0:
            return grad * 0
        if p == 2:
            return grad * (x * 2)
        return grad * (pow(x, p - 1) * p)


class Pow(Function):
    # y = a^b;  dy/da = b a^(b-1)   (0 where b = 0, as PyTorch, not 0 · 0^-1 = nan at a = 0)
    #           dy/db = a^b ln a    (0 where a = 0 and b >= 0, as PyTorch)
    def forward(ctx, a, b):
        with _quiet():
            y = np.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    def backward(ctx, grad):
        a, b, y = ctx.saved
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            e = b - 1
            zero = (a.data == 0) & (b.data == 0)
            if zero.any():
                e = where(zero, 0.0, e)  # b · 0^0 = 0 · 1 gives the 0
            ga = sum_to_shape(grad * b * pow(a, e), a.shape)
        if nb:
            safe = where((a.data == 0) & (b.data >= 0), 1.0, a)  # ln 1 = 0 gives the 0
            gb = sum_to_shape(grad * y * log(safe), b.shape)
        return ga, gb


class Neg(Function):
    # y = -x;  dy/dx = -1
    def forward(ctx, x):
        return -x

    def backward(ctx, grad):
        return -grad


def add(a, b):
    a, b = _operands(a, b, "add")
    return Add.apply(a, b)


def sub(a, b):
    a, b = _operands(a, b, "sub")
    return Sub.apply(a, b)


def mul(a, b):
    a, b = _operands(a, b, "mul")
    return Mul.apply(a, b)


def div(a, b):
    a, b = _operands(a, b, "div")
    if a.data.dtype.kind != "f":  # true division of integers gives floats, as in PyTorch
        a, b = cast(a, backend.get_default_dtype()), cast(b, backend.get_default_dtype())
    return Div.apply(a, b)


true_divide = divide = div


def pow(a, b):
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if a.data.dtype.kind != "f" and (isinstance(b, float) or b < 0):
            a = cast(a, backend.get_default_dtype())
        return PowScalar.apply(a, p=b)
    a, b = _operands(a, b, "pow")
    return Pow.apply(a, b)


def neg(x):
    return Neg.apply(x)


negative = neg


def square(x):
    return mul(x, x)


# === exp / log =============================================================
class Exp(Function):
    # y = e^x;  dy/dx = y
    def forward(ctx, x):
        with _quiet():
            y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad * y


class Log(Function):
    # y = ln x;  dy/dx = 1/x
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with _quiet():
            return np.log(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad / x


class Log1p(Function):
    # y = ln(1 + x);  dy/dx = 1/(1 + x)
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with _quiet():
            return np.log1p(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad / (x + 1)


class Expm1(Function):
    # y = e^x - 1;  dy/dx = y + 1
    def forward(ctx, x):
        with _quiet():
            y = np.expm1(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad * (y + 1)


class Sqrt(Function):
    # y = √x;  dy/dx = 1/(2y)   (inf at x = 0, as PyTorch; nan for x < 0)
    def forward(ctx, x):
        with _quiet():
            y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad / (y * 2)


class Rsqrt(Function):
    # y = 1/√x;  dy/dx = -y³/2
    def forward(ctx, x):
        with _quiet():
            y = 1 / np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad * (y * y * y) * -0.5


def _float_unary(cls):
    def op(x):
        if x.data.dtype.kind != "f":
            x = cast(x, backend.get_default_dtype())
        return cls.apply(x)
    op.__name__ = cls.__name__.lower()
    op.__doc__ = cls.__doc__
    return op


exp = _float_unary(Exp)
log = _float_unary(Log)
log1p = _float_unary(Log1p)
expm1 = _float_unary(Expm1)
sqrt = _float_unary(Sqrt)
rsqrt = _float_unary(Rsqrt)


# === trigonometric =========================================================
class Sin(Function):
    # y = sin x;  dy/dx = cos x
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * cos(x)


class Cos(Function):
    # y = cos x;  dy/dx = -sin x
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * -sin(x)


class Tanh(Function):
    # y = tanh x;  dy/dx = 1 - y²
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad * (1 - y * y)


sin = _float_unary(Sin)
cos = _float_unary(Cos)
tanh = _float_unary(Tanh)


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
        return grad * Tensor._make((y.data > 0).astype(grad.data.dtype))


class LeakyRelu(Function):
    # y = x if x > 0 else a x;  dy/dx = 1 or a
    def forward(ctx, x, negative_slope):
        ctx.slope = np.where(x > 0, 1, negative_slope).astype(x.dtype)
        return x * ctx.slope

    def backward(ctx, grad):
        return grad * Tensor._make(ctx.slope)


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
        return 0.5 * x * (1 + erf_array(x / x.dtype.type(_SQRT_2)))

    def backward(ctx, grad):
        (x,) = ctx.saved
        cdf = (erf(x * (1 / _SQRT_2)) + 1) * 0.5
        pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
        return grad * (cdf + x * pdf)


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


def elu(x, alpha=1.0):
    return Elu.apply(x, alpha=alpha)


def gelu(x, approximate="none"):
    """GELU: exact ``x Φ(x)`` (``approximate='none'``) or the tanh approximation ('tanh')."""
    if approximate == "none":
        return Gelu.apply(x)
    if approximate == "tanh":
        return GeluTanh.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(x, beta=1.0, threshold=20.0):
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


def erf_array(x):
    """erf elementwise on an ndarray (float32 or float64)."""
    if x.dtype != np.float64:
        xc = np.clip(x, -4.0, 4.0)
        x2 = xc * xc
        return (xc * _polyval(_ERF32_A, x2) / _polyval(_ERF32_B, x2)).astype(x.dtype, copy=False)
    return _erf64(x)


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


# === piecewise =============================================================
class Abs(Function):
    # y = |x|;  dy/dx = sign(x)   (0 at x = 0)
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * Tensor._make(np.sign(x.data))


class Clamp(Function):
    # y = min(max(x, lo), hi);  dy/dx = 1 where lo <= x <= hi, else 0
    def forward(ctx, x, lo, hi):
        mask = np.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        ctx.mask = mask
        return np.clip(x, lo, hi)

    def backward(ctx, grad):
        return where(ctx.mask, grad, 0.0)


class Maximum(Function):
    # y = max(a, b);  the gradient goes to the larger, split in half on ties (as PyTorch)
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        ctx.wa = ((a > b) + 0.5 * (a == b)).astype(a.dtype)
        return np.maximum(a, b)

    def backward(ctx, grad):
        wa = Tensor._make(ctx.wa)
        sa, sb = ctx.shapes
        return sum_to_shape(grad * wa, sa), sum_to_shape(grad * (1 - wa), sb)


class Minimum(Maximum):
    # y = min(a, b);  the gradient goes to the smaller, split in half on ties
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        ctx.wa = ((a < b) + 0.5 * (a == b)).astype(a.dtype)
        return np.minimum(a, b)


class Where(Function):
    # y = a where cond else b;  dy/da = cond, dy/db = not cond
    def forward(ctx, a, b, cond):
        ctx.cond = cond
        ctx.shapes = a.shape, b.shape
        return np.where(cond, a, b)

    def backward(ctx, grad):
        sa, sb = ctx.shapes
        na, nb = ctx.needs_input_grad
        zero = Tensor._make(np.zeros((), grad.data.dtype))
        ga = sum_to_shape(Where.apply(grad, zero, cond=ctx.cond), sa) if na else None
        gb = sum_to_shape(Where.apply(zero, grad, cond=ctx.cond), sb) if nb else None
        return ga, gb


def abs(x):
    return Abs.apply(x)


absolute = abs


def clamp(x, min=None, max=None):
    """Clip into [min, max] (either may be None). Gradient 1 inside, including the bounds."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        y = x if min is None else maximum(x, min)
        return y if max is None else minimum(y, max)
    return Clamp.apply(x, lo=min, hi=max)


clip = clamp


def maximum(a, b):
    a, b = _operands(a, b, "maximum")
    return Maximum.apply(a, b)


def minimum(a, b):
    a, b = _operands(a, b, "minimum")
    return Minimum.apply(a, b)


def where(condition, input=None, other=None):
    """``condition ? input : other``, broadcasting all three. With one argument, the indices
    where condition is true (as ``nonzero(as_tuple=True)``)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(Tensor._make(i) for i in np.nonzero(cond))
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = Tensor(input)  # where(c, 1.0, 0.0): Python scalars make a float32 (int64) result
    a, b = _operands(input, other, "where")
    return Where.apply(a, b, cond=cond)


# === without gradient ======================================================
def _nograd_binary(npfn):
    def op(a, b):
        a, b = _operands(a, b, npfn.__name__)
        return Tensor._make(npfn(a.data, b.data))
    op.__name__ = npfn.__name__
    return op


eq = _nograd_binary(np.equal)
ne = _nograd_binary(np.not_equal)
lt = _nograd_binary(np.less)
le = _nograd_binary(np.less_equal)
gt = _nograd_binary(np.greater)
ge = _nograd_binary(np.greater_equal)
logical_and = _nograd_binary(np.logical_and)
logical_or = _nograd_binary(np.logical_or)
logical_xor = _nograd_binary(np.logical_xor)
floor_divide = _nograd_binary(np.floor_divide)
remainder = _nograd_binary(np.remainder)
greater, less, greater_equal, less_equal, equal, not_equal = gt, lt, ge, le, eq, ne


def _nograd_unary(npfn):
    def op(x):
        return Tensor._make(npfn(x.data))
    op.__name__ = npfn.__name__
    return op


logical_not = _nograd_unary(np.logical_not)
floor = _nograd_unary(np.floor)
ceil = _nograd_unary(np.ceil)
round = _nograd_unary(np.round)
trunc = _nograd_unary(np.trunc)
sign = _nograd_unary(np.sign)
isnan = _nograd_unary(np.isnan)
isinf = _nograd_unary(np.isinf)
isfinite = _nograd_unary(np.isfinite)


def allclose(a, b, rtol=1e-05, atol=1e-08):
    a = a.data if isinstance(a, Tensor) else np.asarray(a)
    b = b.data if isinstance(b, Tensor) else np.asarray(b)
    return bool(np.allclose(a, b, rtol=rtol, atol=atol))


def equal_all(a, b):
    return a.shape == b.shape and bool(np.array_equal(a.data, b.data))


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
    from .. import random as _random
    keep = _random.get_generator().random(x.shape) >= p
    return mul(x, Tensor._make(keep.astype(x.data.dtype) * x.data.dtype.type(1.0 / (1.0 - p))))
