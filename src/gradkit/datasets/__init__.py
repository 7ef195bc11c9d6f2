"""gradkit.datasets: real data sets, found on disk or fetched, always verified.

Each loader returns NumPy arrays (``as_dataset=True``: a ``gradkit.data.TensorDataset``) and
its docstring gives the source, size, license and citation. Files are searched in ``root=``,
``$GRADKIT_DATA``, ``~/.cache/gradkit`` and known system folders; ``download=True`` fetches
missing ones (see ``_files.py``).
"""
from ._files import CorruptFileError, DatasetNotFoundError, cache_dir, download
from .boston import BOSTON_FEATURES, boston_housing
from .cifar import CIFAR10_CLASSES, cifar10
from .classic import digits, iris
from .idx import FASHION_MNIST_CLASSES, fashion_mnist, mnist, read_idx
from .synthetic import spirals, two_moons
from .text import SENTIMENT_SOURCES, sentiment_sentences, tiny_shakespeare

__all__ = [
    "fashion_mnist", "mnist", "cifar10", "boston_housing", "tiny_shakespeare", "sentiment_sentences",
    "digits", "iris", "two_moons", "spirals",
    "FASHION_MNIST_CLASSES", "CIFAR10_CLASSES", "BOSTON_FEATURES", "SENTIMENT_SOURCES",
    "read_idx", "download", "cache_dir", "DatasetNotFoundError", "CorruptFileError",
]
