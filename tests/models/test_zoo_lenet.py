"""gradkit.models.LeNet5: shapes for 28 and 32 px, save/load, a PyTorch twin, and that it learns."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
from gradkit.models import LeNet5
from test_zoo_index import (assert_matches_torch, assert_round_trip, bar_images, batches_of,
                            classify, start_and_end, train)


class TorchLeNet5(torch.nn.Module):
    def __init__(self, num_classes=10, in_channels=1, image_size=28):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(in_channels, 6, 5, padding=(32 - image_size) // 2)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1 = torch.nn.Linear(400, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, num_classes)

    def forward(self, x):
        x = TF.max_pool2d(TF.relu(self.conv1(x)), 2)
        x = TF.max_pool2d(TF.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(TF.relu(self.fc2(TF.relu(self.fc1(x)))))


@pytest.mark.parametrize("in_channels, size", [(1, 28), (3, 32)])
def test_shapes(in_channels, size):
    model = LeNet5(num_classes=7, in_channels=in_channels, image_size=size)
    assert model(gk.randn(2, in_channels, size, size)).shape == (2, 7)


def test_save_load_round_trip(tmp_path):
    assert_round_trip(LeNet5, [gk.randn(3, 1, 28, 28)], tmp_path)


@pytest.mark.parametrize("in_channels, size", [(1, 28), (3, 32)])
def test_matches_pytorch_float64(in_channels, size):
    x = np.random.default_rng(0).standard_normal((3, in_channels, size, size))
    assert_matches_torch(LeNet5(10, in_channels, size), TorchLeNet5(10, in_channels, size), x)


def test_learns_bar_images():
    x, y = bar_images(64, size=28)
    model = LeNet5(num_classes=4)
    losses = train(model, batches_of(x, y, 32), classify, steps=40, lr=3e-3)
    first, last = start_and_end(losses)
    assert last < 0.1 * first, (first, last)
