import os
from pathlib import Path

import numpy as np
import pytest

import gradkit as gk

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed():
    gk.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture
def data_dir(monkeypatch):
    root = Path(os.environ.get("GRADKIT_DATA", SHARED_DATA))
    monkeypatch.setenv("GRADKIT_DATA", str(root))
    return root
