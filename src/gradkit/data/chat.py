"""Conversations for supervised fine-tuning (SFT) of a causal language model.

    ChatDataset         JSON Lines of {"messages": [{"role", "content"}, ...]} -> token ids + labels
    ChatCollator        a list of examples -> a padded batch (input_ids, attention_mask, labels)
    pack_chat           examples concatenated and cut into fixed-length windows (no padding)
    assistant_labels    one conversation -> (input_ids, labels): the rule ChatDataset applies
    nothing_to_learn    a label batch with no trained position (its mean loss would be nan)

Labels are the input ids with every token that is not part of an assistant reply set to -100
(``IGNORE_INDEX``, the ``ignore_index`` of ``cross_entropy``): the model learns the replies and
the token that ends each reply, not the system prompt, the user's turns or the template's role
headers. They stay aligned with ``input_ids``; the causal LM shifts them (position t predicts
labels[t+1]), as transformers does.

>>> ds = ChatDataset("train.jsonl", tokenizer, max_length=512)
>>> loader = DataLoader(ds, batch_size=8, shuffle=True,
...                     collate_fn=ChatCollator(tokenizer.pad_token_id))
>>> for batch in loader:
...     loss = model(**batch).loss

The tokenizer is duck-typed (data sits below models in the package layering): anything with
``apply_chat_template(messages, add_generation_prompt=..., tokenize=True)`` returning token ids
— gradkit's ``models.Tokenizer`` or a transformers tokenizer — and, optionally, an
``eos_token_id``.
"""
import json
import os
import warnings

import numpy as np

from .. import _internal
from .dataset import Dataset, _check_index

__all__ = ["ChatDataset", "ChatCollator", "pack_chat", "PackedChatDataset", "assistant_labels",
           "nothing_to_learn", "IGNORE_INDEX", "ROLES"]

IGNORE_INDEX = -100
ROLES = ("system", "user", "assistant")
TRUNCATION = ("right", "left", "error")
_EXAMPLE = ('{"messages": [{"role": "user", "content": "..."}, '
            '{"role": "assistant", "content": "..."}]}')


# === reading and checking conversations
def _records(data, who):
    """(where, record) pairs: where is "file:line" for JSON Lines, "record i" for a list."""
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{who}: {path} is not a file; give a JSON Lines file (one "
                                    f"conversation per line, {_EXAMPLE}) or a list of such dicts")
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue  # blank lines (a trailing newline, a separator) carry nothing
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{who}: {path}:{lineno}: not valid JSON ({e.msg} at column "
                                     f"{e.colno}); each line must be one JSON object like "
                                     f"{_EXAMPLE}") from None
                yield f"{path}:{lineno}", record
    elif isinstance(data, (list, tuple)):
        for i, record in enumerate(data):
            yield f"record {i}", record
    else:
        raise TypeError(f"{who}: expected a path to a JSON Lines file or a list of conversations "
                        f"like {_EXAMPLE}; got {type(data).__name__}")


def _messages(record, where, who):
    """The record's message list, checked: dicts with a known role and str content."""
    messages = record.get("messages") if isinstance(record, dict) else None
    if not isinstance(messages, list) or not messages:
        got = (f"an object with keys {sorted(record)}" if isinstance(record, dict)
               else f"a JSON {type(record).__name__}")
        if isinstance(record, dict) and "messages" in record:
            got = f'"messages" = {json.dumps(messages)[:60]}'
        raise ValueError(f"{who}: {where}: not a conversation; expected an object with a "
                         f'non-empty "messages" list, like {_EXAMPLE}; got {got}')
    for j, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            got = f"keys {sorted(m)}" if isinstance(m, dict) else f"a {type(m).__name__}"
            raise ValueError(f'{who}: {where}: message {j} must be an object with "role" and '
                             f'"content"; got {got}')
        if m["role"] not in ROLES:
            raise ValueError(f"{who}: {where}: message {j} has role {m['role']!r}; the roles are "
                             f"{', '.join(map(repr, ROLES))}")
        if not isinstance(m["content"], str):
            raise ValueError(f"{who}: {where}: message {j} ({m['role']}) has content of type "
                             f"{type(m['content']).__name__}; expected a string")
    return messages


def _ids(x):
    """Token ids as a 1-d array from a list, an array or a tensor (gradkit's or PyTorch's)."""
    return _internal.as_array(x).reshape(-1)


def _int_at_least(value, low):
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= low


def _summary(items, limit=5):
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# === labels: the assistant spans
def _encode(tokenizer, messages, add_generation_prompt):
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt,
                                        tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):  # transformers may return a BatchEncoding
        ids = ids["input_ids"]
    return _ids(ids).astype(np.int64, copy=False)


