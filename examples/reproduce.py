"""What every reproduction example shares: its command line, the framework it runs on, one
training loop for classifiers written in PyTorch's dialect (so the same code runs on gradkit and,
with ``--peer torch``, on PyTorch), and running each framework in its own process.

    python examples/fashion_mnist_mlp.py                 # gradkit only
    python examples/fashion_mnist_mlp.py --peer torch    # gradkit, then PyTorch, side by side

With ``--peer torch`` the PyTorch model starts from gradkit's initial weights (copied by name)
and sees the same batches in the same order, so the two columns differ only by the frameworks'
arithmetic (and dropout's draws). Each framework runs in a child process of its own, so its wall
time and peak memory are its own; both use the same number of threads (``--threads``, default
all cores).

An example runs a fixed number of epochs or steps (so a rerun with the same seed gives the same
numbers); ``--budget-min`` is the time it should take on this project's 2-core machine, and its
row says whether it did. A run that passes twice its budget is stopped (at the end of the
epoch, or at the next evaluation) and its row says so. Each row also gives the machine's load
average at the end, since other work on the machine lengthens a run's wall time.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from results import ROOT, record  # noqa: E402,F401  (re-exported for the examples)

FRAMEWORKS = ("gradkit", "torch")
GUARD = 2   # a run is stopped once it passes GUARD times its budget


# === the command line ============================================================================
def parser(doc, budget_min, epochs, peer=True, steps=None):
    """The options every example takes; ``doc`` is its module docstring. ``steps``: the default
    of ``--steps`` for the examples counted in steps, not epochs."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-min", type=float, default=budget_min,
                    help="stop at the end of the epoch that passes this many minutes "
                         f"(default: {budget_min or 'per run, below'})")
    ap.add_argument("--epochs", type=int, default=epochs,
                    help=f"(default: {epochs or 'per run, below'})")
    ap.add_argument("--seed", type=int, default=0, help="weights, batch order (default: 0)")
    if steps:
        ap.add_argument("--steps", type=int, default=steps, help=f"(default: {steps})")
    if peer:   # the examples that run each framework in a child process, which gets these
        ap.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="BLAS / PyTorch threads (default: all cores)")
        ap.add_argument("--peer", choices=["torch"], default=None,
                        help="also run the same model in PyTorch, from the same initial weights")
    ap.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    ap.add_argument("--framework", choices=FRAMEWORKS, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--result-file", default=None, help=argparse.SUPPRESS)
    return ap


def run_frameworks(args):
    """Run this script once per framework in a child process; the list of their results (the
    dicts each child passed to ``finish``), gradkit's first."""
    wanted = ["gradkit"] + ([args.peer] if getattr(args, "peer", None) else [])
    results = []
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    for name in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "result.json")
            argv = [sys.executable, sys.argv[0], *sys.argv[1:], "--framework", name,
                    "--result-file", out]
            print(f"=== {name}", flush=True)
            subprocess.run(argv, check=True, env=env)
            with open(out, encoding="utf-8") as f:
                results.append(json.load(f))
    return results


def finish(args, result):
    """In a child: add the peak memory and hand ``result`` to the parent."""
    result["framework"] = args.framework
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["load"] = os.getloadavg()[2]   # the last 15 minutes
    with open(args.result_file, "w", encoding="utf-8") as f:
        json.dump(result, f)


# === the framework ================================================================================
class Framework:
    """The modules a PyTorch program imports, from gradkit or from PyTorch:
    ``fw.torch``, ``fw.nn``, ``fw.F``, ``fw.optim``."""

    def __init__(self, name, threads):
        self.name = name
        if name == "torch":
            import torch
            torch.set_num_threads(threads)
        else:
            import gradkit as torch
        self.torch, self.nn, self.F, self.optim = (torch, torch.nn, torch.nn.functional,
                                                   torch.optim)

    def tensor(self, array):
        return self.torch.from_numpy(np.ascontiguousarray(array))


def copy_weights(source, target):
    """Load gradkit module ``source``'s parameters and buffers into PyTorch module ``target``,
    by name (the zoo's names are PyTorch's): both then start from the same weights."""
    import torch

    state = {k: torch.from_numpy(np.array(v.numpy())) for k, v in source.state_dict().items()}
    missing, unexpected = target.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"copy_weights: names differ: missing {missing}, unexpected "
                           f"{unexpected}")


