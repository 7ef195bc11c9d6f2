"""LlamaForCausalLM against transformers: SmolLM2-135M from its GGUF file (logits, greedy
generation), a tiny random Llama in float64 (logits, loss and every gradient), GGUF and
Hugging Face folder round trips, batching, the KV cache, sampling, and the errors."""
import os
import types
import warnings

import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit.models import generation
from gradkit.models.llama import LlamaConfig, LlamaForCausalLM, unpermute_rotary

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
STORY = "Once upon a time, in a small village at the foot of the mountains, there lived"


@pytest.fixture(scope="module")
def smol(smollm2_file):
    return LlamaForCausalLM.from_pretrained(smollm2_file)


def _ref_ids(tok, text=None, messages=None):
    if messages is not None:
        ids = tok.apply_chat_template(messages, add_generation_prompt=True)
        ids = ids["input_ids"] if hasattr(ids, "keys") else ids
        return list(np.asarray(ids).reshape(-1))
    return tok(text)["input_ids"]


# ---------------------------------------------------------------- SmolLM2 against transformers
@pytest.mark.parametrize("which", ["chat", "story"])
def test_smollm2_logits_match_transformers(smol, ref_llama, which):
    ref, tok = ref_llama
    ids = _ref_ids(tok, messages=QUESTION) if which == "chat" else _ref_ids(tok, STORY)
    with torch.no_grad():
        expected = ref(torch.tensor([ids])).logits.numpy()
    with gk.no_grad():
        got = smol(np.array([ids])).logits
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.array, expected, atol=1e-3, rtol=0)
    np.testing.assert_array_equal(got.array.argmax(-1), expected.argmax(-1))


def test_smollm2_greedy_generation_matches_transformers(smol, ref_llama):
    ref, tok = ref_llama
    ids = _ref_ids(tok, messages=QUESTION)
    out = smol.generate(ids, max_new_tokens=40)
    expected = ref.generate(torch.tensor([ids]), max_new_tokens=40, do_sample=False)[0].numpy()
    np.testing.assert_array_equal(out.array[0], expected)
    assert tok.decode(out.array[0, len(ids):], skip_special_tokens=True) == \
        "The capital of France is Paris."


def test_smollm2_greedy_40_tokens_of_a_story(smol, ref_llama):
    ref, tok = ref_llama
    ids = _ref_ids(tok, STORY)
    out = smol.generate(ids, max_new_tokens=40, eos_token_id=[])
    expected = ref.generate(torch.tensor([ids]), max_new_tokens=40, min_new_tokens=40,
                            do_sample=False)[0].numpy()
    assert out.shape == (1, len(ids) + 40)
    np.testing.assert_array_equal(out.array[0], expected)


def test_weights_are_the_models_own_not_views_of_the_file(smol):
    # F32 tensors of a GGUF file come back from the reader as read-only views of the mapping
    assert all(p.array.flags.writeable for p in smol.parameters())
    assert not any(isinstance(p.array, np.memmap) or isinstance(p.array.base, np.memmap)
                   for p in smol.parameters())


def test_state_dict_names_are_hugging_faces(smol, ref_llama):
    ref, _ = ref_llama
    assert set(smol.state_dict()) == set(ref.state_dict())
    assert smol.lm_head.weight is smol.model.embed_tokens.weight  # tied, as in the file


def test_cache_equals_no_cache_and_batch_equals_one_by_one(smol, ref_llama):
    _, tok = ref_llama
    prompts = [_ref_ids(tok, "The three primary colours are"), _ref_ids(tok, "def add(a, b):")]
    alone = [smol.generate(p, max_new_tokens=12, eos_token_id=[]).array[0] for p in prompts]
    uncached = smol.generate(prompts[0], max_new_tokens=12, eos_token_id=[], use_cache=False)
    np.testing.assert_array_equal(uncached.array[0], alone[0])
    # left padding: the shorter prompt is padded on the left and masked
    L = max(len(p) for p in prompts)
    ids = np.full((2, L), 2, dtype=np.int64)
    mask = np.zeros((2, L), dtype=np.int64)
    for i, p in enumerate(prompts):
        ids[i, L - len(p):], mask[i, L - len(p):] = p, 1
    batch = smol.generate(ids, attention_mask=mask, max_new_tokens=12, eos_token_id=[])
    for i, p in enumerate(prompts):
        np.testing.assert_array_equal(batch.array[i, L:], alone[i][len(p):])


