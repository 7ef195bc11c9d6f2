"""``from gradkit.vision import datasets``: torchvision's MNIST, FashionMNIST and CIFAR10 classes
over gradkit.datasets' loaders.

    datasets.MNIST(root, train=True, transform=None, target_transform=None, download=False)
    datasets.FashionMNIST(...)   datasets.CIFAR10(...)      (the same arguments)

``ds[i]`` is ``(image, label)`` as in torchvision: ``label`` a Python int, ``image`` the
``transform``'s result, or without one what PIL would hold, since gradkit does not depend on PIL:
a uint8 Tensor in PIL's layout, ``(28, 28)`` for MNIST and FashionMNIST, ``(32, 32, 3)`` for
CIFAR10. ``transforms.ToTensor()`` turns it into float32 ``(C, H, W)`` in [0, 1]. The attributes
are torchvision's: ``.data`` and ``.targets`` (a uint8 ``(N, 28, 28)`` and an int64 ``(N,)``
Tensor for the MNISTs; a NumPy uint8 ``(N, 32, 32, 3)`` array and a list of ints for CIFAR10),
``.classes``, ``.class_to_idx``, ``.train``, ``len(ds)``. ``ds[i]`` reads ``.data`` and
``.targets``, so cutting them (``ds.data = ds.data[:2000]``) cuts the data set.

Where the files are found: gradkit.datasets' search (``root``, ``root/mnist``, ``$GRADKIT_DATA``,
``~/.cache/gradkit``, ...; see gradkit/datasets/_files.py), and first the folder torchvision
downloads into (``root/MNIST/raw``, ``root/FashionMNIST/raw``). ``download=True`` asks
gradkit.datasets to fetch missing files; it stores them in its cache (``~/.cache/gradkit``), not
in ``root``. A missing file raises gradkit.datasets' ``DatasetNotFoundError`` (a
FileNotFoundError) listing the folders searched and the fixes. CIFAR10 is read from the official
*binary* version (``cifar-10-binary.tar.gz``); torchvision's ``cifar-10-batches-py`` folder holds
pickles, which gradkit never loads (unpickling a downloaded file can run code).
"""
import operator
import os
from pathlib import Path

import numpy as np

from .. import _internal
from ..data import Dataset
from ..datasets import (CIFAR10_CLASSES, FASHION_MNIST_CLASSES, DatasetNotFoundError, cifar10,
                        fashion_mnist, mnist)
from ..tensor import Tensor

__all__ = ["VisionDataset", "StandardTransform", "MNIST", "FashionMNIST", "CIFAR10"]


class StandardTransform:
    """``(image, target) -> (transform(image), target_transform(target))``, either may be None."""

    def __init__(self, transform=None, target_transform=None):
        self.transform, self.target_transform = transform, target_transform

    def __call__(self, image, target):
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    @staticmethod
    def _lines(transform, head):
        lines = repr(transform).splitlines()
        return [head + lines[0]] + [" " * len(head) + line for line in lines[1:]]

    def __repr__(self):
        body = [type(self).__name__]
        if self.transform is not None:
            body += self._lines(self.transform, "Transform: ")
        if self.target_transform is not None:
            body += self._lines(self.target_transform, "Target transform: ")
        return "\n".join(body)


class VisionDataset(Dataset):
    """torchvision's base: ``root``, ``transform``, ``target_transform`` (or ``transforms`` on
    the pair) and the repr that prints them."""

    def __init__(self, root=None, transforms=None, transform=None, target_transform=None):
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        separate = transform is not None or target_transform is not None
        if transforms is not None and separate:
            raise ValueError(f"{type(self).__name__}: only transforms or transform/target_transform "
                             f"can be passed as argument")
        self.transform, self.target_transform = transform, target_transform
        self.transforms = StandardTransform(transform, target_transform) if separate else transforms

    def extra_repr(self):
        return ""

    def __repr__(self):
        body = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if self.transforms is not None:
            body.append(repr(self.transforms))   # one entry: only its first line is indented, as torchvision
        return "\n".join([f"Dataset {type(self).__name__}"] + ["    " + line for line in body])


def _row(values, index):
    """``values[index]``: a Tensor or array by its array (no Tensor per item), a list as it is."""
    if isinstance(values, (Tensor, np.ndarray)):
        return _internal.as_array(values)[index]
    return values[index]


