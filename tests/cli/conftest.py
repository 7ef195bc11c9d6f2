"""tests/cli: every test runs in its own temporary folder, with the shared real data."""
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("GRADKIT_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")


@pytest.fixture(autouse=True)
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADKIT_DATA", str(SHARED_DATA))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
