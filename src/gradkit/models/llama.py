"""Llama: the decoder-only Transformer of Llama 2/3, SmolLM2, TinyLlama, Mistral-style models.

One block, repeated ``num_hidden_layers`` times over a residual stream h (B, L, hidden):

    h = h + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))   n = RMSNorm(h)
    h = h + down_proj(silu(gate_proj(n)) ⊙ up_proj(n))                        n = RMSNorm(h)

then a final RMSNorm and ``lm_head`` (tied to the token embedding in small models) give the
next-token logits. Attention is causal and grouped-query: ``num_key_value_heads`` key/value heads
are shared by ``num_attention_heads / num_key_value_heads`` query heads each. At generation time
the keys and values of past positions are kept in a ``KVCache``, so each new token costs one
position's work instead of the whole prefix's.

Names follow Hugging Face's ``LlamaForCausalLM`` (``model.layers.0.self_attn.q_proj.weight``), so
state_dicts and safetensors files move between gradkit and transformers unchanged.

=== LlamaConfig  KVCache  LlamaAttention  LlamaMLP  LlamaDecoderLayer  LlamaModel  LlamaForCausalLM
"""
import os

import numpy as np

from .. import nn, ops
from ..autograd import grad_mode
from ..autograd.checkpoint import checkpoint
from ..nn import functional as F
from ..tensor import Tensor
from ..nn.functional.rotary import rotary_cos_sin, rotary_frequencies
from . import pretrained
from .checkpointing import GradientCheckpointing
from .fused import FusedLinears
from .generation import GenerationMixin
from .tokenizer import attached_tokenizer

SUPPORTED_GGUF_ARCHITECTURES = ("llama",)


