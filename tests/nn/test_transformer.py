"""TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and
Transformer against PyTorch (float64: outputs, input and parameter gradients), with
norm_first both ways, relu/gelu/callable activations, masks, train/eval; deep copies, default
initialisation, generate_square_subsequent_mask, gradcheck, errors."""
import math

import numpy as np
import pytest
import torch

import gradkit as gk

RTOL, ATOL = 1e-6, 1e-9
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")]


# === helpers ===============================================================
def _load(gm, tm):
    """Copy PyTorch's weights by name; the key lists must be identical."""
    assert list(gm.state_dict()) == list(tm.state_dict())
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return gm


def _compare(tm, gm, inputs, masks=None, rtol=RTOL, atol=ATOL, **kw):
    """Same inputs (float arrays, differentiated) and masks (not) through both; compare the
    output and the gradients of every input and parameter."""
    masks = masks or {}
    tin = [torch.tensor(a, requires_grad=True) for a in inputs]
    gin = [gk.tensor(a, requires_grad=True) for a in inputs]
    to = tm(*tin, **{k: torch.tensor(v) for k, v in masks.items()}, **kw)
    go = gm(*gin, **{k: gk.tensor(v) for k, v in masks.items()}, **kw)
    np.testing.assert_allclose(go.array, to.detach().numpy(), rtol=rtol, atol=atol)
    up = np.random.default_rng(0).standard_normal(go.shape)
    (to * torch.tensor(up)).sum().backward()
    (go * gk.tensor(up)).sum().backward()
    for i, (t, g) in enumerate(zip(tin, gin)):
        np.testing.assert_allclose(g.grad.array, t.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"grad of input {i}")
    tp = dict(tm.named_parameters())
    gp = dict(gm.named_parameters())
    assert list(gp) == list(tp)
    for n, p in gp.items():
        np.testing.assert_allclose(p.grad.array, tp[n].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"grad of {n}")
    return go


def _pair(cls, *args, **kw):
    tm = getattr(torch.nn, cls)(*args, dtype=torch.float64, **_torch_kw(kw))
    gm = getattr(gk.nn, cls)(*args, dtype=gk.float64, **_gk_kw(kw))
    return tm, _load(gm, tm)


def _torch_kw(kw):
    return {k: (torch.nn.GELU() if v == "GELU()" else v) for k, v in kw.items()}


def _gk_kw(kw):
    return {k: (gk.nn.GELU() if v == "GELU()" else v) for k, v in kw.items()}


def _seq(rng, batch_first, N, L, E):
    return rng.standard_normal((N, L, E) if batch_first else (L, N, E))


def _causal(L):
    return np.triu(np.full((L, L), -np.inf), 1)


def _kpm(rng, N, S):
    m = rng.random((N, S)) < 0.3
    m[:, 0] = False  # never a row with every key masked (NaN in PyTorch)
    return m


# === encoder layer =========================================================
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "GELU()"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first):
    tm, gm = _pair("TransformerEncoderLayer", 8, 2, 16, dropout=0.0, activation=activation,
                   norm_first=norm_first, batch_first=batch_first)
    rng = np.random.default_rng(0)
    x = _seq(rng, batch_first, 3, 5, 8)
    _compare(tm, gm, [x])
    _compare(tm, gm, [x], masks=dict(src_mask=_causal(5), src_key_padding_mask=_kpm(rng, 3, 5)))


@pytest.mark.parametrize("mask_kind", ["bool", "float_causal_hint"])
def test_encoder_layer_masks(mask_kind):
    tm, gm = _pair("TransformerEncoderLayer", 8, 4, 12, dropout=0.0, batch_first=True)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 8))
    if mask_kind == "bool":
        m = rng.random((6, 6)) < 0.4
        m[:, 0] = False
        _compare(tm, gm, [x], masks=dict(src_mask=m))
    else:
        _compare(tm, gm, [x], masks=dict(src_mask=_causal(6)), is_causal=True)


def test_encoder_layer_without_bias_and_unbatched():
    tm, gm = _pair("TransformerEncoderLayer", 8, 2, 16, dropout=0.0, bias=False)
    assert "norm1.bias" not in gm.state_dict() and "linear1.bias" not in gm.state_dict()
    x = np.random.default_rng(2).standard_normal((5, 8))  # (S, E): no batch
    out = _compare(tm, gm, [x], masks=dict(src_key_padding_mask=np.array([0, 0, 1, 0, 1], bool)))
    assert out.shape == (5, 8)


def test_encoder_layer_eval_with_dropout_matches_torch_and_train_drops():
    tm, gm = _pair("TransformerEncoderLayer", 8, 2, 16, dropout=0.3)
    tm.eval()
    gm.eval()
    x = np.random.default_rng(3).standard_normal((4, 2, 8))
    ref = _compare(tm, gm, [x])
    assert not any(m.training for m in gm.modules())
    gm.train()
    gk.manual_seed(7)
    a = gm(gk.tensor(x)).array
    gk.manual_seed(7)
    b = gm(gk.tensor(x)).array
    np.testing.assert_array_equal(a, b)  # the same seed draws the same masks
    assert np.abs(a - ref.array).max() > 1e-3


