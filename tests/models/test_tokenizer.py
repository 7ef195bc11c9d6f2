"""gradkit.models.tokenizer against transformers' tokenizers on the two pretrained models:
SmolLM2-135M-Instruct (byte-level BPE read from GGUF metadata) and all-MiniLM-L6-v2 (BERT
WordPiece from tokenizer.json)."""
import copy
import os

import numpy as np
import pytest

import gradkit as gk
from gradkit.models import gguf_file
from gradkit.models.tokenizer import AutoTokenizer, Tokenizer

TEXTS = {
    "prose": "The quick brown fox jumps over the lazy dog. It wasn't, they'd say, a fox.",
    "code": "def f(x):\n    if x > 0:\n        return {'a': [x, -x]}\n\treturn None  # done\n",
    "accents": "café, naïve résumé in Zürich; ÅNGSTRÖM",
    "chinese": "你好，世界！这是一个测试。",
    "emoji": "🙂👍🏽 ok 🇫🇷",
    "special": "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "whitespace": "a  b   c\t\td\n\n\ne   \n  \r\n end   ",
    "digits_alone": "abc123 def456 $1,000.50 in 2024-01-31",
}


@pytest.fixture(scope="module")
def metadata(smollm2_file):
    return gguf_file.read_metadata(gguf_file.open_gguf(smollm2_file))


@pytest.fixture(scope="module")
def tok(metadata):
    return Tokenizer.from_gguf_metadata(metadata)


@pytest.fixture(scope="module")
def ref_llama_tokenizer(smollm2_file):
    from transformers import AutoTokenizer as HFAutoTokenizer

    folder, name = os.path.split(smollm2_file)
    return HFAutoTokenizer.from_pretrained(folder, gguf_file=name)


@pytest.fixture(scope="module")
def bert(minilm_folder):
    return Tokenizer.from_pretrained(minilm_folder)


@pytest.fixture(scope="module")
def ref_bert_tokenizer(minilm_folder):
    from transformers import AutoTokenizer as HFAutoTokenizer

    return HFAutoTokenizer.from_pretrained(minilm_folder)


def _ids(encoded):
    """transformers' apply_chat_template returns a BatchEncoding in v5, a list before."""
    return encoded["input_ids"] if isinstance(encoded, dict) or hasattr(encoded, "keys") else encoded


# === loading and special tokens
def test_from_pretrained_gguf(smollm2_file, tok, ref_llama_tokenizer):
    loaded = AutoTokenizer.from_pretrained(smollm2_file)
    assert isinstance(loaded, Tokenizer)
    assert loaded.encode(TEXTS["prose"]) == tok.encode(TEXTS["prose"])
    ref = ref_llama_tokenizer
    for name in ("bos_token", "eos_token", "pad_token", "unk_token"):
        assert getattr(loaded, name) == getattr(ref, name), name
        assert getattr(loaded, name + "_id") == getattr(ref, name + "_id"), name
    assert (loaded.bos_token, loaded.eos_token_id) == ("<|im_start|>", 2)
    assert len(loaded) == len(ref) == loaded.vocab_size == 49152
    assert loaded.model_max_length == 8192   # llama.context_length
    assert loaded.chat_template == ref.chat_template
    # every CONTROL token of the GGUF is special (kept whole, dropped by skip_special_tokens)
    assert loaded.all_special_ids == list(range(17))


def test_from_pretrained_folder_with_one_gguf(tmp_path, monkeypatch, metadata, tok):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.gguf").write_bytes(b"GGUF")
    opened = []
    # the file is not read again (2 s); what matters is which file the folder resolves to
    monkeypatch.setattr(gguf_file, "open_gguf", lambda path, who: opened.append(path) or path)
    monkeypatch.setattr(gguf_file, "read_metadata", lambda reader: metadata)
    assert Tokenizer.from_pretrained(tmp_path).encode("hi there") == tok.encode("hi there")
    assert opened == [str(tmp_path / "model.gguf")]
    (tmp_path / "second.gguf").write_bytes(b"GGUF")
    with pytest.raises(FileNotFoundError, match="no tokenizer.json and 2 .gguf files"):
        Tokenizer.from_pretrained(tmp_path)


