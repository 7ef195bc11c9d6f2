"""Text corpora: tiny Shakespeare (character LM) and UCI Sentiment Labelled Sentences."""
import os
import tempfile
import zipfile

import numpy as np

from gradkit.data.split import train_test_split
from gradkit.data.text import CharTokenizer, SequenceWindowDataset

from ._common import arrays_or_dataset, check_split
from ._files import (CorruptFileError, DatasetNotFoundError, cache_dir, check_md5, download,
                     find_file, find_or_download, md5_hex, redownload_hint, search_dirs)

__all__ = ["tiny_shakespeare", "sentiment_sentences", "SENTIMENT_SOURCES"]


# === tiny Shakespeare =============================================================================

_SHAKESPEARE_URLS = ["https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"]
_SHAKESPEARE_MD5 = "6fb458f1232090904fb40fe944165e91"


def tiny_shakespeare(split="train", root=None, download=False, as_dataset=False, seq_len=128, stride=1):
    """Tiny Shakespeare: 1,115,394 characters (65 distinct) of Shakespeare's plays, for char-level LMs.

    Returns the text of ``split`` as a ``str``: ``"train"`` is the first 90% of the characters
    (``int(0.9 * N)`` = 1,003,854), ``"val"`` the last 10%, ``"all"`` everything (nanoGPT's
    ``shakespeare_char`` split). With ``as_dataset=True``: a ``SequenceWindowDataset`` of
    ``(x, y)`` int64 windows of ``seq_len`` over the split's ids, with ``.tokenizer`` a
    ``CharTokenizer`` built on the whole corpus (so train and val share ids).

    File: ``input.txt`` (UTF-8), MD5-checked, in ``root``, ``$GRADKIT_DATA/tinyshakespeare`` or
    ``~/.cache/gradkit/tinyshakespeare``; ``download=True`` fetches it (1.1 MB) from char-rnn.

    Source: Andrej Karpathy's char-rnn, https://github.com/karpathy/char-rnn (2015), a
    concatenation of works of Shakespeare; the text is in the public domain.
    """
    check_split("tiny_shakespeare", split, ("train", "val", "all"))
    path = find_or_download(f"tiny_shakespeare(split={split!r})", "tinyshakespeare", ["input.txt"], root=root,
                            download_ok=download, urls=_SHAKESPEARE_URLS, md5=_SHAKESPEARE_MD5, size_hint=" (1.1 MB)")
    raw = path.read_bytes()
    check_md5(path, _SHAKESPEARE_MD5, data=raw)
    text = raw.decode("utf-8")
    n = int(0.9 * len(text))
    part = {"train": text[:n], "val": text[n:], "all": text}[split]
    if not as_dataset:
        return part
    tokenizer = CharTokenizer(text)
    return SequenceWindowDataset(tokenizer.encode(part), seq_len, stride=stride, tokenizer=tokenizer)


# === Sentiment Labelled Sentences =================================================================

SENTIMENT_SOURCES = ("amazon", "imdb", "yelp")
_SENTIMENT_FILES = {  # file -> MD5, as in the UCI archive
    "amazon_cells_labelled.txt": "f737b1e64487b2d2518fcefdb0257e63",
    "imdb_labelled.txt": "02d251f3d90a581f072f23f96ef27818",
    "yelp_labelled.txt": "3a7fe2c38dc373d2ca8e687d6226a82e",
}
_SENTIMENT_URLS = [
    "https://archive.ics.uci.edu/static/public/331/sentiment+labelled+sentences.zip",
    "https://archive.ics.uci.edu/ml/machine-learning-databases/00331/sentiment%20labelled%20sentences.zip",
]


def _download_sentiment():
    """Fetch the UCI zip (no published MD5), extract the three files, verify each one's MD5."""
    folder = cache_dir() / "sentiment"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".sentiment.", suffix=".zip")
    os.close(fd)
    try:
        download(_SENTIMENT_URLS, tmp)
        with zipfile.ZipFile(tmp) as archive:
            # exact base names: skips the archive's __MACOSX/._* resource forks
            members = {os.path.basename(m): m for m in archive.namelist() if os.path.basename(m) in _SENTIMENT_FILES}
            missing = sorted(set(_SENTIMENT_FILES) - set(members))
            if missing:
                raise CorruptFileError(f"sentiment_sentences: the downloaded archive lacks {missing}")
            contents = {name: archive.read(members[name]) for name in _SENTIMENT_FILES}
    except zipfile.BadZipFile as e:
        raise CorruptFileError(f"sentiment_sentences: the downloaded archive is not a valid zip ({e})") from None
    finally:
        os.remove(tmp)
    for name, data in contents.items():
        if md5_hex(data) != _SENTIMENT_FILES[name]:
            raise CorruptFileError(f"sentiment_sentences: {name} in the downloaded archive has MD5 {md5_hex(data)}, expected {_SENTIMENT_FILES[name]}")
    for name, data in contents.items():  # each written whole, then renamed into place
        fd, part = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(part, folder / name)
    return folder


