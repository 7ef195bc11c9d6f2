"""gradkit.vision.datasets: torchvision's MNIST / FashionMNIST / CIFAR10 over gradkit.datasets,
on the real files where they are present (MNIST's test split is in the shared data)."""
import shutil

import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit.datasets import DatasetNotFoundError, fashion_mnist, mnist
from gradkit.vision import datasets, transforms
from shared_files import SHARED_DATA

TORCHVISION_MNIST_CLASSES = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
                             "6 - six", "7 - seven", "8 - eight", "9 - nine"]


@pytest.mark.data("mnist")
def test_mnist_items_and_attributes_are_torchvisions():
    images, labels = mnist("test")
    ds = datasets.MNIST("data", train=False)
    assert len(ds) == 10_000 and ds.train is False
    assert isinstance(ds.data, gk.Tensor) and ds.data.dtype == np.uint8 and ds.data.shape == (10_000, 28, 28)
    assert isinstance(ds.targets, gk.Tensor) and ds.targets.dtype == np.int64
    np.testing.assert_array_equal(ds.data.numpy(), images)
    image, label = ds[3]
    assert isinstance(image, gk.Tensor) and image.dtype == np.uint8 and image.shape == (28, 28)
    assert type(label) is int and label == labels[3]
    np.testing.assert_array_equal(image.numpy(), images[3])
    image.numpy()[:] = 0                                   # the item is a copy, as a PIL image is
    assert ds.data.numpy()[3].any()
    assert ds.classes == TORCHVISION_MNIST_CLASSES
    assert ds.class_to_idx["7 - seven"] == 7
    assert ds[-1][1] == labels[-1]
    with pytest.raises(IndexError):
        ds[10_000]
    assert repr(ds).splitlines() == ["Dataset MNIST", "    Number of datapoints: 10000",
                                     "    Root location: data", "    Split: Test"]


@pytest.mark.data("mnist")
def test_mnist_transforms_give_torchvision_numbers():
    images, labels = mnist("test")
    ds = datasets.MNIST("data", train=False, target_transform=lambda y: y + 100,
                        transform=transforms.Compose([transforms.ToTensor(),
                                                      transforms.Normalize((0.1307,), (0.3081,))]))
    x, y = ds[0]
    want = torch.from_numpy(images[0])[None].to(torch.float32).div(255).sub_(
        torch.tensor([0.1307]).view(-1, 1, 1)).div_(torch.tensor([0.3081]).view(-1, 1, 1))
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(), want.numpy())
    assert y == labels[0] + 100
    assert "Transform: Compose(" in repr(ds) and "Target transform: " in repr(ds)
    # cutting .data / .targets cuts the data set, as in torchvision
    ds.data, ds.targets = ds.data[:50], ds.targets[:50]
    assert len(ds) == 50 and ds[49][1] == labels[49] + 100
    with pytest.raises(ValueError, match="only transforms or transform/target_transform"):
        datasets.VisionDataset("data", transforms=lambda a, b: (a, b), transform=transforms.ToTensor())


@pytest.mark.data("mnist")
def test_mnist_in_torchvisions_folder(tmp_path, monkeypatch):
    raw = tmp_path / "data" / "MNIST" / "raw"                # where torchvision downloads to
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(SHARED_DATA / "mnist" / name, raw / name)
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "empty"))
    ds = datasets.MNIST(str(tmp_path / "data"), train=False)
    assert len(ds) == 10_000 and ds[0][1] == int(mnist("test", root=raw)[1][0])


def test_missing_files_raise_gradkit_datasets_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "empty"))
    with pytest.raises(DatasetNotFoundError, match=r"(?s)mnist\(split='train'\): file train-images.*download=True"):
        datasets.MNIST(str(tmp_path), train=True)
    assert issubclass(DatasetNotFoundError, FileNotFoundError)


@pytest.mark.data("mnist")
def test_download_true_asks_gradkit_datasets_to_fetch(tmp_path, monkeypatch):
    """download=True goes through gradkit.datasets' download (here a copy from the shared data
    instead of the network) into its cache."""
    from gradkit.datasets import _files

    fetched = []

    def fake_download(urls, dest, md5=None, **kw):
        fetched.append(dest.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED_DATA / "mnist" / dest.name, dest)
        return dest

    monkeypatch.setattr(_files, "download", fake_download)
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "empty"))
    ds = datasets.MNIST(str(tmp_path / "data"), train=False, download=True)
    assert fetched == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert len(ds) == 10_000 and (tmp_path / "cache" / "gradkit" / "mnist" / fetched[0]).is_file()


@pytest.mark.data("fashion-mnist")
def test_fashion_mnist_test_split():
    images, labels = fashion_mnist("test")
    ds = datasets.FashionMNIST("data", train=False, transform=transforms.ToTensor())
    assert len(ds) == 10_000
    assert ds.classes == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                          "Sneaker", "Bag", "Ankle boot"]
    x, y = ds[5]
    assert x.shape == (1, 28, 28) and y == labels[5]
    np.testing.assert_array_equal(x.numpy()[0], images[5] / np.float32(255))


def _fake_cifar_folder(root, n=10_000):
    """cifar-10-batches-bin/test_batch.bin: n records of 1 label byte and 3,072 pixel bytes (the
    loader checks that an extracted batch file holds the official 10,000)."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    pixels = rng.integers(0, 256, (n, 3, 32, 32)).astype(np.uint8)
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    (folder / "test_batch.bin").write_bytes(
        np.concatenate([labels[:, None], pixels.reshape(n, -1)], axis=1).tobytes())
    return pixels, labels


def test_cifar10_layout_is_torchvisions(tmp_path):
    pixels, labels = _fake_cifar_folder(tmp_path)
    ds = datasets.CIFAR10(str(tmp_path), train=False)
    assert isinstance(ds.data, np.ndarray) and ds.data.shape == (10_000, 32, 32, 3)   # H, W, RGB
    assert ds.targets == labels.tolist() and all(type(t) is int for t in ds.targets)
    assert ds.classes[:3] == ["airplane", "automobile", "bird"] and ds.class_to_idx["truck"] == 9
    image, label = ds[2]
    assert image.dtype == np.uint8 and image.shape == (32, 32, 3) and label == labels[2]
    np.testing.assert_array_equal(image.numpy(), pixels[2].transpose(1, 2, 0))
    x = transforms.ToTensor()(image)
    want = torch.from_numpy(pixels[2]).to(torch.float32).div(255)
    np.testing.assert_array_equal(x.numpy(), want.numpy())


def test_cifar10_names_torchvisions_pickle_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "empty"))
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"(?s)cifar-10-batches-py is torchvision's .*pickle"):
        datasets.CIFAR10(str(tmp_path), train=True)


def test_unsupported_datasets_raise_when_constructed():
    from gradkit.vision.datasets import CIFAR100, ImageFolder

    with pytest.raises(NotImplementedError, match=r"datasets\.ImageFolder .*gradkit\.data\.TensorDataset"):
        ImageFolder("photos")
    with pytest.raises(NotImplementedError, match=r"datasets\.CIFAR100 is not supported"):
        CIFAR100("data", download=True)
    with pytest.raises(AttributeError, match="has no 'Nope'; it provides VisionDataset"):
        datasets.Nope
