"""The kernels (src/gradkit/ops/kernels.py) against float64 references and PyTorch, at ordinary
and extreme inputs, and the ops built on them by gradcheck (first, second and third order).

A kernel works on arrays; the ops' own tests (test_elementwise, test_reduction, tests/nn) check
them through the Tensor API. Here each kernel is held to a float64 formula written out in the
test, so that a faster rewrite of a kernel cannot drift without a test saying by how much.
"""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.nn.functional as F
from gradkit.ops import kernels

rng = np.random.default_rng(0)
_erf64_ref = np.vectorize(math.erf, otypes=[np.float64])


@pytest.fixture
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _phi(x):   # the normal pdf, float64
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _cdf(x):   # the normal cdf, float64
    return 0.5 * (1 + _erf64_ref(x / math.sqrt(2)))


def _softmax64(x, axis):
    z = x.astype(np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# === erf ===================================================================
ERF_X = np.concatenate([np.linspace(-6, 6, 4001), [0.0, -0.0, 1e-30, -1e-30, 1e30, -1e30,
                                                   np.inf, -np.inf]])


@pytest.mark.usefixtures("warnings_are_errors")
def test_erf_float32_is_within_a_few_ulp_of_the_float64_truth():
    # the worst case, 3.1e-7, is near erf = ±1 (x ≈ ±3.7), where an ulp of float32 is 6e-8
    x = ERF_X.astype(np.float32)
    y = kernels.erf(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, _erf64_ref(x.astype(np.float64)), rtol=0, atol=3.5e-7)
    np.testing.assert_allclose(y, torch.special.erf(torch.tensor(x)).numpy(), rtol=0, atol=5e-7)
    assert list(kernels.erf(np.float32([np.inf, -np.inf, 1e30, -1e30]))) == [1, -1, 1, -1]


@pytest.mark.usefixtures("warnings_are_errors")
def test_erf_float64_has_full_precision():
    x = np.concatenate([ERF_X, np.geomspace(1e-300, 1e-3, 40)])
    y = kernels.erf(x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, _erf64_ref(x), rtol=2e-15, atol=1e-300)
    np.testing.assert_allclose(y, torch.special.erf(torch.tensor(x)).numpy(), rtol=2e-15,
                               atol=1e-300)


def test_erf_float16_goes_through_float64():
    x = np.linspace(-3, 3, 101).astype(np.float16)
    y = kernels.erf(x)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, _erf64_ref(x.astype(np.float64)).astype(np.float16))


def test_erf_float32_over_several_blocks_equals_block_by_block():
    # one call over 2 blocks and a part equals the kernel on each block alone: no block
    # boundary leaks, and the scratch buffers are reused correctly
    x = (rng.standard_normal(2 * kernels.BLOCK + 777) * 3).astype(np.float32)
    whole = kernels.erf(x)
    parts = np.concatenate([kernels.erf(x[i:i + kernels.BLOCK])
                            for i in range(0, x.size, kernels.BLOCK)])
    np.testing.assert_array_equal(whole, parts)


