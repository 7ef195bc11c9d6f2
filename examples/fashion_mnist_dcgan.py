"""DCGAN on Fashion-MNIST: an 8x8 grid of generated clothing and the two networks' loss curves,
within 20 minutes.

gradkit.models.DCGAN (Radford et al., 2016, for 28x28 grayscale: G from 100-d noise through
transposed convolutions of 128 and 64 channels with BatchNorm and ReLU to a tanh image; D with
strided convolutions of 64 and 128 channels, BatchNorm and LeakyReLU(0.2) to one logit), the
paper's recipe: Adam (lr 2e-4, beta1 0.5) for each network, batch 128, images scaled to [-1, 1];
each step one D update on a real and a fake batch, then one G update (the non-saturating loss).
Writes docs/results/dcgan_fashion_mnist.png (64 samples from fixed noise) and
docs/results/dcgan_fashion_mnist_losses.png.

    python examples/fashion_mnist_dcgan.py [--epochs 2]
Needs: Fashion-MNIST (apt-get install dataset-fashion-mnist), matplotlib for the loss curves.
"""
import os
import time

import numpy as np

import reproduce

BUDGET, EPOCHS, BATCH = 20, 2, 128
OUT = os.path.join(reproduce.ROOT, "docs", "results")


def loss_curves(losses, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, values in losses.items():
        values = np.asarray(values)
        smooth = np.convolve(values, np.ones(20) / 20, mode="valid")   # 20-step moving mean
        ax.plot(np.arange(len(smooth)) + 20, smooth, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (20-step mean)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main():
    args = reproduce.parser(__doc__, BUDGET, EPOCHS, peer=False).parse_args()
    import gradkit as gk
    from gradkit.models import DCGAN
    from gradkit.vision.utils import save_image

    start = time.perf_counter()
    gk.manual_seed(args.seed)
    x, _, _, _ = reproduce.fashion_mnist()
    x = x * 2 - 1                                   # [-1, 1], the range of G's tanh
    gan = DCGAN()
    opt_g, opt_d = gan.configure_optimizers()
    fixed = gan.sample_noise(64)
    losses = {"D": [], "G": []}
    stopped = False
    for epoch in range(args.epochs):
        gan.train()
        for i, idx in enumerate(reproduce.batch_order(len(x), BATCH, args.seed, epoch)):
            step = gan.train_step(gk.from_numpy(x[idx]), opt_g, opt_d)
            losses["D"].append(step["loss_d"])
            losses["G"].append(step["loss_g"])
            if i % 100 == 0:
                print(f"epoch {epoch + 1} step {i}: D {step['loss_d']:.3f}, G "
                      f"{step['loss_g']:.3f}, {time.perf_counter() - start:.0f} s", flush=True)
            if time.perf_counter() - start > reproduce.GUARD * args.budget_min * 60:
                stopped = True
                break
        if stopped:
            break
    seconds = time.perf_counter() - start
    gan.eval()
    with gk.no_grad():
        images = gan.generator(fixed)
    os.makedirs(OUT, exist_ok=True)
    grid = os.path.join(OUT, "dcgan_fashion_mnist.png")
    save_image((images + 1) / 2, grid, nrow=8)
    curves = os.path.join(OUT, "dcgan_fashion_mnist_losses.png")
    loss_curves(losses, curves)
    steps = len(losses["D"])
    tail = slice(max(0, steps - 100), steps)
    body = (f"{steps} steps ({len(losses['D']) * BATCH / len(x):.1f} epochs) of batch {BATCH}: "
            f"{'stopped by the budget; ' if stopped else ''}{seconds / 60:.1f} min (budget "
            f"{args.budget_min:g}: {'met' if seconds <= args.budget_min * 60 else 'MISSED'}; "
            f"load {os.getloadavg()[2]:.1f}), "
            f"{seconds / steps:.2f} s per step. Mean loss over the last 100 steps: D "
            f"{np.mean(losses['D'][tail]):.3f}, G {np.mean(losses['G'][tail]):.3f} (at D's "
            "equilibrium, where it cannot tell real from fake, D's loss is 2 ln 2 = 1.386 and "
            "G's ln 2 = 0.693).\n\n"
            "64 samples from fixed noise after training:\n\n"
            "![DCGAN samples](docs/results/dcgan_fashion_mnist.png)\n\n"
            "![DCGAN losses](docs/results/dcgan_fashion_mnist_losses.png)")
    print(body)
    if not args.no_record:
        reproduce.record("fashion_mnist_dcgan", "DCGAN on Fashion-MNIST", body, seconds)


if __name__ == "__main__":
    main()
