"""tests/tf: the shared real data (GRADKIT_DATA) and an isolated cache for every test."""
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("GRADKIT_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")


@pytest.fixture(autouse=True)
def tf_data_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADKIT_DATA", str(SHARED_DATA))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return SHARED_DATA
