"""Bad input gets an error that says what is wrong and how to fix it."""
import json

import numpy as np
import pytest

from gradkit import nn
from gradkit.models import LlamaConfig, LlamaForCausalLM
from gradkit.peft import LoraConfig, LoraLinear, PeftModel, get_peft_model

from tiny_configs import TINY_LLAMA

LINEARS = "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, lm_head"


def test_a_target_name_that_matches_nothing_lists_the_linear_names(tiny_llama):
    with pytest.raises(ValueError) as e:
        get_peft_model(tiny_llama, LoraConfig(target_modules=["q_proj", "qproj"]))
    msg = str(e.value)
    assert "['qproj']" in msg and LINEARS in msg and "all-linear" in msg
    assert not any(isinstance(m, LoraLinear) for m in tiny_llama.modules())  # nothing changed


def test_a_regex_that_matches_nothing_says_it_is_matched_against_full_names(tiny_llama):
    with pytest.raises(ValueError, match=r"regular expression.*matches no module.*q_proj, k_proj"):
        get_peft_model(tiny_llama, LoraConfig(target_modules=r"q_proj"))


def test_layers_to_transform_that_selects_nothing(tiny_llama):
    with pytest.raises(ValueError, match=r"none is left in layers_to_transform=\[5\]"):
        get_peft_model(tiny_llama, LoraConfig(layers_to_transform=[5]))


@pytest.mark.parametrize("r", [0, -2, 1.5])
def test_rank_must_be_a_positive_integer(r):
    with pytest.raises(ValueError, match=f"r must be a positive integer.*got {r}"):
        LoraConfig(r=r)


def test_other_bad_config_values():
    with pytest.raises(ValueError, match="bias='some' is not one of none, all, lora_only"):
        LoraConfig(bias="some")
    with pytest.raises(ValueError, match="lora_dropout must be in"):
        LoraConfig(lora_dropout=1.5)
    with pytest.raises(ValueError, match="task_type='CLASSIFY' is not one of SEQ_CLS"):
        LoraConfig(task_type="CLASSIFY")


@pytest.mark.parametrize("target,kind,hint", [
    ("mlp", "LlamaMLP", "gate_proj, up_proj, down_proj"),
    ("embed_tokens", "Embedding", "q_proj, k_proj"),
])
def test_a_target_that_is_not_a_linear_says_what_is_supported(tiny_llama, target, kind, hint):
    with pytest.raises(TypeError) as e:
        get_peft_model(tiny_llama, LoraConfig(target_modules=[target]))
    msg = str(e.value)
    assert f"is a {kind}" in msg and "wraps nn.Linear and nn.QuantizedLinear layers only" in msg and hint in msg


def test_no_default_targets_for_an_unknown_model():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    with pytest.raises(ValueError, match=r"no default for model type None.*give target_modules"):
        get_peft_model(net, LoraConfig())
    model = get_peft_model(net, LoraConfig(r=2, target_modules=["0", "2"]))  # Sequential names
    assert model.get_nb_trainable_parameters() == (2 * (4 + 8) + 2 * (8 + 2), 58 + 44)


def test_modules_to_save_that_match_nothing(tiny_llama):
    with pytest.raises(ValueError, match=r"modules_to_save \['classifier'\] match no module.*"
                                         r"direct children are model, lm_head"):
        get_peft_model(tiny_llama, LoraConfig(modules_to_save=["classifier"]))


def test_a_second_adapter_on_an_adapted_model_is_refused(tiny_llama):
    model = get_peft_model(tiny_llama, LoraConfig(r=2))
    with pytest.raises(ValueError, match="already is a PeftModel"):
        get_peft_model(model, LoraConfig(r=2))
    with pytest.raises(ValueError, match="already has a LoRA adapter.*merge_and_unload"):
        get_peft_model(tiny_llama, LoraConfig(r=2, target_modules=["q_proj"]))


# === adapters that do not fit the base model
def _saved_adapter(folder, hidden, name):
    config = LlamaConfig(**dict(TINY_LLAMA, hidden_size=hidden))
    model = get_peft_model(LlamaForCausalLM(config), LoraConfig(r=4, base_model_name_or_path=name))
    model.save_pretrained(folder)


def test_an_adapter_for_another_base_names_both_and_the_shapes(tiny_llama, ids, tmp_path):
    _saved_adapter(tmp_path, hidden=32, name="org/llama-hidden-32")
    before = tiny_llama(ids).logits.array.copy()
    with pytest.raises(ValueError) as e:
        PeftModel.from_pretrained(tiny_llama, tmp_path)
    msg = str(e.value)
    assert "base_model_name_or_path='org/llama-hidden-32'" in msg
    assert "this model is a LlamaForCausalLM (hidden_size=16, num_hidden_layers=2" in msg
    assert "q_proj.lora_A.weight: adapter (4, 32), model (4, 16)" in msg
    # the model is left as it was: no adapter layers, nothing frozen, same outputs
    assert not any(isinstance(m, LoraLinear) for m in tiny_llama.modules())
    assert all(p.requires_grad for p in tiny_llama.parameters())
    np.testing.assert_array_equal(tiny_llama(ids).logits.array, before)


def test_an_adapter_for_another_architecture_names_its_base(tiny_llama, tmp_path):
    LoraConfig(r=4, target_modules=["query", "value"],
               base_model_name_or_path="sentence-transformers/all-MiniLM-L6-v2"
               ).save_pretrained(tmp_path)
    (tmp_path / "adapter_model.safetensors").write_bytes(b"")
    from gradkit.models import pretrained
    pretrained.save_safetensors(tmp_path / "adapter_model.safetensors",
                                {"base_model.model.encoder.layer.0.attention.self.query.lora_A"
                                 ".weight": np.zeros((4, 16), np.float32)})
    with pytest.raises(ValueError, match=r"\['query', 'value'\] match no module.*"
                                         r"made for base_model_name_or_path="
                                         r"'sentence-transformers/all-MiniLM-L6-v2'"):
        PeftModel.from_pretrained(tiny_llama, tmp_path)


def test_a_folder_without_the_adapter_files(tiny_llama, tmp_path):
    with pytest.raises(FileNotFoundError, match="no adapter_config.json"):
        PeftModel.from_pretrained(tiny_llama, tmp_path)
    LoraConfig().save_pretrained(tmp_path)
    (tmp_path / "adapter_model.bin").write_bytes(b"pickle")
    with pytest.raises(FileNotFoundError, match="adapter_model.bin.*safetensors only"):
        PeftModel.from_pretrained(tiny_llama, tmp_path)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        PeftModel.from_pretrained(tiny_llama, tmp_path / "missing")


def test_a_lora_variant_gradkit_does_not_implement_is_refused(tiny_llama, tmp_path):
    config = LoraConfig().to_dict() | {"use_dora": True}
    (tmp_path / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="use_dora=True, a LoRA variant that gradkit.peft does "
                                         "not implement"):
        PeftModel.from_pretrained(tiny_llama, tmp_path)