# === gelu ==================================================================
GELU_X = np.concatenate([np.linspace(-8, 8, 4001), [0.0, 1e4, -1e4, 30.0, -30.0, 1e30, -1e30]])


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_and_its_cdf_match_the_float64_formula_and_torch(dtype):
    x = GELU_X.astype(dtype)
    y, cdf = kernels.gelu(x, keep_cdf=True)
    assert y.dtype == cdf.dtype == dtype and y.shape == cdf.shape == x.shape
    x64 = x.astype(np.float64)
    # float64: Φ = (1 + erf)/2 cancels in the left tail, to an ulp of 1 (1.1e-16) absolute
    tol = dict(rtol=1e-6, atol=1.2e-6) if dtype == np.float32 else dict(rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(cdf, _cdf(x64), **tol)
    np.testing.assert_allclose(y, x64 * _cdf(x64), **tol)
    ty = TF.gelu(torch.tensor(x)).numpy()
    np.testing.assert_allclose(y, ty, **(dict(rtol=1e-5, atol=2.4e-6) if dtype == np.float32
                                         else tol))
    # exact at the ends, as PyTorch: 0 far left, x far right
    assert y[-1] == 0 and y[-2] == x[-2]
    y2, none = kernels.gelu(x)
    assert none is None
    np.testing.assert_array_equal(y2, y)


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_grad_matches_the_float64_formula_and_torch(dtype):
    x = GELU_X[:-2].astype(dtype)   # x² of ±1e30 overflows float32 (as in PyTorch)
    g = rng.standard_normal(x.shape).astype(dtype)
    _, cdf = kernels.gelu(x, keep_cdf=True)
    d = kernels.gelu_grad(x, cdf, g)
    assert d.dtype == dtype and d.shape == x.shape
    x64 = x.astype(np.float64)
    ref = g * (_cdf(x64) + x64 * _phi(x64))
    tol = dict(rtol=1e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(d, ref, **tol)
    tx = torch.tensor(x, requires_grad=True)
    TF.gelu(tx).backward(torch.tensor(g))
    np.testing.assert_allclose(d, tx.grad.numpy(), **tol)


def test_gelu_grad_takes_any_layout_of_x_and_g_and_keeps_the_shape():
    x = rng.standard_normal((3, 40, 5)).astype(np.float32)[:, ::2]   # a strided view
    g = np.broadcast_to(np.float32(0.5), x.shape)                     # zero strides
    _, cdf = kernels.gelu(x, keep_cdf=True)
    d = kernels.gelu_grad(x, cdf, g)
    assert d.shape == x.shape
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(d, 0.5 * (_cdf(x64) + x64 * _phi(x64)), rtol=1e-5, atol=2e-6)


def test_gelu_and_gelu_grad_over_several_blocks_equal_block_by_block():
    n = 2 * kernels.BLOCK + 1001
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    y, cdf = kernels.gelu(x, keep_cdf=True)
    d = kernels.gelu_grad(x, cdf, g)
    B = kernels.BLOCK
    for i in range(0, n, B):
        yb, cb = kernels.gelu(x[i:i + B], keep_cdf=True)
        np.testing.assert_array_equal(y[i:i + B], yb)
        np.testing.assert_array_equal(cdf[i:i + B], cb)
        np.testing.assert_array_equal(d[i:i + B], kernels.gelu_grad(x[i:i + B], cb, g[i:i + B]))


# === softmax ===============================================================
# short rows (einsum sums) and rows longer than _EINSUM_ROW (pairwise sums), over each axis
SOFTMAX_SHAPES = [((4, 7, 33), 2), ((4, 7, 33), 1), ((4, 7, 33), 0),
                  ((3, kernels._EINSUM_ROW + 5), 1), ((3, kernels._EINSUM_ROW + 5), -1)]


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", SOFTMAX_SHAPES)
def test_softmax_and_its_backward_match_float64_and_torch(shape, axis, dtype):
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    p = kernels.softmax(x, axis)
    assert p.dtype == dtype
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-300)
    ref = _softmax64(x, axis)
    np.testing.assert_allclose(p, ref, **tol)
    np.testing.assert_allclose(p, torch.softmax(torch.tensor(x), axis).numpy(), **tol)
    for scale in (1.0, 0.125):
        d = kernels.softmax_grad(p, g, axis, scale)
        assert d.dtype == dtype
        g64 = g.astype(np.float64)
        want = scale * ref * (g64 - (g64 * ref).sum(axis=axis, keepdims=True))
        np.testing.assert_allclose(d, want, rtol=tol["rtol"] * 10, atol=1e-6 if dtype ==
                                   np.float32 else 1e-14)
    tx = torch.tensor(x, requires_grad=True)
    torch.softmax(tx, axis).backward(torch.tensor(g))
    np.testing.assert_allclose(kernels.softmax_grad(p, g, axis), tx.grad.numpy(),
                               rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", SOFTMAX_SHAPES)
def test_log_softmax_matches_float64_and_torch(shape, axis, dtype):
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    y = kernels.log_softmax(x, axis)
    assert y.dtype == dtype
    tol = dict(rtol=1e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(y, np.log(_softmax64(x, axis)), **tol)
    np.testing.assert_allclose(y, torch.log_softmax(torch.tensor(x), axis).numpy(), **tol)


def test_softmax_out_is_in_place():
    x = rng.standard_normal((5, 9)).astype(np.float32)
    want = kernels.softmax(x)
    y = kernels.softmax(x, -1, out=x)
    assert y is x
    np.testing.assert_array_equal(x, want)


# rows: ordinary, huge logits, some -inf, only -inf, holding +inf, holding nan
EXTREME = np.array([[0.5, -1.0, 2.0, 0.0],
                    [1e4, 0.0, -1e4, 1e4],
                    [-np.inf, 3.0, -np.inf, 1.0],
                    [-np.inf, -np.inf, -np.inf, -np.inf],
                    [np.inf, 0.0, 1.0, 2.0],
                    [np.nan, 0.0, 1.0, 2.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax_at_extreme_logits_equal_torch(op, dtype):
    # as PyTorch: exact at ±1e4 and at -inf entries; nan for a row of only -inf, one holding
    # +inf and one holding nan (masked_exp gives zeros for the empty row instead)
    x = EXTREME.astype(dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = getattr(kernels, op)(x, 1)
    t = getattr(torch, op)(torch.tensor(x), 1).numpy()
    np.testing.assert_allclose(y, t, rtol=1e-6, atol=0)   # nan == nan in assert_allclose
    assert np.isnan(y[3:]).all() and np.isfinite(y[1]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_at_extreme_logits_equals_torch(dtype):
    # +inf for a row holding +inf and -inf for a row of only -inf, as PyTorch
    x = EXTREME.astype(dtype)
    y = kernels.logsumexp(x, 1)
    np.testing.assert_allclose(y, torch.logsumexp(torch.tensor(x), 1).numpy(), rtol=1e-6)
    assert y[3] == -np.inf and y[4] == np.inf and np.isnan(y[5])
    for axis, keep in [(None, False), ((0, 1), True), (0, False)]:
        x = rng.standard_normal((3, 4, 5)).astype(dtype) * 50
        t = torch.logsumexp(torch.tensor(x), tuple(range(3)) if axis is None else axis,
                            keepdim=keep).numpy()
        np.testing.assert_allclose(kernels.logsumexp(x, axis, keep), t, rtol=1e-6)


@pytest.mark.usefixtures("warnings_are_errors")
def test_softmax_grad_of_huge_logits_is_finite_and_exact():
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 0.0]], np.float32)
    p = kernels.softmax(x)
    np.testing.assert_array_equal(p, [[1, 0, 0], [0.5, 0.5, 0]])
    g = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 5.0]], np.float32)
    np.testing.assert_array_equal(kernels.softmax_grad(p, g), [[0, 0, 0], [-0.5, 0.5, 0]])


# === cross-entropy =========================================================
@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [10, kernels._EINSUM_ROW + 7])
def test_cross_entropy_kernel_matches_float64_and_torch(C, dtype):
    x = (rng.standard_normal((6, C)) * 4).astype(dtype)
    x[0, 0], x[1, :3], x[2, 1] = 1e4, -np.inf, -1e4   # huge and masked-out logits
    t = np.array([0, 4, 1, 2, 3, C - 1])
    loss, p = kernels.cross_entropy(x, t)
    assert loss.dtype == p.dtype == dtype
    p64, x64 = _softmax64(x, 1), x.astype(np.float64)
    m = x64.max(1)
    want = m + np.log(np.exp(x64 - m[:, None]).sum(1)) - x64[np.arange(6), t]   # ~1e4 for row 2
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loss, want, **tol)
    np.testing.assert_allclose(p, p64, **tol)
    tl = TF.cross_entropy(torch.tensor(x), torch.tensor(t), reduction="none").numpy()
    np.testing.assert_allclose(loss, tl, **tol)


