"""MNIST and Fashion-MNIST, read from their IDX files with NumPy (module named after the format,
not after `mnist`, which is the loader function).

The IDX format (LeCun et al.): a big-endian header, then the raw values.

    bytes 0-1   0x0000
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d (images: 3, labels: 1)
    4 * d       each dimension's size, uint32 big-endian
    then        prod(dims) values, C order

So images start with the magic number 0x00000803, labels with 0x00000801. Files may be gzipped
(detected from the gzip magic bytes 1f 8b, not from the name). Every file is checked: gzip CRC,
magic number, size against the header, and the MD5 of the decompressed bytes.
"""
import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from gradkit.data.checks import check_labels

from ._common import arrays_or_dataset, check_split
from ._files import CorruptFileError, check_md5, find_or_download, redownload_hint

__all__ = ["read_idx", "mnist", "fashion_mnist", "FASHION_MNIST_CLASSES"]

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MAX_NDIM = 32   # NumPy 1's limit on an array's dimensions (NumPy 2's: 64)

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")


def read_bytes(path):
    """The file's bytes, gunzipped if it starts with the gzip magic; corrupt gzip raises."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; a cut file is EOFError
        raise CorruptFileError(f"{path}: corrupt gzip file ({e}); {redownload_hint(path)}") from None


def parse_idx(raw, path, expected_ndim=None):
    """IDX bytes -> array (native byte order). ``path`` is only for messages."""
    what = {1: "labels", 3: "images"}.get(expected_ndim, f"{expected_ndim}-D")
    want = f"0x0000080{expected_ndim}" if expected_ndim else "0x000008NN"
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        magic = "0x" + raw[:4].hex() if len(raw) >= 4 else f"{len(raw)} bytes"
        raise CorruptFileError(
            f"{path}: not an IDX file: wrong magic number {magic} (expected {want} for {what}: "
            f"two zero bytes, a type byte 08-0E, the number of dimensions); {redownload_hint(path)}"
        )
    dtype, ndim = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    if expected_ndim is not None and ndim != expected_ndim:
        raise CorruptFileError(
            f"{path}: wrong magic number 0x{raw[:4].hex()}: a {ndim}-D IDX file, expected {want} "
            f"({what}); is this the {'labels' if ndim == 1 else 'images'} file under the wrong name?"
        )
    if ndim > _MAX_NDIM:
        raise CorruptFileError(
            f"{path}: corrupted IDX header: it declares {ndim} dimensions (byte 3); MNIST's files "
            f"have 1 (labels) or 3 (images), and gradkit reads at most {_MAX_NDIM}; {redownload_hint(path)}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptFileError(f"{path}: truncated IDX header ({len(raw)} bytes, needs {header}); {redownload_hint(path)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    need = header + math.prod(shape) * dtype.itemsize  # Python ints: np.prod would wrap at 2**63
    if len(raw) != need:
        dims = " x ".join(map(str, shape))
        state = "truncated" if len(raw) < need else "longer than its header says"
        raise CorruptFileError(
            f"{path}: {state}: {len(raw):,} bytes, but the header ({dims} {dtype.name}) needs "
            f"{need:,}; {redownload_hint(path)}"
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)  # writable, native order


def read_idx(path, expected_ndim=None, md5=None):
    """Read an IDX file (gzipped or raw) into a NumPy array, checking it on the way.

    ``expected_ndim``: 3 for images, 1 for labels (checks the magic number). ``md5``: expected
    MD5 of the *decompressed* bytes, checked after the format checks.
    """
    raw = read_bytes(path)
    array = parse_idx(raw, path, expected_ndim)
    if md5 is not None:
        check_md5(path, md5, data=raw, what="decompressed content")
    return array


# === the two data sets ============================================================================
# Each file: (name without .gz, MD5 of the official .gz, MD5 of the decompressed IDX bytes).

_MNIST = {
    "folder": "mnist",
    "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "http://yann.lecun.com/exdb/mnist/"],
    "system_dirs": (),
    "train": (("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"),
              ("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624")),
    "test": (("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"),
             ("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637")),
    "sizes": {"train-images-idx3-ubyte": " (9.9 MB)", "train-labels-idx1-ubyte": " (29 KB)",
              "t10k-images-idx3-ubyte": " (1.6 MB)", "t10k-labels-idx1-ubyte": " (5 KB)"},
}

_FASHION = {
    "folder": "fashion-mnist",
    "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"],
    # Debian's dataset-fashion-mnist; its .gz files are recompressed, so only the content MD5 matches
    "system_dirs": ("/usr/share/datasets/fashion-mnist",),
    "train": (("train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
              ("train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9")),
    "test": (("t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"),
             ("t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965")),
    "sizes": {"train-images-idx3-ubyte": " (26 MB)", "train-labels-idx1-ubyte": " (29 KB)",
              "t10k-images-idx3-ubyte": " (4.3 MB)", "t10k-labels-idx1-ubyte": " (5 KB)"},
}


def _load_idx_pair(spec, where, split, root, download):
    arrays = []
    for (name, gz_md5, raw_md5), ndim in zip(spec[split], (3, 1)):
        path = find_or_download(
            where, spec["folder"], [name + ".gz", name], root=root, download_ok=download,
            urls=[m + name + ".gz" for m in spec["mirrors"]], md5=gz_md5,
            system_dirs=spec["system_dirs"], size_hint=spec["sizes"][name],
        )
        arrays.append(read_idx(path, expected_ndim=ndim, md5=raw_md5))
    images, labels = arrays
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise CorruptFileError(f"{where}: images {images.shape} and labels {labels.shape} do not match (expected (N, 28, 28) and (N,))")
    check_labels(labels, 10, name=f"{where} labels")
    return images, labels.astype(np.int64)


def fashion_mnist(split="train", root=None, download=False, as_dataset=False, transform=None, target_transform=None):
    """Fashion-MNIST: 28 x 28 grayscale images of 10 kinds of clothing.

    Returns ``(images, labels)``: uint8 ``(N, 28, 28)`` (0 = background) and int64 ``(N,)`` in
    0..9 (names in ``FASHION_MNIST_CLASSES``); N = 60,000 for ``split="train"``, 10,000 for
    ``"test"``, 6,000 / 1,000 per class. With ``as_dataset=True``, a ``TensorDataset`` with
    ``transform`` (on image batches) and ``target_transform`` instead.

    Files: ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``, searched in ``root``,
    ``$GRADKIT_DATA/fashion-mnist``, ``~/.cache/gradkit/fashion-mnist`` and Debian's
    ``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``);
    ``download=True`` fetches the official files (30 MB) into the cache. The decompressed bytes
    are MD5-checked against the official release.

    Source: Zalando Research, https://github.com/zalandoresearch/fashion-mnist. License: MIT.
    Citation: Han Xiao, Kashif Rasul, Roland Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
    Benchmarking Machine Learning Algorithms", arXiv:1708.07747, 2017.
    """
    where = f"fashion_mnist(split={split!r})"
    check_split("fashion_mnist", split, ("train", "test"))
    arrays = _load_idx_pair(_FASHION, where, split, root, download)
    return arrays_or_dataset(arrays, as_dataset, transform, target_transform)


def mnist(split="train", root=None, download=False, as_dataset=False, transform=None, target_transform=None):
    """MNIST: 28 x 28 grayscale handwritten digits.

    Returns ``(images, labels)``: uint8 ``(N, 28, 28)`` and int64 ``(N,)`` in 0..9; N = 60,000
    for ``split="train"``, 10,000 for ``"test"``. With ``as_dataset=True``, a ``TensorDataset``
    with ``transform`` / ``target_transform`` instead.

    Files: ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` in ``root``,
    ``$GRADKIT_DATA/mnist`` or ``~/.cache/gradkit/mnist``; ``download=True`` fetches the official
    files (11 MB) from the mirrors (ossci-datasets S3, Google's CVDF copy, yann.lecun.com). The
    decompressed bytes are MD5-checked.

    Source: Yann LeCun, Corinna Cortes, Christopher J.C. Burges, "The MNIST database of
    handwritten digits", http://yann.lecun.com/exdb/mnist/. License: CC BY-SA 3.0.
    Citation: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied to
    document recognition", Proc. IEEE 86(11), 1998.
    """
    where = f"mnist(split={split!r})"
    check_split("mnist", split, ("train", "test"))
    arrays = _load_idx_pair(_MNIST, where, split, root, download)
    return arrays_or_dataset(arrays, as_dataset, transform, target_transform)
