"""Checkpoint reliability (issue 15): 0-d tensors, format sniffing, file modes, bfloat16 without a
prior ``import ml_dtypes``, orphan temporary files, crafted metadata, a missing parent folder."""
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import gradkit as gk
import gradkit.nn as nn
from gradkit.io import atomic_write_bytes


def _run(code):
    """Run ``code`` in a fresh interpreter (import order matters); returns its stdout."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


# === 0-d tensors ================================================================================
def test_zero_d_tensor_keeps_its_shape(tmp_path):
    p = tmp_path / "s.safetensors"
    gk.save({"a": gk.tensor(3.0), "n": gk.tensor(7)}, p)
    back = gk.load(p)
    assert back["a"].shape == () and back["a"].item() == 3.0
    assert back["n"].shape == () and back["n"].item() == 7


def test_batchnorm_model_reloads_its_own_checkpoint(tmp_path):
    gk.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m(gk.randn(8, 3))  # train mode: running stats and num_batches_tracked move
    p = tmp_path / "bn.safetensors"
    gk.save(m.state_dict(), p)
    m2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m2.load_state_dict(gk.load(p))
    assert m2[1].num_batches_tracked.shape == () and m2[1].num_batches_tracked.item() == 1
    np.testing.assert_array_equal(m2[1].running_mean.array, m[1].running_mean.array)
    m.eval(), m2.eval()
    x = gk.randn(5, 3)
    np.testing.assert_array_equal(m2(x).array, m(x).array)


# === safetensors first, pickle/zip sniffing only when that fails ================================
def _first_with(write, prefix, tries):
    """Write files with growing padding until one starts with ``prefix``; return its padding."""
    for n in tries:
        data = write(n)
        if data.startswith(prefix):
            return n
    raise AssertionError(f"no padding in {tries} gave a file starting with {prefix!r}")


def test_gradkit_file_whose_header_length_starts_with_0x80_loads(tmp_path):
    p = tmp_path / "m.safetensors"

    def write(n):
        gk.save({"w" * n: gk.arange(3.0)}, p)
        return p.read_bytes()

    n = _first_with(write, b"\x80", range(1, 400))   # header length ≡ 128 (mod 256)
    np.testing.assert_array_equal(gk.load(p)["w" * n].array, np.arange(3.0))


def test_torch_safetensors_file_whose_header_length_starts_with_0x80_loads(tmp_path):
    p = tmp_path / "t.safetensors"

    def write(n):
        safetensors.torch.save_file({"k" * n: torch.arange(4.0)}, p)
        return p.read_bytes()

    n = _first_with(write, b"\x80", range(1, 400))
    np.testing.assert_array_equal(gk.load(p)["k" * n].array, np.arange(4.0, dtype=np.float32))


def test_safetensors_file_whose_header_length_starts_with_PK_loads(tmp_path):
    p = tmp_path / "z.safetensors"

    def write(n):
        safetensors.numpy.save_file({"a": np.ones(2, np.float32)}, p, metadata={"pad": "x" * n})
        return p.read_bytes()

    _first_with(write, b"PK", range(19000, 19400))   # header length 0x4B50: "PK" little-endian
    np.testing.assert_array_equal(gk.load(p)["a"].array, np.ones(2, np.float32))


@pytest.mark.parametrize("zip_format", [True, False])
def test_pytorch_pickles_are_still_refused(tmp_path, zip_format):
    p = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, p, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(ValueError, match=r"model\.pt looks like a PyTorch pickle checkpoint"):
        gk.load(p)


# === file modes =================================================================================
@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _mode(p):
    return os.stat(p).st_mode & 0o777


@pytest.mark.parametrize("mask,expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_mode_open_would_give(tmp_path, umask, mask, expected):
    umask(mask)
    gk.save({"w": gk.ones(2)}, tmp_path / "c.safetensors")
    atomic_write_bytes(tmp_path / "out.json", b"{}\n")   # every CLI output goes through it
    assert _mode(tmp_path / "c.safetensors") == expected
    assert _mode(tmp_path / "out.json") == expected


def test_keras_file_gets_the_mode_open_would_give(tmp_path, umask):
    import gradkit.keras as keras
    from gradkit.keras import layers

    m = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    m.compile("sgd", "mse")
    m.save(tmp_path / "m.keras")
    assert _mode(tmp_path / "m.keras") == 0o644


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_overwriting_keeps_the_replaced_files_mode(tmp_path, umask, mask):
    umask(mask)
    p = tmp_path / "c.safetensors"
    p.write_bytes(b"old")
    os.chmod(p, 0o640)
    gk.save({"w": gk.ones(2)}, p)
    assert _mode(p) == 0o640
    np.testing.assert_array_equal(gk.load(p)["w"].array, np.ones(2))


# === bfloat16 in a fresh interpreter ============================================================
@pytest.fixture
def bf16_file(tmp_path):
    import ml_dtypes

    p = tmp_path / "bf16.safetensors"
    gk.save({"w": np.arange(4).astype(ml_dtypes.bfloat16)}, p)
    return p


def test_bfloat16_loads_without_importing_ml_dtypes_first(bf16_file):
    out = _run(f"import gradkit as gk; w = gk.load({str(bf16_file)!r})['w']; "
               "print(w.dtype, w.array.astype('float32').tolist())")
    assert out.split(None, 1) == ["bfloat16", "[0.0, 1.0, 2.0, 3.0]\n"]


def test_bfloat16_without_ml_dtypes_says_which_extra_to_install(bf16_file, tmp_path):
    f32 = tmp_path / "f32.safetensors"
    gk.save({"w": gk.ones(2)}, f32)
    out = _run("import sys; sys.modules['ml_dtypes'] = None\n"
               "import gradkit as gk\n"
               f"print(gk.load({str(f32)!r})['w'].shape)\n"    # other files need no ml_dtypes
               f"try:\n    gk.load({str(bf16_file)!r})\n"
               "except ImportError as e:\n    print(e)")
    first, second = out.splitlines()
    assert first == "(2,)"
    assert "bf16.safetensors" in second and "bfloat16" in second
    assert re.search(r"pip install (-e )?'[^']*\[bf16\]'", second) and "corrupted" not in second


# === orphan temporary files =====================================================================
def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temp_of_a_dead_writer_is_removed_on_the_next_save(tmp_path):
    p = tmp_path / "ckpt.safetensors"
    stale = tmp_path / f".ckpt.safetensors.{_dead_pid()}.1a2b3c4d.tmp"
    live = tmp_path / f".ckpt.safetensors.{os.getppid()}.5e6f7a8b.tmp"   # a writer still running
    other = tmp_path / f".other.safetensors.{_dead_pid()}.1a2b3c4d.tmp"  # another target's
    # the temp of target "ckpt.safetensors.5", whose writer runs: its "5" is not a pid
    sibling = tmp_path / f".ckpt.safetensors.5.{os.getppid()}.1a2b3c4d.tmp"
    for f in (stale, live, other, sibling):
        f.write_bytes(b"\0" * 1000)
    gk.save({"w": gk.ones(2)}, p)
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted(
        [p.name, live.name, other.name, sibling.name])


@pytest.mark.parametrize("exc", [OSError("disk died"), KeyboardInterrupt()])
def test_save_that_fails_midway_leaves_no_temp_and_the_old_file(tmp_path, monkeypatch, exc):
    p = tmp_path / "ckpt.safetensors"
    gk.save({"w": gk.ones(3)}, p)
    before = p.read_bytes()
    real_fdopen = os.fdopen

    class FailingFile:  # the first half of the bytes reaches the disk, then the write fails
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            raise exc

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: FailingFile(real_fdopen(*a, **k)))
    with pytest.raises(type(exc)):
        gk.save({"w": gk.zeros(1000)}, p)
    monkeypatch.undo()
    assert [f.name for f in tmp_path.iterdir()] == [p.name]
    assert p.read_bytes() == before


# === crafted files ==============================================================================
def _crafted(path, header, body=b""):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + body)


_F32 = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


@pytest.mark.parametrize("header,body", [
    (b'{"a": {"dtype": "F32", ', b""),                                             # bad JSON
    ({"a": {"dtype": "Q8", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),   # unknown dtype
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),  # shape vs bytes
    (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", b""),                    # deep header
    ({"__metadata__": {"gradkit": "{not json"}, **_F32}, b"\0" * 8),             # bad gradkit JSON
    ({"__metadata__": {"gradkit": "[" * 100_000 + "]" * 100_000}}, b""),         # deep gradkit JSON
    ({"__metadata__": {"gradkit": '{"__list__": [' * 900 + "]}" * 900}}, b""),   # deep structure
    ({"__metadata__": {"gradkit": '{"__tensor__": "missing"}'}}, b""),           # unknown tensor
    ({"__metadata__": {"gradkit": '{"__dict__": 3}'}}, b""),                     # malformed dict
    ({"__metadata__": {"gradkit": '{"__dict__": [[1]]}'}}, b""),                 # malformed item
])
def test_crafted_metadata_raises_value_error_naming_the_file(tmp_path, header, body):
    p = tmp_path / "crafted.safetensors"
    _crafted(p, header, body)
    with pytest.raises(ValueError, match=r"crafted\.safetensors"):
        gk.load(p)


def test_saving_into_a_missing_folder_names_the_folder(tmp_path):
    folder = tmp_path / "runs" / "exp1"
    with pytest.raises(FileNotFoundError) as e:
        gk.save({"w": gk.ones(2)}, folder / "m.safetensors")
    msg = str(e.value)
    assert str(folder) in msg and "create it" in msg and ".tmp" not in msg
    assert not (tmp_path / "runs").exists()
