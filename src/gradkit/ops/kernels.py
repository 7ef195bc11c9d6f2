"""Kernels: the measured fast NumPy code behind a few hot ops, on ndarrays only.

An op (ops/, nn/functional/) keeps its formula and its derivative side by side; where one of
them is hot, it calls the kernel here that computes it. No Tensors, no graph, no grad mode: each
function takes and returns arrays, and its docstring names the ops that call it.

=== erf          erf (float32: a rational approximation, evaluated block by block; float64: Cody)
=== gelu         gelu gelu_grad
=== softmax      softmax softmax_grad log_softmax logsumexp cross_entropy
=== attention    masked_exp causal_bias attention (the inference path: no weights kept)
"""
import functools
import math

import numpy as np

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# === sigmoid ====================================================================================
def sigmoid(x):
    """1 / (1 + e^-x), elementwise, to the last bit at both ends: 1/(1+e^-x) for x >= 0 and
    e^x/(1+e^x) for x < 0, so e^-|x| never overflows and tiny values (float32 sigmoid(-100) =
    3.7e-44, a subnormal) survive. Used by ops.sigmoid, silu and the tanh-GELU."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_(x, out=None):
    """1 / (1 + e^-x) in place (into ``out``, which may be ``x``), with no temporary: the
    recurrent cells' gates, where it is a measured share of the step. e^-x = inf gives 0, so
    values below float32's normal range flush to 0 (sigmoid above keeps them)."""
    with np.errstate(over="ignore"):
        out = np.negative(x, out=out)
        np.exp(out, out=out)
        out += 1
        return np.reciprocal(out, out=out)


# === erf ===================================================================
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
BLOCK = 1 << 18  # float32 elements per block (1 MiB): measured best on (16, 128, 1024), 1 thread:
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
    z, u, q = np.empty((3, min(n, BLOCK)), np.float32)
    for i in range(0, n, BLOCK):
        xb, ob = flat[i:i + BLOCK], out[i:i + BLOCK]
        m = xb.size
        rb = cdf[i:i + m] if cdf is not None else ob  # r(x) straight into cdf when it is kept
        _rational32(xb, rb, coeffs, z[:m], u[:m], q[:m])
        if gelu:
            np.multiply(rb, xb, out=ob)
    return out.reshape(x.shape)


def erf(x):
    """erf elementwise, a new array of x's dtype: float32 by the rational above (~1 ulp),
    float64 by Cody's (full precision), other floats through float64.
    Used by: ops.erf (Erf.forward), gelu below (dtypes other than float32)."""
    if x.dtype == np.float32:
        return _blockwise32(x, _ERF32)
    if x.dtype == np.float64:
        return _erf64(x)
    return _erf64(x.astype(np.float64)).astype(x.dtype)


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


# === gelu ==================================================================
def gelu(x, keep_cdf=False):
    """y = x Φ(x), Φ(x) = (1 + erf(x/√2))/2; returns (y, Φ(x) if keep_cdf else None), for
    gelu_grad. float32: Φ is one rational in x², computed with the product in one blocked pass.
    Used by: ops.gelu (Gelu.forward)."""
    if x.dtype == np.float32:  # hot in transformers
        cdf = np.empty(x.shape, np.float32) if keep_cdf else None
        y = _blockwise32(x, _PHI32, gelu=True, cdf=None if cdf is None else cdf.reshape(-1))
        return y, cdf
    cdf = erf(x * x.dtype.type(1 / _SQRT_2))   # a fresh array: finish Φ in place
    cdf += 1
    cdf *= 0.5
    return x * cdf, (cdf if keep_cdf else None)


def gelu_grad(x, cdf, g):
    """dL/dx = g (Φ(x) + x φ(x)), φ(x) = e^(-x²/2)/√(2π), with Φ(x) from gelu(); a new array of
    x's dtype and shape, computed block by block (7 passes from cache).
    Used by: ops.gelu (GeluGrad.forward: Gelu's backward, and GeluGrad's own for dL/dg)."""
    t, shape = x.dtype.type, x.shape
    x = np.ascontiguousarray(x).reshape(-1)
    cdf = np.ascontiguousarray(cdf).reshape(-1)
    g = np.ascontiguousarray(g, dtype=x.dtype).reshape(-1)
    out = np.empty_like(x)
    for i in range(0, x.size, BLOCK):
        xb, d = x[i:i + BLOCK], out[i:i + BLOCK]
        np.multiply(xb, xb, out=d)
        np.multiply(d, t(-0.5), out=d)
        np.exp(d, out=d)
        np.multiply(d, xb, out=d)
        np.multiply(d, t(_INV_SQRT_2PI), out=d)    # x φ(x)
        np.add(d, cdf[i:i + BLOCK], out=d)          # Φ(x) + x φ(x)
        np.multiply(d, g[i:i + BLOCK], out=d)
    return out.reshape(shape)


