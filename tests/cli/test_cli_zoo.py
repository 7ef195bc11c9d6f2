"""`gradkit train --model NAME` for the zoo of gradkit.models (lenet5, convnet, resnet8/20,
char_rnn, gpt, each in a keras TorchModuleWrapper) and `gradkit sample RUN`: a zoo model learns,
its run folder loads back to the same numbers, resumes bit for bit, and sample's options do what
they say."""
import json
import signal
from pathlib import Path

import numpy as np
import pytest

from gradkit.cli import main
from gradkit.cli.train import TASKS
from gradkit.keras.models import load_model

from test_cli_resume import _files, _hooked


def _metrics(folder):
    return json.loads((Path(folder) / "metrics.json").read_text())


def test_every_zoo_model_is_a_choice_of_the_data_sets_it_fits():
    assert {"lenet5", "convnet", "resnet8", "resnet20"} <= set(TASKS["fashion-mnist"]["models"])
    assert {"char_rnn", "gpt"} <= set(TASKS["tiny-shakespeare"]["models"])
    assert "lenet5" not in TASKS["digits"]["models"]   # LeNet-5 takes 28 or 32 px images


def test_a_zoo_convnet_learns_the_digits_and_its_run_loads_back(capsys):
    assert main(["train", "--model", "convnet", "--dataset", "digits", "--epochs", "3",
                 "--quiet", "--out", "conv"]) == 0
    test = _metrics("conv")["test"]
    assert test["accuracy"] >= 0.9, test
    capsys.readouterr()
    assert main(["evaluate", "conv", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again == pytest.approx(test, rel=1e-6)
    model = load_model("conv/model.keras")
    assert type(model.layers[1]).__name__ == "TorchModuleWrapper"
    assert type(model.layers[1].module).__name__ == "ConvNet"


def test_a_zoo_model_killed_mid_epoch_resumes_to_the_uninterrupted_run(tmp_path, capsys):
    args = ["train", "--model", "resnet8", "--dataset", "digits", "--limit", "200",
            "--epochs", "2", "--quiet"]   # 180 samples, batch 32: 6 steps per epoch
    assert main(args + ["--out", "full"]) == 0
    killed = _hooked(tmp_path, "SIGKILL", 9, *args, "--checkpoint-every", "2", "--out", "cut")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _files("cut") == ["checkpoint.safetensors"]
    assert main(args + ["--checkpoint-every", "2", "--out", "cut", "--resume"]) == 0
    wa, wb = (load_model(f"{f}/model.keras").get_weights() for f in ("full", "cut"))
    assert len(wa) == len(wb) and all(np.array_equal(a, b) for a, b in zip(wa, wb))  # BN stats too
    assert _metrics("cut")["step_loss"] == _metrics("full")["step_loss"]


@pytest.mark.data("tinyshakespeare")
@pytest.mark.parametrize("model", ["gpt", "char_rnn"])
def test_a_zoo_language_model_trains_and_samples(model, capsys):
    assert main(["train", "--model", model, "--dataset", "tiny-shakespeare", "--limit", "256",
                 "--seq-len", "32", "--quiet", "--out", model]) == 0
    history = _metrics(model)["step_loss"]
    assert history[-1] < history[0] - 0.5, history   # from ln 65 = 4.17 towards the unigram's
    vocab = json.loads(Path(f"{model}/run.json").read_text())["preprocessing"]["vocabulary"]
    capsys.readouterr()

    def sample(*options):
        assert main(["sample", model, "--max-new-tokens", "40", *options]) == 0
        return capsys.readouterr().out[:-1]   # print's new line

    text = sample("--prompt", "ROMEO:", "--seed", "3")
    assert text.startswith("ROMEO:") and len(text) == 46 and set(text) <= set(vocab)
    assert sample("--prompt", "ROMEO:", "--seed", "3") == text          # the seed repeats it
    assert sample("--prompt", "ROMEO:", "--seed", "4") != text
    greedy = sample("--prompt", "ROMEO:", "--temperature", "0", "--seed", "1")
    assert sample("--prompt", "ROMEO:", "--temperature", "0", "--seed", "2") == greedy
    assert sample("--prompt", "ROMEO:", "--top-k", "1", "--seed", "5") == greedy  # top-1 = argmax
    two = sample("--num-samples", "2", "--output", "out.txt")
    assert two.count("\n---------------\n") == 1 and len(two.split("\n---------------\n")[1]) == 41
    assert Path("out.txt").read_text() == two + "\n"


def test_sample_on_a_classifier_run_says_to_use_predict(capsys):
    assert main(["train", "--model", "mlp", "--epochs", "1", "--quiet", "--out", "m"]) == 0
    capsys.readouterr()
    assert main(["sample", "m"]) == 2
    err = capsys.readouterr().err
    assert "gradkit sample is for language models" in err and "use gradkit predict m" in err


def test_lenet5_on_the_8px_digits_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--model", "lenet5", "--dataset", "digits"])
    assert e.value.code == 2
    assert "--model lenet5 does not fit --dataset digits" in capsys.readouterr().err
