"""tests/tf: the shared real data (GRADKIT_DATA) and an isolated cache for every test."""
import pytest

from shared_files import SHARED_DATA  # ../shared/data, or GRADKIT_DATA


@pytest.fixture(autouse=True)
def tf_data_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADKIT_DATA", str(SHARED_DATA))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return SHARED_DATA
