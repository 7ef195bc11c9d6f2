"""The LoRA layer and a model with adapters: identity at start, the formula, merging, disabling,
which parameters train, generation."""
import math

import numpy as np
import pytest

import gradkit as gk
from gradkit import nn
from gradkit.peft import LoraConfig, LoraLinear, get_peft_model


def logits(model, ids):
    with gk.no_grad():
        return model(ids).logits.array.copy()


# === the layer
def test_layer_computes_base_plus_scaled_low_rank_update(randomize_B):
    base = nn.Linear(6, 5).double()
    layer = randomize_B(LoraLinear(base, r=3, lora_alpha=12))
    x = np.random.default_rng(0).normal(size=(4, 6))
    A, B = layer.lora_A["default"].weight.array, layer.lora_B["default"].weight.array
    W, b = base.weight.array, base.bias.array
    expected = x @ W.T + b + (x @ A.T @ B.T) * (12 / 3)
    np.testing.assert_allclose(layer(gk.tensor(x)).array, expected, rtol=1e-12, atol=1e-12)
    assert layer.scaling["default"] == 4.0
    assert layer.weight is base.weight and layer.bias is base.bias


def test_initialisation_is_peft_s_kaiming_uniform_for_A_and_zero_for_B():
    layer = LoraLinear(nn.Linear(400, 300), r=64, lora_alpha=16)
    A, B = layer.lora_A["default"].weight.array, layer.lora_B["default"].weight.array
    bound = 1 / math.sqrt(400)  # kaiming_uniform(a=√5) on fan_in 400
    assert A.shape == (64, 400) and B.shape == (300, 64)
    assert np.abs(A).max() <= bound and np.abs(A).max() > 0.99 * bound
    assert abs(A.std() - bound / math.sqrt(3)) < 0.02 * bound  # U(-b, b) has std b/√3
    assert not B.any()
    gaussian = LoraLinear(nn.Linear(400, 300), r=64, init_lora_weights="gaussian")
    assert abs(gaussian.lora_A["default"].weight.array.std() - 1 / 64) < 0.001


def test_rslora_scales_by_alpha_over_root_r():
    layer = LoraLinear(nn.Linear(4, 4), r=16, lora_alpha=8, use_rslora=True)
    assert layer.scaling["default"] == 8 / 4


def test_dropout_acts_on_the_adapter_input_in_training_only(randomize_B):
    layer = randomize_B(LoraLinear(nn.Linear(50, 50).double(), r=4, lora_dropout=0.5))
    x = gk.tensor(np.ones((8, 50)))
    layer.eval()
    a, b = layer(x).array, layer(x).array
    np.testing.assert_array_equal(a, b)
    layer.train()
    assert not np.allclose(layer(x).array, a)


