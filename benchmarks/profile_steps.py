"""Profile one gradkit training step per workload: the evidence behind benchmarks/PROFILE.md.

    python -m benchmarks.profile_steps phases  [--workloads mlp,cnn] [--steps 20]
    python -m benchmarks.profile_steps cprofile --workloads gpt [--steps 10] [--top 30]
    python -m benchmarks.profile_steps loop     --workloads gpt --steps 30     # for py-spy
    py-spy record --native --format raw -r 400 -o gpt.txt -- \\
        python -m benchmarks.profile_steps loop --workloads gpt --steps 30
    python -m benchmarks.profile_steps classify gpt.txt

``phases``: median time of zero_grad, forward (+ loss), backward and optimizer step, gradkit and
PyTorch alternately, and how many graph nodes (Function.apply calls) a gradkit step records.
``cprofile``: the top functions of the gradkit step by own time and by cumulative time.
``classify``: a py-spy ``--native`` raw profile split by where each sample's innermost frame is:
BLAS (OpenBLAS / MKL), NumPy C code (elementwise ufuncs, copies, reductions), allocation (malloc,
free, page faults), the Python interpreter, or other native code.

Threads: everything runs with one thread per library unless ``--threads`` says otherwise (set
OPENBLAS_NUM_THREADS=1 in the environment too when sampling with py-spy), so that the split is
not blurred by BLAS threads waiting on each other.
"""
import argparse
import collections
import cProfile
import io
import pstats
import re
import statistics
import sys
import time

from .models import WORKLOADS, build, loss_of, make_data


def _limit_threads(n):
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n, user_api="blas")
    except ImportError:
        pass


def _setup(lib, name):
    lib.manual_seed(0)
    model = build(name, lib)
    x, y = make_data(name)
    x, y = lib.from_numpy(x), lib.from_numpy(y)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    return model, x, y, opt


def _step(lib, model, x, y, opt):
    opt.zero_grad()
    loss = loss_of(lib, model, x, y)
    loss.backward()
    opt.step()


def _phases_once(lib, model, x, y, opt):
    t0 = time.perf_counter()
    opt.zero_grad()
    t1 = time.perf_counter()
    loss = loss_of(lib, model, x, y)
    t2 = time.perf_counter()
    loss.backward()
    t3 = time.perf_counter()
    opt.step()
    t4 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, t4 - t3