# === encode / decode against transformers (SmolLM2)
@pytest.mark.parametrize("kind", list(TEXTS))
def test_encode_matches_reference(tok, ref_llama_tokenizer, kind):
    text = TEXTS[kind]
    ids = tok.encode(text)
    assert ids == ref_llama_tokenizer.encode(text)
    assert tok.decode(ids) == text == ref_llama_tokenizer.decode(ids)
    assert tok(text)["input_ids"] == ids and tok(text)["attention_mask"] == [1] * len(ids)


def test_special_tokens_are_kept_whole_and_skippable(tok, ref_llama_tokenizer):
    ids = tok.encode(TEXTS["special"])
    assert ids[0] == tok.convert_tokens_to_ids("<|im_start|>") == 1
    assert tok.convert_ids_to_tokens(ids[:3]) == ref_llama_tokenizer.convert_ids_to_tokens(ids[:3])
    skipped = tok.decode(ids, skip_special_tokens=True)
    assert skipped == ref_llama_tokenizer.decode(ids, skip_special_tokens=True) == "user\nhi\nassistant\n"


def test_digits_follow_llamacpp_and_smollm2_not_transformers_gguf(tok, ref_llama_tokenizer):
    # SmolLM2's own tokenizer.json (HuggingFaceTB/SmolLM2-135M-Instruct) pre-tokenizes with
    # Sequence[Digits(individual_digits=True), ByteLevel(use_regex=True)], and llama.cpp's
    # 'smollm' pre-tokenizer is the same: the regex \p{N}, then GPT-2's. transformers' GGUF loader
    # (integrations/gguf/gguf_tokenizer_mapping.py, GGUF_PRE_TOKENIZER_SPLITS) has no entry for
    # 'smollm' and falls back to GPT-2's regex alone. The vocabulary holds only single digits and
    # no merge involves one, so digits come out alike; the difference is the whitespace before a
    # digit: isolated first, the digit leaves the whole whitespace run a piece of its own, which
    # merges ('  ' -> 'ĠĠ' 256, '\n\n' -> 'ĊĊ' 1116), while GPT-2's regex alone glues the last
    # space to the digits (' 12' -> 'Ġ' 216, '1', '2'). gradkit keeps llama.cpp's ids, the ones
    # the model was trained on.
    cases = {"x  12": ([104, 256, 33, 34], [104, 216, 216, 33, 34]),
             "\n\n1": ([1116, 33], [198, 198, 33]),
             "    1 + 2 = 3": ([289, 33, 1232, 216, 34, 446, 216, 35],
                              [333, 216, 33, 1232, 216, 34, 446, 216, 35])}
    for text, (ours, transformers_gguf) in cases.items():
        assert tok.encode(text) == ours
        assert ref_llama_tokenizer.encode(text) == transformers_gguf
        assert tok.decode(ours) == text

    # The same vocabulary and merges behind SmolLM2's tokenizer.json pre-tokenizer give our ids.
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import pre_tokenizers

    smollm2_json = HFTokenizer.from_str(tok.backend_tokenizer.to_str())
    smollm2_json.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    corpus = list(cases) + list(TEXTS.values()) + [
        "for i in range(10):\n        x[i] = 3.14 * i\n", "tel: +33 1 23 45 67 89",
        "  \n  42\t\t7 \u00a08", "٣ ٤ and ² ½", "version 1.2.3-rc4 (2024)"]
    for text in corpus:
        assert tok.encode(text) == smollm2_json.encode(text).ids, text


def test_decode_accepts_lists_arrays_and_tensors(tok):
    ids = tok.encode(TEXTS["emoji"])
    text = tok.decode(ids)
    assert tok.decode(np.array(ids)) == tok.decode(gk.tensor(ids)) == tok.decode(tuple(ids)) == text
    batch = np.array([ids, ids])
    assert tok.batch_decode(batch) == tok.batch_decode(gk.tensor(batch)) == [text, text]
    with pytest.raises(ValueError, match="batch_decode"):
        tok.decode(batch)


# === batches: padding, truncation, tensors
@pytest.mark.parametrize("side", ["left", "right"])
def test_batch_padding_matches_reference(tok, ref_llama_tokenizer, side):
    texts = [TEXTS["prose"], "hi", TEXTS["chinese"], ""]
    ours = tok(texts, padding=True, padding_side=side)
    ref = ref_llama_tokenizer(texts, padding=True, padding_side=side)
    assert set(ours) == {"input_ids", "attention_mask"}
    assert ours["input_ids"] == ref["input_ids"]
    assert ours["attention_mask"] == ref["attention_mask"]
    row = ours["input_ids"][1]
    assert (row[0] == tok.pad_token_id) == (side == "left")


