"""``gradkit train``, ``evaluate`` and ``predict``: a Keras-style model on a real data set,
written to a run folder that the other two read back (see the package's docstring)."""
import contextlib
import datetime
import json
import math
import os
import shlex
import sys

import numpy as np

from ..ops import kernels
from .common import (Interrupted, UsageError, fmt, fraction, interrupt_at_step_end,
                     non_negative_float, plural, positive_float, positive_int, resume_command,
                     staged_folder, table, write_json)

__all__ = ["add_commands", "cmd_train", "cmd_evaluate", "cmd_predict", "cmd_sample", "load_data", "build_model",
           "TASKS"]

# the models: mlp, cnn and lstm are Keras layer stacks (keras.applications); the others are
# gradkit.models' zoo, each in a keras.layers.TorchModuleWrapper (ZOO: the data's kind -> the zoo
# names it takes, and the arguments each gets beyond the data's own)
IMAGE_ZOO = ("lenet5", "convnet", "resnet8", "resnet20")
TEXT_ZOO = ("gpt", "char_rnn")
MODELS = ("mlp", "cnn", "lstm") + IMAGE_ZOO + TEXT_ZOO
ZOO_ARGS = {"gpt": {"n_layer": 2, "n_head": 4, "n_embd": 64},
            "char_rnn": {"cell": "lstm", "hidden_size": 128, "num_layers": 1}}
DATASETS = ("digits", "fashion-mnist", "mnist", "boston-housing", "tiny-shakespeare")
IMAGES = ("mlp", "cnn", "lstm") + IMAGE_ZOO   # lenet5: 28 px images only (not the 8 px digits)

# what each data set is, and the settings a run uses when the command line does not say
TASKS = {
    "digits": {"kind": "classify", "models": tuple(m for m in IMAGES if m != "lenet5"), "epochs": 20, "batch_size": 32, "lr": 1e-3},
    "fashion-mnist": {"kind": "classify", "models": IMAGES, "epochs": 3, "batch_size": 64, "lr": 1e-3},
    "mnist": {"kind": "classify", "models": IMAGES, "epochs": 3, "batch_size": 64, "lr": 1e-3},
    "boston-housing": {"kind": "regress", "models": ("mlp",), "epochs": 100, "batch_size": 16, "lr": 1e-2},
    "tiny-shakespeare": {"kind": "language", "models": ("mlp", "lstm") + TEXT_ZOO, "epochs": 1, "batch_size": 32, "lr": 3e-3},
}
FILES = {"model": "model.keras", "run": "run.json", "metrics": "metrics.json", "curves": "curves.png"}


# === data ========================================================================================
def _images(name, split, args):
    from .. import datasets

    if name == "digits":
        x, y = datasets.digits(split)
        return x.reshape(-1, 8, 8), y, 16.0
    loader = datasets.fashion_mnist if name == "fashion-mnist" else datasets.mnist
    x, y = loader(split, root=args.data_dir, download=args.download)
    return x, y, 255.0


def _class_names(name):
    from .. import datasets

    if name == "fashion-mnist":
        return list(datasets.FASHION_MNIST_CLASSES)
    return [str(d) for d in range(10)]


def _limit(limit, *arrays):
    return arrays if limit is None else tuple(a[:limit] for a in arrays)


def load_data(run, split, args, limit=None):
    """(x, y) of ``split`` ('train' or 'test'), preprocessed as ``run`` says, at most ``limit``
    samples. Loading 'train' first records the preprocessing (scale, statistics, vocabulary)
    in ``run``, so that evaluate and predict can repeat it."""
    from .. import datasets

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


@contextlib.contextmanager
def _reading_data(args):
    """A failed download or an unreadable data file as one line (a file that is not there at
    all, DatasetNotFoundError, is worded by the package's main)."""
    from ..datasets import DatasetNotFoundError

    try:
        yield
    except DatasetNotFoundError:
        raise
    except OSError as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        if args.download and lines and lines[0].startswith("download of"):
            # datasets.download: "download of F failed from every mirror:", then "URL: reason"
            reason = lines[1].split(": ", 1)[-1] if len(lines) > 1 else ""
            raise UsageError(f"--download: {lines[0].rstrip(':')} ({reason}); check the network "
                             "connection (or proxy), or copy the data files into a folder and "
                             "pass --data-dir DIR") from None
        raise UsageError(f"cannot read the data: {' '.join(lines) or e}; check the files, or "
                         "give another folder with --data-dir DIR") from None


