"""gradkit.models.ConvNet: shapes for 2 and 3 blocks, with and without BatchNorm, save/load
(running statistics included), and that it learns."""
import numpy as np
import pytest

import gradkit as gk
from gradkit import nn
from gradkit.models import ConvNet
from test_zoo_index import (assert_round_trip, bar_images, batches_of, classify, start_and_end,
                            train)


@pytest.mark.parametrize("channels, in_channels, size", [((8, 16), 1, 28), ((8, 16, 32), 3, 32)])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_shapes_and_layers(channels, in_channels, size, batch_norm):
    model = ConvNet(num_classes=5, in_channels=in_channels, image_size=size, channels=channels,
                    batch_norm=batch_norm, hidden=24)
    assert model(gk.randn(2, in_channels, size, size)).shape == (2, 5)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [c.out_channels for c in convs] == list(channels)
    assert len(norms) == (len(channels) if batch_norm else 0)
    assert all((c.bias is None) == batch_norm for c in convs)   # BatchNorm's shift is the bias
    side = size // 2 ** len(channels)
    assert model.classifier[2].in_features == channels[-1] * side * side


def test_dropout_is_in_the_head():
    model = ConvNet(dropout=0.4)
    drops = [m for m in model.classifier if isinstance(m, nn.Dropout)]
    assert [d.p for d in drops] == [0.4, 0.4]


def test_save_load_round_trip_keeps_the_running_statistics(tmp_path):
    def make():
        return ConvNet(channels=(4, 8), hidden=16)

    x = gk.randn(4, 1, 28, 28)

    def trained():  # running means and variances that are not the initial 0 and 1
        m = make()
        with gk.no_grad():
            m(x + 1.0)
        return m

    model, loaded = assert_round_trip(trained, [x], tmp_path)
    np.testing.assert_array_equal(loaded.features[1].running_var.numpy(),
                                  model.features[1].running_var.numpy())
    assert not np.allclose(model.features[1].running_var.numpy(), 1.0)


def test_learns_bar_images():
    x, y = bar_images(64, size=28)
    model = ConvNet(num_classes=4, channels=(8, 16), hidden=32, dropout=0.1)
    losses = train(model, batches_of(x, y, 32), classify, steps=30, lr=3e-3)
    first, last = start_and_end(losses)
    assert last < 0.1 * first, (first, last)
