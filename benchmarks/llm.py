"""gradkit vs transformers on pretrained models: SmolLM2-135M-Instruct and all-MiniLM-L6-v2.

    python -m benchmarks.llm                   # the full run (~5 min on 2 cores)
    python -m benchmarks.llm --quick           # a smoke run: 64-token prompt, 8 new tokens, 32 sentences
    python -m benchmarks.llm --threads 1 --write   # one thread each; record the table in results.md

Rows, each gradkit against the reference (transformers 5 in PyTorch float32; sentence-transformers
for MiniLM where it loads, else transformers' BertModel with mean pooling and L2 normalisation):

- load: seconds from the GGUF file on disk to a ready model, in a fresh interpreter per load with
  the library already imported (import time is printed apart), warm page cache (the script reads
  the file once before); the min over ``--load-reps`` processes per side, sides alternating.
  gradkit's load includes building the tokenizer from the file's metadata; transformers' does not.
- peak memory: ``ru_maxrss`` of that side's process after import + load + the prefill and decode
  runs below (before MiniLM is loaded): the whole process, interpreter and library imports
  included, nothing subtracted. gradkit's process never imports torch.
- load peak ÷ float32 weights: gradkit's high-water mark over ``from_pretrained`` alone (VmHWM
  reset to the resident set just before through /proc/self/clear_refs, minus that resident set)
  divided by the bytes of the model's float32 parameters (tied embedding counted once).
- prefill: one forward over a ``--prompt``-token prompt (tiny Shakespeare, the model's own
  tokenizer) into a fresh KV cache, logits of the last position only (what generate does); ms, the
  min of ``--reps`` runs after one warm-up.
- decode: greedy ``generate`` of ``--new-tokens`` tokens after that prompt, end-of-sequence
  disabled; each step is timed from one token to the next as the library hands them out
  (gradkit: ``generate_iter``; transformers: a streamer), and tokens/s = 1 / the median step time
  over all steps of ``--decode-reps`` runs (the first token, which comes from the prefill, is not a
  decode step).
- MiniLM: sentences/s of ``encode(sentences, batch_size=32)`` on ``--sentences`` speeches of tiny
  Shakespeare (one to dozens of lines each, so lengths are mixed); the min time of ``--reps``.

Each library runs in its own fresh subprocess (a *worker* driven over a pipe), so the memory
numbers and imports are the process's own; the timed repetitions alternate between the two
workers (gradkit then reference, then reference then gradkit, ...) and only one works at a time,
so load from elsewhere on the machine hits both alike. Both use ``--threads`` threads (default:
all cores): NumPy's OpenBLAS through threadpoolctl, ``torch.set_num_threads`` for the reference.

A side whose model package (or transformers) is missing is skipped with a note; an error in a
side is printed and makes the exit status 1. ``--write`` puts the table, command, date and
commit in the ``llm`` section of ``--output`` (default benchmarks/results.md), replacing the
previous one.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks.memory import _reset_peak, _status_kib  # the same /proc readings as memory.py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIDES = ("gradkit", "reference")
# Issue targets: gradkit / reference time (lower is better) or tokens/s (higher is better).
TARGETS = {"load": ("≤", 1.0), "peak memory": ("≤", 1.2), "load peak / fp32 weights": ("≤", 1.5),
           "prefill": ("≤", 1.5), "decode": ("≥", 1.0), "minilm": None}
DECODE_GOAL = 2.0
BEGIN, END = "<!-- llm:begin -->", "<!-- llm:end -->"


# === worker: one library in its own process, driven by JSON lines ==============================
def _maxrss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


class GradkitSide:
    def __init__(self, threads):
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads, user_api="blas")
        import gradkit
        from gradkit import models
        self.gk, self.models = gradkit, models

    def load_llm(self, path):
        self.llm = self.models.LlamaForCausalLM.from_pretrained(path)
        return sum(p.array.nbytes for p in self.llm.parameters())

    def tokenize(self, text):
        tok = self.llm.tokenizer
        return None if tok is None else [int(i) for i in tok.encode(text, add_special_tokens=False)]

    def prefill(self, ids):
        cache = self.llm.make_cache(ids.shape[1])
        with self.gk.no_grad():
            return self.llm(self.gk.from_numpy(ids), past_key_values=cache,
                            logits_to_keep=1).logits.array[0, -1]

    def decode(self, ids, n):
        times, out = [time.perf_counter()], []
        for new in self.llm.generate_iter(ids, max_new_tokens=n, eos_token_id=[]):
            times.append(time.perf_counter())
            out.append(int(new[0]))
        return times, out

    def load_minilm(self, folder):
        self.enc = self.models.SentenceEncoder.from_pretrained(folder)
        return "gradkit.models.SentenceEncoder"

    def encode(self, sentences, batch_size):
        return self.enc.encode(sentences, batch_size=batch_size)


class ReferenceSide:
    def __init__(self, threads):
        import torch
        torch.set_num_threads(threads)
        from transformers import AutoModelForCausalLM  # noqa: F401  (the import counts here)
        from transformers.utils import logging
        logging.disable_progress_bar()
        self.torch = torch

    def load_llm(self, path):
        from transformers import AutoModelForCausalLM
        folder, name = os.path.split(path)
        self.llm = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name,
                                                        dtype=self.torch.float32).eval()
        return sum(p.numel() * p.element_size() for p in self.llm.parameters())

    def prefill(self, ids):
        with self.torch.no_grad():
            out = self.llm(self.torch.from_numpy(ids), use_cache=True, logits_to_keep=1)
        return out.logits[0, -1].numpy()

    def decode(self, ids, n):
        times, out = [time.perf_counter()], []

        class Clock:  # transformers' streamer protocol: put(prompt), put(token) per step, end()
            first = True

            def put(self, value):
                if Clock.first:
                    Clock.first = False
                    return
                times.append(time.perf_counter())
                out.append(int(value.reshape(-1)[0]))

            def end(self):
                pass

        cfg = self.llm.generation_config
        cfg.eos_token_id = None  # never stop early, as gradkit's eos_token_id=[]
        with self.torch.no_grad():
            self.llm.generate(self.torch.from_numpy(ids), max_new_tokens=n, do_sample=False,
                              generation_config=cfg, streamer=Clock(),
                              pad_token_id=cfg.pad_token_id if cfg.pad_token_id is not None else 0,
                              attention_mask=self.torch.ones_like(self.torch.from_numpy(ids)))
        return times, out

    def load_minilm(self, folder):
        try:
            from sentence_transformers import SentenceTransformer
            self.st = SentenceTransformer(folder, device="cpu")
            return "sentence_transformers.SentenceTransformer"
        except Exception as e:  # not installed, or cannot load the folder offline
            print(f"sentence-transformers unavailable ({type(e).__name__}: {e}); using "
                  "transformers BertModel + mean pooling + L2 normalisation", file=sys.stderr)
        from transformers import AutoTokenizer, BertModel
        self.st = None
        self.bert = BertModel.from_pretrained(folder, dtype=self.torch.float32).eval()
        self.bert_tok = AutoTokenizer.from_pretrained(folder)
        return "transformers.BertModel + mean pooling + L2 normalisation"

    def encode(self, sentences, batch_size):
        if self.st is not None:
            return self.st.encode(sentences, batch_size=batch_size)
        torch, out = self.torch, np.empty((len(sentences), self.bert.config.hidden_size), np.float32)
        order = np.argsort([-len(s) for s in sentences], kind="stable")  # as sentence-transformers
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                b = self.bert_tok([sentences[i] for i in idx], padding=True, truncation=True,
                                  max_length=256, return_tensors="pt")
                h = self.bert(**b).last_hidden_state
                m = b["attention_mask"].unsqueeze(-1).to(h.dtype)
                e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(e, p=2, dim=1).numpy()
        return out


def worker(side, threads, tmp):
    """Serve commands read from stdin, one JSON object a line; answer on the original stdout
    (the libraries' own prints are sent to stderr so they cannot break the protocol)."""
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    lib = None
    for line in sys.stdin:
        msg = json.loads(line)
        cmd, reply = msg["cmd"], {}
        try:
            if cmd == "import":
                t0 = time.perf_counter()
                lib = (GradkitSide if side == "gradkit" else ReferenceSide)(threads)
                reply = {"import_s": time.perf_counter() - t0, "rss_kib": _status_kib("VmRSS")}
            elif cmd == "load_llm":
                base, reset = _status_kib("VmRSS"), _reset_peak()
                t0 = time.perf_counter()
                weights = lib.load_llm(msg["path"])
                reply = {"load_s": time.perf_counter() - t0, "weights_bytes": weights,
                         "load_peak_kib": (_status_kib("VmHWM") - base) if reset else None,
                         "maxrss_kib": _maxrss_kib()}
            elif cmd == "tokenize":
                reply = {"ids": lib.tokenize(msg["text"])}
            elif cmd == "prefill":
                ids = np.asarray(msg["ids"], np.int64)[None]
                t0 = time.perf_counter()
                logits = lib.prefill(ids)
                reply = {"s": time.perf_counter() - t0}
                if msg.get("save"):
                    np.save(os.path.join(tmp, f"{side}_logits.npy"), np.asarray(logits, np.float32))
            elif cmd == "decode":
                times, out = lib.decode(np.asarray(msg["ids"], np.int64)[None], msg["n"])
                reply = {"steps": [b - a for a, b in zip(times[1:], times[2:])], "ids": out,
                         "total_s": times[-1] - times[0]}
            elif cmd == "maxrss":
                reply = {"maxrss_kib": _maxrss_kib()}
            elif cmd == "load_minilm":
                t0 = time.perf_counter()
                reply = {"what": lib.load_minilm(msg["folder"]), "load_s": time.perf_counter() - t0}
            elif cmd == "encode":
                with open(msg["file"], encoding="utf-8") as f:
                    sentences = json.load(f)
                t0 = time.perf_counter()
                e = lib.encode(sentences, msg["batch_size"])
                reply = {"s": time.perf_counter() - t0}
                if msg.get("save"):
                    np.save(os.path.join(tmp, f"{side}_emb.npy"), np.asarray(e, np.float32))
            elif cmd == "quit":
                reply = {"torch_imported": "torch" in sys.modules}
        except Exception as e:  # reported to the driver, which skips the row and exits 1
            import traceback
            traceback.print_exc()
            reply = {"error": f"{type(e).__name__}: {e}"}
        proto.write(json.dumps(reply) + "\n")
        proto.flush()
        if cmd == "quit":
            return


class Worker:
    """The driver's handle on one worker process."""

    def __init__(self, side, threads, tmp):
        self.side, self.tmp = side, tmp
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                   TOKENIZERS_PARALLELISM="false", OPENBLAS_NUM_THREADS=str(threads),
                   OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                   PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.err = tempfile.TemporaryFile(mode="w+", dir=tmp)
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.llm", "--worker", side,
                                      "--threads", str(threads), "--tmp", tmp], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True)

    def __call__(self, cmd, **kw):
        self.proc.stdin.write(json.dumps(dict(kw, cmd=cmd)) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.err.seek(0)
            raise RuntimeError(f"{self.side} worker died during {cmd!r}:\n{self.err.read()[-3000:]}")
        reply = json.loads(line)
        if "error" in reply:
            self.err.seek(0)
            tail = self.err.read()[-1500:]
            raise RuntimeError(f"{self.side} {cmd}: {reply['error']}\n{tail}")
        return reply

    def close(self):
        try:
            if self.proc.poll() is None:
                return self("quit")
        except (RuntimeError, OSError):
            pass
        finally:
            self.proc.wait(timeout=60)
            self.err.close()


# === inputs ====================================================================================
def shakespeare():
    """tiny Shakespeare's text from the shared data folder (GRADKIT_DATA overrides), or None."""
    data = os.environ.get("GRADKIT_DATA") or os.path.join(os.path.dirname(ROOT), "shared", "data")
    path = os.path.join(data, "tinyshakespeare", "input.txt")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return f.read()


def sentences_from(text, n):
    """``n`` speeches (speaker names dropped, lines joined), spread over the text: lengths from a
    few words to a few hundred. Without the text, generated sentences of 3 to 120 words."""
    if text:
        speeches = [" ".join(block.split("\n")[1:]).strip() for block in text.split("\n\n")]
        speeches = [s for s in speeches if s]
        step = max(1, len(speeches) // n)
        return speeches[::step][:n]
    rng = np.random.default_rng(0)
    words = "the a king queen speaks of night and day love war crown sword field hope".split()
    return [" ".join(rng.choice(words, rng.integers(3, 120))) + "." for _ in range(n)]


def warm_cache(*paths):
    """Read the files once so that every timed load finds them in the page cache."""
    for p in paths:
        for root, _, files in (os.walk(p) if os.path.isdir(p) else [("", None, [p])]):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    while f.read(1 << 24):
                        pass


def reference_missing():
    import importlib.util
    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    return f"{' and '.join(missing)} not installed (pip install -e '.[test]')" if missing else None


# === the run ===================================================================================
def alternate(workers, reps, call):
    """Run ``call(worker)`` ``reps`` times per worker, alternating and flipping the order each
    repetition; {side: [results]}."""
    res = {w.side: [] for w in workers}
    for i in range(reps):
        for w in (workers if i % 2 == 0 else workers[::-1]):
            res[w.side].append(call(w))
    return res


def run(args, log):
    """Drive the workers; {"rows": {row: {side: value}}, "notes", "errors", "info", "checks"}."""
    with tempfile.TemporaryDirectory(prefix="gradkit-llm-bench-") as tmp:
        return _run(args, log, tmp)


def _run(args, log, tmp):
    from gradkit.models import pretrained
    gguf, minilm = pretrained.smollm2_path(), pretrained.minilm_path()
    ref_missing = reference_missing()
    r = {"rows": {}, "notes": [], "errors": [], "info": {}}
    sides = ["gradkit"] + ([] if ref_missing else ["reference"])
    if ref_missing:
        r["notes"].append(f"reference column empty: {ref_missing}")
    warm_cache(*[p for p in (gguf, minilm) if p])

    def start(side):
        w = Worker(side, args.threads, tmp)
        got = w("import")
        r["info"].setdefault(f"{side} import_s", []).append(got["import_s"])
        r["info"].setdefault(f"{side} import_kib", got["rss_kib"])
        return w

    workers = []
    try:
        if gguf is None:
            r["notes"].append(f"SmolLM2 rows skipped: the model file is not installed ({pretrained.SMOLLM2_HINT})")
        else:
            for side in sides:  # started one after the other: never two loads at once
                w = start(side)
                workers.append(w)
                r[side + " load"] = [w("load_llm", path=gguf)]
            llm_rows(args, r, workers, log)
        if minilm is None:
            r["notes"].append(f"MiniLM row skipped: the model folder is not installed ({pretrained.MINILM_HINT})")
        else:
            if not workers:
                workers = [start(side) for side in sides]
            minilm_row(args, r, workers, minilm, log)
    except RuntimeError as e:
        r["errors"].append(str(e))
        log(f"ERROR: {e}")
    finally:
        for w in workers:
            bye = w.close()
            if w.side == "gradkit" and bye and bye.get("torch_imported"):
                r["errors"].append("the gradkit worker imported torch; its memory would count it")
    if "gradkit load" in r and not r["errors"]:
        for i in range(args.load_reps - 1):  # more fresh processes, the sides alternating
            for side in (sides if i % 2 else sides[::-1]):
                w = Worker(side, args.threads, tmp)
                try:
                    w("import")
                    r[side + " load"].append(w("load_llm", path=gguf))
                except RuntimeError as e:
                    r["errors"].append(str(e))
                    log(f"ERROR: {e}")
                    return r
                finally:
                    w.close()
    if "gradkit load" in r:
        load_rows(r, [s for s in sides if s + " load" in r])
    return r


def llm_rows(args, r, workers, log):
    gk = workers[0]
    text = shakespeare()
    ids = gk("tokenize", text=(text or "")[:20 * args.prompt])["ids"] if text else None
    if not ids or len(ids) < args.prompt:
        rng = np.random.default_rng(0)
        ids = rng.integers(100, 40000, args.prompt).tolist()
        r["notes"].append("prompt: random token ids (tiny Shakespeare or the tokenizer missing)")
    ids = ids[:args.prompt]
    for w in workers:  # warm-up; keep the first output for the check
        w("prefill", ids=ids, save=True)
    pre = alternate(workers, args.reps, lambda w: w("prefill", ids=ids)["s"])
    r["rows"]["prefill"] = {s: 1e3 * min(v) for s, v in pre.items()}
    log(f"prefill {args.prompt} tokens, ms: " + "; ".join(
        f"{s} " + " ".join(f"{1e3 * x:.0f}" for x in v) for s, v in pre.items()))
    for w in workers:
        w("decode", ids=ids, n=2)
    dec = alternate(workers, args.decode_reps, lambda w: w("decode", ids=ids, n=args.new_tokens))
    r["rows"]["decode"] = {s: 1 / statistics.median([t for d in v for t in d["steps"]])
                           for s, v in dec.items()}
    r["info"]["decode best mean tok/s"] = {
        s: max((len(d["steps"]) / sum(d["steps"])) for d in v) for s, v in dec.items()}
    log("decode tokens/s (1 / median step): " + "; ".join(
        f"{s} {x:.1f}" for s, x in r["rows"]["decode"].items()))
    r["rows"]["peak memory"] = {w.side: w("maxrss")["maxrss_kib"] / 1024 for w in workers}
    if len(workers) == 2:
        g, t = (np.load(os.path.join(workers[0].tmp, f"{s}_logits.npy"))
                for s in SIDES)
        a, b = dec["gradkit"][0]["ids"], dec["reference"][0]["ids"]
        same = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), len(a))
        r["checks"] = {"logits_rel": float(np.abs(g - t).max() / np.abs(t).max()),
                       "top_token_same": int(g.argmax()) == int(t.argmax()),
                       "greedy_same": same, "greedy_n": len(a)}
        log("check: prefill last-position logits max|Δ|/max|y| {logits_rel:.1e}, same top token: "
            "{top_token_same}; greedy ids identical for the first {greedy_same} of {greedy_n}"
            .format(**r["checks"]))