# === LlamaConfig
class LlamaConfig:
    """The architecture's settings, with Hugging Face's names and defaults (config.json)."""

    model_type = "llama"

    def __init__(self, vocab_size=32000, hidden_size=4096, intermediate_size=11008,
                 num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None,
                 head_dim=None, hidden_act="silu", max_position_embeddings=2048,
                 rms_norm_eps=1e-6, rope_theta=10000.0, rope_scaling=None,
                 tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
                 attention_dropout=0.0, bos_token_id=1, eos_token_id=2, pad_token_id=None,
                 **extra):
        self.vocab_size = int(vocab_size)
        self.hidden_size = int(hidden_size)
        self.intermediate_size = int(intermediate_size)
        self.num_hidden_layers = int(num_hidden_layers)
        self.num_attention_heads = int(num_attention_heads)
        self.num_key_value_heads = int(num_key_value_heads or num_attention_heads)
        self.head_dim = int(head_dim or self.hidden_size // self.num_attention_heads)
        self.hidden_act = hidden_act
        self.max_position_embeddings = int(max_position_embeddings)
        self.rms_norm_eps = float(rms_norm_eps)
        rope = extra.pop("rope_parameters", None) or {}
        self.rope_theta = float(rope.get("rope_theta", rope_theta))
        self.rope_scaling = rope_scaling
        self.tie_word_embeddings = bool(tie_word_embeddings)
        self.attention_bias = bool(attention_bias)
        self.mlp_bias = bool(mlp_bias)
        self.attention_dropout = float(attention_dropout)
        self.bos_token_id, self.eos_token_id, self.pad_token_id = bos_token_id, eos_token_id, pad_token_id
        self._check()

    def _check(self):
        who = "LlamaConfig"
        if self.hidden_act != "silu":
            raise ValueError(f"{who}: hidden_act={self.hidden_act!r} is not supported; Llama's MLP "
                             "uses 'silu' (SwiGLU)")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(f"{who}: num_attention_heads ({self.num_attention_heads}) must be a "
                             f"multiple of num_key_value_heads ({self.num_key_value_heads})")
        if self.head_dim % 2:
            raise ValueError(f"{who}: head_dim ({self.head_dim}) must be even for rotary embeddings")
        scaling = self.rope_scaling
        if scaling and (scaling.get("rope_type") or scaling.get("type")) not in (None, "default"):
            raise ValueError(f"{who}: rope_scaling {scaling!r} is not supported yet; gradkit "
                             "implements the default rotary embedding")

    @classmethod
    def from_dict(cls, d):
        return cls(**{k: v for k, v in d.items() if k not in ("architectures", "model_type")})

    @classmethod
    def from_gguf_metadata(cls, meta, tensor_names=(), who="from_pretrained", path=""):
        """Settings from a GGUF file's metadata (llama.cpp's key names)."""
        arch = meta.get("general.architecture")
        if arch not in SUPPORTED_GGUF_ARCHITECTURES:
            raise ValueError(f"{who}: {path} holds a {arch!r} model; gradkit's LlamaForCausalLM "
                             f"reads the GGUF architectures {', '.join(SUPPORTED_GGUF_ARCHITECTURES)}")

        def get(key, default=None):
            value = meta.get(f"{arch}.{key}", default)
            if value is None:
                raise ValueError(f"{who}: {path} lacks the metadata key {arch}.{key}; the file is "
                                 "incomplete (re-convert it with llama.cpp's convert script)")
            return value

        heads = int(get("attention.head_count"))
        hidden = int(get("embedding_length"))
        vocab = meta.get(f"{arch}.vocab_size") or len(meta.get("tokenizer.ggml.tokens") or ())
        return cls(vocab_size=vocab, hidden_size=hidden,
                   intermediate_size=get("feed_forward_length"),
                   num_hidden_layers=get("block_count"), num_attention_heads=heads,
                   num_key_value_heads=get("attention.head_count_kv", heads),
                   head_dim=meta.get(f"{arch}.attention.key_length") or hidden // heads,
                   max_position_embeddings=get("context_length", 2048),
                   rms_norm_eps=get("attention.layer_norm_rms_epsilon", 1e-5),
                   rope_theta=get("rope.freq_base", 10000.0),
                   tie_word_embeddings="output.weight" not in tensor_names,
                   bos_token_id=meta.get("tokenizer.ggml.bos_token_id"),
                   eos_token_id=meta.get("tokenizer.ggml.eos_token_id"),
                   pad_token_id=meta.get("tokenizer.ggml.padding_token_id"))

    def to_dict(self):
        """config.json as transformers writes it for LlamaForCausalLM."""
        return {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
                "intermediate_size": self.intermediate_size,
                "num_hidden_layers": self.num_hidden_layers,
                "num_attention_heads": self.num_attention_heads,
                "num_key_value_heads": self.num_key_value_heads, "head_dim": self.head_dim,
                "hidden_act": self.hidden_act,
                "max_position_embeddings": self.max_position_embeddings,
                "rms_norm_eps": self.rms_norm_eps, "rope_theta": self.rope_theta,
                "rope_scaling": self.rope_scaling,
                "tie_word_embeddings": self.tie_word_embeddings,
                "attention_bias": self.attention_bias, "mlp_bias": self.mlp_bias,
                "attention_dropout": self.attention_dropout, "bos_token_id": self.bos_token_id,
                "eos_token_id": self.eos_token_id, "pad_token_id": self.pad_token_id,
                "torch_dtype": "float32"}

    def __repr__(self):
        return f"LlamaConfig({self.to_dict()})"


# === KVCache
class KVCache:
    """Keys and values of the positions seen so far, one pair per layer.

    Storage is preallocated for ``capacity`` positions ((B, H_kv, capacity, D) per layer) and
    filled in place, so a decoding step writes one position and reads a view: no copy of the
    past. Used without gradient recording (generation); with recording on it concatenates, so a
    loss through cached keys still differentiates.
    """

    def __init__(self, num_layers, capacity=None):
        self.capacity = capacity
        self.keys = [None] * num_layers
        self.values = [None] * num_layers
        self.length = 0  # positions stored (equal in every layer once a forward completes)

    def update(self, layer, k, v):
        """Append k, v (B, H_kv, L, D) for ``layer``; return all keys and values so far."""
        start, L = self.length, k.shape[2]
        old_k, old_v = self.keys[layer], self.values[layer]
        if grad_mode.is_grad_enabled() and (k.requires_grad or v.requires_grad):
            if old_k is not None:  # recorded: concatenate, so gradients reach the past
                old_k, old_v = [t if isinstance(t, Tensor) else ops.from_numpy(t[:, :, :start])
                                for t in (old_k, old_v)]
                k, v = ops.cat([old_k, k], dim=2), ops.cat([old_v, v], dim=2)
            self.keys[layer], self.values[layer] = k, v
            return k, v
        if isinstance(old_k, Tensor):
            old_k, old_v = old_k.array, old_v.array
        if old_k is None or start + L > old_k.shape[2]:  # allocate, or grow geometrically
            B, H, _, D = k.shape
            cap = max(self.capacity or 0, start + L, 2 * old_k.shape[2] if old_k is not None else 0)
            new_k = np.empty((B, H, cap, D), k.dtype)
            new_v = np.empty((B, H, cap, D), v.dtype)
            if old_k is not None:
                new_k[:, :, :start], new_v[:, :, :start] = old_k[:, :, :start], old_v[:, :, :start]
            old_k, old_v = new_k, new_v
            self.keys[layer], self.values[layer] = old_k, old_v
        old_k[:, :, start:start + L] = k.array
        old_v[:, :, start:start + L] = v.array
        return ops.from_numpy(old_k[:, :, :start + L]), ops.from_numpy(old_v[:, :, :start + L])

    def advance(self, n):
        self.length += n


# === LlamaAttention
class LlamaAttention(nn.Module):
    """Grouped-query self-attention with rotary positions. x: (B, L, hidden) -> (B, L, hidden)."""

    def __init__(self, config, layer_idx=0):
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads = config.num_attention_heads
        self.num_key_value_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        self.attention_dropout = config.attention_dropout
        H, Hkv, D, bias = self.num_heads, self.num_key_value_heads, self.head_dim, config.attention_bias
        self.q_proj = nn.Linear(config.hidden_size, H * D, bias=bias)
        self.k_proj = nn.Linear(config.hidden_size, Hkv * D, bias=bias)
        self.v_proj = nn.Linear(config.hidden_size, Hkv * D, bias=bias)
        self.o_proj = nn.Linear(H * D, config.hidden_size, bias=bias)

        self.qkv = FusedLinears(self, "q_proj", "k_proj", "v_proj")

    def forward(self, x, cos, sin, attn_mask=None, is_causal=False, cache=None):
        B, L, _ = x.shape
        H, Hkv, D = self.num_heads, self.num_key_value_heads, self.head_dim
        qkv = self.qkv(x)
        if qkv is not None:  # one GEMM for the three projections, one rotation for q and k
            qkv = qkv.reshape(B, L, H + 2 * Hkv, D).transpose(1, 2)
            qk = F.apply_rotary_pos_emb(qkv[:, :H + Hkv], cos, sin)
            q, k, v = qk[:, :H], qk[:, H:], qkv[:, H + Hkv:]
        else:
            q = self.q_proj(x).reshape(B, L, H, D).transpose(1, 2)
            k = self.k_proj(x).reshape(B, L, Hkv, D).transpose(1, 2)
            v = self.v_proj(x).reshape(B, L, Hkv, D).transpose(1, 2)
            q = F.apply_rotary_pos_emb(q, cos, sin)
            k = F.apply_rotary_pos_emb(k, cos, sin)
        if cache is not None:
            k, v = cache.update(self.layer_idx, k, v)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, is_causal=is_causal, enable_gqa=True,
            dropout_p=self.attention_dropout if self.training else 0.0)
        return self.o_proj(out.transpose(1, 2).reshape(B, L, self.num_heads * D))


