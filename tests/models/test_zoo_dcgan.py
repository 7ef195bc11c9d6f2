"""gradkit.models.DCGAN: shapes, the N(0, 0.02) initialisation, each step moving its own network
only, the optimizers' settings, save/load, and that each network learns its part of the game."""
import numpy as np
import pytest

import gradkit as gk
from gradkit import nn
from gradkit.models import DCGAN, Discriminator, Generator
from test_zoo_index import assert_round_trip


def square_images(n, seed=0):
    """(n, 1, 28, 28) in [-1, 1]: a bright 12x12 square on a dark ground, with a little noise."""
    rng = np.random.default_rng(seed)
    x = np.full((n, 1, 28, 28), -1.0)
    x[:, :, 8:20, 8:20] = 1.0
    x = np.clip(x + rng.normal(0.0, 0.05, x.shape), -1, 1)
    return gk.tensor(x.astype(np.float32))


def small():
    return DCGAN(nz=16, ngf=8, ndf=8)


def snapshot(net):
    return {k: v.numpy().copy() for k, v in net.state_dict().items() if "running" not in k
            and "num_batches" not in k}


def unchanged(before, net):
    after = snapshot(net)
    return all(np.array_equal(before[k], after[k]) for k in before)


def test_shapes():
    gan = small()
    assert isinstance(gan.generator, Generator) and isinstance(gan.discriminator, Discriminator)
    z = gan.sample_noise(5)
    assert z.shape == (5, 16)
    images = gan.generator(z)
    assert images.shape == (5, 1, 28, 28)
    assert np.abs(images.detach().numpy()).max() < 1            # tanh: in (-1, 1)
    np.testing.assert_array_equal(gan.generator.eval()(z.reshape(5, 16, 1, 1)).detach().numpy(),
                                  gan.generator(z).detach().numpy())
    assert gan.discriminator(images).shape == (5,)
    assert gan.generate(3).shape == (3, 1, 28, 28) and not gan.generate(3).requires_grad


def test_initialisation_is_dcgans():
    gan = DCGAN()   # the full size: enough weights for the statistics
    convs = [m.weight.detach().numpy() for m in gan.modules()
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    norms = [m for m in gan.modules() if isinstance(m, nn.BatchNorm2d)]
    w = np.concatenate([c.ravel() for c in convs])
    assert abs(w.mean()) < 1e-3 and abs(w.std() - 0.02) < 1e-3
    gamma = np.concatenate([m.weight.detach().numpy() for m in norms])
    assert abs(gamma.mean() - 1) < 0.01 and abs(gamma.std() - 0.02) < 0.005
    assert all(not m.bias.detach().numpy().any() for m in norms)
    assert all(m.bias is None for m in gan.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def test_optimizers_are_the_papers_and_each_holds_one_network():
    gan = small()
    opt_g, opt_d = gan.configure_optimizers()
    for opt, net in ((opt_g, gan.generator), (opt_d, gan.discriminator)):
        group = opt.param_groups[0]
        assert group["lr"] == 2e-4 and tuple(group["betas"]) == (0.5, 0.999)
        assert {id(p) for p in group["params"]} == {id(p) for p in net.parameters()}


def test_discriminator_step_leaves_the_generator_unchanged():
    gan = small()
    opt_g, opt_d = gan.configure_optimizers(lr=1e-2)
    g_before, d_before = snapshot(gan.generator), snapshot(gan.discriminator)
    gan.discriminator_step(square_images(8), opt_d)
    assert unchanged(g_before, gan.generator)
    assert not unchanged(d_before, gan.discriminator)
    assert all(p.grad is None for p in gan.generator.parameters())   # no gradient reached G


def test_generator_step_leaves_the_discriminator_unchanged():
    gan = small()
    opt_g, opt_d = gan.configure_optimizers(lr=1e-2)
    g_before, d_before = snapshot(gan.generator), snapshot(gan.discriminator)
    gan.generator_step(8, opt_g)
    assert unchanged(d_before, gan.discriminator)
    assert not unchanged(g_before, gan.generator)


def test_a_step_refuses_the_other_networks_optimizer():
    gan = small()
    opt_g, opt_d = gan.configure_optimizers()
    with pytest.raises(ValueError, match=r"discriminator_step: the optimizer holds \d+ parameter"
                                         r".*not the discriminator's"):
        gan.discriminator_step(square_images(4), opt_g)
    both = gk.optim.Adam(gan.parameters())
    with pytest.raises(ValueError, match=r"generator_step.*generator.parameters\(\) only"):
        gan.generator_step(4, both)


def test_save_load_round_trip(tmp_path):
    """Both networks come back: the generator's images and the discriminator's scores."""
    model, loaded = assert_round_trip(small, [gk.randn(4, 16)], tmp_path)
    x = square_images(4)
    with gk.no_grad():
        np.testing.assert_array_equal(loaded.discriminator(x).numpy(),
                                      model.discriminator(x).numpy())


def test_each_network_learns_against_a_fixed_opponent():
    gan = small()
    opt_g, opt_d = gan.configure_optimizers(lr=2e-3)
    real = square_images(32)
    d_losses = [gan.discriminator_step(real, opt_d) for _ in range(30)]
    assert d_losses[-1] < 0.1 * d_losses[0], (d_losses[0], d_losses[-1])   # starts near 2 ln 2
    g_losses = [gan.generator_step(32, opt_g) for _ in range(30)]
    assert g_losses[-1] < 0.2 * g_losses[0], (g_losses[0], g_losses[-1])


def test_training_brings_the_samples_toward_the_data():
    gan = small()
    opt_g, opt_d = gan.configure_optimizers(lr=5e-3)
    real = square_images(32)
    target = real.numpy().mean(0)

    def distance():   # mean |average fake image - average real image|, per pixel
        return np.abs(gan.generate(64).numpy().mean(0) - target).mean()

    start = distance()
    for _ in range(200):
        losses = gan.train_step(real, opt_g, opt_d)
    assert set(losses) == {"loss_d", "loss_g"}
    assert distance() < 0.75 * start
