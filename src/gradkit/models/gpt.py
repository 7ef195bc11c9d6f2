"""GPT: a decoder-only Transformer language model, in the shape of GPT-2 and Karpathy's nanoGPT.

Token ids become vectors (a learned embedding per token plus a learned embedding per position),
go through ``n_layer`` identical blocks over a residual stream h (B, T, n_embd), and come out as
logits over the next token at every position:

    h = wte(ids) + wpe(0..T-1)
    for each block:   h = h + attn(ln_1(h))          causal self-attention: position t sees 0..t
                      h = h + mlp(ln_2(h))           mlp(x) = c_proj(gelu(c_fc(x))), 4x wide
    logits = lm_head(ln_f(h))                        lm_head.weight IS wte.weight (tied)

Weight tying (Press & Wolf, 2017): the head that scores "which token comes next" reuses the
embedding matrix, so a token's input vector and output vector are one parameter; it saves
vocab_size x n_embd parameters and helps small models. ``state_dict`` lists it under both names,
as PyTorch does, and loading writes the one shared array.

Parameter names are nanoGPT's (``transformer.wte.weight``, ``transformer.h.0.attn.c_attn.weight``,
``lm_head.weight``), so its checkpoints load by name; weights start from N(0, 0.02), with the
residual projections (``c_proj``) at 0.02 / √(2 n_layer), as in GPT-2.

=== CausalSelfAttention  FeedForward  Block  GPT (forward, generate)
"""
import math

import numpy as np

from .. import nn, ops
from ..autograd import grad_mode
from ..nn import functional as F
from .generation import check_sampling, next_tokens
from .pretrained import token_ids

__all__ = ["GPT", "Block", "CausalSelfAttention", "FeedForward"]


# === CausalSelfAttention
class CausalSelfAttention(nn.Module):
    """n_head heads of attention in which position t attends to positions 0..t only.

    x: (B, T, C) -> (B, T, C). q, k, v come from one Linear (c_attn, C -> 3C), split into heads
    of C / n_head features; out = c_proj([head_1 .. head_H]),
    head_h = softmax(q_h k_hᵀ / √(C/H) + causal mask) v_h.
    """

    def __init__(self, n_embd, n_head, dropout=0.0, bias=True):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"GPT: n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_embd, self.n_head, self.dropout = n_embd, n_head, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size): every head attends on its own
        q, k, v = (t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, T, C)   # the heads side by side again
        return self.resid_dropout(self.c_proj(y))


# === FeedForward
class FeedForward(nn.Module):
    """x: (B, T, C) -> (B, T, C): c_proj(gelu(c_fc(x))), with a hidden width of 4C."""

    def __init__(self, n_embd, dropout=0.0, bias=True):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


# === Block
class Block(nn.Module):
    """One Transformer block, pre-norm: h = h + attn(ln_1(h)); h = h + mlp(ln_2(h))."""

    def __init__(self, n_embd, n_head, dropout=0.0, bias=True):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = FeedForward(n_embd, dropout, bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


# === GPT
class GPT(nn.Module):
    """ids: (B, T) int64, T <= block_size -> logits (B, T, vocab_size) float32.

    block_size: the longest context (the number of learned positions). Defaults to ``64``.
    n_layer, n_head, n_embd: depth, heads, width. Default to ``4``, ``4``, ``128``.
    dropout: on the embeddings, the attention weights and each residual branch. Defaults to ``0``.
    bias: biases in the Linears and LayerNorms. Defaults to ``True`` (GPT-2's).

    The loss of next-token prediction, with targets y = the ids shifted by one:
    ``F.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1))``.

    >>> model = GPT(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=64)
    >>> out = model.generate(gk.tensor([[0]]), max_new_tokens=20, top_k=10)   # (1, 21)
    """

    def __init__(self, vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0,
                 bias=True):
        super().__init__()
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd),     # token embedding
            wpe=nn.Embedding(block_size, n_embd),     # position embedding
            drop=nn.Dropout(dropout),
            h=nn.ModuleList([Block(n_embd, n_head, dropout, bias) for _ in range(n_layer)]),
            ln_f=nn.LayerNorm(n_embd, bias=bias),
        ))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight   # weight tying: one Parameter
        self.reset_parameters()

    def reset_parameters(self):
        """N(0, 0.02) for every Linear and Embedding weight, zero biases; the projections into
        the residual stream at 0.02 / √(2 n_layer), so the stream's variance does not grow with
        depth (GPT-2)."""
        for name, m in self.named_modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                std = 0.02 / math.sqrt(2 * self.n_layer) if name.endswith("c_proj") else 0.02
                nn.init.normal_(m.weight, 0.0, std)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, idx):
        if idx.ndim != 2:
            raise ValueError(f"GPT: expected ids (B, T), got shape {tuple(idx.shape)}")
        B, T = idx.shape
        if T > self.block_size:
            raise ValueError(f"GPT: the sequence has {T} tokens, more than block_size "
                             f"{self.block_size} (the positions this model learned); pass at most "
                             f"the last {self.block_size} (generate() crops its context so)")
        pos = ops.arange(T)
        h = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            h = block(h)
        return self.lm_head(self.transformer.ln_f(h))

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, do_sample=True,
                 seed=None):
        """The prompt ``idx`` (B, T) followed by ``max_new_tokens`` ids: a (B, T + n) int64 Tensor.

        Each step runs the model on the last ``block_size`` ids (a longer prompt is cropped to
        its end, as nanoGPT does) and picks the next id from the last position's logits:
        sampling (the default) from softmax(logits / temperature), restricted to the ``top_k``
        most likely ids when given (``top_k=1`` is greedy); ``do_sample=False`` takes the argmax.
        ``seed`` makes the draws reproducible (default: gradkit's global generator, which
        ``gk.manual_seed`` sets). Call ``model.eval()`` first when the model has dropout.
        """
        ids = token_ids(idx, "GPT.generate")
        if ids.shape[1] == 0:
            raise ValueError("GPT.generate: the prompt is empty; give at least one id")
        check_sampling(temperature, top_k, do_sample, "GPT.generate")
        rng = np.random.default_rng(seed) if seed is not None else None
        with grad_mode.no_grad():
            for _ in range(max_new_tokens):
                context = ids[:, -self.block_size:]
                logits = self(ops.from_numpy(context))[:, -1]
                new = next_tokens(logits.numpy(), do_sample=do_sample, temperature=temperature,
                                  top_k=top_k, rng=rng)
                ids = np.concatenate([ids, new[:, None].astype(np.int64)], axis=1)
        return ops.from_numpy(ids)

    def num_parameters(self):
        """The number of distinct parameters (the tied head counted once)."""
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self):
        return (f"vocab_size={self.vocab_size}, block_size={self.block_size}, "
                f"n_layer={self.n_layer}, n_head={self.n_head}, n_embd={self.n_embd}")
