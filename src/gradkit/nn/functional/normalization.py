"""Normalization, functional form: batch_norm, layer_norm, group_norm, rms_norm, instance_norm.

All are one op, ``Normalize``, applied to a different grouping of the axes:

    x̂ = (x − μ) · r,   r = 1 / √(var + ε),   y = γ ⊙ x̂ + β

with μ and the (biased) var taken over the normalized axes (rms_norm: μ = 0, var = mean(x²)).

    batch_norm   x (N, C, *)        over N and *, per channel;  γ, β: (C,)
    layer_norm   x (*, D1..Dk)      over the last k dims;       γ, β: (D1..Dk)
    group_norm   x (N, C, *)        over C/G channels and *;    γ, β: (C,)
    rms_norm     x (*, D1..Dk)      like layer_norm, no centring, no β
    instance_norm x (N, C, *)       over *, per sample and channel;  γ, β: (C,)

Its backward is the closed form (ĝ = g ⊙ γ, means over the normalized axes)

    dx = r (ĝ − mean(ĝ) − x̂ · mean(ĝ x̂))          (rms_norm: without the mean(ĝ) term)
    dγ = Σ g x̂,   dβ = Σ g                        (over the axes γ is broadcast along)

written once with Tensor ops (differentiable: used under create_graph=True) and once on arrays,
in place (the usual case, 1.6-2.6x faster), with the same formula.

=== Normalize     the fused op
=== batch_norm    training (batch statistics, running-stat update) and eval (running statistics)
=== layer_norm group_norm rms_norm instance_norm
"""
import math

import numpy as np

from ... import _internal, ops
from ...autograd import grad_mode
from ...autograd.function import Function

_grad = grad_mode.state


# === Normalize =============================================================
def _sum(a, axes, b=None):
    """Σ a (or Σ a·b, without the product array) over ``axes``, keeping them as size 1.

    np.einsum, measured on float32: over (0, 2, 3) of (32, 64, 32, 32) 0.2 ms against 0.65 ms for
    a.sum(axes), and Σ a·b 1.8 ms against 3.8 ms for (a * b).sum(axes); as accurate (3e-7
    relative over 800k terms, like NumPy's pairwise sum)."""
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    out = "".join(c for i, c in enumerate(letters) if i not in axes)
    spec = f"{letters},{letters}->{out}" if b is not None else f"{letters}->{out}"
    r = np.einsum(spec, a, b) if b is not None else np.einsum(spec, a)
    return r.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))


class Normalize(Function):
    # y = γ x̂ + β,  x̂ = (x − μ) r,  r = (var + ε)^-½ over ``axes`` of x viewed as ``view``;
    # dx = r (ĝ − mean ĝ − x̂ mean(ĝ x̂)), ĝ = g γ;  dγ = Σ g x̂;  dβ = Σ g  (Σ over the axes γ
    # is broadcast along). rms_norm (center=False): μ = 0 and no mean ĝ term.
    def forward(ctx, x, *affine, view, axes, pshape, eps, center, has_weight, running=None):
        ctx.args = view, axes, pshape, eps, center, has_weight, x.shape
        ctx.param_shape = affine[0].shape if affine else None
        xv = x.reshape(view)
        n = math.prod(xv.shape[i] for i in axes)  # values per statistic
        mu = _sum(xv, axes) / n if center else None
        xc = xv - mu if center else xv
        var = _sum(xc, axes, xc) / n
        r = 1.0 / np.sqrt(var + eps)
        if center:
            xc *= r  # xc is our own array: it becomes x̂
            xhat = xc
        else:
            xhat = xv * r
        # training with an affine map: y goes to a new array and x̂ is kept, so the array
        # backward does not recompute it (two passes fewer); otherwise y is made in x̂'s memory
        keep = bool(affine) and ctx.needs_input_grad is not None
        y = np.empty_like(xhat) if keep else xhat
        if has_weight:
            np.multiply(xhat, affine[0].reshape(pshape), out=y)
        if len(affine) > has_weight:
            np.add(y if has_weight else xhat, affine[-1].reshape(pshape), out=y)
        ctx.save_for_backward(x, *affine[:has_weight], *((mu,) if center else ()), r,
                              *((xhat,) if keep else ()))
        ctx.kept_xhat = keep
        if running is not None:
            _update_running_stats(running, mu, var, n)
        return y.reshape(x.shape)

    def backward(ctx, grad):
        view, axes, pshape, eps, center, has_weight, shape = ctx.args
        saved = ctx.saved
        xhat = saved.pop() if ctx.kept_xhat else None
        x, weight = saved[0], (saved[1] if has_weight else None)
        mu, r = (saved[-2] if center else None), saved[-1]
        needs = ctx.needs_input_grad
        param_axes = tuple(i for i, s in enumerate(pshape) if s == 1)
        if not _grad.enabled:
            return _normalize_backward_arrays(ctx, grad, x, weight, mu, r, needs, param_axes,
                                              xhat)
        # create_graph: the same formula with Tensor ops, and μ, r as functions of x so that
        # second derivatives see them
        xv = ops.reshape(x, view)
        mu, r = _stats(xv, axes, eps, center)
        xhat = (xv - mu) * r if center else xv * r
        g = ops.reshape(grad, view)
        grads = []
        if needs[0]:
            gh = g * ops.reshape(weight, pshape) if has_weight else g
            dx = gh - xhat * ops.mean(gh * xhat, axes, keepdim=True)
            if center:
                dx = dx - ops.mean(gh, axes, keepdim=True)
            grads.append(ops.reshape(dx * r, shape))
        else:
            grads.append(None)
        if has_weight:
            grads.append(ops.reshape(ops.sum(g * xhat, param_axes), ctx.param_shape)
                         if needs[1] else None)
        if len(needs) > 1 + has_weight:
            grads.append(ops.reshape(ops.sum(g, param_axes), ctx.param_shape)
                         if needs[-1] else None)
        return tuple(grads)


