"""Every ```python block of README.md and docs/*.md runs as written (issue 17, "Docs that run").

A reader pastes the blocks of a guide into Python; this test does the same. Two markers, each an
HTML comment on the line right before a block's opening fence (invisible once rendered), say how:

    <!-- continues -->          the block continues the ```python block before it in the same
                                file: they run in order, in one namespace (a "chain")
    <!-- no-run: REASON -->     the block cannot run here (a download, a GPU, minutes of
                                training, or another test runs it); REASON is the skip message

Any other block starts a chain of its own. Each chain is one test: a fresh namespace, a fresh
temporary working directory that holds links to the clone's `examples/` (the guides name
`examples/data/...` relative to the repository root), `GRADKIT_DATA` at the project's shared data
(tests/shared_files.py), one BLAS thread and seed 0 (tests/conftest.py). A ```text block that
opens after a ```python block closes (with at most blank lines between) is what that block
prints, and is checked. Each block has a time budget (BLOCK_BUDGET_S): a guide shows programs that
run in seconds, and says so where a real run takes longer.

Chains that need files a clone does not have are found by what their code calls (NEEDS) and
marked ``data``: the pretrained models come through tests/conftest.py's ``smollm2_file`` and
``minilm_folder`` fixtures, data sets through ``@pytest.mark.data(name)``; so they skip with the
command that brings the files, and fail under CI=true.
"""
import contextlib
import importlib.util
import io
import re
import time
from pathlib import Path

import pytest

import gradkit
from shared_files import SHARED_DATA, need

ROOT = Path(gradkit.__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK_BUDGET_S = 60.0

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>continues|no-run)\s*(?::\s*(?P<reason>.*?))?\s*-->\s*$")
ANY_MARKER = re.compile(r"<!--\s*(continue|no-?run|skip)", re.IGNORECASE)

# What a chain's code calls -> what it needs: a data set for @pytest.mark.data, or a model fixture.
NEEDS = [
    (re.compile(r"smollm2_path\("), "fixture", "smollm2_file"),
    (re.compile(r"minilm_path\("), "fixture", "minilm_folder"),
    (re.compile(r"fashion_mnist|FashionMNIST"), "data", "fashion-mnist"),
    (re.compile(r"\bmnist\b(?!_)"), "data", "mnist"),
    (re.compile(r"\bMNIST\("), "data", "mnist"),         # gradkit.vision.datasets.MNIST(...)
    (re.compile(r"boston_housing"), "data", "boston_housing"),
    (re.compile(r"tiny_shakespeare"), "data", "tinyshakespeare"),
    (re.compile(r"sentiment_sentences"), "data", "sentiment"),
]
LLM_PACKAGES = ("tokenizers", "gguf", "jinja2")   # the llm extra, for the model fixtures

# Blocks that state what they print in a comment rather than in a ```text block (the README keeps
# its layout): (file, a line of the block) -> what the block prints. Checked as outputs are.
STATED = {
    ("README.md", "print(tok.decode(model.generate(ids, max_new_tokens=40)[0, len(ids):], "
                  "skip_special_tokens=True))"): "The capital of France is Paris.",
}


# === parsing
def parse(path):
    """The fenced blocks of a Markdown file, in order: dicts with lang, line (of the first code
    line, 1-based), code (dedented by the fence's indent), marker ('continues', 'no-run' or
    None), reason, and output (for a python block: the ```text block right after it, or None)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i, last_python_close = [], 0, None
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, end = m.group("indent"), i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"{rel(path)} line {i + 1}: a ``` block is never closed")
        code = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip()
                for ln in lines[i + 1:end]]
        marker = MARKER.match(lines[i - 1]) if i > 0 else None
        block = {"lang": m.group("lang"), "line": i + 2, "code": "\n".join(code) + "\n",
                 "marker": marker and marker.group("kind"),
                 "reason": marker and marker.group("reason"), "output": None}
        if (block["lang"] == "text" and last_python_close is not None
                and all(not ln.strip() for ln in lines[last_python_close + 1:i])):
            blocks[-1]["output"] = block
        blocks.append(block)
        last_python_close = end if block["lang"] == "python" else None
        i = end + 1
    return blocks


def rel(path):
    return path.relative_to(ROOT).as_posix()


def chains(path):
    """The file's ```python blocks grouped into chains (lists of blocks run in one namespace)."""
    out = []
    for b in parse(path):
        if b["lang"] != "python":
            continue
        if b["marker"] == "continues":
            assert out, f"{rel(path)} line {b['line']}: the first python block cannot continue"
            assert out[-1][-1]["marker"] != "no-run", (
                f"{rel(path)} line {b['line']}: continues a no-run block; mark it no-run too")
            out[-1].append(b)
        else:
            out.append([b])
    return out


def needs(chain):
    code = "".join(b["code"] for b in chain)
    return [(kind, what) for pattern, kind, what in NEEDS if pattern.search(code)]