# === attention =============================================================
@pytest.mark.usefixtures("warnings_are_errors")
def test_masked_exp_gives_the_masked_softmax_and_zeros_for_a_row_with_every_key_masked():
    s = rng.standard_normal((2, 3, 5, 6))
    bias = rng.standard_normal((1, 3, 1, 6))
    drop = rng.random((2, 1, 5, 6)) < 0.3
    drop[0, 0, 2] = True                      # every key masked for this query
    x = s.copy()
    sums = kernels.masked_exp(x, 0.5, (bias,), drop)
    p = x / sums
    assert sums.shape == (2, 3, 5, 1)
    z = np.where(drop, -np.inf, 0.5 * s + bias)
    t = torch.softmax(torch.tensor(z), -1).numpy()     # nan on the empty rows
    empty = drop.all(-1, keepdims=True) & np.ones_like(p, bool)
    np.testing.assert_array_equal(p[empty], 0.0)
    np.testing.assert_allclose(p[~empty], t[~empty], rtol=1e-13, atol=1e-300)
    assert (sums[drop.all(-1)[..., None] & np.ones_like(sums, bool)] == 1).all()


def test_masked_exp_biases_add_up_and_infinite_bias_masks():
    s = rng.standard_normal((4, 7)).astype(np.float32)
    b1 = np.where(rng.random((4, 7)) < 0.3, -np.inf, 0).astype(np.float32)
    b2 = rng.standard_normal(7).astype(np.float32)
    x = s.copy()
    p = x / kernels.masked_exp(x, 1.0, (b1, b2))
    t = torch.softmax(torch.tensor(s + b1 + b2), -1).numpy()
    np.testing.assert_allclose(p, t, rtol=2e-6, atol=1e-7)


