"""Tokenizers for the pretrained models: text <-> token ids, padding, chat templates, streaming.

One ``Tokenizer`` class, transformers' API, on top of Hugging Face's ``tokenizers`` package (the
Rust tokenizer transformers itself runs). It is built from either source a model comes in:

- a Hugging Face folder with ``tokenizer.json`` (plus ``tokenizer_config.json`` /
  ``special_tokens_map.json`` for the special tokens, the chat template and the maximum length):
  BERT's WordPiece, GPT-2/Llama-3 byte-level BPE, ... whatever tokenizer.json describes;
- a GGUF file (llama.cpp), whose metadata holds the vocabulary, the merges and the token types.
  Only ``tokenizer.ggml.model == 'gpt2'`` (byte-level BPE) is read; the text is split before BPE
  by the regexes llama.cpp uses for ``tokenizer.ggml.pre`` (``src/llama-vocab.cpp``), so ids are
  llama.cpp's.

    tok = Tokenizer.from_pretrained(pretrained.smollm2_path())
    tok("Hello world")                  # {'input_ids': [19556, 905], 'attention_mask': [1, 1]}
    tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True)

=== Tokenizer: loading (from_pretrained, from_gguf_metadata)  special tokens  encode/decode
    __call__ (batches, padding, truncation, tensors)  apply_chat_template  stream  save_pretrained
=== GGUF metadata -> tokenizers.Tokenizer   chat templates (jinja2)   DecodeStream   AutoTokenizer
"""
import json
import os
import warnings

import numpy as np

from .._install import pip_install
from ..io import atomic_write_bytes
from ..ops import tensor as _tensor
from . import gguf_file
from .pretrained import read_json, resolve, write_json

# transformers' "no limit" for model_max_length (VERY_LARGE_INTEGER): a tokenizer without one.
NO_MAX_LENGTH = int(1e30)
SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "pad_token", "cls_token", "sep_token",
                  "mask_token")
_INSTALL = pip_install("llm")


def _require(module, who):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise ImportError(f"{who}: tokenizers need the {module.split('.')[0]} package: "
                          f"{_INSTALL}") from None


# === Tokenizer
def _special_token(name):
    def get(self):
        return self._special.get(name)

    def set(self, token):
        if token is not None and self._tk.token_to_id(str(token)) is None:
            raise ValueError(f"Tokenizer.{name} = {token!r}: that token is not in the vocabulary; "
                             f"use one that is (e.g. tokenizer.{name} = tokenizer.eos_token)")
        self._special[name] = None if token is None else str(token)
    return property(get, set, doc=f"The {name.replace('_', ' ')} as text, or None.")


def _special_id(name):
    def get(self):
        token = self._special.get(name)
        return None if token is None else self._tk.token_to_id(token)
    return property(get, doc=f"The {name.replace('_', ' ')}'s id, or None.")