def _normalize_backward_arrays(ctx, grad, x, weight, mu, r, needs, param_axes, xhat=None):
    """Normalize's backward formula on arrays, in place and with einsum reductions. Measured
    against the Tensor-op version (which allocates a full-size array per op), float32:
    LayerNorm(512) on (32, 128, 512) 16 ms vs 26 ms, BatchNorm2d on (32, 64, 32, 32) 9 ms vs
    24 ms. Used whenever no graph of the backward is needed (no create_graph)."""
    view, axes, pshape, _, center, has_weight, shape = ctx.args
    xv, g, r = x.array.reshape(view), grad.array.reshape(view), r.array
    n = math.prod(xv.shape[i] for i in axes)
    if xhat is not None:
        xhat = xhat.array
    else:
        xhat = xv - mu.array if center else xv * r
        if center:
            xhat *= r
    grads = []
    if needs[0]:
        gh = g * weight.array.reshape(pshape) if has_weight else g
        dx = xhat * (_sum(gh, axes, xhat) / n)
        np.subtract(gh, dx, out=dx)
        if center:
            dx -= _sum(gh, axes) / n
        dx *= r
        grads.append(_internal.wrap(dx.reshape(shape)))
    else:
        grads.append(None)
    if has_weight:
        grads.append(_internal.wrap(_sum(g, param_axes, xhat).reshape(ctx.param_shape))
                     if needs[1] else None)
    if len(needs) > 1 + has_weight:
        grads.append(_internal.wrap(_sum(g, param_axes).reshape(ctx.param_shape))
                     if needs[-1] else None)
    return tuple(grads)


def _stats(xv, axes, eps, center):
    """μ and r = 1/√(var + ε) with Tensor ops (the differentiable path of the backward)."""
    mu = ops.mean(xv, axes, keepdim=True) if center else None
    xc = xv - mu if center else xv
    return mu, ops.rsqrt(ops.mean(xc * xc, axes, keepdim=True) + eps)


def _update_running_stats(running, mu, var, n):
    """running ← (1 − m) running + m · batch value, with the unbiased variance (PyTorch's rule)."""
    running_mean, running_var, momentum = running
    for buf, value in ((running_mean, mu), (running_var, var * (n / (n - 1)))):
        if buf is None:
            continue
        b = buf.array
        b *= 1 - momentum
        b += (momentum * value.reshape(-1)).astype(b.dtype, copy=False)
        _internal.bump_version(buf)


def _normalize(x, weight, bias, view, axes, pshape, eps, center, running=None):
    affine = [t for t in (weight, bias) if t is not None]
    return Normalize.apply(x, *affine, view=view, axes=axes, pshape=pshape, eps=eps,
                           center=center, has_weight=weight is not None, running=running)


def _check_param(t, size, name, op):
    if t is not None and t.array.size != size:
        raise ValueError(f"{op}: {name} has {t.array.size} elements (shape {t.shape}); expected "
                         f"{size}")


# === batch_norm ============================================================
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel over the batch (and spatial) axes (Ioffe & Szegedy, 2015).

    x: (N, C) or (N, C, *) -> same shape. ``training=True``: batch statistics, and the running
    ones (if given) are updated in place, ``running ← (1 − momentum) running + momentum · batch``
    with the unbiased batch variance. ``training=False``: the running statistics are used.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C) or (N, C, *), got "
                         f"shape {input.shape}")
    C = input.shape[1]
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        if t is not None and t.array.size != C:
            raise ValueError(f"batch_norm: input has {C} channels (shape {input.shape}) but {name} "
                             f"has {t.array.size} elements; they must match (num_features={C})")
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: training=False needs running_mean and running_var")
        return _batch_norm_eval(input, running_mean, running_var, weight, bias, eps)
    if input.array.size == 0:  # an empty batch: nothing to normalize, running stats unchanged
        return input.clone()
    if input.array.size // C == 1:
        raise ValueError(
            f"batch_norm: Expected more than 1 value per channel when training, got input size "
            f"{input.shape}. A batch of one sample has no batch statistics: use batches of at "
            "least 2 (e.g. DataLoader(..., drop_last=True) so the last batch is never a single "
            "sample), or call model.eval() to use the running statistics.")
    pshape = (1, C) + (1,) * (input.ndim - 2)
    axes = (0,) + tuple(range(2, input.ndim))
    running = None
    if running_mean is not None or running_var is not None:
        running = (running_mean, running_var, momentum)
    return _normalize(input, weight, bias, input.shape, axes, pshape, eps, True, running)


