"""Small classic sets bundled with scikit-learn (an optional extra): no file, no download."""
import numpy as np

from ..data.split import train_test_split

from .._install import pip_install
from ._common import arrays_or_dataset, check_split

__all__ = ["digits", "iris"]


def _sklearn_datasets(where):
    try:
        import sklearn.datasets
    except ImportError:
        raise ImportError(
            f"{where} reads scikit-learn's bundled copy, and scikit-learn is not installed; "
            f"install it with `{pip_install('sklearn')}` (or `pip install scikit-learn`)"
        ) from None
    return sklearn.datasets


def _split(x, y, split):
    if split == "all":
        return x, y
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, seed=0)
    return (x_tr, y_tr) if split == "train" else (x_te, y_te)


def digits(split="all", as_dataset=False, transform=None, target_transform=None):
    """UCI optical handwritten digits as bundled with scikit-learn: 1,797 8 x 8 images.

    Returns ``(x, y)``: float32 ``(N, 64)`` pixel counts 0..16 (``x.reshape(-1, 8, 8)`` for
    images) and int64 ``(N,)`` in 0..9. ``split``: ``"all"`` (default, 1,797, scikit-learn's
    order), or a fixed stratified 80/20 split, ``"train"`` (1,437) / ``"test"`` (360).

    Source: E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine
    Learning Repository, 1998 (CC BY 4.0), test part as shipped in ``sklearn.datasets.load_digits``.
    """
    check_split("digits", split, ("all", "train", "test"))
    x, y = _sklearn_datasets("digits()").load_digits(return_X_y=True)
    return arrays_or_dataset(_split(x.astype(np.float32), y.astype(np.int64), split), as_dataset, transform, target_transform)


def iris(split="all", as_dataset=False, transform=None, target_transform=None):
    """Fisher's iris flowers as bundled with scikit-learn: 150 samples, 4 features, 3 species.

    Returns ``(x, y)``: float32 ``(N, 4)`` (sepal length, sepal width, petal length, petal width,
    in cm) and int64 ``(N,)`` in 0..2 (setosa, versicolor, virginica). ``split``: ``"all"``
    (default, 150), or a fixed stratified 80/20 split, ``"train"`` (120) / ``"test"`` (30).

    Source: R.A. Fisher, "The use of multiple measurements in taxonomic problems", Annals of
    Eugenics 7(2), 1936; UCI Machine Learning Repository (CC BY 4.0).
    """
    check_split("iris", split, ("all", "train", "test"))
    x, y = _sklearn_datasets("iris()").load_iris(return_X_y=True)
    return arrays_or_dataset(_split(x.astype(np.float32), y.astype(np.int64), split), as_dataset, transform, target_transform)
