"""`gradkit finetune --checkpoint-every N` and `--resume`: a run killed with SIGKILL between two
checkpoints and resumed writes the same weights, bit for bit, and the same per-step losses as
an uninterrupted run (MiniLM, --task classify: LoRA dropout, shuffling, AdamW and the cosine
schedule all have to continue where they stood)."""
import json
import os
import shlex
import signal
import subprocess
import sys

import numpy as np
import pytest

import gradkit as gk
from test_cli_finetune import SRC, _sentiment_lines, _write_tsv, gradkit_cmd

# `gradkit finetune` in a process that SIGKILLs itself right after its KILL_AT-th optimizer step
# (no cleanup, no atexit: as the kernel's OOM killer or a pulled plug would)
KILLER = """
import os, signal, sys
sys.path.insert(0, {src!r})
import gradkit.optim
kill_at, calls, step = int(sys.argv[1]), [0], gradkit.optim.AdamW.step
def counting_step(self, *a, **k):
    out = step(self, *a, **k)
    calls[0] += 1
    if calls[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return out
gradkit.optim.AdamW.step = counting_step
from gradkit.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def minilm(minilm_folder):   # tests/conftest.py: skips with the hint where it is missing
    return minilm_folder


def _argv(folder, out, *extra):
    tr, ev = _sentiment_lines()
    return ["finetune", "minilm", "--task", "classify", "--data",
            str(_write_tsv(folder / "train.tsv", tr)), "--eval-data",
            str(_write_tsv(folder / "held_out.tsv", ev)), "--batch-size", "16", "--max-steps",
            "7", "--lr", "1e-3", "--lora-dropout", "0.2", "--out", str(out), *extra]


@pytest.fixture(scope="module")
def straight(minilm, tmp_path_factory):
    """The uninterrupted run the others are compared with."""
    folder = tmp_path_factory.mktemp("straight")
    r = gradkit_cmd(*_argv(folder, folder / "straight"))
    assert r.returncode == 0, r.stderr
    return folder / "straight"


def _same_run(a, b):
    ra, rb = (json.loads((f / "run.json").read_text()) for f in (a, b))
    assert len(rb["losses"]) == 7 and rb["losses"] == ra["losses"]
    assert rb["eval_accuracy_after"] == ra["eval_accuracy_after"]
    wa, wb = gk.load(a / "adapter_model.safetensors"), gk.load(b / "adapter_model.safetensors")
    assert list(wa) == list(wb)
    for k in wa:
        assert np.array_equal(wa[k].numpy(), wb[k].numpy()), k


@pytest.mark.data("sentiment")
def test_sigkill_between_checkpoints_then_resume_gives_the_same_run(straight, tmp_path):
    out = tmp_path / "broken"
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER.format(src=SRC))
    # 64 sentences / 16 = 4 batches an epoch: checkpoints after steps 3 and 6, killed at step 5
    killed = subprocess.run([sys.executable, str(killer), "5",
                             *_argv(tmp_path, out, "--checkpoint-every", "3")],
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / "checkpoint.safetensors").exists() and not (out / "run.json").exists()

    refused = gradkit_cmd(*_argv(tmp_path, out, "--checkpoint-every", "3"))
    assert refused.returncode == 2 and "add --resume" in refused.stderr
    changed = gradkit_cmd(*_argv(tmp_path, out, "--resume"), "--lr", "2e-3")
    assert changed.returncode == 2
    assert "--lr 0.002 (the checkpoint's: 0.001)" in changed.stderr

    resumed = gradkit_cmd(*_argv(tmp_path, out, "--checkpoint-every", "3", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout and "at step 3/7" in resumed.stdout
    assert not (out / "checkpoint.safetensors").exists()   # the run is complete

    _same_run(straight, out)


@pytest.mark.data("sentiment")
def test_ctrl_c_saves_at_a_step_end_and_the_printed_command_resumes(straight, tmp_path):
    out = tmp_path / "interrupted"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.Popen([sys.executable, "-m", "gradkit", *_argv(tmp_path, out)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stdout:           # the progress prints every step when stdout is not a terminal
        if line.startswith("step 2/7"):
            p.send_signal(signal.SIGINT)
            break
    _, err = p.communicate(timeout=300)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "the training state is saved in" in err
    assert (out / "checkpoint.safetensors").exists() and not (out / "run.json").exists()
    command = err.strip().rsplit("resume with: ", 1)[1]
    argv = shlex.split(command)
    assert argv[0] == "gradkit" and argv[-1] == "--resume"
    resumed = gradkit_cmd(*argv[1:])
    assert resumed.returncode == 0, resumed.stderr
    _same_run(straight, out)


def test_resume_without_a_checkpoint_says_so(tmp_path):
    (tmp_path / "d.tsv").write_text("good\t1\nbad\t0\n")
    r = gradkit_cmd("finetune", "minilm", "--task", "classify", "--data", "d.tsv", "--out",
                    str(tmp_path / "o"), "--resume")
    assert r.returncode == 2
    assert "holds no checkpoint (checkpoint.safetensors) to resume from" in r.stderr