def phases(names, steps, threads):
    import torch

    import gradkit as gk
    from gradkit.autograd.function import Function
    torch.set_num_threads(threads)
    _limit_threads(threads)
    print("| workload | side | zero_grad ms | forward+loss ms | backward ms | Adam step ms | total ms "
          "| graph nodes / step |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        sides = {"gradkit": (gk, *_setup(gk, name)), "PyTorch": (torch, *_setup(torch, name))}
        for _ in range(3):
            for args in sides.values():
                _step(*args)
        # graph size: count Function.apply calls of one gradkit forward (with grad) and backward
        calls = collections.Counter()
        orig = Function.apply.__func__

        def counting(cls, *a, **k):
            calls["grad" if gk.is_grad_enabled() else "nograd"] += 1
            return orig(cls, *a, **k)
        Function.apply = classmethod(counting)
        try:
            lib, model, x, y, opt = sides["gradkit"]
            opt.zero_grad()
            loss = loss_of(lib, model, x, y)
            fwd = calls["grad"]
            loss.backward()
            bwd = calls["nograd"]
            opt.step()
        finally:
            Function.apply = classmethod(orig)
        times = {k: [] for k in sides}
        for i in range(steps):
            order = list(sides) if i % 2 == 0 else list(sides)[::-1]
            for k in order:
                times[k].append(_phases_once(*sides[k]))
        for k, ts in times.items():
            med = [1e3 * statistics.median(col) for col in zip(*ts)]
            total = 1e3 * statistics.median(sum(t) for t in ts)
            nodes = f"{fwd} fwd + {bwd} bwd ops" if k == "gradkit" else ""
            print(f"| {name} | {k} | {med[0]:.2f} | {med[1]:.2f} | {med[2]:.2f} | {med[3]:.2f} | "
                  f"{total:.2f} | {nodes} |", flush=True)


def cprofile(names, steps, threads, top):
    import gradkit as gk
    _limit_threads(threads)
    for name in names:
        args = _setup(gk, name)
        for _ in range(3):
            _step(gk, *args)
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for _ in range(steps):
            _step(gk, *args)
        prof.disable()
        wall = (time.perf_counter() - t0) / steps
        print(f"\n### {name}: {steps} steps profiled, {1e3 * wall:.1f} ms/step under cProfile\n")
        for key in ("tottime", "cumulative"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(top)
            text = buf.getvalue()
            print(text[text.index("ncalls"):] if "ncalls" in text else text)


def loop(names, steps, threads):
    import gradkit as gk
    _limit_threads(threads)
    for name in names:
        args = _setup(gk, name)
        for _ in range(3):
            _step(gk, *args)
        for _ in range(steps):
            _step(gk, *args)


# py-spy --native frame: "function (file.py:line)" or "function (library.so)". A sample is put in
# the category of its innermost frame that names one; unnamed libc frames (memset/memcpy inside
# OpenBLAS or NumPy, with no symbol) take their caller's category.
_CATEGORIES = (
    ("allocation", re.compile(r"^(malloc|free|cfree|calloc|realloc|_int_malloc|_int_free|"
                              r"_int_realloc|malloc_consolidate|sysmalloc|mmap|munmap|madvise|"
                              r"brk|sbrk|PyDataMem_\w*|default_malloc|default_calloc|"
                              r"default_free|npy_alloc_cache\w*|npy_free_cache\w*|"
                              r"npy_alloc\w*|npy_free\w*|clear_page\w*|__memset\w*) ", re.I)),
    ("BLAS", re.compile(r"openblas|HASWELL|ZEN|SKYLAKE|gemm|blas_thread|exec_blas|mkl", re.I)),
    ("NumPy copy/cast", re.compile(r"^\S*(copy|contig|cast|strided_to|assign|memmove|memcpy|"
                                   r"transpose|take|mapiter|fancy|concatenate|ravel|"
                                   r"PyArray_NewCopy|PyArray_Concatenate)\S* \(numpy", re.I)),
    ("NumPy reduction", re.compile(r"^\S*(reduce|pairwise|_sum|einsum|argmax|argmin|"
                                   r"maximum_reduce)\S* \(numpy", re.I)),
    ("NumPy elementwise", re.compile(r"^(FLOAT|DOUBLE|BOOL|HALF|LONG|INT|UINT|UBYTE)\w* \(numpy|"
                                     r"^\w*(X86_V|AVX|exp|log|tanh|sqrt)\w* \(numpy", re.I)),
    ("NumPy dispatch", re.compile(r"\(numpy/.*\.so\)")),
    ("Python", re.compile(r"\(.*\.py:\d+\)|\(<frozen|\(python|\(libpython|^_?Py|^gc_", re.I)),
)


def _category(frames):
    for frame in reversed(frames):
        if frame.startswith("0x") and "(libc" in frame:
            continue  # an unnamed libc routine: charge it to whoever called it
        for cat, rx in _CATEGORIES:
            if rx.search(frame):
                return cat, frame
        return "other native", frame
    return "other native", frames[-1]


def classify(path, within="_step (benchmarks/profile_steps.py"):
    """Print the share of samples in each category, counting only stacks inside ``within``."""
    totals = collections.Counter()
    leaves = collections.Counter()
    phases = collections.Counter()
    owners = collections.Counter()  # (innermost gradkit function, category)
    n = 0
    with open(path) as f:
        for line in f:
            line = line.rstrip()
            if not line or within not in line:
                continue
            stack, _, count = line.rpartition(" ")
            count = int(count)
            cat, frame = _category(stack.split(";"))
            phase = ("optimizer" if ".step (gradkit/optim" in stack or "zero_grad" in stack
                     else "backward" if "Tensor.backward (" in stack else "forward+loss")
            phases[phase, cat] += count
            owner = next((f for f in reversed(stack.split(";")) if "(gradkit/" in f), "(none)")
            owners[re.sub(r":\d+\)$", ")", owner), cat] += count
            owners[re.sub(r":\d+\)$", ")", owner), "all"] += count
            phases[phase, "all"] += count
            totals[cat] += count
            leaves[(cat, re.sub(r" \((.*/)?", " (", frame))] += count
            n += count
    print(f"{path}: {n} samples inside the training step")
    for cat, c in totals.most_common():
        print(f"  {cat:18s} {100 * c / n:5.1f}%")
    cats = [c for c, _ in totals.most_common()]
    print("  | phase | share | " + " | ".join(cats) + " |")
    for phase in ("forward+loss", "backward", "optimizer"):
        tot = phases[phase, "all"]
        print(f"  | {phase} | {100 * tot / n:.0f}% | "
              + " | ".join(f"{100 * phases[phase, c] / n:.1f}" for c in cats) + " |")
    print("  innermost gradkit function: share of the step (BLAS / NumPy elementwise within it):")
    tops = sorted(((c, o) for (o, k), c in owners.items() if k == "all"), reverse=True)[:12]
    for c, o in tops:
        print(f"    {100 * c / n:5.1f}%  {o[:70]:70s} BLAS {100 * owners[o, 'BLAS'] / n:4.1f}%, "
              f"elementwise {100 * owners[o, 'NumPy elementwise'] / n:4.1f}%, "
              f"copy {100 * owners[o, 'NumPy copy/cast'] / n:4.1f}%")
    print("  top frames (innermost named):")
    for (cat, leaf), c in leaves.most_common(15):
        print(f"    {100 * c / n:5.1f}%  {cat:18s} {leaf[:100]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("phases", "cprofile", "loop", "classify"))
    ap.add_argument("path", nargs="?", help="classify: a py-spy --format raw output file")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    names = [w for w in args.workloads.split(",") if w]
    if args.mode == "phases":
        phases(names, args.steps, args.threads)
    elif args.mode == "cprofile":
        cprofile(names, args.steps, args.threads, args.top)
    elif args.mode == "loop":
        loop(names, args.steps, args.threads)
    else:
        if not args.path:
            ap.error("classify needs the py-spy raw file")
        classify(args.path)


if __name__ == "__main__":
    sys.exit(main())
