"""F.scaled_dot_product_attention, F.multi_head_attention_forward and nn.MultiheadAttention
against PyTorch (float64: outputs, attention weights, input and parameter gradients), gradcheck,
the all-masked row (zeros here, NaN in PyTorch), dropout, float32, default init, errors."""
import copy
import math

import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn.functional as F
from gradkit.nn.functional.attention import causal_mask
from oracle import check

RTOL, ATOL = 1e-6, 1e-9
# PyTorch warns when key_padding_mask and attn_mask differ in type (bool vs float); we test both
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")


# === helpers ===============================================================
def _pair(E=8, H=2, dtype=torch.float64, **kw):
    """A PyTorch MHA and a gradkit MHA with the same weights, moved through state_dict (which
    also checks that every key name is PyTorch's)."""
    tm = torch.nn.MultiheadAttention(E, H, dtype=dtype, **kw)
    gm = gk.nn.MultiheadAttention(E, H, dtype=gk.float64 if dtype == torch.float64 else gk.float32, **kw)
    assert list(gm.state_dict()) == list(tm.state_dict())
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return tm, gm


def _t(a, grad=False):
    if a is None:
        return None, None
    t = torch.tensor(a, requires_grad=grad and a.dtype.kind == "f")
    g = gk.tensor(a, requires_grad=grad and a.dtype.kind == "f")
    return t, g


def _compare(tm, gm, q, k, v, rtol=RTOL, atol=ATOL, seed=0, **kw):
    """Run both modules on the same inputs and masks; compare outputs, weights and the gradients
    of q, k, v, float masks and every parameter for a random upstream gradient."""
    masks = {n: kw.pop(n) for n in ("key_padding_mask", "attn_mask") if n in kw}
    tin, gin = zip(*[_t(a, grad=True) for a in (q, k, v)])
    tmask = {n: _t(a, grad=True)[0] for n, a in masks.items()}
    gmask = {n: _t(a, grad=True)[1] for n, a in masks.items()}
    to, tw = tm(*tin, **tmask, **kw)
    go, gw = gm(*gin, **gmask, **kw)
    np.testing.assert_allclose(go.array, to.detach().numpy(), rtol=rtol, atol=atol)
    assert (gw is None) == (tw is None)
    rng = np.random.default_rng(seed)
    up = rng.standard_normal(go.shape)
    tl = (to * torch.tensor(up)).sum()
    gl = (go * gk.tensor(up)).sum()
    if tw is not None:
        np.testing.assert_allclose(gw.array, tw.detach().numpy(), rtol=rtol, atol=atol)
        upw = rng.standard_normal(gw.shape)
        tl = tl + (tw * torch.tensor(upw)).sum()
        gl = gl + (gw * gk.tensor(upw)).sum()
    tl.backward()
    gl.backward()
    for name, t, g in zip("qkv", tin, gin):
        np.testing.assert_allclose(g.grad.array, t.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"grad of {name}")
    for n in masks:
        if tmask[n].requires_grad:
            tg = np.zeros(tmask[n].shape) if tmask[n].grad is None else tmask[n].grad.numpy()
            gg = np.zeros(gmask[n].shape) if gmask[n].grad is None else gmask[n].grad.array
            np.testing.assert_allclose(gg, tg, rtol=rtol, atol=atol, err_msg=f"grad of {n}")
    tp = dict(tm.named_parameters())
    for n, p in gm.named_parameters():
        np.testing.assert_allclose(p.grad.array, tp[n].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"grad of {n}")
    return go, gw


def _kpm(rng, N, S, kind):
    """A key padding mask that never masks key 0 (PyTorch gives NaN for all-masked rows)."""
    if kind == "bool":
        m = rng.random((N, S)) < 0.4
        m[:, 0] = False
        return m
    m = rng.standard_normal((N, S))
    m[rng.random((N, S)) < 0.3] = -np.inf
    m[:, 0] = 0.0
    return m