# === softmax ===============================================================
# The stable softmax: e^(x - m) / Σ e^(x - m) with m the row's max, so no e^x overflows. One
# rule for the rows that have no finite max: a row of only -inf (every key masked) is shifted
# by 0, so its e^(x - m) are 0 rather than e^(-inf + inf) = nan; a row holding +inf or nan
# gives nan, as in PyTorch.
_EINSUM_ROW = 8192  # rows up to this long (attention's) are summed by einsum, 1.2-2x faster than
# np.sum; longer ones (a vocabulary's) by np.sum, whose pairwise sum stays within 2e-7 in float32
# where einsum's running sum drifts with the length (measured: 4.5e-7 at 2048, 1.3e-6 at 8192,
# 6e-6 at 32000)


def _row_max(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return np.where(m == -np.inf, 0, m)


def _row_sum(y, axis):
    if (axis == -1 or axis == y.ndim - 1) and y.shape[-1] <= _EINSUM_ROW:
        return np.einsum("...j->...", y)[..., None]
    return y.sum(axis=axis, keepdims=True)


def _exp_rows(x, axis, out=None):
    """e^(x - m) (into ``out``; ``out=x`` works in place) and its sums along ``axis``."""
    y = np.subtract(x, _row_max(x, axis), out=np.empty_like(x) if out is None else out)
    np.exp(y, out=y)
    return y, _row_sum(y, axis)


def softmax(x, axis=-1, out=None):
    """p = e^(x - m) / Σ e^(x - m) along ``axis``; a new array, or ``out`` (``out=x``: in place).
    A row of only -inf gives 0/0 = nan, as PyTorch (masked_exp gives zeros instead).
    Used by: ops.softmax (Softmax.forward), nn.functional.cross_entropy (SoftmaxCrossEntropyGrad,
    on a retained graph's second backward), models.generation (top-p, sampling)."""
    y, s = _exp_rows(x, axis, out)
    y /= s
    return y


def softmax_grad(p, g, axis=-1, scale=1.0):
    """dL/dx = scale · p ⊙ (g - Σ g p) along ``axis``, from the softmax p and the upstream g: a
    new array, two passes. Used by: ops.softmax (SoftmaxGrad: Softmax's backward) and
    nn.functional.attention (MaskedSoftmax's backward, with the scores' scale)."""
    if axis == -1 or axis == p.ndim - 1:   # einsum: no g ⊙ p temporary, 3x faster than np.sum
        s = np.einsum("...j,...j->...", g, p)[..., None]   # (its drift on long rows: ~1e-6)
    else:
        s = np.sum(g * p, axis=axis, keepdims=True)
    gx = np.subtract(g, s, dtype=p.dtype)
    gx *= p
    if scale != 1:
        gx *= p.dtype.type(scale)
    return gx


def log_softmax(x, axis=-1):
    """x - m - ln Σ e^(x - m) along ``axis``, a new array. Used by: ops.log_softmax."""
    z = np.subtract(x, _row_max(x, axis), out=np.empty_like(x))
    z -= np.log(_row_sum(np.exp(z), axis))
    return z


def logsumexp(x, axis=None, keepdims=False):
    """ln Σ e^x = m + ln Σ e^(x - m) over ``axis`` (an int, a tuple or None for all). As PyTorch,
    an infinite max shifts by 0: a row holding +inf gives +inf, a row of only -inf gives -inf.
    Used by: ops.logsumexp (LogSumExp.forward)."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isinf(m), 0, m)
    with np.errstate(divide="ignore"):   # ln 0 = -inf: a row of only -inf
        y = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if keepdims:
        return y
    return y.reshape(()) if axis is None else np.squeeze(y, axis=axis)


def cross_entropy(x, target):
    """Per-row softmax cross-entropy of logits x (N, C) with class ids ``target`` (N,):
    ℓ = -ln softmax(x)[t] = ln Σ e^(x - m) - (x[t] - m); returns (ℓ (N,), softmax(x) (N, C)),
    the second for the backward. Used by: nn.functional.cross_entropy (SoftmaxCrossEntropy)."""
    rows = np.arange(x.shape[0])
    p = np.subtract(x, _row_max(x, 1))
    zt = p[rows, target]          # a copy: x[t] - m
    np.exp(p, out=p)
    s = _row_sum(p, 1)
    loss = np.log(s[:, 0]) - zt
    p /= s
    return loss, p


# === attention =============================================================
def masked_exp(x, scale, biases=(), drop=None):
    """In place over attention scores x (…, L, S): x ← e^(z - m), z = scale·x + Σ biases, -inf
    where ``drop`` is True, m = z's row max. Returns the row sums (…, 1), 1 for a row whose keys
    are all masked (its x is then all 0), so that x / sums is the softmax, and zeros rather than
    nan for such a row. Used by: nn.functional.attention (MaskedSoftmax.forward) and attention()
    below."""
    x *= x.dtype.type(scale)
    for b in biases:
        x += b
    if drop is not None:
        np.copyto(x, -np.inf, where=drop)
    _, s = _exp_rows(x, -1, out=x)
    s[s == 0] = 1
    return s


@functools.lru_cache(maxsize=64)
def causal_bias(L, S, dtype):
    """The causal mask as a float (L, S) array: 0 where query i may look at key j <= i, -inf
    above the diagonal (top-left aligned). Adding it masks the scores 4x faster than
    ``np.copyto(x, -inf, where=drop)``. Cached per (L, S, dtype) and read-only, so it is shared.
    Used by: nn.functional.attention (MaskedSoftmax, scaled_dot_product_attention), attention()."""
    b = np.where(np.triu(np.ones((L, S), dtype=bool), k=1), -np.inf, 0.0).astype(dtype)
    b.flags.writeable = False
    return b


_CAUSAL_SPLITS, _CAUSAL_BLOCK = 4, 32  # at most 4 query blocks, of at least 32 queries


def attention(q, k, v, scale, causal=False, bias=None, groups=1):
    """softmax(scale q kᵀ + bias (+ the causal mask)) v on arrays, when no graph is recorded.

    q: (…, L, E), k: (…, S, E), v: (…, S, Ev) -> (…, L, Ev); ``bias`` broadcasts to the scores
    (…, L, S), with -inf where a key is masked. Two savings over the recorded path: the
    normalisation is applied to the output (…, L, Ev) instead of the weights (…, L, S), and with
    a causal mask the first half of the queries is multiplied only by the first half of the
    keys, which are all it may see (a quarter of both matmuls skipped). ``groups`` > 1: q has
    that many times the heads (dim -3) of k and v (grouped-query attention).
    Used by: nn.functional.scaled_dot_product_attention (its inference path)."""
    if groups > 1:
        return _attention_gqa(q, k, v, scale, causal, groups, bias)
    L, S = q.shape[-2], k.shape[-2]
    out = np.empty(np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
                   + (L, v.shape[-1]), q.dtype)
    if not causal:
        return _softmax_times_v(q, k, v, scale, bias, out)
    bias = causal_bias(L, S, q.dtype)
    # queries [i, j) can see keys [0, j) only: in blocks, each against the keys it may see
    step = max(_CAUSAL_BLOCK, -(-L // _CAUSAL_SPLITS)) if L == S else L
    for i in range(0, L, step):
        j = min(i + step, L) if L == S else S
        _softmax_times_v(q[..., i:i + step, :], k[..., :j, :], v[..., :j, :], scale,
                         bias[i:i + step, :j], out[..., i:i + step, :])
    return out


def _attention_gqa(q, k, v, scale, causal, groups, bias=None):
    """Grouped-query attention on arrays: the ``groups`` query heads that share a key/value
    head are stacked as extra rows (…, H_kv, groups·L, E), so each key/value head takes part in
    one plain matrix product and is never repeated (NumPy's matmul over a broadcast head dim
    falls off BLAS: 4x slower, measured). ``bias`` broadcasts to the scores (…, H, L, S)."""
    hq, L, E = q.shape[-3], q.shape[-2], q.shape[-1]
    S = k.shape[-2]
    rows = q.reshape(q.shape[:-3] + (hq // groups, groups * L, E))
    if causal:
        bias = np.tile(causal_bias(L, S, q.dtype), (groups, 1))
    elif bias is not None:  # (…, H, L, S) -> (…, H_kv, groups·L, S), heads in the same order
        full = np.broadcast_to(bias, np.broadcast_shapes(bias.shape, q.shape[:-1] + (S,)))
        bias = full.reshape(full.shape[:-3] + (hq // groups, groups * L, S))
    out = np.empty(np.broadcast_shapes(rows.shape[:-2], k.shape[:-2])
                   + (groups * L, v.shape[-1]), q.dtype)
    _softmax_times_v(rows, k, v, scale, bias, out)
    return out.reshape(out.shape[:-3] + (hq, L, v.shape[-1]))


def _softmax_times_v(q, k, v, scale, bias, out):
    s = np.matmul(q, np.swapaxes(k, -1, -2))
    d = masked_exp(s, scale, () if bias is None else (bias,))
    np.matmul(s, v, out=out)
    out /= d  # normalised after the product: (…, L, Ev) divisions instead of (…, L, S)
    return out
