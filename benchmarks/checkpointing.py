"""Activation (gradient) checkpointing: memory and time of a training step with and without it,
gradkit and transformers (PyTorch's torch.utils.checkpoint, non-reentrant) on the same Llama.

    python -m benchmarks.checkpointing              # the table below (~1 min on 2 cores)
    python -m benchmarks.checkpointing --quick      # a smaller model, a smoke run

The workload: a Llama of 4 decoder layers, hidden 256 (4 heads of 64), MLP 688, vocabulary
2048, float32, random weights; a batch of 4 × 256 random tokens. One step is the forward with
labels (the causal-LM loss) and the backward, the gradients set to None before it (and before
any memory reading); no optimizer (the activations are what checkpointing changes).
Checkpointing is ``model.gradient_checkpointing_enable()`` on both sides (transformers:
``{"use_reentrant": False}``).

Columns, each side in its own processes (the gradkit ones never import torch):

- kept after forward: memory allocated by the forward that is still alive when it returns, i.e.
  what the graph keeps for the backward (the activations) plus the loss.
- step peak: the high-water mark over forward + backward above the memory before the step
  (activations, gradients, temporaries).
- traced: NumPy's allocations as ``tracemalloc`` sees them (gradkit only: PyTorch's allocator is
  not traced). RSS: the resident set (VmRSS; VmHWM reset through /proc/self/clear_refs before
  the step), in a process run with ``MALLOC_MMAP_THRESHOLD_=65536`` so that glibc returns freed
  arrays to the system at once and the resident set follows the live arrays.
- step time: the median of ``--reps`` steps, ms, measured in another process with the default
  allocator and no tracing; the two modes alternate step by step so that load from elsewhere
  hits both alike.
- ratios: checkpointed ÷ plain, on the same side.

Each side also checks that both modes give the same loss and gradients (max |Δ| printed).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks.memory import _reset_peak, _status_kib

CONFIG = dict(vocab_size=2048, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
              num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256,
              tie_word_embeddings=False, pad_token_id=0)
QUICK = dict(CONFIG, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
             max_position_embeddings=64, vocab_size=256)
MIB = 1024 * 1024


# === one side in its own process ==========================================
def _setup(side, config, batch, seq, threads):
    import numpy as np
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads, user_api="blas")
    ids = np.random.default_rng(0).integers(1, config["vocab_size"], (batch, seq))
    if side == "gradkit":
        import gradkit as gk
        from gradkit.models.llama import LlamaConfig, LlamaForCausalLM

        gk.manual_seed(0)
        model = LlamaForCausalLM(LlamaConfig(**config)).train()

        def step(on):
            (model.gradient_checkpointing_enable if on else model.gradient_checkpointing_disable)()
            return model(ids, labels=ids).loss

        def grads():
            return {n: p.grad.array.copy() for n, p in model.named_parameters()}
        return step, model.zero_grad, grads, lambda loss: float(loss.array)

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**config, attn_implementation="sdpa")).train()
    tids = torch.tensor(ids)

    def step(on):
        if on:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_disable()
        return model(input_ids=tids, labels=tids).loss

    def grads():
        return {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    return step, lambda: model.zero_grad(set_to_none=True), grads, lambda loss: float(loss.detach())


def _memory(side, config, batch, seq, threads):
    """Per mode: kept after forward and step peak (RSS; gradkit: also traced), bytes."""
    import tracemalloc

    import numpy as np

    step, zero, grads, value = _setup(side, config, batch, seq, threads)
    out, seen = {}, {}
    for on in (False, True):
        step(on).backward()  # warm-up: lazily built tables, the allocator's first growth
        zero()  # the gradients go before the base is read
        traced = side == "gradkit"
        base = _status_kib("VmRSS") * 1024
        _reset_peak()
        if traced:
            tracemalloc.start()
        loss = step(on)
        kept_rss = _status_kib("VmRSS") * 1024 - base
        kept_traced = tracemalloc.get_traced_memory()[0] if traced else None
        loss.backward()
        peak_rss = _status_kib("VmHWM") * 1024 - base
        peak_traced = tracemalloc.get_traced_memory()[1] if traced else None
        if traced:
            tracemalloc.stop()
        seen[on] = (value(loss), grads())
        del loss
        out[str(on)] = dict(kept_rss=kept_rss, peak_rss=peak_rss, kept_traced=kept_traced,
                            peak_traced=peak_traced)
    (l0, g0), (l1, g1) = seen[False], seen[True]
    out["max_grad_diff"] = max(float(np.abs(g0[k] - g1[k]).max()) for k in g0)
    out["loss_diff"] = abs(l0 - l1)
    return out


def _time(side, config, batch, seq, threads, reps):
    step, zero, _, _ = _setup(side, config, batch, seq, threads)
    times = {False: [], True: []}
    for on in (False, True):
        step(on).backward()
    for r in range(reps):
        for on in ((False, True) if r % 2 == 0 else (True, False)):
            zero()
            t0 = time.perf_counter()
            step(on).backward()
            times[on].append(time.perf_counter() - t0)
    return {str(on): statistics.median(ts) for on, ts in times.items()}


# === the driver =============================================================
def _run(side, what, args, env=None):
    cmd = [sys.executable, "-m", "benchmarks.checkpointing", "--worker", side, what,
           "--threads", str(args.threads), "--reps", str(args.reps)] + (["--quick"] if args.quick else [])
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})},
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if res.returncode != 0:
        raise RuntimeError(f"{side} {what} worker failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _mib(b):
    return "–" if b is None else f"{b / MIB:.1f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--sides", default="gradkit,torch")
    ap.add_argument("--worker", nargs=2, metavar=("SIDE", "WHAT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    config = QUICK if args.quick else CONFIG
    batch, seq = (2, 64) if args.quick else (4, 256)
    if args.worker:
        side, what = args.worker
        if what == "memory":
            res = _memory(side, config, batch, seq, args.threads)
        else:
            res = _time(side, config, batch, seq, args.threads, args.reps)
        print(json.dumps(res))
        return 0

    print(f"Llama: {config['num_hidden_layers']} layers, hidden {config['hidden_size']}, "
          f"MLP {config['intermediate_size']}, vocab {config['vocab_size']}; batch {batch} × "
          f"{seq} tokens, float32, {args.threads} thread(s), median of {args.reps} steps")
    rows = []
    for side in args.sides.split(","):
        mem = _run(side, "memory", args, env={"MALLOC_MMAP_THRESHOLD_": "65536"})
        tim = _run(side, "time", args)
        print(f"{side}: same loss and gradients with and without checkpointing: "
              f"|Δloss| {mem['loss_diff']:.1e}, max |Δgrad| {mem['max_grad_diff']:.1e}")
        name = "gradkit" if side == "gradkit" else "transformers (torch.utils.checkpoint)"
        for on in ("False", "True"):
            m = mem[on]
            rows.append((name, on == "True", m, tim[on] * 1000))
        p, c = mem["False"], mem["True"]
        key = "kept_traced" if side == "gradkit" else "kept_rss"
        rows.append((name, "ratio", dict(kept=c[key] / p[key],
                                         peak=c[key.replace("kept", "peak")] /
                                         p[key.replace("kept", "peak")]),
                     tim["True"] / tim["False"]))
    print()
    print("| library | checkpointing | kept after forward, traced (MiB) | step peak, traced (MiB) "
          "| kept after forward, RSS (MiB) | step peak, RSS (MiB) | step time (ms) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, on, m, ms in rows:
        if on == "ratio":
            print(f"| {name} | ratio on/off | kept {m['kept']:.2f}× | peak {m['peak']:.2f}× | "
                  f"| | {ms:.2f}× |")
        else:
            print(f"| {name} | {'on' if on else 'off'} | {_mib(m['kept_traced'])} | "
                  f"{_mib(m['peak_traced'])} | {_mib(m['kept_rss'])} | {_mib(m['peak_rss'])} | "
                  f"{ms:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
