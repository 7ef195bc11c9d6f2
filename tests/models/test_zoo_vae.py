"""gradkit.models.VAE and vae_loss: shapes, the reparameterisation (noise in training, the mean in
evaluation, gradients to mu and logvar), the loss against its formula in NumPy, save/load, and
that it learns."""
import numpy as np

import gradkit as gk
from gradkit.models import VAE, vae_loss
from test_zoo_index import assert_round_trip, bar_images, start_and_end, train


def binary_bars(n, size=12, seed=0):
    """Bar images made black and white (the Bernoulli likelihood of the loss is exact for 0/1
    pixels: a perfect reconstruction costs nothing, as on binarised MNIST)."""
    x, _ = bar_images(n, size=size, noise=0.1, seed=seed)
    return (x > 0.5).to(gk.float32)


def test_shapes():
    model = VAE(784, hidden=64, latent_dim=5)
    x = gk.rand(6, 1, 28, 28)
    recon, mu, logvar = model(x)
    assert recon.shape == (6, 1, 28, 28) and mu.shape == logvar.shape == (6, 5)
    values = recon.detach().numpy()
    assert values.min() > 0 and values.max() < 1
    assert model.sample(4).shape == (4, 784) and not model.sample(4).requires_grad


def test_reparameterisation_is_random_in_training_and_the_mean_in_evaluation():
    model = VAE(16, hidden=8, latent_dim=3)
    mu, logvar = gk.zeros(2000, 3), gk.full((2000, 3), np.log(4.0))   # σ = 2
    z = model.reparameterize(mu, logvar).numpy()
    assert abs(z.mean()) < 0.1 and abs(z.std() - 2.0) < 0.1
    model.eval()
    np.testing.assert_array_equal(model.reparameterize(mu + 1, logvar).numpy(), np.ones((2000, 3)))


def test_gradient_flows_through_the_sample_to_mu_and_logvar():
    model = VAE(16, hidden=8, latent_dim=3)
    x = gk.rand(4, 16)
    recon, mu, logvar = model(x)
    recon.sum().backward()   # the reconstruction alone: no KL term to reach logvar otherwise
    assert np.abs(model.fc_mu.weight.grad.numpy()).sum() > 0
    assert np.abs(model.fc_logvar.weight.grad.numpy()).sum() > 0


def test_loss_is_the_negative_elbo_per_sample():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (5, 10))
    recon = rng.uniform(0.05, 0.95, (5, 10))
    mu, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    bce = -(x * np.log(recon) + (1 - x) * np.log(1 - recon)).sum()
    kl = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum()
    args = [gk.tensor(a) for a in (recon, x, mu, logvar)]
    np.testing.assert_allclose(vae_loss(*args).item(), (bce + kl) / 5, rtol=1e-10)
    np.testing.assert_allclose(vae_loss(*args, beta=4.0).item(), (bce + 4 * kl) / 5, rtol=1e-10)
    assert VAE.loss_function(*args).item() == vae_loss(*args).item()
    zero = gk.zeros(5, 3)   # q(z | x) = N(0, I): no KL at all
    np.testing.assert_allclose(vae_loss(args[0], args[1], zero, zero).item(), bce / 5, rtol=1e-10)


def test_save_load_round_trip(tmp_path):
    # in evaluation z = mu, so the outputs are deterministic
    assert_round_trip(lambda: VAE(36, hidden=16, latent_dim=4), [gk.rand(3, 36)], tmp_path)


def test_learns():
    x = binary_bars(64)
    model = VAE(144, hidden=64, latent_dim=4)

    def loss_fn(m, batch):
        recon, mu, logvar = m(batch)
        return vae_loss(recon, batch, mu, logvar)

    losses = train(model, [(x[:32],), (x[32:],)], loss_fn, steps=150, lr=3e-3)
    first, last = start_and_end(losses)
    assert last < 0.2 * first, (first, last)
    # the reconstruction beats the best constant guess (the mean image)
    model.eval()
    with gk.no_grad():
        recon, _, _ = model(x)
    mean_image = x.numpy().mean(0, keepdims=True)
    assert ((recon.numpy() - x.numpy()) ** 2).mean() < 0.5 * ((mean_image - x.numpy()) ** 2).mean()
