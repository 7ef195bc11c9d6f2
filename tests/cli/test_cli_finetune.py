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

import numpy as np
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


def test_twenty_steps_lower_the_training_loss(smollm2, tmp_path):
    """The CI fine-tune: 20 LoRA steps on the four training conversations (one batch of four,
    repeated), at a rate that learns them. (The two held-out ones ask other facts: 20 steps on
    four examples overfit, so their loss is not asserted.)"""
    data = _write_jsonl(tmp_path / "tiny.jsonl", CONVERSATIONS)
    out = tmp_path / "run20"
    r = gradkit_cmd("finetune", "smollm2", "--data", str(data), "--eval-split", "0.34",
                    "--max-steps", "20", "--batch-size", "4", "--max-len", "64", "--lr", "2e-3",
                    "--warmup", "0", "--prompts", "Say hello.", "--out", str(out))
    assert r.returncode == 0, r.stderr
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    losses = info["losses"]
    assert info["steps"] == 20 and len(losses) == 20
    assert np.mean(losses[-3:]) < 0.5 * np.mean(losses[:3]), losses
    assert math.isfinite(info["eval_loss_after"])


def test_quantized_lora_uses_less_memory_and_loads_on_the_float_base(run, smollm2, tmp_path):
    from gradkit.models import LlamaForCausalLM
    from gradkit.peft import PeftModel

    data = _write_jsonl(tmp_path / "tiny.jsonl", CONVERSATIONS)
    out = tmp_path / "qlora"
    r = gradkit_cmd("finetune", "smollm2", "--data", str(data), "--eval-split", "0.34",
                    "--max-steps", "3", "--batch-size", "2", "--max-len", "64", "--lora-r", "4",
                    "--quantized", "--prompts", "Hi", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "QLoRA (quantized base) r=4" in r.stdout
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    float_info = json.loads((run[1] / "run.json").read_text(encoding="utf-8"))
    assert info["method"] == "qlora" and info["steps"] == 3
    # the same parameters counted (quantized weights as frozen ones), the same trainable ones
    assert info["all_parameters"] == float_info["all_parameters"]
    assert info["trainable_parameters"] == float_info["trainable_parameters"]
    # the model's weights in memory: Q4_1/Q8_0 blocks against float32 (the process's peak
    # resident size, also in run.json, moves with the machine's state: not asserted)
    assert info["weight_bytes"] < 0.35 * float_info["weight_bytes"], (info["weight_bytes"],
                                                                      float_info["weight_bytes"])
    model = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(smollm2), str(out))
    assert len(list(model.base_model.lora_layers())) == 2 * 30


def test_full_fine_tuning_writes_a_model_that_loads(smollm2, tmp_path):
    import gradkit as gk
    from gradkit.models import LlamaForCausalLM

    data = _write_jsonl(tmp_path / "tiny.jsonl", CONVERSATIONS)
    out = tmp_path / "full"
    r = gradkit_cmd("finetune", "smollm2", "--data", str(data), "--eval-split", "0.34",
                    "--max-steps", "2", "--batch-size", "2", "--max-len", "64", "--full",
                    "--lr", "1e-5", "--checkpointing", "--prompts", "Hi", "--out", str(out))
    assert r.returncode == 0, r.stderr
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["method"] == "full" and info["settings"]["target"] is None
    assert info["trainable_parameters"] == info["all_parameters"]
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert not (out / "adapter_config.json").exists()
    tuned, base = LlamaForCausalLM.from_pretrained(str(out)), LlamaForCausalLM.from_pretrained(smollm2)
    assert tuned.tokenizer is not None
    t, b = dict(tuned.named_parameters()), dict(base.named_parameters())
    assert t.keys() == b.keys()
    moved = [k for k in t if not np.array_equal(t[k].detach().numpy(), b[k].detach().numpy())]
    assert len(moved) == len(t)           # every weight trained (and the tied head saved once)
    ids = np.asarray([base.tokenizer.encode("The capital of France is")])
    with gk.no_grad():
        diff = np.abs(tuned(ids).logits.numpy() - base(ids).logits.numpy()).max()
    assert 0 < diff < 1.0                 # two small steps: close to the base, not equal


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


# === --task classify: MiniLM on labelled sentences ================================================
# Real sentences from the UCI sentiment set (shared/data/sentiment): 64 Yelp reviews for training
# and 32 more held out, half of each label, interleaved. Each run is a few steps on the 22M
# parameter encoder.
def _sentiment_lines(names=None):
    from shared_files import need_data

    lines = (need_data("sentiment") / "yelp_labelled.txt").read_text(encoding="utf-8").splitlines()
    neg = [line for line in lines if line.endswith("\t0")]
    pos = [line for line in lines if line.endswith("\t1")]
    rows = [x for pair in zip(neg[:48], pos[:48]) for x in pair]
    if names:   # "0"/"1" -> names[0]/names[1]
        rows = [f"{r.rsplit(chr(9), 1)[0]}\t{names[int(r[-1])]}" for r in rows]
    return rows[:64], rows[64:]


