"""gradkit.models.GPT: shapes, weight tying, causality, save/load, a PyTorch twin in float64,
generation (top_k=1 is greedy, seeds reproduce, long prompts are cropped) and that it learns."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
from gradkit.models import GPT
from gradkit.nn import functional as F
from test_zoo_index import assert_matches_torch, assert_round_trip, char_data, start_and_end, train


def small(vocab=13, block_size=8, **kw):
    return GPT(vocab, block_size=block_size, n_layer=2, n_head=2, n_embd=16, **kw)


# === the PyTorch twin: nanoGPT's model, written with torch.nn
class TorchAttention(torch.nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.n_head = n_head
        self.c_attn = torch.nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = torch.nn.Linear(n_embd, n_embd)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class TorchMLP(torch.nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc = torch.nn.Linear(n_embd, 4 * n_embd)
        self.gelu = torch.nn.GELU()
        self.c_proj = torch.nn.Linear(4 * n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class TorchBlock(torch.nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(n_embd)
        self.attn = TorchAttention(n_embd, n_head)
        self.ln_2 = torch.nn.LayerNorm(n_embd)
        self.mlp = TorchMLP(n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TorchGPT(torch.nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd):
        super().__init__()
        self.transformer = torch.nn.ModuleDict(dict(
            wte=torch.nn.Embedding(vocab_size, n_embd),
            wpe=torch.nn.Embedding(block_size, n_embd),
            h=torch.nn.ModuleList([TorchBlock(n_embd, n_head) for _ in range(n_layer)]),
            ln_f=torch.nn.LayerNorm(n_embd)))
        self.lm_head = torch.nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx):
        t = self.transformer
        h = t.wte(idx) + t.wpe(torch.arange(idx.shape[1]))
        for block in t.h:
            h = block(h)
        return self.lm_head(t.ln_f(h))


# === shapes, tying, initialisation, causality
def test_shapes_and_state_dict_names_are_nanogpts():
    model = small()
    assert model(gk.randint(0, 13, (3, 8))).shape == (3, 8, 13)
    assert model(gk.randint(0, 13, (3, 5))).shape == (3, 5, 13)
    keys = list(model.state_dict())
    assert keys[:2] == ["transformer.wte.weight", "transformer.wpe.weight"]
    assert "transformer.h.1.attn.c_attn.weight" in keys and keys[-1] == "lm_head.weight"


def test_head_is_tied_to_the_token_embedding():
    model = small()
    assert model.lm_head.weight is model.transformer.wte.weight
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names                  # one parameter, listed once
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())
    # a gradient from the head and one from the embedding meet in the one array
    model(gk.randint(0, 13, (2, 4))).sum().backward()
    assert model.transformer.wte.weight.grad is not None


def test_initialisation_is_gpt2s():
    model = GPT(50, block_size=16, n_layer=8, n_head=4, n_embd=64)
    wte = model.transformer.wte.weight.detach().numpy()
    proj = model.transformer.h[0].attn.c_proj.weight.detach().numpy()
    assert abs(wte.std() - 0.02) < 0.002
    assert abs(proj.std() - 0.02 / math.sqrt(2 * 8)) < 0.001
    assert not model.transformer.h[0].mlp.c_fc.bias.detach().numpy().any()


def test_attention_is_causal():
    """Changing token t changes the logits at positions >= t only."""
    model = small().eval()
    ids = np.random.default_rng(0).integers(0, 13, (1, 8))
    changed = ids.copy()
    changed[0, 5] = (ids[0, 5] + 1) % 13
    with gk.no_grad():
        a, b = model(gk.tensor(ids)).numpy(), model(gk.tensor(changed)).numpy()
    np.testing.assert_array_equal(a[:, :5], b[:, :5])
    assert not np.allclose(a[:, 5:], b[:, 5:])


def test_save_load_round_trip_with_tied_weights(tmp_path):
    model, loaded = assert_round_trip(small, [gk.randint(0, 13, (2, 8))], tmp_path)
    assert loaded.lm_head.weight is loaded.transformer.wte.weight   # still one parameter


# === the PyTorch twin in float64
def test_matches_pytorch_float64():
    ids = np.random.default_rng(0).integers(0, 13, (3, 8))
    gk_model, t_model = small(), TorchGPT(13, 8, 2, 2, 16)
    assert_matches_torch(gk_model, t_model, ids)


def test_matches_pytorch_on_a_shorter_sequence():
    ids = np.random.default_rng(1).integers(0, 13, (2, 5))
    assert_matches_torch(small(), TorchGPT(13, 8, 2, 2, 16), ids)


# === generation
def test_top_k_1_is_greedy_argmax():
    model = small().eval()
    prompt = gk.tensor([[1, 2, 3], [7, 7, 0]])
    greedy = model.generate(prompt, 10, do_sample=False).numpy()
    np.testing.assert_array_equal(model.generate(prompt, 10, top_k=1).numpy(), greedy)
    np.testing.assert_array_equal(model.generate(prompt, 10, top_k=1, temperature=5.0).numpy(),
                                  greedy)
    ids = prompt.numpy()   # by hand: the argmax of the last position, block_size of context
    with gk.no_grad():
        for _ in range(10):
            logits = model(gk.tensor(ids[:, -8:])).numpy()[:, -1]
            ids = np.concatenate([ids, logits.argmax(-1)[:, None]], axis=1)
    np.testing.assert_array_equal(greedy, ids)


def test_a_seed_reproduces_the_sample():
    model = small().eval()
    prompt = gk.tensor([[1, 2, 3]])
    a = model.generate(prompt, 20, temperature=1.5, seed=0).numpy()
    np.testing.assert_array_equal(a, model.generate(prompt, 20, temperature=1.5, seed=0).numpy())
    assert not np.array_equal(a, model.generate(prompt, 20, temperature=1.5, seed=1).numpy())
    gk.manual_seed(4)                      # without seed=: the global generator
    b = model.generate(prompt, 20, temperature=1.5).numpy()
    gk.manual_seed(4)
    np.testing.assert_array_equal(b, model.generate(prompt, 20, temperature=1.5).numpy())


def test_top_k_keeps_the_samples_among_the_k_most_likely():
    model = small(vocab=13).eval()
    prompt = gk.tensor([[3]])
    with gk.no_grad():
        top3 = np.argsort(model(prompt).numpy()[0, -1])[-3:]
    firsts = {int(model.generate(prompt, 1, top_k=3, temperature=3.0, seed=s).numpy()[0, 1])
              for s in range(40)}
    assert firsts <= set(top3.tolist()) and len(firsts) > 1


def test_a_prompt_longer_than_block_size_is_cropped_to_its_end():
    model = small(block_size=8).eval()
    long = np.random.default_rng(0).integers(0, 13, (1, 20))
    out = model.generate(gk.tensor(long), 5, do_sample=False).numpy()
    assert out.shape == (1, 25)
    np.testing.assert_array_equal(out[:, :20], long)
    cropped = model.generate(gk.tensor(long[:, -8:]), 5, do_sample=False).numpy()
    np.testing.assert_array_equal(out[:, 20:], cropped[:, 8:])


def test_forward_refuses_more_than_block_size_tokens():
    with pytest.raises(ValueError, match=r"12 tokens, more than block_size 8.*last 8"):
        small(block_size=8)(gk.randint(0, 13, (1, 12)))


# === it learns
def test_learns_real_text():
    vocab, batches = char_data(seq_len=16)
    model = GPT(len(vocab), block_size=16, n_layer=2, n_head=2, n_embd=32)

    def loss_fn(m, x, y):
        return F.cross_entropy(m(x).reshape(-1, len(vocab)), y.reshape(-1))

    losses = train(model, batches, loss_fn, steps=150, lr=1e-2)
    first, last = start_and_end(losses)
    assert first > 0.9 * np.log(len(vocab))          # starts near chance: ln(V)
    assert last < 0.35 * first, (first, last)
