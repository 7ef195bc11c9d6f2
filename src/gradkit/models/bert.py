"""BERT: the bidirectional Transformer encoder (Devlin et al., 2019), and sentence embeddings on it.

Embeddings of the tokens, their positions and their segments are summed and normalized; then
``num_hidden_layers`` post-norm blocks update the hidden states h (N, L, hidden):

    h = LayerNorm(h + attention.output.dense(attention(query(h), key(h), value(h))))
    h = LayerNorm(h + output.dense(gelu(intermediate.dense(h))))

Every token attends to every real (non-padding) token. The pooler reads the first token ([CLS]):
pooler_output = tanh(pooler.dense(h[:, 0])). The layers compute the real tokens only (see
``Tokens``): padding positions come out as zeros in last_hidden_state (transformers leaves
arbitrary values there), so pad on the right, as BERT's tokenizer does, for the pooler to read
[CLS].

``BertForSequenceClassification`` puts transformers' task head on the pooled [CLS] state:
logits = classifier(dropout(pooler_output)), with the loss of the config's ``problem_type``.

``SentenceEncoder`` is the sentence-transformers recipe of all-MiniLM-L6-v2 on top: the mean of
the last hidden states over the real tokens, scaled to unit length, so that the dot product of
two embeddings is their cosine similarity.

Names follow Hugging Face's ``BertModel`` (``encoder.layer.0.attention.self.query.weight``), so
state_dicts and safetensors files move between gradkit and transformers unchanged.

=== BertConfig  BertEmbeddings  BertLayer (attention, intermediate, output)  BertEncoder  BertPooler
=== Tokens (the real tokens of a padded batch)  BertModel (from_pretrained, save_pretrained)
=== BertForSequenceClassification (the loss of each problem_type)  folder helpers
=== SentenceEncoder (mean_pooling, encode, similarity)
"""
import os
import warnings

import numpy as np

from .. import _internal, nn, ops
from ..autograd import grad_mode
from ..autograd.checkpoint import checkpoint
from ..nn import functional as F
from ..nn import init
from . import pretrained
from .checkpointing import GradientCheckpointing
from .fused import FusedLinears
from .tokenizer import attached_tokenizer

__all__ = ["BertConfig", "BertModel", "BertForSequenceClassification", "SentenceEncoder",
           "BaseModelOutputWithPooling", "SequenceClassifierOutput", "Tokens", "mean_pooling"]

# hidden_act in config.json -> the activation (transformers' ACT2FN names)
ACTIVATIONS = {
    "gelu": F.gelu,                                                  # exact: x Φ(x)
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}

# names in BertForX checkpoints that belong to the task heads, not to BertModel
HEADS = ("cls.", "classifier.", "qa_outputs.")
HEAD_NAMES = HEADS + ("position_ids",)
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")

ENCODE_CHUNK = 64  # encode() tokenizes and sorts by length 64 batches at a time


