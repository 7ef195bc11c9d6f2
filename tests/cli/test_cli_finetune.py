"""`gradkit finetune` end to end, and `gradkit generate --adapter` on what it wrote: the real
`python -m gradkit ...` in a subprocess, on SmolLM2-135M-Instruct as pip installs it (skipped
without it, failed under CI=true, as in tests/models)."""
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gradkit

SRC = str(Path(gradkit.__file__).resolve().parents[1])


def gradkit_cmd(*argv, timeout=300):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "gradkit", *argv], text=True,
                          capture_output=True, env=env, timeout=timeout, check=False)

CONVERSATIONS = [
    ("What is 2 + 2?", "2 + 2 is 4."),
    ("What colour is the sky?", "The sky is blue."),
    ("Name a fruit.", "An apple is a fruit."),
    ("What is gradkit?", "gradkit is a deep-learning framework on NumPy."),
    ("Say hello.", "Hello!"),
    ("What is 3 + 3?", "3 + 3 is 6."),
]
OUTPUTS = ("adapter_model.safetensors", "adapter_config.json", "run.json", "loss.png",
           "samples.md")


def _write_jsonl(path, pairs):
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": q},
                                                     {"role": "assistant", "content": a}]}) + "\n"
                            for q, a in pairs), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def smollm2(smollm2_file):   # tests/conftest.py: skips with the hint where it is missing
    return smollm2_file


@pytest.fixture(scope="module")
def run(smollm2, tmp_path_factory):
    """One 3-step LoRA run on six short conversations (the last two held out)."""
    folder = tmp_path_factory.mktemp("finetune")
    data = _write_jsonl(folder / "tiny.jsonl", CONVERSATIONS)
    out = folder / "run"
    r = gradkit_cmd("finetune", "smollm2", "--data", str(data), "--eval-split", "0.34",
                    "--max-steps", "3", "--batch-size", "2", "--max-len", "64", "--lora-r", "4",
                    "--out", str(out))
    return r, out


def test_finetune_writes_the_adapter_run_json_curve_and_samples(run):
    r, out = run
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    s = info["settings"]
    assert (s["lora_r"], s["lora_alpha"], s["max_len"], s["batch_size"], s["max_steps"]) == \
        (4, 16, 64, 2, 3)
    assert s["target"] == ["q_proj", "v_proj"] and info["method"] == "lora"
    assert info["steps"] == 3 and len(info["losses"]) == 3
    assert info["seed"] == 0 and {"python", "numpy", "gradkit"} <= set(info["versions"])
    assert math.isfinite(info["eval_loss_before"]) and math.isfinite(info["eval_loss_after"])
    assert info["trainable_parameters"] > 0 and info["tokens_per_second"] > 0
    assert info["eval_conversations"] == 2 and info["train_conversations"] == 4
    samples = (out / "samples.md").read_text(encoding="utf-8")
    assert "Say hello." in samples and "What is 3 + 3?" in samples   # the held-out prompts
    assert "held-out answer loss before" in r.stdout and "held-out answer loss after" in r.stdout


def test_the_adapter_loads_with_peft_from_pretrained(run, smollm2):
    from gradkit.models import AutoModelForCausalLM
    from gradkit.peft import PeftModel

    r, out = run
    assert r.returncode == 0, r.stderr
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(smollm2), str(out))
    assert model.peft_config["default"].r == 4
    assert len(list(model.base_model.lora_layers())) == 2 * 30     # q_proj, v_proj in 30 layers


def test_generate_with_the_adapter(run):
    r, out = run
    assert r.returncode == 0, r.stderr
    g = gradkit_cmd("generate", "smollm2", "Hi", "--chat", "--adapter", str(out),
                    "--max-new-tokens", "5")
    assert g.returncode == 0, g.stderr
    assert g.stdout.strip()


# === errors: one line, exit status 2 ==============================================================
def _one_line_error(r, message):
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradkit finetune: error: "), r.stderr
    assert re.search(message, lines[0]), lines[0]


def test_missing_data_file(tmp_path):
    _one_line_error(gradkit_cmd("finetune", "smollm2", "--data", "missing.jsonl", "--out", "o"),
                    r"--data missing\.jsonl: no such file")


def test_existing_non_empty_out_is_refused_without_overwrite(tmp_path):
    _write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "keep.txt").write_text("mine")
    _one_line_error(gradkit_cmd("finetune", "smollm2", "--data", "d.jsonl", "--out", "o"),
                    r"--out o: the folder exists and is not empty; .*--overwrite")


def test_a_bad_jsonl_line_names_the_file_and_line(smollm2, tmp_path):
    path = _write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS[:2])
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"text": "not a conversation"}\n')
    _one_line_error(gradkit_cmd("finetune", "smollm2", "--data", "d.jsonl", "--out", "o"),
                    r"d\.jsonl:3: not a conversation")


def test_a_target_that_matches_nothing_lists_the_linear_names(smollm2, tmp_path):
    _write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS)
    _one_line_error(gradkit_cmd("finetune", "smollm2", "--data", "d.jsonl", "--out", "o",
                                "--target", "no_such_proj"),
                    r"no_such_proj.*q_proj")
