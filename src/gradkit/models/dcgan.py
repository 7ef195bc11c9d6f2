"""DCGAN: a generative adversarial network of convolutions (Radford et al., 2016), for 28x28
grayscale images (MNIST, Fashion-MNIST).

Two networks play a game. The generator G turns noise z ~ N(0, I) into an image; the
discriminator D scores an image, high for "real", low for "made by G". Each is trained in turn,
with its own optimizer, against the other:

    D step:  minimise BCE(D(x), 1) + BCE(D(G(z)), 0)    push real up, fakes down; G is held fixed
    G step:  minimise BCE(D(G(z)), 1)                   make D call the fakes real; D is held fixed

(the G step is the paper's "non-saturating" loss: it gives G strong gradients early on, when D
rejects every fake easily.) The networks, for nz-dimensional noise and width ngf / ndf:

    G: z (N, nz, 1, 1) ─ ConvT(nz, 2ngf, 7) ─ BN ─ ReLU             (N, 2ngf, 7, 7)
                       ─ ConvT(2ngf, ngf, 4, s2) ─ BN ─ ReLU        (N, ngf, 14, 14)
                       ─ ConvT(ngf, C, 4, s2) ─ tanh                (N, C, 28, 28)  in (-1, 1)
    D: x (N, C, 28, 28) ─ Conv(C, ndf, 4, s2) ─ LeakyReLU(0.2)      (N, ndf, 14, 14)
                       ─ Conv(ndf, 2ndf, 4, s2) ─ BN ─ LeakyReLU    (N, 2ndf, 7, 7)
                       ─ Conv(2ndf, 1, 7)                           (N,) logits

The paper's recipe, which ``DCGAN`` follows: strided convolutions instead of pooling, BatchNorm in
both nets except G's output and D's input, ReLU in G and LeakyReLU(0.2) in D, weights from
N(0, 0.02) (BatchNorm scales from N(1, 0.02)), Adam with lr 2e-4 and β1 = 0.5. Real images must
be scaled to [-1, 1], the range of G's tanh. D gives logits: the losses use
``F.binary_cross_entropy_with_logits``, the stable form of sigmoid then BCE.

=== weights_init  Generator  Discriminator  DCGAN (configure_optimizers, discriminator_step,
    generator_step, train_step)
"""
from .. import nn, ops, optim
from ..autograd import grad_mode
from ..nn import functional as F

__all__ = ["DCGAN", "Generator", "Discriminator", "weights_init"]