# === LlamaMLP
class LlamaMLP(nn.Module):
    """SwiGLU (Shazeer, 2020): down_proj(silu(gate_proj(x)) ⊙ up_proj(x))."""

    def __init__(self, config):
        super().__init__()
        h, m, bias = config.hidden_size, config.intermediate_size, config.mlp_bias
        self.gate_proj = nn.Linear(h, m, bias=bias)
        self.up_proj = nn.Linear(h, m, bias=bias)
        self.down_proj = nn.Linear(m, h, bias=bias)
        self.gate_up = FusedLinears(self, "gate_proj", "up_proj")

    def forward(self, x):
        gu = self.gate_up(x)
        if gu is not None:
            m = gu.shape[-1] // 2
            return self.down_proj(F.silu(gu[..., :m]) * gu[..., m:])
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


# === LlamaDecoderLayer
class LlamaDecoderLayer(nn.Module):
    """Pre-norm block: h + attention(norm(h)), then h + mlp(norm(h))."""

    def __init__(self, config, layer_idx=0):
        super().__init__()
        self.self_attn = LlamaAttention(config, layer_idx)
        self.mlp = LlamaMLP(config)
        self.input_layernorm = nn.RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = nn.RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, h, cos, sin, attn_mask=None, is_causal=False, cache=None):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, attn_mask, is_causal, cache)
        return h + self.mlp(self.post_attention_layernorm(h))


