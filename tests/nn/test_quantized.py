"""nn.quantized: llama.cpp's block formats (checked byte for byte against the gguf package, the
reference reader/writer) and QuantizedLinear/QuantizedEmbedding (checked against PyTorch's linear
on the dequantized weight, in float64, and by gradcheck)."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit import nn
from gradkit.autograd.gradcheck import gradcheck
from gradkit.nn.quantized import FORMATS, BlockQuantized

gguf = pytest.importorskip("gguf")  # in the test extra

QTYPES = sorted(FORMATS)


@pytest.fixture
def w():
    return np.random.default_rng(0).normal(0, 0.5, (48, 96)).astype(np.float32)


@pytest.mark.parametrize("qtype", QTYPES)
def test_quantize_writes_llama_cpps_bytes(w, qtype):
    ours = BlockQuantized.quantize(w, qtype)
    ref = gguf.quants.quantize(w, getattr(gguf.GGMLQuantizationType, qtype))
    assert ours.blocks.shape == (48, 96 // 32 * FORMATS[qtype])
    np.testing.assert_array_equal(ours.blocks, ref.reshape(ours.blocks.shape))


@pytest.mark.parametrize("qtype", QTYPES)
def test_dequantize_reads_llama_cpps_values(qtype):
    # arbitrary bytes, not just ones our quantizer writes: every scale, minimum and nibble
    rng = np.random.default_rng(1)
    blocks = rng.integers(0, 256, (16, 3 * FORMATS[qtype]), dtype=np.uint8)
    size = FORMATS[qtype]
    for b in range(3):  # finite float16 scales (random bytes could make inf/NaN)
        for off in ((0, 2) if qtype == "Q4_1" else (0,)):
            col = b * size + off
            blocks[:, col:col + 2] = rng.normal(0, 1, (16, 1)).astype(np.float16).view(np.uint8)
    ours = BlockQuantized(blocks, qtype, (16, 96))
    ref = gguf.quants.dequantize(blocks, getattr(gguf.GGMLQuantizationType, qtype))
    np.testing.assert_array_equal(ours.dequantize(), ref.reshape(16, 96))
    np.testing.assert_array_equal(ours.dequantize(np.array([5, 0, 5])), ref.reshape(16, 96)[[5, 0, 5]])
    np.testing.assert_array_equal(ours.dequantize(slice(3, 9), np.float64), ref.reshape(16, 96)[3:9])


# Q4_0 maps the largest magnitude to -8, so the other sign's extreme gets only up to +7: its
# error can reach a whole step (|max| / 8), i.e. half of |max| / 4
@pytest.mark.parametrize("qtype,steps", [("Q8_0", 127), ("Q4_0", 4), ("Q4_1", 15)])
def test_the_error_is_within_half_a_step_of_each_block(w, qtype, steps):
    err = np.abs(BlockQuantized.quantize(w, qtype).dequantize() - w).reshape(48, 3, 32)
    blocks = w.reshape(48, 3, 32)
    span = np.abs(blocks).max(-1) if qtype != "Q4_1" else blocks.max(-1) - blocks.min(-1)
    step = span / steps
    # half a step, plus float16's rounding of the scale (and of Q4_1's minimum)
    assert (err.max(-1) <= 0.5 * step + 2e-3 * np.abs(blocks).max(-1)).all()
    assert err.max() > 0  # it is a lossy format


def test_sizes_against_float32(w):
    assert BlockQuantized.quantize(w, "Q4_1").nbytes / w.nbytes == pytest.approx(20 / 128)
    assert BlockQuantized.quantize(w, "Q8_0").nbytes / w.nbytes == pytest.approx(34 / 128)


@pytest.mark.parametrize("qtype", QTYPES)
def test_quantized_linear_is_linear_on_the_dequantized_weight(w, qtype, monkeypatch):
    monkeypatch.setattr(nn.quantized, "CHUNK_ELEMENTS", 96 * 7)  # several chunks, a short last one
    bias = nn.Parameter(gk.tensor(np.linspace(-1, 1, 48)))
    layer = nn.QuantizedLinear(BlockQuantized.quantize(w, qtype), bias)
    x = np.random.default_rng(2).normal(size=(2, 5, 96))
    W = torch.tensor(layer.weight.dequantize(dtype=np.float64))
    xt = torch.tensor(x, requires_grad=True)
    bt = torch.tensor(bias.array, requires_grad=True)
    ref = torch.nn.functional.linear(xt, W, bt)
    xg = gk.tensor(x, requires_grad=True)
    y = layer(xg)
    assert y.dtype == gk.float64
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(3).normal(size=ref.shape)
    ref.backward(torch.tensor(g))
    y.backward(gk.tensor(g))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bias.grad.numpy(), bt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_gradcheck_first_and_second_order(w, monkeypatch):
    monkeypatch.setattr(nn.quantized, "CHUNK_ELEMENTS", 96 * 5)
    layer = nn.QuantizedLinear(BlockQuantized.quantize(w, "Q4_1"))
    x = gk.tensor(np.random.default_rng(4).normal(size=(3, 96)), requires_grad=True)
    assert gradcheck(lambda x: layer(x).tanh(), (x,))
    # second order: the backward (g W, itself a quantized product) differentiated again
    assert gradcheck(lambda x: gk.grad(layer(x).tanh().sum(), x, create_graph=True)[0], (x,))


def test_from_linear_and_back():
    gk.manual_seed(0)
    linear = nn.Linear(64, 8)
    q = nn.QuantizedLinear.from_linear(linear, "Q8_0")
    assert [n for n, _ in q.named_parameters()] == ["bias"]  # the blocks are not a Parameter
    back = q.dequantize()
    assert type(back) is nn.Linear and back.bias is linear.bias
    np.testing.assert_array_equal(back.weight.detach().numpy(), q.weight.dequantize())
    np.testing.assert_allclose(back.weight.detach().numpy(), linear.weight.detach().numpy(), atol=0.01 * 0.2)
    assert "format=Q8_0" in repr(q)


def test_quantized_embedding_looks_rows_up(w):
    emb = nn.QuantizedEmbedding(BlockQuantized.quantize(w, "Q4_1"), padding_idx=0)
    ids = np.array([[3, 0, 47], [1, 1, 2]])
    out = emb(gk.tensor(ids))
    assert out.shape == (2, 3, 96) and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), emb.weight.dequantize()[ids])
    back = emb.dequantize()
    np.testing.assert_array_equal(back(gk.tensor(ids)).detach().numpy(), out.numpy())
    with pytest.raises(IndexError, match="index 48 out of range for 48"):
        emb(gk.tensor(np.array([48])))
    with pytest.raises(IndexError, match="index -1 out of range"):
        emb(gk.tensor(np.array([-1])))


def test_bad_input_gets_a_clear_error(w):
    with pytest.raises(ValueError, match="unknown format 'Q5_K'; supported: Q8_0, Q4_0, Q4_1"):
        BlockQuantized.quantize(w, "Q5_K")
    with pytest.raises(ValueError, match="40 columns is not a multiple of the block size 32"):
        BlockQuantized.quantize(np.ones((2, 40)), "Q8_0")
    with pytest.raises(ValueError, match=r"do not hold a \(4, 64\) matrix; expected \(4, 68\)"):
        BlockQuantized(np.zeros((4, 60), np.uint8), "Q8_0", (4, 64))
    with pytest.raises(TypeError, match="QuantizedLinear.from_linear"):
        nn.QuantizedLinear(np.ones((4, 32)))
    layer = nn.QuantizedLinear(BlockQuantized.quantize(w, "Q8_0"))
    with pytest.raises(ValueError, match="input has 95 features .* must be 96"):
        layer(gk.ones(2, 95))