def test_encoder_layer_float32_stays_float32_and_matches_torch():
    tm = torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    gm = _load(gk.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True), tm)
    x = np.random.default_rng(11).standard_normal((2, 5, 16)).astype(np.float32)
    out = _compare(tm, gm, [x], masks=dict(src_key_padding_mask=_kpm(np.random.default_rng(0), 2, 5)),
                   rtol=1e-4, atol=1e-5)
    assert out.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in gm.parameters())


# === decoder layer =========================================================
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, activation):
    tm, gm = _pair("TransformerDecoderLayer", 8, 2, 16, dropout=0.0, activation=activation,
                   norm_first=norm_first)
    rng = np.random.default_rng(4)
    tgt, mem = _seq(rng, False, 3, 5, 8), _seq(rng, False, 3, 4, 8)
    _compare(tm, gm, [tgt, mem])
    mm = rng.standard_normal((5, 4))
    _compare(tm, gm, [tgt, mem], masks=dict(tgt_mask=_causal(5), memory_mask=mm,
                                            tgt_key_padding_mask=_kpm(rng, 3, 5),
                                            memory_key_padding_mask=_kpm(rng, 3, 4)))


def test_decoder_layer_batch_first_causal_hint_and_bool_masks():
    tm, gm = _pair("TransformerDecoderLayer", 8, 4, 16, dropout=0.0, batch_first=True)
    rng = np.random.default_rng(5)
    tgt, mem = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 3, 8))
    _compare(tm, gm, [tgt, mem], masks=dict(tgt_mask=_causal(5)), tgt_is_causal=True)
    mm = rng.random((5, 3)) < 0.5
    mm[:, 0] = False
    _compare(tm, gm, [tgt, mem], masks=dict(tgt_mask=np.isinf(_causal(5)), memory_mask=mm))


def test_decoder_layer_eval_with_dropout():
    tm, gm = _pair("TransformerDecoderLayer", 8, 2, 16, dropout=0.5, norm_first=True)
    tm.eval()
    gm.eval()
    rng = np.random.default_rng(6)
    _compare(tm, gm, [rng.standard_normal((4, 2, 8)), rng.standard_normal((3, 2, 8))])


# === stacks and the whole model ============================================
def test_encoder_two_layers_and_final_norm_match_torch():
    tl = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=torch.float64)
    tm = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(8, dtype=torch.float64))
    gl = gk.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=gk.float64)
    gm = _load(gk.nn.TransformerEncoder(gl, 2, norm=gk.nn.LayerNorm(8, dtype=gk.float64)), tm)
    assert "layers.1.self_attn.in_proj_weight" in gm.state_dict() and "norm.weight" in gm.state_dict()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 3, 8))
    _compare(tm, gm, [x])
    # a causal float mask is detected as causal (is_causal=None), as in PyTorch
    _compare(tm, gm, [x], masks=dict(mask=_causal(5), src_key_padding_mask=_kpm(rng, 3, 5)))
    _compare(tm, gm, [x], masks=dict(mask=_causal(5)))


def test_encoder_clones_are_independent_deep_copies():
    layer = gk.nn.TransformerEncoderLayer(8, 2, 16)
    enc = gk.nn.TransformerEncoder(layer, 3)
    ws = [enc.layers[i].self_attn.in_proj_weight for i in range(3)] + [layer.self_attn.in_proj_weight]
    assert len({id(w) for w in ws}) == 4
    assert len({id(w.array) for w in ws}) == 4 and not np.shares_memory(ws[0].array, ws[1].array)
    np.testing.assert_array_equal(ws[0].array, ws[1].array)  # copies start equal, as in PyTorch
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))
    assert all(p.requires_grad and p.is_leaf for p in enc.parameters())
    # training one copy leaves the others alone
    x = gk.randn(4, 2, 8)
    (enc.eval()(x) * gk.randn(4, 2, 8)).sum().backward()  # not .sum(): LayerNorm makes that constant
    with gk.no_grad():
        enc.layers[0].linear1.weight -= 0.1 * enc.layers[0].linear1.weight.grad
    assert not np.allclose(enc.layers[0].linear1.weight.array, enc.layers[1].linear1.weight.array)
    np.testing.assert_array_equal(enc.layers[1].linear1.weight.array, layer.linear1.weight.array)