def _prefix_error(who, where, i, kind, part, full, tokenizer):
    n = min(len(part), len(full))
    diff = int(np.argmax(part[:n] != full[:n])) if (part[:n] != full[:n]).any() else n
    decode = getattr(tokenizer, "decode", None)
    shown = ""
    if decode is not None:
        shown = (f" (there: {decode(part[diff:diff + 8].tolist())!r} vs "
                 f"{decode(full[diff:diff + 8].tolist())!r})")
    return ValueError(
        f"{who}: {where}: the chat template does not render conversations prefix by prefix: the "
        f"tokens of messages[:{i}{kind} differ from the whole conversation's at token {diff}"
        f"{shown}. The assistant replies are found as the tokens each one adds to the rendering, "
        "which needs a template whose rendering of the first k messages is the start of the "
        "rendering of all of them (templates that rewrite earlier turns, e.g. strip reasoning, "
        "break this). Use a template without that rewriting (apply_chat_template's "
        "chat_template=) or a conversation that does not trigger it.")


def assistant_labels(tokenizer, messages, who="ChatDataset", where="conversation"):
    """(input_ids, labels), int64 (L,): the conversation's tokens, and the same with -100 on every
    token outside an assistant reply.

    Each reply's tokens are those that ``messages[:i+1]`` adds to ``messages[:i]`` rendered with
    the generation prompt (the assistant header), so the header stays masked and the reply's
    content and end-of-turn are learned. Template text after the end-of-turn token (SmolLM2's
    newline after ``<|im_end|>``) is not learned: the span stops at its last
    ``tokenizer.eos_token_id``, when the tokenizer has one and the span contains it.
    """
    full = _encode(tokenizer, messages, False)
    labels = np.full_like(full, IGNORE_INDEX)
    eos = getattr(tokenizer, "eos_token_id", None)
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = _encode(tokenizer, messages[:i], True)
        upto = _encode(tokenizer, messages[:i + 1], False)
        for part, kind in ((before, "] with add_generation_prompt=True"), (upto, "+1]")):
            if len(part) > len(full) or not np.array_equal(part, full[:len(part)]):
                raise _prefix_error(who, where, i, kind, part, full, tokenizer)
        start, end = len(before), len(upto)
        if eos is not None:
            hits = np.flatnonzero(full[start:end] == eos)
            if hits.size:
                end = start + int(hits[-1]) + 1
        labels[start:end] = full[start:end]
    return full, labels