class Tokenizer:
    """Text to token ids and back, with transformers' names.

    Build one with ``Tokenizer.from_pretrained(path)`` (a .gguf file or a folder with
    tokenizer.json) or ``Tokenizer.from_gguf_metadata(metadata)``. ``backend`` is the
    ``tokenizers.Tokenizer`` doing the work (``backend_tokenizer``); truncation and padding are
    set per call, never stored in it.
    """

    def __init__(self, backend, special_tokens=None, chat_template=None,
                 model_max_length=NO_MAX_LENGTH, padding_side="right", token_type_ids=False,
                 config=None):
        backend.no_truncation()
        backend.no_padding()
        self._tk = backend
        self._special = {}
        for name, token in (special_tokens or {}).items():
            setattr(self, name, token)
        self.chat_template = chat_template
        self.model_max_length = int(model_max_length)
        self.padding_side = padding_side
        self._token_type_ids = bool(token_type_ids)
        self._config = dict(config or {})   # other tokenizer_config.json keys, written back as read

    bos_token, bos_token_id = _special_token("bos_token"), _special_id("bos_token")
    eos_token, eos_token_id = _special_token("eos_token"), _special_id("eos_token")
    unk_token, unk_token_id = _special_token("unk_token"), _special_id("unk_token")
    pad_token, pad_token_id = _special_token("pad_token"), _special_id("pad_token")
    cls_token, cls_token_id = _special_token("cls_token"), _special_id("cls_token")
    sep_token, sep_token_id = _special_token("sep_token"), _special_id("sep_token")
    mask_token, mask_token_id = _special_token("mask_token"), _special_id("mask_token")

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(cls, path):
        """A tokenizer from a .gguf file, or a folder with tokenizer.json (a folder holding one
        .gguf file and no tokenizer.json counts as that file)."""
        who = "Tokenizer.from_pretrained"
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{who}: no such file or folder: {path!r}. Give a .gguf file "
                                    "or a Hugging Face folder with tokenizer.json")
        if os.path.isdir(path):
            if os.path.exists(os.path.join(path, "tokenizer.json")):
                return cls._from_folder(path, who)
            ggufs = [n for n in sorted(os.listdir(path)) if n.endswith(".gguf")]
            if len(ggufs) != 1:
                raise FileNotFoundError(
                    f"{who}: {path!r} has no tokenizer.json"
                    + (f" and {len(ggufs)} .gguf files; give one of them" if ggufs else
                       "; gradkit reads a folder's tokenizer from tokenizer.json (not vocab.txt "
                       "or a SentencePiece .model). Write one with transformers: "
                       "AutoTokenizer.from_pretrained(folder).save_pretrained(folder)"))
            path = os.path.join(path, ggufs[0])
        _, file = resolve(path, who)
        return cls.from_gguf_metadata(gguf_file.read_metadata(gguf_file.open_gguf(file, who)), who)

    @classmethod
    def from_gguf_metadata(cls, metadata, who="Tokenizer.from_pretrained"):
        """A tokenizer from GGUF metadata (the dict ``gguf_file.read_metadata`` returns)."""
        backend, add_bos, add_eos = _backend_from_gguf(metadata, who)
        tokens = metadata["tokenizer.ggml.tokens"]

        def token(key):
            i = metadata.get(f"tokenizer.ggml.{key}_token_id")
            return tokens[i] if i is not None and 0 <= i < len(tokens) else None

        special = {"bos_token": token("bos"), "eos_token": token("eos"),
                   "unk_token": token("unknown"), "pad_token": token("padding")}
        templates = {k[len("tokenizer.chat_template."):]: v for k, v in metadata.items()
                     if k.startswith("tokenizer.chat_template.")}
        template = metadata.get("tokenizer.chat_template")
        if templates:
            template = dict(templates, **({"default": template} if template else {}))
        arch = metadata.get("general.architecture")
        return cls(backend, special, template,
                   metadata.get(f"{arch}.context_length", NO_MAX_LENGTH),
                   config={"add_bos_token": add_bos, "add_eos_token": add_eos})

    @classmethod
    def _from_folder(cls, folder, who):
        tokenizers = _require("tokenizers", who)
        file = os.path.join(folder, "tokenizer.json")
        try:
            backend = tokenizers.Tokenizer.from_file(file)
        except Exception as e:  # tokenizers raises a bare Exception on bad JSON
            raise ValueError(f"{who}: {file} cannot be read ({e}); re-download or re-export "
                             "the tokenizer") from None
        config = read_json(os.path.join(folder, "tokenizer_config.json"), who, missing={})
        special_map = read_json(os.path.join(folder, "special_tokens_map.json"), who, missing={})
        special = {}
        for name in SPECIAL_TOKENS:
            value = config.get(name, special_map.get(name))
            if isinstance(value, dict):  # {"content": "<s>", "lstrip": false, ...}
                value = value.get("content")
            if value is not None and backend.token_to_id(value) is not None:
                special[name] = value
        if "add_bos_token" in config or "add_eos_token" in config:
            # transformers rebuilds the post-processor from these flags when the config has them
            _set_bos_eos(backend, special.get("bos_token") if config.get("add_bos_token") else None,
                         special.get("eos_token") if config.get("add_eos_token") else None)
        template = _folder_chat_template(folder, config, who)
        names = config.get("model_input_names")
        token_types = "token_type_ids" in names if names else _makes_token_types(backend)
        own = set(SPECIAL_TOKENS) | {"chat_template", "model_max_length", "padding_side",
                                     "added_tokens_decoder", "model_input_names", "name_or_path"}
        return cls(backend, special, template, config.get("model_max_length", NO_MAX_LENGTH),
                   config.get("padding_side", "right"), token_types,
                   {k: v for k, v in config.items() if k not in own})

    # ------------------------------------------------------------------ vocabulary
    @property
    def backend_tokenizer(self):
        """The ``tokenizers.Tokenizer`` underneath."""
        return self._tk

    @property
    def vocab_size(self):
        """Size of the base vocabulary (without tokens added on top of the model's)."""
        return self._tk.get_vocab_size(with_added_tokens=False)

    def __len__(self):
        return self._tk.get_vocab_size(with_added_tokens=True)

    def get_vocab(self):
        """``{token: id}`` for every token, added ones included."""
        return self._tk.get_vocab(with_added_tokens=True)

    @property
    def padding_side(self):
        return self._padding_side

    @padding_side.setter
    def padding_side(self, side):
        self._padding_side = _check_side(side, "Tokenizer.padding_side")

    @property
    def all_special_ids(self):
        """Ids of the named special tokens and of every token the tokenizer marks special (the
        ones ``skip_special_tokens=True`` drops), sorted."""
        ids = {self._tk.token_to_id(t) for t in self._special.values() if t is not None}
        ids.update(i for i, t in self._tk.get_added_tokens_decoder().items() if t.special)
        return sorted(ids)

    @property
    def all_special_tokens(self):
        return [self._tk.id_to_token(i) for i in self.all_special_ids]

    def convert_tokens_to_ids(self, tokens):
        """A token (str) -> id, or a list of them; an unknown token gives ``unk_token_id``."""
        if isinstance(tokens, str):
            i = self._tk.token_to_id(tokens)
            return self.unk_token_id if i is None else i
        return [self.convert_tokens_to_ids(t) for t in tokens]

    def convert_ids_to_tokens(self, ids, skip_special_tokens=False):
        """An id -> token (str, in the vocabulary's own alphabet: 'Ġ' is a space in byte-level
        BPE), or a list of them."""
        if isinstance(ids, (int, np.integer)):
            return self._tk.id_to_token(int(ids))
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [self._tk.id_to_token(i) for i in _id_list(ids, "convert_ids_to_tokens")
                if i not in skip]

    # ------------------------------------------------------------------ encode / decode
    def encode(self, text, add_special_tokens=True):
        """``text: str -> list[int]``; ``add_special_tokens`` adds what the model's template adds
        (BERT: [CLS] ... [SEP]; a GGUF model with add_bos_token: BOS)."""
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer.encode: expected a str, got {type(text).__name__}; for a "
                            "batch call the tokenizer: tokenizer(list_of_texts)")
        return self._tk.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids, skip_special_tokens=False):
        """``ids: list[int] | (L,) ndarray | (L,) Tensor -> str``."""
        return self._tk.decode(_id_list(ids, "Tokenizer.decode"),
                               skip_special_tokens=skip_special_tokens)

    def batch_decode(self, sequences, skip_special_tokens=False):
        """``sequences: list of id lists | (N, L) ndarray | (N, L) Tensor -> list[str]``."""
        if hasattr(sequences, "tolist"):
            sequences = sequences.tolist()
        return self._tk.decode_batch([_id_list(s, "Tokenizer.batch_decode") for s in sequences],
                                     skip_special_tokens=skip_special_tokens)

    # ------------------------------------------------------------------ __call__
    def __call__(self, text, padding=False, truncation=False, max_length=None, padding_side=None,
                 return_tensors=None, add_special_tokens=True):
        """Encode one text or a batch into model inputs.

        text: str or list[str]. Returns ``{'input_ids', ['token_type_ids',] 'attention_mask'}``
        (token_type_ids where the model uses segments, e.g. BERT), each a list (one text: a flat
        list), or with ``return_tensors='np'`` an (N, L) int64 array, ``'gk'``/``'pt'`` an (N, L)
        int64 Tensor. attention_mask is 1 on tokens and 0 on padding.

        padding: False, True/'longest' (pad to the longest text) or 'max_length'.
        truncation: True cuts each text to ``max_length`` tokens (special tokens included);
        ``max_length`` defaults to ``model_max_length``. padding_side: 'left' or 'right'
        (defaults to ``self.padding_side``; decoder-only generation wants 'left').
        """
        who = "Tokenizer.__call__"
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
        if bad:
            raise TypeError(f"{who}: text must be a str or a list of str; got a list holding "
                            f"{bad[0]}")
        pad, cut = _padding_mode(padding, who), _truncation_flag(truncation, who)
        side = _check_side(padding_side or self.padding_side, who)
        if max_length is not None and not cut and pad != "max_length":
            raise ValueError(f"{who}: max_length={max_length} has no effect without "
                             "truncation=True or padding='max_length'; pass one of them")
        if max_length is None and (cut or pad == "max_length"):
            max_length = self.model_max_length
        if pad == "max_length" and max_length >= NO_MAX_LENGTH:
            raise ValueError(f"{who}: padding='max_length' needs max_length=...: this tokenizer "
                             "has no model_max_length")
        if pad and self.pad_token_id is None:
            raise ValueError(f"{who}: padding needs a pad token and this tokenizer has none; set "
                             "one first: tokenizer.pad_token = tokenizer.eos_token")

        try:
            if cut and max_length < NO_MAX_LENGTH:
                self._tk.enable_truncation(int(max_length))
            encodings = self._tk.encode_batch(texts, add_special_tokens=add_special_tokens)
        finally:
            self._tk.no_truncation()
        columns = {"input_ids": [e.ids for e in encodings]}
        if self._token_type_ids:
            columns["token_type_ids"] = [e.type_ids for e in encodings]
        columns["attention_mask"] = [e.attention_mask for e in encodings]
        if pad:
            length = max((len(ids) for ids in columns["input_ids"]), default=0)
            if pad == "max_length":
                length = max(length, max_length)
            fill = {"input_ids": self.pad_token_id, "token_type_ids": 0, "attention_mask": 0}
            for name, rows in columns.items():
                columns[name] = [_pad(row, length, fill[name], side) for row in rows]
        return {name: _as_output(rows, single, return_tensors, who)
                for name, rows in columns.items()}

    # ------------------------------------------------------------------ chat templates
    def apply_chat_template(self, messages, add_generation_prompt=False, tokenize=True,
                            return_tensors=None, chat_template=None, **kwargs):
        """Render a conversation with the model's chat template (Jinja, as transformers does).

        messages: ``[{'role': 'system'|'user'|'assistant', 'content': str}, ...]``.
        add_generation_prompt: end with the header of an assistant turn, so the model answers.
        Returns the text when ``tokenize=False``, else ``list[int]`` (the rendered text encoded
        without adding special tokens: the template writes them), or a (1, L) int64 array/Tensor
        with ``return_tensors``. ``chat_template`` overrides the model's template (or names one of
        its templates); other kwargs (``tools``, ``documents``, ...) reach the template.
        """
        who = "Tokenizer.apply_chat_template"
        if not isinstance(messages, (list, tuple)):
            raise TypeError(f"{who}: messages must be a list of dicts like "
                            f"{{'role': 'user', 'content': 'hi'}}; got {type(messages).__name__}")
        for i, m in enumerate(messages):
            missing = [k for k in ("role", "content") if not isinstance(m, dict) or k not in m]
            if missing:
                got = f"keys {sorted(m)}" if isinstance(m, dict) else type(m).__name__
                raise ValueError(f"{who}: message {i} has no {' and no '.join(map(repr, missing))} "
                                 f"(got {got}); each message is a dict like "
                                 "{'role': 'user', 'content': 'hi'}")
        template = self._chat_template(chat_template, who)
        context = {name: token for name, token in self._special.items()}
        context.update(kwargs, messages=list(messages),
                       add_generation_prompt=add_generation_prompt)
        text = _render(template, context, who)
        if not tokenize:
            return text
        ids = self.encode(text, add_special_tokens=False)
        return ids if return_tensors is None else _as_output([ids], False, return_tensors, who)

    def _chat_template(self, chat_template, who):
        templates = self.chat_template
        if isinstance(templates, dict):
            if chat_template in templates:
                return templates[chat_template]
            if chat_template is None:
                if "default" not in templates:
                    raise ValueError(f"{who}: this model has named chat templates "
                                     f"({', '.join(templates)}) and no default; pass "
                                     "chat_template=<name>")
                return templates["default"]
        if chat_template is not None:
            return chat_template
        if templates is None:
            raise ValueError(f"{who}: this model has no chat template (its tokenizer_config.json "
                             "or GGUF metadata has none); pass one as "
                             "chat_template='{% for message in messages %}...' or set "
                             "tokenizer.chat_template")
        return templates

    # ------------------------------------------------------------------ streaming
    def stream(self, skip_special_tokens=False):
        """An incremental decoder for generation: ``s.step(token_id)`` returns the new text
        (``''`` while a multi-byte character is incomplete); the pieces concatenate to
        ``decode(all_ids)``."""
        return DecodeStream(self, skip_special_tokens)

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, folder):
        """Write tokenizer.json and tokenizer_config.json (atomically) into ``folder``; both
        ``Tokenizer.from_pretrained`` and transformers' ``AutoTokenizer.from_pretrained`` read
        the folder back. Returns the two paths."""
        os.makedirs(folder, exist_ok=True)
        json_path = os.path.join(folder, "tokenizer.json")
        config_path = os.path.join(folder, "tokenizer_config.json")
        atomic_write_bytes(json_path, self._tk.to_str(pretty=True).encode())
        config = {"tokenizer_class": "PreTrainedTokenizerFast", **self._config}
        config.update((k, v) for k, v in self._special.items() if v is not None)
        input_names = ["input_ids"] + ["token_type_ids"] * self._token_type_ids + ["attention_mask"]
        config.update(model_max_length=self.model_max_length, padding_side=self.padding_side,
                      model_input_names=input_names, clean_up_tokenization_spaces=False)
        if self.chat_template is not None:
            config["chat_template"] = (self.chat_template if isinstance(self.chat_template, str)
                                       else [{"name": k, "template": v}
                                             for k, v in self.chat_template.items()])
        write_json(config_path, config)
        return json_path, config_path

    def __repr__(self):
        kind = json.loads(self._tk.model.__getstate__()).get("type", "?")
        return (f"Tokenizer({kind}, vocab_size={len(self)}, bos={self.bos_token!r}, "
                f"eos={self.eos_token!r}, pad={self.pad_token!r}, "
                f"chat_template={'yes' if self.chat_template else 'no'})")