def test_sampling_is_reproducible_with_a_seed(smol, ref_llama):
    _, tok = ref_llama
    ids = _ref_ids(tok, STORY)
    kw = dict(max_new_tokens=10, do_sample=True, temperature=0.9, top_k=50, top_p=0.95,
              eos_token_id=[])
    a, b = smol.generate(ids, seed=7, **kw), smol.generate(ids, seed=7, **kw)
    np.testing.assert_array_equal(a.array, b.array)
    others = [smol.generate(ids, seed=s, **kw).array for s in range(3)]
    assert any(not np.array_equal(o, a.array) for o in others)


def test_streaming_pieces_join_to_the_reply(smol, ref_llama):
    _, tok = ref_llama
    if smol.tokenizer is None:
        pytest.skip("gradkit's tokenizer is not available")
    ids = _ref_ids(tok, messages=QUESTION)
    pieces = list(smol.stream(ids, max_new_tokens=20))
    assert len(pieces) > 3
    assert "".join(pieces) == "The capital of France is Paris."


# ---------------------------------------------------------------- a tiny Llama, float64
def _tiny_config(**kw):
    base = dict(vocab_size=50, hidden_size=24, intermediate_size=40, num_hidden_layers=2,
                num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=32,
                rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False,
                bos_token_id=1, eos_token_id=2, pad_token_id=0)
    base.update(kw)
    return base


def _hf_tiny(cfg):
    from transformers import LlamaConfig as HFConfig
    from transformers import LlamaForCausalLM as HFLlama

    torch.manual_seed(0)
    ref = HFLlama(HFConfig(**cfg, attn_implementation="sdpa")).double().eval()
    with torch.no_grad():  # RMSNorm weights start at 1: make them matter
        for name, p in ref.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    # transformers' LlamaRMSNorm computes in float32 whatever the model's dtype (so does its eager
    # attention's softmax: hence sdpa, which keeps float64); for a float64
    # oracle, the same formula in float64
    for m in ref.modules():
        if type(m).__name__ == "LlamaRMSNorm":
            m.forward = types.MethodType(
                lambda self, h: self.weight * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True)
                                                               + self.variance_epsilon)), m)
    # and its rotary embedding takes cos and sin in float32: take them in float64 from the
    # same float32 angles (gradkit's rule)

    def rotary64(self, x, position_ids):
        freqs = (self.inv_freq.float()[None, :, None] @ position_ids[:, None, :].float())
        emb = torch.cat((freqs, freqs), dim=1).transpose(1, 2).double()
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

    ref.model.rotary_emb.forward = types.MethodType(rotary64, ref.model.rotary_emb)
    return ref


def _gk_from(ref, cfg):
    model = LlamaForCausalLM(LlamaConfig(**cfg)).to(gk.float64)
    model.load_state_dict({k: gk.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    return model


@pytest.mark.parametrize("tied", [False, True])
def test_tiny_llama_logits_loss_and_gradients_match_transformers(tied):
    cfg = _tiny_config(tie_word_embeddings=tied)
    ref = _hf_tiny(cfg)
    model = _gk_from(ref, cfg)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, size=(3, 9))
    labels = ids.copy()
    labels[0, :3] = -100
    out_ref = ref(torch.tensor(ids))
    # transformers' own loss upcasts to float32; the same definition in float64: predict
    # labels[t + 1] from position t, ignoring -100
    loss_ref = torch.nn.functional.cross_entropy(out_ref.logits[:, :-1].reshape(-1, 50),
                                                 torch.tensor(labels[:, 1:].reshape(-1)))
    loss_ref.backward()
    out = model(ids, labels=labels)
    out.loss.backward()
    np.testing.assert_allclose(out.logits.array, out_ref.logits.detach().numpy(), atol=1e-10)
    assert abs(out.loss.item() - loss_ref.item()) < 1e-12
    grads = dict(ref.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.array, grads[name].grad.numpy(), atol=1e-10,
                                   err_msg=name)


def test_left_padded_rows_equal_the_unpadded_sequence():
    # transformers gives NaN for a left-padded row in float64 (fully masked
    # query rows), so the reference for a padded row is the same tokens without padding
    cfg = _tiny_config()
    ref = _hf_tiny(cfg)
    model = _gk_from(ref, cfg)
    ids = np.random.default_rng(0).integers(3, 50, size=(2, 9))
    mask = np.ones_like(ids)
    mask[1, :4] = 0
    got = model(ids, attention_mask=mask).logits.array
    with torch.no_grad():
        for row, start in ((0, 0), (1, 4)):
            expected = ref(torch.tensor(ids[row:row + 1, start:])).logits.numpy()[0]
            np.testing.assert_allclose(got[row, start:], expected, atol=1e-10)
    assert np.isfinite(got).all()


def test_tiny_llama_gradcheck_through_attention_and_rope():
    cfg = _tiny_config(num_hidden_layers=1, hidden_size=12, intermediate_size=16,
                       num_attention_heads=3, num_key_value_heads=1, vocab_size=11)
    model = LlamaForCausalLM(LlamaConfig(**cfg)).to(gk.float64)
    ids = np.array([[3, 1, 4, 1, 5]])
    h0 = model.model.embed_tokens(gk.tensor(ids))
    layer = model.model.layers[0]
    from gradkit.nn.functional.rotary import rotary_cos_sin
    cos, sin = rotary_cos_sin(np.arange(5)[None], model.model.inv_freq.array, np.float64)
    cos, sin = gk.tensor(cos[:, None]), gk.tensor(sin[:, None])
    x = gk.tensor(h0.array, requires_grad=True)
    assert gk.autograd.gradcheck(lambda t: layer(t, cos, sin, None, True, None), (x,))


def test_kv_cache_steps_equal_the_full_forward():
    cfg = _tiny_config()
    model = LlamaForCausalLM(LlamaConfig(**cfg)).to(gk.float64).eval()
    ids = np.random.default_rng(1).integers(0, 50, size=(2, 10))
    with gk.no_grad():
        full = model(ids).logits.array
        cache = model.make_cache(4)  # smaller than needed: it must grow
        parts = [model(ids[:, :6], past_key_values=cache).logits.array]
        parts += [model(ids[:, t:t + 1], past_key_values=cache).logits.array for t in range(6, 9)]
        parts.append(model(ids[:, 9:], past_key_values=cache).logits.array)
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, atol=1e-12)
    assert cache.length == 10