class _ImageClassification(VisionDataset):
    """What the three data sets share: ``.data``/``.targets`` and ``ds[i]``."""

    _loader = None          # the gradkit.datasets function
    _torchvision_dir = None   # where torchvision keeps the files under root, if gradkit can read them

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        self.data, self.targets = self._wrap(*self._load("train" if train else "test", download))

    def _load(self, split, download):
        loader = type(self)._loader
        if self.root is not None and self._torchvision_dir:
            tv = Path(self.root) / self._torchvision_dir
            if tv.is_dir():
                try:
                    return loader(split, root=tv)
                except DatasetNotFoundError:
                    pass
        return loader(split, root=self.root, download=download)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __getitem__(self, index):
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(f"{type(self).__name__}: index must be an int; got "
                            f"{type(index).__name__}") from None
        image = np.ascontiguousarray(_row(self.data, index))
        if image.base is not None:      # a view into .data: the item is a copy, as PIL's is
            image = image.copy()
        image, target = _internal.wrap(image), int(_row(self.targets, index))
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self):
        return len(self.data)

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"


class MNIST(_ImageClassification):
    """MNIST handwritten digits: 60,000 training and 10,000 test images, 28 x 28 grey.

    ``.data``: uint8 Tensor (N, 28, 28); ``.targets``: int64 Tensor (N,); ``ds[i]`` without a
    transform: (uint8 Tensor (28, 28), int). Files and license: ``gradkit.datasets.mnist``.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]
    _loader = staticmethod(mnist)
    _torchvision_dir = "MNIST/raw"

    @staticmethod
    def _wrap(images, labels):
        return _internal.wrap(images), _internal.wrap(labels)


class FashionMNIST(MNIST):
    """Fashion-MNIST: 10 kinds of clothing, 28 x 28 grey, 60,000 / 10,000 images; the same
    attributes as ``MNIST``. Files and license: ``gradkit.datasets.fashion_mnist``."""

    classes = list(FASHION_MNIST_CLASSES)
    _loader = staticmethod(fashion_mnist)
    _torchvision_dir = "FashionMNIST/raw"


class CIFAR10(_ImageClassification):
    """CIFAR-10: 50,000 training and 10,000 test colour images, 32 x 32, in 10 classes.

    ``.data``: NumPy uint8 (N, 32, 32, 3) (height, width, RGB, as torchvision's); ``.targets``: a
    list of ints; ``ds[i]`` without a transform: (uint8 Tensor (32, 32, 3), int). Files and
    license: ``gradkit.datasets.cifar10`` (the binary version of the archive).
    """

    classes = list(CIFAR10_CLASSES)
    _loader = staticmethod(cifar10)

    def _load(self, split, download):
        try:
            return super()._load(split, download)
        except DatasetNotFoundError as e:
            pickles = None if self.root is None else Path(self.root) / "cifar-10-batches-py"
            if pickles is None or not pickles.is_dir():
                raise
            raise DatasetNotFoundError(
                f"{e}\n(The folder {pickles} is torchvision's CIFAR-10, the Python version: "
                f"pickle files, which gradkit does not load because unpickling a downloaded file "
                f"can run code. Use the binary version, cifar-10-binary.tar.gz.)") from None

    @staticmethod
    def _wrap(images, labels):
        return images.transpose(0, 2, 3, 1), labels.tolist()   # channels last, as torchvision


# === names torchvision has and this module does not ==============================================
_FILES = ("it decodes image files, which needs an image library (gradkit does not depend on "
          "PIL): read the images into a NumPy array (e.g. with Pillow) and use "
          "gradkit.data.TensorDataset, or a Dataset subclass whose __getitem__ returns them")
_NOT_YET = ("gradkit.datasets has no loader for it yet; MNIST, FashionMNIST and CIFAR10 are "
            "supported, and any arrays become a data set with gradkit.data.TensorDataset")
UNSUPPORTED = {name: _FILES for name in ("ImageFolder", "DatasetFolder", "ImageNet", "CelebA",
                                         "CocoDetection", "CocoCaptions", "VOCDetection",
                                         "VOCSegmentation", "LSUN", "Places365", "Flowers102",
                                         "OxfordIIITPet", "Caltech101", "Caltech256", "Food101",
                                         "StanfordCars")}
UNSUPPORTED.update({name: _NOT_YET for name in ("CIFAR100", "EMNIST", "KMNIST", "QMNIST", "SVHN",
                                                "STL10", "USPS", "Omniglot", "FakeData")})


def _unsupported(name, instead):
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"datasets.{name} is not supported by gradkit.vision: {instead}")

    return type(name, (VisionDataset,), {"__init__": __init__, "__module__": __name__,
                                         "__doc__": f"Not supported: {instead}."})


globals().update({name: _unsupported(name, instead) for name, instead in UNSUPPORTED.items()})


def __getattr__(name):
    raise AttributeError(f"gradkit.vision.datasets has no {name!r}; it provides "
                         f"{', '.join(__all__)} (and names these raise NotImplementedError for: "
                         f"{', '.join(UNSUPPORTED)})")