# === BertConfig
class BertConfig:
    """The architecture's settings, with Hugging Face's names and defaults (config.json)."""

    model_type = "bert"

    def __init__(self, vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
                 hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                 max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02,
                 layer_norm_eps=1e-12, pad_token_id=0, position_embedding_type="absolute",
                 num_labels=None, id2label=None, label2id=None, problem_type=None,
                 classifier_dropout=None, **extra):
        self.vocab_size = int(vocab_size)
        self.hidden_size = int(hidden_size)
        self.num_hidden_layers = int(num_hidden_layers)
        self.num_attention_heads = int(num_attention_heads)
        self.intermediate_size = int(intermediate_size)
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = float(hidden_dropout_prob)
        self.attention_probs_dropout_prob = float(attention_probs_dropout_prob)
        self.max_position_embeddings = int(max_position_embeddings)
        self.type_vocab_size = int(type_vocab_size)
        self.initializer_range = float(initializer_range)
        self.layer_norm_eps = float(layer_norm_eps)
        self.pad_token_id = pad_token_id
        self.position_embedding_type = position_embedding_type
        # the task head's settings (transformers' PretrainedConfig): num_labels, when given and
        # different from len(id2label), wins and names the labels LABEL_0, LABEL_1, ...
        if num_labels is not None and id2label is not None and len(id2label) != num_labels:
            id2label = label2id = None
        if id2label is None:
            id2label = {i: f"LABEL_{i}" for i in range(2 if num_labels is None else int(num_labels))}
        self.id2label = {int(i): label for i, label in id2label.items()}  # JSON keys are str
        self.label2id = dict(label2id or {label: i for i, label in self.id2label.items()})
        self.num_labels = len(self.id2label)
        self.problem_type = problem_type
        self.classifier_dropout = classifier_dropout
        self._check()

    def _check(self):
        who = "BertConfig"
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"{who}: hidden_act={self.hidden_act!r} is not supported; use one of "
                             f"{', '.join(map(repr, ACTIVATIONS))}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"{who}: hidden_size ({self.hidden_size}) must be a multiple of "
                             f"num_attention_heads ({self.num_attention_heads})")
        if self.position_embedding_type != "absolute":
            raise ValueError(f"{who}: position_embedding_type={self.position_embedding_type!r} "
                             "is not supported; gradkit implements 'absolute' (learned) positions")
        if self.num_labels < 1:
            raise ValueError(f"{who}: num_labels must be at least 1 (1 = regression); got "
                             f"{self.num_labels}")
        if self.problem_type not in (None,) + PROBLEM_TYPES:
            raise ValueError(f"{who}: problem_type={self.problem_type!r} is not one of "
                             f"{', '.join(map(repr, PROBLEM_TYPES))} (or None: chosen from "
                             "num_labels and the labels' dtype)")

    @classmethod
    def from_dict(cls, d):
        return cls(**{k: v for k, v in d.items() if k not in ("architectures", "model_type")})

    def to_dict(self):
        """config.json as transformers writes it for BertModel (save_pretrained of a task
        model names its own class in ``architectures``)."""
        return {"architectures": ["BertModel"], "model_type": "bert",
                "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
                "num_hidden_layers": self.num_hidden_layers,
                "num_attention_heads": self.num_attention_heads,
                "intermediate_size": self.intermediate_size, "hidden_act": self.hidden_act,
                "hidden_dropout_prob": self.hidden_dropout_prob,
                "attention_probs_dropout_prob": self.attention_probs_dropout_prob,
                "max_position_embeddings": self.max_position_embeddings,
                "type_vocab_size": self.type_vocab_size,
                "initializer_range": self.initializer_range,
                "layer_norm_eps": self.layer_norm_eps, "pad_token_id": self.pad_token_id,
                "position_embedding_type": self.position_embedding_type,
                "id2label": {str(i): label for i, label in self.id2label.items()},
                "label2id": self.label2id, "problem_type": self.problem_type,
                "classifier_dropout": self.classifier_dropout, "torch_dtype": "float32"}

    def __repr__(self):
        return f"BertConfig({self.to_dict()})"


# === BertEmbeddings
class BertEmbeddings(nn.Module):
    """LayerNorm(word(ids) + position(0..L-1) + token_type(segments)).

    ids (N, L) int64, token_type_ids (N, L) or None (segment 0) -> (N, L, hidden)."""

    def __init__(self, config):
        super().__init__()
        H = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, H, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, H)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, H)
        self.LayerNorm = nn.LayerNorm(H, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids):
        L = input_ids.shape[1]
        h = self.word_embeddings(ops.from_numpy(input_ids))
        # positions broadcast over the batch: (1, L, H) rows of the table, no (N, L) index array
        h = h + self.position_embeddings.weight[:L][None]
        if token_type_ids is None:
            h = h + self.token_type_embeddings.weight[0]  # segment 0 everywhere
        else:
            h = h + self.token_type_embeddings(ops.from_numpy(token_type_ids))
        return self.dropout(self.LayerNorm(h))


# === BertLayer: attention (self, output), intermediate, output
class BertSelfAttention(nn.Module):
    """Multi-head attention of every token to every real token of its sequence.

    h: (N, L, H) with ``attn_mask`` (N, 1, 1, L) bool (True = attend) or None, or the real
    tokens only, (T, H), with ``tokens`` (a Tokens) saying where they belong -> same shape."""

    def __init__(self, config):
        super().__init__()
        H = config.hidden_size
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = H // config.num_attention_heads
        self.dropout_p = config.attention_probs_dropout_prob
        self.query = nn.Linear(H, H)
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)
        self.qkv = FusedLinears(self, "query", "key", "value")

    def forward(self, h, attn_mask=None, tokens=None):
        qkv = self.qkv(h)  # inference: one GEMM for the three projections
        parts = [qkv] if qkv is not None else [self.query(h), self.key(h), self.value(h)]
        if tokens is None:
            out = self._attend(parts, attn_mask)
            return out.reshape(*out.shape[:2], -1)
        outs = [tokens.pack_group(self._attend([tokens.unpack_group(p, g) for p in parts],
                                               g.attn_mask), g)
                for g in tokens.groups]
        return outs[0] if len(outs) == 1 else ops.cat(outs)

    def _attend(self, parts, attn_mask):
        """[qkv (N, L, 3H)] or [q, k, v] (N, L, H) each -> (N, L, heads, head_size)."""
        N, L = parts[0].shape[:2]
        nh, d = self.num_attention_heads, self.attention_head_size
        if len(parts) == 1:
            qkv = parts[0].reshape(N, L, 3, nh, d).permute(2, 0, 3, 1, 4)  # (3, N, nh, L, d)
            q, k, v = qkv[0], qkv[1], qkv[2]
        else:
            q, k, v = (x.reshape(N, L, nh, d).transpose(1, 2) for x in parts)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                             dropout_p=self.dropout_p if self.training else 0.0)
        return out.transpose(1, 2)


