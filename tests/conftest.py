
import numpy as np
import pytest

import gradkit as gk
from shared_files import SHARED_DATA


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    """One BLAS thread for the whole suite: its matrices are small, and on a 2-core machine that
    is busy with other work OpenBLAS's spinning threads make them several times slower.
    Benchmarks, not tests, measure threaded speed."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same seeds, PyTorch's too (the oracle builds torch modules
    whose default initialisation would otherwise differ from run to run)."""
    import torch

    gk.manual_seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture
def data_dir(monkeypatch):
    root = SHARED_DATA
    monkeypatch.setenv("GRADKIT_DATA", str(root))
    return root
