"""TransformerClassifier: a sequence of token ids -> one label (sentiment, topic, spam or not).

An encoder-only Transformer, as BERT is, small and trained from scratch:

    ids (B, T) ─ embedding + learned positions      (B, T, d_model)
               ─ nn.TransformerEncoder              (B, T, d_model)   every token attends to all
               ─ pool                               (B, d_model)      one vector per sequence
               ─ dropout ─ head: Linear             (B, num_classes)  logits

Pooling: 'mean' averages the token vectors (padding left out); 'cls' prepends a learned [CLS]
vector and keeps what the encoder made of it (BERT's, ViT's). Padding: ids equal to
``padding_idx`` are masked out of attention (``src_key_padding_mask``) and of the mean, so a
batch of sentences of different lengths, padded to one length, gives each the logits it gets
alone. The encoder layers are pre-norm (``norm_first=True``) with a final LayerNorm: they train
without a learning-rate warm-up.
"""
from .. import nn, ops

__all__ = ["TransformerClassifier"]

POOLINGS = ("mean", "cls")


class TransformerClassifier(nn.Module):
    """ids: (B, T) int64, T <= max_len -> (B, num_classes) logits.

    d_model, nhead, num_layers, dim_feedforward: the encoder's width, heads, depth and
    feed-forward width. Default to ``64``, ``4``, ``2``, ``128``.
    max_len: the longest sequence (learned positions). Defaults to ``256``.
    dropout: in the encoder and before the head. Defaults to ``0.1``.
    pooling: 'mean' (the default) or 'cls'. padding_idx: the padding id. Defaults to ``0``;
    ``None`` when every id is a real token.

    >>> model = TransformerClassifier(vocab_size=5000, num_classes=2)
    >>> model(ids).shape                                   # ids: (B, T), 0 = padding
    (B, 2)
    """

    def __init__(self, vocab_size, num_classes=2, d_model=64, nhead=4, num_layers=2,
                 dim_feedforward=128, max_len=256, dropout=0.1, pooling="mean", padding_idx=0):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"TransformerClassifier: pooling must be one of {POOLINGS}, got "
                             f"{pooling!r}")
        self.vocab_size, self.num_classes, self.max_len = vocab_size, num_classes, max_len
        self.pooling, self.padding_idx = pooling, padding_idx
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        extra = 1 if pooling == "cls" else 0   # the [CLS] vector takes position 0
        self.pos_embedding = nn.Embedding(max_len + extra, d_model)
        if pooling == "cls":
            self.cls_token = nn.Parameter(ops.zeros(1, 1, d_model))
            nn.init.normal_(self.cls_token, 0.0, 0.02)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, ids):
        if ids.ndim != 2:
            raise ValueError(f"TransformerClassifier: expected ids (B, T), got shape "
                             f"{tuple(ids.shape)}")
        B, T = ids.shape
        if T > self.max_len:
            raise ValueError(f"TransformerClassifier: the sequences have {T} tokens, more than "
                             f"max_len {self.max_len}; truncate them or build with a larger "
                             "max_len")
        h = self.embedding(ids)                                    # (B, T, d_model)
        pad = None if self.padding_idx is None else ids == self.padding_idx   # (B, T) True = pad
        if self.pooling == "cls":
            h = ops.cat([self.cls_token.expand(B, 1, h.shape[-1]), h], dim=1)
            if pad is not None:
                pad = ops.cat([ops.zeros(B, 1, dtype=pad.dtype), pad], dim=1)
        h = h + self.pos_embedding(ops.arange(h.shape[1]))
        h = self.encoder(h, src_key_padding_mask=pad)
        if self.pooling == "cls":
            pooled = h[:, 0]
        elif pad is None:
            pooled = h.mean(1)
        else:  # the mean over real tokens: padding weighs 0
            keep = (~pad).to(h.dtype).unsqueeze(-1)                 # (B, T, 1)
            pooled = (h * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))

    def extra_repr(self):
        return (f"vocab_size={self.vocab_size}, num_classes={self.num_classes}, "
                f"pooling={self.pooling!r}, padding_idx={self.padding_idx}")