# === DecodeStream
class DecodeStream:
    """Incremental decoding: feed ids one at a time, get text as soon as it is whole.

    A byte-level BPE token can hold part of a UTF-8 character (🙂 is 4 bytes, often 2+ tokens);
    ``step`` returns ``''`` until the character is complete. Wraps ``tokenizers.decoders.
    DecodeStream``, which decodes a short window of recent ids and returns what it adds.
    """

    def __init__(self, tokenizer, skip_special_tokens=False):
        decoders = _require("tokenizers.decoders", "Tokenizer.stream")
        self._tk = tokenizer.backend_tokenizer
        self._stream = decoders.DecodeStream(skip_special_tokens=skip_special_tokens)

    def step(self, token_id):
        """``token_id: int -> str``, the text this token completes (possibly '')."""
        piece = self._stream.step(self._tk, int(token_id))
        return "" if piece is None else piece


# === AutoTokenizer
class AutoTokenizer:
    """transformers' name for the same loader: ``AutoTokenizer.from_pretrained(path)``."""
    from_pretrained = staticmethod(Tokenizer.from_pretrained)


# === GGUF metadata -> tokenizers.Tokenizer
# The regexes llama.cpp splits text with before BPE, per tokenizer.ggml.pre (llama.cpp
# src/llama-vocab.cpp, llm_tokenizer_bpe). Applied in order, each splits the pieces of the one
# before; text a regex does not match stays a piece of its own (tokenizers' Split "isolated").
_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
_LLAMA3 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+"
           r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2 = _LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")
