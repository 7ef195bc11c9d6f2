"""Peak resident memory of one side (gradkit or PyTorch) training one workload, in its own process.

    python -m benchmarks.memory --side gradkit --workload gpt [--steps 3] [--threads N]

prints one JSON line::

    {"side": "gradkit", "workload": "gpt", "base_kib": ..., "peak_kib": ..., "total_peak_kib": ...}

``base_kib`` is the resident set (VmRSS) once the library is imported and the data made;
``peak_kib`` the high-water mark (VmHWM) over building the model and running ``--steps``
training steps (forward + backward + Adam), after the high-water mark was reset to the base
(``/proc/self/clear_refs``, Linux ≥ 4.0; where that fails the mark is the process's whole life).
The difference, ``peak_kib - base_kib``, is the memory the training itself needs: parameters,
gradients, optimizer state, activations, temporaries, allocator caches. ``total_peak_kib`` is the
process's lifetime peak, import of the library included (PyTorch's import alone is ~10× gradkit's).

Each side runs in a fresh interpreter that never imports the other library (the gradkit side
checks ``"torch" not in sys.modules``), so neither side's allocations or imports count against the
other. :func:`measure` runs both sides for a list of workloads and returns the numbers.
"""
import argparse
import json
import os
import subprocess
import sys

__all__ = ["measure", "main"]


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"memory: /proc/self/status has no {field} line (Linux only)")


def _reset_peak():
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _run_side(side, workload, steps, threads):
    import numpy as np  # noqa: F401  (imported before the base reading on both sides)

    if side == "torch":
        import torch as lib
        if threads:
            lib.set_num_threads(threads)
        lib.manual_seed(0)
        wrap = lib.from_numpy
    else:
        import gradkit as lib
        lib.manual_seed(0)
        wrap = lib.from_numpy
    if threads:
        try:
            from threadpoolctl import threadpool_limits
            threadpool_limits(threads, user_api="blas")
        except ImportError:
            pass
    from .models import build, loss_of, make_data

    x, y = make_data(workload)
    x, y = wrap(x), wrap(y)
    base = _status_kib("VmRSS")
    total_before = _status_kib("VmHWM")
    reset = _reset_peak()
    model = build(workload, lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(lib, model, x, y)
        loss.backward()
        opt.step()
    peak = _status_kib("VmHWM")
    if side == "gradkit" and "torch" in sys.modules:
        raise RuntimeError("memory: the gradkit side imported torch; its peak would include it")
    return {"side": side, "workload": workload, "steps": steps, "base_kib": base,
            "peak_kib": max(peak, base), "total_peak_kib": max(peak, total_before),
            "peak_reset": reset, "loss": float(loss.item())}


def measure(workloads, steps=3, threads=None, timeout=600):
    """{workload: {"gradkit": result, "torch": result}} from one subprocess per side and workload.

    ``threads``: None leaves both libraries' defaults; an int sets OPENBLAS_NUM_THREADS and
    OMP_NUM_THREADS in the child and calls torch.set_num_threads / threadpool_limits there.
    """
    env = dict(os.environ)
    if threads:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(threads)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = {}
    for w in workloads:
        out[w] = {}
        for side in ("gradkit", "torch"):
            cmd = [sys.executable, "-m", "benchmarks.memory", "--side", side, "--workload", w,
                   "--steps", str(steps)] + (["--threads", str(threads)] if threads else [])
            proc = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True,
                                  timeout=timeout)
            if proc.returncode:
                raise RuntimeError(f"memory: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
            out[w][side] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", choices=("gradkit", "torch"), required=True)
    ap.add_argument("--workload", choices=("mlp", "cnn", "lstm", "gpt"), required=True)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    print(json.dumps(_run_side(args.side, args.workload, args.steps, args.threads)))


if __name__ == "__main__":
    main()