def minilm_row(args, r, workers, folder, log):
    sentences = sentences_from(shakespeare(), args.sentences)
    path = os.path.join(workers[0].tmp, "sentences.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(sentences, f)
    lens = sorted(len(s.split()) for s in sentences)
    r["info"]["sentences"] = (len(sentences), lens[0], int(np.median(lens)), lens[-1])
    for w in workers:
        got = w("load_minilm", folder=folder)
        r["info"][f"{w.side} minilm"] = got["what"]
        w("encode", file=path, batch_size=32, save=True)  # warm-up
    enc = alternate(workers, args.reps, lambda w: w("encode", file=path, batch_size=32)["s"])
    r["rows"]["minilm"] = {s: len(sentences) / min(v) for s, v in enc.items()}
    log("MiniLM sentences/s: " + "; ".join(f"{s} {x:.1f}" for s, x in r["rows"]["minilm"].items()))
    if len(workers) == 2:
        g, t = (np.load(os.path.join(workers[0].tmp, f"{s}_emb.npy")) for s in SIDES)
        r.setdefault("checks", {})["emb_abs"] = float(np.abs(g - t).max())
        log(f"check: MiniLM embeddings max|Δ| {r['checks']['emb_abs']:.1e}")


def load_rows(r, sides):
    loads = {s: r[s + " load"] for s in sides}
    r["rows"]["load"] = {s: min(x["load_s"] for x in v) for s, v in loads.items()}
    g = loads["gradkit"][0]
    r["weights_mib"] = g["weights_bytes"] / 2 ** 20
    if g["load_peak_kib"] is not None:
        r["rows"]["load peak / fp32 weights"] = {
            s: v[0]["load_peak_kib"] / 1024 for s, v in loads.items()
            if v[0]["load_peak_kib"] is not None}
    else:
        r["notes"].append("load peak not measured: this kernel refuses /proc/self/clear_refs")
    r["info"]["load_s all"] = {s: [round(x["load_s"], 2) for x in v] for s, v in loads.items()}


# === the table =================================================================================
ROWS = [  # (row, unit, how measured, higher is better)
    ("load", "s", "file → ready model, fresh process, min of {load_reps}", False),
    ("peak memory", "MiB", "ru_maxrss of the whole process: import + load + prefill + decode",
     False),
    ("load peak / fp32 weights", "MiB", "high-water mark of from_pretrained alone (each side's); "
     "ratio = gradkit's ÷ its float32 weights ({weights:.0f} MiB)", False),
    ("prefill", "ms", "{prompt}-token prompt, fresh KV cache, min of {reps}", False),
    ("decode", "tokens/s", "greedy, {new_tokens} new tokens after the prompt, 1 / median step "
     "of {decode_reps} runs", True),
    ("minilm", "sentences/s", "all-MiniLM-L6-v2 encode, batch 32, {sentences} sentences, "
     "min of {reps}", True),
]


def table(r, args):
    fmt = dict(vars(args), weights=r.get("weights_mib", float("nan")))
    L = ["| row | unit | gradkit | transformers | ratio | target | met/missed | how |",
         "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for name, unit, how, higher in ROWS:
        vals = r["rows"].get(name)
        if vals is None:
            L.append(f"| {name} | {unit} | skipped | skipped | – | – | – | see notes |")
            continue
        g, t = vals.get("gradkit"), vals.get("reference")
        if name == "load peak / fp32 weights":
            ratio = g / r["weights_mib"]
        else:
            ratio = g / t if t else None
        tgt = TARGETS[name]
        if tgt is None or ratio is None:
            target, verdict = "–", "–"
        else:
            op, v = tgt
            target = f"{op} {v}" + (f" (goal {DECODE_GOAL})" if name == "decode" else "")
            verdict = "met" if (ratio >= v if op == "≥" else ratio <= v) else "missed"
        num = (lambda x: "–" if x is None else f"{x:.3g}" if x < 100 else f"{x:.0f}")
        L.append(f"| {name} | {unit} | {num(g)} | {num(t)} | "
                 f"{'–' if ratio is None else f'{ratio:.2f}'} | {target} | {verdict} | "
                 f"{how.format(**fmt)} |")
    return "\n".join(L)


def describe(r, meta):
    L = [f"- command: `{meta['command']}`", f"- date: {meta['date']}; {meta['source']}",
         f"- machine: {meta['cpu']}, {meta['cores']} logical CPUs; load average at start "
         f"{meta['load_start']}, at end {meta['load_end']}",
         f"- versions: Python {meta['python']}, NumPy {meta['numpy']}, {meta['versions']}",
         f"- threads: {meta['threads']} each (OpenBLAS via threadpoolctl for gradkit, "
         "torch.set_num_threads for transformers)"]
    info = r["info"]
    if "gradkit import_s" in info:
        L.append("- import (s, first process): " + ", ".join(
            f"{s} {info[s + ' import_s'][0]:.2f}" for s in SIDES if s + " import_s" in info))
    if "load_s all" in info:
        L.append("- every load (s): " + "; ".join(f"{s} {v}" for s, v in info["load_s all"].items()))
    if "peak memory" in r["rows"]:
        L.append("- peak memory minus the resident set after import (MiB): " + ", ".join(
            f"{s} {v - info[s + ' import_kib'] / 1024:.0f}" for s, v in r["rows"]["peak memory"].items())
            + "; the load peak includes the GGUF file's pages, memory-mapped while reading")
    if "decode best mean tok/s" in info:
        L.append("- decode, best run's mean tokens/s: " + ", ".join(
            f"{s} {v:.1f}" for s, v in info["decode best mean tok/s"].items()))
    if "sentences" in info:
        n, lo, med, hi = info["sentences"]
        L.append(f"- MiniLM: {n} tiny Shakespeare speeches, {lo}–{hi} words (median {med}); "
                 f"reference: {info.get('reference minilm', 'n/a')}")
    c = r.get("checks", {})
    if "logits_rel" in c:
        L.append(f"- same computation: prefill logits max|Δ|/max|y| {c['logits_rel']:.1e}, "
                 f"same top token {'yes' if c['top_token_same'] else 'NO'}; greedy ids "
                 f"identical for the first {c['greedy_same']} of {c['greedy_n']}"
                 + (f"; MiniLM embeddings max|Δ| {c['emb_abs']:.1e}" if "emb_abs" in c else ""))
    L += [f"- note: {n}" for n in r["notes"]] + [f"- ERROR: {e}" for e in r["errors"]]
    return "\n".join(L)


def update_results(path, section):
    """Put ``section`` between the llm markers in ``path``, replacing what was there, or append
    it; the rest of the file is left as it is."""
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    block = f"{BEGIN}\n{section.strip()}\n{END}"
    if BEGIN in old and END in old:
        new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda m: block, old, flags=re.S)
    else:
        new = old.rstrip("\n") + ("\n\n" if old.strip() else "") + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)


