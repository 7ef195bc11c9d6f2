"""gradkit.models.MLP: shapes, save/load, a PyTorch twin in float64, and that it learns."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit.models import MLP
from test_zoo_index import (assert_matches_torch, assert_round_trip, bar_images, batches_of,
                            classify, start_and_end, train)


def torch_mlp(sizes, activation):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [activation(), torch.nn.Dropout(0.0)]
    return torch.nn.Sequential(*layers)


class TorchMLP(torch.nn.Module):
    def __init__(self, sizes, activation):
        super().__init__()
        self.layers = torch_mlp(sizes, activation)

    def forward(self, x):
        return self.layers(x.flatten(1))


def test_shapes_images_are_flattened():
    model = MLP((784, 32, 16, 10))
    assert model(gk.randn(5, 1, 28, 28)).shape == (5, 10)
    assert model(gk.randn(5, 784)).shape == (5, 10)
    assert [k for k in model.state_dict()] == ["layers.0.weight", "layers.0.bias",
                                               "layers.3.weight", "layers.3.bias",
                                               "layers.6.weight", "layers.6.bias"]


def test_dropout_only_in_training():
    model = MLP((20, 64, 3), dropout=0.5)
    x = gk.randn(4, 20)
    model.eval()
    with gk.no_grad():
        np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())
        model.train()
        assert not np.array_equal(model(x).numpy(), model(x).numpy())


def test_save_load_round_trip(tmp_path):
    assert_round_trip(lambda: MLP((12, 8, 3), dropout=0.1), [gk.randn(4, 12)], tmp_path)


@pytest.mark.parametrize("activation, torch_activation", [
    ("relu", torch.nn.ReLU), ("tanh", torch.nn.Tanh), ("gelu", torch.nn.GELU)])
def test_matches_pytorch_float64(activation, torch_activation):
    sizes = (2 * 3 * 3, 16, 12, 5)
    x = np.random.default_rng(0).standard_normal((6, 2, 3, 3))
    assert_matches_torch(MLP(sizes, activation), TorchMLP(sizes, torch_activation), x)


def test_learns_bar_images():
    x, y = bar_images(128, size=12)
    model = MLP((144, 32, 4))
    losses = train(model, batches_of(x, y, 32), classify, steps=60, lr=3e-3)
    first, last = start_and_end(losses)
    assert last < 0.1 * first, (first, last)
    with gk.no_grad():
        assert (model.eval()(x).argmax(1).numpy() == y.numpy()).mean() > 0.95
