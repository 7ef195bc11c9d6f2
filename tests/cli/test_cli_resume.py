"""`gradkit train --checkpoint-every N`, Ctrl-C and `--resume`: a run killed with SIGKILL in the
middle of an epoch, or stopped by Ctrl-C, and resumed writes the same weights, bit for bit, and
the same per-step losses and history as an uninterrupted run (the MLP has Dropout and fit
shuffles, so the random generator and the data order must continue where they stood); Ctrl-C
ends with one line, status 130 and the command that resumes; what --resume refuses."""
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from gradkit.cli import main
from gradkit.cli.common import interrupt_at_step_end
from gradkit.keras.models import load_model

SRC = str(Path(__file__).resolve().parents[2] / "src")

# `gradkit` in a process that sends itself SIGNAL at the start of its AT-th training step: SIGKILL
# (no cleanup: as the OOM killer or a pulled plug would) or SIGINT (Ctrl-C, during the step)
HOOK = """
import os, signal, sys
sys.path.insert(0, {src!r})
import gradkit.keras.trainer as trainer
sig, at, calls, step = getattr(signal, sys.argv[1]), int(sys.argv[2]), [0], trainer.Trainer._train_step
def counting_step(self, *a, **k):
    calls[0] += 1
    if calls[0] == at:
        os.kill(os.getpid(), sig)
    return step(self, *a, **k)
trainer.Trainer._train_step = counting_step
from gradkit.cli import main
sys.exit(main(sys.argv[3:]))
"""

# 270 training samples, batch 32: 9 steps per epoch
ARGS = ["train", "--limit", "300", "--epochs", "2", "--quiet"]


def _hooked(tmp_path, signal_name, at, *argv):
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK.format(src=SRC))
    return subprocess.run([sys.executable, str(hook), signal_name, str(at), *argv],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})


def _same_run(a, b):
    """The weights are equal bit for bit; so are each step's loss and the history."""
    wa, wb = load_model(Path(a) / "model.keras").get_weights(), \
        load_model(Path(b) / "model.keras").get_weights()
    assert len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))
    ma, mb = (json.loads((Path(f) / "metrics.json").read_text()) for f in (a, b))
    assert len(ma["step_loss"]) == 18 and mb["step_loss"] == ma["step_loss"]
    assert mb["history"] == ma["history"] and mb["test"] == ma["test"]


def _files(folder):
    return sorted(os.listdir(folder))


RUN_FILES = ["curves.png", "metrics.json", "model.keras", "run.json"]


def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_run(tmp_path, capsys):
    assert main(ARGS + ["--out", "full"]) == 0
    # checkpoints after steps 4, 8, 12; killed during step 14 (epoch 2, its 5th step)
    killed = _hooked(tmp_path, "SIGKILL", 14, *ARGS, "--checkpoint-every", "4", "--out", "cut")
    assert killed.returncode == -signal.SIGKILL
    assert _files("cut") == ["checkpoint.safetensors"]
    capsys.readouterr()
    assert main(ARGS + ["--checkpoint-every", "4", "--out", "cut", "--resume"]) == 0
    assert "resuming from cut/checkpoint.safetensors: epoch 2, after step 3" in \
        capsys.readouterr().out
    assert _files("cut") == RUN_FILES  # the finished run replaced the checkpoint
    assert not [f for f in os.listdir(".") if f.endswith(".partial")]  # the killed run's stage
    _same_run("full", "cut")
    run = json.loads(Path("cut/run.json").read_text())
    assert run["command"].endswith("--out cut") and run["resumed"][0]["command"].endswith("--resume")


def test_ctrl_c_saves_at_the_step_end_and_the_printed_command_resumes(tmp_path, capsys):
    assert main(ARGS + ["--out", "full"]) == 0
    stopped = _hooked(tmp_path, "SIGINT", 12, *ARGS, "--out", "cut")
    assert stopped.returncode == 130
    lines = [line for line in stopped.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stopped.stderr, stopped.stderr
    assert lines[0].startswith("gradkit train: interrupted (Ctrl-C) in epoch 2/2 after step 3/9")
    assert _files("cut") == ["checkpoint.safetensors"]
    command = shlex.split(lines[0].split("resume with: ")[1])
    assert command[0] == "gradkit" and command[-3:] == ["--out", "cut", "--resume"]

    # what is refused meanwhile, each in one line with status 2
    capsys.readouterr()
    assert main(ARGS + ["--out", "cut"]) == 2
    assert "holds an interrupted run's checkpoint; add --resume" in capsys.readouterr().err
    assert main(ARGS[:-3] + ["--epochs", "3", "--out", "cut", "--resume"]) == 2
    assert "--epochs 3 (the checkpoint's: 2)" in capsys.readouterr().err
    assert main(ARGS + ["--out", "cut", "--resume", "--overwrite"]) == 2
    assert "give one of them" in capsys.readouterr().err
    assert main(ARGS + ["--out", "elsewhere", "--resume"]) == 2
    assert "holds no checkpoint" in capsys.readouterr().err
    assert main(["evaluate", "cut"]) == 2
    assert "holds only the checkpoint of an interrupted run" in capsys.readouterr().err
    assert _files("cut") == ["checkpoint.safetensors"]

    assert main(command[1:]) == 0
    _same_run("full", "cut")


def test_a_damaged_checkpoint_is_refused_and_overwrite_starts_again(tmp_path, capsys):
    stopped = _hooked(tmp_path, "SIGINT", 5, *ARGS, "--out", "cut")
    assert stopped.returncode == 130
    path = Path("cut/checkpoint.safetensors")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # a weight's byte: the checksum names the file
    path.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(ARGS + ["--out", "cut", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot be read" in err and "checksum" in err and "--overwrite" in err
    assert main(ARGS + ["--out", "cut", "--overwrite"]) == 0
    assert _files("cut") == RUN_FILES


def test_the_first_ctrl_c_sets_the_flag_and_the_second_interrupts():
    assert threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGINT)
    with interrupt_at_step_end() as flag:
        os.kill(os.getpid(), signal.SIGINT)
        assert flag.is_set()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