def test_causal_bias_is_cached_read_only_and_top_left_aligned():
    b = kernels.causal_bias(3, 5, np.dtype(np.float32))
    assert b is kernels.causal_bias(3, 5, np.dtype(np.float32)) and not b.flags.writeable
    np.testing.assert_array_equal(np.isinf(b), np.triu(np.ones((3, 5), bool), 1))
    assert b.dtype == np.float32 and (b[np.isinf(b)] < 0).all()


def _torch_sdpa(q, k, v, scale, causal=False, bias=None, groups=1):
    q, k, v = (torch.tensor(a) for a in (q, k, v))
    if groups > 1:
        k, v = k.repeat_interleave(groups, -3), v.repeat_interleave(groups, -3)
    s = q @ k.transpose(-1, -2) * scale
    if bias is not None:
        s = s + torch.tensor(bias)
    if causal:
        L, S = s.shape[-2:]
        s = s.masked_fill(torch.ones(L, S, dtype=torch.bool).triu(1), float("-inf"))
    return (torch.softmax(s, -1) @ v).numpy()


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("L, S", [(200, 200), (37, 37), (5, 9), (1, 1)])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_kernel_matches_the_softmax_formula(L, S, causal):
    # L = 200 runs the causal mask in 4 query blocks, each against the keys it may see
    q, k, v = (rng.standard_normal((2, 3, n, 8)) for n in (L, S, S))
    out = kernels.attention(q, k, v, 0.3, causal=causal)
    np.testing.assert_allclose(out, _torch_sdpa(q, k, v, 0.3, causal), rtol=1e-12, atol=1e-13)


@pytest.mark.usefixtures("warnings_are_errors")
@pytest.mark.parametrize("causal", [False, True])
def test_attention_kernel_with_a_bias_and_grouped_heads(causal):
    q = rng.standard_normal((2, 6, 10, 4))
    k, v = rng.standard_normal((2, 2, 10, 4)), rng.standard_normal((2, 2, 10, 5))
    bias = None if causal else np.where(rng.random((2, 1, 1, 10)) < 0.3, -np.inf,
                                        rng.standard_normal((2, 1, 1, 10)))
    if bias is not None:
        bias[0, ..., :] = -np.inf           # batch 0: every key masked gives zeros
    out = kernels.attention(q, k, v, 0.5, causal=causal, bias=bias, groups=3)
    assert out.shape == (2, 6, 10, 5)
    with np.errstate(invalid="ignore"):
        want = _torch_sdpa(q, k, v, 0.5, causal, bias, groups=3)
    if bias is not None:
        np.testing.assert_array_equal(out[0], 0.0)
        out, want = out[1:], want[1:]
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-13)
    plain = kernels.attention(q, np.repeat(k, 3, 1), np.repeat(v, 3, 1), 0.5, causal, bias)
    np.testing.assert_allclose(kernels.attention(q, k, v, 0.5, causal, bias, 3), plain,
                               rtol=1e-13, atol=1e-14)


# === the ops that call the kernels: gradcheck in float64, to the third order ===============
def _x(*shape, scale=2.0):
    return gk.tensor(rng.standard_normal(shape) * scale, dtype=gk.float64, requires_grad=True)


