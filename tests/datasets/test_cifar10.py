"""CIFAR-10 binary version: records written here in the exact format, folder and archive forms."""
import hashlib
import io
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

import gradkit.datasets.cifar as cifar_module
from gradkit.datasets import CorruptFileError, DatasetNotFoundError, cifar10

FILES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


@pytest.fixture(autouse=True)
def _three_records_per_file(monkeypatch):
    """The files written here hold 3 records; the real ones 10,000 (checked in a folder)."""
    monkeypatch.setattr(cifar_module, "_RECORDS_PER_FILE", 3)


def _records(file_index, n=3):
    """n records: label (file_index + k) % 10; R plane = label, G = row, B = column + 100*k."""
    out, images, labels = bytearray(), [], []
    for k in range(n):
        label = (file_index + k) % 10
        img = np.empty((3, 32, 32), np.uint8)
        img[0] = label
        img[1] = np.arange(32)[:, None]
        img[2] = (np.arange(32)[None, :] + 100 * k) % 256
        out += bytes([label]) + img.tobytes()
        images.append(img)
        labels.append(label)
    return bytes(out), np.stack(images), np.array(labels)


def _write_folder(base):
    folder = base / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    expected = {}
    for i, name in enumerate(FILES):
        data, images, labels = _records(i)
        (folder / name).write_bytes(data)
        expected[name] = (images, labels)
    return folder, expected


def _archive(tmp_path):
    src, expected = _write_folder(tmp_path / "src")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-bin")
        junk = tarfile.TarInfo("cifar-10-batches-bin/readme.html")
        junk.size = 5
        tar.addfile(junk, io.BytesIO(b"hello"))
    return buf.getvalue(), expected


def test_reads_extracted_binary_batches(tmp_path):
    _, expected = _write_folder(tmp_path / "root" / "cifar-10")
    x, y = cifar10("train", root=tmp_path / "root")
    assert x.shape == (15, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.concatenate([expected[f][1] for f in FILES[:5]]))
    np.testing.assert_array_equal(x, np.concatenate([expected[f][0] for f in FILES[:5]]))
    # channel-first layout from the record: R plane, then G (rows), then B (columns)
    assert x[4, 0, 5, 5] == y[4] and x[4, 1, 7, 0] == 7 and x[4, 2, 0, 9] == 109
    xt, yt = cifar10("test", root=tmp_path / "root")
    assert yt.tolist() == [5, 6, 7] and xt.shape == (3, 3, 32, 32)


def test_truncated_record_and_bad_label(tmp_path):
    folder, _ = _write_folder(tmp_path / "root" / "cifar-10")
    data = (folder / "test_batch.bin").read_bytes()
    (folder / "test_batch.bin").write_bytes(data[:-100])
    with pytest.raises(CorruptFileError, match=r"test_batch.bin: 9,119 bytes is not a whole number of 3,073-byte records"):
        cifar10("test", root=tmp_path / "root")
    (folder / "test_batch.bin").write_bytes(bytes([42]) + data[1:])
    with pytest.raises(CorruptFileError, match="record 0 has label 42; CIFAR-10 labels are 0..9"):
        cifar10("test", root=tmp_path / "root")


def test_reads_members_from_the_verified_archive(tmp_path, monkeypatch):
    archive, expected = _archive(tmp_path)
    folder = tmp_path / "root" / "cifar-10"
    folder.mkdir(parents=True)
    (folder / "cifar-10-binary.tar.gz").write_bytes(archive)
    with pytest.raises(CorruptFileError, match=r"cifar-10-binary.tar.gz: checksum mismatch: the archive has MD5 [0-9a-f]+, expected c32a1d4ab5d03f1284b67883e8d87530"):
        cifar10("test", root=tmp_path / "root")
    monkeypatch.setattr(cifar_module, "_MD5", hashlib.md5(archive).hexdigest())
    x, y = cifar10("test", root=tmp_path / "root")
    np.testing.assert_array_equal(x, expected["test_batch.bin"][0])
    assert not (folder / "cifar-10-batches-bin").exists()  # read in memory, nothing extracted


def test_download_true_fetches_and_verifies_the_archive(tmp_path, monkeypatch, http_server, cache):
    www, url = http_server
    archive, expected = _archive(tmp_path)
    (www / "cifar-10-binary.tar.gz").write_bytes(archive)
    monkeypatch.setattr(cifar_module, "_URLS", [url + "cifar-10-binary.tar.gz"])
    with pytest.raises(DatasetNotFoundError, match=r"cifar10\(split='train'\): file cifar-10-binary.tar.gz not found"):
        cifar10("train")
    with pytest.raises(OSError, match="expected c32a1d4ab5d03f1284b67883e8d87530"):
        cifar10("train", download=True)  # the real archive's MD5: our test archive is rejected
    monkeypatch.setattr(cifar_module, "_MD5", hashlib.md5(archive).hexdigest())
    x, y = cifar10("train", download=True)
    assert x.shape == (15, 3, 32, 32) and (cache / "cifar-10" / "cifar-10-binary.tar.gz").is_file()
    np.testing.assert_array_equal(y[:3], expected["data_batch_1.bin"][1])


def test_no_loader_ever_unpickles():
    src = Path(cifar_module.__file__).parent
    for path in src.glob("*.py"):
        code = path.read_text()
        assert not re.search(r"^\s*(import pickle|from pickle|import cPickle)", code, re.M), path
        assert "allow_pickle=True" not in code and "pickle.load" not in code, path
