"""CharRNN: a character-level language model on a recurrent network (Karpathy's char-rnn, 2015).

Each character id becomes a vector, a recurrent cell reads them in order, carrying a hidden state
h_t that summarises the text so far, and a linear head turns each h_t into logits over the next
character:

    ids (B, T) ─ embedding ─ (B, T, E) ─ rnn ─ (B, T, H) ─ dropout ─ head ─ logits (B, T, V)

    cell 'rnn':   h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)
    cell 'lstm':  gates i, f, g, o; c_t = f ⊙ c_{t-1} + i ⊙ g; h_t = o ⊙ tanh(c_t)
    cell 'gru':   gates r, z; n = tanh(W_in x_t + r ⊙ (W_hn h_{t-1}));
                  h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

``forward`` returns the final hidden state as well, so a long text can be trained in chunks
(truncated backpropagation through time: pass ``hidden`` on, detached) and ``generate`` can feed
one character at a time. Generation samples with ``models.generation.next_tokens``, the step
every ``generate`` in gradkit.models shares.
"""
import numpy as np

from .. import nn, ops
from ..autograd import grad_mode
from .generation import check_sampling, next_tokens
from .pretrained import token_ids

__all__ = ["CharRNN"]

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class CharRNN(nn.Module):
    """ids: (B, T) int64 -> (logits (B, T, vocab_size) float32, hidden).

    cell: 'rnn', 'lstm' (the default) or 'gru'. embed_dim: defaults to ``64``.
    hidden_size: defaults to ``256``. num_layers: stacked recurrent layers, defaults to ``2``.
    dropout: between recurrent layers and before the head. Defaults to ``0``.
    hidden: the state to start from (None: zeros); for 'lstm' the pair (h, c), each
    (num_layers, B, hidden_size).

    >>> model = CharRNN(vocab_size=65, cell="gru")
    >>> logits, hidden = model(ids)                       # ids: (B, T) int64
    """

    def __init__(self, vocab_size, cell="lstm", embed_dim=64, hidden_size=256, num_layers=2,
                 dropout=0.0):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"CharRNN: cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.vocab_size, self.cell = vocab_size, cell
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = CELLS[cell](embed_dim, hidden_size, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids, hidden=None):
        if ids.ndim != 2:
            raise ValueError(f"CharRNN: expected ids (B, T), got shape {tuple(ids.shape)}")
        out, hidden = self.rnn(self.embedding(ids), hidden)
        return self.head(self.dropout(out)), hidden

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, do_sample=True,
                 seed=None):
        """The prompt ``idx`` (B, T) followed by ``max_new_tokens`` ids: a (B, T + n) int64 Tensor.

        The prompt is read once; then each new character is fed back alone, with the hidden
        state carried over. Sampling (the default) draws from softmax(logits / temperature),
        restricted to the ``top_k`` most likely ids when given; ``do_sample=False`` is greedy.
        ``seed`` makes the draws reproducible (default: gradkit's global generator).
        """
        ids = token_ids(idx, "CharRNN.generate")
        if ids.shape[1] == 0:
            raise ValueError("CharRNN.generate: the prompt is empty; give at least one id")
        check_sampling(temperature, top_k, do_sample, "CharRNN.generate")
        rng = np.random.default_rng(seed) if seed is not None else None
        pieces, step, hidden = [ids], ids, None
        with grad_mode.no_grad():
            for _ in range(max_new_tokens):
                logits, hidden = self(ops.from_numpy(step), hidden)
                new = next_tokens(logits[:, -1].numpy(), do_sample=do_sample,
                                  temperature=temperature, top_k=top_k, rng=rng)
                step = new[:, None].astype(np.int64)
                pieces.append(step)
        return ops.from_numpy(np.concatenate(pieces, axis=1))

    def extra_repr(self):
        return f"vocab_size={self.vocab_size}, cell={self.cell!r}"

