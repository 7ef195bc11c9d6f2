"""The PyTorch MNIST tutorial's loop with only the imports changed: gradkit.vision's MNIST and
transforms, gradkit.data's DataLoader (collate stacks the items' Tensors), one epoch of a small
CNN on 2,000 real images of the shared data (MNIST's test split)."""
import numpy as np
import pytest

import gradkit as torch                      # the tutorial's own names from here on
import gradkit.nn as nn
import gradkit.nn.functional as F
from gradkit.data import DataLoader, Subset
from gradkit.vision import datasets, transforms


@pytest.mark.data("mnist")
def test_one_epoch_of_the_tutorial_loop():
    torch.manual_seed(0)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    dataset = datasets.MNIST("data", train=False, download=False, transform=transform)
    train, held_out = Subset(dataset, range(2000)), Subset(dataset, range(8000, 9000))
    loader = DataLoader(train, batch_size=64, shuffle=True)
    x, y = next(iter(loader))
    assert isinstance(x, torch.Tensor) and x.shape == (64, 1, 28, 28) and x.dtype == np.float32
    assert isinstance(y, torch.Tensor) and y.shape == (64,) and y.dtype == np.int64
    assert abs(float(x.mean())) < 0.3 and 0.7 < float(x.std()) < 1.3   # normalised pixels

    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(8 * 14 * 14, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    losses = []
    for data, target in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert len(losses) == 32                             # ceil(2000 / 64)
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:3])

    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in DataLoader(held_out, batch_size=500):
            correct += (model(data).argmax(dim=1) == target).sum().item()
    assert correct / len(held_out) > 0.75                # chance is 0.1; one epoch gives ~0.8
