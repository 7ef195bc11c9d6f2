"""The LoRA, QLoRA and classification sections of docs/finetune.md run as written: each section's
```python blocks, in order, in one namespace, and every ```text block right after one is what
that block prints. The blocks load SmolLM2 or MiniLM from their pip packages (skipped without
them, failed under CI, as the other model tests)."""
import contextlib
import io
import re
from pathlib import Path

import pytest

import gradkit
from gradkit.models import pretrained
from shared_files import need

DOC = Path(gradkit.__file__).resolve().parents[2] / "docs" / "finetune.md"


def section_blocks(title):
    """[(language, first code line (1-based), code, follows_python)] for the fenced blocks of
    the section ``title``; follows_python: the block opens on the line after a python block
    closes (so it is that block's output)."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    out, i, python_closed_at = [], start, None
    while i < end:
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while lines[j].rstrip() != "```":
            j += 1
        lang = m.group(1)
        out.append((lang, i + 2, "\n".join(lines[i + 1:j]) + "\n", python_closed_at == i - 1))
        python_closed_at = j if lang == "python" else None
        i = j + 1
    return out


def run_section(title):
    """Run the section's python blocks in order, in one namespace; each text block right after
    one must be what it printed. Returns how many python blocks ran."""
    namespace, printed = {"__name__": "__main__"}, None
    ran = 0
    for lang, line, code, follows_python in section_blocks(title):
        if lang == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile("\n" * (line - 1) + code, str(DOC), "exec"), namespace)
            printed, ran = out.getvalue(), ran + 1
        elif lang == "text" and follows_python:
            assert printed == code, f"docs/finetune.md line {line}: the block prints\n{printed}"
        else:
            printed = None
    return ran


@pytest.mark.data
def test_the_lora_section_runs_as_written():
    need(pretrained.smollm2_path(), "SmolLM2-135M-Instruct (GGUF)", pretrained.SMOLLM2_HINT)
    assert run_section("## LoRA") >= 5


@pytest.mark.data
def test_the_qlora_section_runs_as_written():
    need(pretrained.smollm2_path(), "SmolLM2-135M-Instruct (GGUF)", pretrained.SMOLLM2_HINT)
    assert run_section("## LoRA over a quantized base (QLoRA)") == 1


@pytest.mark.data
def test_the_classification_section_runs_as_written():
    need(pretrained.minilm_path(), "all-MiniLM-L6-v2", pretrained.MINILM_HINT)
    assert run_section("## Classifying sentences with the encoder") == 1
