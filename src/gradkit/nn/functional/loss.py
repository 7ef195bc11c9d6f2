"""Losses, functional form. ``reduction`` is 'mean' (default), 'sum' or 'none'.

Regression:      mse_loss l1_loss huber_loss smooth_l1_loss
Classification:  cross_entropy nll_loss binary_cross_entropy binary_cross_entropy_with_logits
Distributions:   kl_div
Embeddings:      cosine_embedding_loss
Loss inputs:     clamp_probs probs_to_logits smooth_labels (probabilities as inputs, smoothed
                 targets: Keras' from_logits=False and label_smoothing)
"""
import numpy as np

from ... import _internal, ops
from ...autograd.function import Function
from ...ops import kernels
from ...ops.reduction import SoftmaxGrad
from ...ops.shape import sum_to_shape
from ...tensor import Tensor


def _reduce(loss, reduction, op):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(input, target, op):
    if input.shape != target.shape:
        raise ValueError(f"{op}: input shape {input.shape} and target shape {target.shape} differ; "
                         "they must match (reshape the target, e.g. y.view(-1, 1), or the output)")


def _as_tensor(t, like):
    return t if isinstance(t, Tensor) else Tensor(np.asarray(t, like.dtype))


# === regression =============================================================
def mse_loss(input, target, reduction="mean"):
    """mean((x - y)²)"""
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """mean(|x - y|)"""
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "l1_loss")
    return _reduce(ops.abs(input - target), reduction, "l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """½ d² where |d| < δ, else δ(|d| - ½δ);  d = x - y"""
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "huber_loss")
    d = input - target
    a = ops.abs(d)
    loss = ops.where(a.array < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    return _reduce(loss, reduction, "huber_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """½ d²/β where |d| < β, else |d| - ½β (Huber divided by β)"""
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "smooth_l1_loss")
    d = input - target
    a = ops.abs(d)
    if beta == 0:
        return _reduce(a, reduction, "smooth_l1_loss")
    loss = ops.where(a.array < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


# === classification =========================================================
def _class_targets(input, target, op, ignore_index):
    """Check integer class targets against the input's class dimension (dim 1, or 0 for 1-D)."""
    t = target.array if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: class-index targets must be integers, got {t.dtype}")
    C = input.shape[1] if input.ndim > 1 else input.shape[0]
    expected = (input.shape[0],) + input.shape[2:] if input.ndim > 1 else ()
    if t.shape != expected:
        if t.size == int(np.prod(expected)):      # e.g. a (N, 1) column of labels
            fix = f"reshape it: y.reshape({', '.join(map(str, expected)) or '()'})"
        elif input.ndim > 1 and t.ndim and t.shape[0] != input.shape[0]:
            fix = (f"the input holds {input.shape[0]} samples and the target {t.shape[0]}: "
                   "pass the targets of the same batch")
        else:
            fix = ("pass one integer class id per position, or class probabilities (floats) of "
                   "the input's shape")
        raise ValueError(f"{op}: expected target shape {expected} for input shape {input.shape}, "
                         f"got {t.shape}; {fix}")
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise IndexError(f"{op}: target {int(t[pos])} at position {pos} is out of range for "
                         f"{C} classes (valid labels: 0 to {C - 1})")
    return t, valid, C


def _class_weights(weight, C, dtype, op):
    """The per-class weights as an array of shape (C,), or None."""
    if weight is None:
        return None
    w = weight.array if isinstance(weight, Tensor) else np.asarray(weight, dtype)
    if w.shape != (C,):
        raise ValueError(f"{op}: weight must hold one value per class, shape ({C},) for {C} "
                         f"classes; got shape {w.shape}")
    return w


def _pick(logp, t, valid):
    """logp[n, t[n], ...]: the log-probability of each target class (ignored positions use class 0)."""
    idx = np.where(valid, t, 0)
    if logp.ndim == 1:
        return logp[int(idx)] if valid else logp[0] * 0
    return ops.gather(logp, 1, np.expand_dims(idx, 1)).squeeze(1)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[t] logp[t], from log-probabilities. 'mean' divides by the summed weights of the counted
    targets (PyTorch's rule), so weighted and ignored targets are averaged correctly."""
    t, valid, C = _class_targets(input, target, "nll_loss", ignore_index)
    picked = _pick(input, t, valid)
    w = _class_weights(weight, C, input.dtype, "nll_loss")
    w = np.ones(C, input.dtype) if w is None else w
    wt = np.where(valid, w[np.where(valid, t, 0)], 0).astype(input.dtype)
    loss = -picked * _internal.wrap(wt)
    if reduction == "mean":
        return loss.sum() / float(wt.sum())
    return _reduce(loss, reduction, "nll_loss")


class SoftmaxCrossEntropy(Function):
    # ℓ_n = -ln softmax(x_n)[t_n] = logsumexp(x_n) - x_n[t_n]  (ignored rows: 0)
    # dℓ/dx_n = w_n (softmax(x_n) - onehot(t_n)), w_n = row n's upstream gradient (/ count for
    # 'mean', 0 for an ignored row): SoftmaxCrossEntropyGrad. One node instead of log_softmax +
    # gather + mean.
    def forward(ctx, x, target, valid, reduction):
        loss, p = kernels.cross_entropy(x, target)
        count = int(valid.sum())
        if count != x.shape[0]:
            loss *= valid
        ctx.save_for_backward(x)
        ctx.p, ctx.target, ctx.valid, ctx.count, ctx.reduction = p, target, valid, count, reduction
        if reduction == "none":
            return loss
        total = loss.sum()
        if reduction == "sum":
            return total
        with np.errstate(all="ignore"):  # every target ignored: 0/0 = nan, as PyTorch
            return total / x.dtype.type(count)

    def backward(ctx, grad):
        (x,) = ctx.saved
        w = ops.unsqueeze(grad, 1) if ctx.reduction == "none" else grad
        if ctx.reduction == "mean":
            w = w / float(ctx.count) if ctx.count else w * float("nan")
        if ctx.count != x.shape[0]:
            w = w * _internal.wrap(ctx.valid[:, None].astype(x.dtype))
        p, ctx.p = ctx.p, None  # the forward's softmax: the first backward uses it up, in place
        return SoftmaxCrossEntropyGrad.apply(x, w, target=ctx.target, p=p)


class SoftmaxCrossEntropyGrad(Function):
    # D = w (softmax(x) - onehot(t)) row by row: SoftmaxCrossEntropy's backward; w: (N, 1) or ()
    # dL/dx = SoftmaxGrad(softmax(x), w G) (softmax's Jacobian, symmetric, row by row)
    # dL/dw = Σ_c G (softmax(x) - onehot(t)) (this op again, with w = 1), summed to w's shape
    def forward(ctx, x, w, target, p=None):
        ctx.target = target
        ctx.save_for_backward(x, w)
        if p is None:  # not kept from the forward (a retained graph's second backward)
            p = kernels.softmax(x, 1)
        p[np.arange(target.shape[0]), target] -= 1
        p *= w
        return p

    def backward(ctx, grad):
        x, w = ctx.saved
        needs = ctx.needs_input_grad
        dx = SoftmaxGrad.apply(ops.softmax(x, dim=1), grad * w, dim=1) if needs[0] else None
        dw = None
        if needs[1]:
            d = SoftmaxCrossEntropyGrad.apply(x, _internal.wrap(np.ones((), x.dtype)),
                                              target=ctx.target)
            dw = sum_to_shape(ops.sum(grad * d, 1, keepdim=True), w.shape)
        return dx, dw


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy from logits.

    input: (N, C) or (N, C, d1, ...) or (C,); target: class indices (N,) / (N, d1, ...) as
    integers, or class probabilities of the input's shape. ``label_smoothing`` ε mixes the
    target with the uniform distribution: (1 - ε) t + ε/C.
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    tdata = target.array if isinstance(target, Tensor) else np.asarray(target)
    if (input.ndim == 2 and tdata.dtype.kind in "iu" and weight is None and not label_smoothing
            and reduction in ("mean", "sum", "none") and input.dtype.kind == "f"):
        t, valid, _ = _class_targets(input, target, "cross_entropy", ignore_index)
        return SoftmaxCrossEntropy.apply(input, target=np.where(valid, t, 0), valid=valid,
                                         reduction=reduction)
    dim = 1 if input.ndim > 1 else 0
    logp = ops.log_softmax(input, dim=dim)
    C = input.shape[dim]
    w = _class_weights(weight, C, input.dtype, "cross_entropy")
    wshape = (1, C) + (1,) * (input.ndim - 2) if input.ndim > 1 else (C,)
    tdata = target.array if isinstance(target, Tensor) else np.asarray(target)
    if tdata.dtype.kind == "f":  # class probabilities
        if tdata.shape != input.shape:
            ids = (input.shape[0],) + input.shape[2:] if input.ndim > 1 else ()
            raise ValueError(f"cross_entropy: target of dtype {tdata.dtype} and shape {tdata.shape} "
                             f"must be either integer class ids of shape {ids} (convert it: "
                             "y.long()) or class probabilities of the input's shape "
                             f"{input.shape}")
        # a Tensor target stays in the graph: dℓ/dt = -log p, as PyTorch (e.g. a learned teacher)
        tp = target if isinstance(target, Tensor) else _internal.wrap(tdata)
        if tp.dtype != input.dtype:
            tp = tp.to(input.dtype)
        if label_smoothing:
            tp = smooth_labels(tp, label_smoothing, C)
        prod = logp * (tp if w is None else tp * _internal.wrap(w.reshape(wshape)))
        loss = -ops.sum(prod, dim)
        if reduction == "mean":
            return loss.sum() / float(max(loss.array.size, 1))
        return _reduce(loss, reduction, "cross_entropy")
    # checked here too, so that an error names cross_entropy rather than nll_loss
    t, valid, _ = _class_targets(input, target, "cross_entropy", ignore_index)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    smooth = -ops.sum(logp if w is None else logp * _internal.wrap(w.reshape(wshape)), dim)
    smooth = smooth * _internal.wrap(valid.astype(input.dtype))
    if reduction == "mean":
        denom = float(w[t[valid]].sum()) if w is not None else float(valid.sum())
        smooth = smooth.sum() / denom
    else:
        smooth = _reduce(smooth, reduction, "cross_entropy")
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / C)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(y ln p + (1 - y) ln(1 - p)) from probabilities; each log is clamped at -100 (as PyTorch),
    so p = 0 or 1 gives a large finite loss, not inf."""
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "binary_cross_entropy")
    if input.array.size and (input.array.min() < 0 or input.array.max() > 1):
        raise ValueError("binary_cross_entropy: input values must be probabilities in [0, 1]; "
                         "for raw scores (logits) use binary_cross_entropy_with_logits / "
                         "BCEWithLogitsLoss")
    t = target.array
    if t.size and (t.min() < 0 or t.max() > 1):
        raise ValueError(f"binary_cross_entropy: target values must be between 0 and 1, got values "
                         f"from {t.min()} to {t.max()}; targets are 0/1 labels or probabilities "
                         "(map -1/+1 labels with (y + 1) / 2; for class ids 0..C-1 use "
                         "cross_entropy)")
    logp = ops.clamp(ops.log(input), min=-100.0)
    log1mp = ops.clamp(ops.log(1 - input), min=-100.0)
    loss = -(target * logp + (1 - target) * log1mp)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable formula:
    (1 - y) x + (1 + (p_w - 1) y) (ln(1 + e^-|x|) + max(-x, 0)); exact at logits of ±1e4."""
    target = _as_tensor(target, input)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    softplus_neg = ops.log1p(ops.exp(-ops.abs(input))) + ops.relu(-input)  # ln(1 + e^-x)
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input + log_weight * softplus_neg
    else:
        loss = (1 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


# === distributions ==========================================================
def kl_div(input, target, reduction="mean", log_target=False):
    """KL(target ‖ q) pointwise, with ``input`` = ln q: t (ln t - input) (0 where t = 0), or
    e^t (t - input) with ``log_target``. 'batchmean' divides the sum by the batch size (the true
    KL divergence); 'mean' divides by the number of elements (PyTorch's default)."""
    target = _as_tensor(target, input)
    if log_target:
        loss = ops.exp(target) * (target - input)
    else:
        t = target.array
        safe_log = _internal.wrap(np.log(np.where(t > 0, t, 1)).astype(input.dtype))
        loss = target * (safe_log - input)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction, "kl_div")


# === embeddings =============================================================
def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """1 - cos(x1, x2) for y = 1;  max(0, cos(x1, x2) - margin) for y = -1."""
    eps = 1e-12
    cos = (input1 * input2).sum(-1) / ops.sqrt(((input1 * input1).sum(-1) + eps) *
                                               ((input2 * input2).sum(-1) + eps))
    y = target.array if isinstance(target, Tensor) else np.asarray(target)
    loss = ops.where(y == 1, 1 - cos, ops.relu(cos - margin))
    return _reduce(loss, reduction, "cosine_embedding_loss")


# === loss inputs: probabilities and smoothed targets ========================
def clamp_probs(probs, eps=1e-7):
    """Probabilities clamped into [eps, 1 - eps], so that ln p and ln(1 - p) stay finite (the
    clipping Keras applies to a loss's probabilities; torch.distributions.utils.clamp_probs)."""
    return ops.clamp(probs, eps, 1.0 - eps)


def probs_to_logits(probs, eps=1e-7):
    """ln(clamp_probs(p)): logits whose softmax is the clamped p renormalised to sum to 1, so a
    cross-entropy on logits computes it from probabilities (Keras' ``from_logits=False``).
    probs: (..., C), any float dtype."""
    return ops.log(clamp_probs(probs, eps))


def smooth_labels(target, label_smoothing, num_classes):
    """(1 - ε) t + ε / C: targets mixed with the uniform distribution over C classes (ε =
    ``label_smoothing``; C = 2 for a binary target, which moves 0/1 to ε/2 and 1 - ε/2)."""
    return target * (1.0 - label_smoothing) + label_smoothing / num_classes
