"""Boston housing: 506 Boston suburbs, 13 features, median home value. Keras' split, exactly."""
import numpy as np

from ._common import arrays_or_dataset, check_split
from ._files import CorruptFileError, check_md5, find_or_download, redownload_hint

__all__ = ["boston_housing", "BOSTON_FEATURES"]

BOSTON_FEATURES = ("CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT")

_FOLDER, _FILE = "boston_housing", "boston_housing.csv"
_URLS = ["https://raw.githubusercontent.com/rasbt/mlxtend/master/mlxtend/data/data/boston_housing.csv"]
_MD5 = "d49847a34e8c003e84d33190ba040e2a"


def boston_housing(split="train", root=None, download=False, test_split=0.2, seed=113, dtype=np.float32,
                   as_dataset=False, transform=None, target_transform=None):
    """Boston housing regression data, split as ``keras.datasets.boston_housing.load_data()``.

    Returns ``(x, y)``: ``x`` (N, 13) features (names in ``BOSTON_FEATURES``), ``y`` (N,) median
    value of owner-occupied homes in $1000s, both of ``dtype`` (float32 by default; Keras returns
    float64, pass ``dtype="float64"`` for its exact values). N = 404 for ``split="train"``, 102 for
    ``"test"``, 506 for ``"all"`` (file order).

    The split reproduces Keras: ``np.random.seed(seed); indices = np.arange(506);
    np.random.shuffle(indices)`` (here with a private ``np.random.RandomState(seed)``, which draws
    the same permutation without touching NumPy's global state), then the first
    ``int(506 * (1 - test_split))`` = 404 shuffled rows are train and the rest test. Defaults
    ``test_split=0.2, seed=113`` are Keras'.

    File: ``boston_housing.csv`` (506 rows x 14 columns, no header: the 13 features then MEDV),
    MD5-checked, in ``root``, ``$GRADKIT_DATA/boston_housing`` or ``~/.cache/gradkit/boston_housing``;
    ``download=True`` fetches it (177 KB) from mlxtend's repository.

    Source: D. Harrison, D.L. Rubinfeld, "Hedonic prices and the demand for clean air", J. Environ.
    Economics & Management 5, 81-102, 1978; via the StatLib archive (the copy shipped with mlxtend).
    License: none stated; StatLib distributes it freely for research and teaching. Note: feature B encodes the proportion of Black residents by a formula from the
    original study; the data set is kept for teaching regression and reproducing Keras, not as
    an example of a fair model.
    """
    check_split("boston_housing", split, ("train", "test", "all"))
    if not 0 < test_split < 1:
        raise ValueError(f"boston_housing: test_split must be in (0, 1); got {test_split}")
    path = find_or_download(f"boston_housing(split={split!r})", _FOLDER, [_FILE], root=root,
                            download_ok=download, urls=_URLS, md5=_MD5, size_hint=" (177 KB)")
    try:
        data = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise CorruptFileError(f"{path}: not a numeric CSV ({e}); {redownload_hint(path)}") from None
    if data.shape != (506, 14):
        raise CorruptFileError(f"{path}: expected 506 rows x 14 columns; got {data.shape}; {redownload_hint(path)}")
    check_md5(path, _MD5)
    x, y = data[:, :13], data[:, 13]
    if split != "all":
        indices = np.arange(len(x))
        np.random.RandomState(seed).shuffle(indices)
        n_train = int(len(x) * (1 - test_split))
        indices = indices[:n_train] if split == "train" else indices[n_train:]
        x, y = x[indices], y[indices]
    arrays = (x.astype(dtype), y.astype(dtype))
    return arrays_or_dataset(arrays, as_dataset, transform, target_transform)
