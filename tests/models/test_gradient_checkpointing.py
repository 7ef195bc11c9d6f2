"""model.gradient_checkpointing_enable() on LlamaForCausalLM and BertModel: the same loss and
gradients as without (every parameter; 1e-12 in float64, 1e-6 in float32), dropout included,
a frozen embedding (LoRA's case), the layers' inputs kept instead of their activations, and
the paths that are not checkpointed (eval, no_grad, the KV cache)."""
import tracemalloc

import numpy as np
import pytest

import gradkit as gk
from gradkit.models.bert import BertConfig, BertModel
from gradkit.models.llama import LlamaConfig, LlamaForCausalLM


def _llama(dtype=gk.float64, **kw):
    cfg = dict(vocab_size=50, hidden_size=24, intermediate_size=40, num_hidden_layers=3,
               num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=32,
               tie_word_embeddings=True, pad_token_id=0)
    cfg.update(kw)
    gk.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(**cfg)).to(dtype).train()


def _bert(dtype=gk.float64):
    cfg = dict(vocab_size=50, hidden_size=24, num_hidden_layers=3, num_attention_heads=4,
               intermediate_size=40, max_position_embeddings=32, hidden_dropout_prob=0.2,
               attention_probs_dropout_prob=0.2)
    gk.manual_seed(0)
    return BertModel(BertConfig(**cfg)).to(dtype).train()


def _llama_step(model, ids):
    model.zero_grad()
    gk.manual_seed(5)  # the same dropout masks in both runs
    loss = model(ids, labels=ids).loss
    loss.backward()
    return loss


def _bert_step(model, ids, mask):
    model.zero_grad()
    gk.manual_seed(5)
    out = model(ids, mask)
    loss = (out.last_hidden_state ** 2).mean() + out.pooler_output.sum()
    loss.backward()
    return loss


def _grads(model):
    return {n: p.grad.array.copy() for n, p in model.named_parameters() if p.grad is not None}


def _compare(model, step, atol):
    model.gradient_checkpointing_disable()
    loss = step(model).array.copy()
    plain = _grads(model)
    model.gradient_checkpointing_enable()
    assert model.is_gradient_checkpointing
    np.testing.assert_allclose(step(model).array, loss, rtol=0, atol=atol)
    ckpt = _grads(model)
    assert set(ckpt) == set(plain) and plain
    for name in plain:
        np.testing.assert_allclose(ckpt[name], plain[name], rtol=0, atol=atol, err_msg=name)


IDS = np.random.default_rng(0).integers(1, 50, (2, 12))


@pytest.mark.parametrize("dtype,atol", [(gk.float64, 1e-12), (gk.float32, 1e-6)])
def test_llama_same_loss_and_gradients_with_checkpointing(dtype, atol):
    _compare(_llama(dtype), lambda m: _llama_step(m, IDS), atol)


def test_llama_with_attention_dropout_and_padding():
    model = _llama(attention_dropout=0.3)
    mask = np.ones_like(IDS)
    mask[1, :4] = 0  # left padding
    _compare(model, lambda m: _llama_step_masked(m, mask), 1e-12)


def _llama_step_masked(model, mask):
    model.zero_grad()
    gk.manual_seed(5)
    loss = model(IDS, attention_mask=mask, labels=np.where(mask == 1, IDS, -100)).loss
    loss.backward()
    return loss


def test_llama_frozen_embedding_still_trains_the_layers():
    # LoRA's situation: the embedding is frozen, so no layer input requires grad, yet the
    # layers' parameters get their gradients through the checkpoints
    model = _llama()
    model.model.embed_tokens.requires_grad_(False)
    _compare(model, lambda m: _llama_step(m, IDS), 1e-12)
    assert model.model.embed_tokens.weight.grad is None


@pytest.mark.parametrize("padded", [False, True])
def test_bert_same_loss_and_gradients_with_checkpointing(padded):
    model = _bert()
    mask = np.ones_like(IDS)
    if padded:  # the packed-tokens path
        mask[0, 9:] = 0
    _compare(model, lambda m: _bert_step(m, IDS, mask), 1e-12)


def test_bert_float32():
    _compare(_bert(gk.float32), lambda m: _bert_step(m, IDS, None), 1e-6)


def test_checkpointing_keeps_only_the_layers_inputs():
    # what the forward leaves alive until the backward, plain against checkpointed: the
    # layers' activations (a dozen (B, L, hidden) arrays and the attention weights each) against
    # their inputs only
    model = _llama(gk.float32, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                   num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64)
    ids = np.random.default_rng(1).integers(1, 50, (4, 64))
    held = {}
    for on in (False, True):
        (model.gradient_checkpointing_enable if on else model.gradient_checkpointing_disable)()
        tracemalloc.start()
        loss = model(ids, labels=ids).loss
        held[on] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        loss.backward()
        del loss
    assert held[True] < 0.3 * held[False]


def test_not_checkpointed_in_eval_under_no_grad_or_with_a_cache():
    model = _llama()
    model.gradient_checkpointing_enable({"use_reentrant": False})
    kinds = []  # per forward, the kind of node that made the final norm's input
    handle = model.model.norm.register_forward_pre_hook(
        lambda m, args: kinds.append(type(args[0].grad_fn).__name__))
    model(IDS)
    assert kinds == ["Checkpoint"]  # training, recording: the last layer's output is the node's
    kinds.clear()
    model.eval()
    model(IDS)
    model.train()
    with gk.no_grad():
        model(IDS)
    cache = model.make_cache()
    model(IDS, past_key_values=cache)
    assert "Checkpoint" not in kinds
    handle.remove()
    model.gradient_checkpointing_disable()
    assert not model.is_gradient_checkpointing and not model.model.is_gradient_checkpointing
    model(IDS).logits.sum()  # and back to the plain layers
