"""BertModel and SentenceEncoder against transformers: all-MiniLM-L6-v2 on real text (float32),
a tiny random BERT in float64 for outputs and every parameter's gradient, the folder format both
ways, and the errors a user can meet."""
import json
import os
import shutil

import numpy as np
import pytest

import gradkit as gk
from gradkit.models import BertConfig, BertModel, SentenceEncoder
from gradkit.models.bert import Tokens

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

SENTENCES = [
    "Hello",
    "?!...",
    "The quick brown fox jumps over the lazy dog.",
    "Crème brûlée, café au lait and a piña colada at the Zürich Hauptbahnhof.",
    "我喜欢在北京的公园里散步。",
    "Launch day 🚀🎉 went great, thanks all 🙏",
    "MiXeD CaSe WoRdS SHOULD be LOWERED by AN uncased MODEL",
    "A man is eating food.",
    "A man is riding a white horse on an enclosed ground.",
    "Numbers like 3.14159, 2,718 and 1e-12 are split into pieces.",
    "def forward(self, x): return self.linear(x)  # code, too",
    "Ceci n'est pas une pipe.",
    "   leading and trailing spaces   ",
    "URLs: https://example.com/path?query=1&b=2",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism",
    "Tokyo, Москва, القاهرة and Αθήνα are capitals.",
    "one two three four five six seven eight nine ten eleven twelve thirteen",
    "A neural network learns weights by gradient descent on a loss function.",
    " ".join(f"word{i % 37} and more text number {i}" for i in range(60)),  # 300 words: cut to 256
    "Short.",
]

QUERIES = ["How do I cook pasta?", "What is the capital of France?", "How do plants make food?"]
DOCUMENTS = [
    "Boil water, add salt, and cook the spaghetti for ten minutes.",
    "Paris is the capital and largest city of France.",
    "Photosynthesis turns sunlight, water and carbon dioxide into sugar.",
    "The stock market fell sharply on Monday.",
    "Italian recipes often start with olive oil and garlic.",
    "Berlin is the capital of Germany.",
    "Chlorophyll absorbs light in the leaves of green plants.",
    "The football match ended in a draw.",
]


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t.array)


def _reference(ref_bert, sentences, sort=False):
    """Reference tokens (padded batch) and transformers' outputs for them."""
    model, tok = ref_bert
    batch = tok(sentences, padding=True, truncation=True, max_length=256, return_tensors="np")
    if sort:  # longest first: the order encode() uses, which makes Tokens cut groups
        order = np.argsort(-batch["attention_mask"].sum(1), kind="stable")
        batch = {k: v[order] for k, v in batch.items()}
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v) for k, v in batch.items()})
    return batch, out


def _mean_pooled(hidden, mask):
    m = mask[..., None].astype(np.float32)
    e = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def minilm(minilm_folder):
    return BertModel.from_pretrained(minilm_folder)


@pytest.fixture(scope="module")
def encoder(minilm_folder):
    return SentenceEncoder.from_pretrained(minilm_folder)


