"""README's first example, runnable: a PyTorch-style MLP trained one epoch on Fashion-MNIST,
written as for PyTorch with only the import changed (the README block, verbatim, between the
markers; tests/docs/test_readme_examples.py keeps the two the same), then its test accuracy.

    python examples/readme_pytorch_style.py
Needs the full Fashion-MNIST (apt-get install dataset-fashion-mnist, or GRADKIT_DATA).
"""
# --- README block begins
import gradkit as torch        # the names follow PyTorch: the model and the loop need no other change
from gradkit.datasets import fashion_mnist     # (PyTorch: torchvision.datasets.FashionMNIST)

trainset = fashion_mnist("train", as_dataset=True, transform=torch.data.ToFloat())  # 60,000 images 28x28
trainloader = torch.utils.data.DataLoader(trainset, batch_size=64, shuffle=True)

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 128)
        self.fc2 = torch.nn.Linear(128, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)                   # (N, 28, 28) -> (N, 784)
        return self.fc2(torch.relu(self.fc1(x)))

model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
loss_fn = torch.nn.CrossEntropyLoss()
for inputs, labels in trainloader:            # a gradkit.data.DataLoader
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), labels)
    loss.backward()                           # the chain rule through the recorded graph
    optimizer.step()
# --- README block ends

from gradkit.datasets import fashion_mnist as _fmnist  # noqa: E402

testset = _fmnist("test", as_dataset=True, transform=torch.data.ToFloat())
correct = 0
with torch.no_grad():
    for inputs, labels in torch.utils.data.DataLoader(testset, batch_size=1000):
        correct += int((model(inputs).argmax(1) == labels).sum())
print(f"test accuracy after one epoch: {correct / len(testset):.4f}")