def test_padding_side_default_and_setter(metadata):
    t = Tokenizer.from_gguf_metadata(metadata)
    assert t.padding_side == "right"
    t.padding_side = "left"
    assert t(["a b c d", "a"], padding=True)["attention_mask"][1][:3] == [0, 0, 0]
    with pytest.raises(ValueError, match="'left' or 'right'"):
        t.padding_side = "center"


def test_return_tensors(tok):
    texts = ["hello there", "a longer sentence than that one"]
    arrays = tok(texts, padding=True, return_tensors="np")
    assert arrays["input_ids"].dtype == np.int64 and arrays["input_ids"].shape[0] == 2
    assert arrays["attention_mask"].shape == arrays["input_ids"].shape
    for kind in ("gk", "pt"):
        tensors = tok(texts, padding=True, return_tensors=kind)
        assert isinstance(tensors["input_ids"], gk.Tensor)
        np.testing.assert_array_equal(tensors["input_ids"].numpy(), arrays["input_ids"])
    assert tok("hello", return_tensors="np")["input_ids"].shape == (1, len(tok.encode("hello")))
    with pytest.raises(ValueError, match="padding=True"):
        tok(texts, return_tensors="np")
    with pytest.raises(ValueError, match="return_tensors"):
        tok("hello", return_tensors="tf")


def test_truncation_and_max_length_padding(tok, ref_llama_tokenizer):
    texts = [TEXTS["prose"], TEXTS["code"], "short"]
    ours = tok(texts, truncation=True, max_length=12, padding="max_length")
    ref = ref_llama_tokenizer(texts, truncation=True, max_length=12, padding="max_length")
    assert ours["input_ids"] == ref["input_ids"]
    assert ours["attention_mask"] == ref["attention_mask"]
    assert all(len(r) == 12 for r in ours["input_ids"])
    assert tok(TEXTS["prose"], truncation=True, max_length=5)["input_ids"] == tok.encode(TEXTS["prose"])[:5]
    with pytest.raises(ValueError, match="truncation=True"):
        tok(TEXTS["prose"], max_length=5)


def test_padding_without_pad_token(metadata):
    t = Tokenizer.from_gguf_metadata(metadata)
    t.pad_token = None
    with pytest.raises(ValueError, match="pad_token = tokenizer.eos_token"):
        t(["a", "b c"], padding=True)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        t.pad_token = "<no such token>"


# === chat templates
CONVERSATIONS = {
    "one_turn": [{"role": "user", "content": "What is the capital of France?"}],
    "four_turns": [{"role": "system", "content": "You answer in one word."},
                   {"role": "user", "content": "Capital of France?"},
                   {"role": "assistant", "content": "Paris."},
                   {"role": "user", "content": "And of Zürich's country? 🙂"}],
}


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_chat_template_matches_reference(tok, ref_llama_tokenizer, name):
    messages = CONVERSATIONS[name]
    ids = tok.apply_chat_template(messages, add_generation_prompt=True)
    assert ids == _ids(ref_llama_tokenizer.apply_chat_template(messages, add_generation_prompt=True))
    text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text == ref_llama_tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                           tokenize=False)
    assert text.endswith("<|im_start|>assistant\n")
    assert tok.apply_chat_template(messages, return_tensors="np").shape[0] == 1
    tensor = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="gk")
    assert tensor.shape == (1, len(ids))


def test_chat_template_errors(tok, bert):
    with pytest.raises(ValueError, match="no chat template.*chat_template="):
        bert.apply_chat_template([{"role": "user", "content": "hi"}])
    rendered = bert.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                        chat_template="{{ messages[0]['content'] | upper }}")
    assert rendered == "HI"
    with pytest.raises(ValueError, match="message 1 has no 'role'"):
        tok.apply_chat_template([{"role": "user", "content": "hi"}, {"content": "hello"}])
    with pytest.raises(ValueError, match="message 0 has no 'content'"):
        tok.apply_chat_template([{"role": "user"}])
    refusing = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('users first') }}{% endif %}"
    with pytest.raises(ValueError, match="users first"):
        tok.apply_chat_template([{"role": "assistant", "content": "x"}], chat_template=refusing)


