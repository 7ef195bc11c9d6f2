"""The `gradkit` command end to end, in a temporary folder: train writes a loadable model, the
metrics (with each step's loss and what made the run) and a valid PNG and prints a summary;
evaluate and predict use the saved run; bad command lines give usage errors (the user's other
mistakes: test_cli_errors.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradkit
from gradkit.cli import main


def _png_size(path):
    """(width, height) of a PNG, after checking its signature and decoding it fully."""
    from matplotlib.image import imread

    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    pixels = imread(path)                      # raises on a truncated or corrupt file
    assert pixels.ndim == 3 and pixels.std() > 0   # not a blank canvas
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """`gradkit` with no arguments (an MLP on the embedded digits), run once for this module."""
    folder = tmp_path_factory.mktemp("default")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        import io
        from contextlib import redirect_stdout

        buf = io.StringIO()
        with redirect_stdout(buf):
            status = main([])
    finally:
        os.chdir(cwd)
    return status, folder / "runs" / "mlp-digits", buf.getvalue()


def test_no_arguments_trains_an_mlp_on_digits_and_writes_the_run(digits_run):
    status, run, printed = digits_run
    assert status == 0
    assert sorted(p.name for p in run.iterdir()) == ["curves.png", "metrics.json", "model.keras", "run.json"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["model"] == "mlp" and metrics["dataset"] == "digits"
    assert len(metrics["history"]["loss"]) == 20 and len(metrics["history"]["val_accuracy"]) == 20
    assert metrics["history"]["loss"][-1] < metrics["history"]["loss"][0]
    assert metrics["test"]["accuracy"] >= 0.93, metrics["test"]
    assert metrics["samples"] == {"train": 1437, "test": 360}
    # what made the run: gradkit's version (and commit, from a clone), the date, the command
    saved = json.loads((run / "run.json").read_text())
    assert saved["gradkit"]["version"] == gradkit.__version__
    assert len(saved["gradkit"].get("commit", "0" * 40)) == 40
    assert saved["date"][:2] == "20" and saved["command"] == "gradkit" and saved["data_dir"] is None
    # each step's own loss: 1,293 samples (the first 90%) in 41 batches of 32 (the last of 13)
    steps = metrics["steps_per_epoch"]
    assert steps == 41 and len(metrics["step_loss"]) == 20 * steps
    sizes = np.array([32] * 40 + [13])
    for epoch in (0, 19):
        losses = np.array(metrics["step_loss"][epoch * steps:(epoch + 1) * steps])
        assert (losses @ sizes) / sizes.sum() == pytest.approx(metrics["history"]["loss"][epoch], rel=1e-9)
    assert np.std(metrics["step_loss"][-steps:]) > 0       # not the running mean repeated
    w, h = _png_size(run / "curves.png")
    assert w >= 300 and h >= 200
    # the summary table: a header and one row per metric, with the test column
    assert "metric" in printed and "validation" in printed and "test" in printed
    row = next(line for line in printed.splitlines() if line.startswith("accuracy"))
    assert f"{metrics['test']['accuracy']:.4f}" in row
    assert "20 epochs in " in printed and "wrote model.keras, run.json, metrics.json, curves.png" in printed


def test_one_epoch_is_one_epoch_and_a_single_point_curve_is_drawn(capsys):
    assert main(["train", "--epochs", "1", "--limit", "100", "--out", "one"]) == 0
    printed = capsys.readouterr().out
    assert "\n1 epoch in " in printed and "1 epochs" not in printed
    _png_size("one/curves.png")                 # one point per curve, marked: not a blank canvas


def test_the_saved_model_loads_and_evaluate_reproduces_the_test_metrics(digits_run, capsys):
    _, run, _ = digits_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert main(["evaluate", str(run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] == pytest.approx(metrics["test"]["accuracy"], abs=1e-9)
    assert result["loss"] == pytest.approx(metrics["test"]["loss"], rel=1e-5)

    model = gradkit.keras.models.load_model(run / "model.keras")
    x, y = gradkit.datasets.digits("test")
    pred = model.predict((x / 16.0).reshape(-1, 8, 8), verbose=0).argmax(-1)
    assert (pred == y).mean() == pytest.approx(metrics["test"]["accuracy"])


def test_predict_prints_and_writes_predictions(digits_run, capsys, tmp_path):
    _, run, _ = digits_run
    out = tmp_path / "pred.json"
    assert main(["predict", str(run), "--n", "5", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == ["index", "prediction", "confidence", "label"]
    records = json.loads(out.read_text())
    assert [r["index"] for r in records] == [0, 1, 2, 3, 4]
    assert sum(r["prediction"] == r["label"] for r in records) >= 4
    assert all(0 < r["confidence"] <= 1 for r in records)

    x, _ = gradkit.datasets.digits("test")
    np.save(tmp_path / "raw.npy", x[:3].reshape(-1, 8, 8))        # raw 0..16 pixels, as the data set has them
    assert main(["predict", str(run), "--input", str(tmp_path / "raw.npy"), "--output", str(out)]) == 0
    assert [r["prediction"] for r in json.loads(out.read_text())] == [r["prediction"] for r in records[:3]]


@pytest.mark.data("boston_housing")
def test_boston_housing_regression_reaches_a_test_mae_under_3_5(capsys):
    assert main(["train", "--dataset", "boston-housing", "--quiet", "--out", "boston"]) == 0
    metrics = json.loads(Path("boston/metrics.json").read_text())
    assert metrics["test"]["mae"] <= 3.5, metrics["test"]
    assert "mae" in capsys.readouterr().out
    assert main(["predict", "boston", "--n", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["index", "prediction", "label"] and len(lines) == 5


@pytest.mark.data("tinyshakespeare")
def test_a_gpt_on_tiny_shakespeare_trains_and_generates_text(capsys):
    assert main(["train", "--model", "gpt", "--dataset", "tiny-shakespeare", "--limit", "64",
                 "--seq-len", "16", "--quiet", "--out", "gpt"]) == 0
    run = json.loads(Path("gpt/run.json").read_text())
    vocab = run["preprocessing"]["vocabulary"]
    assert len(vocab) == 65 and run["seq_len"] == 16
    capsys.readouterr()
    assert main(["predict", "gpt", "--prompt", "ROMEO:", "--length", "30"]) == 0
    text = capsys.readouterr().out.rstrip("\n")
    assert text.startswith("ROMEO:") and len(text) == 36 and set(text) <= set(vocab)
    greedy = []
    for seed in ("1", "2"):  # temperature 0: the most likely character each time, whatever the seed
        assert main(["predict", "gpt", "--prompt", "ROMEO:", "--length", "30", "--temperature", "0",
                     "--seed", seed]) == 0
        greedy.append(capsys.readouterr().out)
    assert greedy[0] == greedy[1] and greedy[0].startswith("ROMEO:")


@pytest.mark.parametrize("argv, message", [
    (["train", "--modle", "cnn"], r"unrecognized arguments: --modle cnn .*did you mean --model\?"),
    (["train", "--epochs", "zero"], "argument --epochs: expected a positive integer, got 'zero'"),
    (["train", "--dataset", "imagenet"], "argument --dataset: invalid choice: 'imagenet'"),
    (["train", "--dataset", "fashion_mnist"], r"invalid choice: 'fashion_mnist'.*did you mean fashion-mnist\?"),
    (["tain"], r"invalid choice: 'tain'.*did you mean train\?"),
    (["train", "--model", "gpt", "--dataset", "digits"], "--model gpt does not fit --dataset digits"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_command_lines_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gradkit")
    assert __import__("re").search(message, err), err


def test_evaluate_on_a_folder_that_is_not_a_run_says_so(capsys):
    assert main(["evaluate", "nothing-here"]) == 2
    assert "not a gradkit run folder" in capsys.readouterr().err


def test_help_is_complete():
    src = str(Path(gradkit.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-m", "gradkit.cli", "train", "--help"], capture_output=True,
                         text=True, env=env, check=False)
    assert out.returncode == 0
    for option in ["--model", "--dataset", "--epochs", "--batch-size", "--lr", "--out", "--seed",
                   "--limit", "--validation-split", "--quiet", "--download", "--overwrite"]:
        assert option in out.stdout
    assert "tiny-shakespeare: 1 epoch," in " ".join(out.stdout.split())
    for name in ["mlp", "cnn", "lstm", "gpt", "digits", "fashion-mnist", "mnist", "boston-housing",
                 "tiny-shakespeare", "Defaults per data set"]:
        assert name in out.stdout
    top = subprocess.run([sys.executable, "-m", "gradkit.cli", "--help"], capture_output=True, text=True, env=env, check=False)
    assert top.returncode == 0 and all(c in top.stdout for c in ("train", "evaluate", "predict"))