class BertSelfOutput(nn.Module):
    """LayerNorm(h + dropout(dense(attention)))."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, a, h):
        return self.LayerNorm(self.dropout(self.dense(a)) + h)


class BertAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, h, tokens=None):
        return self.output(self.self(h, tokens=tokens), h)


class BertIntermediate(nn.Module):
    """act(dense(h)): (N, L, hidden) -> (N, L, intermediate)."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = ACTIVATIONS[config.hidden_act]

    def forward(self, h):
        return self.act(self.dense(h))


class BertOutput(nn.Module):
    """LayerNorm(h + dropout(dense(m))): (N, L, intermediate), (N, L, hidden) -> (N, L, hidden)."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, m, h):
        return self.LayerNorm(self.dropout(self.dense(m)) + h)


class BertLayer(nn.Module):
    """One post-norm block: attention then the feed-forward network, each with a residual."""

    def __init__(self, config):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, h, tokens=None):
        """h: (N, L, H) without padding, or the real tokens (T, H) placed by ``tokens``."""
        h = self.attention(h, tokens)
        return self.output(self.intermediate(h), h)


# === BertEncoder, BertPooler
class BertEncoder(nn.Module):
    """The layers, one after another. With ``gradient_checkpointing`` (set by
    BertModel.gradient_checkpointing_enable()) each layer runs through ``checkpoint`` in
    training mode while recording a graph: its input is kept instead of its activations."""

    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False
        self.gradient_checkpointing_kwargs = {}

    def forward(self, h, tokens=None):
        recompute = self.gradient_checkpointing and self.training and grad_mode.is_grad_enabled()
        for layer in self.layer:
            if recompute:
                h = checkpoint(layer, h, tokens, **self.gradient_checkpointing_kwargs)
            else:
                h = layer(h, tokens)
        return h


class BertPooler(nn.Module):
    """tanh(dense(h[:, 0])): the [CLS] token's state, (N, L, H) -> (N, H)."""

    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, h):
        return F.tanh(self.dense(h[:, 0]))


# === Tokens
GROUP_MIN_LENGTH = 64  # attention over shorter sequences is cheap: one group
GROUP_RATIO = 0.75     # a row shorter than this part of its group's longest starts a new group


class Group:
    """Consecutive rows of a batch, padded to ``length``, whose real tokens are the packed rows
    [start, stop). ``mask`` (rows, length) bool and ``attn_mask`` (rows, 1, 1, length) are None
    when no row of the group is padded."""

    def __init__(self, rows, length, start, stop, mask):
        self.rows, self.length, self.start, self.stop = rows, length, start, stop
        self.mask = None if mask.all() else mask
        self.attn_mask = None if self.mask is None else ops.from_numpy(mask[:, None, None, :])


