"""The four workloads of issue 7, written once against the PyTorch-shaped API.

Each builder takes the library (``gradkit`` or ``torch``) and returns the model built from that
library's ``nn`` and ``nn.functional``, so the gradkit model and the PyTorch model are the same
source text line for line: the benchmark cannot time two different architectures.

    mlp   784-512-256-10, ReLU                                        x: (128, 784) float32
    cnn   Conv(1→32,3,p1)-ReLU-MaxPool2-Conv(32→64,3,p1)-ReLU-MaxPool2-
          Linear(3136→128)-ReLU-Linear(128→10)                        x: (64, 1, 28, 28) float32
    lstm  Embedding(65,128)-LSTM(128→256)-Linear(256→65)             x: (32, 64) int64 tokens
    gpt   4 pre-norm blocks, d_model 256, 4 heads, causal attention,
          GELU MLP ×4, context 128, vocab 65                          x: (16, 128) int64 tokens

Targets are class indices; the loss is ``F.cross_entropy`` over every output position. Data are
NumPy arrays, made by :func:`make_data`, which each side wraps without copying
(``torch.from_numpy`` / ``gradkit.from_numpy``). This module imports neither library itself, so a
memory subprocess for one side never loads the other.

>>> import torch, gradkit as gk
>>> t_model = build("mlp", torch)
>>> g_model = build("mlp", gk)
>>> g_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
"""
import numpy as np

__all__ = ["WORKLOADS", "BATCH", "VOCAB", "build", "make_data", "loss_of"]

WORKLOADS = ("mlp", "cnn", "lstm", "gpt")
BATCH = {"mlp": 128, "cnn": 64, "lstm": 32, "gpt": 16}
VOCAB = 65          # tiny-Shakespeare character vocabulary
LSTM_SEQ = 64
GPT_CTX, GPT_D, GPT_HEADS, GPT_LAYERS = 128, 256, 4, 4


# === mlp / cnn =================================================================================
def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(),
                         nn.Linear(512, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(),
                         nn.Linear(3136, 128), nn.ReLU(),
                         nn.Linear(128, 10))


# === char LSTM =================================================================================
def lstm(lib):
    nn = lib.nn

    class CharLSTM(nn.Module):
        """tokens (N, T) int64 -> logits (N, T, 65)."""

        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, 128)
            self.lstm = nn.LSTM(128, 256, batch_first=True)
            self.head = nn.Linear(256, VOCAB)

        def forward(self, tokens):
            h, _ = self.lstm(self.embed(tokens))
            return self.head(h)

    return CharLSTM()


# === GPT =======================================================================================
def gpt(lib):
    nn, F = lib.nn, lib.nn.functional

    class CausalSelfAttention(nn.Module):
        """x (N, T, D) -> (N, T, D): one fused QKV projection, heads batched in one SDPA call."""

        def __init__(self, d, heads):
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)

        def forward(self, x):
            N, T, D = x.shape
            H = self.heads
            q, k, v = self.qkv(x).split(D, dim=2)
            q = q.reshape(N, T, H, D // H).transpose(1, 2)       # (N, H, T, D/H)
            k = k.reshape(N, T, H, D // H).transpose(1, 2)
            v = v.reshape(N, T, H, D // H).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.proj(y.transpose(1, 2).reshape(N, T, D))

    class Block(nn.Module):
        """Pre-norm: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

        def __init__(self, d, heads):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.attn = CausalSelfAttention(d, heads)
            self.ln_2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        """tokens (N, T) int64, T ≤ 128 -> logits (N, T, 65)."""

        def __init__(self):
            super().__init__()
            self.tok_emb = nn.Embedding(VOCAB, GPT_D)
            self.pos_emb = nn.Embedding(GPT_CTX, GPT_D)
            self.blocks = nn.ModuleList([Block(GPT_D, GPT_HEADS) for _ in range(GPT_LAYERS)])
            self.ln_f = nn.LayerNorm(GPT_D)
            self.head = nn.Linear(GPT_D, VOCAB)

        def forward(self, tokens):
            x = self.tok_emb(tokens) + self.pos_emb(lib.arange(tokens.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    return GPT()


_BUILDERS = {"mlp": mlp, "cnn": cnn, "lstm": lstm, "gpt": gpt}


def build(name, lib):
    """The workload ``name`` as a ``lib.nn.Module`` (lib: the ``gradkit`` or ``torch`` module)."""
    return _BUILDERS[name](lib)


def make_data(name, batch=None, seed=0):
    """(x, y) NumPy arrays for one step of ``name``; ``batch`` defaults to the issue's batch."""
    rng = np.random.default_rng(seed)
    n = batch or BATCH[name]
    if name == "mlp":
        return (rng.standard_normal((n, 784), dtype=np.float32),
                rng.integers(0, 10, n, dtype=np.int64))
    if name == "cnn":
        return (rng.standard_normal((n, 1, 28, 28), dtype=np.float32),
                rng.integers(0, 10, n, dtype=np.int64))
    T = LSTM_SEQ if name == "lstm" else GPT_CTX
    tokens = rng.integers(0, VOCAB, (n, T + 1), dtype=np.int64)
    return tokens[:, :-1].copy(), tokens[:, 1:].copy()     # next-character prediction


def loss_of(lib, model, x, y):
    """Mean cross-entropy over every output position (float32 scalar tensor)."""
    logits = model(x)
    if logits.ndim == 3:
        logits, y = logits.reshape(-1, logits.shape[-1]), y.reshape(-1)
    return lib.nn.functional.cross_entropy(logits, y)
