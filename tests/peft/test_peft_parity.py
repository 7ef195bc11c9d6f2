"""The same LoraConfig on the same architecture does what PEFT does: the same modules adapted,
the same parameters trainable, the same printed line, the same saved keys and config fields.
The reference is Hugging Face PEFT on the transformers model with the same names."""
import json
import os

import pytest

from gradkit.models import BertConfig, BertModel, LlamaConfig, LlamaForCausalLM
from gradkit.peft import LoraConfig, LoraLinear, get_peft_model

from tiny_configs import TINY_BERT as BERT
from tiny_configs import TINY_LLAMA as TINY

peft = pytest.importorskip("peft")
transformers = pytest.importorskip("transformers")


def _models(kind):
    if kind == "llama":
        return (transformers.LlamaForCausalLM(transformers.LlamaConfig(**TINY)),
                LlamaForCausalLM(LlamaConfig(**TINY)))
    return transformers.BertModel(transformers.BertConfig(**BERT)), BertModel(BertConfig(**BERT))


def _adapted(model, cls):
    return sorted(n.removeprefix("base_model.model.") for n, m in model.named_modules()
                  if isinstance(m, cls))


CASES = [
    ("llama", dict(r=4)),                                            # PEFT's default targets
    ("llama", dict(r=4, target_modules="all-linear", lora_alpha=16)),
    ("llama", dict(r=2, target_modules=["k_proj", "down_proj"], layers_to_transform=[1])),
    ("llama", dict(r=2, target_modules=r".*\.1\.mlp\.(gate|up)_proj")),
    ("llama", dict(r=4, modules_to_save=["lm_head"])),
    ("llama", dict(r=2, target_modules="all-linear", exclude_modules=["down_proj", "up_proj"])),
    ("bert", dict(r=4)),
    ("bert", dict(r=4, bias="all")),
    ("bert", dict(r=4, bias="lora_only", target_modules=["query", "dense"])),
]


@pytest.mark.parametrize("kind,options", CASES,
                         ids=[f"{k}-{'-'.join(map(str, o.values()))}" for k, o in CASES])
def test_same_config_same_adapter_as_peft(kind, options, tmp_path, capsys):
    hf, gk_model = _models(kind)
    ref = peft.get_peft_model(hf, peft.LoraConfig(**options))
    ours = get_peft_model(gk_model, LoraConfig(**options))

    assert _adapted(ours, LoraLinear) == _adapted(ref, peft.tuners.lora.LoraLayer)
    trainable = {n for n, p in ours.named_parameters() if p.requires_grad}
    assert trainable == {n for n, p in ref.named_parameters() if p.requires_grad}
    assert ours.get_nb_trainable_parameters() == ref.get_nb_trainable_parameters()
    ref.print_trainable_parameters()
    ours.print_trainable_parameters()
    ref_line, our_line = capsys.readouterr().out.splitlines()
    assert our_line == ref_line

    ref.save_pretrained(tmp_path / "peft")
    ours.save_pretrained(tmp_path / "gradkit")
    from safetensors import safe_open
    keys = {}
    for who in ("peft", "gradkit"):
        with safe_open(tmp_path / who / "adapter_model.safetensors", "np") as f:
            keys[who] = {k: f.get_slice(k).get_shape() for k in f.keys()}
    assert keys["gradkit"] == keys["peft"]
    ref_cfg, our_cfg = (json.loads((tmp_path / w / "adapter_config.json").read_text())
                        for w in ("peft", "gradkit"))
    def norm(v):  # PEFT keeps name lists as sets: their order in the file is arbitrary
        return sorted(v) if isinstance(v, list) else v

    for field in ("peft_type", "r", "lora_alpha", "bias", "lora_dropout", "fan_in_fan_out",
                  "exclude_modules", "target_modules", "modules_to_save", "inference_mode",
                  "task_type", "layers_to_transform", "init_lora_weights", "use_rslora",
                  "use_dora"):
        assert norm(our_cfg[field]) == norm(ref_cfg[field]), field
    assert sorted(os.listdir(tmp_path / "gradkit")) == ["adapter_config.json",
                                                        "adapter_model.safetensors"]


def test_seq_cls_trains_and_saves_the_classifier_head_as_peft_does():
    cfg = BERT | dict(num_labels=3)
    hf = transformers.BertForSequenceClassification(transformers.BertConfig(**cfg))
    ref = peft.get_peft_model(hf, peft.LoraConfig(r=4, task_type="SEQ_CLS"))

    from gradkit import nn

    class BertClassifier(nn.Module):  # the names of BertForSequenceClassification
        def __init__(self):
            super().__init__()
            self.bert = BertModel(BertConfig(**BERT))
            self.dropout = nn.Dropout(0.1)
            self.classifier = nn.Linear(16, 3)

        def forward(self, ids):
            return self.classifier(self.bert(ids).pooler_output)

    ours = get_peft_model(BertClassifier(), LoraConfig(r=4, task_type="SEQ_CLS"))
    assert ({n for n, p in ours.named_parameters() if p.requires_grad}
            == {n for n, p in ref.named_parameters() if p.requires_grad})
    assert ours.peft_config["default"].modules_to_save == ["classifier"]
