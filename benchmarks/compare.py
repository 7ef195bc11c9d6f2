"""gradkit vs PyTorch, side by side: four training workloads and their inference (issue 7).

    python -m benchmarks.compare                       # both thread settings, all workloads
    python -m benchmarks.compare --workloads mlp,cnn --steps 30 --threads 1
    python -m benchmarks.compare --quick               # a smoke run: 2 steps each

For each workload (see benchmarks/models.py) the same model is built in PyTorch (seeded) and in
gradkit, the gradkit weights are copied from PyTorch's ``state_dict``, and both get the same data.
Before timing, one check that both compute the same thing: the loss of step 1 (identical weights)
and of step 2 (after one Adam update) must agree to 1e-4 relative, and the forward outputs too;
a mismatch is printed and makes the script exit 1 after writing the results.

Timing: one step = zero_grad + forward + cross-entropy + backward + Adam step, float32. The two
sides run alternately in this one process, step by step (gradkit then PyTorch, then PyTorch then
gradkit, ...), after a warm-up, and each side's time is the median over ``--steps`` steps, so a
burst of load from elsewhere on the machine hits both sides alike. Inference is the forward alone
under ``no_grad``, timed the same way. Peak resident memory is measured per side in separate
subprocesses (benchmarks/memory.py).

Threads: ``--threads default,1`` (the default) runs everything twice: with each library's default
thread count, and with one thread each (NumPy's OpenBLAS limited through threadpoolctl, the
runtime form of OPENBLAS_NUM_THREADS=1; ``torch.set_num_threads(1)``). On a small, loaded machine
BLAS threads fighting other processes can distort timings badly; the 1-thread table is the steadier
comparison of the two frameworks' own overheads.

Also measured: the machine's float32 matmul peak (best of a few 2048³ ``np.matmul``) and the
fraction of it that the gradkit MLP step reaches at batch 1024, counting the step's matmul FLOPs as
forward 2·B·Σ(in·out) plus backward twice that.

The table goes to stdout and, with the machine, versions, threads, command and date, to
``--output`` (default benchmarks/results.md).
"""
import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
import time

import numpy as np

from . import memory
from .models import WORKLOADS, build, loss_of, make_data

# Ratio gradkit / PyTorch to reach (issue 7), train step and inference alike; memory ≤ 1.3×.
TARGETS = {"mlp": 0.8, "cnn": 1.0, "lstm": 1.5, "gpt": 1.1}
MEMORY_TARGET = 1.3
PEAK_FRACTION_TARGET = 0.60
LOSS_RTOL = 1e-4
MLP_SIZES = (784, 512, 256, 10)
HERE = os.path.dirname(os.path.abspath(__file__))


# === machine ===================================================================================
def cpu_model():
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    k, v = (s.strip() for s in line.split(":", 1))
                    info.setdefault(k, v)
    except OSError:
        return platform.processor() or platform.machine()
    name = info.get("model name", platform.machine())
    if "cpu family" in info and "model" in info:
        name += f" (family {info['cpu family']}, model {info['model']})"
    return name


