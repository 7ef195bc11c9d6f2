"""CharTokenizer on the real tiny Shakespeare text; SequenceWindowDataset windows."""
import json

import numpy as np
import pytest

from gradkit.data import CharTokenizer, DataLoader, SequenceWindowDataset


@pytest.fixture
def shakespeare(data_env):
    return (data_env / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")


@pytest.mark.data("tinyshakespeare")
def test_char_tokenizer_on_tiny_shakespeare(shakespeare):
    tok = CharTokenizer(shakespeare)
    assert tok.vocab_size == 65 and tok.chars[:3] == "\n !" and tok.chars[-1] == "z"
    ids = tok.encode(shakespeare)
    assert ids.dtype == np.int64 and ids.shape == (1_115_394,)
    assert ids.min() == 0 and ids.max() == 64
    assert tok.decode(ids[:14]) == "First Citizen:"
    assert tok.decode(ids) == shakespeare
    assert tok.encode("First")[0] == tok.stoi["F"]
    again = CharTokenizer.from_state_dict(json.loads(json.dumps(tok.state_dict())))
    np.testing.assert_array_equal(again.encode("To be, or not"), tok.encode("To be, or not"))


def test_char_tokenizer_errors():
    tok = CharTokenizer("hello world")
    with pytest.raises(ValueError, match=r"character 'é' \(U\+00E9\) at position 6 is not in the vocabulary of 8 characters"):
        tok.encode("hello é")
    with pytest.raises(ValueError, match=r"id 8 at position 1 is outside \[0, 8\)"):
        tok.decode([0, 8])
    custom = CharTokenizer(chars="cab")
    np.testing.assert_array_equal(custom.encode("abc"), [1, 2, 0])
    with pytest.raises(ValueError, match="exactly one of"):
        CharTokenizer()


def test_sequence_windows_shift_by_one():
    data = np.arange(20, dtype=np.int64) * 10
    ds = SequenceWindowDataset(data, seq_len=5)
    assert len(ds) == 15  # windows start at 0..14 (14 + 5 = 19 is the last target)
    x, y = ds[3]
    np.testing.assert_array_equal(x, data[3:8])
    np.testing.assert_array_equal(y, data[4:9])
    bx, by = ds.get_batch(np.array([14, 0]))
    np.testing.assert_array_equal(bx[0], data[14:19])
    np.testing.assert_array_equal(by[0], data[15:20])
    np.testing.assert_array_equal(by[:, :-1], bx[:, 1:])
    strided = SequenceWindowDataset(data, seq_len=5, stride=5)
    assert len(strided) == 3 and strided[2][0][0] == 100
    with pytest.raises(IndexError):
        ds[15]
    with pytest.raises(ValueError, match=r"has 5 tokens; seq_len=5 needs at least 6"):
        SequenceWindowDataset(data[:5], seq_len=5)


@pytest.mark.data("tinyshakespeare")
def test_windows_through_the_loader_fast_path(shakespeare):
    tok = CharTokenizer(shakespeare)
    ds = SequenceWindowDataset(tok.encode(shakespeare[:5000]), seq_len=32, stride=32, tokenizer=tok)
    loader = DataLoader(ds, batch_size=16, shuffle=True, seed=0, as_numpy=True)
    xs, ys = zip(*loader)
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.shape == (len(ds), 32) and x.dtype == np.int64
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    assert sorted(tok.decode(r) for r in x) == sorted(shakespeare[32 * i:32 * i + 32] for i in range(len(ds)))
