"""gk.save / gk.load: safetensors, PyTorch interoperability, nested state, atomicity, corruption."""
import os

import ml_dtypes
import numpy as np
import pytest
import safetensors.torch
import torch

import gradkit as gk
import gradkit.nn as nn


class TNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 3)
        self.fc2 = torch.nn.Linear(3, 2)


class GNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.fc2 = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())


def test_pytorch_safetensors_file_loads_into_gradkit_and_back(tmp_path):
    t = TNet()
    safetensors.torch.save_file(t.state_dict(), tmp_path / "torch.safetensors")
    g = GNet()
    g.load_state_dict(gk.load(tmp_path / "torch.safetensors"))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(g(gk.tensor(x)).array,
                               t.fc2(torch.relu(t.fc1(torch.tensor(x)))).detach().numpy(), rtol=1e-5, atol=1e-6)
    # and the reverse: gradkit writes, PyTorch reads
    with gk.no_grad():
        g.fc1.weight.mul_(2)
    gk.save(g.state_dict(), tmp_path / "gk.safetensors")
    sd = safetensors.torch.load_file(tmp_path / "gk.safetensors")
    t2 = TNet()
    t2.load_state_dict(sd)
    np.testing.assert_array_equal(t2.fc1.weight.detach().numpy(), g.fc1.weight.array)


def test_nested_state_round_trip(tmp_path):
    state = {"state": {0: {"step": 3, "exp_avg": gk.ones(2), "flag": True},
                       1: {"step": 3, "exp_avg": gk.zeros(2, 2, dtype=gk.float64)}},
             "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "name": None}]}
    gk.save(state, tmp_path / "opt.safetensors")
    back = gk.load(tmp_path / "opt.safetensors")
    assert back["state"][0]["step"] == 3 and back["state"][0]["flag"] is True
    np.testing.assert_array_equal(back["state"][1]["exp_avg"].array, np.zeros((2, 2)))
    assert back["state"][1]["exp_avg"].dtype == gk.float64
    assert back["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["param_groups"][0]["params"] == [0, 1] and back["param_groups"][0]["name"] is None


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.int64, np.uint8, np.bool_])
def test_dtypes_round_trip(tmp_path, dtype):
    a = (np.arange(6).reshape(2, 3) % 2 == 0) if dtype is np.bool_ else np.arange(6).reshape(2, 3).astype(dtype)
    gk.save({"a": a}, tmp_path / "d.safetensors")
    b = gk.load(tmp_path / "d.safetensors")["a"].array
    assert b.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(b, a)


def test_truncated_and_corrupted_files_name_the_file(tmp_path):
    p = tmp_path / "m.safetensors"
    gk.save(GNet().state_dict(), p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 10])
    with pytest.raises(ValueError, match=r"m\.safetensors is not a valid safetensors file: it is truncated or corrupted"):
        gk.load(p)
    p.write_bytes(b"\xff" * 64)
    with pytest.raises(ValueError, match="truncated or corrupted"):
        gk.load(p)
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        gk.load(tmp_path / "nope.safetensors")


def test_pickle_checkpoint_is_refused_not_unpickled(tmp_path):
    p = tmp_path / "model.pt"
    torch.save(TNet().state_dict(), p)
    with pytest.raises(ValueError, match="never unpickles"):
        gk.load(p)


def test_crash_mid_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.safetensors"
    gk.save({"w": gk.ones(3)}, p)
    before = p.read_bytes()

    def boom(fd):
        raise OSError("disk died")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk died"):
        gk.save({"w": gk.zeros(1000)}, p)
    monkeypatch.undo()
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["ckpt.safetensors"]   # no temp file left behind
    np.testing.assert_array_equal(gk.load(p)["w"].array, np.ones(3))


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store a function"):
        gk.save({"f": lambda: 0}, tmp_path / "x.safetensors")