# (names, regexes, ignore_merges, add_bos unless the metadata says): ignore_merges takes a whole
# piece that is in the vocabulary as one token without running the merges (Llama 3).
_PRE_TOKENIZER_GROUPS = [
    (("default",), [r"[\p{P}\$\+<=>\^~\|]+", _GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"], False, False),
    (("gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais"), [_GPT2], False, False),
    # StarCoder's family: every digit on its own, then GPT-2's split. This is SmolLM2's own
    # tokenizer.json (Digits(individual_digits=True) + ByteLevel).
    (("smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"),
     [r"\p{N}", _GPT2], False, False),
    (("llama3", "llama-v3", "llama-bpe", "falcon3"), [_LLAMA3], True, True),
    (("dbrx", "smaug-bpe"), [_LLAMA3], False, False),
    (("qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"), [_QWEN2], False, False),
]
_PRE_TOKENIZERS = {name: group[1:] for group in _PRE_TOKENIZER_GROUPS for name in group[0]}
_CONTROL, _USER_DEFINED = 3, 4   # tokenizer.ggml.token_type values (llama.cpp's llama_token_type)


def _backend_from_gguf(metadata, who):
    """``(tokenizers.Tokenizer, add_bos, add_eos)`` for GGUF metadata of a byte-level BPE model:
    vocabulary and merges as stored (already in GPT-2's byte-to-unicode alphabet), llama.cpp's
    pre-tokenizer regexes, ByteLevel decoding, CONTROL tokens added as special tokens and
    USER_DEFINED ones as plain added tokens."""
    tokenizers = _require("tokenizers", who)
    from tokenizers import AddedToken, Regex, decoders, pre_tokenizers
    from tokenizers.models import BPE

    model = metadata.get("tokenizer.ggml.model")
    if model != "gpt2":
        what = {"llama": " (SentencePiece)", "bert": " (WordPiece)", None: " (no tokenizer)"}
        raise ValueError(f"{who}: the GGUF tokenizer model is {model!r}{what.get(model, '')}; "
                         "gradkit reads only 'gpt2' (byte-level BPE) tokenizers from GGUF "
                         "metadata. Load the tokenizer from the model's Hugging Face folder "
                         "(tokenizer.json) instead: Tokenizer.from_pretrained(folder)")
    pre = metadata.get("tokenizer.ggml.pre", "default")
    if pre not in _PRE_TOKENIZERS:
        raise ValueError(f"{who}: the GGUF pre-tokenizer {pre!r} (tokenizer.ggml.pre) is not "
                         f"supported; supported: {', '.join(_PRE_TOKENIZERS)}. Load the tokenizer "
                         "from the model's Hugging Face folder (tokenizer.json) instead")
    regexes, ignore_merges, add_bos_default = _PRE_TOKENIZERS[pre]

    tokens = metadata["tokenizer.ggml.tokens"]
    types = metadata.get("tokenizer.ggml.token_type") or [1] * len(tokens)
    vocab = {token: i for i, token in enumerate(tokens)}   # a repeated token: its last id, as
    # llama.cpp's token_to_id
    merges = []
    for m in metadata.get("tokenizer.ggml.merges", []):
        i = m.find(" ", 1)   # llama.cpp's split: a token may start with a space, never end so
        merges.append((m[:i], m[i + 1:]))
    # unk_token=None: a byte missing from the vocabulary is dropped, as llama.cpp does.
    tk = tokenizers.Tokenizer(BPE(vocab, merges, unk_token=None, ignore_merges=ignore_merges))
    tk.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r), behavior="isolated") for r in regexes]
        + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False)
                           for i, t in enumerate(types) if t == _CONTROL])
    tk.add_tokens([AddedToken(tokens[i], special=False, normalized=False)
                   for i, t in enumerate(types) if t == _USER_DEFINED])

    add_bos = bool(metadata.get("tokenizer.ggml.add_bos_token", add_bos_default))
    add_eos = bool(metadata.get("tokenizer.ggml.add_eos_token", False))
    ends = {}
    for key, add in (("bos", add_bos), ("eos", add_eos)):
        i = metadata.get(f"tokenizer.ggml.{key}_token_id")
        if add and i is not None:
            ends[key] = tokens[i]
    if ends:
        _set_bos_eos(tk, ends.get("bos"), ends.get("eos"))
    return tk, "bos" in ends, "eos" in ends


