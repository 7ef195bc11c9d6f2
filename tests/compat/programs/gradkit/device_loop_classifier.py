# The shape of the official "Quickstart" and "Optimizing model parameters" tutorials: pick a
# device, build an nn.Module, train with a DataLoader, report with format specs. The data are
# two interleaved spirals made with NumPy (the same points for both frameworks).
import json

import numpy as np
import gradkit as torch
from gradkit import nn
from gradkit.utils.data import DataLoader, TensorDataset

device = (torch.accelerator.current_accelerator().type
          if torch.accelerator.is_available() else "cpu")
print(f"Using {device} device")
torch.backends.cudnn.benchmark = True
torch.manual_seed(0)

rng = np.random.default_rng(0)
n = 600
t = rng.uniform(0.5, 3 * np.pi, n)
label = rng.integers(0, 2, n)
r = t / (3 * np.pi)
xy = np.stack([r * np.cos(t + np.pi * label), r * np.sin(t + np.pi * label)], 1)
xy += rng.normal(0, 0.02, xy.shape)
X = torch.tensor(xy, dtype=torch.float32)
Y = torch.tensor(label, dtype=torch.int64)
train = DataLoader(TensorDataset(X[:500], Y[:500]), batch_size=32, shuffle=True)
test = DataLoader(TensorDataset(X[500:], Y[500:]), batch_size=100)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))

    def forward(self, x):
        return self.linear_relu_stack(x)


model = NeuralNetwork().to(device)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)


def train_loop(dataloader, model, loss_fn, optimizer):
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return loss


def test_loop(dataloader, model, loss_fn):
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    return test_loss / len(dataloader), correct / len(dataloader.dataset)


for epoch in range(60):
    loss = train_loop(train, model, loss_fn, optimizer)
    if epoch % 20 == 19:
        print(f"epoch {epoch + 1:>3d}  loss: {loss:>7f}")
test_loss, accuracy = test_loop(test, model, loss_fn)
print(f"Test Error: \n Accuracy: {(100 * accuracy):>0.1f}%, Avg loss: {test_loss:>8f} \n")
print(json.dumps({"accuracy": accuracy, "test_loss": test_loss}))
