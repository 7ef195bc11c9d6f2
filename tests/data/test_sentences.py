"""gradkit.data.sentences: LabelledSentences (``text<TAB>label`` files, label numbering, the
stratified split, errors) and SentenceCollator (with the real all-MiniLM-L6-v2 tokenizer)."""
import numpy as np
import pytest

from gradkit.data import DataLoader, LabelledSentences, SentenceCollator
from shared_files import SHARED_DATA


def _tsv(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


# === reading a TSV file ===========================================================================
def test_integer_labels_are_kept_as_ids_and_blank_lines_skipped(tmp_path):
    path = _tsv(tmp_path / "d.tsv", "good film\t1\n\n   \nbad film\t0\nok\t2\r\n")
    ds = LabelledSentences(path)
    assert len(ds) == 3
    assert ds.texts == ["good film", "bad film", "ok"]
    assert ds.labels.dtype == np.int64 and ds.labels.tolist() == [1, 0, 2]
    assert ds.label_names == ["0", "1", "2"] and ds.num_labels == 3
    assert ds.id2label == {0: "0", 1: "1", 2: "2"}
    assert ds[0] == ("good film", 1) and ds[-1] == ("ok", 2)
    assert ds.sources == [f"{path}:1", f"{path}:4", f"{path}:5"]   # the blank lines 2, 3 skipped


def test_a_gap_in_integer_labels_keeps_the_ids(tmp_path):
    ds = LabelledSentences(_tsv(tmp_path / "d.tsv", "a\t0\nb\t3\n"))
    assert ds.labels.tolist() == [0, 3] and ds.num_labels == 4


def test_name_labels_are_numbered_in_sorted_order(tmp_path):
    path = _tsv(tmp_path / "d.tsv",
                "great\tpositive\nawful\tnegative\nmeh\tneutral\nfine\tpositive\n")
    ds = LabelledSentences(path)
    assert ds.label_names == ["negative", "neutral", "positive"]
    assert ds.labels.tolist() == [2, 0, 1, 2]
    assert ds.id2label == {0: "negative", 1: "neutral", 2: "positive"} and ds.num_labels == 3


def test_a_line_is_split_on_its_last_tab(tmp_path):
    ds = LabelledSentences(_tsv(tmp_path / "d.tsv", "col one\tcol two\t1\nplain\t0\n"))
    assert ds.texts == ["col one\tcol two", "plain"] and ds.labels.tolist() == [1, 0]


def test_texts_and_labels_given_directly():
    ds = LabelledSentences(texts=["a", "b", "c"], labels=["spam", "ham", "spam"])
    assert ds.label_names == ["ham", "spam"] and ds.labels.tolist() == [1, 0, 1]
    assert ds.sources == ["<texts>:1", "<texts>:2", "<texts>:3"]
    ints = LabelledSentences(texts=["a", "b"], labels=[1, 0])
    assert ints.labels.tolist() == [1, 0] and ints.label_names == ["0", "1"]


def test_texts_without_labels_is_a_type_error():
    with pytest.raises(TypeError, match="give a TSV path, or texts= and labels="):
        LabelledSentences(texts=["a"])


def test_texts_and_labels_of_different_lengths():
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        LabelledSentences(texts=["a", "b", "c"], labels=[0, 1])


def test_index_out_of_range_names_the_dataset():
    ds = LabelledSentences(texts=["a", "b"], labels=[0, 1])
    with pytest.raises(IndexError, match="LabelledSentences"):
        ds[2]


# === subset and split =============================================================================
def test_subset_keeps_label_names_texts_and_sources(tmp_path):
    path = _tsv(tmp_path / "d.tsv", "a\tpos\nb\tneg\nc\tpos\nd\tneg\n")
    ds = LabelledSentences(path)
    sub = ds.subset([3, 0])
    assert isinstance(sub, LabelledSentences)
    assert sub.texts == ["d", "a"] and sub.labels.tolist() == [0, 1]
    assert sub.label_names == ["neg", "pos"] and sub.num_labels == 2
    assert sub.sources == [f"{path}:4", f"{path}:1"]


def test_subset_keeps_a_label_absent_from_it():
    ds = LabelledSentences(texts=["a", "b", "c"], labels=[0, 1, 2])
    sub = ds.subset([0])
    assert sub.num_labels == 3 and sub.label_names == ["0", "1", "2"]


def _imbalanced():
    # 60 of label 0, 30 of label 1, 10 of label 2
    labels = [0] * 60 + [1] * 30 + [2] * 10
    return LabelledSentences(texts=[f"sentence {i}" for i in range(100)], labels=labels)


def test_split_is_stratified_disjoint_and_covers_everything():
    ds = _imbalanced()
    train, test = ds.split(0.2, seed=3)
    assert (len(train), len(test)) == (80, 20)
    assert np.bincount(test.labels, minlength=3).tolist() == [12, 6, 2]
    assert np.bincount(train.labels, minlength=3).tolist() == [48, 24, 8]
    assert set(train.texts).isdisjoint(test.texts)
    assert sorted(train.texts + test.texts) == sorted(ds.texts)
    # each text keeps its own label
    truth = dict(zip(ds.texts, ds.labels.tolist()))
    assert all(truth[t] == y for t, y in zip(train.texts + test.texts,
                                            train.labels.tolist() + test.labels.tolist()))
    assert train.label_names == test.label_names == ["0", "1", "2"]


def test_split_with_name_labels_keeps_them():
    ds = LabelledSentences(texts=[f"t{i}" for i in range(20)],
                           labels=["pos", "neg"] * 10)
    train, test = ds.split(0.5, seed=0)
    assert train.label_names == test.label_names == ["neg", "pos"]
    truth = dict(zip(ds.texts, ds.labels.tolist()))
    assert [truth[t] for t in test.texts] == test.labels.tolist()
    assert np.bincount(test.labels).tolist() == [5, 5]


def test_same_seed_same_split_other_seed_other_split():
    ds = _imbalanced()
    a_train, a_test = ds.split(0.2, seed=7)
    b_train, b_test = ds.split(0.2, seed=7)
    assert a_test.texts == b_test.texts and a_train.texts == b_train.texts
    others = [ds.split(0.2, seed=s)[1].texts for s in (8, 9, 10)]
    assert any(o != a_test.texts for o in others)


def test_split_keeps_file_order_within_each_part(tmp_path):
    ds = _imbalanced()
    train, test = ds.split(0.3, seed=1)
    for part in (train, test):
        numbers = [int(t.split()[1]) for t in part.texts]
        assert numbers == sorted(numbers)


# === errors =======================================================================================
def test_missing_file_names_the_path_and_the_format(tmp_path):
    path = str(tmp_path / "nowhere.tsv")
    with pytest.raises(FileNotFoundError) as e:
        LabelledSentences(path)
    assert "nowhere.tsv" in str(e.value) and "sentence<TAB>label" in str(e.value)


def test_a_line_without_a_tab_names_the_file_and_line(tmp_path):
    path = _tsv(tmp_path / "d.tsv", "good\t1\n\nno tab on this line\n")
    with pytest.raises(ValueError) as e:
        LabelledSentences(path)
    assert f"{path}:3:" in str(e.value) and "text<TAB>label" in str(e.value)
    assert "no tab on this line" in str(e.value)


@pytest.mark.parametrize("line", ["\t1", "   \t1", "text\t", "text\t   "])
def test_an_empty_text_or_label_is_an_error(tmp_path, line):
    path = _tsv(tmp_path / "d.tsv", f"good\t1\n{line}\n")
    with pytest.raises(ValueError, match=rf"{tmp_path.name}.d\.tsv:2:"):
        LabelledSentences(path)


def test_a_negative_integer_label_is_refused(tmp_path):
    with pytest.raises(ValueError, match="label -1 is negative"):
        LabelledSentences(_tsv(tmp_path / "d.tsv", "good\t1\nbad\t-1\n"))


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_an_empty_file_is_an_error(tmp_path, text):
    path = _tsv(tmp_path / "d.tsv", text)
    with pytest.raises(ValueError, match="no 'text<TAB>label' lines") as e:
        LabelledSentences(path)
    assert path in str(e.value)


# === real data: the UCI sentiment sentences =======================================================
@pytest.mark.data("sentiment")
def test_the_yelp_sentences():
    ds = LabelledSentences(str(SHARED_DATA / "sentiment" / "yelp_labelled.txt"))
    assert len(ds) == 1000 and ds.label_names == ["0", "1"]
    assert np.bincount(ds.labels).tolist() == [500, 500]
    assert ds[0] == ("Wow... Loved this place.", 1) and ds[1] == ("Crust is not good.", 0)
    train, test = ds.split(0.2, seed=0)
    assert np.bincount(test.labels).tolist() == [100, 100]
    assert len(set(train.texts) | set(test.texts)) == len(set(ds.texts))


@pytest.mark.data("sentiment")
def test_imdb_trailing_spaces_are_stripped():
    ds = LabelledSentences(str(SHARED_DATA / "sentiment" / "imdb_labelled.txt"))
    assert len(ds) == 1000
    assert ds.texts[0].startswith("A very, very, very slow-moving") and ds.labels[0] == 0
    assert not any(t != t.strip() for t in ds.texts)


# === SentenceCollator with the real tokenizer =====================================================
@pytest.fixture(scope="module")
def tokenizer(minilm_folder):   # tests/conftest.py marks every user 'data'
    from gradkit.models import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_folder)


