"""VAE: the variational autoencoder (Kingma & Welling, 2014, "Auto-Encoding Variational Bayes").

An autoencoder whose code is a distribution, not a point. The encoder maps x to the mean and
log-variance of a Gaussian q(z | x) = N(mu, exp(logvar)); a code is drawn from it with the
reparameterisation trick, so gradients flow through the draw to mu and logvar:

    z = mu + exp(logvar / 2) ⊙ ε,    ε ~ N(0, I)        (the randomness is in ε alone)

and the decoder maps z back to x̂. The loss (the negative evidence lower bound, per sample):

    loss = BCE(x̂, x) summed over pixels  +  β · KL(q(z | x) ‖ N(0, I))
    KL   = -½ Σ (1 + logvar - mu² - exp(logvar))                   (closed form for Gaussians)

The KL term pulls every q(z | x) toward N(0, I), so that decoding z ~ N(0, I) (``sample``) gives
new, plausible x. The layers are those of PyTorch's examples/vae (784 -> 400 -> 20 for MNIST).

=== VAE (encode, reparameterize, decode, forward, sample)  vae_loss
"""
from .. import nn, ops
from ..autograd import grad_mode
from ..nn import functional as F

__all__ = ["VAE", "vae_loss"]


# === VAE
class VAE(nn.Module):
    """x: (N, *) with in_features values in [0, 1] -> (x̂ of x's shape, mu, logvar), mu and logvar
    (N, latent_dim).

    hidden: the width of the encoder's and the decoder's hidden layer. Defaults to ``400``.
    latent_dim: the size of z. Defaults to ``20``.

    >>> model = VAE()
    >>> recon, mu, logvar = model(x)                     # x: (N, 1, 28, 28) in [0, 1]
    >>> loss = vae_loss(recon, x, mu, logvar)            # or model.loss_function(...)
    >>> new_digits = model.sample(16)                    # (16, 784)
    """

    def __init__(self, in_features=784, hidden=400, latent_dim=20):
        super().__init__()
        self.in_features, self.latent_dim = in_features, latent_dim
        self.encoder = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.fc_mu = nn.Linear(hidden, latent_dim)
        self.fc_logvar = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),
                                     nn.Linear(hidden, in_features), nn.Sigmoid())

    def encode(self, x):
        """(N, *) -> mu, logvar, each (N, latent_dim)."""
        h = self.encoder(x.reshape(x.shape[0], -1))
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu, logvar):
        """z = mu + σ ⊙ ε with σ = exp(logvar / 2), ε ~ N(0, I) from the global generator; in
        eval mode z = mu (the most likely code, no noise)."""
        if not self.training:
            return mu
        eps = ops.randn_like(mu)
        return mu + ops.exp(0.5 * logvar) * eps

    def decode(self, z):
        """(N, latent_dim) -> (N, in_features) in (0, 1)."""
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x)
        recon = self.decode(self.reparameterize(mu, logvar))
        return recon.reshape(x.shape), mu, logvar

    def sample(self, n):
        """n new samples: the decoder applied to z ~ N(0, I). (n, in_features), no gradient."""
        with grad_mode.no_grad():
            return self.decode(ops.randn(n, self.latent_dim))

    @staticmethod
    def loss_function(recon, x, mu, logvar, beta=1.0):
        """The same as ``vae_loss``."""
        return vae_loss(recon, x, mu, logvar, beta)

    def extra_repr(self):
        return f"in_features={self.in_features}, latent_dim={self.latent_dim}"


# === vae_loss
def vae_loss(recon, x, mu, logvar, beta=1.0):
    """The negative ELBO averaged over the batch: (BCE summed over the pixels of each sample +
    β · KL) / N. recon, x: same shape, values in [0, 1]; mu, logvar: (N, latent_dim).

    Summed over pixels, not averaged: the reconstruction term then weighs as the likelihood of a
    whole image does against the KL of its code (an average over 784 pixels would let the KL win
    and blur every sample). Divided by N so the learning rate does not depend on the batch size.
    ``beta`` > 1 trades reconstruction for a more regular code (β-VAE, Higgins et al., 2017).
    """
    n = x.shape[0]
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kld = -0.5 * (1 + logvar - mu * mu - ops.exp(logvar)).sum()
    return (bce + beta * kld) / n