def _attn_mask(rng, shape, kind):
    if kind == "bool":
        m = rng.random(shape) < 0.4
        m[..., 0] = False
        return m
    return rng.standard_normal(shape)


# === scaled_dot_product_attention ==========================================
@pytest.mark.parametrize("qs, ks, vs", [
    ((5, 4), (6, 4), (6, 3)),                      # no batch
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 2)),    # (N, H, L, E)
    ((2, 3, 5, 4), (1, 3, 6, 4), (1, 3, 6, 4)),    # key/value broadcast over the batch
])
def test_sdpa_matches_torch(qs, ks, vs):
    check(F.scaled_dot_product_attention, torch.nn.functional.scaled_dot_product_attention,
          shapes=[qs, ks, vs])


@pytest.mark.parametrize("mask_shape", [(5, 6), (2, 1, 5, 6), (2, 3, 5, 6), (1, 6)])
def test_sdpa_float_mask_with_its_gradient(mask_shape):
    check(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
          lambda q, k, v, m: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m),
          shapes=[(2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4), mask_shape])


@pytest.mark.parametrize("mask_shape", [(5, 6), (2, 1, 5, 6), (2, 3, 1, 6)])
def test_sdpa_bool_mask_true_takes_part(mask_shape):
    rng = np.random.default_rng(1)
    m = rng.random(mask_shape) < 0.6
    m[..., 0] = True
    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 4)])
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gk.tensor(m)),
          lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
              q, k, v, attn_mask=torch.tensor(m)),
          inputs=[q, k, v])


@pytest.mark.parametrize("L, S", [(5, 5), (3, 6), (6, 3)])
def test_sdpa_causal(L, S):
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
          lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True),
          shapes=[(2, 2, L, 4), (2, 2, S, 4), (2, 2, S, 3)])


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("L, S", [(40, 40), (33, 33), (7, 7), (5, 9), (9, 5), (64, 64)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sdpa_inference_path_matches_torch(L, S, causal, dtype):
    # without a graph SDPA runs on arrays: output-side normalisation, and for causal L == S >= 32
    # the first half of the queries against the first half of the keys only
    rng = np.random.default_rng(L * 100 + S)
    q, k, v = (rng.standard_normal(s).astype(dtype)
               for s in [(2, 3, L, 8), (2, 3, S, 8), (2, 3, S, 5)])
    with gk.no_grad():
        out = F.scaled_dot_product_attention(gk.tensor(q), gk.tensor(k), gk.tensor(v),
                                             is_causal=causal)
    assert out.grad_fn is None and out.dtype == getattr(gk, dtype)
    with torch.no_grad():
        ref = torch.nn.functional.scaled_dot_product_attention(
            torch.tensor(q), torch.tensor(k), torch.tensor(v), is_causal=causal).numpy()
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(out.array, ref, rtol=tol, atol=tol)
    # and the same numbers as the recorded path
    rec = F.scaled_dot_product_attention(gk.tensor(q, requires_grad=True), gk.tensor(k),
                                         gk.tensor(v), is_causal=causal)
    np.testing.assert_allclose(out.array, rec.array, rtol=tol, atol=tol)


@pytest.mark.parametrize("causal", [True, False])
def test_sdpa_inference_path_broadcasts_batch_dims_like_torch(causal):
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 40, 8), (1, 3, 40, 8), (2, 1, 40, 5)])
    with gk.no_grad():
        out = F.scaled_dot_product_attention(gk.tensor(q), gk.tensor(k), gk.tensor(v),
                                             is_causal=causal)
    with torch.no_grad():
        ref = torch.nn.functional.scaled_dot_product_attention(
            torch.tensor(q), torch.tensor(k), torch.tensor(v), is_causal=causal).numpy()
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.array, ref, rtol=1e-12, atol=1e-12)