def test_collator_pads_to_the_longest_and_keeps_labels_in_order(tokenizer):
    examples = [("hello world", 1), ("hi", 0), ("a much longer sentence than the others", 1)]
    batch = SentenceCollator(tokenizer, max_length=128)(examples)
    assert {"input_ids", "attention_mask", "labels"} <= set(batch)
    lengths = [len(tokenizer(t)["input_ids"]) for t, _ in examples]
    assert batch["input_ids"].shape == (3, max(lengths))
    assert batch["attention_mask"].sum(1).tolist() == lengths
    assert batch["labels"].dtype == np.int64 and batch["labels"].tolist() == [1, 0, 1]
    ids = batch["input_ids"]
    assert (ids[:, 0] == 101).all()                          # [CLS]
    for row, n in zip(ids, lengths):
        assert row[n - 1] == 102 and (row[n:] == tokenizer.pad_token_id).all()   # [SEP], pads
    if "token_type_ids" in batch:
        assert batch["token_type_ids"].shape == ids.shape and (batch["token_type_ids"] == 0).all()
    # the same ids as the tokenizer gives one text at a time
    assert ids[0, :lengths[0]].tolist() == tokenizer("hello world")["input_ids"]


def test_collator_cuts_at_max_length(tokenizer):
    long = " ".join(["word"] * 50)
    batch = SentenceCollator(tokenizer, max_length=8)([(long, 0), ("short", 1)])
    assert batch["input_ids"].shape == (2, 8)
    assert batch["attention_mask"][0].tolist() == [1] * 8
    assert batch["input_ids"][0, -1] == 102                   # still ends with [SEP]
    assert batch["labels"].tolist() == [0, 1]