# === all-MiniLM-L6-v2 against transformers ================================
@pytest.mark.parametrize("sort", [False, True], ids=["as-given", "longest-first"])
def test_minilm_hidden_states_match_transformers(minilm, ref_bert, sort):
    batch, ref = _reference(ref_bert, SENTENCES, sort)
    mask = batch["attention_mask"].astype(bool)
    assert mask.sum(1).max() == 256 and mask.sum(1).min() <= 3  # truncated, and much padding
    if sort:
        assert len(Tokens(mask).groups) > 1
    with gk.no_grad():
        out = minilm(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    h = out.last_hidden_state.array
    assert h.dtype == np.float32 and h.shape == tuple(ref.last_hidden_state.shape)
    # padding positions are zeros here and arbitrary in transformers (its eager and sdpa
    # attentions differ there by 1e-4): compare the real tokens
    np.testing.assert_allclose(h[mask], ref.last_hidden_state.numpy()[mask], atol=1e-4, rtol=0)
    assert not h[~mask].any()
    np.testing.assert_allclose(out.pooler_output.array, ref.pooler_output.numpy(), atol=1e-4,
                               rtol=0)
    assert out[0] is out.last_hidden_state


def test_minilm_sentence_embeddings_match_transformers(encoder, ref_bert):
    batch, ref = _reference(ref_bert, SENTENCES)
    expected = _mean_pooled(ref.last_hidden_state.numpy(), batch["attention_mask"])
    got = encoder.encode(SENTENCES, batch_size=8)
    assert got.dtype == np.float32 and got.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    one = encoder.encode(SENTENCES[3])
    assert one.shape == (384,) and one.dtype == np.float32
    np.testing.assert_allclose(one, expected[3], atol=1e-4, rtol=0)
    raw = encoder.encode(SENTENCES[:4], normalize_embeddings=False, convert_to_numpy=False)
    assert isinstance(raw, gk.Tensor) and raw.dtype == np.float32
    assert not np.allclose(np.linalg.norm(raw.array, axis=1), 1.0, atol=1e-3)
    assert encoder.training is False and encoder.max_seq_length == 256


def test_minilm_similarity_ranking_matches_transformers(encoder, ref_bert):
    q_batch, q_ref = _reference(ref_bert, QUERIES)
    d_batch, d_ref = _reference(ref_bert, DOCUMENTS)
    q = _mean_pooled(q_ref.last_hidden_state.numpy(), q_batch["attention_mask"])
    d = _mean_pooled(d_ref.last_hidden_state.numpy(), d_batch["attention_mask"])
    expected = q @ d.T
    got = encoder.similarity(encoder.encode(QUERIES), encoder.encode(DOCUMENTS))
    assert got.shape == (3, 8) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_array_equal(np.argsort(-got, axis=1), np.argsort(-expected, axis=1))
    assert list(np.argmax(got, axis=1)) == [0, 1, 2]  # the right document first


def test_state_dict_keys_equal_transformers(minilm, ref_bert):
    assert set(minilm.state_dict()) == set(ref_bert[0].state_dict())


# === a tiny random BERT in float64: outputs and every gradient =============
TINY = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=24, max_position_embeddings=80, type_vocab_size=2,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def _tiny_pair(**overrides):
    cfg = dict(TINY, **overrides)
    gk.manual_seed(0)
    ours = BertModel(BertConfig(**cfg)).to(gk.float64)
    torch.manual_seed(0)
    ref = transformers.BertModel(transformers.BertConfig(**cfg, attn_implementation="eager"))
    ref = ref.double()
    ours.load_state_dict({k: gk.from_numpy(v.numpy()) for k, v in ref.state_dict().items()})
    return ours, ref


def _mask(lengths, L, left=False):
    m = np.arange(L)[None] < np.array(lengths)[:, None]
    return (m[:, ::-1] if left else m).astype(np.int64)


@pytest.mark.parametrize("lengths,left", [
    ([72, 70, 50, 9, 2], False),    # sorted, right-padded: cut into attention groups
    ([5, 30, 12, 30], False),       # unsorted: one group
    ([7, 30, 19], True),            # left padding
    ([20, 20], False),              # no padding
], ids=["groups", "unsorted", "left-padded", "no-padding"])
def test_tiny_outputs_and_gradients_match_transformers(lengths, left):
    ours, ref = _tiny_pair()
    ours.train(), ref.train()
    rng = np.random.default_rng(1)
    L = max(lengths)
    mask = _mask(lengths, L, left)
    ids = rng.integers(1, TINY["vocab_size"], (len(lengths), L)) * mask
    types = rng.integers(0, 2, ids.shape) * mask
    w_h = rng.standard_normal(ids.shape + (TINY["hidden_size"],)) * mask[..., None]
    w_p = rng.standard_normal((len(lengths), TINY["hidden_size"])) * mask[:, :1]

    out = ours(ids, mask, types)
    (out.last_hidden_state * gk.from_numpy(w_h)).sum().add((out.pooler_output *
                                                            gk.from_numpy(w_p)).sum()).backward()
    t_out = ref(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types))
    ((t_out.last_hidden_state * torch.from_numpy(w_h)).sum()
     + (t_out.pooler_output * torch.from_numpy(w_p)).sum()).backward()

    real = mask.astype(bool)
    assert out.last_hidden_state.dtype == np.float64
    np.testing.assert_allclose(out.last_hidden_state.array[real],
                               _np(t_out.last_hidden_state)[real], atol=1e-10, rtol=0)
    # the pooler reads position 0: padding in a left-padded row (zeros here, arbitrary there)
    first = real[:, 0]
    np.testing.assert_allclose(out.pooler_output.array[first], _np(t_out.pooler_output)[first],
                               atol=1e-10, rtol=0)
    params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.array, _np(params[name].grad), atol=1e-10, rtol=0,
                                   err_msg=name)