def test_sdpa_causal_combined_with_a_mask_as_torch_does():
    rng = np.random.default_rng(2)
    m = rng.random((4, 4)) < 0.7
    m[:, 0] = True
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gk.tensor(m),
                                                         is_causal=True),
          lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
              q, k, v, attn_mask=torch.tensor(m), is_causal=True),
          shapes=[(1, 2, 4, 3)] * 3)


def test_sdpa_scale_and_gqa():
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3),
          lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=0.3),
          shapes=[(2, 2, 3, 4)] * 3)
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
          lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
              q, k, v, is_causal=True, enable_gqa=True),
          shapes=[(2, 6, 4, 3), (2, 2, 4, 3), (2, 2, 4, 5)])


def test_causal_mask_is_cached_and_read_only():
    a = causal_mask(7, 9)
    assert causal_mask(7, 9) is a
    assert not a.flags.writeable
    np.testing.assert_array_equal(a, ~np.tril(np.ones((7, 9), bool)))


def _torch_sdpa_math(q, k, v):
    s = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), -1)
    return s @ v


def test_sdpa_second_derivative_matches_torch():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 3, 4)) for _ in range(3)]
    up = rng.standard_normal((2, 3, 4))
    tq = [torch.tensor(a, requires_grad=True) for a in arrays]
    gq = [gk.tensor(a, requires_grad=True) for a in arrays]
    tg = torch.autograd.grad((_torch_sdpa_math(*tq) * torch.tensor(up)).sum(), tq, create_graph=True)
    gg = gk.grad((F.scaled_dot_product_attention(*gq) * gk.tensor(up)).sum(), gq, create_graph=True)
    t2 = torch.autograd.grad(sum((g ** 2).sum() for g in tg), tq)
    g2 = gk.grad(sum((g ** 2).sum() for g in gg), gq)
    for a, b in zip(g2, t2):
        np.testing.assert_allclose(a.array, b.numpy(), rtol=RTOL, atol=ATOL)


def test_sdpa_dropout_is_inverted_dropout_of_the_weights():
    # out = dropout(P) v: with v = identity the output IS the dropped weights, each either 0 or
    # P / (1 - p); and its mean over many draws is P
    rng = np.random.default_rng(4)
    q = gk.tensor(rng.standard_normal((4000, 3, 5)))
    k = gk.tensor(rng.standard_normal((1, 6, 5)).repeat(4000, 0))
    v = gk.tensor(np.broadcast_to(np.eye(6), (4000, 6, 6)).copy())
    q = gk.tensor(np.broadcast_to(q.array[:1], q.shape).copy())
    p = 0.25
    ref = F.scaled_dot_product_attention(q[:1], k[:1], v[:1]).array[0]
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=p).array
    kept = out != 0
    np.testing.assert_allclose(out[kept], np.broadcast_to(ref / (1 - p), out.shape)[kept], rtol=1e-12)
    assert abs(kept.mean() - (1 - p)) < 0.01
    np.testing.assert_allclose(out.mean(0), ref, atol=0.02)


# === the all-masked row ====================================================
def test_all_masked_row_sdpa_gives_zeros_and_finite_grads_like_torchs_fused_kernel():
    rng = np.random.default_rng(5)
    m = rng.random((4, 5)) < 0.6
    m[:, 0] = True
    m[2] = False  # query 2 may look at nothing
    out = check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=gk.tensor(m)),
                lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
                    q, k, v, attn_mask=torch.tensor(m)),
                shapes=[(2, 2, 4, 3), (2, 2, 5, 3), (2, 2, 5, 3)])
    assert np.all(out[0].array[:, :, 2] == 0)