def _set_bos_eos(tk, bos, eos):
    """Make ``encode`` add ``bos`` before and ``eos`` after the text (either may be None), with
    the template transformers builds for add_bos_token/add_eos_token, so both read it alike."""
    from tokenizers import processors

    def part(type_id):
        return [f"{bos}:{type_id}"] * (bos is not None), [f"{eos}:{type_id}"] * (eos is not None)

    (b0, e0), (b1, e1) = part(0), part(1)
    tk.post_processor = processors.TemplateProcessing(
        single=b0 + ["$A:0"] + e0, pair=b0 + ["$A:0"] + e0 + b1 + ["$B:1"] + e1,
        special_tokens=[(t, tk.token_to_id(t)) for t in (bos, eos) if t is not None])


# === folder helpers
def _folder_chat_template(folder, config, who):
    """tokenizer_config.json's chat_template (a str, or a list of {name, template}), else
    chat_template.jinja, else chat_template.json: the three places transformers has kept it."""
    template = config.get("chat_template")
    if template is None and os.path.exists(os.path.join(folder, "chat_template.jinja")):
        with open(os.path.join(folder, "chat_template.jinja"), encoding="utf-8") as f:
            template = f.read()
    if template is None:
        template = read_json(os.path.join(folder, "chat_template.json"), who, missing={}).get("chat_template")
    if isinstance(template, list):
        template = {t["name"]: t["template"] for t in template}
    return template


