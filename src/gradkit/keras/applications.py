"""Ready-made architectures in the Keras dialect: the models that ``gradkit train`` builds, for
any program to build the same way.

    model = keras.applications.image_classifier("cnn", image_shape=(28, 28), classes=10)
    model = keras.applications.regressor(features=13)
    model = keras.applications.char_language_model("gpt", vocab_size=65, seq_len=64)

Each function returns an uncompiled model with a known input shape (so it is built); ``GPT`` is
one of gradkit's own classes, so a saved one loads with ``keras.models.load_model``.
"""
import numpy as np

from .. import ops
from . import layers
from .models import Model, Sequential
from .registry import register_alias

__all__ = ["image_classifier", "regressor", "char_language_model", "GPT"]


def image_classifier(kind, image_shape, classes):
    """Softmax class probabilities for (H, W) images: ``kind`` 'mlp' (one hidden layer of 128),
    'cnn' (two 3x3 conv + max-pool blocks of 32 and 64 filters, then 128) or 'lstm' (each image
    row one time step of an LSTM(128))."""
    h, w = image_shape
    body = {
        "mlp": lambda: [layers.Flatten(), layers.Dense(128, activation="relu")],
        "cnn": lambda: [layers.Reshape((h, w, 1)),
                        layers.Conv2D(32, 3, padding="same", activation="relu"),
                        layers.MaxPooling2D(),
                        layers.Conv2D(64, 3, padding="same", activation="relu"),
                        layers.MaxPooling2D(), layers.Flatten(),
                        layers.Dense(128, activation="relu")],
        "lstm": lambda: [layers.LSTM(128)],
    }
    if kind not in body:
        raise ValueError(f"image_classifier: kind must be one of {sorted(body)}, got {kind!r}")
    return Sequential([layers.Input(shape=(h, w))] + body[kind]() +
                      [layers.Dense(classes, activation="softmax")])


def regressor(features, width=64):
    """One number from ``features`` inputs: two ReLU layers of ``width`` (Chollet's Boston
    housing model)."""
    return Sequential([layers.Input(shape=(features,)), layers.Dense(width, activation="relu"),
                       layers.Dense(width, activation="relu"), layers.Dense(1)])


def char_language_model(kind, vocab_size, seq_len):
    """Next-token logits (B, T, vocab_size) from token ids (B, T): ``kind`` 'mlp' (an embedding
    and one hidden layer per position), 'lstm' (an LSTM(128) over the sequence) or 'gpt' (the
    small transformer below, at most ``seq_len`` positions)."""
    if kind == "gpt":
        model = GPT(vocab_size, seq_len)
        model(np.zeros((1, seq_len), np.int64))        # build
        return model
    body = {"mlp": lambda: [layers.Dense(256, activation="relu")],
            "lstm": lambda: [layers.LSTM(128, return_sequences=True)]}
    if kind not in body:
        raise ValueError(f"char_language_model: kind must be 'mlp', 'lstm' or 'gpt', got {kind!r}")
    return Sequential([layers.Input(shape=(None,), dtype="int64"),   # any length
                       layers.Embedding(vocab_size, 64)] + body[kind]() + [layers.Dense(vocab_size)])


class GPT(Model):
    """Token + position embeddings, ``depth`` pre-norm blocks of causal self-attention and a
    GELU MLP, a final LayerNorm and a linear head: logits (B, T, vocab_size)."""

    def __init__(self, vocab_size, seq_len, dim=64, heads=4, depth=2, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.config = dict(vocab_size=vocab_size, seq_len=seq_len, dim=dim, heads=heads,
                           depth=depth, dropout=dropout)
        self.tokens = layers.Embedding(vocab_size, dim)
        self.positions = layers.Embedding(seq_len, dim)
        self.blocks = []
        for i in range(depth):
            block = {
                "ln1": layers.LayerNormalization(epsilon=1e-5),
                "attn": layers.MultiHeadAttention(heads, dim // heads, dropout=dropout),
                "ln2": layers.LayerNormalization(epsilon=1e-5),
                "up": layers.Dense(4 * dim, activation="gelu"),
                "down": layers.Dense(dim),
            }
            for k, layer in block.items():
                setattr(self, f"block{i}_{k}", layer)  # registered as sub-layers, in order
            self.blocks.append(block)
        self.ln_f = layers.LayerNormalization(epsilon=1e-5)
        self.head = layers.Dense(vocab_size)

    def call(self, ids, training=None):
        t = ids.shape[1]
        h = self.tokens(ids) + self.positions(ops.arange(t))
        for b in self.blocks:
            a = b["ln1"](h)
            h = h + b["attn"](a, a, use_causal_mask=True, training=training)
            h = h + b["down"](b["up"](b["ln2"](h)))
        return self.head(self.ln_f(h))

    def get_config(self):
        return dict(self.config)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


register_alias("gradkit.cli>GPT", GPT)   # the name in model.keras files written before it moved here