# === a model with adapters
def test_fresh_adapter_leaves_outputs_exactly_unchanged(tiny_llama, ids):
    before = logits(tiny_llama, ids)
    model = get_peft_model(tiny_llama, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    np.testing.assert_array_equal(logits(model, ids), before)


def test_merge_equals_unmerged_and_unmerge_restores(tiny_llama, ids, randomize_B):
    base = logits(tiny_llama, ids)
    weights = {k: v.array.copy() for k, v in tiny_llama.state_dict().items()}
    model = randomize_B(get_peft_model(tiny_llama, LoraConfig(r=4, lora_alpha=8,
                                                               target_modules="all-linear")))
    unmerged = logits(model, ids)
    assert np.abs(unmerged - base).max() > 1e-2  # the adapter matters
    model.merge_adapter()
    layers = model.base_model.lora_layers()
    assert layers and all(layer.merged for layer in layers)
    np.testing.assert_allclose(logits(model, ids), unmerged, rtol=0, atol=1e-10)
    model.unmerge_adapter()
    assert not any(layer.merged for layer in layers)
    np.testing.assert_allclose(logits(model, ids), unmerged, rtol=0, atol=1e-12)
    for k, w in model.get_base_model().state_dict().items():
        if ".lora_" not in k:
            np.testing.assert_allclose(w.array, weights[k.replace(".base_layer", "")],
                                       rtol=0, atol=1e-14)


def test_disable_adapter_gives_the_base_model_outputs(tiny_llama, ids, randomize_B):
    base = logits(tiny_llama, ids)
    model = randomize_B(get_peft_model(tiny_llama, LoraConfig(r=4, modules_to_save=["lm_head"])))
    nn.init.normal_(model.base_model.model.lm_head.modules_to_save["default"].weight)
    adapted = logits(model, ids)
    with model.disable_adapter():
        np.testing.assert_array_equal(logits(model, ids), base)
    np.testing.assert_array_equal(logits(model, ids), adapted)
    model.merge_adapter()  # PEFT: a disabled merged layer unmerges first
    with model.disable_adapter():
        np.testing.assert_allclose(logits(model, ids), base, rtol=0, atol=1e-12)


def test_only_adapters_and_modules_to_save_get_gradients(tiny_llama, ids, randomize_B):
    model = randomize_B(get_peft_model(tiny_llama, LoraConfig(r=4, modules_to_save=["lm_head"])))
    model.train()
    model(ids, labels=ids).loss.backward()
    trained = {n for n, p in model.named_parameters() if p.grad is not None}
    wanted = {n for n, _ in model.named_parameters()
              if ".lora_A." in n or ".lora_B." in n or ".modules_to_save." in n}
    assert trained == wanted
    assert len(wanted) == 2 * 2 * 2 + 1  # (A, B) x (q, v) x 2 layers + the lm_head copy
    assert {n for n, p in model.named_parameters() if p.requires_grad} == wanted


def test_optimizer_moves_only_the_adapter(tiny_llama, ids, randomize_B):
    model = randomize_B(get_peft_model(tiny_llama, LoraConfig(r=4)))
    before = {k: v.array.copy() for k, v in model.state_dict().items()}
    opt = gk.optim.AdamW(model.parameters(), lr=1e-2)
    model(ids, labels=ids).loss.backward()
    opt.step()
    changed = {k for k, v in model.state_dict().items() if not np.array_equal(v.array, before[k])}
    assert changed and all(".lora_" in k for k in changed)


def test_merge_and_unload_returns_the_base_model_with_plain_linears(tiny_llama, ids, randomize_B):
    tiny_llama.fuse_projections()  # as from_pretrained does
    model = randomize_B(get_peft_model(tiny_llama, LoraConfig(r=4, target_modules="all-linear")))
    adapted = logits(model, ids)
    merged = model.merge_and_unload()
    assert merged is tiny_llama
    assert not any(isinstance(m, LoraLinear) for m in merged.modules())
    assert all(type(m) is nn.Linear for n, m in merged.named_modules() if n.endswith("_proj"))
    np.testing.assert_allclose(logits(merged, ids), adapted, rtol=0, atol=1e-10)
    # the merged weights are still views of the fused q/k/v buffer: the one-GEMM path is valid
    attn = merged.model.layers[0].self_attn
    with gk.no_grad():
        assert attn.qkv(gk.zeros(1, 16, dtype=gk.float64)) is not None


def test_unload_restores_the_original_model(tiny_llama, ids, randomize_B):
    base = logits(tiny_llama, ids)
    model = randomize_B(get_peft_model(tiny_llama, LoraConfig(r=4, modules_to_save=["lm_head"])))
    model.merge_adapter()
    original = model.unload()
    assert not any(isinstance(m, LoraLinear) for m in original.modules())
    np.testing.assert_allclose(logits(original, ids), base, rtol=0, atol=1e-12)


def test_generate_runs_through_the_adapter(tiny_llama, ids, randomize_B):
    model = randomize_B(get_peft_model(tiny_llama, LoraConfig(r=4, target_modules="all-linear")),
                        std=2.0)
    out = model.generate(ids[:1], max_new_tokens=6)
    assert out.shape == (1, 13)
    with model.disable_adapter():
        assert not np.array_equal(model.generate(ids[:1], max_new_tokens=6).array, out.array)
    merged = model.merge_and_unload()
    np.testing.assert_array_equal(merged.generate(ids[:1], max_new_tokens=6).array, out.array)


def test_peft_model_reads_the_model_s_attributes(tiny_llama):
    model = get_peft_model(tiny_llama, LoraConfig())
    assert model.config is tiny_llama.config
    assert model.get_base_model() is tiny_llama and model.base_model.model is tiny_llama
    assert model.peft_config["default"].target_modules == ["q_proj", "v_proj"]
    with pytest.raises(AttributeError):
        model.no_such_attribute
