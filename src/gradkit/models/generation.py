"""Text generation: pick the next token from the logits, append it, repeat.

A causal language model gives, for each position, logits z over the vocabulary for the next
token. Generation runs the prompt once (prefill, filling the KV cache), then one new position at
a time (decode), choosing each token from the last position's logits:

    greedy:      t = argmax z
    sampling:    t ~ softmax(z / T) restricted to the top-k tokens and to the smallest set whose
                 probability mass reaches top_p (nucleus sampling; Holtzman et al., 2019)
    repetition:  before either, each already-seen token's logit is divided by the penalty
                 (multiplied when negative), as in CTRL (Keskar et al., 2019)

It stops after ``max_new_tokens`` or when every sequence has produced an end token (SmolLM2's
end of turn, ``<|im_end|>``); a finished sequence is padded with ``pad_token_id`` while the
others go on. Prompts of different lengths are batched with left padding and an attention mask.

=== process_logits  choose  next_tokens (the two in turn: the one sampling step every model's
    generate calls)  check_sampling  GenerationMixin (generate, generate_iter, stream)  TextStreamer
"""
import sys
import warnings

import numpy as np

from .. import nn, ops
from ..autograd import grad_mode
from ..ops import kernels
from ..random import get_generator
from ..tensor import Tensor
from .pretrained import check_tokenizer, token_ids


# === process_logits
def process_logits(logits, seen=None, temperature=1.0, top_k=None, top_p=None,
                   repetition_penalty=1.0):
    """The logits (B, V) float32 after the repetition penalty, temperature, top-k and top-p, in
    that order (transformers' order); removed tokens get -inf. ``seen``: (B, T) ids so far."""
    z = np.array(logits, dtype=np.float32)
    if repetition_penalty != 1.0 and seen is not None and seen.size:
        rows = np.arange(z.shape[0])[:, None]
        picked = z[rows, seen]
        z[rows, seen] = np.where(picked < 0, picked * repetition_penalty,
                                 picked / repetition_penalty)
    if temperature != 1.0:
        z /= np.float32(temperature)
    if top_k is not None and 0 < top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k][:, None]
        z[z < kth] = -np.inf
    if top_p is not None and top_p < 1.0:
        order = np.argsort(z, axis=-1, kind="stable")  # ascending, as transformers
        sorted_z = np.take_along_axis(z, order, axis=-1)
        cum = np.cumsum(kernels.softmax(sorted_z), axis=-1)
        remove = cum <= (1 - top_p)
        remove[:, -1] = False  # always keep the most likely token
        np.put_along_axis(z, order, np.where(remove, -np.inf, sorted_z), axis=-1)
    return z


# === choose
def choose(z, do_sample, rng):
    """Next ids (B,) from processed logits: argmax, or a draw from softmax(z) by inverse CDF."""
    if not do_sample:
        return z.argmax(-1)
    cdf = np.cumsum(kernels.softmax(z.astype(np.float64)), axis=-1)
    u = rng.random(z.shape[0]) * cdf[:, -1]
    return np.minimum((cdf < u[:, None]).sum(-1), z.shape[-1] - 1)


# === next_tokens
def next_tokens(logits, seen=None, do_sample=False, temperature=1.0, top_k=None, top_p=None,
                repetition_penalty=1.0, rng=None):
    """Next ids (B,) from the last position's logits (B, V): ``process_logits`` then ``choose``.

    Greedy unless ``do_sample``; temperature, top-k and top-p shape only the sampling
    distribution, the repetition penalty applies to both. ``rng``: a NumPy Generator (default:
    gradkit's global one, seeded by ``gk.manual_seed``). Every ``generate`` in gradkit.models
    (the pretrained families' and the zoo's GPT and CharRNN) takes its step here."""
    if not do_sample:
        temperature, top_k, top_p = 1.0, None, None
    z = process_logits(logits, seen, temperature, top_k, top_p, repetition_penalty)
    return choose(z, do_sample, rng if rng is not None else get_generator())


def check_sampling(temperature, top_k, do_sample, who):
    """Refuse settings that leave nothing to sample from (before a generate loop starts)."""
    if do_sample and not temperature > 0:
        raise ValueError(f"{who}: temperature must be > 0 when sampling, got {temperature}; "
                         "use do_sample=False for greedy decoding")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer))
                              or top_k < 1):
        raise ValueError(f"{who}: top_k must be a positive int or None, got {top_k!r}")


