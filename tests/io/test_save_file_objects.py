"""gk.save / gk.load given an open binary file or a BytesIO, as torch.save / torch.load take
(issue 14 item 5): the bytes are the same safetensors file a path gets."""
import io

import numpy as np
import pytest

import gradkit as gk
from gradkit import nn


def test_a_state_dict_round_trips_through_a_bytesio_and_an_open_file(tmp_path):
    gk.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    buf = io.BytesIO()
    gk.save(model.state_dict(), buf)
    path = tmp_path / "m.safetensors"
    gk.save(model.state_dict(), path)
    assert buf.getvalue()[:8] == path.read_bytes()[:8]  # a safetensors file either way (its
    # metadata's key order is the safetensors package's, not fixed)
    buf.seek(0)
    other = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    other.load_state_dict(gk.load(buf))
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.array, b.array)
        assert a.shape == b.shape, k                     # 0-d num_batches_tracked stays 0-d
    with open(path, "rb") as f:
        got = gk.load(f)
    assert list(got) == list(model.state_dict())
    with open(tmp_path / "o.safetensors", "wb") as f:
        gk.save({"x": gk.arange(5)}, f)
    np.testing.assert_array_equal(gk.load(tmp_path / "o.safetensors")["x"].array, np.arange(5))


def test_a_stream_not_rewound_or_not_safetensors_is_named():
    buf = io.BytesIO()
    gk.save({"w": gk.ones(2)}, buf)                       # position at the end: nothing to read
    with pytest.raises(ValueError, match=r"BytesIO does not hold a safetensors file.*seek\(0\)"):
        gk.load(buf)
    with pytest.raises(ValueError, match="PyTorch pickle checkpoint"):
        gk.load(io.BytesIO(b"\x80\x04\x95" + b"\x00" * 20))
    data = io.BytesIO()
    gk.save({"w": gk.ones(100)}, data)
    with pytest.raises(ValueError, match="not a valid safetensors file|does not hold"):
        gk.load(io.BytesIO(data.getvalue()[:-50]))       # truncated body


def test_a_text_mode_file_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    gk.save({"w": gk.ones(2)}, path)
    with open(path, encoding="latin-1") as f:
        with pytest.raises(TypeError, match="text mode; open it with 'rb'"):
            gk.load(f)