# === command line ==============================================================================
def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.llm",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 64-token prompt, 8 new tokens, 32 sentences, 2 reps")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="threads for both libraries (default: all cores)")
    ap.add_argument("--prompt", type=int, help="prompt tokens (default 512; quick 64)")
    ap.add_argument("--new-tokens", type=int, help="tokens to decode (default 128; quick 8)")
    ap.add_argument("--sentences", type=int, help="MiniLM sentences (default 256; quick 32)")
    ap.add_argument("--reps", type=int, help="prefill and MiniLM repetitions (default 5; quick 2)")
    ap.add_argument("--decode-reps", type=int, help="decode runs (default 3; quick 1)")
    ap.add_argument("--load-reps", type=int, help="fresh processes per side (default 3; quick 1)")
    ap.add_argument("--write", action="store_true", help="record the table in --output")
    ap.add_argument("--output", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    q = args.quick
    for name, full, quick in (("prompt", 512, 64), ("new_tokens", 128, 8), ("sentences", 256, 32),
                              ("reps", 5, 2), ("decode_reps", 3, 1), ("load_reps", 3, 1)):
        if getattr(args, name) is None:
            setattr(args, name, quick if q else full)
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be ≥ 1")
    if args.threads < 1:
        ap.error("--threads must be ≥ 1")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker, args.threads, args.tmp)
    from .compare import _load, _source_state, cpu_model
    versions = ", ".join(f"{p} {_version(p)}" for p in ("torch", "transformers",
                         "sentence-transformers", "gguf", "tokenizers") if _version(p))
    meta = {"command": "python -m benchmarks.llm" + "".join(" " + shlex.quote(a) for a in argv),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "source": _source_state(), "cpu": cpu_model(), "cores": os.cpu_count(),
            "load_start": _load(), "python": platform.python_version(),
            "numpy": np.__version__, "versions": versions, "threads": args.threads}
    print(f"gradkit vs transformers, {args.threads} thread(s), {meta['cores']} CPUs, load "
          f"{meta['load_start']}", flush=True)
    r = run(args, lambda s: print(s, flush=True))
    meta["load_end"] = _load()
    text = table(r, args)
    notes = describe(r, meta)
    print("\n" + text + "\n\n" + notes)
    if args.write:
        update_results(args.output, "## llm: SmolLM2-135M-Instruct and all-MiniLM-L6-v2 vs "
                       "transformers\n\nWritten by `benchmarks/llm.py`; ratios are gradkit / "
                       "transformers (decode and MiniLM: throughput, higher is better; the rest: "
                       "time or memory, lower is better).\n\n" + notes + "\n\n" + text + "\n")
        print(f"written to the llm section of {args.output}")
    return 1 if r["errors"] else 0


def _version(name):
    import importlib.metadata as md
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