def _write_tsv(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def minilm(minilm_folder):   # tests/conftest.py: skips with the hint where it is missing
    return minilm_folder


def _classify(folder, *extra, train=None, held_out=True, names=None):
    """``gradkit finetune minilm --task classify`` on the sentiment lines; (result, out)."""
    tr, ev = _sentiment_lines(names)
    data = _write_tsv(folder / "train.tsv", train or tr)
    argv = ["finetune", "minilm", "--task", "classify", "--data", str(data),
            "--batch-size", "16", "--out", str(folder / "out"), *extra]
    if held_out:
        argv += ["--eval-data", str(_write_tsv(folder / "held_out.tsv", ev))]
    return gradkit_cmd(*argv), folder / "out"


def _run_json(out):
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


def _samples_after(out):
    """The 'after' column of samples.md (label names), in held-out order."""
    rows = [line for line in (out / "samples.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| sentence")]
    return [row.strip("| ").split(" | ")[-1] for row in rows]


@pytest.fixture(scope="module")
def classify_lora(minilm, tmp_path_factory):
    return _classify(tmp_path_factory.mktemp("classify_lora"),
                     "--max-steps", "4", "--lr", "1e-3")


@pytest.mark.data("sentiment")
def test_classify_lora_writes_the_adapter_and_run_json(classify_lora):
    r, out = classify_lora
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    info = _run_json(out)
    assert info["task"] == "classify" and info["method"] == "lora"
    assert info["labels"] == ["0", "1"]
    assert (info["train_sentences"], info["eval_sentences"]) == (64, 32)
    assert info["steps"] == 4 and len(info["losses"]) == 4
    for key in ("eval_accuracy_before", "eval_accuracy_after"):
        assert 0.0 <= info[key] <= 1.0
        assert info[key] * 32 == round(info[key] * 32)      # a count of the 32 held-out sentences
    assert math.isfinite(info["eval_loss_before"]) and math.isfinite(info["eval_loss_after"])
    assert 0 < info["trainable_parameters"] < info["all_parameters"]
    assert info["settings"]["target"] == ["query", "value"]
    config = json.loads((out / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["modules_to_save"] == ["classifier"]
    assert config["task_type"] == "SEQ_CLS"
    assert sorted(config["target_modules"]) == ["query", "value"]
    assert "held-out accuracy before" in r.stdout and "held-out accuracy after" in r.stdout
    assert "LoRA r=8" in r.stdout and "+ the classifier" in r.stdout
    assert len(_samples_after(out)) == 8


@pytest.mark.data("sentiment")
def test_classify_adapter_loads_back_with_the_same_held_out_results(classify_lora, minilm):
    from gradkit.cli.finetune import evaluate_classifier
    from gradkit.data import LabelledSentences, SentenceCollator
    from gradkit.models import BertForSequenceClassification
    from gradkit.peft import PeftModel

    r, out = classify_lora
    assert r.returncode == 0, r.stderr
    info = _run_json(out)
    with pytest.warns(UserWarning, match="newly initialized"):   # the head: from the adapter
        base = BertForSequenceClassification.from_pretrained(minilm, num_labels=2)
    model = PeftModel.from_pretrained(base, str(out))
    held_out = LabelledSentences(str(out.parent / "held_out.tsv"))
    collate = SentenceCollator(base.tokenizer, info["settings"]["max_len"])
    acc, loss, preds = evaluate_classifier(model, held_out, collate, 16)
    # the loss moves by ~5e-4 in these 4 steps: a tolerance far below that tells the trained
    # head and adapter from a fresh one
    assert loss == pytest.approx(info["eval_loss_after"], rel=1e-5, abs=1e-6)
    assert abs(info["eval_loss_after"] - info["eval_loss_before"]) > 1e-5
    assert acc == pytest.approx(info["eval_accuracy_after"], abs=1 / 32 + 1e-9)
    after = _samples_after(out)
    assert sum(str(p) == a for p, a in zip(preds, after)) >= len(after) - 1


@pytest.mark.data("sentiment")
def test_classify_full_writes_a_model_that_loads_with_the_data_labels(minilm, tmp_path):
    from gradkit.cli.finetune import evaluate_classifier
    from gradkit.data import LabelledSentences, SentenceCollator
    from gradkit.models import BertForSequenceClassification

    r, out = _classify(tmp_path, "--full", "--max-steps", "2", "--lr", "1e-4",
                       names=("negative", "positive"))
    assert r.returncode == 0, r.stderr
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert not (out / "adapter_model.safetensors").exists()
    info = _run_json(out)
    assert info["method"] == "full" and info["labels"] == ["negative", "positive"]
    assert info["trainable_parameters"] == info["all_parameters"]
    assert "all parameters" in r.stdout
    model = BertForSequenceClassification.from_pretrained(str(out))
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.tokenizer is not None
    held_out = LabelledSentences(str(tmp_path / "held_out.tsv"))
    assert held_out.label_names == ["negative", "positive"]
    acc, loss, _ = evaluate_classifier(model, held_out, SentenceCollator(model.tokenizer, 256), 16)
    assert loss == pytest.approx(info["eval_loss_after"], rel=1e-5, abs=1e-6)


@pytest.mark.data("sentiment")
def test_classify_from_scratch_trains_random_weights_whole(minilm, tmp_path):
    import numpy as np

    from gradkit.models import BertForSequenceClassification

    r, out = _classify(tmp_path, "--from-scratch", "--max-steps", "2", "--lr", "1e-4")
    assert r.returncode == 0, r.stderr
    info = _run_json(out)
    assert info["method"] == "full" and info["task"] == "classify"
    assert info["trainable_parameters"] == info["all_parameters"]
    assert "from scratch" in r.stdout.splitlines()[0]
    assert (out / "model.safetensors").is_file()
    # two steps at lr 1e-4 move a weight by ~2e-4: far less than the distance from pretrained
    trained = BertForSequenceClassification.from_pretrained(str(out))
    with pytest.warns(UserWarning, match="newly initialized"):
        pretrained = BertForSequenceClassification.from_pretrained(minilm, num_labels=2)
    w = trained.state_dict()["bert.embeddings.word_embeddings.weight"].numpy()
    w0 = pretrained.state_dict()["bert.embeddings.word_embeddings.weight"].numpy()
    assert np.abs(w - w0).max() > 1e-2


@pytest.mark.data("sentiment")
def test_classify_eval_split_is_stratified_and_seeded(minilm, tmp_path):
    import numpy as np

    from gradkit.data import LabelledSentences

    r, out = _classify(tmp_path, "--eval-split", "0.25", "--max-steps", "1", held_out=False)
    assert r.returncode == 0, r.stderr
    info = _run_json(out)
    assert (info["train_sentences"], info["eval_sentences"]) == (48, 16)
    # the held-out sentences are LabelledSentences.split(0.25, seed=0)'s: 8 of each label
    _, test = LabelledSentences(str(tmp_path / "train.tsv")).split(0.25, seed=0)
    assert np.bincount(test.labels).tolist() == [8, 8]
    rows = [line for line in (out / "samples.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| sentence")]
    shown = [row.strip("| ").split(" | ") for row in rows]
    assert [s[0] for s in shown] == [t.replace("|", "/") for t in test.texts[:8]]
    assert [s[1] for s in shown] == [str(y) for y in test.labels[:8]]


# --- errors: one line, exit status 2 -------------------------------------------------------------
SHORT = ["a fine meal\tpos", "a dreadful meal\tneg", "lovely staff\tpos", "rude staff\tneg",
         "great value\tpos", "poor value\tneg"]


def test_classify_refuses_quantized(tmp_path):
    _write_tsv(tmp_path / "d.tsv", SHORT)
    _one_line_error(gradkit_cmd("finetune", "minilm", "--task", "classify", "--data", "d.tsv",
                                "--quantized", "--out", "o"),
                    r"--quantized .*--task classify.*leave --quantized out")


def test_from_scratch_needs_task_classify(tmp_path):
    _write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS)
    _one_line_error(gradkit_cmd("finetune", "smollm2", "--data", "d.jsonl", "--from-scratch",
                                "--out", "o"),
                    r"--from-scratch is for --task classify")


def test_chat_refuses_quantized_with_full(tmp_path):
    _write_jsonl(tmp_path / "d.jsonl", CONVERSATIONS)
    _one_line_error(gradkit_cmd("finetune", "smollm2", "--data", "d.jsonl", "--quantized",
                                "--full", "--out", "o"),
                    r"--quantized.*--full.*give one or the other")


def test_classify_eval_data_with_an_unknown_label_names_it(tmp_path):
    _write_tsv(tmp_path / "d.tsv", SHORT)
    _write_tsv(tmp_path / "e.tsv", ["fine\tpos", "so-so\tneutral", "bad\tneg"])
    _one_line_error(gradkit_cmd("finetune", "minilm", "--task", "classify", "--data", "d.tsv",
                                "--eval-data", "e.tsv", "--out", "o"),
                    r"--eval-data e\.tsv: labels \['neutral'\] do not occur in --data")


def test_classify_a_line_without_a_tab_names_the_file_and_line(tmp_path):
    _write_tsv(tmp_path / "d.tsv", SHORT[:2] + ["this line has no label"] + SHORT[2:])
    _one_line_error(gradkit_cmd("finetune", "minilm", "--task", "classify", "--data", "d.tsv",
                                "--out", "o"),
                    r"--data d\.tsv:3: expected 'text<TAB>label'")


def test_classify_missing_data_file_names_the_format(tmp_path):
    _one_line_error(gradkit_cmd("finetune", "minilm", "--task", "classify", "--data", "no.tsv",
                                "--out", "o"),
                    r"--data .*no\.tsv.*sentence<TAB>label")


@pytest.mark.parametrize("label", ["pos", "0", "1"])   # "1" alone numbers labels 0 and 1
def test_classify_needs_two_labels(tmp_path, label):
    _write_tsv(tmp_path / "d.tsv", [f"sentence {i}\t{label}" for i in range(6)])
    _one_line_error(gradkit_cmd("finetune", "minilm", "--task", "classify", "--data", "d.tsv",
                                "--out", "o"),
                    rf"--data d\.tsv: every training sentence has the label '{label}'; .*two "
                    "labels")
