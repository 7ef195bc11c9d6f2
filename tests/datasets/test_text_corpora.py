"""tiny Shakespeare and the UCI Sentiment Labelled Sentences, on the real files."""
import collections
import shutil
import zipfile

import numpy as np
import pytest

import gradkit.datasets.text as text_module
from gradkit.data import DataLoader, SequenceWindowDataset
from gradkit.datasets import CorruptFileError, DatasetNotFoundError, sentiment_sentences, tiny_shakespeare

SENTIMENT = ["amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"]


@pytest.mark.data("tinyshakespeare")
def test_tiny_shakespeare_splits():
    full = tiny_shakespeare("all")
    train, val = tiny_shakespeare("train"), tiny_shakespeare("val")
    assert len(full) == 1_115_394 and len(set(full)) == 65
    assert len(train) == 1_003_854 and len(val) == 111_540 and train + val == full
    assert full.startswith("First Citizen:\nBefore we proceed any further")


@pytest.mark.data("tinyshakespeare")
def test_tiny_shakespeare_dataset_form():
    ds = tiny_shakespeare("val", as_dataset=True, seq_len=64)
    assert isinstance(ds, SequenceWindowDataset) and len(ds) == 111_540 - 64
    assert ds.tokenizer.vocab_size == 65  # built on the whole corpus
    x, y = next(iter(DataLoader(ds, batch_size=4, as_numpy=True)))
    assert x.shape == (4, 64) and x.dtype == np.int64
    assert ds.tokenizer.decode(x[0]) == tiny_shakespeare("val")[:64]


@pytest.mark.data("tinyshakespeare")
def test_tiny_shakespeare_checksum(tmp_path, data_env):
    folder = tmp_path / "tinyshakespeare"
    folder.mkdir()
    (folder / "input.txt").write_text((data_env / "tinyshakespeare" / "input.txt").read_text()[:-1])
    with pytest.raises(CorruptFileError, match=r"input.txt: checksum mismatch.*expected 6fb458f1232090904fb40fe944165e91"):
        tiny_shakespeare(root=tmp_path)


@pytest.mark.data("sentiment")
def test_sentiment_all_parses_every_line():
    x, y = sentiment_sentences("all")
    assert x.shape == (3000,) and x.dtype == object and y.dtype == np.int64
    assert np.bincount(y).tolist() == [1500, 1500]
    for k in range(3):  # 500 + 500 per site, in file order
        assert np.bincount(y[1000 * k:1000 * (k + 1)]).tolist() == [500, 500]
    assert x[0] == "So there is no way for me to plug it in here in the US unless I go by a converter." and y[0] == 0
    assert x[2000] == "Wow... Loved this place." and y[2000] == 1
    # imdb sentences holding U+0085 stay whole (str.splitlines would cut them)
    assert sum("\x85" in s for s in x[1000:2000]) == 2
    assert all("\t" not in s for s in x)


@pytest.mark.data("sentiment")
def test_sentiment_fixed_stratified_split():
    xa, ya = sentiment_sentences("all")
    xtr, ytr = sentiment_sentences("train")
    xte, yte = sentiment_sentences("test")
    assert len(xtr) == 2400 and len(xte) == 600
    assert np.bincount(ytr).tolist() == [1200, 1200] and np.bincount(yte).tolist() == [300, 300]
    pairs = collections.Counter(zip(xa.tolist(), ya.tolist()))
    assert collections.Counter(zip(xtr.tolist(), ytr.tolist())) + collections.Counter(zip(xte.tolist(), yte.tolist())) == pairs
    site = {s: k for k in range(3) for s in xa[1000 * k:1000 * (k + 1)]}
    per_stratum = collections.Counter((site[s], int(l)) for s, l in zip(xte, yte))
    assert sorted(per_stratum.values()) == [100] * 6
    again, _ = sentiment_sentences("test")
    assert again.tolist() == xte.tolist()  # fixed, not drawn anew
    assert ytr[:5].tolist() == [1, 0, 1, 0, 0] and yte[:5].tolist() == [1, 1, 0, 0, 0]
    assert xte[0] == "Come hungry, leave happy and stuffed!"


@pytest.mark.data("sentiment")
def test_sentiment_missing_and_download(tmp_path, monkeypatch, http_server, data_env, cache):
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "empty"))
    with pytest.raises(DatasetNotFoundError, match="sentiment_sentences: the files amazon_cells_labelled.txt"):
        sentiment_sentences()
    www, url = http_server
    with zipfile.ZipFile(www / "s.zip", "w") as z:
        for name in SENTIMENT:
            z.write(data_env / "sentiment" / name, f"sentiment labelled sentences/{name}")
            z.writestr(f"__MACOSX/sentiment labelled sentences/._{name}", b"resource fork")
    monkeypatch.setattr(text_module, "_SENTIMENT_URLS", [url + "s.zip"])
    x, y = sentiment_sentences("all", download=True)
    assert len(x) == 3000
    assert sorted(p.name for p in (cache / "sentiment").iterdir()) == SENTIMENT  # zip removed, no junk


@pytest.mark.data("sentiment")
def test_sentiment_bad_line_and_checksum(tmp_path, data_env):
    folder = tmp_path / "sentiment"
    shutil.copytree(data_env / "sentiment", folder)
    (folder / "yelp_labelled.txt").write_text("Great food.\t1\nNo label here\n")
    with pytest.raises(CorruptFileError, match=r"yelp_labelled.txt: line 2 is not 'sentence<TAB>0\|1': 'No label here'"):
        sentiment_sentences(root=tmp_path)
    (folder / "yelp_labelled.txt").write_text("Great food.\t1\n")
    with pytest.raises(CorruptFileError, match="yelp_labelled.txt: checksum mismatch"):
        sentiment_sentences(root=tmp_path)


@pytest.mark.data("sentiment")
def test_sentiment_dataset_through_the_loader():
    ds = sentiment_sentences("test", as_dataset=True)
    x, y = next(iter(DataLoader(ds, batch_size=32, shuffle=True, seed=0)))
    assert isinstance(x, np.ndarray) and x.dtype == object and isinstance(x[0], str)  # text stays text
    assert y.numpy().dtype == np.int64 and len(y.numpy()) == 32  # labels become a gradkit Tensor