def _sentiment_folder(root, download_ok):
    dirs = search_dirs("sentiment", root)
    for d in dirs:
        if all((d / name).is_file() for name in _SENTIMENT_FILES):
            return d
    if download_ok:
        return _download_sentiment()
    first = find_file(list(_SENTIMENT_FILES), dirs)
    searched = "\n".join(f"  {d}" for d in dirs)
    raise DatasetNotFoundError(
        "sentiment_sentences: the files " + ", ".join(_SENTIMENT_FILES) + " were not all found "
        + (f"(only some, e.g. {first}) " if first else "") + f"in one folder. Searched:\n{searched}\n"
        f"Fix: pass download=True to fetch the UCI archive (84 KB) into {cache_dir() / 'sentiment'}, "
        f"or copy the three files into one of those folders, or set GRADKIT_DATA"
    )


def _parse_sentiment(path):
    raw = path.read_bytes()
    sentences, labels = [], []
    # split on "\n" only: imdb_labelled.txt holds U+0085 (NEL) inside sentences, which
    # str.splitlines() would treat as line breaks
    for number, line in enumerate(raw.decode("utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        sentence, sep, label = line.rpartition("\t")  # the last tab: a few sentences contain tabs
        if not sep or label.strip() not in ("0", "1"):
            raise CorruptFileError(f"{path}: line {number} is not 'sentence<TAB>0|1': {line[:60]!r}; {redownload_hint(path)}")
        sentences.append(sentence.strip())
        labels.append(int(label))
    check_md5(path, _SENTIMENT_FILES[path.name], data=raw)  # after parsing, whose errors are more specific
    return sentences, labels


def sentiment_sentences(split="train", root=None, download=False, as_dataset=False):
    """UCI Sentiment Labelled Sentences: 3,000 review sentences labelled negative (0) or positive (1).

    1,000 sentences each from Amazon (cell phones), IMDb and Yelp, 500 positive and 500 negative
    per site. Returns ``(sentences, labels)``: an object array of ``str`` and int64 ``(N,)``.
    The split is fixed and stratified by site and label: ``"train"`` 2,400 sentences (400 per
    site and label), ``"test"`` 600 (100 per site and label), ``"all"`` the 3,000 in file order
    (Amazon, IMDb, Yelp). ``as_dataset=True`` gives a ``TensorDataset(sentences, labels)``.

    Files: ``amazon_cells_labelled.txt``, ``imdb_labelled.txt``, ``yelp_labelled.txt`` (one
    ``sentence<TAB>label`` per line), each MD5-checked, in ``root``, ``$GRADKIT_DATA/sentiment`` or
    ``~/.cache/gradkit/sentiment``; ``download=True`` fetches the UCI archive and verifies each file.

    Source: UCI Machine Learning Repository, https://archive.ics.uci.edu/dataset/331 (CC BY 4.0).
    Citation: D. Kotzias, M. Denil, N. de Freitas, P. Smyth, "From Group to Individual Labels
    using Deep Features", KDD 2015.
    """
    check_split("sentiment_sentences", split, ("train", "test", "all"))
    folder = _sentiment_folder(root, download)
    sentences, labels, sources = [], [], []
    for k, name in enumerate(_SENTIMENT_FILES):
        s, y = _parse_sentiment(folder / name)
        sentences += s
        labels += y
        sources += [k] * len(s)
    x = np.empty(len(sentences), dtype=object)
    x[:] = sentences
    y = np.asarray(labels, dtype=np.int64)
    if split != "all":
        strata = 2 * np.asarray(sources) + y
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=strata, seed=0)
        x, y = (x_tr, y_tr) if split == "train" else (x_te, y_te)
    return arrays_or_dataset((x, y), as_dataset)