class Tokens:
    """Where the real tokens of a padded batch are, so that only they are computed.

    Linear layers, LayerNorm and the activation treat every token alike, so they run on the T
    real tokens packed as rows (T, F); only attention needs the (N, L) layout: ``unpack`` gives it
    (zeros at the padding), ``pack`` takes the real tokens back out. With mixed lengths this
    skips a third of the work (all-MiniLM-L6-v2, 256 sentences of 1-200 words sorted into
    batches of 32: 11,376 real tokens of 16,672 padded ones).

    Attention itself costs rows × length² per batch. When the rows are right-padded and sorted
    longest first (as ``SentenceEncoder.encode`` makes them), they are cut into ``groups`` of
    similar lengths, each padded only to its own longest row and attended on its own (a third of
    the attention work on the batches above). Every step is differentiable.
    """

    def __init__(self, mask):
        self.mask = mask  # (N, L) bool, True on real tokens
        N, L = mask.shape
        lengths = mask.sum(1)
        ends = np.concatenate([[0], np.cumsum(lengths)])  # packed rows of each sequence
        right_padded = (mask == (np.arange(L) < lengths[:, None])).all()
        cuts = [0]
        if right_padded and (np.diff(lengths) <= 0).all():
            for i in range(1, N):
                longest = lengths[cuts[-1]]
                if longest >= GROUP_MIN_LENGTH and lengths[i] < GROUP_RATIO * longest:
                    cuts.append(i)
        cuts.append(N)
        self.groups = []
        for a, b in zip(cuts[:-1], cuts[1:]):
            length = lengths[a:b].max() if right_padded else L
            if ends[b] > ends[a]:  # rows with no real token have nothing to attend
                self.groups.append(Group(b - a, length, ends[a], ends[b], mask[a:b, :length]))

    def pack(self, x):
        """(N, L, ...) -> (T, ...)"""
        return x[self.mask]

    def unpack(self, x):
        """(T, ...) -> (N, L, ...), zeros at the padding"""
        out = ops.zeros(self.mask.shape + tuple(x.shape[1:]), dtype=x.dtype)
        ops.setitem(out, self.mask, x)
        return out

    @staticmethod
    def unpack_group(x, g):
        """Packed (T, F) -> the group's rows, padded: (rows, length, F)."""
        x = x[g.start:g.stop]
        if g.mask is None:
            return x.reshape(g.rows, g.length, x.shape[-1])
        out = ops.zeros((g.rows, g.length, x.shape[-1]), dtype=x.dtype)
        ops.setitem(out, g.mask, x)
        return out

    @staticmethod
    def pack_group(y, g):
        """The group's (rows, length, ...) -> its real tokens, (T_group, F)."""
        y = y if g.mask is None else y[g.mask]
        return y.reshape(g.stop - g.start, -1)


# === BertModel
class BaseModelOutputWithPooling:
    """What BertModel returns: ``last_hidden_state`` (N, L, H) and ``pooler_output`` (N, H)
    (None without a pooler). ``out[0]`` is last_hidden_state, as in transformers."""

    def __init__(self, last_hidden_state, pooler_output=None):
        self.last_hidden_state, self.pooler_output = last_hidden_state, pooler_output

    def __getitem__(self, i):
        return tuple(x for x in (self.last_hidden_state, self.pooler_output) if x is not None)[i]

    def __len__(self):
        return 1 + (self.pooler_output is not None)