# === GenerationMixin
class GenerationMixin:
    """``generate``, ``generate_iter`` and ``stream`` for a causal LM whose forward takes
    ``(input_ids, attention_mask, past_key_values=, logits_to_keep=)`` and which has
    ``config`` (eos/pad ids, context length) and ``make_cache(capacity)``."""

    def generate_iter(self, input_ids, max_new_tokens=20, do_sample=False, temperature=1.0,
                      top_k=None, top_p=None, repetition_penalty=1.0, eos_token_id=None,
                      pad_token_id=None, attention_mask=None, seed=None, use_cache=True):
        """Yield the next token ids (B,) int64 one step at a time (see ``generate``)."""
        who = "generate"
        ids = token_ids(input_ids, who)
        B, L = ids.shape
        mask = np.ones_like(ids) if attention_mask is None else token_ids(attention_mask, who)
        if mask.shape != ids.shape:
            raise ValueError(f"{who}: attention_mask has shape {mask.shape}, input_ids "
                             f"{ids.shape}; they must match")
        if L == 0:
            raise ValueError(f"{who}: the prompt is empty; give at least one token")
        context = self.config.max_position_embeddings
        if L > context:
            raise ValueError(f"{who}: the prompt has {L} tokens, more than this model's context "
                             f"length {context}; shorten it (keep the last {context} tokens)")
        if do_sample and temperature <= 0:
            raise ValueError(f"{who}: temperature must be > 0 when sampling (got {temperature}); "
                             "use do_sample=False for greedy decoding")
        if top_p is not None and not 0 < top_p <= 1:
            raise ValueError(f"{who}: top_p must be in (0, 1], got {top_p}")
        if self.training and _has_dropout(self):
            warnings.warn(f"{who}: the model is in training mode, so dropout changes every "
                          "forward; call model.eval() before generating", stacklevel=3)
        eos = eos_token_id if eos_token_id is not None else self.config.eos_token_id
        eos = np.asarray([] if eos is None else np.atleast_1d(eos), dtype=np.int64)
        pad = pad_token_id if pad_token_id is not None else self.config.pad_token_id
        pad = int(pad if pad is not None else (eos[0] if eos.size else 0))
        rng = np.random.default_rng(seed) if seed is not None else get_generator()
        max_new_tokens = min(int(max_new_tokens), context - L)

        seq, finished = ids, np.zeros(B, dtype=bool)
        cache = self.make_cache(L + max_new_tokens) if use_cache else None
        step_ids = ids
        with grad_mode.no_grad():
            for _ in range(max_new_tokens):
                out = self(ops.from_numpy(step_ids), attention_mask=mask, past_key_values=cache,
                           logits_to_keep=1)
                step = next_tokens(out.logits.array[:, -1], seq, do_sample, temperature, top_k,
                                   top_p, repetition_penalty, rng)
                new = np.where(finished, pad, step).astype(np.int64)
                yield new
                finished |= np.isin(new, eos)
                seq = np.concatenate([seq, new[:, None]], axis=1)
                mask = np.concatenate([mask, np.ones((B, 1), mask.dtype)], axis=1)
                if finished.all():
                    return
                step_ids = new[:, None] if use_cache else seq

    def generate(self, input_ids, max_new_tokens=20, do_sample=False, temperature=1.0,
                 top_k=None, top_p=None, repetition_penalty=1.0, eos_token_id=None,
                 pad_token_id=None, attention_mask=None, seed=None, streamer=None,
                 use_cache=True):
        """The prompt followed by up to ``max_new_tokens`` new ids: a (B, L + n) int64 Tensor.

        input_ids: (B, L) or (L,) ids (list, array or Tensor); left-pad a batch of prompts and
        pass ``attention_mask`` (1 = token, 0 = padding). Greedy unless ``do_sample``; sampling
        with ``seed`` is reproducible. ``streamer``: an object with ``put(ids)``/``end()``
        (transformers' protocol, e.g. ``TextStreamer``) or a callable given each step's new ids.
        Stops at ``eos_token_id`` (default: the model's) in every row.
        """
        ids = token_ids(input_ids, "generate")
        if streamer is not None and hasattr(streamer, "put"):
            streamer.put(ids)
        pieces = [ids]
        for new in self.generate_iter(ids, max_new_tokens, do_sample, temperature, top_k, top_p,
                                      repetition_penalty, eos_token_id, pad_token_id,
                                      attention_mask, seed, use_cache):
            pieces.append(new[:, None])
            if streamer is not None:
                (streamer.put if hasattr(streamer, "put") else streamer)(new)
        if streamer is not None and hasattr(streamer, "end"):
            streamer.end()
        return ops.from_numpy(np.concatenate(pieces, axis=1))

    def stream(self, input_ids, tokenizer=None, skip_special_tokens=True, **kwargs):
        """Yield the reply's text piece by piece as it is generated (one prompt). Pieces join
        to the decoded reply; a character split across tokens comes whole, once complete."""
        tok = tokenizer if tokenizer is not None else getattr(self, "tokenizer", None)
        if tok is None:
            raise ValueError("stream: this model has no tokenizer attached; pass tokenizer=")
        check_tokenizer(tok, self.config.vocab_size, "stream")
        decoder = tok.stream(skip_special_tokens=skip_special_tokens)
        for new in self.generate_iter(input_ids, **kwargs):
            if new.shape[0] != 1:
                raise ValueError("stream: give one prompt (batch of 1); use generate() for "
                                 "batches")
            piece = decoder.step(int(new[0]))
            if piece:
                yield piece


def _has_dropout(model):
    cfg = getattr(model, "config", None)
    if getattr(cfg, "attention_dropout", 0) > 0:
        return True
    return any(isinstance(m, nn.Dropout) and m.p > 0 for m in model.modules())


# === TextStreamer
class TextStreamer:
    """Print (or hand to ``callback``) the text of new tokens as they come: the streamer
    ``generate(..., streamer=TextStreamer(tok))`` drives, in transformers' protocol."""

    def __init__(self, tokenizer, skip_prompt=True, skip_special_tokens=True, callback=None):
        self.tokenizer, self.skip_prompt = tokenizer, skip_prompt
        self.skip_special_tokens = skip_special_tokens
        self.callback = callback or (lambda text: (sys.stdout.write(text), sys.stdout.flush()))
        self._decoder, self._prompt_seen = None, False

    def put(self, ids):
        ids = np.asarray(ids.array if isinstance(ids, Tensor) else ids)
        if ids.ndim == 2 and ids.shape[0] != 1:
            raise ValueError("TextStreamer: streams one sequence; got a batch of "
                             f"{ids.shape[0]}")
        if self._decoder is None:
            self._decoder = self.tokenizer.stream(skip_special_tokens=self.skip_special_tokens)
        if not self._prompt_seen:
            self._prompt_seen = True
            if self.skip_prompt:
                return
        for t in ids.reshape(-1):
            piece = self._decoder.step(int(t))
            if piece:
                self.callback(piece)

    def end(self):
        self._decoder, self._prompt_seen = None, False