def test_sentence_encoder_gradients_match_torch():
    """Mean pooling and L2 normalisation on top of BERT, differentiated as PyTorch does."""
    ours, ref = _tiny_pair()
    encoder = SentenceEncoder(ours)
    rng = np.random.default_rng(2)
    mask = _mask([9, 6, 3], 9)
    ids = rng.integers(1, TINY["vocab_size"], mask.shape) * mask
    w = rng.standard_normal((3, TINY["hidden_size"]))
    e = encoder(ids, mask)
    (e * gk.from_numpy(w)).sum().backward()
    h = ref(torch.from_numpy(ids), torch.from_numpy(mask)).last_hidden_state
    m = torch.from_numpy(mask)[..., None].double()
    t_e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=1)
    (t_e * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(e.array, _np(t_e), atol=1e-10, rtol=0)
    params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        if name.startswith("pooler."):  # the pooler does not take part in sentence embeddings
            continue
        np.testing.assert_allclose(p.grad.array, _np(params[name].grad), atol=1e-10, rtol=0,
                                   err_msg=name)


def test_bert_for_masked_lm_checkpoint_loads(tmp_path):
    """A BertForX folder: names under "bert.", a "cls." head to skip, no pooler."""
    torch.manual_seed(0)
    cfg = transformers.BertConfig(**TINY)
    mlm = transformers.BertForMaskedLM(cfg).eval()
    mlm.save_pretrained(tmp_path)
    ours = BertModel.from_pretrained(tmp_path)
    assert ours.pooler is None
    ids = np.array([[2, 7, 9, 11, 3]])
    with torch.no_grad():
        expected = mlm.bert(torch.from_numpy(ids)).last_hidden_state.numpy()
    np.testing.assert_allclose(ours(ids).last_hidden_state.array, expected, atol=1e-5)


# === the folder format ======================================================
def test_save_pretrained_round_trips_through_gradkit_and_transformers(encoder, tmp_path):
    encoder.save_pretrained(tmp_path)
    assert {"config.json", "model.safetensors", "tokenizer.json", "sentence_bert_config.json",
            "modules.json"} <= set(os.listdir(tmp_path))
    batch = encoder.tokenizer(SENTENCES[:6], padding=True, truncation=True, max_length=256,
                              return_tensors="np")
    mask = batch["attention_mask"].astype(bool)
    with gk.no_grad():
        before = encoder.bert(batch["input_ids"], batch["attention_mask"]).last_hidden_state.array
        again = BertModel.from_pretrained(tmp_path)
        after = again(batch["input_ids"], batch["attention_mask"]).last_hidden_state.array
    np.testing.assert_array_equal(after, before)
    assert again.tokenizer is not None
    reloaded = SentenceEncoder.from_pretrained(tmp_path)
    np.testing.assert_array_equal(reloaded.encode(SENTENCES[:6]), encoder.encode(SENTENCES[:6]))

    theirs = transformers.BertModel.from_pretrained(tmp_path, dtype=torch.float32).eval()
    with torch.no_grad():
        ref = theirs(**{k: torch.from_numpy(v) for k, v in batch.items()}).last_hidden_state
    np.testing.assert_allclose(before[mask], ref.numpy()[mask], atol=1e-4, rtol=0)


# === errors =================================================================
def test_missing_folder_config_and_weights(minilm_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        BertModel.from_pretrained(tmp_path / "nowhere")
    no_config = tmp_path / "no_config"
    no_config.mkdir()
    os.symlink(os.path.join(minilm_folder, "model.safetensors"), no_config / "model.safetensors")
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        BertModel.from_pretrained(no_config)
    no_weights = tmp_path / "no_weights"
    no_weights.mkdir()
    shutil.copy(os.path.join(minilm_folder, "config.json"), no_weights)
    with pytest.raises(FileNotFoundError, match="has no model.safetensors"):
        BertModel.from_pretrained(no_weights)


def test_truncated_weights_file(minilm_folder, tmp_path):
    shutil.copy(os.path.join(minilm_folder, "config.json"), tmp_path)
    with open(os.path.join(minilm_folder, "model.safetensors"), "rb") as f:
        data = f.read()
    (tmp_path / "model.safetensors").write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupted.*re-download"):
        BertModel.from_pretrained(tmp_path)


def test_config_that_does_not_fit_the_weights(minilm_folder, tmp_path):
    with open(os.path.join(minilm_folder, "config.json")) as f:
        cfg = json.load(f)
    cfg["intermediate_size"] = 1024
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    os.symlink(os.path.join(minilm_folder, "model.safetensors"), tmp_path / "model.safetensors")
    with pytest.raises(ValueError) as e:
        BertModel.from_pretrained(tmp_path)
    msg = str(e.value)
    assert "encoder.layer.0.intermediate.dense.weight: file (1536, 384), model (1024, 384)" in msg
    assert "config.json belongs to these weights" in msg


def test_unknown_activation_and_bad_inputs():
    with pytest.raises(ValueError, match="hidden_act='mish' is not supported.*'gelu'"):
        BertConfig(**dict(TINY, hidden_act="mish"))
    model = BertModel(BertConfig(**TINY))
    with pytest.raises(ValueError, match=r"token id 50 is outside the vocabulary \(vocab_size 50\)"
                                         ".*tokenizer probably does not belong to this model"):
        model(np.array([[1, 2, 50]]))
    with pytest.raises(ValueError, match=r"81 tokens, more than the 80 positions.*truncat"):
        model(np.ones((1, 81), np.int64))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        model(np.ones((2, 5), np.int64), np.ones((2, 4), np.int64))
