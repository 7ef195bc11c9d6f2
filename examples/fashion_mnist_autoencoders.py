"""A convolutional autoencoder and a VAE on Fashion-MNIST: test reconstruction error, a PNG of
originals above their reconstructions, and VAE samples, within 10 minutes.

gradkit.models.ConvAutoencoder (strided convolutions of 16 and 32 channels down to 7x7, transposed
convolutions back, a sigmoid image): Adam (lr 1e-3), MSE, batch 128. gradkit.models.VAE (Kingma
and Welling, 2014; 784-400-20, the pytorch/examples model): Adam (lr 1e-3), the negative ELBO
(binary cross-entropy summed over pixels plus the KL divergence), batch 128. Both on the 60,000
training images in [0, 1]; errors on the 10,000 test images. Writes
docs/results/autoencoders_fashion_mnist.png (rows: originals, autoencoder, VAE) and
docs/results/vae_samples_fashion_mnist.png.

    python examples/fashion_mnist_autoencoders.py
Needs: Fashion-MNIST (apt-get install dataset-fashion-mnist).
"""
import os
import time

import numpy as np

import reproduce

BUDGET, EPOCHS, BATCH = 10, 5, 128
OUT = os.path.join(reproduce.ROOT, "docs", "results")


def fit(gk, model, loss_of, x, epochs, seed, budget_s, start, name):
    opt = gk.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for idx in reproduce.batch_order(len(x), BATCH, seed, epoch):
            loss = loss_of(model, gk.from_numpy(x[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"{name} epoch {epoch + 1}: training loss {total / len(x):.4f}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        if time.perf_counter() - start > budget_s:
            return epoch + 1
    return epochs


def test_errors(gk, model, x, reconstruct):
    """Mean squared error per pixel and binary cross-entropy per image on ``x``."""
    model.eval()
    se, bce = 0.0, 0.0
    with gk.no_grad():
        for i in range(0, len(x), 1000):
            xb = gk.from_numpy(x[i:i + 1000])
            r = reconstruct(model, xb)
            se += float(((r - xb) ** 2).sum().item())
            bce += float(gk.nn.functional.binary_cross_entropy(r.clamp(1e-7, 1 - 1e-7), xb,
                                                               reduction="sum").item())
    return se / x.size, bce / len(x)


def main():
    args = reproduce.parser(__doc__, BUDGET, EPOCHS, peer=False).parse_args()
    import gradkit as gk
    from gradkit.models import VAE, ConvAutoencoder, vae_loss
    from gradkit.vision.utils import save_image

    start = time.perf_counter()
    gk.manual_seed(args.seed)
    x, _, xt, _ = reproduce.fashion_mnist()
    ae, vae = ConvAutoencoder(), VAE()
    half = reproduce.GUARD * args.budget_min * 60 / 2   # the guard, half for each model
    e_ae = fit(gk, ae, lambda m, xb: gk.nn.functional.mse_loss(m(xb), xb), x, args.epochs,
               args.seed, half, start, "autoencoder")
    t_ae = time.perf_counter() - start

    def vae_batch_loss(m, xb):
        recon, mu, logvar = m(xb)
        return vae_loss(recon, xb, mu, logvar)
    e_vae = fit(gk, vae, vae_batch_loss, x, args.epochs, args.seed, 2 * half, start, "VAE")
    seconds = time.perf_counter() - start
    ae_mse, ae_bce = test_errors(gk, ae, xt, lambda m, xb: m(xb))
    vae_mse, vae_bce = test_errors(gk, vae, xt, lambda m, xb: m(xb)[0])
    os.makedirs(OUT, exist_ok=True)
    with gk.no_grad():
        originals = gk.from_numpy(xt[:16])
        rows = gk.cat([originals, ae(originals), vae(originals)[0].reshape(16, 1, 28, 28)])
        save_image(rows, os.path.join(OUT, "autoencoders_fashion_mnist.png"), nrow=16)
        save_image(vae.sample(64).reshape(64, 1, 28, 28),
                   os.path.join(OUT, "vae_samples_fashion_mnist.png"), nrow=8)
    table = reproduce.markdown_table(
        ["model", "parameters", "epochs", "test MSE per pixel", "test BCE per image (nats)",
         "time"],
        [["ConvAutoencoder", f"{sum(p.numel() for p in ae.parameters()):,}", e_ae,
          f"**{ae_mse:.4f}**", f"{ae_bce:.1f}", f"{t_ae / 60:.1f} min"],
         ["VAE (latent 20)", f"{sum(p.numel() for p in vae.parameters()):,}", e_vae,
          f"**{vae_mse:.4f}**", f"{vae_bce:.1f}", f"{(seconds - t_ae) / 60:.1f} min"]])
    body = (f"Both within {seconds / 60:.1f} min (budget {args.budget_min:g}: "
            f"{'met' if seconds <= args.budget_min * 60 else 'MISSED'}; load "
            f"{os.getloadavg()[2]:.1f}). The VAE's reconstruction is "
            "its decoder on the mean code; its loss also pays for a smooth latent space, so it "
            "reconstructs less sharply than the plain autoencoder and can sample new images.\n\n"
            + table + "\n\nTest images (top), the autoencoder's reconstructions, the VAE's:\n\n"
            "![reconstructions](docs/results/autoencoders_fashion_mnist.png)\n\n"
            "64 VAE samples (decoded noise):\n\n![VAE samples](docs/results/vae_samples_fashion_mnist.png)")
    print(body)
    if not args.no_record:
        reproduce.record("fashion_mnist_autoencoders", "Convolutional autoencoder and VAE on "
                         "Fashion-MNIST", body, seconds)


if __name__ == "__main__":
    main()