def _split_validation(x, y, share):
    """(fit, validation): the last ``floor(n * share)`` samples held out, as Keras'
    validation_split does; done here so that each step's batch size is known (per-step loss)
    and an empty part is the user's mistake, not fit's traceback."""
    if not share:
        return (x, y), None
    n = len(x)
    cut = int(math.floor(n * (1.0 - share)))
    if cut == 0 or cut == n:
        raise UsageError(f"--validation-split {share:g} of {plural(n, 'training sample')} "
                         f"leaves {cut} for training and {n - cut} for validation; use more "
                         "samples (--limit) or --validation-split 0")
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


# === models ======================================================================================
def build_model(run):
    """The compiled Keras model for ``run`` (its model kind, data set and preprocessing)."""
    from .. import keras
    from ..keras import applications

    kind, model_name = TASKS[run["dataset"]]["kind"], run["model"]
    p = run["preprocessing"]
    if kind == "classify":
        if model_name in IMAGE_ZOO:
            model = _zoo_image_classifier(model_name, p["image_shape"], len(p["classes"]))
        else:
            model = applications.image_classifier(model_name, p["image_shape"], len(p["classes"]))
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    elif kind == "regress":
        model = applications.regressor(len(p["mean"]))
        loss, metrics = "mse", ["mae"]
    else:
        if model_name in TEXT_ZOO:
            model = _zoo_language_model(model_name, len(p["vocabulary"]), run["seq_len"])
        else:
            model = applications.char_language_model(model_name, len(p["vocabulary"]),
                                                     run["seq_len"])
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = ["accuracy"]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=run["lr"]), loss=loss,
                  metrics=metrics)
    return model


def _zoo_image_classifier(name, image_shape, classes):
    """A zoo classifier on (H, W) images: reshaped to one channel, class probabilities out."""
    from .. import keras
    from ..models import create_model

    h, w = image_shape
    kwargs = {"num_classes": classes, "in_channels": 1}
    if name in ("lenet5", "convnet"):
        if h != w:
            raise UsageError(f"--model {name} takes square images; these are {h}x{w}")
        kwargs["image_size"] = h
    layers = keras.layers
    return keras.Sequential([layers.Input(shape=(h, w)), layers.Reshape((1, h, w)),
                             layers.TorchModuleWrapper(create_model(name, **kwargs)),
                             layers.Softmax()])


def _zoo_language_model(name, vocab_size, seq_len):
    """A zoo language model: next-character logits (B, T, vocab_size) from ids (B, T)."""
    from .. import keras
    from ..models import create_model

    kwargs = dict(ZOO_ARGS[name], vocab_size=vocab_size)
    if name == "gpt":
        kwargs["block_size"] = seq_len
    wrapped = keras.layers.TorchModuleWrapper(
        create_model(name, **kwargs), output_index=0 if name == "char_rnn" else None)
    model = keras.Sequential([wrapped])
    model(np.zeros((1, seq_len), np.int64))   # build on token ids (an Input would build on floats)
    return model


# === output ======================================================================================
def summary_table(history, test):
    """Rows metric | train (last epoch) | validation | test."""
    names = [k for k in history if not k.startswith("val_")]
    rows = []
    for k in names:
        rows.append([k, fmt(history[k][-1] if history[k] else None),
                     fmt(history.get("val_" + k, [None])[-1]), fmt(test.get(k))])
    return table(rows, ["metric", "train", "validation", "test"])


def _damaged(what, problem, folder, run=None):
    """"the run is damaged: train it again", with the command that made it (run.json's, with
    its --out set to where the run is now) when it is known."""
    words = shlex.split((run or {}).get("command") or "gradkit train")
    again, skip = [], False
    for w in words:
        if skip or w == "--overwrite" or w.startswith("--out="):
            skip = False
            continue
        skip = w == "--out"
        if not skip:
            again.append(w)
    again += ["--out", folder or ".", "--overwrite"]
    return UsageError(f"{what}: {problem}; the run is damaged: train it again ({shlex.join(again)})")


