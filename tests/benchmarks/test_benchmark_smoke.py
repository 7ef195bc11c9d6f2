"""Smoke test of the issue-7 benchmark: every workload runs 2 steps per side, the results table
has every row, and gradkit and PyTorch agree on the loss. Nothing about timings is asserted."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ("mlp", "cnn", "lstm", "gpt")


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_quick_run_has_every_row_and_the_losses_agree(tmp_path):
    out = tmp_path / "results.md"
    proc = _run("benchmarks.compare", "--quick", "--threads", "1", "--no-memory",
                "--output", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = out.read_text()
    for w in WORKLOADS:
        for mode in ("train", "inference"):
            row = re.search(rf"^\| {w} {mode} \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \| ≤ [0-9.]+ "
                            rf"\| (met|missed) \| [0-9.]+–[0-9.]+ \|$", text, re.M)
            assert row, f"no {w} {mode} row in\n{text}"
            assert float(row.group(1)) > 0 and float(row.group(2)) > 0
        check = re.search(rf"^\| {w} \| ([0-9.e+-]+) \| [0-9.]+ / [0-9.]+ \| ([0-9.e+-]+) "
                          rf"\| ([0-9.e+-]+) \| (yes|NO) \|$", text, re.M)
        assert check, f"no {w} correctness row in\n{text}"
        assert check.group(4) == "yes"
        assert max(float(check.group(i)) for i in (1, 2, 3)) <= 1e-4
        assert re.search(rf"^{w} +check: .* -> ok$", proc.stdout, re.M), proc.stdout
    assert re.search(r"MLP training step at batch 1024 .* = \d+% of peak", text)
    assert "## 1 thread" in text and "openblas 1" in text.lower()


def test_memory_sides_run_apart():
    results = {}
    for side in ("gradkit", "torch"):
        proc = _run("benchmarks.memory", "--side", side, "--workload", "mlp", "--steps", "1")
        assert proc.returncode == 0, proc.stderr[-3000:]
        results[side] = json.loads(proc.stdout.strip().splitlines()[-1])
    for r in results.values():
        assert r["peak_kib"] >= r["base_kib"] > 0
    # Same data and the same architecture; the seeds differ, so only the scale of the loss matches.
    assert 1.5 < results["gradkit"]["loss"] < 3.5 and 1.5 < results["torch"]["loss"] < 3.5