class BertModel(GradientCheckpointing, nn.Module):
    """The BERT encoder: ids (N, L) int -> hidden states (N, L, hidden) and pooled (N, hidden).

    >>> model = BertModel.from_pretrained(gradkit.models.pretrained.minilm_path())
    >>> batch = model.tokenizer(["a sentence", "another one"], padding=True, return_tensors="np")
    >>> model(batch["input_ids"], batch["attention_mask"]).last_hidden_state.shape
    (2, 5, 384)
    """

    def __init__(self, config, add_pooling_layer=True):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.tokenizer = None
        self.name_or_path = None  # the folder from_pretrained read
        self.reset_parameters()

    def reset_parameters(self):
        """Hugging Face's initialisation: weights ~ N(0, initializer_range), biases 0,
        LayerNorm γ = 1 and β = 0, the padding token's embedding 0."""
        std = self.config.initializer_range
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                init.normal_(m.weight, 0.0, std)
            if isinstance(m, nn.Linear) and m.bias is not None:
                init.zeros_(m.bias)
            if isinstance(m, nn.LayerNorm):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        pad = self.embeddings.word_embeddings.padding_idx
        if pad is not None:
            self.embeddings.word_embeddings.weight.array[pad] = 0

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        """input_ids: (N, L) int; attention_mask: (N, L) 1 = real token, 0 = padding;
        token_type_ids: (N, L) segment of each token (0 everywhere by default)."""
        who = "BertModel"
        cfg = self.config
        ids = pretrained.token_ids(input_ids, who)
        N, L = ids.shape
        if ids.size and (ids.max() >= cfg.vocab_size or ids.min() < 0):
            bad = int(ids.max() if ids.max() >= cfg.vocab_size else ids.min())
            raise ValueError(f"{who}: token id {bad} is outside the vocabulary (vocab_size "
                             f"{cfg.vocab_size}); the tokenizer probably does not belong to "
                             "this model")
        if L > cfg.max_position_embeddings:
            raise ValueError(f"{who}: the input has {L} tokens, more than the "
                             f"{cfg.max_position_embeddings} positions of this model "
                             "(max_position_embeddings); truncate it: tokenizer(..., "
                             f"truncation=True, max_length={cfg.max_position_embeddings})")
        types = None if token_type_ids is None else pretrained.token_ids(token_type_ids, "token_type_ids")
        if types is not None and types.shape != ids.shape:
            raise ValueError(f"{who}: token_type_ids has shape {types.shape}; expected the "
                             f"shape of input_ids {ids.shape}")
        mask = self._padding(attention_mask, ids.shape)
        h = self.embeddings(ids, types)
        if mask is None:
            h = self.encoder(h)
        else:  # the layers see the real tokens only (padding positions come out as zeros)
            tokens = Tokens(mask)
            h = tokens.unpack(self.encoder(tokens.pack(h), tokens))
        pooled = self.pooler(h) if self.pooler is not None else None
        return BaseModelOutputWithPooling(h, pooled)

    @staticmethod
    def _padding(attention_mask, shape):
        """(N, L) 1/0 -> (N, L) bool, True on real tokens; None when there is no padding."""
        if attention_mask is None:
            return None
        mask = pretrained.token_ids(attention_mask, "attention_mask")
        if mask.shape != shape:
            raise ValueError(f"BertModel: attention_mask has shape {mask.shape}; expected the "
                             f"shape of input_ids {shape}")
        return None if mask.all() else mask != 0

    # ---- loading and saving
    @classmethod
    def from_pretrained(cls, folder, dtype=np.float32):
        """Load a Hugging Face folder (config.json + model.safetensors, or shards with an index).

        The checkpoint of a BertModel or of a BertForX task model (names under ``bert.``; the task
        heads ``cls.``, ``classifier.``, ... are skipped). The tokenizer is attached as
        ``model.tokenizer`` when the folder has one. Returned in eval mode."""
        who = f"{cls.__name__}.from_pretrained"
        folder, cfg, files = _open_folder(folder, who)
        names = _tensor_names(files)  # a BertForMaskedLM checkpoint has no pooler
        has_pooler = names is None or any(n.endswith("pooler.dense.weight") for n in names)
        model = cls(BertConfig.from_dict(cfg), add_pooling_layer=has_pooler)
        unused = pretrained.load_into(model, pretrained.iter_safetensors(folder, who), who,
                                      strip_prefixes=("bert.",), ignore=HEAD_NAMES)
        return _finish_loading(model, folder, unused, dtype, who)

    def fuse_projections(self):
        """Share one weight buffer between query, key and value in every layer (see llama's
        FusedLinears: one GEMM instead of three at inference). Returns self."""
        for layer in self.encoder.layer:
            layer.attention.self.qkv.fuse()
        return self

    def save_pretrained(self, folder):
        """Write the Hugging Face layout: config.json, model.safetensors, and the tokenizer's files
        when one is attached. transformers' BertModel.from_pretrained reads the folder."""
        _save_folder(self, folder)


# === BertForSequenceClassification
class SequenceClassifierOutput:
    """What BertForSequenceClassification returns: ``logits`` (N, num_labels) and ``loss`` (a
    scalar, when labels are given). ``out[0]`` is the loss if there is one, else the logits, as
    in transformers."""

    def __init__(self, logits, loss=None):
        self.logits, self.loss = logits, loss

    def __getitem__(self, i):
        return tuple(x for x in (self.loss, self.logits) if x is not None)[i]


