"""BertForSequenceClassification against transformers': a tiny random BERT in float64 (logits,
each problem_type's loss, every gradient), all-MiniLM-L6-v2 with a fresh head on real text, the
folder format both ways, and the errors a user can meet."""
import warnings

import numpy as np
import pytest

import gradkit as gk
from gradkit.models import (AutoModelForSequenceClassification, BertConfig,
                            BertForSequenceClassification, BertModel)
from gradkit.peft import LoraConfig, get_peft_model

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

# the sizes of TINY_BERT (tests/peft/tiny_configs.py), without dropout so that train mode is
# deterministic
TINY = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=32, max_position_embeddings=32, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0)
SENTENCES = ["A man is eating food.", "The movie was a waste of two hours.",
             "Photosynthesis turns sunlight, water and carbon dioxide into sugar."]


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t.array)


def _tiny_pair(**overrides):
    """The same random weights in gradkit and transformers, float64, train mode."""
    cfg = dict(TINY, **overrides)
    torch.manual_seed(0)
    ref = transformers.BertForSequenceClassification(
        transformers.BertConfig(**cfg, attn_implementation="eager")).double().train()
    ours = BertForSequenceClassification(BertConfig(**cfg)).to(gk.float64).train()
    ours.load_state_dict({k: gk.from_numpy(v.numpy()) for k, v in ref.state_dict().items()})
    return ours, ref


def _batch(n=4, L=9, seed=1):
    rng = np.random.default_rng(seed)
    mask = (np.arange(L)[None] < rng.integers(2, L + 1, n)[:, None]).astype(np.int64)
    mask[0] = 1  # one row without padding
    ids = rng.integers(1, TINY["vocab_size"], (n, L)) * mask
    types = rng.integers(0, 2, (n, L)) * mask
    return ids, mask, types


def _check_parity(ours, ref, labels, problem_type):
    ids, mask, types = _batch(n=len(labels))
    out = ours(ids, mask, types, labels=labels)
    out.loss.backward()
    t_out = ref(*(torch.from_numpy(a) for a in (ids, mask, types)),
                labels=torch.from_numpy(labels))
    t_out.loss.backward()
    assert ref.config.problem_type == problem_type  # transformers chose the same loss
    assert out.logits.dtype == np.float64 and out.logits.shape == (len(labels), ours.num_labels)
    assert out[0] is out.loss and out[1] is out.logits
    np.testing.assert_allclose(out.logits.array, _np(t_out.logits), atol=1e-10, rtol=0)
    np.testing.assert_allclose(out.loss.array, _np(t_out.loss), atol=1e-10, rtol=0)
    params = dict(ref.named_parameters())
    grads = {name: p.grad for name, p in ours.named_parameters()}
    assert set(grads) == set(params)
    for name, g in grads.items():
        np.testing.assert_allclose(g.array, _np(params[name].grad), atol=1e-9, rtol=0,
                                   err_msg=name)


# === a tiny random BERT in float64: logits, losses and every gradient ======
def test_single_label_matches_transformers():
    ours, ref = _tiny_pair(num_labels=3)
    labels = np.array([2, 0, -100, 1])  # -100: ignored, as by transformers' CrossEntropyLoss
    _check_parity(ours, ref, labels, "single_label_classification")


def test_regression_matches_transformers():
    ours, ref = _tiny_pair(num_labels=1)
    _check_parity(ours, ref, np.array([0.3, -1.2, 2.0, 0.7]), "regression")


def test_multi_label_matches_transformers():
    ours, ref = _tiny_pair(num_labels=3)
    labels = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]], np.float64)
    _check_parity(ours, ref, labels, "multi_label_classification")