def test_chat_template_extra_kwargs_and_tojson(tok):
    template = "{{ bos_token }}{{ tools | tojson }}{% for m in messages %}{{ m.content }}{% endfor %}"
    out = tok.apply_chat_template([{"role": "user", "content": "é"}], tokenize=False,
                                  chat_template=template, tools=[{"name": "café"}])
    assert out == '<|im_start|>[{"name": "café"}]é'


# === streaming
def test_stream_reassembles_multibyte_text(tok):
    ids = tok.apply_chat_template([{"role": "user", "content": "Say 你好，世界 with 🙂👍🏽!"}])
    stream = tok.stream()
    pieces = [stream.step(i) for i in ids]
    assert "".join(pieces) == tok.decode(ids)
    assert "" in pieces   # some tokens hold only part of a character's UTF-8 bytes
    assert all(p == "" or "\ufffd" not in p for p in pieces)
    quiet = tok.stream(skip_special_tokens=True)
    assert "".join(quiet.step(i) for i in ids) == tok.decode(ids, skip_special_tokens=True)


# === save_pretrained
def test_save_pretrained_gguf_round_trip(tmp_path, tok):
    from transformers import AutoTokenizer as HFAutoTokenizer

    paths = tok.save_pretrained(tmp_path)
    assert sorted(os.path.basename(p) for p in paths) == ["tokenizer.json", "tokenizer_config.json"]
    ours, theirs = Tokenizer.from_pretrained(tmp_path), HFAutoTokenizer.from_pretrained(tmp_path)
    for text in list(TEXTS.values()) + ["x  12", "\n\n1"]:
        assert ours.encode(text) == theirs.encode(text) == tok.encode(text), text
    messages = CONVERSATIONS["four_turns"]
    expected = tok.apply_chat_template(messages, add_generation_prompt=True)
    assert ours.apply_chat_template(messages, add_generation_prompt=True) == expected
    assert _ids(theirs.apply_chat_template(messages, add_generation_prompt=True)) == expected
    for name in ("bos_token", "eos_token", "pad_token", "unk_token", "model_max_length",
                 "padding_side"):
        assert getattr(ours, name) == getattr(theirs, name) == getattr(tok, name), name


def test_save_pretrained_keeps_add_bos_token(tmp_path, metadata):
    from transformers import AutoTokenizer as HFAutoTokenizer

    meta = copy.copy(metadata)
    meta["tokenizer.ggml.add_bos_token"] = True
    with_bos = Tokenizer.from_gguf_metadata(meta)
    assert with_bos.encode("hi") == [1] + with_bos.encode("hi", add_special_tokens=False)
    with_bos.save_pretrained(tmp_path)
    theirs = HFAutoTokenizer.from_pretrained(tmp_path)
    assert Tokenizer.from_pretrained(tmp_path).encode("hi") == theirs.encode("hi") == with_bos.encode("hi")


# === BERT (all-MiniLM-L6-v2, tokenizer.json)
BERT_TEXTS = ["Hello, world!", "Café au lait in Zürich, naïve résumé.", "你好，世界 and 東京",
              "A sentence-embedding model maps text to 384 numbers.", "",
              " ".join(["long text with many words,"] * 80)]


def test_bert_matches_reference(bert, ref_bert_tokenizer):
    kwargs = dict(truncation=True, max_length=256, padding=True)
    ours, ref = bert(BERT_TEXTS, **kwargs), ref_bert_tokenizer(BERT_TEXTS, **kwargs)
    assert list(ours) == ["input_ids", "token_type_ids", "attention_mask"]
    for key in ours:
        assert ours[key] == ref[key], key
    assert len(ours["input_ids"][-1]) == 256 and ours["input_ids"][-1][-1] == bert.sep_token_id
    for text in BERT_TEXTS[:4]:
        ids = bert.encode(text)
        assert ids == ref_bert_tokenizer.encode(text)
        assert ids[0] == bert.cls_token_id == 101
        for skip in (False, True):
            assert bert.decode(ids, skip_special_tokens=skip) == ref_bert_tokenizer.decode(
                ids, skip_special_tokens=skip)
    assert bert.model_max_length == 512 and bert.unk_token == "[UNK]"
    assert sorted(bert.all_special_ids) == sorted(ref_bert_tokenizer.all_special_ids)