def build(fw, seed, make_gradkit, make_torch=None):
    """The model on ``fw``: gradkit's from ``make_gradkit()`` after ``manual_seed(seed)``; for
    PyTorch, ``make_torch()`` with those same initial weights copied in."""
    import gradkit

    gradkit.manual_seed(seed)
    model = make_gradkit()
    if fw.name == "gradkit":
        return model
    fw.torch.manual_seed(seed)   # PyTorch's own draws (dropout) repeat too
    twin = make_torch()
    copy_weights(model, twin)
    return twin


# === training a classifier ========================================================================
def batch_order(n, batch_size, seed, epoch):
    """The index batches of one epoch: a permutation drawn from (seed, epoch), so that both
    frameworks and any rerun see the same batches."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def accuracy(fw, model, x, y, batch_size=1000):
    model.eval()
    right = 0
    with fw.torch.no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(fw.tensor(x[i:i + batch_size]))
            right += int((logits.argmax(1).numpy() == y[i:i + batch_size]).sum())
    return right / len(x)


def train_classifier(fw, model, optimizer, data, epochs, batch_size, seed, budget_min,
                     scheduler=None, log=print):
    """Mini-batch training with cross-entropy; test accuracy after every epoch. ``data``:
    (x_train, y_train, x_test, y_test) as NumPy arrays. Returns the result dict: per-epoch
    loss and test accuracy, seconds, epochs run, and whether the budget stopped it."""
    x, y, x_test, y_test = data
    start = time.perf_counter()
    history = {"loss": [], "test_accuracy": [], "seconds": []}
    stopped = False
    for epoch in range(epochs):
        model.train()
        total, count = 0.0, 0
        for idx in batch_order(len(x), batch_size, seed, epoch):
            logits = model(fw.tensor(x[idx]))
            loss = fw.F.cross_entropy(logits, fw.tensor(y[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.item()) * len(idx)
            count += len(idx)
        if scheduler is not None:
            scheduler.step()
        acc = accuracy(fw, model, x_test, y_test)
        elapsed = time.perf_counter() - start
        history["loss"].append(total / count)
        history["test_accuracy"].append(acc)
        history["seconds"].append(elapsed)
        log(f"{fw.name} epoch {epoch + 1}/{epochs}: loss {total / count:.4f}, test accuracy "
            f"{acc:.4f}, {elapsed:.0f} s")
        if elapsed > GUARD * budget_min * 60 and epoch + 1 < epochs:
            stopped = True
            break
    return {"history": history, "test_accuracy": history["test_accuracy"][-1],
            "best_test_accuracy": max(history["test_accuracy"]),
            "seconds": time.perf_counter() - start, "epochs": len(history["loss"]),
            "stopped_by_budget": stopped}


# === the table ===================================================================================
def verdict(value, target, higher_is_better=True):
    """'**0.8912** (target ≥ 0.8833: met)'."""
    met = value >= target if higher_is_better else value <= target
    sign = "≥" if higher_is_better else "≤"
    return f"**{value:.4f}** (target {sign} {target:g}: {'met' if met else 'MISSED'})"


def budget_note(result, budget_min, done="epochs"):
    """'12.3 min (budget 15: met; load 1.2)'."""
    load = f"; load {result['load']:.1f}" if "load" in result else ""
    if result["stopped_by_budget"]:
        return (f"stopped at {GUARD}x the {budget_min:g}-min budget after {result[done]} "
                f"{done}{load}")
    within = result["seconds"] <= budget_min * 60
    return (f"{result['seconds'] / 60:.1f} min (budget {budget_min:g}: "
            f"{'met' if within else 'MISSED'}{load})")


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fashion_mnist(seed=None):
    """Fashion-MNIST as float32 (N, 1, 28, 28) in [0, 1] and int64 labels: train, test."""
    from gradkit import datasets

    x, y = datasets.fashion_mnist("train")
    xt, yt = datasets.fashion_mnist("test")
    f = lambda a: (a.astype(np.float32) / 255.0)[:, None]  # noqa: E731
    return f(x), y.astype(np.int64), f(xt), yt.astype(np.int64)


def main_classifier(args, title, name, make, optimizer, target, budget_min, batch_size,
                    published, data, scheduler=None):
    """The whole life of a classifier example: in a child, build the model on its framework,
    train it and hand back the result; in the parent, run the children and write the row."""
    if args.framework:
        fw = Framework(args.framework, args.threads)
        model = make(fw)
        opt = optimizer(fw, model)
        sched = scheduler(fw, opt) if scheduler else None
        result = train_classifier(fw, model, opt, data(), args.epochs, batch_size, args.seed,
                                  args.budget_min, sched)
        result["parameters"] = int(sum(p.numel() for p in model.parameters()))
        finish(args, result)
        return None
    start = time.perf_counter()
    results = run_frameworks(args)
    rows = [[r["framework"], f"{r['parameters']:,}", r["epochs"],
             verdict(r["test_accuracy"], target), f"{r['best_test_accuracy']:.4f}",
             budget_note(r, budget_min), f"{r['seconds'] / r['epochs']:.1f} s",
             f"{r['peak_mib']:.0f} MiB"] for r in results]
    body = (f"Published figure: {published}.\n\n" + markdown_table(
        ["framework", "parameters", "epochs", "test accuracy (last epoch)", "best epoch",
         "training time", "per epoch", "peak memory"], rows))
    if len(results) == 2:
        ratio = results[0]["seconds"] / results[1]["seconds"]
        body += (f"\n\nBoth start from the same weights and see the same batches; time ratio "
                 f"gradkit / PyTorch: {ratio:.2f} at {args.threads} "
                 f"thread{'s' if args.threads > 1 else ''} each.")
    print(body)
    if not args.no_record:
        record(name, title, body, time.perf_counter() - start)
    return results


# === training a character language model ==========================================================
def shakespeare_ids():
    """Tiny Shakespeare as int64 ids: (train, val, vocabulary), nanoGPT's 90/10 split and its
    character vocabulary (65 characters, sorted)."""
    from gradkit import datasets

    train, val = datasets.tiny_shakespeare("train"), datasets.tiny_shakespeare("val")
    vocab = sorted(set(train + val))
    index = {c: i for i, c in enumerate(vocab)}
    encode = lambda text: np.array([index[c] for c in text], np.int64)  # noqa: E731
    return encode(train), encode(val), vocab


def random_windows(ids, batch_size, seq_len, seed, step):
    """nanoGPT's get_batch: ``batch_size`` windows at offsets drawn from (seed, step); targets
    are the inputs shifted by one."""
    starts = np.random.default_rng([seed, step]).integers(0, len(ids) - seq_len - 1, batch_size)
    x = np.stack([ids[s:s + seq_len] for s in starts])
    y = np.stack([ids[s + 1:s + seq_len + 1] for s in starts])
    return x, y


def logits_of(out):
    return out[0] if isinstance(out, tuple) else out   # CharRNN gives (logits, hidden)


def validation_loss(fw, model, ids, seq_len, batch_size=32):
    """Mean cross-entropy per character (nats) over the whole of ``ids`` in non-overlapping
    windows of ``seq_len`` (each window starts from no context)."""
    n = (len(ids) - 1) // seq_len
    x = ids[:n * seq_len].reshape(n, seq_len)
    y = ids[1:n * seq_len + 1].reshape(n, seq_len)
    model.eval()
    total = 0.0
    with fw.torch.no_grad():
        for i in range(0, n, batch_size):
            logits = logits_of(model(fw.tensor(x[i:i + batch_size])))
            loss = fw.F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                      fw.tensor(y[i:i + batch_size].reshape(-1)), reduction="sum")
            total += float(loss.item())
    return total / (n * seq_len)


def cosine_with_warmup(warmup, steps, floor):
    """The learning-rate factor of step s: linear warm-up, then cosine decay to ``floor``."""
    import math

    def factor(s):
        if s < warmup:
            return (s + 1) / warmup
        t = min(1.0, (s - warmup) / max(1, steps - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
    return factor


def train_language_model(fw, model, optimizer, data, steps, batch_size, seq_len, seed,
                         budget_min, eval_every, clip=1.0, log=print):
    """``steps`` AdamW steps on random windows (the same windows on both frameworks), with
    gradient clipping and the optimizer's LambdaLR schedule; the validation loss every
    ``eval_every`` steps and at the end. ``data``: (train_ids, val_ids)."""
    train, val = data
    scheduler = fw.optim.lr_scheduler.LambdaLR(
        optimizer, cosine_with_warmup(min(100, steps // 10), steps, 0.1))
    start = time.perf_counter()
    history = {"step": [], "val_loss": [], "train_loss": [], "seconds": []}
    recent, stopped, step, eval_seconds = [], False, 0, 0.0
    for step in range(1, steps + 1):
        model.train()
        x, y = random_windows(train, batch_size, seq_len, seed, step)
        logits = logits_of(model(fw.tensor(x)))
        loss = fw.F.cross_entropy(logits.reshape(-1, logits.shape[-1]), fw.tensor(y.reshape(-1)))
        optimizer.zero_grad()
        loss.backward()
        fw.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        scheduler.step()
        recent.append(float(loss.item()))
        over = time.perf_counter() - start > GUARD * budget_min * 60
        if step % eval_every == 0 or step == steps or over:
            t = time.perf_counter()
            v = validation_loss(fw, model, val, seq_len)
            eval_seconds += time.perf_counter() - t
            elapsed = time.perf_counter() - start
            history["step"].append(step)
            history["val_loss"].append(v)
            history["train_loss"].append(float(np.mean(recent)))
            history["seconds"].append(elapsed)
            log(f"{fw.name} step {step}/{steps}: train loss {np.mean(recent):.4f}, validation "
                f"loss {v:.4f}, {elapsed:.0f} s", flush=True)
            recent = []
            if over and step < steps:
                stopped = True
                break
    seconds = time.perf_counter() - start
    return {"history": history, "val_loss": history["val_loss"][-1],
            "best_val_loss": min(history["val_loss"]), "seconds": seconds, "steps": step,
            "stopped_by_budget": stopped, "eval_seconds": eval_seconds,
            "tokens_per_s": step * batch_size * seq_len / (seconds - eval_seconds)}


def sample_text(fw, model, vocab, prompt="ROMEO:"):
    """300 characters after ``prompt`` from a character model's generate (temperature 0.8,
    top-k 10, seed 0)."""
    ids = fw.tensor([[vocab.index(c) for c in prompt]])
    model.eval()
    out = model.generate(ids, max_new_tokens=300, temperature=0.8, top_k=10, seed=0)
    return "".join(vocab[i] for i in out.numpy()[0])


def main_language_model(args, title, name, make, optimizer, target, budget_min, batch_size,
                        seq_len, published, eval_every, sample=sample_text):
    """A language-model example's life: children train, the parent writes the table (with a
    sample of gradkit's model when ``sample(fw, model, vocab)`` is given)."""
    if args.framework:
        fw = Framework(args.framework, args.threads)
        train, val, vocab = shakespeare_ids()
        model = make(fw, len(vocab))
        opt = optimizer(fw, model)
        result = train_language_model(fw, model, opt, (train, val), args.steps, batch_size,
                                      seq_len, args.seed, args.budget_min, eval_every)
        result["parameters"] = int(sum(p.numel() for p in model.parameters()))
        if fw.name == "gradkit":
            if sample is not None:
                result["sample"] = sample(fw, model, vocab)
            folder = os.path.join(ROOT, "runs", name)   # the weights, for later examples
            os.makedirs(folder, exist_ok=True)
            fw.torch.save(model.state_dict(), os.path.join(folder, "model.safetensors"))
        finish(args, result)
        return None
    start = time.perf_counter()
    results = run_frameworks(args)
    rows = []
    for r in results:
        note = budget_note(r, budget_min, "steps")
        rows.append([r["framework"], f"{r['parameters']:,}", r["steps"],
                     verdict(r["val_loss"], target, higher_is_better=False),
                     f"{r['best_val_loss']:.4f}", note, f"{r['tokens_per_s']:,.0f}",
                     f"{r['peak_mib']:.0f} MiB"])
    body = (f"Published figure: {published}.\n\n" + markdown_table(
        ["framework", "parameters", "steps", "validation loss (nats/char, last)", "best",
         "time (training + validation)", "training tokens/s", "peak memory"], rows))
    curve = results[0]["history"]
    body += ("\n\ngradkit's validation loss by step: " + ", ".join(
        f"{s}: {v:.3f}" for s, v in zip(curve["step"], curve["val_loss"])) + ".")
    if len(results) == 2:
        ratio = results[0]["seconds"] / results[1]["seconds"]
        body += (f"\n\nBoth start from the same weights and see the same windows; time ratio "
                 f"gradkit / PyTorch: {ratio:.2f} at {args.threads} thread"
                 f"{'s' if args.threads > 1 else ''} each.")
    if results[0].get("sample"):
        text = results[0]["sample"].replace("\n", "<br>")
        body += f"\n\nA sample of gradkit's model (temperature 0.8, top-k 10):\n\n> {text}"
    print(body)
    if not args.no_record:
        record(name, title, body, time.perf_counter() - start)
    return results
