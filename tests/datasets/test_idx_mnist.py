"""Fashion-MNIST and MNIST on the real files; IDX corruption of every kind is reported."""
import gzip
import hashlib
import shutil
import struct

import numpy as np
import pytest

import gradkit.datasets.idx as idx_module
from gradkit.data import TensorDataset, ToFloat
from gradkit.datasets import CorruptFileError, DatasetNotFoundError, fashion_mnist, mnist, read_idx

FASHION_CONTENT_MD5 = {  # of the decompressed files (shared/data/README.md)
    "train-images": "f4a8712d7a061bf5bd6d2ca38dc4d50a", "train-labels": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images": "8181f5470baa50b63fa0f6fddb340f0a", "t10k-labels": "15d484375f8d13e6eb1aabb0c3f46965",
}


def _idx_md5(array, magic):
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return hashlib.md5(header + array.astype(np.uint8).tobytes()).hexdigest()


def test_fashion_mnist_train(fashion_train_arrays):
    x, y = fashion_train_arrays
    assert x.shape == (60_000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60_000,) and y.dtype == np.int64
    assert y.min() == 0 and y.max() == 9 and np.bincount(y).tolist() == [6000] * 10
    assert y[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert _idx_md5(x, 0x803) == FASHION_CONTENT_MD5["train-images"]
    assert _idx_md5(y, 0x801) == FASHION_CONTENT_MD5["train-labels"]


def test_fashion_mnist_test(fashion_test):
    x, y = fashion_test
    assert x.shape == (10_000, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert y[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert np.bincount(y).tolist() == [1000] * 10
    assert _idx_md5(x, 0x803) == FASHION_CONTENT_MD5["t10k-images"]
    assert _idx_md5(y, 0x801) == FASHION_CONTENT_MD5["t10k-labels"]


@pytest.mark.data("fashion-mnist-apt")
def test_fashion_mnist_found_in_debian_folder_without_gradkit_data(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "empty"))
    _, y = fashion_mnist("test")
    assert y[:3].tolist() == [9, 2, 1]


@pytest.mark.data("mnist")
def test_mnist_test_split():
    x, y = mnist("test")
    assert x.shape == (10_000, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert _idx_md5(x, 0x803) == "2646ac647ad5339dbf082846283269ea"
    assert x.max() == 255 and x[0, 0, 0] == 0


def test_mnist_train_missing_without_download():
    with pytest.raises(DatasetNotFoundError, match=r"mnist\(split='train'\): file train-images-idx3-ubyte.gz .*not found"):
        mnist("train")


@pytest.mark.data("mnist")
def test_as_dataset_form(data_env):
    ds = mnist("test", as_dataset=True, transform=ToFloat())
    assert isinstance(ds, TensorDataset) and len(ds) == 10_000
    x0, y0 = ds[0]
    assert x0.dtype == np.float32 and x0.shape == (28, 28) and 0 <= x0.min() and x0.max() <= 1 and y0 == 7
    with pytest.raises(ValueError, match="pass as_dataset=True"):
        mnist("test", transform=ToFloat())
    with pytest.raises(ValueError, match=r"split='validation' is not one of 'train', 'test'"):
        mnist("validation")


# === corruption ===================================================================================

@pytest.fixture
def mnist_root(tmp_path, data_env):
    """root/mnist/ (searched before GRADKIT_DATA) and the shared MNIST test files' raw bytes."""
    folder = tmp_path / "root" / "mnist"
    folder.mkdir(parents=True)
    src = data_env / "mnist"
    raw = {n: gzip.decompress((src / f"t10k-{n}-ubyte.gz").read_bytes()) for n in ("images-idx3", "labels-idx1")}
    return folder, src, raw


@pytest.mark.data("mnist")
def test_corrupt_gzip_names_the_file(mnist_root):
    folder, src, _ = mnist_root
    data = bytearray((src / "t10k-labels-idx1-ubyte.gz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(data))
    shutil.copy(src / "t10k-images-idx3-ubyte.gz", folder)
    with pytest.raises(CorruptFileError, match=rf"{folder}/t10k-labels-idx1-ubyte.gz: corrupt gzip file .*download=True"):
        mnist("test", root=folder.parent)


@pytest.mark.data("mnist")
def test_truncated_gzip(mnist_root):
    folder, src, _ = mnist_root
    data = (src / "t10k-images-idx3-ubyte.gz").read_bytes()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match=r"t10k-images-idx3-ubyte.gz: corrupt gzip file"):
        mnist("test", root=folder.parent)


@pytest.mark.data("mnist")
def test_truncated_idx(mnist_root):
    folder, _, raw = mnist_root
    (folder / "t10k-images-idx3-ubyte").write_bytes(raw["images-idx3"][:-16])
    with pytest.raises(CorruptFileError, match=r"t10k-images-idx3-ubyte: truncated: 7,840,000 bytes, but the header "
                                               r"\(10000 x 28 x 28 uint8\) needs 7,840,016"):
        mnist("test", root=folder.parent)


@pytest.mark.data("mnist")
def test_wrong_magic_number(mnist_root):
    folder, _, raw = mnist_root
    (folder / "t10k-images-idx3-ubyte").write_bytes(b"\x12\x34\x08\x03" + raw["images-idx3"][4:])
    with pytest.raises(CorruptFileError, match=r"t10k-images-idx3-ubyte: not an IDX file: wrong magic number 0x12340803 \(expected 0x00000803"):
        mnist("test", root=folder.parent)
    (folder / "t10k-images-idx3-ubyte").write_bytes(raw["labels-idx1"])
    with pytest.raises(CorruptFileError, match=r"wrong magic number 0x00000801: a 1-D IDX file, expected 0x00000803 \(images\); is this the labels file"):
        mnist("test", root=folder.parent)


@pytest.mark.data("mnist")
def test_checksum_mismatch_on_a_well_formed_file(mnist_root):
    folder, _, raw = mnist_root
    data = bytearray(raw["images-idx3"])
    data[5000] ^= 1
    (folder / "t10k-images-idx3-ubyte").write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"t10k-images-idx3-ubyte: checksum mismatch: the decompressed content has MD5"):
        mnist("test", root=folder.parent)


def test_read_idx_other_types(tmp_path):
    values = np.array([[1, -2, 300], [4, 5, -32768]], dtype=">i2")
    p = tmp_path / "x.idx"
    p.write_bytes(b"\x00\x00\x0b\x02" + struct.pack(">II", 2, 3) + values.tobytes())
    out = read_idx(p, expected_ndim=2)
    assert out.dtype == np.int16 and out.dtype.isnative and out.tolist() == values.tolist()
    f = np.array([0.5, -1.25], dtype=">f8")
    p.write_bytes(gzip.compress(b"\x00\x00\x0e\x01" + struct.pack(">I", 2) + f.tobytes()))
    assert read_idx(p).tolist() == [0.5, -1.25]
    p.write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 3) + b"\x01\x02\x03\x04")
    with pytest.raises(CorruptFileError, match="longer than its header says"):
        read_idx(p)


@pytest.mark.data("mnist")
def test_download_true_fetches_into_cache(http_server, monkeypatch, tmp_path, data_env, cache):
    www, url = http_server
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(data_env / "mnist" / name, www / name)
    monkeypatch.setitem(idx_module._MNIST, "mirrors", [url + "missing/", url])
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "empty"))
    with pytest.raises(DatasetNotFoundError):
        mnist("test")
    x, y = mnist("test", download=True)
    assert y[:4].tolist() == [7, 2, 1, 0] and x.shape == (10_000, 28, 28)
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert mnist("test")[1][:4].tolist() == [7, 2, 1, 0]  # now found in the cache


def test_download_rejects_a_file_with_the_wrong_md5(http_server, monkeypatch, tmp_path, cache):
    www, url = http_server
    (www / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"not mnist"))
    monkeypatch.setitem(idx_module._MNIST, "mirrors", [url])
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "empty"))
    with pytest.raises(OSError, match="expected 9fb629c4189551a2d022fa330f9573f3"):
        mnist("test", download=True)
    assert not (cache / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
