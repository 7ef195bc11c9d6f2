"""Saving and loading an adapter in gradkit: the folder, the round trip, trainability."""
import json

import numpy as np

import gradkit as gk
from gradkit.models import LlamaConfig, LlamaForCausalLM
from gradkit.peft import LoraConfig, LoraLinear, PeftModel, get_peft_model

from tiny_configs import TINY_LLAMA


def logits(model, ids):
    with gk.no_grad():
        return model(ids).logits.array.copy()


def _copy_of(model):
    other = LlamaForCausalLM(LlamaConfig(**TINY_LLAMA)).double().eval()
    other.load_state_dict(model.state_dict())
    return other


def test_round_trip_gives_the_same_outputs(tiny_llama, ids, randomize_B, tmp_path):
    fresh_base = _copy_of(tiny_llama)
    model = randomize_B(get_peft_model(tiny_llama, LoraConfig(
        r=4, lora_alpha=16, target_modules=["q_proj", "o_proj", "down_proj"],
        modules_to_save=["lm_head"])))
    gk.nn.init.normal_(model.base_model.model.lm_head.modules_to_save["default"].weight)
    model.save_pretrained(tmp_path)
    loaded = PeftModel.from_pretrained(fresh_base, tmp_path)
    np.testing.assert_array_equal(logits(loaded, ids), logits(model, ids))
    assert loaded.peft_config["default"].target_modules == ["q_proj", "o_proj", "down_proj"]
    # is_trainable=False (PEFT's default): frozen, in eval mode
    assert not any(p.requires_grad for p in loaded.parameters())
    assert not loaded.training


def test_loaded_with_is_trainable_the_adapter_trains(tiny_llama, randomize_B, tmp_path):
    fresh_base = _copy_of(tiny_llama)
    get_peft_model(tiny_llama, LoraConfig(r=4)).save_pretrained(tmp_path)
    loaded = PeftModel.from_pretrained(fresh_base, tmp_path, is_trainable=True)
    trainable = [n for n, p in loaded.named_parameters() if p.requires_grad]
    assert len(trainable) == 8 and all(".lora_" in n for n in trainable)


def test_folder_holds_peft_s_files_and_fields(tiny_llama, tmp_path):
    tiny_llama.name_or_path = "org/tiny-llama"  # transformers' attribute, read as PEFT does
    model = get_peft_model(tiny_llama, LoraConfig(r=4, lora_alpha=8, task_type="CAUSAL_LM"))
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["task_type"] == "CAUSAL_LM"
    assert config["base_model_name_or_path"] == "org/tiny-llama"
    assert config["inference_mode"] is True  # as PEFT writes it, whatever the model's mode
    assert (config["r"], config["lora_alpha"], config["target_modules"]) == (4, 8,
                                                                             ["q_proj", "v_proj"])
    from safetensors import safe_open
    with safe_open(tmp_path / "adapter_model.safetensors", "np") as f:
        keys = sorted(f.keys())
        assert f.metadata() == {"format": "pt"}
    assert keys[0] == "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
    assert len(keys) == 8 and not any(".default." in k for k in keys)


def test_state_dict_keys_are_peft_s(tiny_llama):
    keys = list(get_peft_model(tiny_llama, LoraConfig(r=4)).state_dict())
    assert "base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight" in keys
    assert "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight" in keys
    assert "base_model.model.model.layers.0.self_attn.k_proj.weight" in keys


def test_get_peft_model_does_not_change_the_caller_s_config(tiny_llama):
    config = LoraConfig(r=4, target_modules="all-linear")
    model = get_peft_model(tiny_llama, config)
    assert config.target_modules == "all-linear"
    assert len(model.peft_config["default"].target_modules) == 2 * 7  # every Linear but lm_head
    assert sum(isinstance(m, LoraLinear) for m in model.modules()) == 14
