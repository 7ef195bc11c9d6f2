"""Elementwise ops: a table of derivatives.

Binary ops broadcast; their backward undoes the broadcast with ``sum_to_shape`` (in shape.py),
the one place that knows how. Every backward is written with Tensor ops, so it is itself
differentiable (second derivatives come for free with ``create_graph=True``). The activations
(sigmoid, relu, gelu, ...) and dropout are in activation.py.

=== operands and promotion   _operands
=== arithmetic               add sub mul div pow neg
=== exp / log                exp log log1p expm1 sqrt rsqrt
=== trigonometric            sin cos tanh
=== piecewise                abs sign clamp maximum minimum where nan_to_num
=== without gradient         comparisons, logic, floor ceil round, isnan isfinite
"""

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from .shape import sum_to_shape


def _const(value, like_dtype):
    """Wrap a non-Tensor operand: Python scalars take the tensor's dtype (no upcast)."""
    if (type(value) is float or type(value) is int) and like_dtype.kind == "f":
        return Tensor._make(np.array(value, like_dtype))  # x * 0.5, 1 - y: the common case first
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
        a = _const(a, b.array.dtype)
    elif not isinstance(b, Tensor):
        b = _const(b, a.array.dtype)
    if a.array.dtype != b.array.dtype:
        dt = backend.result_dtype(a.array, b.array)
        if a.array.dtype != dt:
            a = cast(a, dt)
        if b.array.dtype != dt:
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
    if x.array.dtype == dtype:
        return x
    if dtype.kind != "f" and x.requires_grad:
        return Tensor._make(x.array.astype(dtype))
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
            zero = (a.array == 0) & (b.array == 0)
            if zero.any():
                e = where(zero, 0.0, e)  # b · 0^0 = 0 · 1 gives the 0
            ga = sum_to_shape(grad * b * pow(a, e), a.shape)
        if nb:
            safe = where((a.array == 0) & (b.array >= 0), 1.0, a)  # ln 1 = 0 gives the 0
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
    if a.array.dtype.kind != "f":  # true division of integers gives floats, as in PyTorch
        a, b = cast(a, backend.get_default_dtype()), cast(b, backend.get_default_dtype())
    return Div.apply(a, b)


true_divide = divide = div


def pow(a, b):
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if a.array.dtype.kind != "f" and (isinstance(b, float) or b < 0):
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
        if x.array.dtype.kind != "f":
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


# === piecewise =============================================================
class PiecewiseScale(Function):
    # y = g · c(x), c piecewise constant (relu', |x|', clamp', leaky_relu');  dy/dg = c, dy/dx = 0
    # x is an input only so that a second derivative through these ops is 0, as in PyTorch,
    # rather than missing (the engine would say the first derivative does not depend on x).
    def forward(ctx, g, x, c):
        ctx.c, ctx.x_shape = c, x.shape
        return g * c

    def backward(ctx, grad):
        dg = grad * Tensor._make(ctx.c) if ctx.needs_input_grad[0] else None
        return dg, Tensor._make(np.zeros(ctx.x_shape, grad.array.dtype))


def piecewise_scale(grad, x, c):
    """``grad · c`` for a backward whose factor ``c`` (an array) is piecewise constant in ``x``."""
    if grad_mode.state.enabled:  # create_graph: keep the result connected to x
        return PiecewiseScale.apply(grad, x, c=c)
    return grad * Tensor._make(c)


class Abs(Function):
    # y = |x|;  dy/dx = sign(x)   (0 at x = 0)
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return piecewise_scale(grad, x, np.sign(x.array))


class Clamp(Function):
    # y = min(max(x, lo), hi);  dy/dx = 1 where lo <= x <= hi, else 0
    def forward(ctx, x, lo, hi):
        mask = np.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        ctx.mask = mask
        ctx.save_for_backward(x)
        return np.clip(x, lo, hi)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return piecewise_scale(grad, x, ctx.mask.astype(grad.array.dtype))


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
        zero = Tensor._make(np.zeros((), grad.array.dtype))
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
    if x.dtype.kind in "iub" and any(isinstance(b, float) for b in (min, max)):
        x = cast(x, backend.get_default_dtype())  # float bounds promote, as in PyTorch
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
    cond = condition.array if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(Tensor._make(i) for i in np.nonzero(cond))
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = Tensor(input)  # where(c, 1.0, 0.0): Python scalars make a float32 (int64) result
    a, b = _operands(input, other, "where")
    return Where.apply(a, b, cond=cond)


class NanToNum(Function):
    # y = x where finite, else the replacement;  dy/dx = 1 where x is finite, 0 elsewhere
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(x)
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return piecewise_scale(grad, x, np.isfinite(x.array).astype(grad.array.dtype))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +inf -> ``posinf``, -inf -> ``neginf`` (defaults: 0 and the dtype's
    largest and lowest finite values)."""
    if x.array.dtype.kind != "f":
        return x
    return NanToNum.apply(x, nan=nan, posinf=posinf, neginf=neginf)


# === without gradient ======================================================
def _nograd_binary(npfn):
    def op(a, b):
        a, b = _operands(a, b, npfn.__name__)
        return Tensor._make(npfn(a.array, b.array))
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
        return Tensor._make(npfn(x.array))
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
    a = a.array if isinstance(a, Tensor) else np.asarray(a)
    b = b.array if isinstance(b, Tensor) else np.asarray(b)
    return bool(np.allclose(a, b, rtol=rtol, atol=atol))


def equal_all(a, b):
    return a.shape == b.shape and bool(np.array_equal(a.array, b.array))
