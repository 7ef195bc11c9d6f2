"""Pretraining pays: the Shakespeare GPT of examples/shakespeare_gpt.py fine-tuned as a language
model on the review sentences of the sentiment data set (fully, and with LoRA), against the same
model trained from scratch for the same steps; within 20 minutes.

The pretrained weights are the ones examples/shakespeare_gpt.py writes to
runs/shakespeare_gpt/model.safetensors (run it first). The sentiment sentences (2,400 training,
600 held out; the fixed split of gradkit.datasets.sentiment_sentences) are joined one per line
into a character stream in the Shakespeare vocabulary (the 0.5% of characters it lacks, digits
and brackets mostly, become spaces). Each of three runs takes 300 AdamW steps of 32 random
windows of 128 characters (lr warm-up and cosine decay as in pretraining), and the held-out loss
per character is measured every 50 steps:

    scratch   the same architecture, freshly initialised (lr 1e-3)
    full      every weight from the pretrained model (lr 3e-4)
    lora      the pretrained model frozen, LoRA r=8 (alpha 16) on c_attn, c_proj, c_fc (lr 2e-3)

    python examples/gpt_finetune_sentiment.py
Needs: examples/shakespeare_gpt.py's weights, the sentiment files in $GRADKIT_DATA/sentiment.
"""
import os
import time

import numpy as np

import reproduce
import shakespeare_gpt

BUDGET, STEPS, BATCH, SEQ = 20, 300, 32, 128
WEIGHTS = os.path.join(reproduce.ROOT, "runs", "shakespeare_gpt", "model.safetensors")
RUNS = {"scratch": 1e-3, "full": 3e-4, "lora": 2e-3}


def sentiment_ids(vocab):
    from gradkit import datasets

    index = {c: i for i, c in enumerate(vocab)}
    space = index[" "]
    encode = lambda sentences: np.array([index.get(c, space) for c in  # noqa: E731
                                         "\n".join(sentences) + "\n"], np.int64)
    return (encode(datasets.sentiment_sentences("train")[0]),
            encode(datasets.sentiment_sentences("test")[0]))


def build(gk, vocab_size, name):
    from gradkit.models import GPT
    from gradkit.peft import LoraConfig, get_peft_model

    w = shakespeare_gpt
    model = GPT(vocab_size, w.SEQ, w.LAYERS, w.HEADS, w.WIDTH, w.DROPOUT)
    if name != "scratch":
        model.load_state_dict(gk.load(WEIGHTS))
    if name == "lora":
        model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0,
                                                 target_modules=["c_attn", "c_proj", "c_fc"]))
    return model


def main():
    ap = reproduce.parser(__doc__, BUDGET, None, peer=False)
    ap.add_argument("--steps", type=int, default=STEPS, help=f"(default: {STEPS})")
    args = ap.parse_args()
    if not os.path.isfile(WEIGHTS):
        raise SystemExit(f"{WEIGHTS} is missing: run python examples/shakespeare_gpt.py first "
                         "(it writes the pretrained weights there)")
    import gradkit as gk

    fw = reproduce.Framework("gradkit", os.cpu_count())
    _, _, vocab = reproduce.shakespeare_ids()
    train, held = sentiment_ids(vocab)
    start = time.perf_counter()
    results = {}
    for name, lr in RUNS.items():
        gk.manual_seed(args.seed)
        model = build(gk, len(vocab), name)
        trainable = [p for p in model.parameters() if p.requires_grad]
        before = reproduce.validation_loss(fw, model, held, SEQ)
        opt = gk.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
        r = reproduce.train_language_model(fw, model, opt, (train, held), args.steps, BATCH, SEQ,
                                           args.seed, args.budget_min / len(RUNS), eval_every=50)
        r.update(before=before, trainable=sum(p.numel() for p in trainable))
        results[name] = r
    seconds = time.perf_counter() - start
    labels = {"scratch": "from scratch", "full": "pretrained, full fine-tuning",
              "lora": "pretrained, LoRA r=8"}
    rows = [[labels[n], f"{r['trainable']:,}", f"{r['before']:.3f}",
             f"**{r['val_loss']:.3f}**", f"{r['best_val_loss']:.3f}",
             f"{r['seconds'] / 60:.1f} min"] for n, r in results.items()]
    wins = all(results[n]["best_val_loss"] < results["scratch"]["best_val_loss"]
               for n in ("full", "lora"))
    body = (f"Held-out loss per character (nats) on the 600 held-out sentences, {args.steps} "
            f"steps each; pretraining must win: **{'it does' if wins else 'it does NOT'}**. "
            f"All three in {seconds / 60:.1f} min (budget {args.budget_min:g}: "
            f"{'met' if seconds <= args.budget_min * 60 else 'MISSED'}; load "
            f"{os.getloadavg()[2]:.1f}).\n\n"
            + reproduce.markdown_table(["run", "trainable parameters", "before", "after",
                                        "best", "time"], rows)
            + "\n\nHeld-out loss by step: " + "; ".join(
                f"{labels[n]}: " + ", ".join(f"{s}: {v:.3f}" for s, v in
                                              zip(r["history"]["step"], r["history"]["val_loss"]))
                for n, r in results.items()) + ".")
    print(body)
    if not args.no_record:
        reproduce.record("gpt_finetune_sentiment", "GPT pretrained on Shakespeare, fine-tuned "
                         "on review sentences", body, seconds)


if __name__ == "__main__":
    main()
