"""Smoke test of benchmarks/llm.py (gradkit vs transformers on SmolLM2-135M and MiniLM): a
``--quick --threads 1`` run prints and writes every row with positive, finite numbers, and the
two libraries compute the same thing. Timings are not compared with anything."""
import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradkit.models import pretrained
from shared_files import need

ROOT = Path(__file__).resolve().parents[2]
ROWS = ("load", "peak memory", "load peak / fp32 weights", "prefill", "decode", "minilm")
NUMBER = r"([0-9.]+(?:e[+-]?[0-9]+)?)"


def _need_everything():
    """Skip (fail under CI=true, as tests/models/conftest.py does) when a model or the reference
    is not installed."""
    missing = []
    if pretrained.smollm2_path() is None:
        missing.append(f"SmolLM2-135M-Instruct ({pretrained.SMOLLM2_HINT})")
    if pretrained.minilm_path() is None:
        missing.append(f"all-MiniLM-L6-v2 ({pretrained.MINILM_HINT})")
    missing += [f"{m} (pip install -e '.[test]')" for m in ("torch", "transformers")
                if importlib.util.find_spec(m) is None]
    need(not missing, "what the llm benchmark needs", "; ".join(missing))


@pytest.mark.data   # the pretrained models (_need_everything)
def test_quick_run_prints_and_writes_every_row(tmp_path):
    _need_everything()
    out = tmp_path / "results.md"
    out.write_text("# results\n\nother benchmarks' text stays\n")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.llm", "--quick", "--threads", "1",
                           "--write", "--output", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = out.read_text()
    assert text.startswith("# results\n\nother benchmarks' text stays\n")
    assert text.count("<!-- llm:begin -->") == 1 and "<!-- llm:end -->" in text
    assert re.search(r"^- date: \d{4}-\d\d-\d\d \d\d:\d\d UTC; commit \w+", text, re.M)
    for row in ROWS:
        m = re.search(rf"^\| {re.escape(row)} \| [^|]+ \| {NUMBER} \| {NUMBER} \| {NUMBER} \| "
                      rf"([^|]+) \| (met|missed|–) \|", text, re.M)
        assert m, f"no complete {row!r} row in\n{text}"
        values = [float(m.group(i)) for i in (1, 2, 3)]
        assert all(math.isfinite(v) and v > 0 for v in values), (row, values)
        assert re.search(rf"^\| {re.escape(row)} \|", proc.stdout, re.M), proc.stdout
    # The same computation on both sides: the prefill's logits and the greedy ids agree.
    check = re.search(r"prefill logits max\|Δ\|/max\|y\| ([0-9.e+-]+), same top token yes; "
                      r"greedy ids identical for the first (\d+) of (\d+); "
                      r"MiniLM embeddings max\|Δ\| ([0-9.e+-]+)", text)
    assert check, text
    assert float(check.group(1)) < 1e-4 and float(check.group(4)) < 1e-4
    assert check.group(2) == check.group(3) == "8"


def test_update_results_replaces_only_its_own_section(tmp_path):
    from benchmarks.llm import update_results
    path = tmp_path / "results.md"
    path.write_text("# top\n\n| a | b |\n")
    update_results(path, "## llm\n\nfirst\n")
    update_results(path, "## llm\n\nsecond\n")
    text = path.read_text()
    assert text.startswith("# top\n\n| a | b |\n\n<!-- llm:begin -->\n## llm")
    assert "second" in text and "first" not in text and text.count("## llm") == 1