@pytest.mark.parametrize("need_weights", [True, False])
def test_all_masked_row_mha_gives_zeros_not_nan(need_weights):
    """Batch entry 1 has every key padded: its attention output is 0 (so the layer returns
    out_proj.bias), its weights are 0, and every gradient is finite. PyTorch gives NaN there."""
    tm, gm = _pair(8, 2)
    rng = np.random.default_rng(6)
    with torch.no_grad():
        tm.out_proj.bias.normal_()
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = rng.standard_normal((4, 3, 8))
    kpm = np.zeros((3, 4), bool)
    kpm[1] = True
    kpm[2, 1:] = True
    to, _ = tm(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(kpm))
    assert torch.isnan(to[:, 1]).all()  # the PyTorch behaviour this deviation fixes
    xg = gk.tensor(x, requires_grad=True)
    out, w = gm(xg, xg, xg, key_padding_mask=gk.tensor(kpm), need_weights=need_weights)
    assert np.isfinite(out.array).all()
    np.testing.assert_allclose(out.array[:, 1], np.broadcast_to(gm.out_proj.bias.array, (4, 8)))
    if need_weights:
        assert np.all(w.array[1] == 0)
        np.testing.assert_allclose(w.array[[0, 2]].sum(-1), 1.0)
    (out * out).sum().backward()
    for p in [xg] + list(gm.parameters()):
        assert np.isfinite(p.grad.array).all()
    np.testing.assert_array_equal(xg.grad.array[:, 1], 0.0)  # nothing reached entry 1's inputs
    # the other batch entries agree with PyTorch
    keep = [0, 2]
    to2, _ = tm(*[torch.tensor(x[:, keep])] * 3, key_padding_mask=torch.tensor(kpm[keep]))
    np.testing.assert_allclose(out.array[:, keep], to2.detach().numpy(), rtol=RTOL, atol=ATOL)


def test_all_masked_row_by_float_mask_and_attn_mask():
    gm = gk.nn.MultiheadAttention(4, 2, dtype=gk.float64)
    x = gk.tensor(np.random.default_rng(7).standard_normal((3, 2, 4)), requires_grad=True)
    am = np.zeros((3, 3))
    am[1] = -np.inf  # query 1 sees nothing
    out, w = gm(x, x, x, attn_mask=gk.tensor(am), average_attn_weights=False)
    assert np.all(w.array[:, :, 1] == 0) and np.isfinite(out.array).all()
    out.sum().backward()
    assert np.isfinite(x.grad.array).all()


# === nn.MultiheadAttention against PyTorch =================================
MASKS = ["none", "kpm_bool", "kpm_float", "attn2d_bool", "attn2d_float", "attn3d_bool",
         "attn3d_float", "both_bool", "both_float"]
MODES = ["self", "cross", "kdim_vdim"]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_matches_torch(batch_first, mode, mask):
    E, H, N, L, S = 8, 2, 3, 4, 5
    rng = np.random.default_rng([batch_first, MODES.index(mode), MASKS.index(mask)])
    kd = dict(kdim=3, vdim=6) if mode == "kdim_vdim" else {}
    tm, gm = _pair(E, H, batch_first=batch_first, **kd)
    if mode == "self":
        S = L
    sh = (lambda s, d: (N, s, d)) if batch_first else (lambda s, d: (s, N, d))
    q = rng.standard_normal(sh(L, E))
    k = q if mode == "self" else rng.standard_normal(sh(S, kd.get("kdim", E)))
    v = q if mode == "self" else rng.standard_normal(sh(S, kd.get("vdim", E)))
    kw = {}
    kind = mask.split("_")[-1]
    if mask.startswith(("kpm", "both")):
        kw["key_padding_mask"] = _kpm(rng, N, S, kind)
    if mask.startswith(("attn2d", "both")):
        kw["attn_mask"] = _attn_mask(rng, (L, S), kind)
    if mask.startswith("attn3d"):
        kw["attn_mask"] = _attn_mask(rng, (N * H, L, S), kind)
    # the weights' variants, spread over the cases
    i = MASKS.index(mask)
    kw["need_weights"] = i % 3 != 2
    kw["average_attn_weights"] = i % 2 == 0
    _compare(tm, gm, q, k, v, **kw)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_is_causal_hint(need_weights):
    tm, gm = _pair(8, 2, batch_first=True)
    x = np.random.default_rng(8).standard_normal((2, 5, 8))
    causal = np.triu(np.full((5, 5), -np.inf), 1)
    _compare(tm, gm, x, x, x, attn_mask=causal, is_causal=True, need_weights=need_weights)
    _compare(tm, gm, x, x, x, attn_mask=np.isinf(causal), is_causal=True, need_weights=need_weights)


