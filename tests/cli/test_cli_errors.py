"""A newcomer's mistakes with `gradkit train / evaluate / predict`, each run as the user runs it
(`python -m gradkit ...` in a subprocess): one line on stderr naming the problem and the fix,
never a traceback, exit status 2 (130 for Ctrl-C), and no run folder left half written."""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradkit
from gradkit import _install
from shared_files import SHARED_DATA

SRC = str(Path(gradkit.__file__).resolve().parents[1])
RUN_FILES = ["curves.png", "metrics.json", "model.keras", "run.json"]
QUICK = ["--epochs", "1", "--limit", "200"]  # an MLP on 200 digits: a second


def _env(**extra):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "GRADKIT_DATA": str(SHARED_DATA), "OPENBLAS_NUM_THREADS": "1"}
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def gradkit_cli(*args, cwd=".", env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "gradkit", *map(str, args)], cwd=cwd,
                          env=env or _env(), capture_output=True, text=True, timeout=timeout)


def one_line_error(done, *phrases, status=2):
    """The command failed with ``status`` and printed one line on stderr, no traceback, with
    every phrase in it; returns the line."""
    err = done.stderr
    assert done.returncode == status, (done.returncode, err)
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("gradkit "), err
    for phrase in phrases:
        assert phrase in err, (phrase, err)
    return err