def chain_params():
    params = []
    for path in DOCS:
        for chain in chains(path):
            head, marks = chain[0], []
            if head["marker"] == "no-run":
                marks.append(pytest.mark.skip(reason=f"{rel(path)} line {head['line']}: "
                                                     f"{head['reason']}"))
            found = needs(chain)
            if found:
                marks.append(pytest.mark.data(*[w for k, w in found if k == "data"]))
            params.append(pytest.param(path, chain, [w for k, w in found if k == "fixture"],
                                       marks=marks, id=f"{rel(path)}:{head['line']}"))
    return params


def stated(path, block):
    return [text for (name, line), text in STATED.items()
            if name == rel(path) and line in block["code"].splitlines()]


# === the structure of the markers
def test_markers_are_well_formed():
    """A marker sits right before a ```python fence, is spelt as documented, and a no-run gives
    its reason; a block with a ```text output shows what it prints, so it must run."""
    problems = []
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if not ANY_MARKER.search(line):
                continue
            m = MARKER.match(line)
            nxt = FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
            if not m:
                problems.append(f"{rel(path)} line {i + 1}: unknown marker {line.strip()!r}")
            elif not nxt or nxt.group("lang") != "python":
                problems.append(f"{rel(path)} line {i + 1}: a marker must be on the line "
                                f"right before a ```python fence")
            elif m.group("kind") == "no-run" and not m.group("reason"):
                problems.append(f"{rel(path)} line {i + 1}: no-run needs a reason")
            elif m.group("kind") == "continues" and m.group("reason"):
                problems.append(f"{rel(path)} line {i + 1}: continues takes no reason")
        for chain in chains(path):
            if chain[0]["marker"] == "no-run":
                problems += [f"{rel(path)} line {b['line']}: shows what it prints, so it must run"
                             for b in chain if b["output"] is not None]
    assert not problems, "\n".join(problems)


def test_every_stated_output_names_one_block():
    for name, line in STATED:
        found = [b for b in parse(ROOT / name) if b["lang"] == "python"
                 and stated(ROOT / name, b)]
        assert len(found) == 1, f"{name}: {len(found)} python blocks have the line {line!r}"


def test_the_guides_keep_their_runnable_examples():
    """The model guides are the ones whose every example prints what the doc shows (they were
    tests/docs/test_pretrained_doc.py and tests/peft/test_finetune_doc_lora.py)."""
    pretrained = chains(ROOT / "docs" / "pretrained.md")
    assert len(pretrained) == 1 and len(pretrained[0]) >= 8, (
        "docs/pretrained.md: its python blocks run in order in one namespace (every block "
        "after the first is marked continues)")
    assert all(b["output"] is not None for b in pretrained[0]), (
        "every ```python block of docs/pretrained.md shows what it prints (a ```text block "
        "right after it)")
    lora = chains(ROOT / "docs" / "finetune.md")[0]
    assert len(lora) >= 5 and all(b["output"] is not None for b in lora), (
        "docs/finetune.md's LoRA section: one chain of at least 5 blocks, each showing its output")
    runnable = [b for path in DOCS for chain in chains(path) for b in chain
                if chain[0]["marker"] != "no-run"]
    no_run = [b for path in DOCS for chain in chains(path) for b in chain
              if chain[0]["marker"] == "no-run"]
    assert len(no_run) <= len(runnable) // 5, "no-run is for the rare block"


# === running them
def _normalise(text):
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


@pytest.mark.parametrize("path, chain, fixtures", chain_params())
def test_doc_block_runs(path, chain, fixtures, request, tmp_path, monkeypatch):
    if fixtures:
        for module in LLM_PACKAGES:
            need(importlib.util.find_spec(module) is not None, f"the {module} package",
                 "pip install 'gradkit[llm]'")
        for name in fixtures:
            request.getfixturevalue(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRADKIT_DATA", str(SHARED_DATA))
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    namespace = {"__name__": "__main__"}
    for b in chain:
        out = io.StringIO()
        start = time.perf_counter()
        # compiled under the doc's path with its own line numbers: a traceback points at the doc
        code = compile("\n" * (b["line"] - 1) + b["code"], str(path), "exec")
        with contextlib.redirect_stdout(out):
            exec(code, namespace)
        took = time.perf_counter() - start
        assert took < BLOCK_BUDGET_S, (
            f"{rel(path)} line {b['line']}: the block took {took:.0f} s (budget "
            f"{BLOCK_BUDGET_S:.0f} s): make its numbers smaller where the text stays true, "
            f"else mark it <!-- no-run: REASON -->")
        if b["output"] is not None:
            assert _normalise(out.getvalue()) == _normalise(b["output"]["code"]), (
                f"{rel(path)}: the ```python block at line {b['line']} printed\n"
                f"{out.getvalue()}\nnot what the ```text block at line "
                f"{b['output']['line']} shows")
        for expected in stated(path, b):
            assert _normalise(out.getvalue()) == expected, (
                f"{rel(path)}: the ```python block at line {b['line']} printed\n"
                f"{out.getvalue()}\nnot what its comment says: {expected}")