def test_fused_projections_equal_the_separate_layers_and_follow_replaced_weights():
    cfg = _tiny_config()
    ref = _hf_tiny(cfg)
    model = _gk_from(ref, cfg).eval()
    ids = np.array([[5, 6, 7, 8]])
    with gk.no_grad():
        plain = model(ids).logits.array
        model.fuse_projections()
        fused = model(ids).logits.array
    np.testing.assert_allclose(fused, plain, atol=1e-12)
    attn = model.model.layers[0].self_attn
    assert attn.q_proj.weight.array.base is attn.qkv.weight  # views: no extra memory
    class Doubled(gk.nn.Module):  # a layer wrapped in the model (as an adapter does)
        def __init__(self, base):
            super().__init__()
            self.base = base

        def forward(self, x):
            return self.base(x) * 2

    attn.v_proj = Doubled(attn.v_proj)
    with gk.no_grad(), torch.no_grad():
        ref.model.layers[0].self_attn.v_proj.weight.mul_(2)
        np.testing.assert_allclose(model(ids).logits.array, ref(torch.tensor(ids)).logits.numpy(),
                                   atol=1e-10)
    attn.k_proj.weight.array = attn.k_proj.weight.array * 2  # replaced: the fused buffer is stale
    with gk.no_grad(), torch.no_grad():
        ref.model.layers[0].self_attn.k_proj.weight.mul_(2)
        np.testing.assert_allclose(model(ids).logits.array, ref(torch.tensor(ids)).logits.numpy(),
                                   atol=1e-10)


