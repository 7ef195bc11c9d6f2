"""Convolution: conv1d, conv2d, conv_transpose1d, conv_transpose2d (NCHW, PyTorch's semantics).

A convolution is a matrix product once every receptive field is laid out as a column ("im2col"):

    cols = im2col(x)            (C·kh·kw, N·Ho·Wo)   a strided view of the padded input, copied once
    y    = W_mat @ cols         (O, N·Ho·Wo)         ONE GEMM (groups: one batched matmul)

Three linear maps, each the adjoint of another, make the whole family; every one is a Function
whose backward is written with the other two, so gradients of gradients work to any order:

    Convolution     y  = conv(x, w)        dL/dx = conv_transpose(g, w),  dL/dw = weight_grad(x, g)
    ConvTranspose   x' = conv_transpose(y, w)   (the adjoint of conv in x; "col2im" in the middle)
    ConvWeightGrad  dw = weight_grad(x, g) = Σ_n,pixels g ⊗ receptive field of x

Layout: the columns are channel-major, (C·kh·kw, N·Ho·Wo), so that the whole batch is one large
GEMM rather than N small ones (measured faster once the layers get deep and the images small);
the price is one transpose of the result back to NCHW, fused with the bias add.

The geometry travels as four plain values: ``stride=(sh, sw)``, ``pad=(top, bottom, left,
right)`` (asymmetric for padding='same' with an even kernel), ``dilation=(dh, dw)``, ``groups``.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from ... import _internal
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops.reduction import sum as _sum
from ...ops.indexing import pad
from ...ops.shape import permute, reshape, squeeze, unsqueeze

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


# === the three arrays-in, arrays-out kernels ================================
def _im2col(x, ksize, stride, pad, dilation, out_hw):
    """x: (N, C, H, W) -> cols: (C·kh·kw, N·Ho·Wo); column (n, i, j) is the receptive field of
    output pixel (i, j) of sample n. Channel-major, so the GEMM writes (O, N·Ho·Wo) directly."""
    N, C, H, W = x.shape
    pt, pb, pl, pr = pad
    if pt or pb or pl or pr:
        xp = np.zeros((N, C, H + pt + pb, W + pl + pr), x.dtype)
        xp[:, :, pt:pt + H, pl:pl + W] = x
    else:
        xp = x
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = ksize, stride, dilation, out_hw
    sN, sC, sH, sW = xp.strides
    win = as_strided(xp, (C, kh, kw, N, Ho, Wo), (sC, sH * dh, sW * dw, sN, sH * sh, sW * sw),
                     writeable=False)
    return win.reshape(C * kh * kw, N * Ho * Wo)  # the one copy of im2col


def _col2im(cols, x_shape, ksize, stride, pad, dilation, out_hw):
    """The adjoint of _im2col: cols (C·kh·kw, N·Ho·Wo) -> (N, C, H, W), summing every column
    entry back onto the input pixel it was read from (one strided add per kernel offset)."""
    N, C, H, W = x_shape
    pt, pb, pl, pr = pad
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = ksize, stride, dilation, out_hw
    cols = cols.reshape(C, kh, kw, N, Ho, Wo)
    gxp = np.zeros((C, N, H + pt + pb, W + pl + pr), cols.dtype)  # channel-major, as cols
    for i in range(kh):
        for j in range(kw):
            gxp[:, :, i * dh:i * dh + sh * (Ho - 1) + 1:sh,
                j * dw:j * dw + sw * (Wo - 1) + 1:sw] += cols[:, i, j]
    return np.ascontiguousarray(gxp[:, :, pt:pt + H, pl:pl + W].transpose(1, 0, 2, 3))


def _channel_major(g, groups):
    """(N, O, Ho, Wo) -> (groups, O/groups, N·Ho·Wo), contiguous: the GEMM's layout."""
    O = g.shape[1]
    return np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(groups, O // groups, -1)


def _conv(x, w, b, stride, pad, dilation, groups, out_hw, keep=None):
    N = x.shape[0]
    O, Cg, kh, kw = w.shape
    cols = _im2col(x, (kh, kw), stride, pad, dilation, out_hw)
    if keep is not None:
        keep.cols = cols  # the backward's weight gradient reuses the columns
    y = np.matmul(w.reshape(groups, O // groups, Cg * kh * kw),
                  cols.reshape(groups, Cg * kh * kw, -1))        # (groups, O/groups, N·Ho·Wo)
    y = y.reshape(O, N, *out_hw).transpose(1, 0, 2, 3)
    out = np.empty(y.shape, y.dtype)
    if b is None:
        np.copyto(out, y)
    else:
        np.add(y, b.reshape(O, 1, 1), out=out)  # NCHW copy and bias in one pass
    return out


def _conv_transpose(g, w, b, stride, pad, dilation, groups, in_hw, g_cm=None):
    N, O = g.shape[:2]
    _, Cg, kh, kw = w.shape
    wg = w.reshape(groups, O // groups, Cg * kh * kw)
    if g_cm is None:
        g_cm = _channel_major(g, groups)
    cols = np.matmul(wg.transpose(0, 2, 1), g_cm)  # (groups, Cg·kh·kw, N·L)
    x = _col2im(cols, (N, Cg * groups) + tuple(in_hw), (kh, kw), stride, pad, dilation,
                g.shape[2:])
    if b is not None:
        x += b.reshape(-1, 1, 1)
    return x


def _conv_weight_grad(x, g, stride, pad, dilation, groups, ksize):
    O = g.shape[1]
    C = x.shape[1]
    kh, kw = ksize
    cols = _im2col(x, ksize, stride, pad, dilation, g.shape[2:])
    cols = cols.reshape(groups, (C // groups) * kh * kw, -1)
    gw = np.matmul(_channel_major(g, groups), cols.transpose(0, 2, 1))  # (groups, O/g, Cg·kh·kw)
    return gw.reshape(O, C // groups, kh, kw)


# === the Functions ==========================================================
class Convolution(Function):
    # y[n,o] = Σ_c,i,j w[o,c,i,j] x_pad[n,c, s·p + d·i, s·q + d·j] + b[o]
    # dL/dx = conv_transpose(G, w);  dL/dw = Σ_n,p,q G ⊗ receptive field;  dL/db = Σ_n,p,q G
    def forward(ctx, x, w, b=None, *, stride, pad, dilation, groups, out_hw):
        ctx.geom = dict(stride=stride, pad=pad, dilation=dilation, groups=groups)
        ctx.save_for_backward(x, w)
        recording = ctx.needs_input_grad is not None
        ctx.cols = None
        return _conv(x, w, b, stride, pad, dilation, groups, out_hw, ctx if recording else None)

    def backward(ctx, grad):
        x, w = ctx.saved
        needs = ctx.needs_input_grad
        if ctx.cols is not None and not grad_mode.state.enabled:
            return ctx._backward_arrays(x.array, w.array, grad.array, needs)
        gx = ConvTranspose.apply(grad, w, **ctx.geom, in_hw=x.shape[2:]) if needs[0] else None
        gw = ConvWeightGrad.apply(x, grad, **ctx.geom, ksize=w.shape[2:]) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (_sum(grad, (0, 2, 3)) if needs[2] else None)


    def _backward_arrays(ctx, x, w, g, needs):
        """First-order backward on arrays: the forward's im2col columns give the weight gradient
        without a second im2col, and one channel-major copy of the gradient serves dx and dw.
        (With create_graph the Function path above is used: it is differentiable.)"""
        geom, groups = ctx.geom, ctx.geom["groups"]
        cols, ctx.cols = ctx.cols, None  # a retained second backward takes the Function path
        g_cm = _channel_major(g, groups)
        gx = gw = gb = None
        if needs[0]:
            gx = _internal.wrap(_conv_transpose(g, w, None, geom["stride"], geom["pad"],
                                                geom["dilation"], groups, x.shape[2:], g_cm))
        if needs[1]:
            O, Cg, kh, kw = w.shape
            gw = np.matmul(g_cm, cols.reshape(groups, Cg * kh * kw, -1).transpose(0, 2, 1))
            gw = _internal.wrap(gw.reshape(w.shape))
        if len(needs) == 2:
            return gx, gw
        if needs[2]:
            gb = _internal.wrap(g.sum(axis=(0, 2, 3)))
        return gx, gw, gb


class ConvTranspose(Function):
    # x' = convᵀ(y, w) + b: each y pixel scatters w·y into its receptive field (col2im)
    # dL/dy = conv(G, w);  dL/dw = weight_grad(G, y);  dL/db = Σ_n,h,w G
    def forward(ctx, y, w, b=None, *, stride, pad, dilation, groups, in_hw):
        ctx.geom = dict(stride=stride, pad=pad, dilation=dilation, groups=groups)
        ctx.save_for_backward(y, w)
        return _conv_transpose(y, w, b, stride, pad, dilation, groups, in_hw)

    def backward(ctx, grad):
        y, w = ctx.saved
        needs = ctx.needs_input_grad
        gy = Convolution.apply(grad, w, **ctx.geom, out_hw=y.shape[2:]) if needs[0] else None
        gw = ConvWeightGrad.apply(grad, y, **ctx.geom, ksize=w.shape[2:]) if needs[1] else None
        if len(needs) == 2:
            return gy, gw
        return gy, gw, (_sum(grad, (0, 2, 3)) if needs[2] else None)


class ConvWeightGrad(Function):
    # dw = Σ_n,p,q g[n,o,p,q] ⊗ x_pad[n,c, s·p + d·i, s·q + d·j]   (bilinear in x and g)
    # d<G, dw>/dx = conv_transpose(g, G);  d<G, dw>/dg = conv(x, G)
    def forward(ctx, x, g, *, stride, pad, dilation, groups, ksize):
        ctx.geom = dict(stride=stride, pad=pad, dilation=dilation, groups=groups)
        ctx.save_for_backward(x, g)
        return _conv_weight_grad(x, g, stride, pad, dilation, groups, ksize)

    def backward(ctx, grad):
        x, g = ctx.saved
        nx, ng = ctx.needs_input_grad
        gx = ConvTranspose.apply(g, grad, **ctx.geom, in_hw=x.shape[2:]) if nx else None
        gg = Convolution.apply(x, grad, **ctx.geom, out_hw=g.shape[2:]) if ng else None
        return gx, gg


# === argument handling ======================================================
def _tuple(v, n, name, op):
    if isinstance(v, (list, tuple)):
        if len(v) != n:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(a) for a in v)
    return (int(v),) * n


def _check_positive(v, name, op, minimum=1):
    if any(a < minimum for a in v):
        raise ValueError(f"{op}: {name} must be {'positive' if minimum else 'non-negative'}, "
                         f"got {v}")


def _conv_pad(padding, ksize, dilation, stride, op):
    """padding (int, pair, 'valid' or 'same') -> (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same'; got "
                             f"{padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                             f"(stride={stride}); use stride 1 or an explicit padding")
        pads = []
        for k, d in zip(ksize, dilation):
            total = d * (k - 1)  # odd totals put the extra row/column at the bottom/right
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    ph, pw = _tuple(padding, 2, "padding", op)
    _check_positive((ph, pw), "padding", op, minimum=0)
    return (ph, ph, pw, pw)


def _check_operands(x, w, op):
    if w.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D weight, got shape {w.shape}")
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or a 3-D unbatched one "
                         f"(C, H, W); got shape {x.shape}")
    if x.dtype != w.dtype:
        raise TypeError(f"{op}: input dtype {x.dtype} does not match the weight's {w.dtype}; "
                        f"convert the input (x.to({w.dtype})) or the model")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in every framework).

    input: (N, C_in, H, W) or (C_in, H, W); weight: (C_out, C_in/groups, kh, kw); bias: (C_out,)
    -> (N, C_out, H_out, W_out), H_out = ⌊(H + pad_top + pad_bottom - dilation·(kh-1) - 1) /
    stride⌋ + 1. padding: int, (ph, pw), 'valid' (= 0) or 'same' (stride 1 only; an odd total
    puts the extra row/column at the bottom/right, as PyTorch).
    """
    op = "conv2d"
    if input.ndim == 3:
        return squeeze(conv2d(unsqueeze(input, 0), weight, bias, stride, padding, dilation,
                              groups), 0)
    _check_operands(input, weight, op)
    groups = int(groups)
    stride = _tuple(stride, 2, "stride", op)
    dilation = _tuple(dilation, 2, "dilation", op)
    _check_positive(stride, "stride", op)
    _check_positive(dilation, "dilation", op)
    if groups < 1:
        raise ValueError(f"{op}: groups must be positive, got {groups}")
    _, C, H, W = input.shape
    O, Cg, kh, kw = weight.shape
    if C != Cg * groups:
        raise ValueError(f"{op}: the input has {C} channels (shape {input.shape}) but the weight "
                         f"{weight.shape} with groups={groups} expects {Cg * groups} "
                         f"(weight.shape[1] · groups)")
    if O % groups:
        raise ValueError(f"{op}: out channels ({O}) must be divisible by groups ({groups})")
    if bias is not None and tuple(bias.shape) != (O,):
        raise ValueError(f"{op}: expected a bias of shape ({O},), got {bias.shape}")
    pad = _conv_pad(padding, (kh, kw), dilation, stride, op)
    Hp, Wp = H + pad[0] + pad[1], W + pad[2] + pad[3]
    ekh, ekw = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if ekh > Hp or ekw > Wp:
        raise ValueError(f"{op}: the kernel ({kh}x{kw}, {ekh}x{ekw} with dilation {dilation}) is "
                         f"larger than the padded input ({Hp}x{Wp}: input {H}x{W} plus padding "
                         f"{pad}); use a smaller kernel, more padding or a larger input")
    out_hw = ((Hp - ekh) // stride[0] + 1, (Wp - ekw) // stride[1] + 1)
    geom = dict(stride=stride, pad=pad, dilation=dilation, groups=groups, out_hw=out_hw)
    if bias is None:
        return Convolution.apply(input, weight, **geom)
    return Convolution.apply(input, weight, bias, **geom)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution: input (N, C_in, L) or (C_in, L), weight (C_out, C_in/groups, k) ->
    (N, C_out, L_out). Runs as conv2d over a height of 1."""
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise ValueError(f"conv1d: expected a 3-D input (N, C, L) or a 2-D unbatched one (C, L) "
                         f"and a 3-D weight (C_out, C_in/groups, k); got input {input.shape}, "
                         f"weight {weight.shape}")
    if input.ndim == 2:
        return squeeze(conv1d(unsqueeze(input, 0), weight, bias, stride, padding, dilation,
                              groups), 0)
    pad = padding if isinstance(padding, str) else (0, _tuple(padding, 1, "padding", "conv1d")[0])
    y = conv2d(unsqueeze(input, 2), unsqueeze(weight, 2), bias,
               (1, _tuple(stride, 1, "stride", "conv1d")[0]), pad,
               (1, _tuple(dilation, 1, "dilation", "conv1d")[0]), groups)
    return squeeze(y, 2)


def _transpose_out_hw(in_hw, ksize, stride, pad, output_padding, dilation, op):
    out = []
    for n, k, s, p, op_, d in zip(in_hw, ksize, stride, pad, output_padding, dilation):
        if op_ >= s and op_ >= d:
            raise ValueError(f"{op}: output_padding ({output_padding}) must be smaller than "
                             f"either stride ({stride}) or dilation ({dilation})")
        out.append((n - 1) * s - 2 * p + d * (k - 1) + op_ + 1)
    if min(out) < 1:
        raise ValueError(f"{op}: the output would be empty ({out[0]}x{out[1]}) for an input of "
                         f"{in_hw[0]}x{in_hw[1]} with kernel {tuple(ksize)}, stride {stride}, "
                         f"padding {pad}; reduce the padding")
    return tuple(out)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed convolution (the gradient of conv2d w.r.t. its input; "deconvolution").

    input: (N, C_in, H, W) or (C_in, H, W); weight: (C_in, C_out/groups, kh, kw) ->
    (N, C_out, H_out, W_out), H_out = (H-1)·stride - 2·padding + dilation·(kh-1) +
    output_padding + 1. output_padding adds rows/columns at the bottom/right.
    """
    op = "conv_transpose2d"
    if input.ndim == 3:
        return squeeze(conv_transpose2d(unsqueeze(input, 0), weight, bias, stride, padding,
                                        output_padding, groups, dilation), 0)
    _check_operands(input, weight, op)
    groups = int(groups)
    stride = _tuple(stride, 2, "stride", op)
    dilation = _tuple(dilation, 2, "dilation", op)
    padding = _tuple(padding, 2, "padding", op)
    output_padding = _tuple(output_padding, 2, "output_padding", op)
    _check_positive(stride, "stride", op)
    _check_positive(dilation, "dilation", op)
    _check_positive(padding, "padding", op, minimum=0)
    _check_positive(output_padding, "output_padding", op, minimum=0)
    _, C, H, W = input.shape
    Ci, Cog, kh, kw = weight.shape
    if C != Ci:
        raise ValueError(f"{op}: the input has {C} channels (shape {input.shape}) but the weight "
                         f"{weight.shape} expects {Ci} (weight.shape[0])")
    if groups < 1 or C % groups:
        raise ValueError(f"{op}: in channels ({C}) must be divisible by groups ({groups})")
    if bias is not None and tuple(bias.shape) != (Cog * groups,):
        raise ValueError(f"{op}: expected a bias of shape ({Cog * groups},), got {bias.shape}")
    out_hw = _transpose_out_hw((H, W), (kh, kw), stride, padding, output_padding, dilation, op)
    pad = (padding[0], padding[0], padding[1], padding[1])
    geom = dict(stride=stride, pad=pad, dilation=dilation, groups=groups, in_hw=out_hw)
    if bias is None:
        return ConvTranspose.apply(input, weight, **geom)
    return ConvTranspose.apply(input, weight, bias, **geom)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """input (N, C_in, L) or (C_in, L), weight (C_in, C_out/groups, k) -> (N, C_out, L_out)."""
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise ValueError(f"conv_transpose1d: expected a 3-D input (N, C, L) or a 2-D unbatched "
                         f"one (C, L) and a 3-D weight (C_in, C_out/groups, k); got input "
                         f"{input.shape}, weight {weight.shape}")
    if input.ndim == 2:
        return squeeze(conv_transpose1d(unsqueeze(input, 0), weight, bias, stride, padding,
                                        output_padding, groups, dilation), 0)
    one = lambda v, name: (1 if name in ("stride", "dilation") else 0,
                           _tuple(v, 1, name, "conv_transpose1d")[0])
    y = conv_transpose2d(unsqueeze(input, 2), unsqueeze(weight, 2), bias, one(stride, "stride"),
                         one(padding, "padding"), one(output_padding, "output_padding"), groups,
                         one(dilation, "dilation"))
    return squeeze(y, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution: input (N, C_in, D, H, W) or (C_in, D, H, W), weight (C_out, C_in/groups,
    kd, kh, kw) -> (N, C_out, D_out, H_out, W_out), sizes as conv2d's per dim.

    Runs as one conv2d per kernel depth kd over the depth slices it meets (folded into the batch),
    summed: y[:, :, d] = Σ_kd conv2d(x[:, :, d·stride + kd·dilation], w[:, :, kd]).
    """
    op = "conv3d"
    if input.ndim == 4:
        return squeeze(conv3d(unsqueeze(input, 0), weight, bias, stride, padding, dilation,
                              groups), 0)
    if input.ndim != 5 or weight.ndim != 5:
        raise ValueError(f"{op}: expected a 5-D input (N, C, D, H, W) or a 4-D unbatched one and "
                         f"a 5-D weight; got input {input.shape}, weight {weight.shape}")
    if input.dtype != weight.dtype:
        raise TypeError(f"{op}: input dtype {input.dtype} does not match the weight's "
                        f"{weight.dtype}; convert the input (x.to({weight.dtype})) or the model")
    stride = _tuple(stride, 3, "stride", op)
    dilation = _tuple(dilation, 3, "dilation", op)
    _check_positive(stride, "stride", op)
    _check_positive(dilation, "dilation", op)
    ks = weight.shape[2:]
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"{op}: padding must be an int, a triple, 'valid' or 'same', got "
                             f"{padding!r}")
        if padding == "same" and stride != (1, 1, 1):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
        totals = [dilation[i] * (ks[i] - 1) if padding == "same" else 0 for i in range(3)]
        widths = [(t // 2, t - t // 2) for t in totals]
    else:
        widths = [(p, p) for p in _tuple(padding, 3, "padding", op)]
    if any(w != (0, 0) for w in widths):
        input = pad(input, [v for lo_hi in reversed(widths) for v in lo_hi])
    n, c, dp = input.shape[:3]
    ekd = dilation[0] * (ks[0] - 1) + 1
    if ekd > dp:
        raise ValueError(f"{op}: the kernel depth ({ks[0]}, {ekd} with dilation) is larger than "
                         f"the padded input depth ({dp})")
    d_out = (dp - ekd) // stride[0] + 1
    y = None
    for kd in range(ks[0]):
        start = kd * dilation[0]
        sl = input[:, :, start:start + stride[0] * (d_out - 1) + 1:stride[0]]   # (N, C, D_out, H, W)
        sl = reshape(permute(sl, 0, 2, 1, 3, 4), (n * d_out, c) + sl.shape[3:])
        term = conv2d(sl, weight[:, :, kd], None, stride[1:], 0, dilation[1:], groups)
        y = term if y is None else y + term
    y = permute(reshape(y, (n, d_out) + y.shape[1:]), 0, 2, 1, 3, 4)
    if bias is not None:
        y = y + reshape(bias, (1, -1, 1, 1, 1))
    return y