class ChannelAffine(Function):
    # y = x s + t per channel (dim 1);  dx = g s,  ds = Σ g x,  dt = Σ g  (Σ over all dims but 1)
    def forward(ctx, x, s, t):
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        ctx.shape = shape
        ctx.save_for_backward(x, s)
        y = x * s.reshape(shape)
        y += t.reshape(shape)  # one full-size array instead of two for x * s + t
        return y

    def backward(ctx, grad):
        x, s = ctx.saved
        axes = (0,) + tuple(range(2, x.ndim))
        n_x, n_s, n_t = ctx.needs_input_grad
        return (grad * ops.reshape(s, ctx.shape) if n_x else None,
                ops.sum(grad * x, axes) if n_s else None,
                ops.sum(grad, axes) if n_t else None)


def _batch_norm_eval(x, running_mean, running_var, weight, bias, eps):
    # y = x · s + t,  s = γ / √(running_var + ε),  t = β − running_mean · s  (an affine map per channel)
    scale = ops.rsqrt(running_var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    return ChannelAffine.apply(x, scale, shift)


# === layer_norm, group_norm, rms_norm ======================================
def _normalized_shape(normalized_shape):
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(s) for s in normalized_shape)


def _check_trailing(x, shape, op):
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[-k:]) != shape:
        star = ", ".join(["*"] + [str(s) for s in shape])
        raise ValueError(f"{op}: given normalized_shape={list(shape)}, expected an input of shape "
                         f"[{star}], but got an input of shape {x.shape}")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last ``len(normalized_shape)`` dims (Ba et al., 2016).

    x: (*, D1..Dk) -> same shape; weight, bias: normalized_shape.
    """
    shape = _normalized_shape(normalized_shape)
    _check_trailing(input, shape, "layer_norm")
    D = math.prod(shape)
    _check_param(weight, D, "weight", "layer_norm")
    _check_param(bias, D, "bias", "layer_norm")
    return _normalize(input, weight, bias, (-1, D), (1,), (1, D), eps, True)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """y = x / √(mean(x²) + ε) · γ over the last dims (Zhang & Sennrich, 2019).

    x: (*, D1..Dk) -> same shape. ``eps=None`` uses the machine epsilon of x's dtype, as PyTorch.
    """
    shape = _normalized_shape(normalized_shape)
    _check_trailing(input, shape, "rms_norm")
    D = math.prod(shape)
    _check_param(weight, D, "weight", "rms_norm")
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    return _normalize(input, weight, None, (-1, D), (1,), (1, D), eps, False)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each group of C/G channels of each sample (Wu & He, 2018).

    x: (N, C, *) -> same shape; weight, bias: (C,).
    """
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected an input of shape (N, C, *), got {input.shape}")
    N, C = input.shape[:2]
    if num_groups <= 0 or C % num_groups:
        raise ValueError(f"group_norm: num_channels ({C}, from input shape {input.shape}) must be "
                         f"divisible by num_groups ({num_groups})")
    _check_param(weight, C, "weight", "group_norm")
    _check_param(bias, C, "bias", "group_norm")
    G = num_groups
    view = (N, G, C // G, -1)
    return _normalize(input, weight, bias, view, (2, 3), (1, G, C // G, 1), eps, True)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each channel of each sample over its spatial axes (Ulyanov et al., 2016).

    x: (N, C, *) -> same shape; weight, bias: (C,).
    """
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of shape (N, C, *), got {input.shape}")
    N, C = input.shape[:2]
    if not use_input_stats:
        return _batch_norm_eval(input, running_mean, running_var, weight, bias, eps)
    _check_param(weight, C, "weight", "instance_norm")
    _check_param(bias, C, "bias", "instance_norm")
    if input.array.size // (N * C) == 1:
        raise ValueError(f"instance_norm: Expected more than 1 spatial element when training, "
                         f"got input size {input.shape}")
    running = None
    if running_mean is not None:
        # the running statistics are the per-sample statistics averaged over the batch
        running = _InstanceRunning(running_mean, running_var, N)
    y = _normalize(input, weight, bias, (N, C, -1), (2,), (1, C, 1), eps, True,
                   None if running is None else (running.mean, running.var, momentum))
    if running is not None:
        running.finish()
    return y


class _InstanceRunning:
    """Scratch buffers of shape (N·C,) for the per-sample statistics; folded into the (C,)
    running buffers by ``finish`` (the mean over the batch)."""

    def __init__(self, running_mean, running_var, n):
        self.targets, self.n = (running_mean, running_var), n
        self.mean = _internal.wrap(np.tile(running_mean.array, n))
        self.var = _internal.wrap(np.tile(running_var.array, n))

    def finish(self):
        for target, scratch in zip(self.targets, (self.mean, self.var)):
            if target is not None:
                target.array[...] = scratch.array.reshape(self.n, -1).mean(0)
                _internal.bump_version(target)
