"""Fixtures for tests/data: the shared real data, an isolated cache, Fashion-MNIST loaded once."""

import pytest

from shared_files import SHARED_DATA, need_fashion_mnist  # ../shared/data, or GRADKIT_DATA


@pytest.fixture(autouse=True)
def data_env(tmp_path, monkeypatch):
    """GRADKIT_DATA -> the shared data; the user cache -> an empty temporary folder."""
    monkeypatch.setenv("GRADKIT_DATA", str(SHARED_DATA))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return SHARED_DATA


@pytest.fixture(scope="session")
def fashion_train():
    """Fashion-MNIST train (images, labels), loaded once per session with the same isolation."""
    from gradkit.datasets import fashion_mnist

    need_fashion_mnist()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADKIT_DATA", str(SHARED_DATA))
        mp.setenv("XDG_CACHE_HOME", "/nonexistent-gradkit-test-cache")
        return fashion_mnist("train")
