"""Conv micro-benchmark: Conv2d(1→32, 3, padding=1) + MaxPool2d(2), forward and backward.

    python benchmarks/conv_micro.py [--batch-size 64] [--repeats 20] [--threads N]

Batch 64 of 28×28 float32 images (an MNIST-sized first layer), the same weights in gradkit and
PyTorch, in the same process. Times the forward alone and forward + backward (loss = the sum of
the pooled output; gradients for weight and bias, and optionally the input), median of
``--repeats`` runs after warm-up, and prints a table with gradkit / PyTorch ratios.
"""
import argparse
import os
import statistics
import time

import numpy as np


def median_ms(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch.set_num_threads (set OPENBLAS_NUM_THREADS for NumPy yourself)")
    args = ap.parse_args()

    import torch

    import gradkit as gk

    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((args.batch_size, 1, 28, 28)).astype(np.float32)

    g_conv, g_pool = gk.nn.Conv2d(1, 32, 3, padding=1), gk.nn.MaxPool2d(2)
    t_conv, t_pool = torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.MaxPool2d(2)
    g_conv.load_state_dict({k: v.detach().numpy() for k, v in t_conv.state_dict().items()})

    def gk_step(x, backward):
        y = g_pool(g_conv(x))
        if backward:
            g_conv.zero_grad()
            y.sum().backward()
        return y

    def torch_step(x, backward):
        if not backward:
            with torch.no_grad():
                return t_pool(t_conv(x))
        y = t_pool(t_conv(x))
        t_conv.zero_grad()
        y.sum().backward()
        return y

    # same numbers first: a benchmark of a wrong result measures nothing
    gx, tx = gk.tensor(x_np), torch.tensor(x_np)
    np.testing.assert_allclose(gk_step(gx, True).array, torch_step(tx, True).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(g_conv.weight.grad.array, t_conv.weight.grad.numpy(), rtol=1e-3,
                               atol=1e-3)

    rows = []
    for label, input_grad in (("params only", False), ("params + input", True)):
        gx = gk.tensor(x_np, requires_grad=input_grad)
        tx = torch.tensor(x_np, requires_grad=input_grad)
        with gk.no_grad():
            g_fwd = median_ms(lambda gx=gx: gk_step(gx, False), args.repeats)
        t_fwd = median_ms(lambda tx=tx: torch_step(tx, False), args.repeats)
        g_all = median_ms(lambda gx=gx: gk_step(gx, True), args.repeats)
        t_all = median_ms(lambda tx=tx: torch_step(tx, True), args.repeats)
        rows.append(("forward (no grad)", g_fwd, t_fwd))
        rows.append((f"forward + backward, {label}", g_all, t_all))
    rows = [rows[0], rows[1], rows[3]]  # the no-grad forward does not depend on input_grad

    print(f"Conv2d(1, 32, 3, padding=1) + MaxPool2d(2), input ({args.batch_size}, 1, 28, 28) "
          f"float32, median of {args.repeats} (ms)")
    print(f"torch {torch.__version__} threads={torch.get_num_threads()}, numpy {np.__version__} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'':38s} {'gradkit':>9s} {'pytorch':>9s} {'ratio':>7s}")
    for name, g, t in rows:
        print(f"{name:38s} {g:9.2f} {t:9.2f} {g / t:6.1f}x")


if __name__ == "__main__":
    main()
