"""Autoencoders: a network trained to reproduce its input through a narrow middle.

    x ─ encoder ─ z (the code, much smaller than x) ─ decoder ─ x̂ ≈ x

Trained on the reconstruction error alone (``F.mse_loss(model(x), x)``, or binary cross-entropy
for pixels in [0, 1]), the encoder must keep what matters about x in z: the code is a learned
compression, useful for denoising, anomaly detection (a poor reconstruction flags an unusual
input) and as features. The decoders end in a sigmoid: images scaled to [0, 1].

=== Autoencoder (dense)  ConvAutoencoder (convolutional)
"""
from .. import nn

__all__ = ["Autoencoder", "ConvAutoencoder"]


# === Autoencoder
class Autoencoder(nn.Module):
    """x: (N, *) with in_features values per sample -> x̂ of x's shape, in (0, 1).

    hidden: the encoder's hidden widths (the decoder mirrors them). Defaults to ``(256,)``.
    latent_dim: the code's size. Defaults to ``32``.

        encoder: in_features -> hidden... -> latent_dim     (ReLU between, none on the code)
        decoder: latent_dim -> ...hidden -> in_features     (ReLU between, sigmoid at the end)

    >>> model = Autoencoder(784, latent_dim=16)
    >>> model(gk.rand(8, 1, 28, 28)).shape, model.encode(gk.rand(8, 784)).shape
    ((8, 1, 28, 28), (8, 16))
    """

    def __init__(self, in_features=784, hidden=(256,), latent_dim=32):
        super().__init__()
        self.in_features, self.latent_dim = in_features, latent_dim
        widths = [in_features, *hidden, latent_dim]
        self.encoder = _dense_stack(widths)
        self.decoder = nn.Sequential(*_dense_stack(widths[::-1]), nn.Sigmoid())

    def encode(self, x):
        """(N, *) -> (N, latent_dim)."""
        return self.encoder(x.reshape(x.shape[0], -1))

    def decode(self, z):
        """(N, latent_dim) -> (N, in_features) in (0, 1)."""
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x)).reshape(x.shape)

    def extra_repr(self):
        return f"in_features={self.in_features}, latent_dim={self.latent_dim}"


def _dense_stack(widths):
    """Linear layers through ``widths`` with ReLU between them (none after the last)."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# === ConvAutoencoder
class ConvAutoencoder(nn.Module):
    """x: (N, in_channels, H, W), H and W divisible by 4 -> x̂ of the same shape, in (0, 1).

    Each encoder conv halves the image (stride 2); each decoder transposed conv doubles it back:

        encoder: Conv2d(C, 16, 3, s2) ─ ReLU ─ Conv2d(16, 32, 3, s2) ─ ReLU     (N, 32, H/4, W/4)
        decoder: ConvTranspose2d(32, 16, 3, s2) ─ ReLU ─ ConvTranspose2d(16, C, 3, s2) ─ sigmoid

    channels: the encoder's channels. Defaults to ``(16, 32)``.

    >>> ConvAutoencoder()(gk.rand(8, 1, 28, 28)).shape
    (8, 1, 28, 28)
    """

    def __init__(self, in_channels=1, channels=(16, 32)):
        super().__init__()
        self.in_channels, self.channels = in_channels, tuple(channels)
        widths = [in_channels, *channels]
        enc, dec = [], []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            enc += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU()]
        for i, (c_in, c_out) in enumerate(zip(widths[::-1][:-1], widths[::-1][1:])):
            # output_padding=1: a stride-2 transposed conv of a 7-wide map gives 14, not 13
            dec.append(nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1))
            dec.append(nn.ReLU() if i < len(widths) - 2 else nn.Sigmoid())
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def forward(self, x):
        step = 2 ** len(self.channels)
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2] % step or x.shape[3] % step:
            raise ValueError(f"ConvAutoencoder: expected images (N, {self.in_channels}, H, W) with "
                             f"H and W divisible by {step} (each of the {len(self.channels)} "
                             f"encoder convs halves them), got shape {tuple(x.shape)}")
        return self.decoder(self.encoder(x))

    def extra_repr(self):
        return f"in_channels={self.in_channels}, channels={self.channels}"