class BertForSequenceClassification(GradientCheckpointing, nn.Module):
    """BERT with transformers' classification head on the pooled [CLS] state:
    ids (N, L) int -> logits (N, num_labels) = classifier(dropout(pooler_output)).

    >>> model = BertForSequenceClassification.from_pretrained(folder, num_labels=3)
    >>> batch = model.tokenizer(["good", "bad"], padding=True, return_tensors="np")
    >>> model(**batch, labels=np.array([0, 2])).loss.backward()
    """

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        p = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if p is None else p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.tokenizer = None
        self.name_or_path = None  # the folder from_pretrained read
        self.reset_parameters()

    def reset_parameters(self):
        """The head as transformers initialises it: weight ~ N(0, initializer_range), bias 0."""
        init.normal_(self.classifier.weight, 0.0, self.config.initializer_range)
        init.zeros_(self.classifier.bias)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        """As BertModel's, plus ``labels``: (N,) int class indices (-100 = ignore) for
        cross-entropy, (N,) or (N, num_labels) float targets for regression (MSE), (N,
        num_labels) 0/1 for multi-label (binary cross-entropy). ``config.problem_type`` picks
        the loss; when it is None: regression if num_labels == 1, else single-label for integer
        labels and multi-label for float ones (transformers' rule)."""
        pooled = self.bert(input_ids, attention_mask, token_type_ids).pooler_output
        logits = self.classifier(self.dropout(pooled))
        loss = None if labels is None else self._loss(logits, labels)
        return SequenceClassifierOutput(logits, loss)

    def _loss(self, logits, labels):
        who = "BertForSequenceClassification"
        N, K = logits.shape
        y = _internal.as_array(labels)
        kind = self.config.problem_type or ("regression" if K == 1 else
                                            "single_label_classification" if y.dtype.kind in "iu"
                                            else "multi_label_classification")
        if kind == "single_label_classification":
            if y.shape != (N,) or y.dtype.kind not in "iu":
                raise ValueError(f"{who}: labels must be integer class indices of shape ({N},), "
                                 f"one per sequence; got dtype {y.dtype} and shape {y.shape}")
            bad = y[(y != -100) & ((y < 0) | (y >= K))]
            if bad.size:
                raise ValueError(f"{who}: label {bad[0]} is out of range for num_labels={K}: "
                                 f"class indices are 0..{K - 1} (-100 = ignore); load the model "
                                 "with num_labels= the number of classes")
            return F.cross_entropy(logits, ops.from_numpy(y.astype(np.int64)), ignore_index=-100)
        shapes = [(N, K)] + ([(N,)] if K == 1 else [])
        if y.shape not in shapes:
            raise ValueError(f"{who}: {kind} labels must have shape "
                             f"{' or '.join(map(str, shapes))} (num_labels={K}); got {y.shape}")
        target = ops.from_numpy(y.reshape(N, K).astype(logits.dtype))
        if kind == "regression":
            return F.mse_loss(logits, target)
        return F.binary_cross_entropy_with_logits(logits, target)

    # ---- loading and saving
    @classmethod
    def from_pretrained(cls, folder, dtype=np.float32, **config_kwargs):
        """Load a Hugging Face folder: a BertModel checkpoint (the encoder only, e.g.
        all-MiniLM-L6-v2) or a BertForSequenceClassification one. ``config_kwargs`` override
        config.json (``num_labels=3``, ``id2label=...``, ``problem_type=...``,
        ``classifier_dropout=...``), as in transformers. Weights the file lacks (the classifier,
        a pooler) are initialised afresh and named in a warning. The tokenizer is attached as
        ``model.tokenizer``. Returned in eval mode."""
        who = f"{cls.__name__}.from_pretrained"
        folder, cfg, files = _open_folder(folder, who)
        unknown = sorted(set(config_kwargs) - set(vars(BertConfig())))
        if unknown:
            raise TypeError(f"{who}: unexpected keyword arguments {', '.join(unknown)}; "
                            "give BertConfig fields (num_labels, id2label, problem_type, ...)")
        labels = ("num_labels", "id2label", "label2id")
        if any(k in config_kwargs for k in labels):  # the caller's labels replace the file's
            cfg = {k: v for k, v in cfg.items() if k not in labels}
        model = cls(BertConfig.from_dict({**cfg, **config_kwargs}))
        own = dict(model.named_parameters())
        names = {_with_bert_prefix(n) for n in _tensor_names(files) or ()}
        fresh = [k for k in own if k not in names]

        def tensors():
            for name, arr in pretrained.iter_safetensors(folder, who):
                yield _with_bert_prefix(name), arr
            for k in fresh:  # load_into wants every parameter: these keep their initialisation
                yield k, own[k].array

        other_heads = tuple(h for h in HEAD_NAMES if h != "classifier.")
        unused = pretrained.load_into(model, tensors(), who, ignore=other_heads)
        if fresh:
            warnings.warn(f"{who}: some weights of {cls.__name__} were not initialized from the "
                          f"model checkpoint at {folder} and are newly initialized: {fresh}. You "
                          "should probably TRAIN this model on a down-stream task to be able to "
                          "use it for predictions and inference.", stacklevel=2)
        return _finish_loading(model, folder, unused, dtype, who)

    def fuse_projections(self):
        self.bert.fuse_projections()
        return self

    def save_pretrained(self, folder):
        """Write the Hugging Face layout (``bert.embeddings...``, ``classifier.weight``; config.json
        with the labels): transformers' BertForSequenceClassification.from_pretrained reads it."""
        _save_folder(self, folder)


# === folder helpers, shared by BertModel and BertForSequenceClassification
def _open_folder(folder, who):
    """(folder, config.json as a dict, weight files) of a Hugging Face BERT folder, checked
    before any model is built."""
    kind, folder = pretrained.resolve(folder, who)
    if kind != "folder":
        raise ValueError(f"{who}: {folder!r} is a GGUF file; BERT models read Hugging Face "
                         "folders (config.json + model.safetensors)")
    cfg = pretrained.read_config(folder, who)
    if cfg.get("model_type", "bert") != "bert":
        raise ValueError(f"{who}: {folder} holds a {cfg.get('model_type')!r} model; "
                         "BERT models read model_type 'bert'")
    return folder, cfg, pretrained.safetensors_files(folder, who)