def test_mha_unbatched():
    tm, gm = _pair(8, 2)
    rng = np.random.default_rng(9)
    q, k = rng.standard_normal((4, 8)), rng.standard_normal((5, 8))
    kpm = np.array([False, True, False, False, True])
    go, gw = _compare(tm, gm, q, k, k, key_padding_mask=kpm,
                      attn_mask=_attn_mask(rng, (2, 4, 5), "float"), average_attn_weights=False)
    assert go.shape == (4, 8) and gw.shape == (2, 4, 5)
    go, gw = _compare(tm, gm, q, k, k, attn_mask=_attn_mask(rng, (4, 5), "bool"))
    assert gw.shape == (4, 5)


@pytest.mark.parametrize("kw", [dict(bias=False), dict(add_bias_kv=True),
                                dict(add_zero_attn=True), dict(add_bias_kv=True, add_zero_attn=True),
                                dict(add_bias_kv=True, kdim=3, vdim=5, batch_first=True)])
def test_mha_options(kw):
    tm, gm = _pair(8, 4, **kw)
    rng = np.random.default_rng(10)
    N, L, S = 2, 3, 4
    bf = kw.get("batch_first", False)
    sh = (lambda s, d: (N, s, d)) if bf else (lambda s, d: (s, N, d))
    q = rng.standard_normal(sh(L, 8))
    k, v = rng.standard_normal(sh(S, kw.get("kdim", 8))), rng.standard_normal(sh(S, kw.get("vdim", 8)))
    _compare(tm, gm, q, k, v, key_padding_mask=_kpm(rng, N, S, "bool"),
             attn_mask=_attn_mask(rng, (L, S), "float"))


def test_mha_eval_ignores_dropout_and_train_drops_weights():
    tm, gm = _pair(8, 2, dropout=0.5)
    tm.eval()
    gm.eval()
    x = np.random.default_rng(11).standard_normal((5, 4, 8))
    _compare(tm, gm, x, x, x)
    gm.train()
    xt = gk.tensor(x)
    _, w_eval = gm.eval()(xt, xt, xt, average_attn_weights=False)
    _, w = gm.train()(xt, xt, xt, average_attn_weights=False)
    kept = w.array != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(w.array[kept], (w_eval.array / 0.5)[kept], rtol=1e-12)


def test_mha_float32_stays_float32_and_matches_torch():
    tm, gm = _pair(16, 4, dtype=torch.float32, batch_first=True)
    x = np.random.default_rng(12).standard_normal((3, 6, 16)).astype(np.float32)
    kpm = _kpm(np.random.default_rng(0), 3, 6, "bool")
    go, gw = _compare(tm, gm, x, x, x, rtol=1e-4, atol=1e-5, key_padding_mask=kpm)
    assert go.dtype == np.float32 and gw.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in gm.parameters())


def test_mha_gradcheck_functional_all_parameters():
    rng = np.random.default_rng(13)
    E, H = 4, 2
    arrays = [rng.standard_normal(s) for s in [(3, 2, E), (2, 2, E), (2, 2, E), (3 * E, E),
                                               (3 * E,), (E, E), (E,), (3, 2)]]
    ts = [gk.tensor(a, requires_grad=True) for a in arrays]
    kpm = gk.tensor(np.array([[False, True], [False, False]]))

    def fn(q, k, v, w, b, wo, bo, am):
        out, w_ = F.multi_head_attention_forward(q, k, v, E, H, w, b, None, None, False, 0.0, wo,
                                                 bo, key_padding_mask=kpm, attn_mask=am)
        return out, w_
    gk.autograd.gradcheck(fn, tuple(ts))


