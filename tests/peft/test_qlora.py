"""LoRA over a quantized base (QLoRA's idea): the frozen weights stay in llama.cpp's blocks and are
dequantized inside each product. The base computes with exactly the dequantized values, so
training over it must give the gradients and the trajectory of the same LoRA over the
dequantized float base; against the original float weights they differ by the quantization's
error only."""
import numpy as np
import pytest

import gradkit as gk
from gradkit import nn, optim
from gradkit.models import LlamaConfig, LlamaForCausalLM
from gradkit.peft import LoraConfig, PeftModel, get_peft_model

TINY32 = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
TARGETS = ["q_proj", "v_proj", "down_proj"]


def tiny(qtype=None):
    gk.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**TINY32)).double().train()
    if qtype:
        nn.quantized.quantize_linears(model, qtype)
    return model


def lora(model, seed=1):
    gk.manual_seed(seed)
    # a quantized layer's adapter is float32 (the blocks have no float dtype): .double() after
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS)).double()
    for name, p in peft.named_parameters():  # B away from zero, so that A gets gradients too
        if "lora_B" in name:
            p.array[:] = np.random.default_rng(abs(hash(name)) % 2**32).normal(0, 0.1, p.shape)
    return peft


def grads(peft, ids):
    out = peft(ids, labels=ids)
    out.loss.backward()
    return out.loss.item(), {n: p.grad.numpy().copy() for n, p in peft.named_parameters()
                             if p.requires_grad}


@pytest.fixture
def ids():
    return np.random.default_rng(2).integers(0, 64, size=(2, 9))


def test_quantize_linears_replaces_every_linear_but_the_head():
    model = tiny("Q4_1")
    kinds = {type(m).__name__ for n, m in model.named_modules() if n.endswith(("_proj",))}
    assert kinds == {"QuantizedLinear"} and type(model.lm_head) is nn.Linear
    assert not any("proj" in n for n, _ in model.named_parameters())


@pytest.mark.parametrize("qtype", ["Q4_1", "Q8_0"])
def test_same_gradients_as_the_dequantized_float_base(ids, qtype):
    quantized = tiny(qtype)
    floats = tiny(qtype)
    for name, m in list(floats.named_modules()):
        if isinstance(m, nn.QuantizedLinear):
            floats.set_submodule(name, m.dequantize().double())
    loss_q, g_q = grads(lora(quantized), ids)
    loss_f, g_f = grads(lora(floats), ids)
    # the float copy was dequantized in float32 (as llama.cpp does), the float64 product
    # dequantizes in float64: the weights differ by float32's rounding, ~1e-8 relative
    assert loss_q == pytest.approx(loss_f, rel=1e-7)
    assert g_q.keys() == g_f.keys() and len(g_q) == 2 * 3 * 2
    for k in g_q:
        np.testing.assert_allclose(g_q[k], g_f[k], rtol=1e-6, atol=1e-9, err_msg=k)


@pytest.mark.parametrize("qtype,tol", [("Q8_0", 0.02), ("Q4_1", 0.3)])
def test_against_the_original_weights_within_the_quantization_error(ids, qtype, tol):
    _, g_q = grads(lora(tiny(qtype)), ids)
    _, g_f = grads(lora(tiny()), ids)
    rel = max(np.linalg.norm(g_q[k] - g_f[k]) / np.linalg.norm(g_f[k]) for k in g_q)
    # Q8_0 keeps ~0.4% of a weight's magnitude as error, Q4_1 ~6%: gradients move about as much
    assert 0 < rel < tol


def test_a_trajectory_over_the_quantized_base_matches_the_float_one(ids):
    losses = {}
    for kind in ("quantized", "float"):
        model = tiny("Q4_1")
        if kind == "float":
            for name, m in list(model.named_modules()):
                if isinstance(m, nn.QuantizedLinear):
                    model.set_submodule(name, m.dequantize().double())
        peft = lora(model)
        opt = optim.AdamW(peft.trainable_parameters(), lr=1e-2)
        losses[kind] = []
        for _ in range(5):
            opt.zero_grad()
            loss = peft(ids, labels=ids).loss
            loss.backward()
            opt.step()
            losses[kind].append(loss.item())
    assert losses["quantized"][-1] < losses["quantized"][0]
    np.testing.assert_allclose(losses["quantized"], losses["float"], rtol=1e-6)


