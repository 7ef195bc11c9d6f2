"""``keras.datasets``: the classic data sets in Keras' shapes, dtypes and splits, read by
``gradkit.datasets`` (files found on disk or downloaded, always verified).

    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()

=================  ====================================  ===============================
data set           x_train, y_train                      x_test, y_test
=================  ====================================  ===============================
mnist              uint8 (60000, 28, 28), uint8 (60000,)   uint8 (10000, 28, 28), (10000,)
fashion_mnist      uint8 (60000, 28, 28), uint8 (60000,)   uint8 (10000, 28, 28), (10000,)
cifar10            uint8 (50000, 32, 32, 3), uint8 (50000, 1)  (10000, 32, 32, 3), (10000, 1)
boston_housing     float64 (404, 13), float64 (404,)       float64 (102, 13), (102,)
=================  ====================================  ===============================

Images are channels-last, as Keras' Conv2D expects; pixel values are raw 0-255 (divide by
255.0 yourself, as the Keras tutorials do). Boston housing is split as Keras splits it
(``test_split=0.2, seed=113``: the same 404/102 rows). Files are looked up in ``path`` (a
folder), ``$GRADKIT_DATA``, ``~/.cache/gradkit`` and system folders, and fetched if missing,
as Keras fetches them on first use.
"""
import numpy as np

from .. import datasets as gk_datasets

__all__ = ["mnist", "fashion_mnist", "cifar10", "boston_housing"]


class _ImageSet:
    def __init__(self, name, loader, channels_last_from_nchw=False, label_shape=None):
        self.name, self._loader = name, loader
        self._transpose = channels_last_from_nchw
        self._label_column = label_shape == "column"

    def load_data(self, path=None):
        """((x_train, y_train), (x_test, y_test)) in Keras' shapes and dtypes (see the module
        docstring). ``path``: a folder holding the files (optional)."""
        out = []
        for split in ("train", "test"):
            x, y = self._loader(split, root=path, download=True)
            if self._transpose:
                x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
            y = y.astype(np.uint8)
            if self._label_column:
                y = y.reshape(-1, 1)
            out.append((x, y))
        return tuple(out)

    def __repr__(self):
        return f"<keras.datasets.{self.name}>"


class _Boston:
    name = "boston_housing"

    def load_data(self, path=None, test_split=0.2, seed=113):
        """((x_train, y_train), (x_test, y_test)): float64 features (N, 13) and median values
        in $1000s (N,), split as Keras: rows shuffled with ``seed``, the last ``test_split`` of
        them for testing (404 train / 102 test by default)."""
        out = []
        for split in ("train", "test"):
            out.append(gk_datasets.boston_housing(split, root=path, download=True,
                                                  test_split=test_split, seed=seed,
                                                  dtype=np.float64))
        return tuple(out)

    def __repr__(self):
        return "<keras.datasets.boston_housing>"


mnist = _ImageSet("mnist", gk_datasets.mnist)
fashion_mnist = _ImageSet("fashion_mnist", gk_datasets.fashion_mnist)
cifar10 = _ImageSet("cifar10", gk_datasets.cifar10, channels_last_from_nchw=True,
                    label_shape="column")
boston_housing = _Boston()
