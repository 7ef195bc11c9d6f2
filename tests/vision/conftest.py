"""Fixtures for tests/vision: the shared real data and an isolated download cache."""
import pytest

from shared_files import SHARED_DATA  # ../shared/data, or GRADKIT_DATA


@pytest.fixture(autouse=True)
def data_env(tmp_path, monkeypatch):
    """GRADKIT_DATA -> the shared data; the user cache -> an empty temporary folder."""
    monkeypatch.setenv("GRADKIT_DATA", str(SHARED_DATA))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return SHARED_DATA