def _makes_token_types(backend):
    """Whether the post-processor gives a second segment its own type id (BERT's segments),
    which is when the model takes token_type_ids."""
    post = backend.post_processor
    if post is None:
        return False
    state = json.loads(post.__getstate__())
    if state.get("type") == "BertProcessing":
        return True
    pair = state.get("pair") or []
    return any(part.get("type_id", 0) for item in pair for part in item.values())


# === chat templates (jinja2, rendered as transformers renders them)
_TEMPLATES = {}


def _compile(template, who):
    if template in _TEMPLATES:
        return _TEMPLATES[template]
    jinja2 = _require("jinja2", who)
    from datetime import datetime

    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(Extension):
        # {% generation %}...{% endgeneration %} marks assistant text for training masks in
        # transformers; rendering keeps the body as it is.
        tags = {"generation"}

        def parse(self, parser):
            next(parser.stream)
            return parser.parse_statements(("name:endgeneration",), drop_needle=True)

    def raise_exception(message):
        raise jinja2.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    try:
        compiled = env.from_string(template)
    except jinja2.TemplateSyntaxError as e:
        raise ValueError(f"{who}: the chat template is not valid Jinja (line {e.lineno}: "
                         f"{e.message}); fix it or pass another as chat_template=...") from None
    _TEMPLATES[template] = compiled
    return compiled