# === weights_init
def weights_init(m):
    """The DCGAN initialisation, for ``module.apply``: conv weights ~ N(0, 0.02), BatchNorm
    weight ~ N(1, 0.02) and bias 0 (the paper's, and PyTorch's DCGAN tutorial's)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


# === Generator
class Generator(nn.Module):
    """z: (N, nz) or (N, nz, 1, 1) -> images (N, channels, 28, 28) in (-1, 1)."""

    def __init__(self, nz=100, ngf=64, channels=1):
        super().__init__()
        self.nz = nz
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, 2 * ngf, 7, 1, 0, bias=False),        # 1x1 -> 7x7
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),       # 7x7 -> 14x14
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False),      # 14x14 -> 28x28
            nn.Tanh(),
        )

    def forward(self, z):
        if tuple(z.shape[1:]) not in ((self.nz,), (self.nz, 1, 1)):
            raise ValueError(f"Generator: expected noise (N, {self.nz}) or (N, {self.nz}, 1, 1), "
                             f"got shape {tuple(z.shape)}")
        return self.main(z.reshape(z.shape[0], self.nz, 1, 1))


# === Discriminator
class Discriminator(nn.Module):
    """images: (N, channels, 28, 28) -> (N,) logits, > 0 meaning "real"."""

    def __init__(self, ndf=64, channels=1):
        super().__init__()
        self.channels = channels
        self.main = nn.Sequential(
            nn.Conv2d(channels, ndf, 4, 2, 1, bias=False),               # 28x28 -> 14x14
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False),                # 14x14 -> 7x7
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 7, 1, 0, bias=False),                  # 7x7 -> 1x1
        )

    def forward(self, x):
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.channels, 28, 28):
            raise ValueError(f"Discriminator: expected images (N, {self.channels}, 28, 28), got "
                             f"shape {tuple(x.shape)}")
        return self.main(x).reshape(-1)


# === DCGAN
class DCGAN(nn.Module):
    """A Generator and a Discriminator, DCGAN-initialised, and the steps that train them.

    nz: the noise's size. Defaults to ``100``. ngf, ndf: the widths of G and D. Default to ``64``.
    channels: ``1`` for grayscale. ``model(z)`` is ``model.generator(z)``.

    >>> gan = DCGAN()
    >>> opt_g, opt_d = gan.configure_optimizers()
    >>> for real, _ in loader:                            # real: (N, 1, 28, 28) in [-1, 1]
    ...     losses = gan.train_step(real, opt_g, opt_d)   # {'loss_d': ..., 'loss_g': ...}
    >>> images = gan.generate(64)                         # (64, 1, 28, 28) in (-1, 1)
    """

    def __init__(self, nz=100, ngf=64, ndf=64, channels=1):
        super().__init__()
        self.nz = nz
        self.generator = Generator(nz, ngf, channels)
        self.discriminator = Discriminator(ndf, channels)
        self.apply(weights_init)

    def forward(self, z):
        return self.generator(z)

    def sample_noise(self, n):
        """z ~ N(0, I): (n, nz), from the global generator."""
        return ops.randn(n, self.nz)

    def generate(self, n):
        """n images from fresh noise, without a graph: (n, channels, 28, 28)."""
        with grad_mode.no_grad():
            return self.generator(self.sample_noise(n))

    def configure_optimizers(self, lr=2e-4, betas=(0.5, 0.999)):
        """(opt_g, opt_d): one Adam per network, each over that network's parameters only."""
        return (optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
                optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas))

    def discriminator_step(self, real, optimizer):
        """One update of D on a real batch and as many fakes; returns the loss (a float).

        The fakes are made without a graph, so no gradient reaches G, and ``optimizer`` must
        hold D's parameters only: G's parameters come out unchanged."""
        _check_owns(optimizer, self.discriminator, "discriminator", "discriminator_step")
        n = real.shape[0]
        with grad_mode.no_grad():
            fake = self.generator(self.sample_noise(n))
        optimizer.zero_grad()
        loss = (F.binary_cross_entropy_with_logits(self.discriminator(real), ops.ones(n))
                + F.binary_cross_entropy_with_logits(self.discriminator(fake), ops.zeros(n)))
        loss.backward()
        optimizer.step()
        return loss.item()

    def generator_step(self, batch_size, optimizer):
        """One update of G on ``batch_size`` fakes, scored by D; returns the loss (a float).

        The gradient flows through D to G, but ``optimizer`` holds G's parameters only, so D's
        parameters come out unchanged (the gradients left on them are cleared by the next
        ``discriminator_step``)."""
        _check_owns(optimizer, self.generator, "generator", "generator_step")
        optimizer.zero_grad()
        fake = self.generator(self.sample_noise(batch_size))
        loss = F.binary_cross_entropy_with_logits(self.discriminator(fake), ops.ones(batch_size))
        loss.backward()
        optimizer.step()
        return loss.item()

    def train_step(self, real, opt_g, opt_d):
        """A D step then a G step on one batch of real images (N, C, 28, 28) in [-1, 1].
        Returns {'loss_d': float, 'loss_g': float}."""
        loss_d = self.discriminator_step(real, opt_d)
        loss_g = self.generator_step(real.shape[0], opt_g)
        return {"loss_d": loss_d, "loss_g": loss_g}


def _check_owns(optimizer, net, name, who):
    """Refuse an optimizer that would move parameters of the other network."""
    own = {id(p) for p in net.parameters()}
    foreign = [p for g in optimizer.param_groups for p in g["params"] if id(p) not in own]
    if foreign:
        raise ValueError(f"DCGAN.{who}: the optimizer holds {len(foreign)} parameter(s) that are "
                         f"not the {name}'s; give it {name}.parameters() only (each network has "
                         f"its own optimizer: see configure_optimizers)")