# ---------------------------------------------------------------- files: GGUF and folders
def _write_tiny_gguf(path, ref, cfg, arch="llama", qtype=None):
    """A tiny Llama as llama.cpp's converter writes it (q/k rows permuted, F32)."""
    import gguf

    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_vocab_size(cfg["vocab_size"])
    names = {"model.embed_tokens.weight": "token_embd.weight",
             "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"}
    layer = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}

    def permute(x, n):  # llama.cpp convert_hf_to_gguf.py LlamaModel.permute
        return x.reshape(n, 2, x.shape[0] // n // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)

    for name, t in ref.state_dict().items():
        if name in names:
            gname = names[name]
        else:
            i, rest = name.split(".")[2], ".".join(name.split(".")[3:-1])
            gname = f"blk.{i}.{layer[rest]}.weight"
        arr = t.numpy().astype(np.float32)
        if name.endswith("q_proj.weight"):
            arr = permute(arr, cfg["num_attention_heads"])
        elif name.endswith("k_proj.weight"):
            arr = permute(arr, cfg["num_key_value_heads"])
        if qtype is not None and name.endswith("q_proj.weight"):
            row_bytes = arr.shape[1] // 256 * 66  # IQ2_XXS: 66 bytes per block of 256
            w.add_tensor(gname, np.zeros((arr.shape[0], row_bytes), np.uint8), raw_dtype=qtype)
            continue
        w.add_tensor(gname, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_unpermute_inverts_llama_cpps_permutation():
    x = np.arange(6 * 8 * 3, dtype=np.float32).reshape(48, 3)
    permuted = x.reshape(6, 2, 4, 3).swapaxes(1, 2).reshape(x.shape)
    np.testing.assert_array_equal(unpermute_rotary(permuted, 6), x)


def test_a_tiny_gguf_loads_equal_to_its_source(tmp_path):
    cfg = _tiny_config(num_attention_heads=4, num_key_value_heads=2, hidden_size=32, head_dim=8)
    ref = _hf_tiny(cfg)
    path = tmp_path / "tiny.gguf"
    _write_tiny_gguf(path, ref, cfg)
    model = LlamaForCausalLM.from_pretrained(path)
    assert model.config.num_key_value_heads == 2 and not model.config.tie_word_embeddings
    ids = np.array([[1, 5, 9, 30, 2, 7]])
    with gk.no_grad(), torch.no_grad():
        np.testing.assert_allclose(model(ids).logits.array, ref(torch.tensor(ids)).logits.numpy(),
                                   atol=1e-4)


def test_gguf_to_folder_and_back_and_into_transformers(smol, tmp_path):
    from transformers import AutoModelForCausalLM

    smol.save_pretrained(tmp_path)
    assert {"config.json", "model.safetensors"} <= set(os.listdir(tmp_path))
    again = LlamaForCausalLM.from_pretrained(tmp_path)
    ids = np.array([[1, 4093, 198, 1780, 314, 260, 3575]])
    with gk.no_grad():
        a, b = smol(ids).logits.array, again(ids).logits.array
    np.testing.assert_array_equal(a, b)
    ref = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    with torch.no_grad():
        np.testing.assert_allclose(ref(torch.tensor(ids)).logits.numpy(), a, atol=1e-3)


# ---------------------------------------------------------------- sampling rules
def test_logits_processing_matches_transformers():
    from transformers.generation.logits_process import (RepetitionPenaltyLogitsProcessor,
                                                        TemperatureLogitsWarper,
                                                        TopKLogitsWarper, TopPLogitsWarper)

    rng = np.random.default_rng(0)
    z = rng.standard_normal((3, 40)).astype(np.float32) * 3
    seen = rng.integers(0, 40, size=(3, 7))
    got = generation.process_logits(z, seen, temperature=0.7, top_k=12, top_p=0.8,
                                    repetition_penalty=1.3)
    s, ids = torch.tensor(z), torch.tensor(seen)
    for proc in (RepetitionPenaltyLogitsProcessor(1.3), TemperatureLogitsWarper(0.7),
                 TopKLogitsWarper(12), TopPLogitsWarper(0.8)):
        s = proc(ids, s)
    expected = s.numpy()
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(got)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-6)


def test_sampling_follows_the_distribution():
    z = np.log(np.array([[0.5, 0.3, 0.2, 1e-9]], dtype=np.float32))
    rng = np.random.default_rng(0)
    draws = np.array([generation.choose(z, True, rng)[0] for _ in range(4000)])
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.2, 0.0], atol=0.03)


# ---------------------------------------------------------------- errors
def test_missing_and_non_gguf_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        LlamaForCausalLM.from_pretrained(tmp_path / "nope.gguf")
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ValueError, match="not a GGUF file"):
        LlamaForCausalLM.from_pretrained(bad)
    with pytest.raises(ValueError, match=r"model.gguf.*cannot be read as GGUF.*magic"):
        LlamaForCausalLM.from_pretrained(tmp_path)  # a folder with one .gguf file: that file
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        LlamaForCausalLM.from_pretrained(tmp_path / "empty")


def test_truncated_gguf_names_the_file_and_the_fix(smollm2_file, tmp_path):
    cut = tmp_path / "cut.gguf"
    with open(smollm2_file, "rb") as f:
        cut.write_bytes(f.read(3_000_000))
    with pytest.raises(ValueError, match=r"cut.gguf.*truncated or corrupted.*re-download"):
        LlamaForCausalLM.from_pretrained(cut)