def _render(template, context, who):
    jinja2 = _require("jinja2", who)
    compiled = _compile(template, who)
    try:
        return compiled.render(**context)
    except jinja2.TemplateError as e:  # raise_exception(...) in the template refused them
        raise ValueError(f"{who}: the chat template refused these messages: {e}") from None


# === small helpers
def _check_side(side, who):
    if side not in ("left", "right"):
        raise ValueError(f"{who}: padding_side must be 'left' or 'right', got {side!r}")
    return side


def _padding_mode(padding, who):
    modes = {False: None, "do_not_pad": None, True: "longest", "longest": "longest",
             "max_length": "max_length"}
    if not isinstance(padding, (bool, str)) or padding not in modes:
        raise ValueError(f"{who}: padding must be False, True, 'longest' or 'max_length'; got "
                         f"{padding!r}")
    return modes[padding]


def _truncation_flag(truncation, who):
    modes = {False: False, "do_not_truncate": False, True: True, "longest_first": True,
             "only_first": True}
    if not isinstance(truncation, (bool, str)) or truncation not in modes:
        raise ValueError(f"{who}: truncation must be True or False (or 'longest_first'); got "
                         f"{truncation!r}")
    return modes[truncation]


def _pad(row, length, value, side):
    fill = [value] * (length - len(row))
    return fill + row if side == "left" else row + fill


