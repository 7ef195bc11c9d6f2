"""Tiny models for the LoRA tests: a random gradkit Llama, and the same weights in transformers."""
import numpy as np
import pytest

from gradkit import nn
from gradkit.models import LlamaConfig, LlamaForCausalLM
from gradkit.peft import LoraLinear

from tiny_configs import TINY_LLAMA as TINY


@pytest.fixture
def tiny_llama():
    """A random gradkit Llama (2 layers, hidden 16), float64, eval."""
    return LlamaForCausalLM(LlamaConfig(**TINY)).double().eval()


@pytest.fixture
def ids():
    return np.random.default_rng(1).integers(0, TINY["vocab_size"], size=(2, 7))


@pytest.fixture
def tiny_pair():
    """(transformers LlamaForCausalLM, gradkit LlamaForCausalLM): the same random weights,
    float64, eval."""
    import transformers

    hf = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        **TINY, attn_implementation="sdpa")).double().eval()
    _float64_throughout(hf)
    gk_model = LlamaForCausalLM(LlamaConfig(**TINY)).double().eval()
    gk_model.load_state_dict({k: v.detach().numpy() for k, v in hf.state_dict().items()
                              if "rotary_emb" not in k})
    return hf, gk_model


def _float64_throughout(hf):
    """transformers computes RMSNorm in float32 whatever the model's dtype, and cos/sin of the
    rotary angles too, and its eager attention its softmax (hence sdpa above): errors of ~1e-9
    per step that Adam's g/√v amplifies over a trajectory. Make this reference float64 as
    gradkit's float64 model is: RMSNorm in float64; the angles p·θ still rounded to float32,
    as both define them, but their cos and sin taken in float64."""
    import types

    import torch

    def rms_norm(self, h):
        return self.weight * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True)
                                              + self.variance_epsilon))

    def rotary(self, x, position_ids):
        angles = position_ids[..., None].float() * self.inv_freq.float()
        emb = torch.cat((angles, angles), dim=-1).double()
        return emb.cos() * self.attention_scaling, emb.sin() * self.attention_scaling

    for m in hf.modules():
        if type(m).__name__ == "LlamaRMSNorm":
            m.forward = types.MethodType(rms_norm, m)
        elif type(m).__name__ == "LlamaRotaryEmbedding":
            m.forward = types.MethodType(rotary, m)


@pytest.fixture
def randomize_B():
    """``randomize_B(model, std)``: give every B a random value, so that the adapter changes
    the outputs (a fresh adapter's B is zero)."""
    def randomize(model, std=0.5):
        for m in model.modules():
            if isinstance(m, LoraLinear):
                for B in m.lora_B.values():
                    nn.init.normal_(B.weight, 0.0, std)
        return model
    return randomize