def _derivatives(fn, x, order):
    """fn(x), then (order - 1) times: the gradient of the previous result's weighted sum,
    with create_graph, so that gradcheck of the last one checks the order-th derivative."""
    def f(x):
        y = fn(x)
        for k in range(order - 1):
            w = gk.tensor(np.cos(np.arange(y.array.size) + k).reshape(y.shape), dtype=gk.float64)
            (y,) = gk.grad((y * w).sum(), x, create_graph=True)
        return y
    return f


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("name, fn", [
    ("gelu", gk.gelu),
    ("softmax-1", lambda x: gk.softmax(x, -1)),
    ("softmax0", lambda x: gk.softmax(x, 0)),
    ("log_softmax", lambda x: gk.log_softmax(x, 1)),
    ("logsumexp", lambda x: gk.logsumexp(x, 1)),
])
def test_ops_on_kernels_pass_gradcheck(name, fn, order):
    x = _x(3, 5)
    assert gk.autograd.gradcheck(_derivatives(fn, x, order), (x,))


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_passes_gradcheck(reduction, order):
    x = _x(4, 6)
    t = gk.tensor(np.array([1, -100, 5, 0]))   # one ignored row
    fn = lambda a: F.cross_entropy(a, t, reduction=reduction)  # noqa: E731
    assert gk.autograd.gradcheck(_derivatives(fn, x, order), (x,))


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("mask", ["causal", "bool", "float"])
def test_attention_passes_gradcheck(mask, order):
    q, k, v = _x(1, 2, 4, 3), _x(1, 2, 5, 3), _x(1, 2, 5, 3)
    kw = {"causal": dict(is_causal=True),
          "bool": dict(attn_mask=gk.tensor(rng.random((1, 1, 4, 5)) > 0.3)),
          "float": dict(attn_mask=_x(1, 1, 4, 5))}[mask]
    if mask == "bool":
        kw["attn_mask"].array[0, 0, 1] = False      # a query with every key masked: zeros
    for i, wrt in enumerate((q, k, v)):
        def fn(a, i=i):
            args = [q, k, v]
            args[i] = a
            return F.scaled_dot_product_attention(*args, **kw)
        assert gk.autograd.gradcheck(_derivatives(fn, wrt, order), (wrt,))
    if mask == "float":   # the float mask's own gradient (MaskedSoftmax's dL/dB)
        m = kw.pop("attn_mask")
        fn = lambda a: F.scaled_dot_product_attention(q, k, v, attn_mask=a)  # noqa: E731
        assert gk.autograd.gradcheck(_derivatives(fn, m, order), (m,))


@pytest.mark.parametrize("op", ["gelu", "softmax", "cross_entropy"])
def test_second_derivatives_match_torch(op):
    # a Hessian-vector product: the gradient of <dL/dx, v> with respect to x
    x = rng.standard_normal((4, 6)) * 2
    v = rng.standard_normal((4, 6))
    t = np.array([1, 0, 5, 2])
    fns = {"gelu": (lambda lib, a: (lib.nn.functional.gelu(a) ** 2).sum()),
           "softmax": (lambda lib, a: (lib.softmax(a, -1) * lib.tensor(v)).sum() ** 2),
           "cross_entropy": (lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(t)))}
    outs = []
    for lib in (gk, torch):
        a = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        (g,) = (gk.grad if lib is gk else torch.autograd.grad)(fns[op](lib, a), a,
                                                                 create_graph=True)
        (h,) = (gk.grad if lib is gk else torch.autograd.grad)((g * lib.tensor(v)).sum(), a)
        outs.append((np.asarray(g.detach().numpy()), np.asarray(h.numpy())))
    for ours, theirs in zip(*outs):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_float32_gelu_second_derivative_stays_float32_and_matches_torch():
    x = np.linspace(-6, 6, 301, dtype=np.float32)
    a = gk.tensor(x, requires_grad=True)
    (g,) = gk.grad(gk.gelu(a).sum(), a, create_graph=True)
    (h,) = gk.grad(g.sum(), a)
    assert g.dtype == h.dtype == gk.float32
    ta = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(TF.gelu(ta).sum(), ta, create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), ta)
    np.testing.assert_allclose(g.array, tg.detach().numpy(), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(h.array, th.numpy(), rtol=1e-5, atol=2e-6)


def test_a_retained_cross_entropy_graph_backwards_twice_alike():
    # the first backward uses the forward's softmax up, in place; the second recomputes it
    x = gk.tensor(rng.standard_normal((5, 7)).astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(x, gk.tensor(np.array([0, 6, 3, 3, 1])))
    loss.backward(retain_graph=True)
    first = x.grad.array.copy()
    x.grad = None
    loss.backward()
    np.testing.assert_array_equal(x.grad.array, first)