def test_merging_into_a_quantized_base_says_how_to_merge(ids):
    peft = lora(tiny("Q4_1"))
    with pytest.raises(ValueError, match="base layer is quantized .*Q4_1.*dequantize"):
        peft.merge_and_unload()


def test_lora_on_smollm2_kept_quantized(smollm2_file, tmp_path):
    """The real model: Q4_1 blocks (and a Q8_0 embedding tied to the head) kept as they are."""
    q = LlamaForCausalLM.from_pretrained(smollm2_file, keep_quantized=True)
    f = LlamaForCausalLM.from_pretrained(smollm2_file)
    resident, float32 = nn.quantized.weight_bytes(q), nn.quantized.weight_bytes(f)
    assert float32 == sum(p.array.nbytes for p in f.parameters())
    blocks = {id(m.weight): m.weight.nbytes for m in q.modules()
              if isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding))}
    assert resident == sum(blocks.values()) + sum(p.array.nbytes for p in q.parameters())
    assert nn.quantized.weight_count(q) == nn.quantized.weight_count(f) == 134_515_008
    assert resident <= 0.35 * float32, resident / float32
    assert type(q.model.embed_tokens) is nn.QuantizedEmbedding and q.lm_head.weight is q.model.embed_tokens.weight

    ids = np.array([q.tokenizer.encode("The capital of France is")])
    with gk.no_grad():
        np.testing.assert_allclose(q(ids).logits.numpy(), f(ids).logits.numpy(), atol=1e-3)

    with pytest.raises(ValueError, match="dequantize"):
        q.save_pretrained(tmp_path / "full")
    gk.manual_seed(0)
    peft_q = get_peft_model(q, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    gk.manual_seed(0)
    peft_f = get_peft_model(f, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    for pq, pf in zip(peft_q.trainable_parameters(), peft_f.trainable_parameters()):
        np.testing.assert_array_equal(pq.detach().numpy(), pf.detach().numpy())
        if pq.shape[1] == 4:  # B: away from zero, the same in both
            pq.array[:] = pf.array[:] = np.random.default_rng(3).normal(0, 0.02, pq.shape)
    trainable, total = peft_q.get_nb_trainable_parameters()
    assert (trainable, total) == peft_f.get_nb_trainable_parameters()
    peft_q.train(), peft_f.train()
    loss_q, g_q = grads(peft_q, ids)
    loss_f, g_f = grads(peft_f, ids)
    assert loss_q == pytest.approx(loss_f, abs=1e-4)
    for k in g_q:
        np.testing.assert_allclose(g_q[k], g_f[k], rtol=1e-3, atol=1e-3 * np.abs(g_f[k]).max(),
                                   err_msg=k)

    # the adapter trained on the quantized base loads on the float one (PEFT's format)
    peft_q.save_pretrained(tmp_path / "adapter")
    f2 = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(smollm2_file), tmp_path / "adapter")
    with gk.no_grad():
        peft_q.eval()
        np.testing.assert_allclose(f2(ids).logits.numpy(), peft_q(ids).logits.numpy(), atol=1e-3)
    # and dequantize() gives back the float model: the same weights, bit for bit
    q2 = LlamaForCausalLM.from_pretrained(smollm2_file, keep_quantized=True).dequantize()
    assert not any(isinstance(m, nn.QuantizedLinear) for m in q2.modules())
    f3 = LlamaForCausalLM.from_pretrained(smollm2_file)
    for (n2, p2), (n3, p3) in zip(q2.state_dict().items(), f3.state_dict().items()):
        assert n2 == n3
        np.testing.assert_array_equal(p2.numpy(), p3.numpy(), err_msg=n2)


def test_keep_quantized_needs_a_gguf_file(tmp_path):
    model = tiny()
    model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="keep_quantized=True keeps a GGUF file's quantized blocks"):
        LlamaForCausalLM.from_pretrained(tmp_path, keep_quantized=True)