def _read_run(path):
    """(run, model, folder) of the run folder ``path`` (or of its model.keras); a missing or
    damaged file is a UsageError naming it."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    run_file = os.path.join(folder, FILES["run"])
    model_file = os.path.join(folder, FILES["model"])
    missing = [f for f in (run_file, model_file) if not os.path.isfile(f)]
    if len(missing) == 2 and os.path.isfile(os.path.join(folder, "checkpoint.safetensors")):
        raise UsageError(f"{path}: holds only the checkpoint of an interrupted run; finish it "
                         f"first: the command that started it, with --resume")
    if len(missing) == 2:
        raise UsageError(f"{path}: not a gradkit run folder (expected {FILES['run']} and "
                         f"{FILES['model']} in it); train one first: gradkit train --out {path}")
    if missing:
        raise _damaged(missing[0], "missing", folder)
    try:
        with open(run_file, encoding="utf-8") as f:
            run = json.load(f)
    except (ValueError, OSError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _damaged(run_file, f"not readable JSON ({e})", folder) from None
    if not isinstance(run, dict) or not {"model", "dataset", "preprocessing"} <= set(run) \
            or run["dataset"] not in TASKS:
        raise _damaged(run_file, "not a run description (no model, dataset or preprocessing "
                                 "that gradkit train writes)", folder)
    from ..keras.saving import load_model

    try:
        model = load_model(model_file)
    except (ValueError, KeyError, TypeError, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise _damaged(model_file, f"cannot be loaded ({first})", folder, run) from None
    return run, model, folder


def _data_dir(args, run):
    """--data-dir, else the one the run was trained with (run.json), else the default search."""
    if args.data_dir is None:
        args.data_dir = run.get("data_dir")
    return args


# === commands ====================================================================================
def _provenance(args):
    """What made the run: gradkit's version (and the clone's commit), when, and the command."""
    from .. import __version__
    from .._install import git_commit

    made = {"version": __version__}
    commit = git_commit()
    if commit:
        made["commit"] = commit
    return {"gradkit": made,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": getattr(args, "command_line", None)}


def cmd_train(args, out=None):
    """Train, evaluate and write the run (see the package's docstring). ``--checkpoint-every N``
    saves the whole training state to --out every N steps, Ctrl-C saves it at the end of the
    step and stops (exit status 130, printing the command that resumes), and ``--resume``
    continues from it exactly as the uninterrupted run would have gone on: the same weights
    and per-step losses, bit for bit (keras.callbacks.BackupAndRestore)."""
    out = out or sys.stdout
    from .. import manual_seed
    from . import train_resume   # imports gradkit.keras: only when training

    args.resume = getattr(args, "resume", False)
    args.command_line = getattr(args, "command_line", None)
    task = TASKS[args.dataset]
    run = {"model": args.model, "dataset": args.dataset, "seed": args.seed,
           "epochs": args.epochs or task["epochs"], "batch_size": args.batch_size or task["batch_size"],
           "lr": args.lr or task["lr"], "limit": args.limit}
    if task["kind"] == "language":
        run["seq_len"] = args.seq_len
    run["data_dir"] = os.path.abspath(args.data_dir) if args.data_dir else None
    run.update(_provenance(args))
    folder = args.out or os.path.join("runs", f"{args.model}-{args.dataset}")
    settings = train_resume.settings(run, args)
    again = resume_command(args.command_line or train_resume.command_of(run, args), folder)
    resumed = train_resume.check_folder(args, folder, settings, again, FILES)  # before any work
    checkpoint = os.path.join(folder, train_resume.CHECKPOINT)
    if args.overwrite and os.path.isfile(checkpoint):
        os.remove(checkpoint)  # an interrupted run that --overwrite starts again
    try:
        manual_seed(args.seed)
        with _reading_data(args):
            x_train, y_train = load_data(run, "train", args, args.limit)
            x_test, y_test = load_data(run, "test", args)
        (x_fit, y_fit), val = _split_validation(x_train, y_train, args.validation_split)
        model = build_model(run)
        held = (f", {plural(len(val[0]), 'validation sample')} (the last "
                f"{args.validation_split:.0%})" if val else "")
        print(f"gradkit train: {args.model} on {args.dataset}: "
              f"{plural(len(x_fit), 'training sample')}{held}, {plural(len(x_test), 'test sample')}, "
              f"{plural(model.count_params(), 'parameter')}", file=out)

        log = train_resume.RunLog(settings, run, len(x_fit), run["batch_size"])
        if resumed:
            state, saved = resumed
            run = dict(saved["run"], data_dir=run["data_dir"],
                       resumed=list(saved["run"].get("resumed", [])) + [_provenance(args)])
            log.run = run
            print(f"resuming from {checkpoint}: epoch {state['epoch'] + 1}, after step "
                  f"{state['step']}", file=out)
        names = list(FILES.values()) + [train_resume.CHECKPOINT]
        with staged_folder(folder, args.overwrite or args.resume, names,
                           own=[train_resume.CHECKPOINT]) as stage:
            with interrupt_at_step_end() as interrupted:
                backup = train_resume.Checkpoints(
                    folder, getattr(args, "checkpoint_every", None), interrupted, again)
                history = model.fit(x_fit, y_fit, epochs=run["epochs"],
                                    batch_size=run["batch_size"], validation_data=val,
                                    shuffle=True, verbose=0 if args.quiet else 1,
                                    callbacks=[log, backup])
            seconds = log.seconds
            test = model.evaluate(x_test, y_test, batch_size=256, verbose=0, return_dict=True)

            model.save(os.path.join(stage, FILES["model"]))
            write_json(os.path.join(stage, FILES["run"]), run)
            hist = {k: [float(v) for v in vs] for k, vs in history.history.items()}
            metrics = {"model": args.model, "dataset": args.dataset, "settings": run,
                       "history": hist, "step_loss": log.step_loss,
                       "steps_per_epoch": math.ceil(len(x_fit) / run["batch_size"]),
                       "test": {k: float(v) for k, v in test.items()},
                       "train_seconds": round(seconds, 3), "parameters": int(model.count_params()),
                       "samples": {"train": int(len(x_train)), "test": int(len(x_test))}}
            write_json(os.path.join(stage, FILES["metrics"]), metrics)
            written = [FILES["model"], FILES["run"], FILES["metrics"]]
            try:
                from ..plot import training_curves

                training_curves(history, os.path.join(stage, FILES["curves"]),
                                title=f"{args.model} on {args.dataset}")
                written.append(FILES["curves"])
            except ImportError as e:
                print(f"note: {FILES['curves']} not written: {e}", file=out)
    except KeyboardInterrupt:
        if os.path.isfile(checkpoint):
            raise Interrupted(f"interrupted (Ctrl-C); no run written to {folder}; its last "
                              f"checkpoint is kept: resume with: {again}") from None
        raise Interrupted(f"interrupted (Ctrl-C); no run written to {folder}; run the command "
                          "again to train") from None

    print("", file=out)
    print(summary_table(hist, metrics["test"]), file=out)
    print(f"\n{plural(len(history.epoch), 'epoch')} in {seconds:.1f} s; wrote "
          f"{', '.join(written)} to {folder}", file=out)
    return 0


def cmd_evaluate(args, out=None):
    out = out or sys.stdout
    run, model, folder = _read_run(args.run)
    with _reading_data(_data_dir(args, run)):
        x, y = load_data(run, "test", args, args.limit)
    result = {k: float(v) for k, v in
              model.evaluate(x, y, batch_size=256, verbose=0, return_dict=True).items()}
    if args.json:
        print(json.dumps(result), file=out)
    else:
        print(f"gradkit evaluate: {run['model']} on the {run['dataset']} test split "
              f"({plural(len(x), 'sample')}), from {folder}", file=out)
        print(table([[k, fmt(v)] for k, v in result.items()], ["metric", "test"]), file=out)
    return 0


def _generate(model, run, prompt, length, temperature, rng, top_k=None):
    """``prompt`` and ``length`` more characters, each drawn from softmax(logits / temperature)
    over the ``top_k`` most likely (all when None); temperature 0 takes the most likely one
    (greedy). The step is the one every generate in gradkit.models takes (next_tokens)."""
    from ..models.generation import next_tokens

    vocab = run["preprocessing"]["vocabulary"]
    stoi = {c: i for i, c in enumerate(vocab)}
    unknown = sorted({c for c in prompt if c not in stoi})
    if unknown:
        raise UsageError(f"--prompt has characters outside the vocabulary: {''.join(unknown)!r}")
    ids = [stoi[c] for c in prompt] or [stoi.get("\n", 0)]
    seq_len = run["seq_len"]
    for _ in range(length):
        window = np.asarray(ids[-seq_len:], np.int64)[None]
        logits = np.asarray(model.predict(window, verbose=0))[:, -1]
        new = next_tokens(logits, do_sample=temperature > 0, temperature=temperature or 1.0,
                          top_k=top_k, rng=rng)
        ids.append(int(new[0]))
    return "".join(vocab[i] for i in ids)


def cmd_sample(args, out=None):
    """``gradkit sample RUN``: text from a language-model run, as nanoGPT's sample.py gives it."""
    out = out or sys.stdout
    run, model, folder = _read_run(args.run)
    if TASKS[run["dataset"]]["kind"] != "language":
        raise UsageError(f"gradkit sample is for language models (tiny-shakespeare runs); "
                         f"{folder} is {run['model']} on {run['dataset']}: use gradkit predict "
                         f"{args.run}")
    rng = np.random.default_rng(args.seed)
    texts = [_generate(model, run, args.prompt, args.max_new_tokens, args.temperature, rng,
                       args.top_k) for _ in range(args.num_samples)]
    text = "\n---------------\n".join(texts)   # nanoGPT's separator
    print(text, file=out)
    if args.output:
        _write_output(args.output, text + "\n")
    return 0


NPY_HINT = "expected a .npy file of numbers saved with np.save"


def _read_input(path, run, kind):
    """The samples in the .npy file ``path`` as the model takes them, preprocessed: one sample
    (an image, or a row of features) gets the batch axis; a flat image row is reshaped."""
    if not os.path.isfile(path):
        raise UsageError(f"--input {path}: no such file; {NPY_HINT}")
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic != b"\x93NUMPY":  # np.load would take a text file for a pickle
        raise UsageError(f"--input {path}: not a .npy file; {NPY_HINT} (np.save('x.npy', x))")
    try:
        x = np.load(path, allow_pickle=False)
    except ValueError as e:
        what = ("holds Python objects, not numbers" if "allow_pickle" in str(e)
                else f"is damaged ({str(e).splitlines()[0]})")
        raise UsageError(f"--input {path}: {what}; {NPY_HINT}") from None
    if x.dtype.kind not in "biuf":
        what = "strings" if x.dtype.kind in "US" else f"{x.dtype} values"
        raise UsageError(f"--input {path}: holds {what} (dtype {x.dtype}), not numbers; {NPY_HINT}")
    if kind == "regress":
        one, taken = (len(run["preprocessing"]["mean"]),), "features"
    else:
        one, taken = tuple(run["preprocessing"]["image_shape"]), "images"
    size = math.prod(one)
    if x.shape == one or x.shape == (size,):       # one sample: add the batch axis
        x = x.reshape((1,) + one)
    elif x.ndim == 2 and x.shape[1] == size:       # rows of flattened images
        x = x.reshape((-1,) + one)
    if x.shape[1:] != one or len(x) == 0:
        shape = ", ".join(map(str, one))
        raise UsageError(f"--input {path}: shape {x.shape} does not fit; this model takes "
                         f"{taken} of shape ({shape}): one sample ({shape}) or a batch "
                         f"(N, {shape})")
    if kind == "regress":
        return _standardise(run, x)
    return (x / run["preprocessing"]["divide_by"]).astype(np.float32)


def cmd_predict(args, out=None):
    out = out or sys.stdout
    run, model, folder = _read_run(args.run)
    kind = TASKS[run["dataset"]]["kind"]
    if kind == "language":
        if args.input:
            raise UsageError(f"--input is for image and Boston runs; {folder} is a language "
                             "model: give --prompt TEXT to continue")
        text = _generate(model, run, args.prompt or "", args.length, args.temperature,
                         np.random.default_rng(args.seed))
        print(text, file=out)
        if args.output:
            _write_output(args.output, text)
        return 0
    if args.prompt is not None:
        raise UsageError(f"--prompt is for language models (tiny-shakespeare runs); {folder} is "
                         f"{run['model']} on {run['dataset']}: predict its test samples with "
                         "--n N, or your own with --input FILE.npy")
    if args.input:
        x, y = _read_input(args.input, run, kind), None
    else:
        with _reading_data(_data_dir(args, run)):
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
    rows = [[fmt(r[c]) if isinstance(r[c], float) else str(r[c]) for c in header] for r in records]
    print(table(rows, header), file=out)
    if args.output:
        _write_output(args.output, records)
    return 0


def _write_output(path, value):
    """--output: text as it is, records as JSON."""
    try:
        if isinstance(value, str):
            with open(path, "w", encoding="utf-8") as f:
                f.write(value)
        else:
            write_json(path, value)
    except OSError as e:
        raise UsageError(f"--output {path}: cannot write it ({e.strerror or e}); give a file "
                         "in a folder you can write to") from None


# === the parser ==================================================================================
def _data_options(p):
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="folder with the data files (default: for a saved run, the one it was "
                        "trained with; then $GRADKIT_DATA, ~/.cache/gradkit, system folders)")
    p.add_argument("--download", action="store_true",
                   help="fetch missing data files (MNIST's training split, tiny Shakespeare, ...)")


