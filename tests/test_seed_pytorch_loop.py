"""The seeds' PyTorch training loop (shared/seeds/000, section 5) runs on gradkit with only the
import changed, on the real Fashion-MNIST (60,000 train / 10,000 test images), and learns."""
import numpy as np
import pytest

import gradkit as torch   # the only line that differs from the seed program
from gradkit.data import DataLoader, TensorDataset
from gradkit.datasets import fashion_mnist


def _loaders():
    x_train, y_train = fashion_mnist("train")
    x_test, y_test = fashion_mnist("test")
    # standardised with the training split's statistics (the seed leaves data preparation to the reader)
    x_train = x_train.reshape(-1, 784).astype(np.float32) / 255
    x_test = x_test.reshape(-1, 784).astype(np.float32) / 255
    mean, std = x_train.mean(), x_train.std()
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    trainloader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True, seed=0)
    return trainloader, torch.tensor(x_test), y_test


@pytest.mark.data("fashion-mnist")
def test_seed_program_trains_fashion_mnist_mlp_to_85_percent_in_2_epochs():
    torch.manual_seed(0)
    trainloader, x_test, y_test = _loaders()

    # ---- the seed program, verbatim except for the epoch count (10 -> 2)
    class Net(torch.nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.fc1 = torch.nn.Linear(784, 128)
            self.fc2 = torch.nn.Linear(128, 10)

        def forward(self, x):
            x = torch.relu(self.fc1(x))
            x = self.fc2(x)
            return x

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(2):
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = loss_fn(outputs, labels)
            loss.backward()
            optimizer.step()
    # ---- end of the seed program

    with torch.no_grad():
        pred = model(x_test).argmax(dim=1).numpy()
    accuracy = (pred == y_test).mean()
    assert accuracy >= 0.85, f"test accuracy {accuracy:.4f}"
    assert loss.item() < 0.8