# === state, initialisation, copies =========================================
@pytest.mark.parametrize("kw, keys", [
    ({}, ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]),
    (dict(kdim=3, vdim=5), ["q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
                            "out_proj.weight", "out_proj.bias"]),
    (dict(bias=False), ["in_proj_weight", "out_proj.weight"]),
    (dict(add_bias_kv=True), ["in_proj_weight", "in_proj_bias", "bias_k", "bias_v",
                              "out_proj.weight", "out_proj.bias"]),
])
def test_state_dict_keys_and_shapes_are_torchs(kw, keys):
    g = gk.nn.MultiheadAttention(8, 2, **kw).state_dict()
    t = torch.nn.MultiheadAttention(8, 2, **kw).state_dict()
    assert list(g) == list(t) == keys
    assert all(g[k].shape == tuple(t[k].shape) for k in keys)


def test_default_initialisation_matches_torch():
    E = 256
    g = gk.nn.MultiheadAttention(E, 8)
    t = torch.nn.MultiheadAttention(E, 8)
    # xavier_uniform on (3E, E): U(-a, a), a = √(6 / 4E); out_proj.weight: Linear's U(±1/√E)
    for name, bound in [("in_proj_weight", math.sqrt(6 / (4 * E))), ("out_proj.weight", 1 / math.sqrt(E))]:
        gw, tw = g.state_dict()[name].array, t.state_dict()[name].numpy()
        n = gw.size
        assert np.abs(gw).max() <= bound
        assert abs(gw.mean()) < 4 * bound / math.sqrt(3 * n)
        assert abs(gw.std() - tw.std()) < 4 * bound / math.sqrt(n)
        assert abs(gw.std() - bound / math.sqrt(3)) < 4 * bound / math.sqrt(n)
    assert np.all(g.in_proj_bias.array == 0) and np.all(g.out_proj.bias.array == 0)
    gs = gk.nn.MultiheadAttention(E, 8, kdim=64, vdim=32)
    a = math.sqrt(6 / (E + 64))
    assert np.abs(gs.k_proj_weight.array).max() <= a
    assert abs(gs.k_proj_weight.array.std() - a / math.sqrt(3)) < 4 * a / math.sqrt(E * 64)


def test_deepcopy_gives_independent_parameters():
    m = gk.nn.MultiheadAttention(8, 2)
    c = copy.deepcopy(m)
    for (n, p), (_, q) in zip(m.named_parameters(), c.named_parameters()):
        assert p is not q and not np.shares_memory(p.array, q.array)
        np.testing.assert_array_equal(p.array, q.array)
        assert q.requires_grad
    c.in_proj_weight.array[...] = 0
    assert np.any(m.in_proj_weight.array != 0)


def test_train_eval_and_repr():
    m = gk.nn.MultiheadAttention(8, 2, dropout=0.1, batch_first=True)
    assert "embed_dim=8, num_heads=2, batch_first=True" in repr(m)
    assert not m.eval().training and not m.out_proj.training