def test_bert_save_pretrained_round_trip(tmp_path, bert):
    from transformers import AutoTokenizer as HFAutoTokenizer

    bert.save_pretrained(tmp_path)
    ours, theirs = Tokenizer.from_pretrained(tmp_path), HFAutoTokenizer.from_pretrained(tmp_path)
    expected = bert(BERT_TEXTS[:3], padding=True)
    assert ours(BERT_TEXTS[:3], padding=True) == expected
    assert dict(theirs(BERT_TEXTS[:3], padding=True)) == expected


# === errors
def test_missing_path():
    with pytest.raises(FileNotFoundError, match="no such file or folder.*nowhere"):
        Tokenizer.from_pretrained("/nowhere/model.gguf")


def test_folder_without_tokenizer_json(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n")
    with pytest.raises(FileNotFoundError, match="has no tokenizer.json"):
        Tokenizer.from_pretrained(tmp_path)


def _tiny_metadata(**changes):
    meta = {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "gpt-2",
            "tokenizer.ggml.tokens": ["a", "b", "ab", "<eos>"],
            "tokenizer.ggml.token_type": [1, 1, 1, 3], "tokenizer.ggml.merges": ["a b"],
            "tokenizer.ggml.eos_token_id": 3}
    meta.update(changes)
    return meta


def test_tiny_gguf_metadata():
    t = Tokenizer.from_gguf_metadata(_tiny_metadata())
    assert t.encode("abba<eos>") == [2, 1, 0, 3]
    assert t.eos_token == "<eos>" and t.bos_token is None and t.chat_template is None


def _pieces(pre_tokenizer, text):
    return [piece for piece, _ in pre_tokenizer.pre_tokenize_str(text)]


def test_gguf_pre_tokenizers_split_as_llamacpp():
    from tokenizers import Regex, pre_tokenizers

    text = "I'LL pay $12345.67!\n\n  ok"
    expected = {  # llama.cpp's regexes per tokenizer.ggml.pre, applied one after another
        "default": ["I", "'", "LL", "Ġpay", "Ġ", "$", "123", "45", ".", "67", "!", "ĊĊĠ", "Ġok"],
        "gpt-2": ["I", "'", "LL", "Ġpay", "Ġ$", "12345", ".", "67", "!", "ĊĊĠ", "Ġok"],
        "smollm": ["I", "'", "LL", "Ġpay", "Ġ$", *"12345", ".", "6", "7", "!", "ĊĊĠ", "Ġok"],
        "llama3": ["I", "'LL", "Ġpay", "Ġ$", "123", "45", ".", "67", "!ĊĊ", "Ġ", "Ġok"],
        "qwen2": ["I", "'LL", "Ġpay", "Ġ$", *"12345", ".", "6", "7", "!ĊĊ", "Ġ", "Ġok"],
    }
    built = {pre: Tokenizer.from_gguf_metadata(_tiny_metadata(**{"tokenizer.ggml.pre": pre}))
             .backend_tokenizer.pre_tokenizer for pre in expected}
    for pre, pieces in expected.items():
        assert _pieces(built[pre], text) == pieces, pre
    # GPT-2's regex is ByteLevel's own; Llama 3's and Qwen 2's are transformers' GGUF splits
    mapping = pytest.importorskip("transformers.integrations.gguf.gguf_tokenizer_mapping")
    references = {"gpt-2": pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)}
    for pre in ("llama3", "qwen2"):
        references[pre] = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(mapping.GGUF_PRE_TOKENIZER_SPLITS[pre]), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    for pre, reference in references.items():
        for sample in list(TEXTS.values()) + [text, "DON'T 'Re \r\n\r\n x  9"]:
            assert _pieces(built[pre], sample) == _pieces(reference, sample), (pre, sample)


def test_unsupported_gguf_tokenizer_model():
    with pytest.raises(ValueError, match="'llama' \\(SentencePiece\\).*only 'gpt2'.*tokenizer.json"):
        Tokenizer.from_gguf_metadata(_tiny_metadata(**{"tokenizer.ggml.model": "llama"}))


def test_unsupported_gguf_pre_tokenizer():
    with pytest.raises(ValueError, match="pre-tokenizer 'made-up'.*supported: .*smollm.*llama3"):
        Tokenizer.from_gguf_metadata(_tiny_metadata(**{"tokenizer.ggml.pre": "made-up"}))
