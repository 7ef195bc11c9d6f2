"""LeNet-5 on MNIST, with the 10,000 images of MNIST's test split that this project ships:
train on the first 8,000, test on the last 2,000; target ≥ 0.97 test accuracy in 5 minutes.

gradkit.models.LeNet5 (LeCun et al., 1998, with ReLU and max-pooling: conv 6@5x5 on the image
padded to 32 px, pool, conv 16@5x5, pool, 120, 84, 10). Adam (lr 1e-3), batch 64, 15 epochs.

    python examples/mnist_lenet5.py [--peer torch]
Needs: MNIST's test split in $GRADKIT_DATA/mnist (shared/data), or --download-able elsewhere.
"""
import numpy as np

import reproduce

BUDGET, EPOCHS, BATCH, TARGET = 5, 15, 64, 0.97


def make(fw):
    from gradkit.models import LeNet5

    def torch_twin():
        nn, F = fw.nn, fw.F

        class TwinLeNet5(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
                self.conv2 = nn.Conv2d(6, 16, 5)
                self.fc1 = nn.Linear(400, 120)
                self.fc2 = nn.Linear(120, 84)
                self.fc3 = nn.Linear(84, 10)

            def forward(self, x):
                x = F.max_pool2d(F.relu(self.conv1(x)), 2)
                x = F.max_pool2d(F.relu(self.conv2(x)), 2).flatten(1)
                return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
        return TwinLeNet5()

    return reproduce.build(fw, ARGS.seed, LeNet5, torch_twin)


def data():
    from gradkit import datasets

    x, y = datasets.mnist("test")
    x = (x.astype(np.float32) / 255.0)[:, None]
    y = y.astype(np.int64)
    return x[:8000], y[:8000], x[8000:], y[8000:]


if __name__ == "__main__":
    ARGS = reproduce.parser(__doc__, BUDGET, EPOCHS).parse_args()
    reproduce.main_classifier(
        ARGS, "LeNet-5 on MNIST (8,000 training images, 2,000 test)", "mnist_lenet5", make,
        optimizer=lambda fw, m: fw.optim.Adam(m.parameters(), lr=1e-3),
        target=TARGET, budget_min=BUDGET, batch_size=BATCH,
        published="≥ 0.97 (the issue's target for 8k training images; LeNet-5 on the full 60k "
                  "reaches 0.99, LeCun et al. 1998)", data=data)