def test_decoder_two_layers_and_final_norm_match_torch():
    tl = torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True, dtype=torch.float64)
    tm = torch.nn.TransformerDecoder(tl, 2, norm=torch.nn.LayerNorm(8, dtype=torch.float64))
    gl = gk.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True, dtype=gk.float64)
    gm = _load(gk.nn.TransformerDecoder(gl, 2, norm=gk.nn.LayerNorm(8, dtype=gk.float64)), tm)
    rng = np.random.default_rng(8)
    tgt, mem = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 4, 8))
    _compare(tm, gm, [tgt, mem], masks=dict(tgt_mask=_causal(5),
                                            memory_key_padding_mask=_kpm(rng, 2, 4)))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(norm_first):
    tm, gm = _pair("Transformer", 8, 2, 2, 1, 16, 0.0, norm_first=norm_first, batch_first=True)
    rng = np.random.default_rng(9)
    src, tgt = rng.standard_normal((2, 6, 8)), rng.standard_normal((2, 4, 8))
    mask = gk.nn.Transformer.generate_square_subsequent_mask(4, dtype=gk.float64)
    _compare(tm, gm, [src, tgt], masks=dict(tgt_mask=mask.array,
                                            src_key_padding_mask=_kpm(rng, 2, 6),
                                            memory_key_padding_mask=_kpm(rng, 2, 6)))


def test_generate_square_subsequent_mask_equals_torchs():
    for sz in (1, 4):
        g = gk.nn.Transformer.generate_square_subsequent_mask(sz)
        t = torch.nn.Transformer.generate_square_subsequent_mask(sz)
        np.testing.assert_array_equal(g.array, t.numpy())
        assert g.dtype == np.float32
    from gradkit.nn.transformer import generate_square_subsequent_mask
    assert generate_square_subsequent_mask(3, dtype=gk.float64).dtype == np.float64


def test_default_initialisation_matches_torch():
    # Transformer re-initialises every matrix with xavier_uniform_; LayerNorms are ones/zeros
    g = gk.nn.Transformer(64, 4, 1, 1, 256)
    t = torch.nn.Transformer(64, 4, 1, 1, 256)
    gs, ts = g.state_dict(), t.state_dict()
    assert list(gs) == list(ts)
    for name in ["encoder.layers.0.self_attn.in_proj_weight", "encoder.layers.0.linear1.weight",
                 "decoder.layers.0.multihead_attn.out_proj.weight", "decoder.layers.0.linear2.weight"]:
        w, tw = gs[name].array, ts[name].numpy()
        a = math.sqrt(6 / sum(w.shape))
        assert np.abs(w).max() <= a and abs(w.std() - a / math.sqrt(3)) < 4 * a / math.sqrt(w.size)
        assert abs(w.std() - tw.std()) < 6 * a / math.sqrt(w.size)
    for name in ["encoder.layers.0.self_attn.in_proj_bias", "encoder.norm.bias",
                 "decoder.layers.0.norm3.bias"]:
        np.testing.assert_array_equal(gs[name].array, ts[name].numpy())
    np.testing.assert_array_equal(gs["decoder.norm.weight"].array, 1.0)
    # the layer alone keeps Linear's default U(±1/√fan_in) outside the attention
    layer = gk.nn.TransformerEncoderLayer(64, 4, 256)
    w = layer.linear1.weight.array
    assert np.abs(w).max() <= 1 / 8 and abs(w.std() - 1 / 8 / math.sqrt(3)) < 4 / 8 / math.sqrt(w.size)


def test_gradcheck_tiny_layers():
    enc = gk.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, dtype=gk.float64)
    dec = gk.nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, norm_first=True, dtype=gk.float64)
    rng = np.random.default_rng(10)
    x = gk.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    m = gk.tensor(rng.standard_normal((2, 2, 4)), requires_grad=True)
    kpm = gk.tensor(np.array([[False, False, True], [False, False, False]]))
    gk.autograd.gradcheck(lambda x: enc(x, src_key_padding_mask=kpm), (x,))
    causal = gk.nn.Transformer.generate_square_subsequent_mask(3, dtype=gk.float64)
    gk.autograd.gradcheck(lambda x, m: dec(x, m, tgt_mask=causal), (x, m))


# === errors ================================================================
def test_errors():
    layer = gk.nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer: src must be \(S, N, 8\).*got "
                                         r"shape \(5, 3, 6\)"):
        layer(gk.randn(5, 3, 6))
    enc = gk.nn.TransformerEncoder(layer, 2)
    with pytest.raises(ValueError, match=r"in layer 'layers.0' \(TransformerEncoderLayer\)"):
        enc(gk.randn(5, 3, 6))
    dec = gk.nn.TransformerDecoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"memory must be .*got shape \(4, 3, 7\)"):
        dec(gk.randn(5, 3, 8), gk.randn(4, 3, 7))
    model = gk.nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(ValueError, match=r"same batch size \(dim 1\); got src \(5, 3, 8\), tgt \(4, 2, 8\)"):
        model(gk.randn(5, 3, 8), gk.randn(4, 2, 8))
    with pytest.raises(ValueError, match="d_model=8"):
        model(gk.randn(5, 3, 8), gk.randn(4, 3, 6))
    with pytest.raises(ValueError, match="activation should be 'relu', 'gelu' or a callable"):
        gk.nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="needs attn_mask"):
        layer(gk.randn(5, 3, 8), is_causal=True)