def test_collator_with_a_dataloader_over_labelled_sentences(tokenizer, tmp_path):
    path = _tsv(tmp_path / "d.tsv", "great food\tpos\nterrible service\tneg\nok\tpos\n")
    ds = LabelledSentences(path)
    loader = DataLoader(ds, batch_size=2, collate_fn=SentenceCollator(tokenizer, max_length=16))
    batches = list(loader)
    assert len(batches) == 2
    assert batches[0]["labels"].tolist() == [1, 0] and batches[1]["labels"].tolist() == [1]
    assert batches[1]["input_ids"].shape[0] == 1


def test_subset_keeps_ids_when_a_name_is_a_digit_that_is_not_its_id():
    ds = LabelledSentences(texts=list("abcd"), labels=["1", "x", "x", "1"])
    assert ds.label_names == ["1", "x"] and ds.labels.tolist() == [0, 1, 1, 0]
    assert ds.subset(range(4)).labels.tolist() == [0, 1, 1, 0]
    train, test = ds.split(0.5, seed=0)
    assert sorted(train.labels.tolist()) == sorted(test.labels.tolist()) == [0, 1]
    with pytest.raises(ValueError, match=r"labels \['y'\] are not among the label names"):
        LabelledSentences(texts=["a"], labels=["y"], label_names=["1", "x"])
