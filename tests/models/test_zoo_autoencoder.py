"""gradkit.models.Autoencoder and ConvAutoencoder: shapes (the code and the reconstruction),
save/load, and that each learns to reconstruct."""
import pytest

import gradkit as gk
from gradkit.models import Autoencoder, ConvAutoencoder
from gradkit.nn import functional as F
from test_zoo_index import assert_round_trip, bar_images, start_and_end, train


def pixels(n, size=28, seed=0):
    """Bar images scaled into [0, 1], with little noise (noise cannot be reconstructed: it would
    set a floor under the loss)."""
    x, _ = bar_images(n, size=size, noise=0.1, seed=seed)
    return ((x + 1) / 3).clamp(0.0, 1.0)


def reconstruct(model, x):
    return F.mse_loss(model(x), x)


def test_dense_shapes():
    model = Autoencoder(784, hidden=(64, 32), latent_dim=8)
    x = gk.rand(5, 1, 28, 28)
    out = model(x)
    assert out.shape == (5, 1, 28, 28)
    assert model.encode(x).shape == (5, 8)
    assert model.decode(gk.randn(5, 8)).shape == (5, 784)
    values = out.detach().numpy()
    assert values.min() > 0 and values.max() < 1                 # sigmoid output
    widths = [m.out_features for m in model.encoder if hasattr(m, "out_features")]
    assert widths == [64, 32, 8]
    assert [m.out_features for m in model.decoder if hasattr(m, "out_features")] == [32, 64, 784]


@pytest.mark.parametrize("size, channels", [(28, (16, 32)), (32, (8, 16, 32))])
def test_conv_shapes(size, channels):
    model = ConvAutoencoder(in_channels=1, channels=channels)
    x = gk.rand(2, 1, size, size)
    code = model.encoder(x)
    side = size // 2 ** len(channels)
    assert code.shape == (2, channels[-1], side, side)
    assert model(x).shape == (2, 1, size, size)


def test_conv_three_channels():
    assert ConvAutoencoder(in_channels=3)(gk.rand(2, 3, 32, 32)).shape == (2, 3, 32, 32)


def test_save_load_round_trip(tmp_path):
    assert_round_trip(lambda: Autoencoder(64, (16,), 4), [gk.rand(3, 64)], tmp_path)
    assert_round_trip(ConvAutoencoder, [gk.rand(3, 1, 28, 28)], tmp_path)


def test_dense_learns_to_reconstruct():
    x = pixels(64, size=12)
    model = Autoencoder(144, hidden=(64,), latent_dim=8)
    losses = train(model, [(x[:32],), (x[32:],)], reconstruct, steps=150, lr=3e-3)
    first, last = start_and_end(losses)
    assert last < 0.1 * first, (first, last)


def test_conv_learns_to_reconstruct():
    x = pixels(32, size=28)
    model = ConvAutoencoder(channels=(8, 16))
    losses = train(model, [(x[:16],), (x[16:],)], reconstruct, steps=100, lr=1e-2)
    first, last = start_and_end(losses)
    assert last < 0.25 * first, (first, last)