# === ChatDataset
class ChatDataset(Dataset):
    """Conversations tokenised with the tokenizer's chat template, labels on the replies only.

    Args:
        data: a JSON Lines file, one ``{"messages": [{"role": ..., "content": ...}, ...]}`` per
            line (roles ``system``, ``user``, ``assistant``; blank lines are skipped), or a list
            of such dicts.
        tokenizer: has ``apply_chat_template(messages, add_generation_prompt, tokenize=True)``.
        max_length: the longest example in tokens (the model's context, or less). ``None``
            (default) keeps every example whole.
        truncation: what a longer example becomes: ``"right"`` (default) keeps its first
            ``max_length`` tokens, so the question stays with the start of its answer (a reply cut
            short loses its end-of-turn token); ``"left"`` keeps the last ones (the latest turns,
            without the system prompt); ``"error"`` refuses, naming the line and the length.
            Truncation warns once per dataset, listing the examples.

    ``ds[i]`` is ``{"input_ids": int64 (L,), "labels": int64 (L,)}``; ``ds.sources[i]`` says
    where it came from (``"file.jsonl:12"`` or ``"record 12"``). Everything is tokenised here,
    so bad input fails now, naming its line.

    Conversations without an assistant message teach nothing (every label would be -100): they
    are skipped with one warning listing them (``ds.skipped`` keeps their sources). Examples whose
    replies were cut away by truncation are kept, with a warning; a batch made only of such
    examples has no label to learn (see ``ChatCollator``).
    """

    def __init__(self, data, tokenizer, max_length=None, truncation="right"):
        who = "ChatDataset"
        if not callable(getattr(tokenizer, "apply_chat_template", None)):
            raise TypeError(f"{who}: the tokenizer ({type(tokenizer).__name__}) has no "
                            "apply_chat_template(messages, add_generation_prompt, tokenize=True); "
                            "use the model's tokenizer (gradkit.models.Tokenizer)")
        if max_length is not None and not _int_at_least(max_length, 2):
            raise ValueError(f"{who}: max_length must be an int >= 2 or None; got {max_length!r}")
        if truncation not in TRUNCATION:
            raise ValueError(f"{who}: truncation must be one of "
                             f"{', '.join(map(repr, TRUNCATION))}; got {truncation!r}")
        self.tokenizer, self.max_length, self.truncation = tokenizer, max_length, truncation
        self.examples, self.sources, self.skipped = [], [], []
        truncated, emptied = [], []
        for where, record in _records(data, who):
            messages = _messages(record, where, who)
            if not any(m["role"] == "assistant" for m in messages):
                self.skipped.append(where)
                continue
            ids, labels = assistant_labels(tokenizer, messages, who, where)
            if max_length is not None and len(ids) > max_length:
                if truncation == "error":
                    raise ValueError(f"{who}: {where}: the conversation is {len(ids)} tokens long, "
                                     f"over max_length={max_length}; shorten it, raise max_length, "
                                     "or pass truncation='right' or 'left'")
                truncated.append(f"{where} ({len(ids)} tokens)")
                cut = slice(None, max_length) if truncation == "right" else slice(-max_length, None)
                ids, labels = ids[cut], labels[cut]
                if (labels[1:] == IGNORE_INDEX).all():
                    emptied.append(where)
            self.examples.append((ids, labels))
            self.sources.append(where)
        if self.skipped:
            warnings.warn(f"{who}: skipped {len(self.skipped)} conversation(s) without an "
                          f"assistant message (nothing to learn): {_summary(self.skipped)}",
                          UserWarning, stacklevel=2)
        if truncated:
            warnings.warn(f"{who}: {len(truncated)} conversation(s) longer than max_length="
                          f"{max_length} tokens were truncated on the {truncation}: "
                          f"{_summary(truncated)}", UserWarning, stacklevel=2)
        if emptied:
            warnings.warn(f"{who}: after truncation, {len(emptied)} example(s) keep no assistant "
                          f"token to learn: {_summary(emptied)}; raise max_length or use "
                          "truncation='left'", UserWarning, stacklevel=2)
        if not self.examples:
            source = os.fspath(data) if isinstance(data, (str, os.PathLike)) else "the records"
            raise ValueError(f"{who}: no conversation with an assistant message in {source}")

    def __len__(self):
        return len(self.examples)

    def __getitem__(self, index):
        ids, labels = self.examples[_check_index(index, len(self.examples), "ChatDataset")]
        return {"input_ids": ids, "labels": labels}

    def __repr__(self):
        return f"ChatDataset({len(self)} conversations, max_length={self.max_length})"


# === ChatCollator: padding
def _sample(sample, i, who):
    if not isinstance(sample, dict) or "input_ids" not in sample or "labels" not in sample:
        got = f"keys {sorted(sample)}" if isinstance(sample, dict) else type(sample).__name__
        raise TypeError(f'{who}: sample {i} must be a dict with "input_ids" and "labels" (what '
                        f"ChatDataset gives); got {got}")
    ids, labels = _ids(sample["input_ids"]), _ids(sample["labels"])
    if ids.shape != labels.shape:
        raise ValueError(f"{who}: sample {i} has {ids.size} input_ids but {labels.size} labels; "
                         "labels must be aligned with input_ids, one per token")
    return ids, labels


def nothing_to_learn(labels):
    """True when a (B, L) label batch has no label a causal LM is trained on: labels[:, 1:] are
    all -100 (position 0 is never predicted). The mean loss of such a batch is 0/0 = nan."""
    return bool((np.asarray(labels)[:, 1:] == IGNORE_INDEX).all())