def _tensor_names(files):
    """The names of the tensors in the weight files, from their headers alone; None when one
    cannot be read (the loader then reports it, with its own message)."""
    from safetensors import safe_open

    names = set()
    try:
        for path in files:
            with safe_open(path, framework="numpy") as f:
                names.update(f.keys())
    except Exception:
        return None
    return names


def _with_bert_prefix(name):
    """A BertModel checkpoint's name as a BertForX model has it (``bert.`` + name)."""
    return name if name.startswith(("bert.",) + HEADS) else "bert." + name


def _finish_loading(model, folder, unused, dtype, who):
    if unused:
        warnings.warn(f"{who}: {len(unused)} tensors of {folder} are not part of "
                      f"{type(model).__name__} and were skipped: {', '.join(unused[:8])}"
                      + (" ..." if len(unused) > 8 else ""), stacklevel=3)
    model.tokenizer = attached_tokenizer(folder)
    if dtype is not None:
        model.to(dtype)
    model.fuse_projections()
    model.name_or_path = folder  # where it came from (transformers' name; PEFT records it)
    return model.eval()


def _save_folder(model, folder):
    """config.json (naming the model's class), model.safetensors, the tokenizer's files."""
    os.makedirs(folder, exist_ok=True)
    pretrained.save_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict())
    config = dict(model.config.to_dict(), architectures=[type(model).__name__])
    pretrained.write_json(os.path.join(folder, "config.json"), config)
    if model.tokenizer is not None:
        model.tokenizer.save_pretrained(folder)


# === SentenceEncoder
def mean_pooling(hidden, attention_mask):
    """Mean of the hidden states over the real tokens: (N, L, H), (N, L) 1/0 -> (N, H).

        e = Σ_t m_t h_t / max(Σ_t m_t, 1e-9)
    """
    m = np.asarray(attention_mask, dtype=hidden.dtype)
    count = np.maximum(m.sum(1, keepdims=True), hidden.dtype.type(1e-9))
    return (hidden * ops.from_numpy(m[:, :, None])).sum(1) / ops.from_numpy(count)


