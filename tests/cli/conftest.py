"""tests/cli: every test runs in its own temporary folder, with the shared real data."""

import pytest

from shared_files import SHARED_DATA  # ../shared/data, or GRADKIT_DATA


@pytest.fixture(autouse=True)
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADKIT_DATA", str(SHARED_DATA))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