# === LlamaModel
class LlamaModel(GradientCheckpointing, nn.Module):
    """Token embedding, the decoder layers, and the final norm: ids (B, L) -> (B, L, hidden)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        # as transformers: the pad token's row gets no gradient through the lookup
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size,
                                         padding_idx=config.pad_token_id)
        self.layers = nn.ModuleList([LlamaDecoderLayer(config, i)
                                     for i in range(config.num_hidden_layers)])
        self.norm = nn.RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.register_buffer("inv_freq", ops.from_numpy(
            rotary_frequencies(config.head_dim, config.rope_theta)), persistent=False)
        self.gradient_checkpointing = False
        self.gradient_checkpointing_kwargs = {}

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None):
        """input_ids: (B, L) int; attention_mask: (B, S) 1 = real token, 0 = padding, over the
        cached and the new positions (S = past + L); position_ids: (B, L), by default the count
        of real tokens before each one (so left-padded rows start at 0)."""
        ids = pretrained.token_ids(input_ids, "LlamaModel")
        B, L = ids.shape
        past = past_key_values.length if past_key_values is not None else 0
        cfg = self.config
        if ids.size and (ids.max() >= cfg.vocab_size or ids.min() < 0):
            bad = int(ids.max() if ids.max() >= cfg.vocab_size else ids.min())
            raise ValueError(f"LlamaModel: token id {bad} is outside the vocabulary (size "
                             f"{cfg.vocab_size}); the tokenizer probably belongs to another model")
        if past + L > cfg.max_position_embeddings:
            raise ValueError(f"LlamaModel: {past + L} positions exceed the context length "
                             f"{cfg.max_position_embeddings} of this model; shorten the prompt "
                             "(or max_new_tokens)")
        mask = None if attention_mask is None else pretrained.token_ids(attention_mask, "attention_mask")
        if mask is not None and mask.shape != (B, past + L):
            raise ValueError(f"LlamaModel: attention_mask has shape {mask.shape}; expected "
                             f"(batch, past + new positions) = ({B}, {past + L})")
        if mask is not None and mask.all():
            mask = None
        if position_ids is None:
            if mask is None:
                position_ids = np.arange(past, past + L)[None]
            else:
                position_ids = np.maximum(np.cumsum(mask, axis=1) - 1, 0)[:, past:]
        position_ids = pretrained.token_ids(position_ids, "position_ids")
        cos, sin = rotary_cos_sin(position_ids, self.inv_freq.array, self.embed_tokens.weight.dtype)
        cos, sin = ops.from_numpy(cos[:, None]), ops.from_numpy(sin[:, None])

        # attention: causal within the new positions, all of the past, minus padding
        attn_mask, is_causal = None, False
        if mask is None and past == 0:
            is_causal = L > 1
        elif mask is not None or L > 1:
            allowed = np.tril(np.ones((L, past + L), dtype=bool), k=past)[None, None]
            if mask is not None:
                allowed = allowed & mask.astype(bool)[:, None, None, :]
            attn_mask = ops.from_numpy(allowed)

        h = self.embed_tokens(ops.from_numpy(ids))
        # training with checkpointing: the graph keeps each layer's input, and the backward
        # recomputes the layer (the KV cache is for inference: a cached call is not checkpointed)
        recompute = (self.gradient_checkpointing and self.training and past_key_values is None
                     and grad_mode.is_grad_enabled())
        for layer in self.layers:
            if recompute:
                h = checkpoint(layer, h, cos, sin, attn_mask, is_causal,
                               **self.gradient_checkpointing_kwargs)
            else:
                h = layer(h, cos, sin, attn_mask, is_causal, past_key_values)
        if past_key_values is not None:
            past_key_values.advance(L)
        return self.norm(h)


# === LlamaForCausalLM
class CausalLMOutput:
    """What LlamaForCausalLM returns: ``logits`` (B, L, vocab), ``loss`` when labels are given,
    ``past_key_values`` (the KVCache, when one was used). ``out[0]`` is the loss if there is
    one, else the logits, as in transformers."""

    def __init__(self, logits, loss=None, past_key_values=None):
        self.logits, self.loss, self.past_key_values = logits, loss, past_key_values

    def __getitem__(self, i):
        items = tuple(x for x in (self.loss, self.logits) if x is not None)
        return items[i]


class LlamaForCausalLM(GenerationMixin, GradientCheckpointing, nn.Module):
    """LlamaModel plus the language-model head: ids (B, L) -> next-token logits (B, L, vocab).

    >>> model = LlamaForCausalLM.from_pretrained("SmolLM2-135M-Instruct.Q4_1.gguf")
    >>> out = model.generate(tok.apply_chat_template(messages, add_generation_prompt=True))
    """

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.tokenizer = None
        self.name_or_path = None  # the file or folder from_pretrained read

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None,
                labels=None, logits_to_keep=0):
        """``labels`` (B, L): the loss is the cross-entropy of predicting labels[:, t+1] from
        position t (-100 = ignore), as in transformers. ``logits_to_keep=n`` computes the logits
        of the last n positions only (generation needs 1)."""
        h = self.model(input_ids, attention_mask, position_ids, past_key_values)
        if logits_to_keep:
            h = h[:, -logits_to_keep:]
        logits = self.lm_head(h)
        loss = None
        if labels is not None:
            labels = pretrained.token_ids(labels, "labels")
            V = logits.shape[-1]
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, V),
                                   ops.from_numpy(labels[:, 1:].reshape(-1)), ignore_index=-100)
        return CausalLMOutput(logits, loss, past_key_values)

    def make_cache(self, capacity=None):
        return KVCache(self.config.num_hidden_layers, capacity)

    # ---- loading and saving
    @classmethod
    def from_pretrained(cls, path, dtype=None, keep_quantized=False):
        """Load from a GGUF file (llama.cpp, Ollama) or a Hugging Face folder (config.json +
        model.safetensors, or shards with an index). Weights are read one tensor at a time
        (dequantized to float32 from GGUF), and the tokenizer is attached as ``model.tokenizer``
        when the file or folder has one.

        ``keep_quantized=True`` (GGUF only) keeps the file's Q8_0/Q4_0/Q4_1 matrices in their
        blocks (nn.QuantizedLinear/QuantizedEmbedding: frozen, dequantized a few rows at a time
        inside each product): a fifth of the float32 model's memory, as a base for LoRA
        (QLoRA). ``model.dequantize()`` turns them into float32 layers again."""
        who = f"{cls.__name__}.from_pretrained"
        kind, path = pretrained.resolve(path, who)
        if keep_quantized and kind != "gguf":
            raise ValueError(f"{who}: keep_quantized=True keeps a GGUF file's quantized blocks; "
                             f"{path} is a Hugging Face folder of float weights (pass a .gguf "
                             "file, or leave keep_quantized off)")
        if kind == "gguf":
            model = _from_gguf(cls, path, who, keep_quantized)
        else:
            cfg = pretrained.read_config(path, who)
            if cfg.get("model_type", "llama") not in ("llama", "mistral"):
                raise ValueError(f"{who}: {path} holds a {cfg.get('model_type')!r} model; "
                                 "LlamaForCausalLM reads model_type 'llama' (and 'mistral')")
            model = nn.utils.skip_init(cls, LlamaConfig.from_dict(cfg))
            pretrained.load_into(model, pretrained.iter_safetensors(path, who), who,
                                 ignore=("rotary_emb.inv_freq",))
            model.tokenizer = attached_tokenizer(path)
        pretrained.check_tokenizer(model.tokenizer, model.config.vocab_size, who)
        if dtype is not None:
            model.to(dtype)
        model.fuse_projections()
        model.name_or_path = path  # where it came from (transformers' name; PEFT records it)
        return model.eval()

    def fuse_projections(self):
        """Share one weight buffer between q/k/v and between gate/up in every layer (see
        FusedLinears); called by from_pretrained. Returns self."""
        for layer in self.model.layers:
            layer.self_attn.qkv.fuse()
            layer.mlp.gate_up.fuse()
        return self

    def dequantize(self):
        """Replace every quantized layer by its float32 form (transformers' name). Returns self."""
        for name, m in list(self.named_modules()):
            if isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding)):
                self.set_submodule(name, m.dequantize())
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        return self.fuse_projections()

    def save_pretrained(self, folder):
        """Write the Hugging Face layout: config.json, model.safetensors (the tied head stored
        once, under the embedding's name), and the tokenizer's files when one is attached."""
        if any(isinstance(m, (nn.QuantizedLinear, nn.QuantizedEmbedding)) for m in self.modules()):
            raise ValueError("LlamaForCausalLM.save_pretrained: the model keeps quantized layers "
                             "(keep_quantized=True), which the Hugging Face layout stores as "
                             "float; call model.dequantize() first (or save a LoRA adapter with "
                             "the PeftModel's save_pretrained)")
        os.makedirs(folder, exist_ok=True)
        state = self.state_dict()
        if self.config.tie_word_embeddings:
            state.pop("lm_head.weight", None)
        pretrained.save_safetensors(os.path.join(folder, "model.safetensors"), state)
        pretrained.write_json(os.path.join(folder, "config.json"), self.config.to_dict())
        pretrained.write_json(os.path.join(folder, "generation_config.json"),
                              {"bos_token_id": self.config.bos_token_id,
                               "eos_token_id": self.config.eos_token_id,
                               "pad_token_id": self.config.pad_token_id})
        if self.tokenizer is not None:
            self.tokenizer.save_pretrained(folder)


