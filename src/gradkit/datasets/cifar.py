"""CIFAR-10 from the official *binary* version, read with NumPy.

The binary archive ``cifar-10-binary.tar.gz`` holds ``cifar-10-batches-bin/data_batch_{1..5}.bin``
and ``test_batch.bin``: 10,000 records each, a record being 1 label byte followed by 3,072 pixel
bytes (1,024 red, then green, then blue, each 32 x 32 row-major). gradkit never reads the
"python version" of CIFAR, whose batches are pickles: unpickling a downloaded file can run code.
Members are read straight out of the tar by their exact names; nothing is extracted to disk.
An extracted folder has no checksum: each of its files must hold exactly 10,000 records.
"""
import tarfile

import numpy as np

from ._common import arrays_or_dataset, check_split
from ._files import CorruptFileError, DatasetNotFoundError, check_md5, find_or_download, redownload_hint, search_dirs

__all__ = ["cifar10", "CIFAR10_CLASSES", "read_cifar_records"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

_FOLDER = "cifar-10"
_ARCHIVE = "cifar-10-binary.tar.gz"
_ARCHIVE_DIR = "cifar-10-batches-bin"
_URLS = ["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"]
_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # of the archive, as published on the CIFAR page
_FILES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
_RECORD = 1 + 3 * 32 * 32
_RECORDS_PER_FILE = 10_000   # in each of the six batch files


def read_cifar_records(raw, source):
    """Bytes of one ``*.bin`` batch -> ``(images uint8 (n, 3, 32, 32), labels int64 (n,))``."""
    if len(raw) == 0 or len(raw) % _RECORD:
        raise CorruptFileError(
            f"{source}: {len(raw):,} bytes is not a whole number of 3,073-byte records (1 label + "
            f"3,072 pixels): the file is truncated or not a CIFAR-10 binary batch; {redownload_hint(source)}"
        )
    records = np.frombuffer(raw, np.uint8).reshape(-1, _RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise CorruptFileError(f"{source}: record {bad} has label {labels[bad]}; CIFAR-10 labels are 0..9 (is this CIFAR-100?)")
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def _from_folder(split, root):
    for d in search_dirs(_FOLDER, root):
        folder = d / _ARCHIVE_DIR
        paths = [folder / f for f in _FILES[split]]
        if all(p.is_file() for p in paths):
            return [_read_batch_file(p) for p in paths]
    return None


def _read_batch_file(path):
    """An extracted batch file, which has no checksum of its own: its records are counted."""
    images, labels = read_cifar_records(path.read_bytes(), path)
    if len(labels) != _RECORDS_PER_FILE:
        raise CorruptFileError(
            f"{path}: {len(labels):,} records, expected {_RECORDS_PER_FILE:,} in every CIFAR-10 "
            f"batch file: the folder holds a partial or altered copy; {redownload_hint(path)}"
        )
    return images, labels


def _from_archive(path, split):
    check_md5(path, _MD5, what="archive")
    wanted = {f"{_ARCHIVE_DIR}/{f}": f for f in _FILES[split]}
    found = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    found[member.name] = read_cifar_records(tar.extractfile(member).read(), f"{path}:{member.name}")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise CorruptFileError(f"{path}: unreadable tar.gz archive ({e}); {redownload_hint(path)}") from None
    missing = [name for name in wanted if name not in found]
    if missing:
        raise CorruptFileError(f"{path}: the archive lacks {missing}; is it the CIFAR-10 binary version?")
    return [found[name] for name in wanted]


def cifar10(split="train", root=None, download=False, as_dataset=False, transform=None, target_transform=None):
    """CIFAR-10: 32 x 32 colour images in 10 classes (``CIFAR10_CLASSES``).

    Returns ``(images, labels)``: uint8 ``(N, 3, 32, 32)`` (channels first, as PyTorch; use
    ``images.transpose(0, 2, 3, 1)`` for Keras' layout) and int64 ``(N,)`` in 0..9; N = 50,000
    for ``split="train"`` (the five training batches in order), 10,000 for ``"test"``. With
    ``as_dataset=True``, a ``TensorDataset`` with ``transform`` / ``target_transform``.

    Files: an extracted ``cifar-10-batches-bin/`` folder or the archive ``cifar-10-binary.tar.gz``
    (MD5-checked) in ``root``, ``$GRADKIT_DATA/cifar-10`` or ``~/.cache/gradkit/cifar-10``;
    ``download=True`` fetches the archive (162 MB) from the authors' page.

    Source: Alex Krizhevsky, https://www.cs.toronto.edu/~kriz/cifar.html (free to use; cite the
    report). Citation: A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images",
    Tech. report, University of Toronto, 2009.
    """
    check_split("cifar10", split, ("train", "test"))
    parts = _from_folder(split, root)
    if parts is None:
        try:
            path = find_or_download(f"cifar10(split={split!r})", _FOLDER, [_ARCHIVE], root=root,
                                    download_ok=download, urls=_URLS, md5=_MD5, size_hint=" (162 MB)")
        except DatasetNotFoundError as e:
            raise DatasetNotFoundError(f"{e}\n(An extracted {_ARCHIVE_DIR}/ folder with the six .bin files works too.)") from None
        parts = _from_archive(path, split)
    images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    labels = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    return arrays_or_dataset((images, labels), as_dataset, transform, target_transform)
