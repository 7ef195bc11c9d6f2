"""digits / iris (scikit-learn's bundled copies) and the generated two_moons / spirals."""
import sys

import numpy as np
import pytest

from gradkit.data import TensorDataset
from gradkit.datasets import digits, iris, spirals, two_moons


def test_digits():
    pytest.importorskip("sklearn")
    x, y = digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert y[:10].tolist() == list(range(10))
    xtr, ytr = digits("train")
    xte, yte = digits("test")
    assert len(xtr) == 1437 and len(xte) == 360
    assert np.all(np.abs(np.bincount(yte) - np.bincount(y) * 0.2) < 1)


def test_iris():
    pytest.importorskip("sklearn")
    x, y = iris()
    assert x.shape == (150, 4) and np.bincount(y).tolist() == [50, 50, 50]
    np.testing.assert_allclose(x[0], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)
    _, ytr = iris("train")
    _, yte = iris("test")
    assert np.bincount(ytr).tolist() == [40, 40, 40] and np.bincount(yte).tolist() == [10, 10, 10]
    assert isinstance(iris(as_dataset=True), TensorDataset)


def test_without_scikit_learn_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install (-e )?'[^']*\[sklearn\]'"):
        digits()


def test_two_moons():
    x, y = two_moons(200, noise=0.0, seed=0)
    assert x.shape == (200, 2) and x.dtype == np.float32 and np.bincount(y).tolist() == [100, 100]
    r0 = np.hypot(x[y == 0, 0], x[y == 0, 1])
    r1 = np.hypot(x[y == 1, 0] - 1, x[y == 1, 1] - 0.5)
    np.testing.assert_allclose(r0, 1, atol=1e-6)
    np.testing.assert_allclose(r1, 1, atol=1e-6)
    assert (x[y == 0, 1] >= -1e-6).all() and (x[y == 1, 1] <= 0.5 + 1e-6).all()
    a, b = two_moons(seed=3), two_moons(seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], two_moons(seed=4)[0])


def test_spirals():
    x, y = spirals(300, n_classes=3, noise=0.0, seed=0)
    assert x.shape == (300, 2) and np.bincount(y).tolist() == [100, 100, 100]
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() <= 1 + 1e-6
    # without noise, the angle is 4k + 4r: the arms are rotations of each other
    t = np.arctan2(x[:, 0], x[:, 1])
    np.testing.assert_allclose(np.angle(np.exp(1j * (t - 4 * y - 4 * r)))[r > 0], 0, atol=1e-5)
    ds = spirals(as_dataset=True)
    assert len(ds) == 300