def _debris(folder):
    """Whatever a run left beside ``folder``: the folder itself and any staging sibling."""
    parent = Path(folder).parent
    name = Path(folder).name
    return sorted(p.name for p in parent.iterdir() if p.name == name or p.name.startswith(f".{name}."))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A quick run of `gradkit train`, shared (read only) by the tests of this module."""
    folder = tmp_path_factory.mktemp("trained") / "run"
    done = gradkit_cli("train", *QUICK, "--out", folder)
    assert done.returncode == 0, done.stderr
    return folder


# === --out ===================================================================================
def test_out_naming_an_existing_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    one_line_error(gradkit_cli("train", *QUICK, "--out", "notes.txt"),
                   "--out notes.txt: is a file", "give a folder")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_out_under_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    one_line_error(gradkit_cli("train", *QUICK, "--out", "notes.txt/run"),
                   "notes.txt is a file", "--out runs/NAME")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_out_where_nothing_can_be_created_is_refused_before_training():
    one_line_error(gradkit_cli("train", *QUICK, "--out", "/proc/x"),
                   "--out /proc/x: cannot create a folder in /proc", "a place you can write to")
    assert not os.path.exists("/proc/x")


def test_an_existing_run_is_refused_unless_overwrite_and_then_replaced_whole(tmp_path, run):
    shutil.copytree(run, "old")
    old = json.loads(Path("old/run.json").read_text())
    Path("old/run.json").write_text(json.dumps({**old, "marker": "the old run"}))
    (tmp_path / "old" / "curves.png").unlink()  # a file the new run must bring back
    one_line_error(gradkit_cli("train", *QUICK, "--out", "old"),
                   "--out old: the folder exists and is not empty", "add --overwrite")
    assert "marker" in json.loads(Path("old/run.json").read_text())       # untouched

    done = gradkit_cli("train", *QUICK, "--seed", "1", "--out", "old", "--overwrite")
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir("old")) == RUN_FILES and _debris(tmp_path / "old") == ["old"]
    new = json.loads(Path("old/run.json").read_text())
    assert "marker" not in new and new["seed"] == 1 and new["command"].endswith("--overwrite")


def test_overwrite_never_replaces_a_folder_of_other_files(tmp_path):
    Path("mine").mkdir()
    Path("mine/thesis.tex").write_text("years of work")
    one_line_error(gradkit_cli("train", *QUICK, "--out", "mine", "--overwrite"),
                   "holds files that are not a run's (thesis.tex)", "give a new folder")
    assert os.listdir("mine") == ["thesis.tex"]


# === data ====================================================================================
def test_download_without_a_network_is_one_line_and_leaves_no_run(tmp_path):
    # a proxy on the discard port refuses at once: urllib raises URLError, as offline
    env = _env(GRADKIT_DATA=None, XDG_CACHE_HOME=str(tmp_path / "cache"),
               https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9",
               HTTPS_PROXY=None, HTTP_PROXY=None, no_proxy=None, NO_PROXY=None)
    done = gradkit_cli("train", "--dataset", "mnist", "--download", "--out", "m", env=env)
    one_line_error(done, "--download:", "train-images-idx3-ubyte.gz", "check the network",
                   "--data-dir DIR")
    assert _debris(tmp_path / "m") == []


def test_missing_data_is_one_line_with_the_fixes(tmp_path):
    env = _env(GRADKIT_DATA=None, XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = gradkit_cli("train", "--dataset", "mnist", "--out", "m", env=env)
    one_line_error(done, "train-images-idx3-ubyte.gz", "not found (searched ", "add --download",
                   "--data-dir DIR")
    assert _debris(tmp_path / "m") == []


@pytest.mark.data("boston_housing")
def test_evaluate_and_predict_find_the_data_the_run_was_trained_with(tmp_path):
    env = _env(GRADKIT_DATA=None, XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = gradkit_cli("train", "--dataset", "boston-housing", "--epochs", "1", "--quiet",
                       "--data-dir", SHARED_DATA, "--out", "b", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(Path("b/run.json").read_text())["data_dir"] == str(SHARED_DATA.resolve())
    done = gradkit_cli("evaluate", "b", "--json", env=env)             # no --data-dir
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == {"loss", "mae"}
    np.save("one.npy", np.ones(13))                                    # one sample of 13 features
    done = gradkit_cli("predict", "b", "--input", "one.npy", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split() == ["index", "prediction"]
    assert len(done.stdout.splitlines()) == 3


def test_a_validation_split_that_leaves_nothing_is_a_usage_error():
    one_line_error(gradkit_cli("train", "--limit", "1", "--out", "r"),
                   "--validation-split 0.1 of 1 training sample leaves 0 for training",
                   "--validation-split 0")
    assert not os.path.exists("r")


# === a run folder that is not one, or is damaged ==============================================
def test_a_folder_that_is_not_a_run():
    one_line_error(gradkit_cli("evaluate", "nothing-here"),
                   "not a gradkit run folder", "gradkit train --out nothing-here")


@pytest.mark.parametrize("damage, phrase", [
    ("no run.json", "run.json: missing"),
    ("no model.keras", "model.keras: missing"),
    ("run.json not JSON", "run.json: not readable JSON"),
    ("run.json not a run", "run.json: not a run description"),
    ("model.keras truncated", "model.keras: cannot be loaded"),
])
def test_a_damaged_run_names_the_file_and_how_to_train_it_again(run, damage, phrase):
    shutil.copytree(run, "r")
    if damage.startswith("no "):
        os.remove(f"r/{damage[3:]}")
    elif damage == "run.json not JSON":
        Path("r/run.json").write_text('{"model": "mlp",')
    elif damage == "run.json not a run":
        Path("r/run.json").write_text("[1, 2]")
    else:
        Path("r/model.keras").write_bytes(Path("r/model.keras").read_bytes()[:100])
    for command in ("evaluate", "predict"):
        one_line_error(gradkit_cli(command, "r"), phrase, "the run is damaged: train it again",
                       "--out r --overwrite")


# === predict --input =========================================================================
def test_predict_input_that_is_missing(run):
    one_line_error(gradkit_cli("predict", run, "--input", "nope.npy"),
                   "--input nope.npy: no such file", "expected a .npy file of numbers saved with np.save")


def test_predict_input_that_is_a_text_file_is_never_called_pickled(run):
    Path("pixels.txt").write_text("0 1 2 3\n4 5 6 7\n")
    err = one_line_error(gradkit_cli("predict", run, "--input", "pixels.txt"),
                         "--input pixels.txt: not a .npy file",
                         "expected a .npy file of numbers saved with np.save")
    assert "pickle" not in err.lower()


@pytest.mark.parametrize("values, phrase", [
    (np.array(["3", "7"]), "holds strings (dtype <U1), not numbers"),
    (np.array([1, "a", None], dtype=object), "holds Python objects, not numbers"),
])
def test_predict_input_that_is_not_numbers(run, values, phrase):
    np.save("x.npy", values, allow_pickle=True)
    err = one_line_error(gradkit_cli("predict", run, "--input", "x.npy"), phrase,
                         "expected a .npy file of numbers saved with np.save")
    assert "allow_pickle" not in err


def test_predict_input_of_the_wrong_shape(run):
    np.save("x.npy", np.zeros((3, 5)))
    one_line_error(gradkit_cli("predict", run, "--input", "x.npy"),
                   "shape (3, 5) does not fit", "one sample (8, 8) or a batch (N, 8, 8)")


def test_predict_input_of_one_sample_gets_the_batch_axis(run):
    x, _ = gradkit.datasets.digits("test")
    np.save("one.npy", x[4].reshape(8, 8))          # one 8x8 image, no batch axis
    np.save("flat.npy", x[4])                       # the same, as datasets.digits gives it (64,)
    np.save("batch.npy", x[3:6].reshape(-1, 8, 8))
    rows = {}
    for name in ("one", "flat", "batch"):
        done = gradkit_cli("predict", run, "--input", f"{name}.npy")
        assert done.returncode == 0, done.stderr
        rows[name] = done.stdout.splitlines()[2:]
    assert len(rows["one"]) == 1 and rows["one"] == rows["flat"]
    assert rows["one"][0].split()[1:] == rows["batch"][1].split()[1:]   # same image, same answer


def test_prompt_on_an_image_model_names_the_fix(run):
    one_line_error(gradkit_cli("predict", run, "--prompt", "ROMEO:"),
                   "--prompt is for language models", "--input FILE.npy")


def test_predict_output_where_it_cannot_be_written(run):
    one_line_error(gradkit_cli("predict", run, "--n", "1", "--output", "no/such/folder/p.json"),
                   "--output no/such/folder/p.json: cannot write it")


# === Ctrl-C ==================================================================================
def test_ctrl_c_during_training_exits_130_and_leaves_only_its_checkpoint(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "gradkit", "train", "--epochs", "10000", "--out",
                          "long"], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        for line in p.stdout:                 # the first progress line: training has begun
            if line.startswith("Epoch 1/10000"):
                break
        assert any(n.startswith(".long.") for n in os.listdir(tmp_path))   # staged, not yet done
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    # saved at the end of the step, in one line with the command that resumes (the exact resume
    # itself: test_cli_resume.py)
    # (an epoch of the digits takes milliseconds: the signal may land between two of them)
    assert err.startswith(("gradkit train: interrupted (Ctrl-C) in epoch ",
                           "gradkit train: interrupted (Ctrl-C) at the end of epoch ")), err
    assert err.count("\n") == 1
    assert err.endswith("; the training state is saved in long/checkpoint.safetensors; resume "
                        "with: gradkit train --epochs 10000 --out long --resume\n"), err
    assert _debris(tmp_path / "long") == ["long"]   # no staging folder, no run
    assert os.listdir(tmp_path / "long") == ["checkpoint.safetensors"]


# === hints ===================================================================================
def test_a_missing_extra_names_the_install_command_that_works_here(tmp_path):
    fake = tmp_path / "fake" / "sklearn"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named sklearn')\n")
    env = _env(PYTHONPATH=str(tmp_path / "fake") + os.pathsep + SRC)
    err = one_line_error(gradkit_cli("train", "--out", "r", env=env), "scikit-learn", status=1)
    assert "--out r" not in err
    # from this git clone: an editable install of it, quoted for zsh
    assert err.rstrip().endswith(f"pip install -e '{_install.clone_root()}[cli]'"), err
    assert not os.path.exists("r")


def test_the_install_command_is_quoted_for_zsh_and_editable_only_in_a_clone(monkeypatch):
    root = _install.clone_root()
    if root is None:
        pytest.skip("gradkit is not imported from a git clone here")
    monkeypatch.chdir(root)
    assert _install.pip_install("cli") == "pip install -e '.[cli]'"
    monkeypatch.setattr(_install, "clone_root", lambda: None)        # an installed package
    assert _install.pip_install("cli") == "pip install 'gradkit[cli]'"
    assert _install.git_commit() is None