def blas_info():
    """[(library, version, architecture, threads)] of NumPy's BLAS, via threadpoolctl if present."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [(d.get("internal_api"), d.get("version"), d.get("architecture"), d.get("num_threads"))
            for d in threadpool_info() if d.get("user_api") == "blas"
            and "numpy" in d.get("filepath", "")] or None


class ThreadSetting:
    """Context: ``n`` threads for NumPy's BLAS and PyTorch, or each library's default (n=None)."""

    def __init__(self, n, torch):
        self.n, self.torch, self._limits = n, torch, None

    @property
    def label(self):
        return "default threads" if self.n is None else f"{self.n} thread{'s' * (self.n > 1)}"

    def __enter__(self):
        self._torch_before = self.torch.get_num_threads()
        if self.n is not None:
            self.torch.set_num_threads(self.n)
            try:
                from threadpoolctl import threadpool_limits
                self._limits = threadpool_limits(self.n, user_api="blas")
            except ImportError:
                print("warning: threadpoolctl missing; NumPy's BLAS threads are not limited "
                      "(set OPENBLAS_NUM_THREADS yourself)", file=sys.stderr)
        return self

    def __exit__(self, *exc):
        if self._limits is not None:
            self._limits.restore_original_limits()
        self.torch.set_num_threads(self._torch_before)

    def describe(self):
        blas = blas_info()
        numpy_threads = (", ".join(f"{lib} {threads}" for lib, _, _, threads in blas)
                         if blas else "unknown (no threadpoolctl)")
        return f"NumPy BLAS threads: {numpy_threads}; torch.get_num_threads(): " \
               f"{self.torch.get_num_threads()}"


class MatmulPeak:
    """The machine's float32 matmul peak: the best GFLOP/s of np.matmul on two n×n matrices
    (2n³ FLOPs). Noise from other processes only slows a product down, so the best sample is
    the estimate; ``sample()`` is called again between the MLP batch-1024 steps so the peak and
    the step are measured under the same load."""

    def __init__(self, n=2048):
        rng = np.random.default_rng(0)
        self.n = n
        self.a = rng.standard_normal((n, n), dtype=np.float32)
        self.b = rng.standard_normal((n, n), dtype=np.float32)
        self.out = np.empty((n, n), np.float32)
        np.matmul(self.a, self.b, out=self.out)
        self.samples = 0
        self.gflops = 0.0

    def sample(self, repeats=1):
        for _ in range(repeats):
            t0 = time.perf_counter()
            np.matmul(self.a, self.b, out=self.out)
            self.gflops = max(self.gflops, 2.0 * self.n ** 3 / (time.perf_counter() - t0) / 1e9)
            self.samples += 1
        return self.gflops


# === one workload, both sides ==================================================================
class Pair:
    """The same model and data in gradkit and PyTorch, with one-step and forward closures."""

    def __init__(self, name, gk, torch, batch=None):
        self.name = name
        torch.manual_seed(0)
        self.t_model = build(name, torch)
        self.g_model = build(name, gk)
        self.g_model.load_state_dict({k: v.detach().numpy()
                                      for k, v in self.t_model.state_dict().items()})
        x, y = make_data(name, batch)
        self.tx, self.ty = torch.from_numpy(x), torch.from_numpy(y)
        self.gx, self.gy = gk.from_numpy(x), gk.from_numpy(y)
        self.t_opt = torch.optim.Adam(self.t_model.parameters(), lr=1e-3)
        self.g_opt = gk.optim.Adam(self.g_model.parameters(), lr=1e-3)
        self.gk, self.torch = gk, torch

    def gk_step(self):
        self.g_opt.zero_grad()
        loss = loss_of(self.gk, self.g_model, self.gx, self.gy)
        loss.backward()
        self.g_opt.step()
        return loss

    def torch_step(self):
        self.t_opt.zero_grad()
        loss = loss_of(self.torch, self.t_model, self.tx, self.ty)
        loss.backward()
        self.t_opt.step()
        return loss

    def gk_infer(self):
        with self.gk.no_grad():
            return self.g_model(self.gx)

    def torch_infer(self):
        with self.torch.no_grad():
            return self.t_model(self.tx)

    def check(self):
        """Relative differences: forward output (max |Δ| / max |y|), step-1 and step-2 loss."""
        g, t = self.gk_infer().numpy(), self.torch_infer().numpy()
        forward = float(np.abs(g - t).max() / max(np.abs(t).max(), 1e-30))
        losses = []
        for _ in range(2):
            gl, tl = float(self.gk_step().item()), float(self.torch_step().item())
            losses.append((gl, tl, abs(gl - tl) / max(abs(tl), 1e-30)))
        return {"forward": forward, "step1": losses[0], "step2": losses[1],
                "ok": forward <= LOSS_RTOL and all(r <= LOSS_RTOL for _, _, r in losses)}


class Timing:
    """Per-step seconds of the two sides, paired by step."""

    def __init__(self, ta, tb):
        self.ta, self.tb = ta, tb
        self.a, self.b = statistics.median(ta), statistics.median(tb)
        ratios = sorted(x / y for x, y in zip(ta, tb))
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        self.spread = (q[0], q[2])  # quartiles of the step-by-step ratio: how noisy the run was


def interleaved(fa, fb, warmup, steps, between=None):
    """Timing of fa and fb run alternately step by step (order flipped each step); ``between``,
    if given, runs once per step outside the timed region."""
    for _ in range(warmup):
        fa()
        fb()
    ta, tb = [], []
    for i in range(steps):
        if between is not None:
            between()
        order = ((fa, ta), (fb, tb)) if i % 2 == 0 else ((fb, tb), (fa, ta))
        for fn, acc in order:
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    return Timing(ta, tb)


def mlp_step_flops(batch, executed=False):
    """Matmul FLOPs of one MLP training step: forward 2·B·Σ(in·out), backward twice that (the
    issue's count). ``executed=True``: without dL/dx of the first layer, which neither framework
    computes since the input needs no gradient."""
    macs = [i * o for i, o in zip(MLP_SIZES[:-1], MLP_SIZES[1:])]
    fwd = 2 * batch * sum(macs)
    return 3 * fwd - (2 * batch * macs[0] if executed else 0)


# === the run ===================================================================================
def run_setting(setting, workloads, steps, warmup, peak_repeats, memory_steps, log):
    import gradkit as gk
    torch = setting.torch
    res = {"label": setting.label, "threads": setting.describe(), "rows": [], "checks": {}}
    log(f"\n## {setting.label}: {res['threads']}")
    peak = MatmulPeak()
    log(f"matmul peak so far (2048³ float32 np.matmul, best of {peak_repeats}): "
        f"{peak.sample(peak_repeats):.1f} GFLOP/s")
    for name in workloads:
        pair = Pair(name, gk, torch)
        chk = pair.check()
        res["checks"][name] = chk
        log(f"{name:5s} check: forward rel {chk['forward']:.1e}; loss step 1 gk {chk['step1'][0]:.6f}"
            f" pt {chk['step1'][1]:.6f} rel {chk['step1'][2]:.1e}; step 2 rel {chk['step2'][2]:.1e}"
            f" -> {'ok' if chk['ok'] else 'MISMATCH'}")
        for mode, fa, fb in (("train", pair.gk_step, pair.torch_step),
                             ("inference", pair.gk_infer, pair.torch_infer)):
            tm = interleaved(fa, fb, warmup, steps)
            res["rows"].append((name, mode, tm))
            log(f"{name:5s} {mode[:5]}  gradkit {1e3 * tm.a:9.2f} ms  PyTorch {1e3 * tm.b:9.2f} ms"
                f"  ratio {tm.a / tm.b:5.2f}  (target ≤ {TARGETS[name]}; step ratios "
                f"{tm.spread[0]:.2f}–{tm.spread[1]:.2f})")
        del pair
    big = Pair("mlp", gk, torch, batch=1024)
    tm = interleaved(big.gk_step, big.torch_step, max(1, warmup), steps, between=peak.sample)
    g, t = tm.a, tm.b
    flops, executed = mlp_step_flops(1024), mlp_step_flops(1024, executed=True)
    res["peak"], res["peak_samples"] = peak.gflops, peak.samples
    res["mlp1024"] = {"gk_s": g, "torch_s": t, "flops": flops, "executed": executed,
                      "gk_frac": flops / g / 1e9 / peak.gflops,
                      "gk_exec_frac": executed / g / 1e9 / peak.gflops,
                      "torch_frac": flops / t / 1e9 / peak.gflops}
    m = res["mlp1024"]
    log(f"matmul peak (best of {peak.samples} samples, interleaved with the steps below): "
        f"{peak.gflops:.1f} GFLOP/s")
    log(f"MLP batch 1024 step: gradkit {1e3 * g:.1f} ms = {flops / g / 1e9:.1f} GFLOP/s = "
        f"{100 * m['gk_frac']:.0f}% of peak (target ≥ {100 * PEAK_FRACTION_TARGET:.0f}%; "
        f"{100 * m['gk_exec_frac']:.0f}% counting only the executed matmuls); "
        f"PyTorch {1e3 * t:.1f} ms = {100 * m['torch_frac']:.0f}%")
    if memory_steps:
        log("peak memory (separate subprocesses)...")
        res["memory"] = memory.measure(workloads, steps=memory_steps, threads=setting.n)
    return res


def _verdict(ok):
    return "met" if ok else "missed"


def render(results, meta):
    """results.md text: header, then per thread setting the checks and the tables."""
    L = ["# gradkit vs PyTorch: benchmark results", "",
         "Written by `benchmarks/compare.py` (issue 7); regenerate with the command below. "
         "Ratios are gradkit / PyTorch in the same process run (lower is better); times are "
         "medians of steps run alternately. Where a target is missed, "
         "[PROFILE.md §0](PROFILE.md) gives the measured floor behind it (the same step on bare "
         "NumPy arrays, the per-op micro-benchmarks) and the profile that shows why.", "",
         f"- command: `{meta['command']}`",
         f"- date: {meta['date']}",
         f"- machine: {meta['cpu']}, {meta['cores']} logical CPUs; load average at start "
         f"{meta['load_start']}, at end {meta['load_end']}",
         f"- versions: Python {meta['python']}, NumPy {meta['numpy']}, PyTorch {meta['torch']}; "
         f"gradkit {meta['source']}",
         f"- NumPy BLAS: {meta['blas']}; OPENBLAS_CORETYPE={meta['coretype']}",
         f"- steps: {meta['warmup']} warm-up + median of {meta['steps']} per side "
         f"(interleaved step by step); memory: {meta['memory_steps']} training steps per "
         f"subprocess", ""]
    for res in results:
        L += [f"## {res['label']}", "", res["threads"], "",
              "| workload | gradkit ms/step | PyTorch ms/step | ratio gradkit/PyTorch | target "
              "| met/missed | step ratio p25–p75 |", "| --- | ---: | ---: | ---: | ---: | --- | ---: |"]
        for name, mode, tm in res["rows"]:
            r = tm.a / tm.b
            L.append(f"| {name} {mode} | {1e3 * tm.a:.2f} | {1e3 * tm.b:.2f} | {r:.2f} | "
                     f"≤ {TARGETS[name]} | {_verdict(r <= TARGETS[name])} | "
                     f"{tm.spread[0]:.2f}–{tm.spread[1]:.2f} |")
        m = res["mlp1024"]
        L += ["", f"Matmul peak: {res['peak']:.1f} GFLOP/s (float32 np.matmul 2048³, the best of "
              f"{res['peak_samples']} samples, most of them taken between the MLP steps below). "
              f"MLP training step at batch 1024 ({m['flops'] / 1e9:.2f} GFLOP of matmul as the "
              f"issue counts it): gradkit {1e3 * m['gk_s']:.1f} ms = {100 * m['gk_frac']:.0f}% "
              f"of peak (target ≥ {100 * PEAK_FRACTION_TARGET:.0f}%: "
              f"{_verdict(m['gk_frac'] >= PEAK_FRACTION_TARGET)}); PyTorch "
              f"{1e3 * m['torch_s']:.1f} ms = {100 * m['torch_frac']:.0f}%. Counting only the "
              f"matmuls executed ({m['executed'] / 1e9:.2f} GFLOP: no input gradient for the "
              f"first layer), gradkit reaches {100 * m['gk_exec_frac']:.0f}%.", ""]
        if "memory" in res:
            L += ["Peak resident memory, one subprocess per side: the training's own peak "
                  "(high-water mark over model build + steps, minus the resident set after "
                  "import) and, for reference, the process's whole-life peak, import included.",
                  "", "| workload | gradkit MiB | PyTorch MiB | ratio | target | met/missed "
                  "| gradkit total MiB | PyTorch total MiB |",
                  "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
            for name, sides in res["memory"].items():
                g, t = (sides[s]["peak_kib"] - sides[s]["base_kib"] for s in ("gradkit", "torch"))
                r = g / max(t, 1)
                L.append(f"| {name} | {g / 1024:.0f} | {t / 1024:.0f} | {r:.2f} | "
                         f"≤ {MEMORY_TARGET} | {_verdict(r <= MEMORY_TARGET)} | "
                         f"{sides['gradkit']['total_peak_kib'] / 1024:.0f} | "
                         f"{sides['torch']['total_peak_kib'] / 1024:.0f} |")
            if not all(s["peak_reset"] for sides in res["memory"].values() for s in sides.values()):
                L += ["", "Note: this kernel refused to reset the high-water mark "
                      "(/proc/self/clear_refs), so the training peaks above include the import."]
            L.append("")
        L += ["Correctness (same weights, same data): relative difference of the forward output "
              "(max |Δ| / max |y|) and of the loss at step 1 and at step 2 (after one Adam "
              f"update); each must be ≤ {LOSS_RTOL:g}.", "",
              "| workload | forward | loss step 1 (gradkit / PyTorch) | rel | loss step 2 rel "
              "| agree |", "| --- | ---: | --- | ---: | ---: | --- |"]
        for name, c in res["checks"].items():
            L.append(f"| {name} | {c['forward']:.1e} | {c['step1'][0]:.6f} / {c['step1'][1]:.6f}"
                     f" | {c['step1'][2]:.1e} | {c['step2'][2]:.1e} | "
                     f"{'yes' if c['ok'] else 'NO'} |")
        L.append("")
    return "\n".join(L)


def _source_state():
    """gradkit's commit, and whether src/ has uncommitted changes (the numbers time the tree)."""
    import subprocess
    root = os.path.dirname(HERE)
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                              capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root, text=True,
                               capture_output=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    n = sum(1 for line in dirty if line.strip())
    return f"commit {head or '?'}" + (f" + {n} changed or untracked path(s) under src/" if n else "")


def _load():
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "n/a"


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help="comma-separated subset of " + ",".join(WORKLOADS))
    ap.add_argument("--steps", type=int, default=None,
                    help="timed steps per side (median); default 20, 2 with --quick")
    ap.add_argument("--warmup", type=int, default=None, help="default 3, 1 with --quick")
    ap.add_argument("--threads", default="default,1",
                    help="comma-separated thread settings to run: 'default' and/or a count")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 2 steps, 1 warm-up, peak matmul best of 2, 1 memory step")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    ap.add_argument("--output", default=os.path.join(HERE, "results.md"),
                    help="where to write the markdown results (default benchmarks/results.md)")
    args = ap.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    bad = [w for w in args.workloads if w not in WORKLOADS]
    if bad or not args.workloads:
        ap.error(f"--workloads: unknown {bad}; choose from {','.join(WORKLOADS)}")
    try:
        args.threads = [None if s.strip() == "default" else int(s)
                        for s in args.threads.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--threads: expected 'default' or integers, comma-separated; got {args.threads!r}")
    if any(n is not None and n < 1 for n in args.threads) or not args.threads:
        ap.error("--threads: counts must be ≥ 1")
    if args.steps is None:
        args.steps = 2 if args.quick else 20
    if args.warmup is None:
        args.warmup = 1 if args.quick else 3
    if args.steps < 1 or args.warmup < 0:
        ap.error("--steps must be ≥ 1 and --warmup ≥ 0")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    import torch

    import gradkit  # noqa: F401  (import errors surface here, before any timing)

    blas = blas_info()
    meta = {"command": "python -m benchmarks.compare" + "".join(" " + shlex.quote(a) for a in argv),
            "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "cpu": cpu_model(), "cores": os.cpu_count(), "load_start": _load(),
            "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "source": _source_state(), "coretype": os.environ.get("OPENBLAS_CORETYPE", "unset"),
            "blas": ", ".join(f"{lib} {ver} ({arch} kernels)" for lib, ver, arch, _ in blas)
            if blas else "unknown (no threadpoolctl)",
            "steps": args.steps, "warmup": args.warmup,
            "peak_repeats": 2 if args.quick else 5,
            "memory_steps": 0 if args.no_memory else (1 if args.quick else 3)}
    print(f"gradkit vs PyTorch on {meta['cpu']}, {meta['cores']} CPUs, load {meta['load_start']}")
    results = []
    for n in args.threads:
        with ThreadSetting(n, torch) as setting:
            results.append(run_setting(setting, args.workloads, args.steps, args.warmup,
                                       meta["peak_repeats"], meta["memory_steps"],
                                       lambda s: print(s, flush=True)))
    meta["load_end"] = _load()
    text = render(results, meta)
    print("\n" + text)
    if args.output:
        # keep the sections other scripts own (benchmarks/llm.py's <!-- llm:begin --> ... end)
        kept = ""
        if os.path.exists(args.output):
            with open(args.output) as f:
                old = f.read()
            begin, end = "<!-- llm:begin -->", "<!-- llm:end -->"
            if begin in old and end in old:
                kept = "\n" + old[old.index(begin):old.index(end) + len(end)] + "\n"
        with open(args.output, "w") as f:
            f.write(text.rstrip("\n") + "\n" + kept)
        print(f"written to {args.output}")
    bad = [f"{r['label']}: {w}" for r in results for w, c in r["checks"].items() if not c["ok"]]
    if bad:
        print("LOSS MISMATCH (the two sides do not compute the same thing): " + "; ".join(bad),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