class ChatCollator:
    """A list of ``{"input_ids", "labels"}`` examples -> one padded batch, for
    ``DataLoader(collate_fn=...)``:

        input_ids       int64 (B, L)   padded with ``pad_token_id``
        attention_mask  int64 (B, L)   1 = token, 0 = padding
        labels          int64 (B, L)   padded with -100

    L is the longest example, rounded up to ``pad_to_multiple_of`` when given.
    ``padding_side``: ``"right"`` (default, for training) or ``"left"``; gradkit's Llama derives
    the positions from the mask, so both give the same loss on ChatDataset's examples (whose
    first token, a template header, is never a label).

    A batch whose labels are all -100 (after the causal shift) has nothing to learn, and its mean
    cross-entropy is nan (0/0, as in PyTorch): the collator warns, and a training loop should
    skip it (``nothing_to_learn(batch["labels"])``).
    """

    def __init__(self, pad_token_id, padding_side="right", pad_to_multiple_of=None):
        who = "ChatCollator"
        if not _int_at_least(pad_token_id, 0):
            raise ValueError(f"{who}: pad_token_id must be a token id (an int >= 0); got "
                             f"{pad_token_id!r}. If the tokenizer has no pad token, pass its "
                             "eos_token_id: padded positions are masked out of attention and "
                             "labels, so any id works")
        if padding_side not in ("right", "left"):
            raise ValueError(f"{who}: padding_side must be 'right' or 'left'; got {padding_side!r}")
        if pad_to_multiple_of is not None and not _int_at_least(pad_to_multiple_of, 1):
            raise ValueError(f"{who}: pad_to_multiple_of must be a positive int or None; got "
                             f"{pad_to_multiple_of!r}")
        self.pad_token_id, self.padding_side = int(pad_token_id), padding_side
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, samples):
        who = "ChatCollator"
        if len(samples) == 0:
            raise ValueError(f"{who}: got an empty list of samples")
        rows = [_sample(s, i, who) for i, s in enumerate(samples)]
        B, L = len(rows), max(ids.size for ids, _ in rows)
        if self.pad_to_multiple_of:
            L = -(-L // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids = np.full((B, L), self.pad_token_id, dtype=np.int64)
        labels = np.full((B, L), IGNORE_INDEX, dtype=np.int64)
        attention_mask = np.zeros((B, L), dtype=np.int64)
        for b, (ids, lab) in enumerate(rows):
            at = slice(0, ids.size) if self.padding_side == "right" else slice(L - ids.size, L)
            input_ids[b, at], labels[b, at], attention_mask[b, at] = ids, lab, 1
        if nothing_to_learn(labels):
            warnings.warn(f"{who}: every label of this batch is -100 (none of its {B} examples, "
                          f"0 to {B - 1}, has an assistant token to learn after the causal "
                          "shift): its mean loss would be 0/0 = nan. Skip the batch "
                          "(gradkit.data.chat.nothing_to_learn(batch['labels'])); ChatDataset's "
                          "warnings name the conversations that lost their replies to truncation",
                          UserWarning, stacklevel=2)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}

    def __repr__(self):
        return (f"ChatCollator(pad_token_id={self.pad_token_id}, padding_side="
                f"{self.padding_side!r}, pad_to_multiple_of={self.pad_to_multiple_of})")


# === packing
class PackedChatDataset(Dataset):
    """Fixed-length windows cut from examples laid end to end (what ``pack_chat`` returns).

    ``ds[i]`` is ``{"input_ids": int64 (seq_len,), "labels": int64 (seq_len,)}``; the arrays are
    ``ds.input_ids`` and ``ds.labels``, (N, seq_len). Every window is full, so the default
    collate stacks them (no padding, no attention mask).
    """

    def __init__(self, input_ids, labels, dropped_tokens=0):
        self.input_ids, self.labels, self.dropped_tokens = input_ids, labels, dropped_tokens

    def __len__(self):
        return len(self.input_ids)

    def __getitem__(self, index):
        i = _check_index(index, len(self.input_ids), "PackedChatDataset")
        return {"input_ids": self.input_ids[i], "labels": self.labels[i]}

    def __repr__(self):
        return f"PackedChatDataset({len(self)} windows of {self.input_ids.shape[1]} tokens)"


def pack_chat(dataset, seq_len):
    """Concatenate the examples of ``dataset`` (in order) and cut them into windows of
    ``seq_len`` tokens, labels kept aligned: no padding, every position holds a real token.

    As in Hugging Face's simple packing (``group_texts`` in the run_clm example), the windows
    are plain slices of the stream: attention crosses example boundaries inside a window (a
    reply may attend to the conversation before it), positions do not restart at each example,
    the first label of each window is never predicted (the causal shift), and the tokens after
    the last full window are dropped (``packed.dropped_tokens`` says how many).

    dataset: any map-style dataset of ``{"input_ids", "labels"}`` dicts (a ``ChatDataset``).
    Returns a ``PackedChatDataset``.

    >>> loader = DataLoader(pack_chat(ChatDataset("train.jsonl", tok), 256), batch_size=8,
    ...                     shuffle=True)
    """
    who = "pack_chat"
    if not _int_at_least(seq_len, 2):
        raise ValueError(f"{who}: seq_len must be an int >= 2; got {seq_len!r}")
    rows = [_sample(dataset[i], i, who) for i in range(len(dataset))]
    ids = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, np.int64)
    labels = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0, np.int64)
    n = ids.size // seq_len
    if n == 0:
        raise ValueError(f"{who}: the {len(rows)} examples hold {ids.size} tokens in all, fewer "
                         f"than one window of seq_len={seq_len}; use a smaller seq_len or pad "
                         "instead (ChatCollator)")
    keep = n * seq_len
    return PackedChatDataset(ids[:keep].astype(np.int64).reshape(n, seq_len),
                             labels[:keep].astype(np.int64).reshape(n, seq_len),
                             dropped_tokens=int(ids.size - keep))
