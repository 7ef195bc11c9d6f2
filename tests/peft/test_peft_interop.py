"""Interop with Hugging Face PEFT: an adapter trained in gradkit loads with PEFT on the
transformers model and gives the same logits, and one made with PEFT loads in gradkit (on
SmolLM2, the real GGUF model); training with the same initial adapter follows PEFT's trajectory
step by step (on a tiny float64 Llama)."""
import contextlib

import numpy as np
import pytest

import gradkit as gk
from gradkit.models import LlamaForCausalLM
from gradkit.peft import LoraConfig, PeftModel, get_peft_model

peft = pytest.importorskip("peft")
torch = pytest.importorskip("torch")

PROMPT = "The capital of France is Paris, and the capital of Italy is"


# === trajectories on a tiny Llama (float64)
@pytest.mark.parametrize("opt_name,options", [("SGD", dict(lr=0.1, momentum=0.9)),
                                              ("AdamW", dict(lr=1e-2, weight_decay=0.01))])
def test_five_training_steps_follow_peft(tiny_pair, opt_name, options):
    hf, ours = tiny_pair
    config = dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                  modules_to_save=["lm_head"])
    ref = peft.get_peft_model(hf, peft.LoraConfig(**config)).double()
    with torch.no_grad():  # B != 0, so that A gets a gradient from the first step
        for name, p in ref.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.1)
    ours = get_peft_model(ours, LoraConfig(**config))
    adapter = {n: p.detach().numpy().copy() for n, p in ref.named_parameters() if p.requires_grad}
    ours.load_state_dict(adapter, strict=False)  # the same names: PEFT's
    assert {n for n, p in ours.named_parameters() if p.requires_grad} == set(adapter)

    ids = np.random.default_rng(0).integers(0, 64, size=(2, 12))
    ref.train(), ours.train()
    ref_opt = getattr(torch.optim, opt_name)([p for p in ref.parameters() if p.requires_grad],
                                             **options)
    our_opt = getattr(gk.optim, opt_name)([p for p in ours.parameters() if p.requires_grad],
                                          **options)
    for step in range(5):
        ref_opt.zero_grad()
        # transformers computes its loss in float32; the same loss in float64:
        ref_logits = ref(input_ids=torch.tensor(ids)).logits
        ref_loss = torch.nn.functional.cross_entropy(ref_logits[:, :-1].reshape(-1, 64),
                                                     torch.tensor(ids[:, 1:]).reshape(-1))
        ref_loss.backward()
        ref_opt.step()
        our_opt.zero_grad()
        our_loss = ours(ids, labels=ids).loss
        our_loss.backward()
        our_opt.step()
        assert abs(our_loss.item() - ref_loss.item()) < 1e-8, step
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        if p.requires_grad:
            np.testing.assert_allclose(p.array, ref_params[name].detach().numpy(),
                                       rtol=0, atol=1e-8, err_msg=name)


def test_an_adapter_from_gradkit_loads_in_peft_on_tiny_llama(tiny_pair, randomize_B, tmp_path):
    hf, ours = tiny_pair
    ids = np.random.default_rng(0).integers(0, 64, size=(2, 9))
    ours = randomize_B(get_peft_model(ours, LoraConfig(r=4, target_modules="all-linear")))
    ours.save_pretrained(tmp_path)
    ref = peft.PeftModel.from_pretrained(hf, tmp_path)
    with torch.no_grad():
        expected = ref(input_ids=torch.tensor(ids)).logits.numpy()
    with gk.no_grad():
        np.testing.assert_allclose(ours(ids).logits.array, expected, rtol=0, atol=1e-10)


# === SmolLM2 (the GGUF model) against transformers + PEFT
@pytest.fixture(scope="module")
def smol(smollm2_file):
    return LlamaForCausalLM.from_pretrained(smollm2_file)


@contextlib.contextmanager
def peft_on(ref_model):
    """Give back the shared transformers model as it was after PEFT wrapped it in place."""
    flags = [(p, p.requires_grad) for p in ref_model.parameters()]
    box = []
    try:
        yield box
    finally:
        for wrapped in box:
            wrapped.unload()
        for p, flag in flags:
            p.requires_grad_(flag)
        ref_model.eval()
        assert not any(isinstance(m, peft.tuners.lora.LoraLayer) for m in ref_model.modules())


def _ids(tok):
    return np.asarray([tok(PROMPT)["input_ids"]])


def _torch_logits(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor(ids)).logits.numpy()


def test_smollm2_adapter_from_gradkit_gives_the_same_logits_in_peft(smol, ref_llama, tmp_path):
    ref_model, tok = ref_llama
    ids = _ids(tok)
    with gk.no_grad():
        base = smol(ids).logits.array.copy()
    model = get_peft_model(smol, LoraConfig(r=8, lora_alpha=16,
                                            target_modules=["q_proj", "v_proj", "o_proj"]))
    try:
        for layer in model.base_model.lora_layers():  # trained-looking B, so that it matters
            gk.nn.init.normal_(layer.lora_B["default"].weight, 0.0, 0.02)
        with gk.no_grad():
            ours = model(ids).logits.array.copy()
        assert np.abs(ours - base).max() > 0.1
        model.save_pretrained(tmp_path)
        ours_generated = model.generate(ids, max_new_tokens=4).array
        with peft_on(ref_model) as box:
            ref = peft.PeftModel.from_pretrained(ref_model, tmp_path)
            box.append(ref)
            np.testing.assert_allclose(ours, _torch_logits(ref, ids), rtol=0, atol=1e-3)
            with torch.no_grad():
                ref_generated = ref.generate(input_ids=torch.tensor(ids), max_new_tokens=4,
                                             do_sample=False).numpy()
            np.testing.assert_array_equal(ours_generated, ref_generated)
    finally:
        model.unload()


def test_smollm2_adapter_from_peft_gives_the_same_logits_in_gradkit(smol, ref_llama, tmp_path):
    ref_model, tok = ref_llama
    ids = _ids(tok)
    with peft_on(ref_model) as box:
        ref = peft.get_peft_model(ref_model, peft.LoraConfig(
            r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "gate_proj"]))
        box.append(ref)
        with torch.no_grad():
            for name, p in ref.named_parameters():
                if "lora_B" in name:
                    p.normal_(0.0, 0.02)
        ref.save_pretrained(tmp_path)
        expected = _torch_logits(ref, ids)
    model = PeftModel.from_pretrained(smol, tmp_path)
    try:
        with gk.no_grad():
            ours = model(ids).logits.array
            np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-3)
            with model.disable_adapter():
                assert np.abs(model(ids).logits.array - ours).max() > 0.1
    finally:
        model.unload()