def test_unsupported_architecture_and_quantisation(tmp_path):
    import gguf

    cfg = _tiny_config(hidden_size=256, num_attention_heads=4, num_key_value_heads=2)
    ref = _hf_tiny(cfg)
    other = tmp_path / "gpt2.gguf"
    _write_tiny_gguf(other, ref, cfg, arch="gpt2")
    with pytest.raises(ValueError, match=r"holds a 'gpt2' model.*llama"):
        LlamaForCausalLM.from_pretrained(other)
    iq = tmp_path / "iq.gguf"
    _write_tiny_gguf(iq, ref, cfg, qtype=gguf.GGMLQuantizationType.IQ2_XXS)
    with pytest.raises(ValueError, match=r"attn_q.*IQ2_XXS.*supported: .*Q4_K"):
        LlamaForCausalLM.from_pretrained(iq)


def test_prompt_longer_than_the_context_and_ids_outside_the_vocabulary():
    model = LlamaForCausalLM(LlamaConfig(**_tiny_config(max_position_embeddings=8))).eval()
    with pytest.raises(ValueError, match=r"prompt has 9 tokens.*context length 8"):
        model.generate(list(range(9)))
    out = model.generate(list(range(6)), max_new_tokens=10, eos_token_id=[])
    assert out.shape == (1, 8)  # generation stops at the context length
    with pytest.raises(ValueError, match=r"token id 50 is outside the vocabulary \(size 50\)"
                                         r".*tokenizer"):
        model(np.array([[1, 50]]))


def test_generate_in_training_mode_with_dropout_warns():
    model = LlamaForCausalLM(LlamaConfig(**_tiny_config(attention_dropout=0.1)))
    with pytest.warns(UserWarning, match=r"training mode.*model.eval\(\)"):
        model.train().generate([1, 2, 3], max_new_tokens=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.eval().generate([1, 2, 3], max_new_tokens=2)


def test_weights_that_do_not_fit_the_config(tmp_path):
    from gradkit.models import pretrained

    model = LlamaForCausalLM(LlamaConfig(**_tiny_config()))
    model.save_pretrained(tmp_path)
    cfg = pretrained.read_config(tmp_path)
    cfg["intermediate_size"] = 48
    pretrained.write_json(tmp_path / "config.json", cfg)
    with pytest.raises(ValueError, match=r"shapes differ: .*gate_proj.weight: file \(40, 24\), "
                                         r"model \(48, 24\).*config.json"):
        LlamaForCausalLM.from_pretrained(tmp_path)


def test_a_tokenizer_of_another_model_is_refused(smol, minilm_folder, tmp_path):
    from gradkit.models import Tokenizer

    tiny = LlamaForCausalLM(LlamaConfig(**_tiny_config()))
    with pytest.raises(ValueError, match=r"tokenizer has 49152 tokens but the model's vocabulary "
                                         r"has 50.*do not belong together"):
        next(tiny.stream([1, 2], tokenizer=smol.tokenizer, max_new_tokens=1))
    tiny.tokenizer = Tokenizer.from_pretrained(minilm_folder)  # BERT's 30522 tokens
    tiny.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"30522 tokens but the model's vocabulary has 50"):
        LlamaForCausalLM.from_pretrained(tmp_path)


def test_sharded_folder_with_an_index_loads(tmp_path):
    from gradkit.models import pretrained

    cfg = _tiny_config()
    model = LlamaForCausalLM(LlamaConfig(**cfg))
    (tmp_path / "sharded").mkdir()
    pretrained.write_json(tmp_path / "sharded" / "config.json", model.config.to_dict())
    state = model.state_dict()
    names = sorted(state)
    halves = {"model-00001-of-00002.safetensors": names[:len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    for file, keys in halves.items():
        pretrained.save_safetensors(tmp_path / "sharded" / file, {k: state[k] for k in keys})
    pretrained.write_json(tmp_path / "sharded" / "model.safetensors.index.json",
                          {"weight_map": {k: f for f, ks in halves.items() for k in ks}})
    again = LlamaForCausalLM.from_pretrained(tmp_path / "sharded")
    ids = np.array([[3, 4, 5]])
    with gk.no_grad():
        np.testing.assert_array_equal(again(ids).logits.array, model.eval()(ids).logits.array)
    os.remove(tmp_path / "sharded" / "model-00002-of-00002.safetensors")
    with pytest.raises(FileNotFoundError, match=r"lists shards that are not in the folder: "
                                                r"model-00002-of-00002"):
        LlamaForCausalLM.from_pretrained(tmp_path / "sharded")