# === errors ================================================================
def test_errors_name_the_layer_and_the_shapes():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        gk.nn.MultiheadAttention(10, 3)
    m = gk.nn.MultiheadAttention(8, 2)
    x = gk.randn(3, 2, 8)
    with pytest.raises(ValueError, match=r"MultiheadAttention\(embed_dim=8, num_heads=2\): query "
                                         r"has 7 features \(shape \(3, 2, 7\)\); expected embed_dim=8"):
        m(gk.randn(3, 2, 7), x, x)
    with pytest.raises(ValueError, match=r"2-D attn_mask has shape \(3, 4\); expected \(L, S\) = \(3, 3\)"):
        m(x, x, x, attn_mask=gk.zeros(3, 4))
    with pytest.raises(ValueError, match=r"3-D attn_mask has shape \(2, 3, 3\); expected "
                                         r"\(N\*num_heads, L, S\) = \(4, 3, 3\)"):
        m(x, x, x, attn_mask=gk.zeros(2, 3, 3))
    with pytest.raises(ValueError, match=r"key_padding_mask has shape \(3, 2\); expected \(N, S\) = \(2, 3\)"):
        m(x, x, x, key_padding_mask=gk.zeros(3, 2).bool())
    with pytest.raises(TypeError, match="only bool and floating types of attn_mask"):
        m(x, x, x, attn_mask=gk.zeros(3, 3).long())
    with pytest.raises(ValueError, match="is_causal=True .* needs attn_mask"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match=r"key has 5 features \(shape \(3, 2, 5\)\); expected kdim=4"):
        gk.nn.MultiheadAttention(8, 2, kdim=4, vdim=4)(x, gk.randn(3, 2, 5), gk.randn(3, 2, 4))

    class Net(gk.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = gk.nn.MultiheadAttention(8, 2)

        def forward(self, x):
            return self.attn(x, x, x)[0]
    with pytest.raises(ValueError, match=r"in layer 'attn' \(MultiheadAttention\).*\(3, 2, 6\)"):
        Net()(gk.randn(3, 2, 6))


def test_sdpa_errors():
    q = gk.randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"key.shape\[-1\] == query.shape\[-1\] = 4"):
        F.scaled_dot_product_attention(q, gk.randn(2, 3, 5), gk.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 4\) does not broadcast .*\(2, 3, 3\)"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=gk.zeros(4, 4))


@pytest.mark.parametrize("L,S,causal", [(7, 7, True), (1, 9, False), (4, 6, False)])
def test_sdpa_grouped_query_inference_path_matches_torch(L, S, causal):
    # without a graph, grouped-query attention stacks each key/value head's query heads as rows
    # of one product (its own code path): same values as PyTorch's
    import torch

    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(np.float32)
               for s in ((2, 6, L, 8), (2, 2, S, 8), (2, 2, S, 5)))
    with gk.no_grad():
        got = F.scaled_dot_product_attention(gk.tensor(q), gk.tensor(k), gk.tensor(v),
                                             is_causal=causal, enable_gqa=True)
    expected = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q), torch.tensor(k), torch.tensor(v), is_causal=causal, enable_gqa=True)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.array, expected.numpy(), atol=1e-6)


@pytest.mark.parametrize("groups", [1, 3])
@pytest.mark.parametrize("kind", ["bool", "float", "bool+causal", "float+causal"])
def test_sdpa_inference_path_with_masks_matches_torch(groups, kind):
    # masks other than the causal one take the inference path as an additive bias; a row with
    # every key masked gives zeros (as PyTorch's fused CPU kernel)
    import torch

    rng = np.random.default_rng(1)
    L = S = 6
    q = rng.standard_normal((2, 2 * groups, L, 8)).astype(np.float32)
    k, v = (rng.standard_normal((2, 2, S, 8)).astype(np.float32) for _ in range(2))
    if kind.startswith("bool"):
        mask = np.ones((2, 1, L, S), dtype=bool)
        mask[1, :, :, :2] = False  # left padding of row 1
    else:
        mask = rng.standard_normal((2, 1, L, S)).astype(np.float32)
    causal = kind.endswith("causal")
    with gk.no_grad():
        got = F.scaled_dot_product_attention(gk.tensor(q), gk.tensor(k), gk.tensor(v),
                                             attn_mask=gk.tensor(mask), is_causal=causal,
                                             enable_gqa=groups > 1)
    tm = torch.tensor(mask)
    if causal:
        tril = torch.ones(L, S, dtype=torch.bool).tril()
        tm = (tm & tril) if mask.dtype == bool else tm.masked_fill(~tril, float("-inf"))
    expected = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q), torch.tensor(k), torch.tensor(v), attn_mask=tm, enable_gqa=groups > 1)
    expected = torch.nan_to_num(expected, nan=0.0)  # PyTorch's math path: NaN for empty rows
    np.testing.assert_allclose(got.array, expected.numpy(), atol=1e-6)