def test_gradient_checkpointing_reaches_the_encoder():
    ours, _ = _tiny_pair(num_labels=3)
    ids, mask, types = _batch()
    labels = np.array([0, 1, 2, 1])
    ours(ids, mask, types, labels=labels).loss.backward()
    plain = {n: p.grad.array.copy() for n, p in ours.named_parameters()}
    ours.zero_grad()
    ours.gradient_checkpointing_enable()
    assert ours.bert.encoder.gradient_checkpointing and ours.is_gradient_checkpointing
    ours(ids, mask, types, labels=labels).loss.backward()
    for n, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.array, plain[n], atol=1e-12, rtol=0, err_msg=n)
    ours.gradient_checkpointing_disable()
    assert not ours.bert.encoder.gradient_checkpointing


def test_peft_seq_cls_trains_the_classifier_head():
    model = BertForSequenceClassification(BertConfig(**TINY, num_labels=3))
    peft_model = get_peft_model(model, LoraConfig(r=4, task_type="SEQ_CLS"))
    assert peft_model.peft_config["default"].modules_to_save == ["classifier"]
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert any("classifier" in n for n in trainable) and any("lora_A" in n for n in trainable)
    assert not any("bert.embeddings" in n for n in trainable)


def test_labels_in_the_config():
    assert BertConfig().num_labels == 2 and BertConfig().id2label == {0: "LABEL_0", 1: "LABEL_1"}
    cfg = BertConfig(id2label={"0": "neg", "1": "neu", "2": "pos"})  # config.json's str keys
    assert cfg.num_labels == 3 and cfg.id2label[2] == "pos" and cfg.label2id["neu"] == 1
    again = BertConfig.from_dict(cfg.to_dict())
    assert again.id2label == cfg.id2label and again.label2id == cfg.label2id
    # num_labels, when it disagrees with id2label, wins (transformers does the same)
    assert BertConfig(id2label={0: "a", 1: "b"}, num_labels=4).id2label[3] == "LABEL_3"


# === all-MiniLM-L6-v2 with a fresh head, on real text =======================
@pytest.fixture(scope="module")
def classifier(minilm_folder):
    with pytest.warns(UserWarning) as record:
        model = BertForSequenceClassification.from_pretrained(minilm_folder, num_labels=2)
    return model, [str(w.message) for w in record]


def _tokens(model):
    return model.tokenizer(SENTENCES, padding=True, return_tensors="np")


def _transformers_logits(ref, batch):
    with torch.no_grad():
        return ref(**{k: torch.from_numpy(v) for k, v in batch.items()}).logits.numpy()


def test_minilm_fresh_head_warns_and_matches_transformers(classifier, minilm_folder):
    model, messages = classifier
    fresh = [m for m in messages if "newly initialized" in m]
    assert len(fresh) == 1 and "['classifier.weight', 'classifier.bias']" in fresh[0]
    assert "TRAIN this model" in fresh[0] and "pooler" not in fresh[0]  # the file has a pooler
    assert model.training is False and model.classifier.weight.dtype == np.float32
    w = model.classifier.weight.array
    assert w.shape == (2, 384) and 0.01 < w.std() < 0.03 and not model.classifier.bias.array.any()

    ref = transformers.BertForSequenceClassification.from_pretrained(
        minilm_folder, num_labels=2, dtype=torch.float32).eval()
    with torch.no_grad():
        ref.classifier.weight.copy_(torch.from_numpy(w))
        ref.classifier.bias.copy_(torch.from_numpy(model.classifier.bias.array))
    batch = _tokens(model)
    assert batch["attention_mask"].min() == 0  # padded
    with gk.no_grad():
        logits = model(**batch).logits.array
    assert logits.shape == (3, 2)
    np.testing.assert_allclose(logits, _transformers_logits(ref, batch), atol=1e-4, rtol=0)


