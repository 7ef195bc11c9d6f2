"""Labelled sentences for text classification with a pretrained encoder (BERT, MiniLM).

    LabelledSentences   a TSV file, one ``text<TAB>label`` per line -> (text, label id) pairs
    SentenceCollator    a list of pairs -> a tokenized, padded batch (input_ids, attention_mask,
                        labels) for ``model(**batch)``

A line is split on its last tab, so a text may hold tabs itself (as a few lines of the UCI
sentiment files do). Labels are integers 0..K-1 as written, or names (``positive``), numbered
in sorted order; ``label_names`` keeps them, in a form a config's ``id2label`` takes.

>>> ds = LabelledSentences("train.tsv")
>>> loader = DataLoader(ds, batch_size=32, shuffle=True,
...                     collate_fn=SentenceCollator(tokenizer, max_length=128))
>>> for batch in loader:
...     loss = model(**batch).loss

The tokenizer is duck-typed (data sits below models): anything called as
``tokenizer(texts, padding=True, truncation=True, max_length=..., return_tensors="np")``.
"""
import os

import numpy as np

from .dataset import Dataset, _check_index
from .split import train_test_split

__all__ = ["LabelledSentences", "SentenceCollator"]


class LabelledSentences(Dataset):
    """(text, label id) pairs from a ``text<TAB>label`` file, or from ``texts`` and ``labels``
    given directly (``LabelledSentences(texts=[...], labels=[...])``)."""

    def __init__(self, path=None, texts=None, labels=None, label_names=None):
        if path is not None:
            texts, labels, self.sources = _read_tsv(path)
        else:
            if texts is None or labels is None:
                raise TypeError("LabelledSentences: give a TSV path, or texts= and labels=")
            self.sources = [f"<texts>:{i + 1}" for i in range(len(texts))]
        self.texts = [str(t) for t in texts]
        if label_names is None:
            names = [str(v) for v in labels]
            if all(n.lstrip("-").isdigit() for n in names):
                ids = [int(n) for n in names]
                bad = [n for n in ids if n < 0]
                if bad:
                    raise ValueError(f"LabelledSentences: label {bad[0]} is negative; class "
                                     "labels are 0, 1, ... (or names)")
                label_names = [str(i) for i in range(max(ids, default=-1) + 1)]
            else:
                label_names = sorted(set(names))
                ids = [label_names.index(n) for n in names]
        else:  # a str is a label's name, a number its id
            unknown = sorted({v for v in labels if isinstance(v, str) and v not in label_names})
            if unknown:
                raise ValueError(f"LabelledSentences: labels {unknown} are not among the label "
                                 f"names {list(label_names)}")
            ids = [label_names.index(v) if isinstance(v, str) else int(v) for v in labels]
        self.labels = np.asarray(ids, dtype=np.int64)
        self.label_names = list(label_names)
        if len(self.texts) != len(self.labels):
            raise ValueError(f"LabelledSentences: {len(self.texts)} texts but {len(self.labels)} "
                             "labels")

    @property
    def num_labels(self):
        return len(self.label_names)

    @property
    def id2label(self):
        return {i: n for i, n in enumerate(self.label_names)}

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, i):
        i = _check_index(i, len(self), "LabelledSentences")
        return self.texts[i], int(self.labels[i])

    def subset(self, index):
        """The examples at ``index``, as a LabelledSentences with the same label names."""
        out = LabelledSentences(texts=[self.texts[i] for i in index],
                                labels=[self.labels[i] for i in index],
                                label_names=self.label_names)
        out.sources = [self.sources[i] for i in index]
        return out

    def split(self, test_size, seed=0):
        """(train, test): a stratified split (each label keeps its proportion in both)."""
        index = np.arange(len(self))
        train, test = train_test_split(index, test_size=test_size, stratify=self.labels, seed=seed)
        return self.subset(np.sort(train)), self.subset(np.sort(test))


def _read_tsv(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"LabelledSentences: no such file: {path!r}; give a text file "
                                "with one 'sentence<TAB>label' per line")
    texts, labels, sources = [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            text, tab, label = line.rpartition("\t")
            if not tab or not text.strip() or not label.strip():
                raise ValueError(f"{path}:{lineno}: expected 'text<TAB>label', got "
                                 f"{line[:60]!r}; each line is a sentence, a tab, and its label")
            texts.append(text.strip())
            labels.append(label.strip())
            sources.append(f"{path}:{lineno}")
    if not texts:
        raise ValueError(f"{path}: no 'text<TAB>label' lines in the file")
    return texts, labels, sources


class SentenceCollator:
    """A list of (text, label) pairs -> ``{"input_ids", ["token_type_ids",] "attention_mask",
    "labels"}``: padded to the batch's longest text, texts cut at ``max_length`` tokens."""

    def __init__(self, tokenizer, max_length=128):
        self.tokenizer, self.max_length = tokenizer, int(max_length)

    def __call__(self, examples):
        texts = [t for t, _ in examples]
        batch = dict(self.tokenizer(texts, padding=True, truncation=True,
                                    max_length=self.max_length, return_tensors="np"))
        batch["labels"] = np.asarray([y for _, y in examples], dtype=np.int64)
        return batch
