"""tests/keras: the shared real data (GRADKIT_DATA), an isolated cache and fresh layer names (one
BLAS thread for the whole suite is set in tests/conftest.py)."""
import pytest

import gradkit.keras as keras
from shared_files import SHARED_DATA, need_data, need_fashion_mnist  # ../shared/data, or GRADKIT_DATA


@pytest.fixture(autouse=True)
def keras_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADKIT_DATA", str(SHARED_DATA))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    keras.backend.clear_session()
    return SHARED_DATA


@pytest.fixture(scope="session")
def fashion():
    """Keras' Fashion-MNIST ((x_train, y_train), (x_test, y_test)), loaded once."""
    need_fashion_mnist()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADKIT_DATA", str(SHARED_DATA))
        mp.setenv("XDG_CACHE_HOME", "/nonexistent-gradkit-test-cache")
        return keras.datasets.fashion_mnist.load_data()


@pytest.fixture(scope="session")
def boston():
    need_data("boston_housing")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADKIT_DATA", str(SHARED_DATA))
        mp.setenv("XDG_CACHE_HOME", "/nonexistent-gradkit-test-cache")
        return keras.datasets.boston_housing.load_data()
