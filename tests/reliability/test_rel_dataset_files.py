"""Data set files (issue 15, defect 8): IDX headers whose dimensions overflow or number 255, and
an extracted CIFAR-10 folder with too few records, are refused with the file and the problem."""
import struct

import numpy as np
import pytest

import gradkit.datasets.cifar as cifar_module
from gradkit.datasets import CorruptFileError, cifar10
from gradkit.datasets.idx import read_idx


def _idx(path, dims, body=b"", type_byte=0x08):
    path.write_bytes(bytes([0, 0, type_byte, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
                     + body)
    return path


@pytest.mark.parametrize("dims,body", [
    ((2**16,) * 4, b""),                       # 2**64 values: wraps to 0 in int64
    ((2**32 - 1,) * 3, b"\0" * 16),             # 7.9e28 values
    ((2**16,) * 4, b"\0" * 5),
])
def test_idx_header_whose_dimensions_overflow_is_named(tmp_path, dims, body):
    p = _idx(tmp_path / "images-idx3-ubyte", dims, body)
    with pytest.raises(CorruptFileError) as e:
        read_idx(p)
    msg = str(e.value)
    assert "images-idx3-ubyte" in msg and "truncated" in msg and "download=True" in msg
    need = 4 + 4 * len(dims) + int(np.prod(dims, dtype=object))   # exact, not wrapped
    assert f"needs {need:,}" in msg, msg


def test_idx_header_declaring_255_dimensions_is_named(tmp_path):
    p = _idx(tmp_path / "odd-idx", (1,) * 255, b"\0")
    with pytest.raises(CorruptFileError) as e:
        read_idx(p)
    msg = str(e.value)
    assert "odd-idx" in msg and "255 dimensions" in msg and "download=True" in msg
    assert len(msg) < 600   # not 255 dimensions spelt out


def test_a_valid_idx_file_still_reads(tmp_path):
    p = _idx(tmp_path / "ok", (2, 3), bytes(range(6)))
    np.testing.assert_array_equal(read_idx(p), np.arange(6, dtype=np.uint8).reshape(2, 3))


# === CIFAR-10: every batch file holds 10,000 records ============================================
def _cifar_folder(root, n_records):
    folder = root / "cifar-10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    record = bytes([3]) + bytes(3072)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        (folder / name).write_bytes(record * n_records.get(name, 10))
    return folder


def test_cifar_folder_with_too_few_records_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar_module, "_RECORDS_PER_FILE", 10)   # the real files: 10,000
    _cifar_folder(tmp_path, {"data_batch_3.bin": 7})
    with pytest.raises(CorruptFileError) as e:
        cifar10("train", root=tmp_path)
    msg = str(e.value)
    assert "data_batch_3.bin" in msg and "7 records" in msg and "10 " in msg
    assert "download=True" in msg
    x, y = cifar10("test", root=tmp_path)   # the other split's files are whole
    assert x.shape == (10, 3, 32, 32)


def test_cifar_records_per_file_is_the_documented_10000():
    assert cifar_module._RECORDS_PER_FILE == 10_000