# === the folder format ======================================================
def test_save_pretrained_round_trips_through_transformers_and_gradkit(minilm_folder, tmp_path):
    labels = {0: "negative", 1: "neutral", 2: "positive"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fresh head, checked above
        model = BertForSequenceClassification.from_pretrained(minilm_folder, id2label=labels)
    assert model.num_labels == 3 and model.config.label2id["positive"] == 2
    gk.manual_seed(3)  # a head far from zero, so that a head lost on the way shows
    gk.nn.init.normal_(model.classifier.weight, 0.0, 1.0)
    gk.nn.init.normal_(model.classifier.bias, 0.0, 1.0)
    model.save_pretrained(tmp_path)
    batch = _tokens(model)
    with gk.no_grad():
        before = model(**batch).logits.array

    theirs, info = transformers.BertForSequenceClassification.from_pretrained(
        tmp_path, dtype=torch.float32, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert theirs.config.id2label == labels and theirs.config.architectures == [
        "BertForSequenceClassification"]
    np.testing.assert_allclose(before, _transformers_logits(theirs.eval(), batch), atol=1e-5,
                               rtol=0)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every weight is in the folder: no warning
        again = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert isinstance(again, BertForSequenceClassification) and again.tokenizer is not None
    assert again.config.id2label == labels
    with gk.no_grad():
        np.testing.assert_array_equal(again(**batch).logits.array, before)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the classifier head is skipped silently
            encoder = BertModel.from_pretrained(tmp_path)
        np.testing.assert_array_equal(encoder(**batch).pooler_output.array,
                                      model.bert(**batch).pooler_output.array)


def test_masked_lm_checkpoint_gets_a_fresh_pooler(tmp_path):
    """A BertForMaskedLM folder has no pooler: transformers initialises it afresh, as here."""
    torch.manual_seed(0)
    mlm = transformers.BertForMaskedLM(transformers.BertConfig(**TINY)).eval()
    mlm.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match=r"newly initialized: \['bert.pooler.dense.weight', "
                                         r"'bert.pooler.dense.bias', 'classifier.weight', "
                                         r"'classifier.bias'\]"):
        ours = BertForSequenceClassification.from_pretrained(tmp_path)
    assert not ours.bert.pooler.dense.bias.array.any()
    ids = np.array([[2, 7, 9, 11, 3]])
    with torch.no_grad():
        expected = mlm.bert(torch.from_numpy(ids)).last_hidden_state.numpy()
    with gk.no_grad():
        got = ours.bert(ids).last_hidden_state.array
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


# === errors =================================================================
def test_labels_of_the_wrong_shape_or_range():
    model = BertForSequenceClassification(BertConfig(**TINY, num_labels=3))
    ids = np.array([[2, 7, 9], [4, 5, 0]])
    with pytest.raises(ValueError, match=r"integer class indices of shape \(2,\).*shape \(2, 1\)"):
        model(ids, labels=np.array([[0], [1]]))
    with pytest.raises(ValueError, match=r"label 3 is out of range for num_labels=3.*0\.\.2"):
        model(ids, labels=np.array([0, 3]))
    with pytest.raises(ValueError, match=r"label -1 is out of range"):
        model(ids, labels=np.array([-1, 0]))
    with pytest.raises(ValueError, match=r"multi_label_classification labels must have shape "
                                         r"\(2, 3\) \(num_labels=3\); got \(2,\)"):
        model(ids, labels=np.array([0.0, 1.0]))
    regressor = BertForSequenceClassification(BertConfig(**TINY, num_labels=1))
    with pytest.raises(ValueError, match=r"regression labels must have shape \(2, 1\) or \(2,\)"):
        regressor(ids, labels=np.zeros(3))
    with pytest.raises(ValueError, match="num_labels must be at least 1"):
        BertConfig(**TINY, num_labels=0)
    with pytest.raises(ValueError, match="problem_type='binary' is not one of"):
        BertConfig(**TINY, problem_type="binary")


def test_from_pretrained_rejects_unknown_settings(minilm_folder):
    with pytest.raises(TypeError, match="unexpected keyword arguments num_label;"):
        BertForSequenceClassification.from_pretrained(minilm_folder, num_label=3)