def add_commands(sub):
    """Register train, evaluate and predict on the ``gradkit`` subparsers ``sub``."""
    defaults = "; ".join(f"{d}: {plural(t['epochs'], 'epoch')}, batch {t['batch_size']}, "
                         f"lr {t['lr']:g}" for d, t in TASKS.items())
    t = sub.add_parser("train", help="train a model, evaluate it, save it (the default command)",
                       description="Train a model with Keras-style fit, evaluate it on the test "
                                   "split, and write model.keras, run.json, metrics.json and "
                                   "curves.png to --out; print a summary table. Ctrl-C saves "
                                   "the training state at the end of the step and prints the "
                                   "command that resumes it (--resume).",
                       epilog=f"Defaults per data set: {defaults}. Models: images (digits, "
                              "mnist, fashion-mnist) take mlp, cnn or lstm (rows as time "
                              "steps), or from gradkit.models lenet5, convnet, resnet8 or "
                              "resnet20; boston-housing takes mlp; tiny-shakespeare takes mlp, "
                              "lstm, or from gradkit.models char_rnn or gpt (next-character "
                              "prediction; 'gradkit sample RUN' writes text with them).")
    t.add_argument("--model", choices=MODELS, default="mlp", help="the architecture (default: mlp)")
    t.add_argument("--dataset", choices=DATASETS, default="digits",
                   help="the data set (default: digits, embedded: no download)")
    t.add_argument("--epochs", type=positive_int, metavar="N", help="epochs (default: per data set)")
    t.add_argument("--batch-size", type=positive_int, metavar="B",
                   help="samples per step (default: per data set)")
    t.add_argument("--lr", type=positive_float, metavar="LR",
                   help="Adam's learning rate (default: per data set)")
    t.add_argument("--out", metavar="DIR",
                   help="where to write the run (default: runs/MODEL-DATASET); refused if it "
                        "exists and is not empty, unless --overwrite")
    t.add_argument("--overwrite", action="store_true",
                   help="replace the run in --out (the old one is removed only once the new "
                        "one is complete)")
    t.add_argument("--seed", type=int, default=0, help="random seed for weights and shuffling (default: 0)")
    t.add_argument("--limit", type=positive_int, metavar="N",
                   help="use only the first N training samples (quick runs)")
    t.add_argument("--validation-split", type=fraction, default=0.1, metavar="F",
                   help="fraction of the training samples, taken from the end, held out for "
                        "validation (default: 0.1; 0 for none)")
    t.add_argument("--seq-len", type=positive_int, default=64, metavar="T",
                   help="characters per training sequence for tiny-shakespeare (default: 64)")
    t.add_argument("--quiet", action="store_true", help="no progress output during training")
    t.add_argument("--checkpoint-every", type=positive_int, metavar="N",
                   help="save the whole training state to --out every N steps (checkpoint."
                        "safetensors; replaced by the run when it completes). Ctrl-C saves it "
                        "too, at the end of the step, and prints the command that resumes")
    t.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in --out from its checkpoint, exactly as "
                        "it would have gone on (same weights and losses); give the same "
                        "settings as the run that saved it")
    _data_options(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="evaluate a saved run on its test split",
                       description="Load RUN/model.keras and report its loss and metrics on the "
                                   "test split of the data set it was trained on.")
    e.add_argument("run", metavar="RUN", help="a run folder written by 'gradkit train' (its "
                                              "data are found again from its run.json)")
    e.add_argument("--limit", type=positive_int, metavar="N", help="only the first N test samples")
    e.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    _data_options(e)
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="predict with a saved run",
                       description="Predict with RUN/model.keras: the first N test samples (with "
                                   "their labels), the samples in a .npy file, or, for a "
                                   "tiny-shakespeare model, text generated from --prompt.")
    p.add_argument("run", metavar="RUN", help="a run folder written by 'gradkit train'")
    p.add_argument("--n", type=positive_int, default=10, metavar="N",
                   help="how many test samples to predict (default: 10)")
    p.add_argument("--input", metavar="FILE.npy",
                   help="raw samples to predict (images with 0-255 or 0-16 pixels as the data "
                        "set has them, or Boston features), instead of the test split")
    p.add_argument("--output", metavar="FILE", help="also write the predictions (JSON; text for a "
                                                     "language model)")
    p.add_argument("--prompt", help="language models: the text to continue")
    p.add_argument("--length", type=positive_int, default=200, metavar="N",
                   help="language models: characters to generate (default: 200)")
    p.add_argument("--temperature", type=non_negative_float, default=1.0, metavar="T",
                   help="language models: sampling temperature; 0 takes the most likely "
                        "character each time (greedy) (default: 1.0)")
    p.add_argument("--seed", type=int, default=0, help="language models: sampling seed (default: 0)")
    _data_options(p)
    p.set_defaults(func=cmd_predict, limit=None)

    g = sub.add_parser("sample", help="generate text with a saved language-model run",
                       description="Continue --prompt with RUN/model.keras (a model trained on "
                                   "tiny-shakespeare: mlp, lstm, char_rnn or gpt), one character "
                                   "at a time, as nanoGPT's sample.py does.")
    g.add_argument("run", metavar="RUN", help="a run folder written by 'gradkit train'")
    g.add_argument("--prompt", default="\n", help="the text to continue (default: a new line)")
    g.add_argument("--max-new-tokens", type=positive_int, default=500, metavar="N",
                   help="characters to generate per sample (default: 500)")
    g.add_argument("--num-samples", type=positive_int, default=1, metavar="N",
                   help="how many samples (default: 1)")
    g.add_argument("--temperature", type=non_negative_float, default=0.8, metavar="T",
                   help="sampling temperature; 0 is greedy (default: 0.8)")
    g.add_argument("--top-k", type=positive_int, default=None, metavar="K",
                   help="sample only from the K most likely characters (default: all)")
    g.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    g.add_argument("--output", metavar="FILE", help="also write the text to FILE")
    g.set_defaults(func=cmd_sample)


def check_model_fits(args, command):
    """``--model`` must be one the data set takes (argparse's usage error otherwise)."""
    if args.model not in TASKS[args.dataset]["models"]:
        command.error(f"--model {args.model} does not fit --dataset {args.dataset}; choose "
                      f"--model {' or '.join(TASKS[args.dataset]['models'])} for {args.dataset}")