def _id_list(ids, who):
    """ids as a list of int, from a list, a 1-D array or a 1-D Tensor."""
    if isinstance(ids, (int, np.integer)):
        return [int(ids)]
    if hasattr(ids, "tolist"):   # ndarray, Tensor
        if len(ids.shape) != 1:
            raise ValueError(f"{who}: expected one sequence of ids (1-D); got shape "
                             f"{tuple(ids.shape)}. Use batch_decode for a batch, or index one "
                             "row (ids[0])")
        ids = ids.tolist()
    return [int(i) for i in ids]


def _as_output(rows, single, return_tensors, who):
    if return_tensors is None:
        return rows[0] if single else rows
    if return_tensors not in ("np", "gk", "pt"):
        raise ValueError(f"{who}: return_tensors must be None, 'np', 'gk' or 'pt' (gradkit "
                         f"Tensors); got {return_tensors!r}")
    lengths = sorted({len(r) for r in rows})
    if len(lengths) > 1:
        raise ValueError(f"{who}: the texts encode to different lengths ({lengths[0]} to "
                         f"{lengths[-1]} tokens) and cannot form one array; pass padding=True")
    array = np.array(rows, dtype=np.int64).reshape(len(rows), lengths[0] if lengths else 0)
    return array if return_tensors == "np" else _tensor(array)


def attached_tokenizer(path, meta=None):
    """The tokenizer stored with the model, or None when there is none or the optional
    ``tokenizers`` package is missing: a model runs on ids without one. A tokenizer that is
    there but cannot be built is a warning, not a failure to load the weights."""
    try:
        if meta is not None:
            if "tokenizer.ggml.model" in meta:
                return Tokenizer.from_gguf_metadata(meta)
        elif os.path.exists(os.path.join(path, "tokenizer.json")):
            return Tokenizer.from_pretrained(path)
    except ImportError:
        return None
    except ValueError as e:
        warnings.warn(f"from_pretrained: the model loaded without its tokenizer: {e}",
                      stacklevel=3)
    return None