# === loading helpers
_GGUF_NAMES = {  # llama.cpp's tensor names -> Hugging Face's
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
_GGUF_LAYER_NAMES = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def hf_name(gguf_name):
    """``blk.3.attn_q.weight`` -> ``model.layers.3.self_attn.q_proj.weight`` (None if unknown)."""
    if gguf_name in _GGUF_NAMES:
        return _GGUF_NAMES[gguf_name]
    parts = gguf_name.split(".")
    if len(parts) == 4 and parts[0] == "blk" and parts[2] in _GGUF_LAYER_NAMES:
        return f"model.layers.{parts[1]}.{_GGUF_LAYER_NAMES[parts[2]]}.{parts[3]}"
    return None


def unpermute_rotary(w, n_heads):
    """Undo llama.cpp's reordering of q/k rows. Its converter stores each head's rows as
    interleaved pairs (x₀, x_{D/2}, x₁, ...) for its rotary kernel; Hugging Face's
    ``rotate_half`` wants the two halves apart. Rows (H·D, in) -> same shape."""
    D2 = w.shape[0] // n_heads // 2
    return w.reshape(n_heads, D2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _quantized_layer(model, name, tensor, config):
    """Put tensor's blocks in place of the nn.Linear/Embedding ``name`` names (True), or leave it
    to be dequantized (False: a format or a layer that nn.quantized does not keep)."""
    qtype = tensor.tensor_type.name
    owner = name.rsplit(".", 1)[0]
    if qtype not in nn.quantized.FORMATS or not name.endswith(".weight"):
        return False
    layer = model.get_submodule(owner)
    if not isinstance(layer, (nn.Linear, nn.Embedding)):
        return False
    blocks = np.array(tensor.data)  # copied out of the memory-mapped file: the model owns it
    if name.endswith("q_proj.weight"):
        blocks = unpermute_rotary(blocks, config.num_attention_heads)  # whole rows move
    elif name.endswith("k_proj.weight"):
        blocks = unpermute_rotary(blocks, config.num_key_value_heads)
    weight = nn.quantized.BlockQuantized(blocks, qtype, tuple(int(d) for d in reversed(tensor.shape)))
    if isinstance(layer, nn.Embedding):
        model.set_submodule(owner, nn.QuantizedEmbedding(weight, layer.padding_idx))
        if config.tie_word_embeddings:
            model.lm_head = nn.QuantizedLinear(weight)
    else:
        model.set_submodule(owner, nn.QuantizedLinear(weight, layer.bias))
    return True


def _from_gguf(cls, path, who, keep_quantized=False):
    from . import gguf_file

    reader = gguf_file.open_gguf(path, who)
    meta = gguf_file.read_metadata(reader)
    reader.fields.clear()  # its views of the metadata (~170 MB for SmolLM2's vocabulary) are copied
    names = [t.name for t in reader.tensors]
    config = LlamaConfig.from_gguf_metadata(meta, names, who, path)
    if "rope_freqs.weight" in names:
        raise ValueError(f"{who}: {path} scales its rotary frequencies (rope_freqs, Llama 3.1 "
                         "style); gradkit does not implement that scaling yet")
    model = nn.utils.skip_init(cls, config)  # every weight is overwritten next

    kept = set()  # tensors whose blocks the model keeps as they are
    for tensor in reader.tensors if keep_quantized else ():
        name = hf_name(tensor.name)
        if name is not None and _quantized_layer(model, name, tensor, config):
            kept.add(tensor.name)

    def tensors():
        for tensor in reader.tensors:
            name = hf_name(tensor.name)
            if name is None:
                raise ValueError(f"{who}: {path} has a tensor {tensor.name!r} that a Llama model "
                                 "does not have; the file is not a plain Llama model")
            if tensor.name in kept:
                continue
            arr = gguf_file.dequantize(tensor, who, path)
            if name.endswith("q_proj.weight"):
                arr = unpermute_rotary(arr, config.num_attention_heads)
            elif name.endswith("k_proj.weight"):
                arr = unpermute_rotary(arr, config.num_key_value_heads)
            yield name, arr

    pretrained.load_into(model, tensors(), who)
    model.tokenizer = pretrained.check_tokenizer(attached_tokenizer(path, meta), config.vocab_size,
                                                 f"{who}: {path}")
    return model