class SentenceEncoder(nn.Module):
    """Sentence embeddings: BERT, the mean over real tokens, unit length (all-MiniLM-L6-v2).

    forward(input_ids, attention_mask) -> (N, hidden), differentiable (for fine-tuning);
    ``encode(sentences)`` tokenizes and embeds a list of strings under no_grad.

    >>> enc = SentenceEncoder.from_pretrained(gradkit.models.pretrained.minilm_path())
    >>> e = enc.encode(["A man is eating food.", "A man is riding a horse."])   # (2, 384)
    >>> enc.similarity(e, e)                                                    # (2, 2) cosines
    """

    def __init__(self, bert, tokenizer=None, max_seq_length=256):
        super().__init__()
        self.bert = bert
        self.tokenizer = tokenizer if tokenizer is not None else bert.tokenizer
        self.max_seq_length = int(max_seq_length)

    def forward(self, input_ids, attention_mask, token_type_ids=None, normalize=True):
        h = self.bert(input_ids, attention_mask, token_type_ids).last_hidden_state
        e = mean_pooling(h, pretrained.token_ids(attention_mask, "attention_mask"))
        return F.normalize(e, p=2.0, dim=1) if normalize else e

    @classmethod
    def from_pretrained(cls, folder, dtype=np.float32):
        """A sentence-transformers folder: the BERT folder plus sentence_bert_config.json
        (max_seq_length, default 256) and 1_Pooling/config.json (mean pooling)."""
        who = f"{cls.__name__}.from_pretrained"
        bert = BertModel.from_pretrained(folder, dtype)
        if bert.tokenizer is None:
            raise ValueError(f"{who}: {folder} has no tokenizer.json (or the `tokenizers` package "
                             "is missing: pip install tokenizers); encode() needs one")
        st = pretrained.read_json(os.path.join(folder, "sentence_bert_config.json"), who, {})
        pooling = pretrained.read_json(os.path.join(folder, "1_Pooling", "config.json"), who, {})
        modes = [k[len("pooling_mode_"):] for k, v in pooling.items()
                 if k.startswith("pooling_mode_") and v]
        if modes and modes != ["mean_tokens"]:
            raise ValueError(f"{who}: {folder} pools with {', '.join(modes)}; SentenceEncoder "
                             "implements mean pooling (pooling_mode_mean_tokens) only")
        return cls(bert, bert.tokenizer, st.get("max_seq_length", 256)).eval()

    def save_pretrained(self, folder):
        """The BERT folder plus sentence-transformers' files (modules.json, pooling, max length)."""
        self.bert.save_pretrained(folder)
        if self.tokenizer is not None and self.tokenizer is not self.bert.tokenizer:
            self.tokenizer.save_pretrained(folder)
        H = self.bert.config.hidden_size
        pretrained.write_json(os.path.join(folder, "sentence_bert_config.json"),
                              {"max_seq_length": self.max_seq_length, "do_lower_case": False})
        os.makedirs(os.path.join(folder, "1_Pooling"), exist_ok=True)
        pretrained.write_json(os.path.join(folder, "1_Pooling", "config.json"),
                              {"word_embedding_dimension": H, "pooling_mode_cls_token": False,
                               "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                               "pooling_mode_mean_sqrt_len_tokens": False})
        pretrained.write_json(os.path.join(folder, "modules.json"), [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize",
             "type": "sentence_transformers.models.Normalize"}])

    def encode(self, sentences, batch_size=32, normalize_embeddings=True, convert_to_numpy=True):
        """Embed ``sentences`` (a list of str, or one str): float32 (N, hidden), or (hidden,)
        for a single str; a Tensor instead of an ndarray when ``convert_to_numpy=False``.

        Sentences are sorted by their number of tokens (cut at ``max_seq_length``) and batched,
        so each batch pads little, and the padding is skipped (see ``Tokens``); the results come
        back in the input order. Runs in eval mode, without a graph, in the model's dtype."""
        who = "SentenceEncoder.encode"
        single = isinstance(sentences, str)
        if single:
            sentences = [sentences]
        sentences = list(sentences)
        if not all(isinstance(s, str) for s in sentences):
            bad = next(s for s in sentences if not isinstance(s, str))
            raise TypeError(f"{who}: expected a str or a list of str; got an item of type "
                            f"{type(bad).__name__}")
        if self.tokenizer is None:
            raise ValueError(f"{who}: no tokenizer is attached; build the encoder with "
                             "SentenceEncoder.from_pretrained(folder) or pass tokenizer=")
        if batch_size < 1:
            raise ValueError(f"{who}: batch_size must be at least 1, got {batch_size}")
        dtype = self.bert.embeddings.word_embeddings.weight.dtype
        out = np.empty((len(sentences), self.bert.config.hidden_size), dtype)
        was_training = self.training
        self.eval()
        try:
            with grad_mode.no_grad():
                for start in range(0, len(sentences), batch_size * ENCODE_CHUNK):
                    chunk = sentences[start:start + batch_size * ENCODE_CHUNK]
                    for idx, batch in self._batches(chunk, batch_size):
                        out[start + idx] = self(**batch, normalize=normalize_embeddings).array
        finally:
            self.train(was_training)
        if single:
            out = out[0]
        return out if convert_to_numpy else ops.from_numpy(out)

    def _batches(self, sentences, batch_size):
        """Yield (indices, padded batch): the sentences tokenized once, sorted by their number of
        tokens (longest first) and cut into batches, so that a batch pads only a little."""
        enc = self.tokenizer(sentences, truncation=True, max_length=self.max_seq_length)
        lengths = np.array([len(ids) for ids in enc["input_ids"]])
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            L = lengths[idx[0]]
            batch = {}
            for name, rows in enc.items():
                arr = np.zeros((len(idx), L), np.int64)  # 0: the pad id, segment, mask value
                for r, i in enumerate(idx):
                    arr[r, :lengths[i]] = rows[i]
                batch[name] = arr
            if self.tokenizer.pad_token_id:
                batch["input_ids"][batch["attention_mask"] == 0] = self.tokenizer.pad_token_id
            yield idx, batch

    @staticmethod
    def similarity(a, b):
        """Cosine similarity of every row of a (N, H) with every row of b (M, H) -> (N, M).
        Tensors or arrays (e.g. from ``encode``); a 1-d input counts as one row."""
        a, b = (np.atleast_2d(_internal.as_array(x)) for x in (a, b))
        if a.shape[-1] != b.shape[-1]:
            raise ValueError(f"SentenceEncoder.similarity: the embeddings differ in size: a "
                             f"{a.shape}, b {b.shape}; compare embeddings of the same model")
        eps = a.dtype.type(1e-12)
        a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), eps)
        b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), eps)
        return a @ b.T

    def extra_repr(self):
        return f"max_seq_length={self.max_seq_length}"
